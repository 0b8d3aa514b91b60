//! Tests for the WebSocket hub: handshake, events, order, replay, client messages, liveness.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_ticket_created_over_rest_reaches_board_and_all_board_subscribers() {
    let app = spawn_app().await;
    let mut board = app.ws("board_id=1").await;
    let mut all = app.ws("").await;
    let hello = board.next_event("connected").await;
    assert_eq!(hello["data"]["board_id"], 1);
    assert_eq!(hello["data"]["last_seq"], 0);
    assert!(all.next_event("connected").await["data"]["board_id"].is_null());

    let ticket = app.create_ticket(1, "Hello").await;

    let on_board = board.next_event("ticket_created").await;
    assert_eq!(on_board["data"]["id"], ticket["id"]);
    assert_eq!(on_board["board_id"], 1);
    assert_eq!(on_board["seq"], 1);
    assert_eq!(all.next_event("ticket_created").await, on_board);
    let moved = app.post(&format!("/api/tickets/{}/move", ticket["id"]), &json!({"column": "Done"})).await;
    assert!(moved.status().is_success());
    let ev = board.next_event("ticket_moved").await;
    assert!(ev["data"].get("board_id").is_none());
    assert_eq!(ev["seq"], 2);
}
