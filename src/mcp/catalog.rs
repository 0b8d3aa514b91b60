//! The tool catalog: each tool's name, title, annotations, minimum role, and input and output
//! schemas. The tools' bodies are in `tools.rs`.

use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};

use super::args::*;
use super::output::{BoardPage, BoardState, ColumnList, TaskDetail, TaskPage, schema_of as output_of};
use crate::auth::Caller;
use crate::domain::role::Role;
use crate::error::{ApiError, ApiResult};

/// What kind of call a tool is, for its annotations.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Read,
    /// Changes state; repeating it with the same arguments changes nothing more.
    Idempotent,
    /// Changes state; each call adds something.
    Additive,
}

struct Def {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    min: Role,
    kind: Kind,
    input: fn() -> Arc<JsonObject>,
}

const fn def(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    min: Role,
    kind: Kind,
    input: fn() -> Arc<JsonObject>,
) -> Def {
    Def { name, title, description, min, kind, input }
}

const TOOLS: &[Def] = &[
    def(
        "list_boards",
        "List boards",
        "Boards with their columns and ticket counts, paged by cursor.",
        Role::Viewer,
        Kind::Read,
        schema_of::<ListBoardsArgs>,
    ),
    def(
        "get_board_state",
        "Board state",
        "One board: its columns in order, each with its tasks and count.",
        Role::Viewer,
        Kind::Read,
        schema_of::<BoardArgs>,
    ),
    def(
        "list_columns",
        "List columns",
        "A board's column names in order.",
        Role::Viewer,
        Kind::Read,
        schema_of::<BoardArgs>,
    ),
    def(
        "list_tasks",
        "List tasks",
        "Tasks filtered by board, column, assignee, priority (exact text) and text search, paged by cursor.",
        Role::Viewer,
        Kind::Read,
        schema_of::<ListTasksArgs>,
    ),
    def(
        "get_task",
        "Get task",
        "One task with its comments (oldest first) and its newest 100 history rows (newest first), as \
         `{task, comments, history}`: unlike the other task tools, which return the task itself, the task is \
         under `task`.",
        Role::Viewer,
        Kind::Read,
        schema_of::<TaskArgs>,
    ),
    def(
        "create_task",
        "Create task",
        "Create a task on a board (in its first column unless `column` is given); `priority` is free text, \
         default \"1.0\".",
        Role::Agent,
        Kind::Additive,
        schema_of::<CreateTaskArgs>,
    ),
    def(
        "edit_task",
        "Edit task",
        "Change a task's title, description, acceptance criteria, priority or assignee; `expected_version` guards against lost updates.",
        Role::Agent,
        Kind::Idempotent,
        schema_of::<EditTaskArgs>,
    ),
    def(
        "claim_task",
        "Claim task",
        "Assign a task to yourself (a pm may name another agent); fails when someone else holds it.",
        Role::Agent,
        Kind::Idempotent,
        schema_of::<ClaimArgs>,
    ),
    def(
        "release_task",
        "Release task",
        "Give up your claim on a task (a pm may release anyone's).",
        Role::Agent,
        Kind::Idempotent,
        schema_of::<ClaimArgs>,
    ),
    def(
        "move_task",
        "Move task",
        "Move a task to another column of its board.",
        Role::Agent,
        Kind::Idempotent,
        schema_of::<MoveArgs>,
    ),
    def("update_task_status", "Move task", "Alias of move_task.", Role::Agent, Kind::Idempotent, schema_of::<MoveArgs>),
    def("add_comment", "Add comment", "Comment on a task.", Role::Agent, Kind::Additive, schema_of::<CommentArgs>),
    def(
        "bulk_move",
        "Move many tasks",
        "Move several tasks to a column in one transaction; per-task results in request order (pm).",
        Role::Pm,
        Kind::Idempotent,
        schema_of::<BulkMoveArgs>,
    ),
    def(
        "get_flow_metrics",
        "Flow metrics",
        "A board's lead and cycle time, throughput, WIP, cumulative flow and aging work over the last `days`.",
        Role::Viewer,
        Kind::Read,
        schema_of::<FlowArgs>,
    ),
];

/// Every tool's output schema, from the Rust type its result is built from (the entity tools
/// return what the REST route answers, so theirs is the REST entity's).
fn output_schema(name: &str) -> Arc<JsonObject> {
    match canonical(name) {
        "list_boards" => output_of::<BoardPage>(),
        "get_board_state" => output_of::<BoardState>(),
        "list_columns" => output_of::<ColumnList>(),
        "list_tasks" => output_of::<TaskPage>(),
        "get_task" => output_of::<TaskDetail>(),
        "add_comment" => output_of::<crate::domain::comment::Comment>(),
        "get_flow_metrics" => output_of::<crate::stats::flow::FlowMetrics>(),
        "bulk_move" => output_of::<crate::service::bulk::BulkMoveResponse>(),
        _ => output_of::<crate::domain::ticket::Ticket>(),
    }
}

fn to_tool(d: &Def) -> Tool {
    let annotations = ToolAnnotations::with_title(d.title)
        .read_only(d.kind == Kind::Read)
        .destructive(false)
        .idempotent(d.kind != Kind::Additive)
        .open_world(false);
    let tool = Tool::new(d.name, d.description, (d.input)()).with_title(d.title).with_annotations(annotations);
    tool.with_raw_output_schema(output_schema(d.name))
}

/// The tools `caller` may call.
pub fn visible(caller: &Caller) -> Vec<Tool> {
    TOOLS.iter().filter(|d| caller.has_role(d.min)).map(to_tool).collect()
}

/// A tool's definition by name (any role).
pub fn find(name: &str) -> Option<Tool> {
    TOOLS.iter().find(|d| d.name == name).map(to_tool)
}

/// Refuse a caller without the role of tool `name`, naming the role. None: no such tool.
pub(super) fn authorize(caller: &Caller, name: &str) -> Option<ApiResult<()>> {
    let min = TOOLS.iter().find(|d| d.name == name)?.min;
    Some(role_at_least(caller, min))
}

fn role_at_least(caller: &Caller, min: Role) -> ApiResult<()> {
    if caller.has_role(min) {
        return Ok(());
    }
    let message = format!("Requires role {} or higher", min.as_str());
    Err(if caller.user.is_some() { ApiError::Forbidden(message) } else { ApiError::Unauthorized(message) })
}

/// The tool an alias stands for.
pub(super) fn canonical(name: &str) -> &str {
    if name == "update_task_status" { "move_task" } else { name }
}
