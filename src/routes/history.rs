//! History (`/api/history`): a ticket's change log, its column transitions and board activity.
//! History stats (`/api/history/stats`) live in `history_stats.rs`.

use axum::extract::State;
use chrono::Utc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::db;
use crate::domain::history::{HistoryEntry, human_duration, time_ago};
use crate::domain::role::Role;
use crate::domain::time::{format_ts, millis_since, parse_rfc3339};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{BoardId, QueryParams, TicketId};
use crate::routes::schemas::{Activity, BoardActivity, Transition, Transitions};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ticket_history))
        .routes(routes!(ticket_transitions))
        .routes(routes!(board_activity))
}

fn validation(e: crate::domain::validation::FieldError) -> ApiError {
    ApiError::Validation(vec![e])
}

/// A ticket's history, newest first.
#[utoipa::path(get, path = "/api/history/tickets/{ticket_id}/history", tag = "history", security(("bearerAuth" = ["viewer"])),
    params(("ticket_id" = i64, Path), ("limit" = Option<i64>, Query, minimum = 1, maximum = 100), ("field_name" = Option<String>, Query)),
    responses((status = 200, body = Vec<HistoryEntry>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn ticket_history(
    State(state): State<AppState>,
    caller: Caller,
    TicketId(id): TicketId,
    query: QueryParams,
) -> ApiResult<axum::Json<Vec<HistoryEntry>>> {
    caller.require(Role::Viewer)?;
    let limit = query.int("limit", 1, 100).map_err(validation)?.unwrap_or(50);
    let field = query.get("field_name");
    db::tickets::get(&state.db, id).await?;
    Ok(axum::Json(db::history::for_ticket(&state.db, id, field, limit).await?))
}

fn seconds_between(earlier: &str, later: &str) -> f64 {
    match (parse_rfc3339(earlier), parse_rfc3339(later)) {
        (Some(a), Some(b)) => ((b - a).num_milliseconds().max(0) as f64) / 1000.0,
        _ => 0.0,
    }
}

/// A ticket's column transitions, oldest first, with the time spent before each.
#[utoipa::path(get, path = "/api/history/tickets/{ticket_id}/transitions", tag = "history", security(("bearerAuth" = ["viewer"])),
    params(("ticket_id" = i64, Path)),
    responses((status = 200, body = Transitions), (status = 404, body = ErrorBody)))]
async fn ticket_transitions(
    State(state): State<AppState>,
    caller: Caller,
    TicketId(id): TicketId,
) -> ApiResult<axum::Json<Transitions>> {
    caller.require(Role::Viewer)?;
    let ticket = db::tickets::get(&state.db, id).await?;
    let rows = db::history::column_rows(&state.db, id).await?;
    let mut previous = ticket.created_at.clone();
    let transitions: Vec<Transition> = rows
        .into_iter()
        .map(|row| {
            let duration = seconds_between(&previous, &row.changed_at);
            previous = row.changed_at.clone();
            Transition {
                from_column: row.old_value,
                to_column: row.new_value,
                changed_at: row.changed_at,
                changed_by: row.changed_by,
                duration_seconds: duration,
                duration_human: human_duration(duration),
            }
        })
        .collect();
    let current = millis_since(&ticket.column_entered_at, Utc::now()) as f64 / 1000.0;
    Ok(axum::Json(Transitions {
        ticket_id: ticket.id,
        current_column: ticket.current_column,
        current_duration_seconds: current,
        current_duration_human: human_duration(current),
        total_transitions: transitions.len(),
        transitions,
    }))
}

/// Recent history of a board's tickets, newest first.
#[utoipa::path(get, path = "/api/history/boards/{board_id}/activity", tag = "history", security(("bearerAuth" = ["viewer"])),
    params(("board_id" = i64, Path), ("hours" = Option<i64>, Query, minimum = 1, maximum = 168),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 500)),
    responses((status = 200, body = BoardActivity), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn board_activity(
    State(state): State<AppState>,
    caller: Caller,
    BoardId(id): BoardId,
    query: QueryParams,
) -> ApiResult<axum::Json<BoardActivity>> {
    caller.require(Role::Viewer)?;
    let hours = query.int("hours", 1, 168).map_err(validation)?.unwrap_or(24);
    let limit = query.int("limit", 1, 500).map_err(validation)?.unwrap_or(100);
    db::boards::get(&state.db, id).await?;
    let now = Utc::now();
    let since = format_ts(now - chrono::Duration::hours(hours));
    let rows = db::history::board_activity(&state.db, id, &since, limit).await?;
    let activities: Vec<Activity> = rows
        .into_iter()
        .map(|r| Activity {
            time_ago: time_ago(millis_since(&r.entry.changed_at, now) / 1000),
            id: r.entry.id,
            ticket_id: r.entry.ticket_id,
            ticket_title: r.ticket_title,
            field_name: r.entry.field_name,
            old_value: r.entry.old_value,
            new_value: r.entry.new_value,
            changed_by: r.entry.changed_by,
            changed_at: r.entry.changed_at,
        })
        .collect();
    Ok(axum::Json(BoardActivity {
        board_id: id,
        timeframe_hours: hours,
        total_activities: activities.len(),
        activities,
    }))
}
