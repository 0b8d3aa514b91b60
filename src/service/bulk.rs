//! Bulk operations shared by REST (`/api/bulk`) and the MCP `bulk_move` tool: one writer command
//! per request, per-item results in request order, and the drag-drop record of a bulk move.

use std::time::Instant;

use serde::Serialize;
use tokio::sync::oneshot;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::db;
use crate::domain::bulk::{BulkKind, BulkPlan, BulkRequest, ItemResult};
use crate::error::ApiResult;
use crate::service::write::{Keyed, Reply, run_write};
use crate::state::AppState;
use crate::stats::dragdrop::{Operation, Record};
use crate::stats::parse_ms;

/// One item of a bulk move, in request order.
#[derive(Serialize, ToSchema)]
pub struct MoveResult {
    pub ticket_id: i64,
    pub success: bool,
    /// Whether the ticket was actually moved (false for a ticket already in the column).
    pub changed: bool,
    pub error: Option<String>,
    pub old_column: Option<String>,
    pub new_column: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BulkMoveResponse {
    pub total_requested: usize,
    pub successful_moves: usize,
    pub failed_moves: usize,
    pub results: Vec<MoveResult>,
    /// Handler wall time in milliseconds.
    pub execution_time_ms: f64,
}

#[derive(Serialize, ToSchema)]
pub struct PriorityResult {
    pub ticket_id: i64,
    pub success: bool,
    pub changed: bool,
    pub error: Option<String>,
    pub old_priority: Option<String>,
    pub new_priority: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AssignResult {
    pub ticket_id: i64,
    pub success: bool,
    pub changed: bool,
    pub error: Option<String>,
    pub old_assignee: Option<String>,
    pub new_assignee: Option<String>,
}

/// The envelope of bulk priority and assign.
#[derive(Serialize, ToSchema)]
pub struct BulkOperationResponse<R> {
    pub total_requested: usize,
    pub successful_operations: usize,
    pub failed_operations: usize,
    pub results: Vec<R>,
    pub execution_time_ms: f64,
    /// `priority_update` or `assignment`.
    pub operation_type: &'static str,
}

fn elapsed_ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

fn counts(results: &[ItemResult]) -> (usize, usize) {
    let ok = results.iter().filter(|r| r.success).count();
    (ok, results.len() - ok)
}

/// The reply body of a planned batch.
fn bulk_reply(kind: BulkKind, plan: BulkPlan, execution_time_ms: f64) -> ApiResult<Reply> {
    let total_requested = plan.results.len();
    let (ok, failed) = counts(&plan.results);
    let rows = plan.results.into_iter();
    match kind {
        BulkKind::Move => Reply::ok(BulkMoveResponse {
            total_requested,
            successful_moves: ok,
            failed_moves: failed,
            results: rows
                .map(|r| MoveResult {
                    ticket_id: r.ticket_id,
                    success: r.success,
                    changed: r.changed,
                    error: r.error,
                    old_column: r.old,
                    new_column: r.new,
                })
                .collect(),
            execution_time_ms,
        }),
        BulkKind::Priority => Reply::ok(BulkOperationResponse {
            total_requested,
            successful_operations: ok,
            failed_operations: failed,
            results: rows
                .map(|r| PriorityResult {
                    ticket_id: r.ticket_id,
                    success: r.success,
                    changed: r.changed,
                    error: r.error,
                    old_priority: r.old,
                    new_priority: r.new,
                })
                .collect(),
            execution_time_ms,
            operation_type: "priority_update",
        }),
        BulkKind::Assign => Reply::ok(BulkOperationResponse {
            total_requested,
            successful_operations: ok,
            failed_operations: failed,
            results: rows
                .map(|r| AssignResult {
                    ticket_id: r.ticket_id,
                    success: r.success,
                    changed: r.changed,
                    error: r.error,
                    old_assignee: r.old,
                    new_assignee: r.new,
                })
                .collect(),
            execution_time_ms,
            operation_type: "assignment",
        }),
    }
}

/// Per board involved in a bulk move: whether none of its items failed.
fn board_outcomes(results: &[ItemResult]) -> Vec<(i64, bool)> {
    let mut boards: Vec<(i64, bool)> = Vec::new();
    for r in results {
        let Some(board_id) = r.board_id else { continue };
        match boards.iter_mut().find(|(b, _)| *b == board_id) {
            Some((_, ok)) => *ok &= r.success,
            None => boards.push((board_id, r.success)),
        }
    }
    boards
}

/// A bulk request through the writer (one command), with idempotency; a bulk move that ran
/// (not a replay) is recorded in the drag-drop metrics once per board involved. Also the body of
/// the MCP `bulk_move` tool.
pub async fn run_bulk(state: &AppState, caller: &Caller, keyed: Option<Keyed>, req: BulkRequest) -> ApiResult<Reply> {
    let started = Instant::now();
    let changed_by = caller.changed_by(None);
    let (ran_tx, ran_rx) = oneshot::channel::<(Vec<(i64, bool)>, f64, String)>();
    let reply = run_write(state, keyed, move |conn, ctx| {
        Box::pin(async move {
            let plan = db::bulk::run(conn, ctx, &req, &changed_by).await?;
            let outcomes = if req.kind == BulkKind::Move { board_outcomes(&plan.results) } else { Vec::new() };
            let ms = elapsed_ms(started);
            let _ = ran_tx.send((outcomes, ms, ctx.now.clone()));
            bulk_reply(req.kind, plan, ms)
        })
    })
    .await?;
    if let (false, Ok((outcomes, ms, now))) = (reply.replayed, ran_rx.await) {
        for (board_id, success) in outcomes {
            let at = parse_ms(&now);
            state.dragdrop.record(Record { board_id, op: Operation::BulkMove, success, duration_ms: ms, at });
        }
    }
    Ok(reply)
}
