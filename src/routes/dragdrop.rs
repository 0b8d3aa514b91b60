//! Drag-and-drop metrics and the statistics service routes (`api.md` §8, `statistics.md` §11):
//! per-board and aggregate metrics, the admin clears, statistics health; and the middleware that
//! records every single move (`POST /api/tickets/{id}/move`) of an existing ticket.

use std::collections::BTreeMap;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Caller, OpsAccess};
use crate::db;
use crate::domain::role::Role;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::BoardId;
use crate::routes::schemas::Message;
use crate::state::AppState;
use crate::stats::dragdrop::{
    AggregateMetrics, MetricsView, Operation, PerformanceAnalysis, Record, aggregate, analysis,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(board_metrics))
        .routes(routes!(all_metrics))
        .routes(routes!(clear_metrics))
        .routes(routes!(clear_cache))
        .routes(routes!(statistics_health))
}

/// The ticket id of a single-move path (`/api/tickets/{id}/move`, trailing slash already trimmed).
fn move_path_ticket(path: &str) -> Option<i64> {
    let id = path.strip_prefix("/api/tickets/")?.strip_suffix("/move")?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

/// Set on a successful move's response by the move handler: the ticket's board, so the middleware
/// needs no database read on the hot path.
#[derive(Debug, Clone, Copy)]
pub struct MovedOnBoard(pub i64);

/// Middleware on the tickets router: a single move of an existing ticket is recorded as
/// `move_ticket`, successful on 200 (same-column moves included), failed on 409/412/422;
/// other answers (401/403/404/429/5xx) are not drag-drop operations.
pub async fn track_moves(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ticket_id = (req.method() == Method::POST).then(|| move_path_ticket(req.uri().path())).flatten();
    let started = Instant::now();
    let resp = next.run(req).await;
    let Some(ticket_id) = ticket_id else { return resp };
    let status = resp.status();
    let success = status == StatusCode::OK;
    let failed = matches!(status.as_u16(), 409 | 412 | 422);
    if success || failed {
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        // The ticket's board, from the handler when the move ran, else read; a ticket gone in
        // between is simply not recorded.
        let board = match resp.extensions().get::<MovedOnBoard>() {
            Some(moved) => Some(moved.0),
            None => db::stats::ticket_board(&state.db, ticket_id).await.ok().flatten(),
        };
        if let Some(board_id) = board {
            let at = Utc::now().timestamp_millis();
            state.dragdrop.record(Record { board_id, op: Operation::MoveTicket, success, duration_ms, at });
        }
    }
    resp
}

/// `metrics` of a board: the counters, or a message when nothing was recorded.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum BoardMetricsBody {
    Recorded(MetricsView),
    Empty { total_operations: u64, message: &'static str },
}

#[derive(Serialize, ToSchema)]
pub struct BoardDragDropMetrics {
    pub board_id: i64,
    pub board_name: String,
    pub metrics: BoardMetricsBody,
    /// Absent when nothing was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performance_analysis: Option<PerformanceAnalysis>,
}

/// Drag-and-drop metrics of one board since start or the last clear.
#[utoipa::path(get, path = "/api/statistics/boards/{board_id}/drag-drop/metrics", tag = "statistics",
    security(("bearerAuth" = ["viewer"])), params(("board_id" = i64, Path)),
    responses((status = 200, description = "The board's drag-and-drop metrics", body = BoardDragDropMetrics),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No role", body = ErrorBody),
        (status = 404, description = "Board not found", body = ErrorBody),
        (status = 422, description = "Board id is not an integer", body = ErrorBody)))]
async fn board_metrics(
    State(state): State<AppState>,
    caller: Caller,
    BoardId(id): BoardId,
) -> ApiResult<axum::Json<BoardDragDropMetrics>> {
    caller.require(Role::Viewer)?;
    let board = db::stats::board(&state.db, id).await?;
    let now = Utc::now().timestamp_millis();
    let (metrics, performance_analysis) = match state.dragdrop.board(id) {
        Some(m) => (BoardMetricsBody::Recorded(MetricsView::from(&m)), Some(analysis(&m, now))),
        None => {
            (BoardMetricsBody::Empty { total_operations: 0, message: "No drag-and-drop operations recorded yet" }, None)
        }
    };
    Ok(axum::Json(BoardDragDropMetrics { board_id: board.id, board_name: board.name, metrics, performance_analysis }))
}

#[derive(Serialize, ToSchema)]
pub struct AllDragDropMetrics {
    pub total_boards_with_activity: usize,
    pub aggregate_metrics: AggregateMetrics,
    /// Board id (as a string) → that board's `metrics` object.
    pub board_metrics: BTreeMap<String, MetricsView>,
}

/// Drag-and-drop metrics of every board with activity, and their weighted aggregate.
#[utoipa::path(get, path = "/api/statistics/drag-drop/metrics/all", tag = "statistics",
    security(("bearerAuth" = ["viewer"])),
    responses((status = 200, description = "Every board's metrics and the aggregate", body = AllDragDropMetrics),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No role", body = ErrorBody)))]
async fn all_metrics(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<AllDragDropMetrics>> {
    caller.require(Role::Viewer)?;
    let all = state.dragdrop.all();
    Ok(axum::Json(AllDragDropMetrics {
        total_boards_with_activity: all.len(),
        aggregate_metrics: aggregate(all.values()),
        board_metrics: all.iter().map(|(id, m)| (id.to_string(), MetricsView::from(m))).collect(),
    }))
}

/// Forget every board's drag-and-drop metrics (admin).
#[utoipa::path(post, path = "/api/statistics/drag-drop/metrics/clear", tag = "statistics",
    security(("bearerAuth" = ["admin"])),
    responses((status = 200, description = "Metrics cleared", body = Message),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below admin", body = ErrorBody)))]
async fn clear_metrics(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Message>> {
    caller.require(Role::Admin)?;
    state.dragdrop.clear();
    Ok(axum::Json(Message { message: "All drag-and-drop metrics cleared successfully".into() }))
}

/// Kept for compatibility (admin): there is no statistics cache, so nothing is cleared.
#[utoipa::path(post, path = "/api/statistics/statistics/cache/clear", tag = "statistics",
    security(("bearerAuth" = ["admin"])),
    responses((status = 200, description = "Nothing to clear; always succeeds", body = Message),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below admin", body = ErrorBody)))]
async fn clear_cache(caller: Caller) -> ApiResult<axum::Json<Message>> {
    caller.require(Role::Admin)?;
    Ok(axum::Json(Message { message: "Statistics cache cleared successfully".into() }))
}

#[derive(Serialize, ToSchema)]
pub struct StatisticsService {
    pub cache_size: usize,
    pub cache_keys: Vec<String>,
    pub cache_duration_seconds: u64,
}

#[derive(Serialize, ToSchema)]
pub struct RedisCache {
    pub status: &'static str,
    pub redis_connected: bool,
}

#[derive(Serialize, ToSchema)]
pub struct DragDropHealth {
    pub boards_with_metrics: usize,
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct StatisticsHealth {
    pub status: &'static str,
    pub statistics_service: StatisticsService,
    pub redis_cache: RedisCache,
    pub drag_drop_metrics: DragDropHealth,
}

/// Health of the statistics service. Ops role: public when `ops.token` is empty.
#[utoipa::path(get, path = "/api/statistics/statistics/health", tag = "statistics",
    security(("bearerAuth" = ["admin"]), ("opsToken" = [])),
    responses((status = 200, description = "Statistics health", body = StatisticsHealth), (status = 401, body = ErrorBody)))]
async fn statistics_health(State(state): State<AppState>, _ops: OpsAccess) -> axum::Json<StatisticsHealth> {
    axum::Json(StatisticsHealth {
        status: "healthy",
        statistics_service: StatisticsService { cache_size: 0, cache_keys: Vec::new(), cache_duration_seconds: 0 },
        redis_cache: RedisCache { status: "disabled", redis_connected: false },
        drag_drop_metrics: DragDropHealth {
            boards_with_metrics: state.dragdrop.boards_with_metrics(),
            status: "operational",
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_move_paths_carry_a_ticket_id() {
        assert_eq!(move_path_ticket("/api/tickets/42/move"), Some(42));
        assert_eq!(move_path_ticket("/api/tickets/x/move"), None);
        assert_eq!(move_path_ticket("/api/tickets/42/claim"), None);
        assert_eq!(move_path_ticket("/api/tickets//move"), None);
    }
}
