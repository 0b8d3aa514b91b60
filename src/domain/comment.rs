//! Comments on tickets.

use serde::Serialize;
use serde_json::Value;

use super::validation::{FieldError, FieldReader};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Comment {
    pub id: i64,
    pub ticket_id: i64,
    pub text: String,
    pub author: String,
    pub created_at: String,
    /// Set when the text is edited.
    pub updated_at: Option<String>,
}

/// A validated `POST /api/comments/` body.
#[derive(Debug, Clone)]
pub struct NewComment {
    pub ticket_id: i64,
    pub text: String,
    pub author: Option<String>,
}

impl NewComment {
    pub fn parse(body: &Value) -> Result<Self, Vec<FieldError>> {
        let mut r = FieldReader::body(body)?;
        let ticket_id = r.required_int("ticket_id");
        let text = r.required_untrimmed("text", 10_000);
        let author = r.attribution("author");
        match (ticket_id, text) {
            (Some(ticket_id), Some(text)) => r.finish(NewComment { ticket_id, text, author }),
            _ => Err(r.errors),
        }
    }
}

/// The new text of a `PUT /api/comments/{id}` body.
pub fn parse_comment_text(body: &Value) -> Result<String, Vec<FieldError>> {
    let mut r = FieldReader::body(body)?;
    match r.required_untrimmed("text", 10_000) {
        Some(text) => r.finish(text),
        None => Err(r.errors),
    }
}
