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
    name: String,
    description: Option<String>,
    /// 1..50 unique names; the five default columns when absent or null.
    columns: Option<Vec<String>>,
}

#[derive(ToSchema)]
pub struct UpdateBoardRequest {
    name: Option<String>,
    description: Option<String>,
    columns: Option<Vec<String>>,
    /// Old column name → new column name (requires `columns`).
    renames: Option<std::collections::HashMap<String, String>>,
    /// Where tickets of removed columns go (requires `columns`).
    move_tickets_to: Option<String>,
}

#[derive(ToSchema)]
pub struct ColumnsRequest {
    columns: Vec<String>,
    renames: Option<std::collections::HashMap<String, String>>,
    move_tickets_to: Option<String>,
}

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
    board_id: i64,
    /// 1..200 characters, trimmed.
    title: String,
    description: Option<String>,
    acceptance_criteria: Option<String>,
    /// Default `"1.0"`.
    priority: Option<String>,
    assignee: Option<String>,
    /// Default: the board's first column. Matched case-insensitively or by snake id.
    current_column: Option<String>,
    created_by: Option<String>,
}

#[derive(ToSchema)]
pub struct UpdateTicketRequest {
    title: Option<String>,
    description: Option<String>,
    acceptance_criteria: Option<String>,
    priority: Option<String>,
    assignee: Option<String>,
    changed_by: Option<String>,
}

#[derive(ToSchema)]
pub struct MoveTicketRequest {
    column: String,
    moved_by: Option<String>,
}

#[derive(ToSchema)]
pub struct ClaimRequest {
    agent_id: Option<String>,
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
    ticket_id: i64,
    /// 1..10 000 characters, not blank.
    text: String,
    author: Option<String>,
}

#[derive(ToSchema)]
pub struct UpdateCommentRequest {
    text: String,
}

#[derive(ToSchema)]
pub struct SessionRequest {
    /// 1..100 characters, trimmed.
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
