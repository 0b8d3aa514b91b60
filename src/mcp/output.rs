//! What each tool returns, as Rust types: the results are built from them, and their JSON Schemas
//! (the ones the REST document uses, from the same types) are the tools' `outputSchema`.

use std::sync::Arc;

use rmcp::model::JsonObject;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::board::Board;
use crate::domain::comment::Comment;
use crate::domain::history::HistoryEntry;
use crate::domain::ticket::{BoardTicket, Ticket};

/// One page of boards; `next_cursor` is null on the last page.
#[derive(Serialize, ToSchema)]
pub struct BoardPage {
    pub items: Vec<Board>,
    pub total: i64,
    pub next_cursor: Option<String>,
}

/// One page of tasks (tickets); `next_cursor` is null on the last page.
#[derive(Serialize, ToSchema)]
pub struct TaskPage {
    pub items: Vec<Ticket>,
    pub total: i64,
    pub next_cursor: Option<String>,
}

/// A board's columns in order.
#[derive(Serialize, ToSchema)]
pub struct ColumnList {
    pub board_id: i64,
    pub columns: Vec<String>,
}

/// `get_task`'s result: the task (under `task`, where the other task tools return it bare) with
/// its comments and its newest 100 history rows.
#[derive(Serialize, ToSchema)]
pub struct TaskDetail {
    /// The task, as `GET /api/tickets/{ticket_id}` returns it.
    pub task: Ticket,
    /// Its comments, oldest first.
    pub comments: Vec<Comment>,
    /// Its newest 100 history rows, newest first.
    pub history: Vec<HistoryEntry>,
}

/// The board's identity in a board state.
#[derive(Serialize, ToSchema)]
pub struct BoardSummary {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub version: i64,
}

/// One column of a board state: its tickets (`time_in_column` in ms), their count and the work
/// in progress (the count: the model has no WIP limits).
#[derive(Serialize, ToSchema)]
pub struct ColumnState {
    pub name: String,
    pub count: usize,
    pub wip: usize,
    /// Board tickets as `GET /api/boards/{board_id}/tickets` renders them.
    #[schema(value_type = Vec<BoardTicket>)]
    pub tickets: Vec<Value>,
}

/// A board with its columns in order, each with its tickets.
#[derive(Serialize, ToSchema)]
pub struct BoardState {
    pub board: BoardSummary,
    pub total_tickets: usize,
    pub columns: Vec<ColumnState>,
}

/// The JSON Schema of `T` for an MCP tool: `T`'s schema with every schema it refers to under
/// `$defs`, references rewritten to point there.
pub fn schema_of<T: ToSchema>() -> Arc<JsonObject> {
    let mut referenced = Vec::new();
    T::schemas(&mut referenced);
    let defs: serde_json::Map<String, Value> = referenced
        .into_iter()
        .map(|(name, schema)| (name, serde_json::to_value(schema).unwrap_or(Value::Null)))
        .collect();
    let mut root = serde_json::to_value(T::schema()).unwrap_or(Value::Null);
    if !defs.is_empty() {
        root["$defs"] = Value::Object(defs);
    }
    let text = root.to_string().replace("\"#/components/schemas/", "\"#/$defs/");
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => Arc::new(map),
        _ => Arc::new(JsonObject::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` of `value`.
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("$ref", Value::String(r)) => out.push(r.clone()),
                        _ => refs(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    fn assert_self_contained(schema: &JsonObject) {
        let value = Value::Object(schema.clone());
        let mut found = Vec::new();
        refs(&value, &mut found);
        for r in found {
            let name = r.strip_prefix("#/$defs/").unwrap_or_else(|| panic!("{r} points outside the schema"));
            assert!(value["$defs"].get(name).is_some(), "{r} is not defined in {value}");
        }
        assert_eq!(value["type"], "object", "an object schema: {value}");
    }

    #[test]
    fn every_output_schema_is_an_object_whose_references_resolve_inside_it() {
        assert_self_contained(&schema_of::<BoardPage>());
        assert_self_contained(&schema_of::<TaskPage>());
        assert_self_contained(&schema_of::<ColumnList>());
        assert_self_contained(&schema_of::<TaskDetail>());
        assert_self_contained(&schema_of::<BoardState>());
        assert_self_contained(&schema_of::<Ticket>());
        assert_self_contained(&schema_of::<Comment>());
        assert_self_contained(&schema_of::<crate::service::bulk::BulkMoveResponse>());
        assert_self_contained(&schema_of::<crate::stats::flow::FlowMetrics>());
    }

    #[test]
    fn nested_types_are_carried_along() {
        let schema = Value::Object(schema_of::<TaskDetail>().as_ref().clone());
        for name in ["Ticket", "Comment", "HistoryEntry"] {
            assert!(schema["$defs"].get(name).is_some(), "{name} in {schema}");
        }
    }
}
