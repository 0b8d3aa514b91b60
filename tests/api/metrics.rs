//! `/metrics`: the writer's counters in Prometheus text.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

/// One sample of a series, by its exact name.
async fn sample(app: &TestApp, name: &str) -> f64 {
    let resp = app.get("/metrics").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let text = resp.text().await.expect("body");
    let line = text.lines().find(|l| l.split(' ').next() == Some(name)).unwrap_or_else(|| panic!("{name} in {text}"));
    line.rsplit(' ').next().and_then(|v| v.parse().ok()).expect("numeric sample")
}

#[tokio::test]
async fn writer_counters_count_each_command_and_its_statements() {
    // Arrange
    let app = spawn_app().await;
    let before = |name: &'static str| sample(&app, name);
    let (commands, statements, triggers, batches) = (
        before("kanban_db_writer_commands_total").await,
        before("kanban_db_writer_statements_total").await,
        before("kanban_db_writer_trigger_runs_total").await,
        before("kanban_db_writer_batches_total").await,
    );

    // Act: one ticket create, alone in its batch.
    app.create_ticket(1, "counted").await;

    // Assert: BEGIN IMMEDIATE + SAVEPOINT, the board's columns, the ticket + its history row, the
    // event, COMMIT; the ticket-count and event-seq triggers ran once each.
    assert_eq!(sample(&app, "kanban_db_writer_commands_total").await - commands, 1.0);
    assert_eq!(sample(&app, "kanban_db_writer_batches_total").await - batches, 1.0);
    assert_eq!(sample(&app, "kanban_db_writer_statements_total").await - statements, 7.0);
    assert_eq!(sample(&app, "kanban_db_writer_trigger_runs_total").await - triggers, 2.0);
    assert!(sample(&app, "kanban_db_writer_command_seconds_total").await > 0.0);
    assert_eq!(sample(&app, "kanban_db_writer_max_batch_size").await, 1.0);
    assert_eq!(sample(&app, "kanban_db_writer_queue_depth").await, 0.0);
}

#[tokio::test]
async fn a_move_costs_seven_statements_and_a_rejected_one_writes_nothing() {
    let app = spawn_app().await;
    let id = app.create_ticket(1, "moved").await["id"].as_i64().expect("id");
    let statements = sample(&app, "kanban_db_writer_statements_total").await;

    let moved = app.post(&format!("/api/tickets/{id}/move"), &json!({"column": "Done"})).await;
    assert_eq!(moved.status(), StatusCode::OK);
    // BEGIN + SAVEPOINT, the ticket with its board's columns, the update + history row, the event, COMMIT.
    let after_move = sample(&app, "kanban_db_writer_statements_total").await;
    assert_eq!(after_move - statements, 7.0);

    let rejected = app.post(&format!("/api/tickets/{id}/move"), &json!({"column": "Nowhere"})).await;
    assert_eq!(rejected.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // BEGIN + SAVEPOINT, the read, then ROLLBACK TO + COMMIT: nothing written.
    assert_eq!(sample(&app, "kanban_db_writer_statements_total").await - after_move, 5.0);
}
