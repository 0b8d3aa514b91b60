//! Each tool's body: a thin adapter from parsed arguments to the same `db` reads and `service`
//! writes REST uses. The catalog (names, roles, schemas) is `catalog.rs`.

use rmcp::model::JsonObject;
use serde_json::{Value, json};

use super::args::{self, *};
use super::catalog::{authorize, canonical};
use super::output::{BoardPage, BoardState, BoardSummary, ColumnList, ColumnState, TaskDetail, TaskPage};
use crate::auth::Caller;
use crate::db;
use crate::db::tickets::{SortKey, TicketFilter};
use crate::domain::columns::{invalid_column_message, resolve};
use crate::domain::precondition::IfMatch;
use crate::domain::ticket::parse_agent_body;
use crate::domain::validation::{FieldError, int_within, is_idempotency_key, limits, text_within};
use crate::error::{ApiError, ApiResult};
use crate::extract::KeyedRoute;
use crate::service::tickets::{self as service, TicketTarget};
use crate::service::write::{Keyed, Reply};
use crate::state::AppState;

/// One call's inputs.
pub struct Call<'a> {
    pub state: &'a AppState,
    pub caller: &'a Caller,
    pub name: &'a str,
    pub args: Option<&'a JsonObject>,
}

impl Call<'_> {
    fn keyed(&self, key: Option<String>) -> ApiResult<Option<Keyed>> {
        let Some(key) = key else { return Ok(None) };
        if !is_idempotency_key(key.as_bytes()) {
            return Err(ApiError::field(
                "arguments.idempotency_key",
                "invalid_value",
                "idempotency_key must be 1..255 printable ASCII characters",
            ));
        }
        let route = KeyedRoute { key, method: "MCP".into(), path: format!("tools/{}", canonical(self.name)) };
        Ok(Keyed::new(self.caller, Some(route), &args::fingerprint(self.args)))
    }
}

/// Run a known tool: Ok(structured result), Err(the error REST would answer, its invalid fields
/// named as this tool's arguments). None: unknown tool.
pub async fn call(c: Call<'_>) -> Option<ApiResult<Value>> {
    let allowed = authorize(c.caller, c.name)?;
    Some(
        async {
            allowed?;
            dispatch(&c).await
        }
        .await
        .map_err(in_arguments),
    )
}

/// Arguments are checked by REST's own parsers (the same `domain` rules, so MCP and REST cannot
/// disagree on a limit); their field paths (`body.ticket_id`, `query.agent_id`) become the tool's
/// argument names (`arguments.task_id`, `arguments.agent_id`).
fn in_arguments(e: ApiError) -> ApiError {
    let ApiError::Validation(errors) = e else { return e };
    let renamed = errors.into_iter().map(|f| FieldError { field: argument_path(&f.field), ..f }).collect();
    ApiError::Validation(renamed)
}

fn argument_path(field: &str) -> String {
    let Some(rest) = field.strip_prefix("body.").or_else(|| field.strip_prefix("query.")) else {
        return field.to_owned();
    };
    let (name, tail) = rest.split_once('.').map_or((rest, None), |(name, tail)| (name, Some(tail)));
    let name = match name {
        "current_column" | "target_column" => "column",
        "ticket_id" => "task_id",
        "ticket_ids" => "task_ids",
        other => other,
    };
    match tail {
        Some(tail) => format!("arguments.{name}.{tail}"),
        None => format!("arguments.{name}"),
    }
}

async fn dispatch(c: &Call<'_>) -> ApiResult<Value> {
    match canonical(c.name) {
        "list_boards" => list_boards(c).await,
        "get_board_state" => board_state(c.state, args::parse::<BoardArgs>(c.args)?.board_id).await,
        "list_columns" => {
            let board = db::boards::get(&c.state.db, args::parse::<BoardArgs>(c.args)?.board_id).await?;
            to_value(ColumnList { board_id: board.id, columns: board.columns })
        }
        "list_tasks" => list_tasks(c).await,
        "get_task" => get_task(c).await,
        "create_task" => create_task(c).await,
        "edit_task" => edit_task(c).await,
        "claim_task" | "release_task" => claim_or_release(c).await,
        "move_task" => move_task(c).await,
        "add_comment" => add_comment(c).await,
        "get_flow_metrics" => flow_metrics(c).await,
        "bulk_move" => bulk_move(c).await,
        _ => Err(ApiError::internal("tool listed without a body")),
    }
}

fn to_value(result: impl serde::Serialize) -> ApiResult<Value> {
    serde_json::to_value(result).map_err(ApiError::internal)
}

fn reply_value(reply: Reply) -> ApiResult<Value> {
    serde_json::from_str(&reply.body).map_err(ApiError::internal)
}

async fn list_boards(c: &Call<'_>) -> ApiResult<Value> {
    let a = args::parse::<ListBoardsArgs>(c.args)?;
    let (offset, limit) = args::page(a.limit, None, a.cursor.as_deref())?;
    let boards = db::boards::list(&c.state.db).await?;
    let total = boards.len() as i64;
    let items: Vec<_> = boards.into_iter().skip(offset as usize).take(limit as usize).collect();
    let next = (offset + limit < total).then(|| (offset + limit).to_string());
    to_value(BoardPage { items, total, next_cursor: next })
}

/// A board with its columns in order, each with its tickets and count (`time_in_column` in ms).
pub async fn board_state(state: &AppState, board_id: i64) -> ApiResult<Value> {
    let board = db::boards::get(&state.db, board_id).await?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let tickets: Vec<Value> =
        db::tickets::board_list_json(&state.db, board.id, now_ms, |text, _| serde_json::from_str(text))
            .await?
            .map_err(ApiError::internal)?;
    let columns: Vec<ColumnState> = board
        .columns
        .iter()
        .map(|name| {
            let here: Vec<Value> = tickets
                .iter()
                .filter(|t| t.get("current_column").and_then(Value::as_str) == Some(name))
                .cloned()
                .collect();
            ColumnState { name: name.clone(), count: here.len(), wip: here.len(), tickets: here }
        })
        .collect();
    let total_tickets = tickets.len();
    let summary =
        BoardSummary { id: board.id, name: board.name, description: board.description, version: board.version };
    to_value(BoardState { board: summary, total_tickets, columns })
}

async fn list_tasks(c: &Call<'_>) -> ApiResult<Value> {
    let a = args::parse::<ListTasksArgs>(c.args)?;
    let (offset, limit) = args::page(a.limit, a.offset, a.cursor.as_deref())?;
    check_filters(&a)?;
    let mut filter =
        TicketFilter { board_id: a.board_id, assignee: a.assignee, priority: a.priority, q: a.q, ..Default::default() };
    match (a.board_id, a.column) {
        (Some(board_id), Some(column)) => {
            let board = db::boards::get(&c.state.db, board_id).await?;
            let found = resolve(&board.columns, &column).ok_or_else(|| {
                ApiError::field(
                    "arguments.column",
                    "invalid_column",
                    invalid_column_message(&column, board_id, &board.columns),
                )
            })?;
            filter.column_exact = Some(found.to_owned());
        }
        (Some(board_id), None) => {
            db::boards::get(&c.state.db, board_id).await?;
        }
        (None, column) => filter.column_nocase = column.map(|c| c.trim().to_owned()),
    }
    // Pages are whole multiples of `limit` from `offset`: fetch `limit` rows at a row offset.
    let (items, total) = db::tickets::list_range(&c.state.db, &filter, (SortKey::Id, false), offset, limit).await?;
    let next = (offset + limit < total).then(|| (offset + limit).to_string());
    to_value(TaskPage { items, total, next_cursor: next })
}

/// The filters obey the REST list query's rules (`GET /api/tickets`), through the same checks.
fn check_filters(a: &ListTasksArgs) -> ApiResult<()> {
    let invalid = |e| ApiError::Validation(vec![e]);
    if let Some(board_id) = a.board_id {
        int_within("arguments.board_id", board_id, 1, i64::MAX).map_err(invalid)?;
    }
    let texts = [
        ("arguments.column", &a.column, limits::COLUMN_FILTER),
        ("arguments.assignee", &a.assignee, limits::NAME),
        ("arguments.priority", &a.priority, limits::PRIORITY),
        ("arguments.q", &a.q, limits::SEARCH),
    ];
    for (field, value, max) in texts {
        if let Some(v) = value {
            text_within(field, v, 1, max).map_err(invalid)?;
        }
    }
    Ok(())
}

async fn get_task(c: &Call<'_>) -> ApiResult<Value> {
    let id = args::parse::<TaskArgs>(c.args)?.task_id;
    let ticket = db::tickets::get(&c.state.db, id).await?;
    let comments = db::comments::for_ticket(&c.state.db, id).await?;
    let history = db::history::for_ticket(&c.state.db, id, None, 100).await?;
    to_value(TaskDetail { task: ticket, comments, history })
}

fn if_match(expected: Option<i64>) -> Option<IfMatch> {
    expected.map(|v| IfMatch::parse(&v.to_string()))
}

/// Put each given optional string argument into the REST-shaped `body` (absent ones stay absent).
fn set_present<const N: usize>(body: &mut Value, fields: [(&str, Option<String>); N]) {
    for (name, value) in fields {
        if let Some(v) = value {
            body[name] = Value::String(v);
        }
    }
}

async fn create_task(c: &Call<'_>) -> ApiResult<Value> {
    let a = args::parse::<CreateTaskArgs>(c.args)?;
    let keyed = c.keyed(a.idempotency_key)?;
    let mut body = json!({ "board_id": a.board_id, "title": a.title });
    let fields = [
        ("description", a.description),
        ("acceptance_criteria", a.acceptance_criteria),
        ("priority", a.priority),
        ("assignee", a.assignee),
        ("current_column", a.column),
    ];
    set_present(&mut body, fields);
    reply_value(service::create(c.state, c.caller, keyed, &body).await?)
}

async fn edit_task(c: &Call<'_>) -> ApiResult<Value> {
    let a = args::parse::<EditTaskArgs>(c.args)?;
    let keyed = c.keyed(a.idempotency_key)?;
    let mut body = json!({});
    let fields = [
        ("title", a.title),
        ("description", a.description),
        ("acceptance_criteria", a.acceptance_criteria),
        ("priority", a.priority),
        ("assignee", a.assignee),
    ];
    set_present(&mut body, fields);
    let target = TicketTarget { ticket_id: a.task_id, if_match: if_match(a.expected_version), keyed };
    reply_value(service::update(c.state, c.caller, target, &body).await?)
}

async fn claim_or_release(c: &Call<'_>) -> ApiResult<Value> {
    let a = args::parse::<ClaimArgs>(c.args)?;
    let keyed = c.keyed(a.idempotency_key)?;
    // REST's claim body rule: trimmed, at most 100 characters, empty means the caller.
    let body = a.agent_id.map(|agent_id| json!({ "agent_id": agent_id }));
    let named = parse_agent_body(body.as_ref()).map_err(ApiError::Validation)?;
    let target = TicketTarget { ticket_id: a.task_id, if_match: None, keyed };
    let reply = if c.name == "claim_task" {
        service::claim(c.state, c.caller, target, named).await?
    } else {
        service::release(c.state, c.caller, target, named).await?
    };
    reply_value(reply)
}

async fn move_task(c: &Call<'_>) -> ApiResult<Value> {
    let a = args::parse::<MoveArgs>(c.args)?;
    let keyed = c.keyed(a.idempotency_key)?;
    let target = TicketTarget { ticket_id: a.task_id, if_match: if_match(a.expected_version), keyed };
    let (reply, _board) = service::move_to(c.state, c.caller, target, &json!({ "column": a.column })).await?;
    reply_value(reply)
}

async fn add_comment(c: &Call<'_>) -> ApiResult<Value> {
    let a = args::parse::<CommentArgs>(c.args)?;
    let keyed = c.keyed(a.idempotency_key)?;
    reply_value(service::comment(c.state, c.caller, keyed, &json!({ "ticket_id": a.task_id, "text": a.text })).await?)
}

async fn flow_metrics(c: &Call<'_>) -> ApiResult<Value> {
    let a = args::parse::<FlowArgs>(c.args)?;
    // The REST statistics routes' `days` rule (1..365, default 30), with REST's message.
    let days = int_within("arguments.days", a.days.unwrap_or(30), 1, 365).map_err(|e| ApiError::Validation(vec![e]))?;
    let now = chrono::Utc::now().timestamp_millis();
    let metrics = crate::service::statistics::flow(c.state, a.board_id, days, now).await?;
    to_value(metrics)
}

async fn bulk_move(c: &Call<'_>) -> ApiResult<Value> {
    let a = args::parse::<BulkMoveArgs>(c.args)?;
    let keyed = c.keyed(a.idempotency_key)?;
    let body = json!({ "ticket_ids": a.task_ids, "target_column": a.column });
    let req =
        crate::domain::bulk::parse_move(&body, c.state.config.bulk.max_batch_size).map_err(ApiError::Validation)?;
    reply_value(crate::service::bulk::run_bulk(c.state, c.caller, keyed, req).await?)
}
