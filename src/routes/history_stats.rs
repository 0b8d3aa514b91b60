//! `GET /api/history/stats` (`statistics.md` §10): changes across all boards over the last days,
//! by field, by user and per UTC date, from one grouped query.

use axum::extract::State;
use chrono::Utc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::db;
use crate::domain::role::Role;
use crate::domain::time::format_ts;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::QueryParams;
use crate::state::AppState;
use crate::stats::history::{HistoryStats, history_stats};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_history_stats))
}

/// History rows of every board over the last `days`, counted by field, by user and per date.
#[utoipa::path(get, path = "/api/history/stats", tag = "history", security(("bearerAuth" = ["viewer"])),
    params(("days" = Option<i64>, Query, minimum = 1, maximum = 30, description = "1..30, default 7")),
    responses((status = 200, description = "History statistics of all boards", body = HistoryStats),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No role", body = ErrorBody),
        (status = 422, description = "days out of range or not an integer", body = ErrorBody)))]
async fn get_history_stats(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryParams,
) -> ApiResult<axum::Json<HistoryStats>> {
    caller.require(Role::Viewer)?;
    let days = query.int("days", 1, 30).map_err(|e| ApiError::Validation(vec![e]))?.unwrap_or(7);
    let since = format_ts(Utc::now() - chrono::Duration::days(days));
    let groups = db::stats::history_groups(&state.db, &since).await?;
    Ok(axum::Json(history_stats(days, &groups)))
}
