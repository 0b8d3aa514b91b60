//! Tool inputs: one Rust type per tool, whose JSON Schema (schemars) is the tool's `inputSchema`,
//! and the strict parse of a call's arguments into it (unknown, missing and mistyped arguments
//! are validation errors with REST's `VALIDATION_ERROR` code). Field rules beyond types are the
//! domain parsers' (`domain/`), the same ones REST bodies go through.

use std::sync::Arc;

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::domain::validation::FieldError;
use crate::error::{ApiError, ApiResult};

/// A page request of a list tool: `cursor` is the previous page's `next_cursor`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListBoardsArgs {
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1..=200 (default 50).
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BoardArgs {
    /// The board's id.
    pub board_id: i64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkMoveArgs {
    /// Distinct task ids (1..`bulk.max_batch_size`), possibly on several boards.
    pub task_ids: Vec<i64>,
    /// Resolved against each task's own board.
    pub column: String,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowArgs {
    pub board_id: i64,
    /// The window in UTC days, 1..=365 (default 30).
    pub days: Option<i64>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListTasksArgs {
    /// Only tasks of this board (1 or more).
    pub board_id: Option<i64>,
    /// Only tasks in this column (1..100 characters; with `board_id`, the column's name or snake id,
    /// case-insensitive; without, any board's column of that name, case-insensitive).
    pub column: Option<String>,
    /// Only tasks whose assignee is exactly this name (1..100 characters).
    pub assignee: Option<String>,
    /// Only tasks whose priority is exactly this text (1..32 characters, compared as given).
    /// Priority is free text; a task created without one has "1.0".
    pub priority: Option<String>,
    /// Text search in title and description (1..200 characters).
    pub q: Option<String>,
    /// Page size, 1..=200 (default 50).
    pub limit: Option<i64>,
    /// Skip this many matching tasks (ignored when `cursor` is given).
    pub offset: Option<i64>,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskArgs {
    /// The task's (ticket's) id.
    pub task_id: i64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTaskArgs {
    pub board_id: i64,
    /// 1..200 characters, trimmed.
    pub title: String,
    /// At most 20 000 characters; blank is stored as null.
    pub description: Option<String>,
    /// At most 20 000 characters; blank is stored as null.
    pub acceptance_criteria: Option<String>,
    /// Free text of 1..32 characters, trimmed and stored as given (e.g. "2.0" or "high"; the
    /// server neither interprets nor orders it). Default "1.0".
    pub priority: Option<String>,
    /// At most 100 characters, trimmed; empty means unassigned. An agent may only name
    /// themselves; a pm may name anyone.
    pub assignee: Option<String>,
    /// The starting column (default: the board's first).
    pub column: Option<String>,
    /// Retrying with the same key returns the first result and writes once.
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditTaskArgs {
    pub task_id: i64,
    /// 1..200 characters, trimmed.
    pub title: Option<String>,
    /// At most 20 000 characters; blank clears it.
    pub description: Option<String>,
    /// At most 20 000 characters; blank clears it.
    pub acceptance_criteria: Option<String>,
    /// Free text of 1..32 characters, trimmed and stored as given (the server neither
    /// interprets nor orders it).
    pub priority: Option<String>,
    /// At most 100 characters, trimmed; empty unassigns. An agent may only name themselves; a pm
    /// may name anyone.
    pub assignee: Option<String>,
    /// The task's `version` this edit is based on; a newer stored version refuses the edit with
    /// `PRECONDITION_FAILED` and the current task.
    pub expected_version: Option<i64>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimArgs {
    pub task_id: i64,
    /// Claim or release for this agent (at most 100 characters, trimmed; default: the caller;
    /// only a pm may name someone else).
    pub agent_id: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveArgs {
    pub task_id: i64,
    /// The target column's name (case-insensitive).
    pub column: String,
    /// As in `edit_task`.
    pub expected_version: Option<i64>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentArgs {
    pub task_id: i64,
    /// 1..10 000 characters, not blank; stored as given.
    pub text: String,
    pub idempotency_key: Option<String>,
}

/// The JSON Schema of `T` as an MCP schema object.
pub fn schema_of<T: JsonSchema>() -> Arc<JsonObject> {
    let schema = schemars::schema_for!(T);
    match serde_json::to_value(schema) {
        Ok(Value::Object(map)) => Arc::new(map),
        _ => Arc::new(JsonObject::new()),
    }
}

/// Parse a call's arguments (absent = `{}`) into `T`.
pub fn parse<T: DeserializeOwned>(args: Option<&JsonObject>) -> ApiResult<T> {
    let value = Value::Object(args.cloned().unwrap_or_default());
    serde_json::from_value(value).map_err(|e| ApiError::Validation(vec![field_error(&e.to_string())]))
}

/// serde's message as a field error: `missing field `x``, `unknown field `x``, `invalid type`.
fn field_error(message: &str) -> FieldError {
    let named = |prefix: &str| {
        message.strip_prefix(prefix).and_then(|rest| rest.split('`').next()).map(|name| format!("arguments.{name}"))
    };
    let (field, kind) = if let Some(f) = named("missing field `") {
        (f, "missing")
    } else if let Some(f) = named("unknown field `") {
        (f, "extra_forbidden")
    } else {
        ("arguments".to_owned(), "invalid_type")
    };
    FieldError::new(field, kind, message.to_owned())
}

/// The canonical bytes of `args` without `idempotency_key`, hashed to recognise a retried call.
pub fn fingerprint(args: Option<&JsonObject>) -> Vec<u8> {
    let mut map = args.cloned().unwrap_or_default();
    map.remove("idempotency_key");
    map.sort_keys();
    serde_json::to_vec(&map).unwrap_or_default()
}

/// Page bounds from `limit`/`offset`/`cursor`: (offset, limit).
pub fn page(limit: Option<i64>, offset: Option<i64>, cursor: Option<&str>) -> ApiResult<(i64, i64)> {
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::field("arguments.limit", "out_of_range", "limit must be between 1 and 200"));
    }
    let offset = match cursor {
        Some(c) => c
            .parse::<i64>()
            .ok()
            .filter(|o| *o >= 0)
            .ok_or_else(|| ApiError::field("arguments.cursor", "invalid_value", "Invalid cursor"))?,
        None => offset.unwrap_or(0),
    };
    if offset < 0 {
        return Err(ApiError::field("arguments.offset", "out_of_range", "offset must be 0 or more"));
    }
    Ok((offset, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_become_field_errors() {
        let e = parse::<TaskArgs>(None).expect_err("missing");
        assert!(matches!(&e, ApiError::Validation(v) if v[0].field == "arguments.task_id"));
        let mut args = JsonObject::new();
        args.insert("task_id".into(), Value::from(1));
        args.insert("colour".into(), Value::from("red"));
        let e = parse::<TaskArgs>(Some(&args)).expect_err("extra");
        assert!(matches!(&e, ApiError::Validation(v) if v[0].field == "arguments.colour"));
    }

    #[test]
    fn pages_are_bounded_and_cursors_checked() {
        assert_eq!(page(None, None, None).ok(), Some((0, 50)));
        assert_eq!(page(Some(10), Some(3), Some("20")).ok(), Some((20, 10)));
        assert!(page(Some(0), None, None).is_err());
        assert!(page(None, None, Some("x")).is_err());
    }
}
