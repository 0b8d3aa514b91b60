//! Anonymous username sessions: labels for anonymous actions, never a role.

use serde::Serialize;
use serde_json::Value;

use super::validation::{FieldError, FieldReader};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AnonSession {
    pub username: String,
    pub session_id: String,
    pub created_at: String,
}

/// The `username` of a session body: trimmed, 1..100 characters.
pub fn parse_session_username(body: &Value) -> Result<String, Vec<FieldError>> {
    let mut r = FieldReader::body(body)?;
    match r.required_trimmed("username", 1, 100) {
        Some(name) => r.finish(name),
        None => Err(r.errors),
    }
}
