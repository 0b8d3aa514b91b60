//! Board events: names and `data` payloads of the realtime catalogue (`realtime.md` §4), built
//! from the rows a write produced. The writer appends them to `board_events` and publishes them.

use serde::Serialize;
use serde_json::{Value, json};

use super::board::Board;
use super::comment::Comment;
use super::ticket::Ticket;

/// An event produced by a write, before it has a sequence number.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub board_id: i64,
    pub event: &'static str,
    pub data: Value,
}

/// An event as committed to the log: what subscribers receive.
#[derive(Debug, Clone, Serialize)]
pub struct BoardEvent {
    pub event: String,
    pub data: Value,
    pub board_id: i64,
    pub timestamp: String,
    pub seq: i64,
}

impl NewEvent {
    fn new(board_id: i64, event: &'static str, data: Value) -> Self {
        Self { board_id, event, data }
    }

    pub fn board_created(b: &Board) -> Self {
        let data = json!({"id": b.id, "name": b.name, "description": b.description, "columns": b.columns, "created_at": b.created_at});
        Self::new(b.id, "board_created", data)
    }

    pub fn board_updated(b: &Board) -> Self {
        let data = json!({"id": b.id, "name": b.name, "description": b.description, "columns": b.columns,
            "updated_at": b.updated_at, "version": b.version});
        Self::new(b.id, "board_updated", data)
    }

    pub fn columns_updated(board_id: i64, columns: &[String]) -> Self {
        Self::new(board_id, "columns_updated", json!({"board_id": board_id, "columns": columns}))
    }

    pub fn board_deleted(board_id: i64) -> Self {
        Self::new(board_id, "board_deleted", json!({"id": board_id}))
    }

    pub fn ticket_created(t: &Ticket) -> Self {
        Self::new(
            t.board_id,
            "ticket_created",
            json!({
            "id": t.id, "board_id": t.board_id, "title": t.title, "description": t.description,
            "acceptance_criteria": t.acceptance_criteria, "priority": t.priority, "assignee": t.assignee,
            "current_column": t.current_column, "created_at": t.created_at, "updated_at": t.updated_at,
            "column_entered_at": t.column_entered_at, "version": t.version}),
        )
    }

    pub fn ticket_updated(t: &Ticket, changed_fields: &[&str]) -> Self {
        Self::new(
            t.board_id,
            "ticket_updated",
            json!({
            "id": t.id, "board_id": t.board_id, "title": t.title, "description": t.description,
            "acceptance_criteria": t.acceptance_criteria, "priority": t.priority, "assignee": t.assignee,
            "current_column": t.current_column, "updated_at": t.updated_at, "version": t.version,
            "changed_fields": changed_fields}),
        )
    }

    /// `data` never carries `board_id` (the SPA relies on it being top-level only).
    pub fn ticket_moved(t: &Ticket, from_column: &str, moved_by: &str) -> Self {
        Self::new(
            t.board_id,
            "ticket_moved",
            json!({
            "id": t.id, "title": t.title, "description": t.description, "priority": t.priority,
            "assignee": t.assignee, "current_column": t.current_column, "from_column": from_column,
            "to_column": t.current_column, "moved_by": moved_by, "moved_at": t.column_entered_at,
            "created_at": t.created_at, "updated_at": t.updated_at, "version": t.version}),
        )
    }

    pub fn ticket_claimed(t: &Ticket) -> Self {
        Self::new(
            t.board_id,
            "ticket_claimed",
            json!({"id": t.id, "board_id": t.board_id, "assignee": t.assignee, "version": t.version}),
        )
    }

    pub fn ticket_deleted(ticket_id: i64, board_id: i64) -> Self {
        Self::new(board_id, "ticket_deleted", json!({"id": ticket_id, "board_id": board_id}))
    }

    pub fn comment_added(c: &Comment, board_id: i64) -> Self {
        Self::new(
            board_id,
            "comment_added",
            json!({"id": c.id, "ticket_id": c.ticket_id, "board_id": board_id,
            "text": c.text, "author": c.author, "created_at": c.created_at}),
        )
    }

    pub fn comment_updated(c: &Comment, board_id: i64) -> Self {
        Self::new(
            board_id,
            "comment_updated",
            json!({"id": c.id, "ticket_id": c.ticket_id, "board_id": board_id,
            "text": c.text, "author": c.author, "created_at": c.created_at, "updated_at": c.updated_at}),
        )
    }

    pub fn comment_deleted(comment_id: i64, ticket_id: i64, board_id: i64) -> Self {
        Self::new(board_id, "comment_deleted", json!({"id": comment_id, "ticket_id": ticket_id, "board_id": board_id}))
    }

    /// A `column_migration` bulk update listing the tickets whose column changed.
    pub fn column_migration(board_id: i64, changed_by: &str, timestamp: &str, tickets: &[Ticket]) -> Self {
        let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
        let per_ticket: Vec<Value> = tickets
            .iter()
            .map(|t| json!({"id": t.id, "current_column": t.current_column, "column_entered_at": t.column_entered_at, "version": t.version}))
            .collect();
        let update = json!({"type": "column_migration", "ticket_ids": ids, "changed_by": changed_by,
            "timestamp": timestamp, "tickets": per_ticket});
        Self::new(board_id, "bulk_update", json!({"count": 1, "updates": [update]}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_moved_data_has_no_board_id() {
        let t = Ticket {
            id: 1,
            board_id: 2,
            title: "t".into(),
            description: None,
            acceptance_criteria: None,
            priority: "1.0".into(),
            assignee: None,
            current_column: "Done".into(),
            created_at: "a".into(),
            updated_at: "b".into(),
            column_entered_at: "c".into(),
            version: 2,
        };
        let e = NewEvent::ticket_moved(&t, "Blocked", "alice");
        assert_eq!(e.board_id, 2);
        assert!(e.data.get("board_id").is_none());
        assert_eq!(e.data["to_column"], "Done");
        assert_eq!(e.data["moved_at"], "c");
    }
}
