//! OpenAPI schemas of request bodies and composite responses. Request bodies are parsed and
//! validated by `domain` (which needs to tell "absent" from "null"); these types document them.
#![allow(dead_code)]

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

#[derive(Serialize, ToSchema)]
pub struct BoardTickets {
    pub board_id: i64,
    pub board_name: String,
    /// The JSON array rendered by the database (`db::tickets::board_list_json`), copied verbatim.
    #[schema(value_type = Vec<BoardTicket>)]
    pub tickets: Box<serde_json::value::RawValue>,
    pub total_tickets: i64,
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
