//! Statistics (`/api/statistics`, `api.md` §8): board column statistics, ticket statistics,
//! colour classes, column statistics, performance and flow metrics. Each handler takes one `now`,
//! reads what it needs through `db::stats` (one query per table, never one per ticket) and hands
//! it to the pure functions of `stats/`. `use_cache` is accepted and ignored: nothing is cached.

use axum::extract::{FromRequestParts, RawPathParams, State};
use axum::http::request::Parts;
use chrono::Utc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::db;
use crate::domain::columns::{invalid_column_message, resolve};
use crate::domain::role::Role;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{BoardId, QueryParams, TicketId};
use crate::service::statistics::board_history;
use crate::state::AppState;
use crate::stats::board::{
    BoardStatistics, TicketInput, TicketStatistics, board_statistics, column_times, ticket_statistics,
};
use crate::stats::colors::{RealtimeColors, TicketColors, realtime_colors, ticket_colors};
use crate::stats::column::{ColumnReport, column_report};
use crate::stats::flow::FlowMetrics;
use crate::stats::performance::{Performance, performance};
use crate::stats::timeline::track;
use crate::stats::{BoardFacts, Ms, TicketFacts};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_board_statistics))
        .routes(routes!(get_ticket_statistics))
        .routes(routes!(get_board_performance))
        .routes(routes!(get_board_flow))
        .routes(routes!(get_ticket_colors))
        .routes(routes!(get_realtime_colors))
        .routes(routes!(get_column_statistics))
}

/// The one instant all durations of a response use.
fn now_ms() -> Ms {
    Utc::now().timestamp_millis()
}

fn validation(e: crate::domain::validation::FieldError) -> ApiError {
    ApiError::Validation(vec![e])
}

/// `days` of performance and flow: 1..365, default 30.
fn days(query: &QueryParams) -> ApiResult<i64> {
    Ok(query.int("days", 1, 365).map_err(validation)?.unwrap_or(30))
}

/// The board and its tickets, the tickets read concurrently with nothing else to wait for.
async fn board_and_tickets(state: &AppState, board_id: i64) -> ApiResult<(BoardFacts, Vec<TicketFacts>)> {
    let board = db::stats::board(&state.db, board_id).await?;
    let tickets = db::stats::board_tickets(&state.db, board_id).await?;
    Ok((board, tickets))
}

/// Time-in-column statistics of every column of a board, in board order.
#[utoipa::path(get, path = "/api/statistics/boards/{board_id}/statistics", tag = "statistics",
    security(("bearerAuth" = ["viewer"])),
    params(("board_id" = i64, Path), ("use_cache" = Option<String>, Query, description = "Accepted and ignored, whatever its value")),
    responses((status = 200, description = "Per-column statistics", body = BoardStatistics),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No role", body = ErrorBody),
        (status = 404, description = "Board not found", body = ErrorBody),
        (status = 422, description = "Board id is not an integer", body = ErrorBody)))]
async fn get_board_statistics(
    State(state): State<AppState>,
    caller: Caller,
    BoardId(id): BoardId,
) -> ApiResult<axum::Json<BoardStatistics>> {
    caller.require(Role::Viewer)?;
    let now = now_ms();
    let (board, tickets) = board_and_tickets(&state, id).await?;
    Ok(axum::Json(board_statistics(&board, &tickets, now)))
}

/// A ticket's time in column against its column: z-score, percentile rank, colour, outlier.
#[utoipa::path(get, path = "/api/statistics/tickets/{ticket_id}/statistics", tag = "statistics",
    security(("bearerAuth" = ["viewer"])), params(("ticket_id" = i64, Path)),
    responses((status = 200, description = "The ticket's statistics", body = TicketStatistics),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No role", body = ErrorBody),
        (status = 404, description = "Ticket not found", body = ErrorBody),
        (status = 422, description = "Ticket id is not an integer", body = ErrorBody)))]
async fn get_ticket_statistics(
    State(state): State<AppState>,
    caller: Caller,
    TicketId(id): TicketId,
) -> ApiResult<axum::Json<TicketStatistics>> {
    caller.require(Role::Viewer)?;
    let now = now_ms();
    let (ticket, board, column_transitions) = db::stats::ticket(&state.db, id).await?;
    let peers = db::stats::column_tickets(&state.db, board.id, &ticket.current_column).await?;
    let one_column = BoardFacts { columns: vec![ticket.current_column.clone()], ..board.clone() };
    let mut times = column_times(&one_column, &peers, now);
    let column = times.first_mut().ok_or_else(|| ApiError::internal("a one-column board has one column"))?;
    // The class depends on the column's place on the real board.
    column.class = crate::stats::classes::classify(&ticket.current_column, &board.columns);
    let input = TicketInput { ticket: &ticket, column, column_transitions, now };
    Ok(axum::Json(ticket_statistics(&input)))
}

/// Created, completed, completion rate, throughput, backlog, blocked and velocity over `days`.
#[utoipa::path(get, path = "/api/statistics/boards/{board_id}/performance", tag = "statistics",
    security(("bearerAuth" = ["viewer"])),
    params(("board_id" = i64, Path), ("days" = Option<i64>, Query, minimum = 1, maximum = 365, description = "1..365, default 30")),
    responses((status = 200, description = "Board performance", body = Performance),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No role", body = ErrorBody),
        (status = 404, description = "Board not found", body = ErrorBody),
        (status = 422, description = "days out of range or not an integer", body = ErrorBody)))]
async fn get_board_performance(
    State(state): State<AppState>,
    caller: Caller,
    BoardId(id): BoardId,
    query: QueryParams,
) -> ApiResult<axum::Json<Performance>> {
    caller.require(Role::Viewer)?;
    let days = days(&query)?;
    let now = now_ms();
    let (board, tickets, rows) = board_history(&state, id).await?;
    let (cols, tracked) = track(&board.columns, tickets, &rows);
    Ok(axum::Json(performance(&board, &cols, &tracked, days, now)))
}

/// Flow metrics over the last `days` UTC dates: lead and cycle time, throughput, WIP, cumulative
/// flow and aging work in progress.
#[utoipa::path(get, path = "/api/statistics/boards/{board_id}/flow", tag = "statistics",
    security(("bearerAuth" = ["viewer"])),
    params(("board_id" = i64, Path), ("days" = Option<i64>, Query, minimum = 1, maximum = 365, description = "1..365, default 30")),
    responses((status = 200, description = "Flow metrics", body = FlowMetrics),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No role", body = ErrorBody),
        (status = 404, description = "Board not found", body = ErrorBody),
        (status = 422, description = "days out of range or not an integer", body = ErrorBody)))]
async fn get_board_flow(
    State(state): State<AppState>,
    caller: Caller,
    BoardId(id): BoardId,
    query: QueryParams,
) -> ApiResult<axum::Json<FlowMetrics>> {
    caller.require(Role::Viewer)?;
    let days = days(&query)?;
    let now = now_ms();
    Ok(axum::Json(crate::service::statistics::flow(&state, id, days, now).await?))
}

/// Colour class of every ticket of a board (or of one column), by column position then id.
#[utoipa::path(get, path = "/api/statistics/boards/{board_id}/tickets/colors", tag = "statistics",
    security(("bearerAuth" = ["viewer"])),
    params(("board_id" = i64, Path), ("column" = Option<String>, Query, description = "Column name or snake id"),
        ("use_cache" = Option<String>, Query, description = "Accepted and ignored, whatever its value")),
    responses((status = 200, description = "Ticket colours", body = TicketColors),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No role", body = ErrorBody),
        (status = 404, description = "Board not found", body = ErrorBody),
        (status = 422, description = "Unknown column", body = ErrorBody)))]
async fn get_ticket_colors(
    State(state): State<AppState>,
    caller: Caller,
    BoardId(id): BoardId,
    query: QueryParams,
) -> ApiResult<axum::Json<TicketColors>> {
    caller.require(Role::Viewer)?;
    let reference = query.text("column", 1, 100).map_err(validation)?;
    let now = now_ms();
    let (board, tickets) = board_and_tickets(&state, id).await?;
    let filter = match &reference {
        None => None,
        Some(r) => Some(resolve(&board.columns, r).ok_or_else(|| {
            ApiError::field("query.column", "invalid_column", invalid_column_message(r, board.id, &board.columns))
        })?),
    };
    Ok(axum::Json(ticket_colors(&board, &tickets, filter, now)))
}

/// The repeated `ticket_ids` parameter: 1..50 integers.
fn ticket_ids(query: &QueryParams) -> ApiResult<Vec<i64>> {
    let raw: Vec<&str> = query.0.iter().filter(|(k, _)| k == "ticket_ids").map(|(_, v)| v.as_str()).collect();
    if raw.is_empty() {
        return Err(ApiError::field("query.ticket_ids", "missing", "Field required"));
    }
    if raw.len() > 50 {
        return Err(ApiError::BadRequest("Too many ticket IDs (max 50)".into()));
    }
    raw.iter()
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| ApiError::field("query.ticket_ids", "int_parsing", "Input should be a valid integer"))
        })
        .collect()
}

/// Colours of up to 50 tickets of a board, in request order (unknown or foreign ids skipped).
#[utoipa::path(get, path = "/api/statistics/boards/{board_id}/tickets/colors/realtime", tag = "statistics",
    security(("bearerAuth" = ["viewer"])),
    params(("board_id" = i64, Path), ("ticket_ids" = Vec<i64>, Query, min_items = 1, max_items = 50, description = "Repeated, 1..50 ids")),
    responses((status = 200, description = "Ticket colours", body = RealtimeColors),
        (status = 400, description = "More than 50 ids", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No role", body = ErrorBody),
        (status = 404, description = "Board not found", body = ErrorBody),
        (status = 422, description = "ticket_ids missing or not integers", body = ErrorBody)))]
async fn get_realtime_colors(
    State(state): State<AppState>,
    caller: Caller,
    BoardId(id): BoardId,
    query: QueryParams,
) -> ApiResult<axum::Json<RealtimeColors>> {
    caller.require(Role::Viewer)?;
    let ids = ticket_ids(&query)?;
    let now = now_ms();
    let (board, tickets) = board_and_tickets(&state, id).await?;
    Ok(axum::Json(realtime_colors(&board, &tickets, &ids, now)))
}

/// The `{column_name}` path segment (percent-decoded).
pub struct ColumnName(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ColumnName {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::internal("path parameters unavailable"))?;
        let name = params.iter().find(|(k, _)| *k == "column_name").map(|(_, v)| v.to_owned());
        name.map(ColumnName).ok_or_else(|| ApiError::internal("route has no {column_name} segment"))
    }
}

/// Statistics, colour distribution and thresholds of one column.
#[utoipa::path(get, path = "/api/statistics/boards/{board_id}/column/{column_name}/statistics", tag = "statistics",
    security(("bearerAuth" = ["viewer"])),
    params(("board_id" = i64, Path), ("column_name" = String, Path, description = "Column name or snake id"),
        ("use_cache" = Option<String>, Query, description = "Accepted and ignored, whatever its value")),
    responses((status = 200, description = "Column statistics", body = ColumnReport),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No role", body = ErrorBody),
        (status = 404, description = "Board not found or Column not found", body = ErrorBody),
        (status = 422, description = "Board id is not an integer", body = ErrorBody)))]
async fn get_column_statistics(
    State(state): State<AppState>,
    caller: Caller,
    BoardId(id): BoardId,
    ColumnName(reference): ColumnName,
) -> ApiResult<axum::Json<ColumnReport>> {
    caller.require(Role::Viewer)?;
    let now = now_ms();
    let board = db::stats::board(&state.db, id).await?;
    let column = resolve(&board.columns, &reference).ok_or_else(|| ApiError::NotFound("Column not found".into()))?;
    let tickets = db::stats::column_tickets(&state.db, id, column).await?;
    Ok(axum::Json(column_report(&board, column, &tickets, now)))
}
