//! OpenAPI schemas of request bodies and composite responses. Request bodies are parsed and
//! validated by `domain` (which needs to tell "absent" from "null"); these types document them.
#![allow(dead_code)]

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::ticket::{BoardTicket, Ticket};

#[derive(ToSchema)]
pub struct CreateBoardRequest {
    /// 1..100 characters, trimmed.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: String,
    #[schema(max_length = 20000)]
    description: Option<String>,
    /// 1..50 unique names; the five default columns when absent or null.
    #[schema(min_items = 1, max_items = 50, value_type = Option<Vec<ColumnName>>)]
    columns: Option<Vec<String>>,
}

#[derive(ToSchema)]
pub struct UpdateBoardRequest {
    /// May be absent, never null.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S", nullable = false)]
    name: Option<String>,
    #[schema(max_length = 20000)]
    description: Option<String>,
    /// May be absent, never null.
    #[schema(min_items = 1, max_items = 50, value_type = Option<Vec<ColumnName>>, nullable = false)]
    columns: Option<Vec<String>>,
    /// Old column name → new column name (requires `columns`).
    renames: Option<std::collections::HashMap<String, String>>,
    /// Where tickets of removed columns go (requires `columns`).
    move_tickets_to: Option<String>,
}

#[derive(ToSchema)]
pub struct ColumnsRequest {
    #[schema(min_items = 1, max_items = 50, value_type = Vec<ColumnName>)]
    columns: Vec<String>,
    renames: Option<std::collections::HashMap<String, String>>,
    move_tickets_to: Option<String>,
}

/// A column name: 1..50 characters, trimmed, unique case-insensitively within the board.
#[derive(ToSchema)]
#[schema(value_type = String, min_length = 1, max_length = 50, pattern = r"\S")]
pub struct ColumnName(String);

#[derive(Serialize, ToSchema)]
pub struct ColumnsResult {
    pub message: String,
    pub columns: Vec<String>,
    pub renamed_tickets: usize,
    pub moved_tickets: usize,
}

/// `GET /api/boards/{id}/tickets`. Only its schema is derived: the body is assembled around the
/// ticket array that SQLite renders (`db::tickets::board_list_json`) by [`board_tickets_body`].
#[derive(ToSchema)]
pub struct BoardTickets {
    board_id: i64,
    board_name: String,
    tickets: Vec<BoardTicket>,
    total_tickets: i64,
}

/// The JSON body of [`BoardTickets`], with `tickets_json` (a JSON array) copied in verbatim, so
/// the large part of the response is never parsed or re-serialised.
pub fn board_tickets_body(board_id: i64, board_name: &str, tickets_json: &str, total: i64) -> Response {
    let name = serde_json::Value::String(board_name.to_owned()).to_string();
    let mut body = String::with_capacity(tickets_json.len() + name.len() + 80);
    body.push_str(&format!("{{\"board_id\":{board_id},\"board_name\":{name},\"tickets\":"));
    body.push_str(tickets_json);
    body.push_str(&format!(",\"total_tickets\":{total}}}"));
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[derive(Serialize, ToSchema)]
pub struct Message {
    pub message: String,
}

#[derive(ToSchema)]
pub struct CreateTicketRequest {
    #[schema(minimum = 1, maximum = 9007199254740991_i64)]
    board_id: i64,
    /// 1..200 characters, trimmed.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    title: String,
    #[schema(max_length = 20000)]
    description: Option<String>,
    #[schema(max_length = 20000)]
    acceptance_criteria: Option<String>,
    /// Default `"1.0"`.
    #[schema(min_length = 1, max_length = 32, pattern = r"\S")]
    priority: Option<String>,
    #[schema(max_length = 100)]
    assignee: Option<String>,
    /// Default: the board's first column. Matched case-insensitively or by snake id.
    current_column: Option<String>,
    #[schema(max_length = 100)]
    created_by: Option<String>,
}

#[derive(ToSchema)]
pub struct UpdateTicketRequest {
    /// May be absent, never null.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S", nullable = false)]
    title: Option<String>,
    #[schema(max_length = 20000)]
    description: Option<String>,
    #[schema(max_length = 20000)]
    acceptance_criteria: Option<String>,
    /// May be absent, never null.
    #[schema(min_length = 1, max_length = 32, pattern = r"\S", nullable = false)]
    priority: Option<String>,
    #[schema(max_length = 100)]
    assignee: Option<String>,
    #[schema(max_length = 100)]
    changed_by: Option<String>,
}

#[derive(ToSchema)]
pub struct MoveTicketRequest {
    /// A column of the ticket's board (case-insensitive, or its snake id).
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    column: String,
    #[schema(max_length = 100)]
    moved_by: Option<String>,
}

#[derive(ToSchema)]
pub struct ClaimRequest {
    #[schema(max_length = 100)]
    agent_id: Option<String>,
    #[schema(max_length = 100)]
    assignee: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TicketPage {
    pub items: Vec<Ticket>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    pub total_pages: i64,
    pub has_next: bool,
    pub has_previous: bool,
}

#[derive(ToSchema)]
pub struct CreateCommentRequest {
    #[schema(minimum = 1, maximum = 9007199254740991_i64)]
    ticket_id: i64,
    /// 1..10 000 characters, not blank.
    #[schema(min_length = 1, max_length = 10000, pattern = r"\S")]
    text: String,
    #[schema(max_length = 100)]
    author: Option<String>,
}

#[derive(ToSchema)]
pub struct UpdateCommentRequest {
    #[schema(min_length = 1, max_length = 10000, pattern = r"\S")]
    text: String,
}

#[derive(ToSchema)]
pub struct SessionRequest {
    /// 1..100 characters, trimmed.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    username: String,
}

#[derive(Serialize, ToSchema)]
pub struct Transition {
    pub from_column: Option<String>,
    pub to_column: Option<String>,
    pub changed_at: String,
    pub changed_by: String,
    pub duration_seconds: f64,
    pub duration_human: String,
}

#[derive(Serialize, ToSchema)]
pub struct Transitions {
    pub ticket_id: i64,
    pub current_column: String,
    pub current_duration_seconds: f64,
    pub current_duration_human: String,
    pub transitions: Vec<Transition>,
    pub total_transitions: usize,
}

#[derive(Serialize, ToSchema)]
pub struct Activity {
    pub id: i64,
    pub ticket_id: i64,
    pub ticket_title: String,
    pub field_name: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub changed_by: String,
    pub changed_at: String,
    pub time_ago: String,
}

#[derive(Serialize, ToSchema)]
pub struct BoardActivity {
    pub board_id: i64,
    pub timeframe_hours: i64,
    pub total_activities: usize,
    pub activities: Vec<Activity>,
}
