//! Statistics reads shared by REST and MCP: a board's flow metrics.

use crate::db;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::stats::flow::{FlowInput, FlowMetrics, flow_metrics};
use crate::stats::timeline::{HistoryRow, track};
use crate::stats::{BoardFacts, Ms, TicketFacts};

/// The board, its tickets and its `column` history rows (tickets and history read concurrently).
pub async fn board_history(
    state: &AppState,
    board_id: i64,
) -> ApiResult<(BoardFacts, Vec<TicketFacts>, Vec<HistoryRow>)> {
    let board = db::stats::board(&state.db, board_id).await?;
    let (tickets, rows) = tokio::try_join!(
        db::stats::board_tickets(&state.db, board_id),
        db::stats::board_column_history(&state.db, board_id)
    )?;
    Ok((board, tickets, rows))
}

/// Flow metrics of a board over the last `days` UTC dates ending at `now` (the caller checks the role).
pub async fn flow(state: &AppState, board_id: i64, days: i64, now: Ms) -> ApiResult<FlowMetrics> {
    let (board, tickets, rows) = board_history(state, board_id).await?;
    let (cols, tracked) = track(&board.columns, tickets, &rows);
    Ok(flow_metrics(&FlowInput { board_id: board.id, cols: &cols, tickets: &tracked, days, now }))
}
