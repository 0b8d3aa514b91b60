//! Every statement the writer runs, checked with `EXPLAIN QUERY PLAN`: no write may scan a table
//! that grows with the data (tickets, history, events, comments, tokens, keys). The statements are
//! recorded from the writer while every write route and the housekeeping job run, so a new query is
//! checked automatically.

use agent_kanban::jobs::HOUSEKEEPING_BATCH;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::helpers::{TestApp, spawn_app_with};

async fn send(app: &TestApp, method: reqwest::Method, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
    let mut req = app.request(method.clone(), path).header("Idempotency-Key", format!("{method} {path}"));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("request");
    assert!(resp.status().is_success(), "{method} {path}: {}", resp.status());
    resp.json().await.unwrap_or(Value::Null)
}

/// Run every kind of write once: accounts and tokens, sessions, boards and columns, tickets,
/// claims, comments and deletes.
async fn every_write(app: &TestApp) {
    use reqwest::Method as M;
    let account =
        |name: &str| json!({"username": name, "email": format!("{name}@example.com"), "password": "Correct-Horse-1"});
    send(app, M::POST, "/api/auth/register", None, Some(account("admin"))).await;
    send(app, M::POST, "/api/auth/register", None, Some(account("second"))).await;
    let tokens =
        send(app, M::POST, "/api/auth/login", None, Some(json!({"username": "admin", "password": "Correct-Horse-1"})))
            .await;
    let refreshed =
        send(app, M::POST, "/api/auth/refresh", None, Some(json!({"refresh_token": tokens["refresh_token"]}))).await;
    let token = refreshed["access_token"].as_str().expect("access token").to_owned();
    let t = Some(token.as_str());
    send(app, M::PUT, "/api/auth/me", t, Some(json!({"email": "admin2@example.com"}))).await;
    send(app, M::PUT, "/api/auth/users/2", t, Some(json!({"role": "admin"}))).await;
    send(app, M::PUT, "/api/auth/users/2", t, Some(json!({"role": "pm", "is_active": false}))).await;
    send(app, M::DELETE, "/api/auth/users/2", t, None).await;
    send(app, M::POST, "/api/users/session", t, Some(json!({"username": "visitor"}))).await;

    let board = send(app, M::POST, "/api/boards/", t, Some(json!({"name": "Plans", "columns": ["A", "B", "C"]}))).await;
    let b = board["id"].as_i64().expect("board id");
    send(app, M::PUT, &format!("/api/boards/{b}"), t, Some(json!({"name": "Plans 2"}))).await;
    let ticket = send(app, M::POST, "/api/tickets/", t, Some(json!({"board_id": b, "title": "one"}))).await;
    let id = ticket["id"].as_i64().expect("ticket id");
    send(app, M::PUT, &format!("/api/tickets/{id}"), t, Some(json!({"title": "uno", "priority": "2.0"}))).await;
    send(app, M::POST, &format!("/api/tickets/{id}/move"), t, Some(json!({"column": "B"}))).await;
    send(app, M::POST, &format!("/api/tickets/{id}/claim?agent_id=bot"), t, None).await;
    send(app, M::POST, &format!("/api/tickets/{id}/release"), t, None).await;
    let comment =
        send(app, M::POST, "/api/comments/", t, Some(json!({"ticket_id": id, "text": "hi", "author": "admin"}))).await;
    let c = comment["id"].as_i64().expect("comment id");
    send(app, M::PUT, &format!("/api/comments/{c}"), t, Some(json!({"text": "hello"}))).await;
    send(app, M::DELETE, &format!("/api/comments/{c}"), t, None).await;
    let edit = json!({"columns": ["A", "Bee"], "renames": {"B": "Bee"}, "move_tickets_to": "A"});
    send(app, M::PUT, &format!("/api/boards/{b}/columns"), t, Some(edit)).await;
    send(app, M::DELETE, &format!("/api/tickets/{id}"), t, None).await;
    send(app, M::DELETE, &format!("/api/boards/{b}"), t, None).await;
    send(app, M::POST, "/api/auth/logout", t, Some(json!({"refresh_token": refreshed["refresh_token"]}))).await;
}

/// The plan lines of `sql` that scan a real table (a virtual table such as `json_each`, or a
/// constant row, is not a scan of stored data).
async fn scans(conn: &mut sqlx::SqliteConnection, sql: &str) -> Vec<String> {
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("EXPLAIN QUERY PLAN {sql}: {e}"));
    plan.into_iter()
        .map(|(_, _, _, detail)| detail)
        .filter(|d| d.starts_with("SCAN ") && !d.contains("VIRTUAL TABLE") && d != "SCAN CONSTANT ROW")
        .collect()
}

#[tokio::test]
async fn no_write_statement_scans_a_growing_table() {
    // Arrange
    let app = spawn_app_with(|c| c.auth.anonymous_role = agent_kanban::config::AnonymousRole::None).await;
    app.writer().record_sql(true);

    // Act: every write, then a housekeeping pass that finds something of every kind to delete.
    every_write(&app).await;
    let purged = app.run_housekeeping(chrono::Utc::now() + chrono::Duration::days(9), HOUSEKEEPING_BATCH).await;
    assert!(purged.deleted.values().all(|n| *n > 0), "every kind had expired rows: {purged:?}");
    let statements = app.writer().recorded_sql();

    // Assert
    assert!(statements.len() >= 30, "the workload reached the writer: {statements:#?}");
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&app.config.database.path).read_only(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.expect("open");
    let mut offenders = Vec::new();
    for sql in statements.iter().filter(|s| !is_transaction_control(s)) {
        let found = scans(&mut conn, sql).await;
        if !found.is_empty() {
            offenders.push(format!("{sql}\n    -> {found:?}"));
        }
    }
    assert!(offenders.is_empty(), "statements scanning a table:\n{}", offenders.join("\n"));
    assert_eq!(app.get("/api/status").await.status(), StatusCode::OK);
}

fn is_transaction_control(sql: &str) -> bool {
    let word = sql.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
    matches!(word.as_str(), "BEGIN" | "SAVEPOINT" | "RELEASE" | "ROLLBACK" | "COMMIT" | "PRAGMA")
}
