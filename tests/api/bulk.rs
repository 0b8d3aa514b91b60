//! Tests for the bulk routes (`api.md` §9, `realtime.md` §4 `bulk_update`, `auth.md` §8 rate class
//! `bulk`): per-item results, what is written (rows, history, events), validation that changes
//! nothing, roles, the rate limit, idempotency and the status route.
//!
//! No sleeps: "no event" is proven by a sentinel write that must be the next frame a socket sees.

use agent_kanban::config::{AnonymousRole, Quota};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const PASSWORD: &str = "Sturdy-Passw0rd";

async fn board_with(app: &TestApp, name: &str, columns: &[&str]) -> i64 {
    let resp = app.post("/api/boards/", &json!({"name": name, "columns": columns})).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    id(&resp.json::<Value>().await.expect("board"))
}

async fn move_one(app: &TestApp, ticket_id: i64, column: &str) -> Value {
    ok(app.post(&format!("/api/tickets/{ticket_id}/move"), &json!({"column": column})).await).await
}

async fn ticket(app: &TestApp, ticket_id: i64) -> Value {
    app.get_json(&format!("/api/tickets/{ticket_id}")).await
}

async fn history(app: &TestApp, ticket_id: i64) -> Vec<Value> {
    app.get_json(&format!("/api/history/tickets/{ticket_id}/history")).await.as_array().expect("array").clone()
}

/// The board's last event seq, as a board socket's `connected` frame reports it.
async fn last_seq(app: &TestApp, board_id: i64) -> i64 {
    let mut ws = app.ws(&format!("board_id={board_id}")).await;
    let hello = ws.next_event("connected").await;
    hello["data"]["last_seq"].as_i64().expect("last_seq")
}

/// The next frame that is not a heartbeat.
async fn next_frame(ws: &mut WsClient) -> Value {
    loop {
        let frame = ws.next_json().await;
        if frame["event"] != "heartbeat" {
            return frame;
        }
    }
}

/// A socket on `query` that has set up its subscriptions (connected, then a ping round trip).
async fn watch(app: &TestApp, query: &str) -> WsClient {
    let mut ws = app.ws(query).await;
    ws.next_event("connected").await;
    ws.send_json(&json!({"type": "ping"})).await;
    assert_eq!(next_frame(&mut ws).await["type"], "pong");
    ws
}

/// Prove `ws` saw nothing since: a sentinel ticket on `board_id` must be its next frame.
async fn assert_next_is_sentinel(app: &TestApp, ws: &mut WsClient, board_id: i64) {
    let sentinel = app.create_ticket(board_id, "sentinel").await;
    let frame = next_frame(ws).await;
    assert_eq!(frame["event"], "ticket_created", "expected the sentinel, got {frame}");
    assert_eq!(frame["data"]["id"], sentinel["id"]);
}

fn results(body: &Value) -> &Vec<Value> {
    body["results"].as_array().expect("results")
}

// ---------------------------------------------------------------------------------------------
// POST /api/bulk/tickets/move
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_mixed_bulk_move_reports_every_item_in_order_and_changes_only_the_valid_ones() {
    let app = spawn_app().await;
    let other = board_with(&app, "Other", &["Todo", "Doing"]).await;
    let (a, b) = (id(&app.create_ticket(1, "A").await), id(&app.create_ticket(1, "B").await));
    move_one(&app, b, "Done").await;
    let c = id(&app.create_ticket(other, "C").await);
    let seq_1 = last_seq(&app, 1).await;
    let seq_other = last_seq(&app, other).await;
    let before_b = ticket(&app, b).await;

    let body = json!({"ticket_ids": [a, b, 999_999, c], "target_column": "done"});
    let resp = ok(app.post("/api/bulk/tickets/move", &body).await).await;

    assert_eq!(
        (resp["total_requested"].as_i64(), resp["successful_moves"].as_i64(), resp["failed_moves"].as_i64()),
        (Some(4), Some(2), Some(2))
    );
    assert!(resp["execution_time_ms"].is_f64());
    let r = results(&resp);
    let ids: Vec<i64> = r.iter().map(|x| x["ticket_id"].as_i64().expect("id")).collect();
    assert_eq!(ids, [a, b, 999_999, c], "request order");
    assert_eq!(
        r[0],
        json!({"ticket_id": a, "success": true, "changed": true, "error": null, "old_column": "Not Started", "new_column": "Done"})
    );
    assert_eq!(
        r[1],
        json!({"ticket_id": b, "success": true, "changed": false, "error": null, "old_column": "Done", "new_column": "Done"})
    );
    assert_eq!(
        r[2],
        json!({"ticket_id": 999_999, "success": false, "changed": false, "error": "Ticket not found", "old_column": null, "new_column": null})
    );
    assert_eq!(r[3]["error"], format!("Column 'done' is not a column of board {other}"));
    // Rows: only a changed.
    let moved = ticket(&app, a).await;
    assert_eq!((moved["current_column"].as_str(), moved["version"].as_i64()), (Some("Done"), Some(2)));
    assert_eq!(moved["column_entered_at"], moved["updated_at"]);
    assert_eq!(ticket(&app, b).await, before_b, "an unchanged ticket keeps its version and timestamps");
    assert_eq!(ticket(&app, c).await["version"], 1);
    // History: one canonical column row for a, nothing new for b or c.
    let h = history(&app, a).await;
    assert_eq!(
        (h[0]["field_name"].as_str(), h[0]["old_value"].as_str(), h[0]["new_value"].as_str()),
        (Some("column"), Some("Not Started"), Some("Done"))
    );
    assert_eq!(h[0]["changed_by"], "system");
    assert_eq!(history(&app, b).await.len(), 2, "created + the earlier single move");
    assert_eq!(history(&app, c).await.len(), 1);
    // Events: one bulk_update on board 1, none on the other board.
    assert_eq!(last_seq(&app, 1).await, seq_1 + 1);
    assert_eq!(last_seq(&app, other).await, seq_other);
    let mut replay = app.ws(&format!("board_id=1&since={seq_1}")).await;
    replay.next_event("connected").await;
    let frame = next_frame(&mut replay).await;
    assert_eq!(frame["event"], "bulk_update");
    let update = &frame["data"]["updates"][0];
    assert_eq!(frame["data"]["count"], 1);
    assert_eq!((update["type"].as_str(), update["target_column"].as_str()), (Some("bulk_move"), Some("Done")));
    assert_eq!(update["ticket_ids"], json!([a]));
    assert_eq!(
        update["tickets"],
        json!([{"id": a, "current_column": "Done", "column_entered_at": moved["column_entered_at"], "version": 2}])
    );
}

#[tokio::test]
async fn a_bulk_move_over_two_boards_emits_one_bulk_update_per_board_listing_only_changed_tickets() {
    let app = spawn_app().await;
    let other = board_with(&app, "Other", &["Todo", "Doing", "Done"]).await;
    let a1 = id(&app.create_ticket(1, "a1").await);
    let a2 = id(&app.create_ticket(1, "a2").await);
    let stays = id(&app.create_ticket(1, "stays").await);
    move_one(&app, stays, "Done").await;
    let b1 = id(&app.create_ticket(other, "b1").await);
    let mut all = watch(&app, "").await;

    let body = json!({"ticket_ids": [a1, b1, stays, a2], "target_column": "done"});
    let resp = ok(app.post("/api/bulk/tickets/move", &body).await).await;

    assert_eq!(resp["successful_moves"], 4);
    let first = next_frame(&mut all).await;
    let second = next_frame(&mut all).await;
    assert_eq!((first["event"].as_str(), first["board_id"].as_i64()), (Some("bulk_update"), Some(1)));
    assert_eq!(first["data"]["updates"][0]["ticket_ids"], json!([a1, a2]), "the unchanged ticket is not listed");
    assert_eq!((second["event"].as_str(), second["board_id"].as_i64()), (Some("bulk_update"), Some(other)));
    assert_eq!(second["data"]["updates"][0]["ticket_ids"], json!([b1]));
    assert_eq!(second["data"]["updates"][0]["target_column"], "Done");
    assert_next_is_sentinel(&app, &mut all, 1).await;
}

#[tokio::test]
async fn a_bulk_move_that_changes_nothing_emits_no_event_and_writes_nothing() {
    let app = spawn_app().await;
    let t = app.create_ticket(1, "Already there").await;
    let mut board = watch(&app, "board_id=1").await;

    let resp = ok(app
        .post("/api/bulk/tickets/move", &json!({"ticket_ids": [id(&t), 424_242], "target_column": "Not Started"}))
        .await)
    .await;

    assert_eq!((resp["successful_moves"].as_i64(), resp["failed_moves"].as_i64()), (Some(1), Some(1)));
    assert_eq!(results(&resp)[0]["changed"], false);
    assert_eq!(ticket(&app, id(&t)).await, t);
    assert_eq!(history(&app, id(&t)).await.len(), 1);
    assert_next_is_sentinel(&app, &mut board, 1).await;
}

#[tokio::test]
async fn a_bulk_move_that_fails_in_the_database_applies_no_item() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for n in 0..100 {
        ids.push(id(&app.create_ticket(1, &format!("ticket {n}")).await));
    }
    let before: Vec<Value> = {
        let mut v = Vec::new();
        for &t in &ids {
            v.push(ticket(&app, t).await);
        }
        v
    };
    let seq = last_seq(&app, 1).await;
    // The database may not grow: the 100 history rows and the bulk_update event cannot all be
    // stored, so the command fails after some of its items were already written in the
    // transaction.
    app.limit_database_growth(Some(0)).await;
    let resp = app.post("/api/bulk/tickets/move", &json!({"ticket_ids": ids, "target_column": "Done"})).await;
    assert_error(resp, StatusCode::INSUFFICIENT_STORAGE, "STORAGE_FULL").await;
    app.limit_database_growth(None).await;

    for (t, was) in ids.iter().zip(&before) {
        assert_eq!(&ticket(&app, *t).await, was, "ticket {t} is untouched");
    }
    assert_eq!(history(&app, ids[0]).await.len(), 1, "no history row was kept");
    assert_eq!(history(&app, ids[99]).await.len(), 1, "no history row was kept");
    assert_eq!(last_seq(&app, 1).await, seq, "no event was logged");
    // With space again the same request applies every item.
    let resp = ok(app.post("/api/bulk/tickets/move", &json!({"ticket_ids": ids, "target_column": "Done"})).await).await;
    assert_eq!(resp["successful_moves"], 100);
}

#[tokio::test]
async fn bulk_moves_count_as_column_transitions_and_reset_the_time_in_column() {
    let app = spawn_app().await;
    let t = id(&app.create_ticket(1, "T").await);

    ok(app.post("/api/bulk/tickets/move", &json!({"ticket_ids": [t], "target_column": "blocked"})).await).await;
    move_one(&app, t, "Done").await;

    let stats = app.get_json(&format!("/api/statistics/tickets/{t}/statistics")).await;
    assert_eq!(stats["column_transitions"], 2, "bulk and single moves both count");
    let transitions = app.get_json(&format!("/api/history/tickets/{t}/transitions")).await;
    assert_eq!(transitions["transitions"][0]["to_column"], "Blocked");
}

// ---------------------------------------------------------------------------------------------
// POST /api/bulk/tickets/priority and /assign
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn bulk_priority_stores_strings_and_number_literals_and_skips_unchanged_ones() {
    let app = spawn_app().await;
    let (a, b, c) = (
        id(&app.create_ticket(1, "a").await),
        id(&app.create_ticket(1, "b").await),
        id(&app.create_ticket(1, "c").await),
    );
    let mut board = watch(&app, "board_id=1").await;

    let body = json!({"updates": [{"ticket_id": a, "priority": " 2.0 "}, {"ticket_id": b, "priority": 2.5}, {"ticket_id": c, "priority": 1.0}, {"ticket_id": 777_777, "priority": "3"}]});
    let resp = ok(app.post("/api/bulk/tickets/priority", &body).await).await;

    assert_eq!(resp["operation_type"], "priority_update");
    assert_eq!((resp["successful_operations"].as_i64(), resp["failed_operations"].as_i64()), (Some(3), Some(1)));
    let r = results(&resp);
    assert_eq!(
        r[0],
        json!({"ticket_id": a, "success": true, "changed": true, "error": null, "old_priority": "1.0", "new_priority": "2.0"})
    );
    assert_eq!(r[1]["new_priority"], "2.5");
    assert_eq!(
        (r[2]["changed"].as_bool(), r[2]["new_priority"].as_str()),
        (Some(false), Some("1.0")),
        "1.0 is the default already"
    );
    assert_eq!(r[3]["error"], "Ticket not found");
    assert_eq!(
        (ticket(&app, b).await["priority"].as_str(), ticket(&app, b).await["version"].as_i64()),
        (Some("2.5"), Some(2))
    );
    assert_eq!(ticket(&app, c).await["version"], 1);
    assert_eq!(history(&app, a).await[0]["field_name"], "priority");
    let frame = next_frame(&mut board).await;
    let update = &frame["data"]["updates"][0];
    assert_eq!(update["type"], "bulk_priority");
    assert_eq!(
        update["tickets"],
        json!([{"id": a, "priority": "2.0", "version": 2}, {"id": b, "priority": "2.5", "version": 2}])
    );
    assert_next_is_sentinel(&app, &mut board, 1).await;
}

#[tokio::test]
async fn bulk_assign_assigns_and_unassigns_bypassing_claims() {
    let app = spawn_app().await;
    let (a, b) = (id(&app.create_ticket(1, "a").await), id(&app.create_ticket(1, "b").await));
    ok(app.post(&format!("/api/tickets/{a}/claim?agent_id=carol"), &json!({})).await).await;

    let resp = ok(app.post("/api/bulk/tickets/assign", &json!({"ticket_ids": [a, b], "assignee": "bob"})).await).await;

    assert_eq!(resp["operation_type"], "assignment");
    assert_eq!(
        results(&resp)[0],
        json!({"ticket_id": a, "success": true, "changed": true, "error": null, "old_assignee": "carol", "new_assignee": "bob"})
    );
    assert_eq!(ticket(&app, b).await["assignee"], "bob");

    let mut board = watch(&app, "board_id=1").await;
    let cleared = ok(app.post("/api/bulk/tickets/assign", &json!({"ticket_ids": [a], "assignee": ""})).await).await;

    assert_eq!(results(&cleared)[0]["new_assignee"], Value::Null);
    assert_eq!(ticket(&app, a).await["assignee"], Value::Null);
    let frame = next_frame(&mut board).await;
    let update = &frame["data"]["updates"][0];
    assert_eq!((update["type"].as_str(), update["assignee"].clone()), (Some("bulk_assign"), Value::Null));
    assert_eq!(update["tickets"], json!([{"id": a, "assignee": null, "version": 4}]));
}

// ---------------------------------------------------------------------------------------------
// Bad input changes nothing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn rejected_bulk_requests_change_no_row_no_history_and_no_event() {
    let app = spawn_app_with(|cfg| cfg.bulk.max_batch_size = 3).await;
    let t = app.create_ticket(1, "Untouched").await;
    let tid = id(&t);
    let seq = last_seq(&app, 1).await;
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        ("move", json!({"ticket_ids": [], "target_column": "Done"}), "body.ticket_ids", "too_few_items"),
        ("move", json!({"ticket_ids": [tid, 2, 3, 4], "target_column": "Done"}), "body.ticket_ids", "too_many_items"),
        ("move", json!({"ticket_ids": [tid, tid], "target_column": "Done"}), "body.ticket_ids.1", "duplicate"),
        ("move", json!({"ticket_ids": [tid]}), "body.target_column", "missing"),
        ("move", json!({"ticket_ids": [tid, "x"], "target_column": "Done"}), "body.ticket_ids.1", "invalid_type"),
        (
            "priority",
            json!({"updates": [{"ticket_id": tid, "priority": "9"}, {"ticket_id": tid, "priority": "8"}]}),
            "body.updates.1",
            "duplicate",
        ),
        (
            "priority",
            json!({"updates": [{"ticket_id": tid, "priority": [1]}]}),
            "body.updates.0.priority",
            "invalid_type",
        ),
        ("priority", json!({"updates": []}), "body.updates", "too_few_items"),
        ("assign", json!({"ticket_ids": [tid]}), "body.assignee", "missing"),
        ("assign", json!({"ticket_ids": [tid, 5, 6, 7], "assignee": "x"}), "body.ticket_ids", "too_many_items"),
    ];

    for (route, body, field, kind) in cases {
        let resp = app.post(&format!("/api/bulk/tickets/{route}"), &body).await;
        assert_validation(resp, field, kind).await;
    }
    let not_json = app
        .request(Method::POST, "/api/bulk/tickets/move")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .expect("POST");
    assert_validation(not_json, "body", "json_invalid").await;

    assert_eq!(ticket(&app, tid).await, t);
    assert_eq!(history(&app, tid).await.len(), 1);
    assert_eq!(last_seq(&app, 1).await, seq, "no event was logged");
}

// ---------------------------------------------------------------------------------------------
// Roles, rate limit, idempotency, status
// ---------------------------------------------------------------------------------------------

async fn register_and_login(app: &TestApp, username: &str) -> String {
    let body = json!({"username": username, "email": format!("{username}@example.com"), "password": PASSWORD});
    assert_eq!(app.post("/api/auth/register", &body).await.status(), StatusCode::CREATED);
    let tokens = ok(app.post("/api/auth/login", &json!({"username": username, "password": PASSWORD})).await).await;
    tokens["access_token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn bulk_writes_need_pm_and_the_status_needs_a_viewer() {
    let app = spawn_app_with(|cfg| cfg.auth.anonymous_role = AnonymousRole::None).await;
    let admin = register_and_login(&app, "root").await;
    let viewer = register_and_login(&app, "vic").await;
    let body = json!({"ticket_ids": [1], "target_column": "Done"});

    let anonymous = app.post("/api/bulk/tickets/move", &body).await;
    let as_viewer = app
        .request(Method::POST, "/api/bulk/tickets/assign")
        .bearer_auth(&viewer)
        .json(&json!({"ticket_ids": [1], "assignee": null}))
        .send()
        .await
        .expect("POST");
    let status_anonymous = app.get("/api/bulk/operations/status").await;
    let status_viewer =
        app.request(Method::GET, "/api/bulk/operations/status").bearer_auth(&viewer).send().await.expect("GET");
    let as_admin =
        app.request(Method::POST, "/api/bulk/tickets/move").bearer_auth(&admin).json(&body).send().await.expect("POST");

    assert_error(anonymous, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let refused = assert_error(as_viewer, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    assert_eq!(refused["detail"], "Requires role pm or higher");
    assert_error(status_anonymous, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert_eq!(status_viewer.status(), StatusCode::OK);
    let moved = ok(as_admin).await;
    assert_eq!(moved["results"][0]["error"], "Ticket not found", "the seeded board has no tickets");
}

#[tokio::test]
async fn the_bulk_class_limits_the_three_post_routes_together_and_nothing_else() {
    let app = spawn_app_with(|cfg| {
        cfg.rate_limit.enabled = true;
        cfg.rate_limit.bulk = "2/minute".parse::<Quota>().expect("quota");
    })
    .await;
    let t = id(&app.create_ticket(1, "T").await);

    let first = app.post("/api/bulk/tickets/move", &json!({"ticket_ids": [t], "target_column": "Done"})).await;
    let second = app.post("/api/bulk/tickets/priority", &json!({"updates": []})).await;
    let third = app.post("/api/bulk/tickets/assign", &json!({"ticket_ids": [t], "assignee": "x"})).await;
    let status = app.get("/api/bulk/operations/status").await;

    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["x-ratelimit-limit"], "2");
    assert_eq!(second.status(), StatusCode::UNPROCESSABLE_ENTITY, "a rejected request still counts");
    let limited = assert_error(third, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED").await;
    assert_eq!(limited["detail"], "Rate limit exceeded: 2 per 1 minute");
    assert_eq!(status.status(), StatusCode::OK, "the status route is in the general class");
    assert_eq!(status.headers()["x-ratelimit-limit"], "100");
    assert_eq!(ticket(&app, t).await["assignee"], Value::Null, "the limited request did nothing");
}

#[tokio::test]
async fn an_idempotent_retry_replays_the_reply_without_writing_again() {
    let app = spawn_app().await;
    let t = id(&app.create_ticket(1, "T").await);
    let send = |body: Value| {
        app.request(Method::POST, "/api/bulk/tickets/move").header("idempotency-key", "bulk-1").json(&body).send()
    };
    let body = json!({"ticket_ids": [t], "target_column": "Done"});

    let first = send(body.clone()).await.expect("POST");
    assert_eq!(first.status(), StatusCode::OK);
    let first_body: Value = first.json().await.expect("json");
    move_one(&app, t, "Blocked").await;
    let seq = last_seq(&app, 1).await;
    let again = send(body).await.expect("POST");
    let other = send(json!({"ticket_ids": [t], "target_column": "In Progress"})).await.expect("POST");

    assert_eq!(again.headers()["idempotency-replayed"], "true");
    assert_eq!(again.json::<Value>().await.expect("json"), first_body, "the stored reply");
    assert_eq!(ticket(&app, t).await["current_column"], "Blocked", "the replay moved nothing");
    assert_eq!(last_seq(&app, 1).await, seq);
    assert_error(other, StatusCode::UNPROCESSABLE_ENTITY, "IDEMPOTENCY_KEY_REUSED").await;
}

#[tokio::test]
async fn the_status_route_reflects_the_configuration() {
    let app = spawn_app_with(|cfg| {
        cfg.bulk.max_batch_size = 7;
        cfg.rate_limit.bulk = "3/hour".parse::<Quota>().expect("quota");
    })
    .await;

    let status = app.get_json("/api/bulk/operations/status").await;

    assert_eq!(
        status,
        json!({"status": "operational", "rate_limits": {"bulk_move": "3/hour", "bulk_priority": "3/hour", "bulk_assign": "3/hour"},
            "max_batch_size": 7, "supported_operations": ["bulk_move", "bulk_priority_update", "bulk_assign"],
            "cache_integration": false, "websocket_integration": true})
    );
}

#[tokio::test]
async fn a_bulk_move_is_one_drag_drop_operation_per_board_involved() {
    let app = spawn_app().await;
    let other = board_with(&app, "Other", &["Todo", "Doing"]).await;
    let (a, b) = (id(&app.create_ticket(1, "a").await), id(&app.create_ticket(other, "b").await));

    ok(app.post("/api/bulk/tickets/move", &json!({"ticket_ids": [a, b, 31_337], "target_column": "Done"})).await).await;

    let one = app.get_json("/api/statistics/boards/1/drag-drop/metrics").await;
    assert_eq!(one["metrics"]["total_operations"], 1);
    assert_eq!(one["metrics"]["successful_operations"], 1);
    assert_eq!(one["metrics"]["operations_by_type"]["bulk_move"]["count"], 1);
    let two = app.get_json(&format!("/api/statistics/boards/{other}/drag-drop/metrics")).await;
    assert_eq!(
        (two["metrics"]["failed_operations"].as_i64(), two["performance_analysis"]["success_rate"].as_f64()),
        (Some(1), Some(0.0))
    );
    let all = app.get_json("/api/statistics/drag-drop/metrics/all").await;
    assert_eq!(all["total_boards_with_activity"], 2, "the unknown ticket has no board");
}
