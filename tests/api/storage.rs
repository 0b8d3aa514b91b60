//! Tests for storage guarantees seen through the API (`data-model.md`, README "Architecture
//! requirements"): ids are never reused, concurrent writes are group-committed with per-command
//! isolation, and data survives a restart without the default board coming back.

use std::collections::BTreeSet;

use futures_util::future::join_all;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

fn id_of(value: &Value) -> i64 {
    value["id"].as_i64().expect("id")
}

async fn ok_json(resp: Response) -> Value {
    assert_eq!(resp.status(), StatusCode::OK, "status");
    resp.json().await.expect("json body")
}

/// Send a POST from a spawned task so that several requests are in flight at once.
fn spawn_post(app: &TestApp, path: &str, body: Value) -> tokio::task::JoinHandle<Response> {
    let client = app.client.clone();
    let url = app.url(path);
    tokio::spawn(async move { client.post(url).json(&body).send().await.expect("POST") })
}

// ---------------------------------------------------------------------------------------------
// Ids are never reused
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_deleted_newest_tickets_id_is_not_reused() {
    let app = spawn_app().await;
    app.create_ticket(1, "Older").await;
    let newest = id_of(&app.create_ticket(1, "Newest").await);
    ok_json(app.delete(&format!("/api/tickets/{newest}")).await).await;

    let next = id_of(&app.create_ticket(1, "Next").await);

    assert!(next > newest, "{next} must be greater than the deleted {newest}");
}

#[tokio::test]
async fn a_deleted_newest_boards_id_is_not_reused() {
    let app = spawn_app().await;
    let newest = id_of(&app.create_board("Newest").await);
    ok_json(app.delete(&format!("/api/boards/{newest}")).await).await;

    let next = id_of(&app.create_board("Next").await);

    assert!(next > newest, "{next} must be greater than the deleted {newest}");
}

#[tokio::test]
async fn a_deleted_newest_comments_id_is_not_reused() {
    let app = spawn_app().await;
    let ticket = app.create_ticket(1, "Talk").await;
    let body = json!({"ticket_id": ticket["id"], "text": "hi"});
    let first: Value = app.post("/api/comments/", &body).await.json().await.expect("comment");
    ok_json(app.delete(&format!("/api/comments/{}", id_of(&first))).await).await;

    let second: Value = app.post("/api/comments/", &body).await.json().await.expect("comment");

    assert!(id_of(&second) > id_of(&first));
}

#[tokio::test]
async fn ids_are_not_reused_across_a_restart() {
    let app = spawn_app().await;
    let newest = id_of(&app.create_ticket(1, "Newest").await);
    ok_json(app.delete(&format!("/api/tickets/{newest}")).await).await;
    let app = app.restart().await;

    let next = id_of(&app.create_ticket(1, "After restart").await);

    assert!(next > newest, "{next} must be greater than the deleted {newest}");
}

// ---------------------------------------------------------------------------------------------
// Group commit
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn two_hundred_concurrent_creates_all_commit_with_distinct_ids() {
    let app = spawn_app().await;
    let board = id_of(&app.create_board("Busy").await);
    let requests: Vec<_> = (0..200)
        .map(|n| spawn_post(&app, "/api/tickets/", json!({"board_id": board, "title": format!("T{n}")})))
        .collect();

    let responses = join_all(requests).await;

    let mut ids = BTreeSet::new();
    for (n, joined) in responses.into_iter().enumerate() {
        let resp = joined.expect("request task");
        assert_eq!(resp.status(), StatusCode::CREATED, "request {n}");
        let ticket: Value = resp.json().await.expect("ticket");
        assert_eq!(ticket["title"], format!("T{n}"));
        ids.insert(id_of(&ticket));
    }
    assert_eq!(ids.len(), 200, "distinct ids");
    let page = app.get_json(&format!("/api/tickets/?board_id={board}&page_size=1000")).await;
    assert_eq!(page["total"], 200);
    let listed: BTreeSet<i64> = page["items"].as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(listed, ids);
    let activity = app.get_json(&format!("/api/history/boards/{board}/activity?limit=500")).await;
    assert_eq!(activity["total_activities"], 200);
    let rows = activity["activities"].as_array().expect("activities");
    assert!(rows.iter().all(|row| row["field_name"] == "status" && row["new_value"] == "created"));
    let with_history: BTreeSet<i64> = rows.iter().map(|row| row["ticket_id"].as_i64().expect("ticket_id")).collect();
    assert_eq!(with_history, ids, "exactly one status row per ticket");
}

#[tokio::test]
async fn commands_queued_behind_a_pause_commit_in_one_batch_and_fail_independently() {
    let app = spawn_app().await;
    let existing = app.create_ticket(1, "Existing").await;
    let existing_id = id_of(&existing);
    let before = app.committed_batches();
    let pause = app.pause_writer().await;
    let requests = vec![
        spawn_post(&app, "/api/tickets/", json!({"board_id": 1, "title": "First"})),
        spawn_post(&app, "/api/tickets/", json!({"board_id": 999, "title": "Lost"})),
        spawn_post(&app, "/api/tickets/", json!({"board_id": 1, "title": "Second"})),
        spawn_post(&app, &format!("/api/tickets/{existing_id}/move"), json!({"column": "Nowhere"})),
        spawn_post(&app, "/api/tickets/", json!({"board_id": 1, "title": "Third"})),
    ];

    assert!(pause.wait_queued(5).await, "all five commands are queued behind the pause");
    pause.release().await;
    let responses = join_all(requests).await;

    let mut created = Vec::new();
    for (n, joined) in responses.into_iter().enumerate() {
        let resp = joined.expect("request task");
        match n {
            1 => {
                let body = assert_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
                assert_eq!(body["detail"], "Board not found");
            }
            3 => {
                assert_validation(resp, "body.column", "invalid_column").await;
            }
            _ => {
                assert_eq!(resp.status(), StatusCode::CREATED, "request {n}");
                created.push(resp.json::<Value>().await.expect("ticket"));
            }
        }
    }
    assert_eq!(app.committed_batches(), before + 2, "the pause's batch, then one batch with all five");
    let titles: Vec<&str> = created.iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(titles, vec!["First", "Second", "Third"]);
    let page = app.get_json("/api/tickets/?board_id=1").await;
    assert_eq!(page["total"], 4, "the three valid creates and the existing ticket");
    assert_eq!(app.get_json(&format!("/api/tickets/{existing_id}")).await, existing);
    let history = app.get_json(&format!("/api/history/tickets/{existing_id}/history")).await;
    assert_eq!(history.as_array().map(Vec::len), Some(1), "the failed move left no row");
}

#[tokio::test]
async fn a_request_that_finds_the_writer_queue_full_gets_503_and_changes_nothing() {
    let app = spawn_app_with(|cfg| {
        cfg.database.writer_queue_capacity = 16;
        cfg.database.writer_queue_wait_ms = 50;
    })
    .await;
    let pause = app.pause_writer().await;
    let queued: Vec<_> =
        (0..16).map(|i| spawn_post(&app, "/api/tickets/", json!({"board_id": 1, "title": format!("Q{i}")}))).collect();
    assert!(pause.wait_queued(16).await, "the queue is full");

    let resp = app.post("/api/tickets/", &json!({"board_id": 1, "title": "Overflow"})).await;
    assert_eq!(resp.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    assert_error(resp, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE").await;

    pause.release().await;
    for joined in join_all(queued).await {
        assert_eq!(joined.expect("request task").status(), StatusCode::CREATED);
    }
    let page = app.get_json("/api/tickets/?board_id=1&q=Overflow").await;
    assert_eq!(page["total"], 0, "the rejected request wrote nothing");
    assert_eq!(app.get_json("/api/tickets/?board_id=1").await["total"], 16);
}

// ---------------------------------------------------------------------------------------------
// Durability and the default board
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn data_survives_a_restart_unchanged() {
    let app = spawn_app().await;
    let board = id_of(&app.create_board("Durable").await);
    let ticket = app
        .post(
            "/api/tickets/",
            &json!({"board_id": board, "title": "Keep me", "description": "Safe", "created_by": "pat"}),
        )
        .await
        .json::<Value>()
        .await
        .expect("ticket");
    let id = id_of(&ticket);
    let moved = app.post(&format!("/api/tickets/{id}/move"), &json!({"column": "Done", "moved_by": "alice"})).await;
    assert_eq!(moved.status(), StatusCode::OK);
    let comment = app.post("/api/comments/", &json!({"ticket_id": id, "text": "Noted", "author": "bob"})).await;
    assert_eq!(comment.status(), StatusCode::CREATED);
    let paths = [
        "/api/boards/".to_owned(),
        format!("/api/tickets/{id}"),
        format!("/api/comments/ticket/{id}"),
        format!("/api/history/tickets/{id}/history"),
    ];
    let mut before = Vec::new();
    for path in &paths {
        before.push(app.get_json(path).await);
    }

    let app = app.restart().await;

    for (path, expected) in paths.iter().zip(&before) {
        assert_eq!(&app.get_json(path).await, expected, "GET {path} after restart");
    }
    assert_eq!(before[3].as_array().map(Vec::len), Some(2), "status and column rows");
}

#[tokio::test]
async fn a_brand_new_database_starts_with_the_default_board() {
    let app = spawn_app().await;

    let boards = app.get_json("/api/boards/").await;

    let boards = boards.as_array().expect("board array");
    assert_eq!(boards.len(), 1);
    let board = &boards[0];
    assert_eq!(board["id"], 1);
    assert_eq!(board["name"], "My First Board");
    assert_eq!(board["description"], "Welcome to your kanban board!");
    assert_eq!(board["columns"], json!(["Not Started", "In Progress", "Blocked", "Ready for QC", "Done"]));
    assert_eq!(board["ticket_count"], 0);
}

#[tokio::test]
async fn a_restart_does_not_add_another_default_board() {
    let app = spawn_app().await;
    let before = app.get_json("/api/boards/").await;

    let app = app.restart().await;

    assert_eq!(app.get_json("/api/boards/").await, before);
}

#[tokio::test]
async fn the_default_board_is_not_recreated_after_deleting_it_and_restarting() {
    let app = spawn_app().await;
    ok_json(app.delete("/api/boards/1").await).await;

    let app = app.restart().await;

    assert_eq!(app.get_json("/api/boards/").await, json!([]));
    let default = app.get("/api/boards/default").await;
    let body = assert_error(default, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(body["detail"], "No boards found");
}
