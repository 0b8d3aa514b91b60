//! The per-board event log (`board_events`). Sequence numbers come from `boards.event_seq`, bumped
//! inside the writing transaction, so they never repeat even after retention empties the log.

use sqlx::SqliteConnection;

use crate::db::writer::WriteCtx;
use crate::domain::event::{BoardEvent, NewEvent};
use crate::error::{ApiError, ApiResult};

/// Append `event` to its board's log with the next sequence number and queue it for publication
/// after the commit. The board row must still exist.
pub async fn append(conn: &mut SqliteConnection, ctx: &mut WriteCtx, event: NewEvent) -> ApiResult<()> {
    let seq: Option<i64> =
        sqlx::query_scalar("UPDATE boards SET event_seq = event_seq + 1 WHERE id = ? RETURNING event_seq")
            .bind(event.board_id)
            .fetch_optional(&mut *conn)
            .await?;
    let seq = seq.ok_or_else(|| ApiError::internal(format!("event for missing board {}", event.board_id)))?;
    let data = serde_json::to_string(&event.data).map_err(ApiError::internal)?;
    sqlx::query("INSERT INTO board_events (board_id, seq, event, data, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind(event.board_id)
        .bind(seq)
        .bind(event.event)
        .bind(&data)
        .bind(&ctx.now)
        .execute(&mut *conn)
        .await?;
    ctx.events.push(BoardEvent {
        event: event.event.to_owned(),
        data: event.data,
        board_id: event.board_id,
        timestamp: ctx.now.clone(),
        seq,
    });
    Ok(())
}
