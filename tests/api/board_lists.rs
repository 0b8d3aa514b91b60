//! Large reads and the counts they rely on: the board ticket list keeps its exact bytes and order
//! at 5 000 tickets, and the maintained `ticket_count` stays exact under every kind of write.

use std::time::Instant;

use futures_util::StreamExt;
use futures_util::stream;
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use crate::helpers::{TestApp, spawn_app};

/// Titles and texts that exercise every JSON escape and multi-byte UTF-8.
const AWKWARD: [&str; 6] = [
    "quote \" backslash \\ slash /",
    "tab\tnew\nline\rreturn",
    "control \u{1}\u{1f} and del \u{7f}",
    "accents é ß, CJK 看板, emoji 🚀",
    "separators \u{2028}\u{2029} </script>",
    "apostrophe ' and <&>",
];

/// Create `n` tickets on `board_id`, 16 at a time, varying every optional field and the column.
async fn create_many(app: &TestApp, board_id: i64, columns: &[String], n: usize) {
    let bodies: Vec<Value> = (0..n)
        .map(|i| {
            let priority = ["1.0", "2.0", "3.0"][i % 3];
            let mut body = json!({"board_id": board_id, "title": format!("{} #{i}", AWKWARD[i % AWKWARD.len()]),
                "current_column": columns[i % columns.len()], "priority": priority});
            if i % 2 == 0 {
                body["description"] = json!(AWKWARD[(i / 2) % AWKWARD.len()]);
            }
            if i % 3 == 0 {
                body["acceptance_criteria"] = json!(format!("criteria {i}"));
            }
            if i % 5 == 0 {
                body["assignee"] = json!(format!("agent-{}", i % 7));
            }
            body
        })
        .collect();
    let statuses: Vec<StatusCode> = stream::iter(bodies)
        .map(|body| async move { app.post("/api/tickets/", &body).await.status() })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED), "every create succeeds");
}

/// Every ticket of the board through the paged list route (which renders `Ticket` with serde).
async fn all_tickets(app: &TestApp, board_id: i64) -> Vec<Map<String, Value>> {
    let mut out = Vec::new();
    for page in 1.. {
        let body = app.get_json(&format!("/api/tickets/?board_id={board_id}&page_size=1000&page={page}")).await;
        out.extend(body["items"].as_array().expect("items").iter().map(|t| t.as_object().expect("object").clone()));
        if body["has_next"] != true {
            break;
        }
    }
    out
}

#[tokio::test]
async fn a_5000_ticket_board_list_keeps_its_exact_bytes_and_order() {
    // Arrange: 5 000 tickets spread over every column, with awkward text in every string field.
    let app = spawn_app().await;
    let board = app.create_board("Large").await;
    let board_id = board["id"].as_i64().expect("id");
    let columns: Vec<String> = serde_json::from_value(board["columns"].clone()).expect("columns");
    create_many(&app, board_id, &columns, 5000).await;
    let started = Instant::now();

    // Act
    let resp = app.get(&format!("/api/boards/{board_id}/tickets")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let bytes = resp.text().await.expect("body");
    let elapsed_ms = started.elapsed().as_millis() as i64 + 60_000;

    // Assert: the body equals the serde rendering of every ticket (from another route), ordered by
    // column position then id, each followed by its time_in_column, byte for byte.
    let actual: Value = serde_json::from_str(&bytes).expect("json");
    let listed = actual["tickets"].as_array().expect("tickets");
    let mut expected_tickets = all_tickets(&app, board_id).await;
    let position = |t: &Map<String, Value>| columns.iter().position(|c| *c == t["current_column"]).expect("known");
    expected_tickets.sort_by_key(|t| (position(t), t["id"].as_i64().expect("id")));
    assert_eq!(expected_tickets.len(), 5000);
    assert_eq!(listed.len(), 5000);
    for (expected, listed) in expected_tickets.iter_mut().zip(listed) {
        let time = listed["time_in_column"].as_i64().expect("integer time_in_column");
        assert!((0..elapsed_ms).contains(&time), "time_in_column {time} is plausible");
        expected.insert("time_in_column".into(), json!(time));
    }
    let expected =
        json!({"board_id": board_id, "board_name": "Large", "tickets": expected_tickets, "total_tickets": 5000});
    let expected_bytes = serde_json::to_string(&expected).expect("serialise");
    assert!(expected_bytes == bytes, "the response bytes differ from the reference rendering");
}

/// The board's `ticket_count` as the board routes report it, checked against its ticket list.
async fn assert_count(app: &TestApp, board_id: i64, expected: i64) {
    let board = app.get_json(&format!("/api/boards/{board_id}")).await;
    assert_eq!(board["ticket_count"], expected, "GET /api/boards/{board_id}");
    let listed = app.get_json("/api/boards/").await;
    let entry = listed.as_array().expect("array").iter().find(|b| b["id"] == board_id).expect("listed");
    assert_eq!(entry["ticket_count"], expected, "GET /api/boards/");
    let tickets = app.get_json(&format!("/api/boards/{board_id}/tickets")).await;
    assert_eq!(tickets["total_tickets"], expected, "the ticket list agrees");
}

#[tokio::test]
async fn ticket_count_stays_exact_under_creates_moves_failures_deletes_and_board_deletes() {
    let app = spawn_app().await;
    let a = app.create_board("A").await["id"].as_i64().expect("id");
    let b = app.create_board("B").await["id"].as_i64().expect("id");
    assert_count(&app, a, 0).await;

    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(app.create_ticket(if i < 4 { a } else { b }, &format!("t{i}")).await["id"].as_i64().expect("id"));
    }
    assert_count(&app, a, 4).await;
    assert_count(&app, b, 2).await;

    // Moves inside a board, a rejected move to another board's column, a rejected create and a
    // rejected board change leave the counts alone.
    let moved = app.post(&format!("/api/tickets/{}/move", ids[0]), &json!({"column": "Done"})).await;
    assert_eq!(moved.status(), StatusCode::OK);
    let bad_move = app.post(&format!("/api/tickets/{}/move", ids[1]), &json!({"column": "Nowhere"})).await;
    assert_eq!(bad_move.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad_create = app.post("/api/tickets/", &json!({"board_id": a, "title": ""})).await;
    assert_eq!(bad_create.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let cross = app.put(&format!("/api/tickets/{}", ids[1]), &json!({"board_id": b})).await;
    assert_eq!(cross.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_count(&app, a, 4).await;
    assert_count(&app, b, 2).await;

    // Deletes, and a column removal that moves tickets within the board.
    assert_eq!(app.delete(&format!("/api/tickets/{}", ids[2])).await.status(), StatusCode::OK);
    assert_eq!(app.delete(&format!("/api/tickets/{}", ids[4])).await.status(), StatusCode::OK);
    let edit = json!({"columns": ["Not Started", "Done"], "move_tickets_to": "Done"});
    assert_eq!(app.put(&format!("/api/boards/{a}/columns"), &edit).await.status(), StatusCode::OK);
    assert_count(&app, a, 3).await;
    assert_count(&app, b, 1).await;

    // Deleting a board removes its tickets and leaves the other board's count alone.
    assert_eq!(app.delete(&format!("/api/boards/{a}")).await.status(), StatusCode::OK);
    assert_eq!(app.get(&format!("/api/boards/{a}")).await.status(), StatusCode::NOT_FOUND);
    assert_count(&app, b, 1).await;
    app.create_ticket(b, "after").await;
    assert_count(&app, b, 2).await;
}

#[tokio::test]
async fn upgrading_a_database_backfills_every_boards_ticket_count() {
    use sqlx::Connection;

    // Arrange: a database as the first release left it (migration 1 only), with tickets on two boards.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kanban.db");
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.expect("open");
    agent_kanban::db::MIGRATOR.run_to(1, &mut conn).await.expect("migration 1");
    let now = "2026-11-22T10:10:37.161Z";
    for (name, tickets) in [("Old A", 3), ("Old B", 0), ("Old C", 2)] {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO boards (name, columns, created_at, updated_at) VALUES (?, '[\"Todo\",\"Done\"]', ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(now)
        .bind(now)
        .fetch_one(&mut conn)
        .await
        .expect("board");
        for i in 0..tickets {
            sqlx::query(
                "INSERT INTO tickets (board_id, title, current_column, created_at, updated_at, column_entered_at)
                 VALUES (?, ?, 'Todo', ?, ?, ?)",
            )
            .bind(id)
            .bind(format!("old {i}"))
            .bind(now)
            .bind(now)
            .bind(now)
            .execute(&mut conn)
            .await
            .expect("ticket");
        }
    }
    conn.close().await.expect("close");

    // Act: the server applies the later migrations on start.
    let app = crate::helpers::spawn_app_with(|c| c.database.path = path.clone()).await;

    // Assert
    let boards = app.get_json("/api/boards/").await;
    let counts: Vec<(String, i64)> = boards
        .as_array()
        .expect("array")
        .iter()
        .map(|b| (b["name"].as_str().expect("name").to_owned(), b["ticket_count"].as_i64().expect("count")))
        .collect();
    assert_eq!(counts, [("Old A".to_owned(), 3), ("Old B".to_owned(), 0), ("Old C".to_owned(), 2)]);
    let first = boards[0]["id"].as_i64().expect("id");
    app.create_ticket(first, "new").await;
    assert_count(&app, first, 4).await;
}
