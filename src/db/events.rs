//! The per-board event log (`board_events`). Sequence numbers come from `boards.event_seq`, bumped
//! inside the writing transaction, so they never repeat even after retention empties the log.

use sqlx::SqliteConnection;

use crate::db::writer::WriteCtx;
use crate::domain::event::{BoardEvent, NewEvent};
use crate::error::{ApiError, ApiResult};

/// The statement that appends one event, for embedding in a multi-statement write: the SQL
/// parameter numbers of the board id, the event name, its data (JSON text) and its timestamp.
/// The seq is read from the board row, and the `board_events_seq` trigger (migration 0002) stores
/// it back into `boards.event_seq`, so appending is one statement. It returns the seq, or no row
/// when the board does not exist.
macro_rules! insert_event_sql {
    ($board:literal, $name:literal, $data:literal, $at:literal) => {
        concat!(
            "INSERT INTO board_events (board_id, seq, event, data, created_at) SELECT id, event_seq + 1, ",
            $name,
            ", ",
            $data,
            ", ",
            $at,
            " FROM boards WHERE id = ",
            $board,
            " RETURNING seq"
        )
    };
}
pub(crate) use insert_event_sql;

/// An event serialised for its insert, waiting for its seq.
pub struct PendingEvent {
    event: NewEvent,
    /// `event.data` as JSON text, the value bound to the insert.
    pub data: String,
}

impl PendingEvent {
    pub fn new(event: NewEvent) -> ApiResult<Self> {
        let data = serde_json::to_string(&event.data).map_err(ApiError::internal)?;
        Ok(PendingEvent { event, data })
    }

    pub fn board_id(&self) -> i64 {
        self.event.board_id
    }

    pub fn name(&self) -> &'static str {
        self.event.event
    }

    /// The insert returned `seq` (or nothing, when the board is gone): queue the event for
    /// publication after the commit.
    pub fn appended(self, ctx: &mut WriteCtx, seq: Option<i64>) -> ApiResult<()> {
        let board_id = self.event.board_id;
        let seq = seq.ok_or_else(|| ApiError::internal(format!("event for missing board {board_id}")))?;
        ctx.events.push(BoardEvent {
            event: self.event.event.to_owned(),
            data: self.event.data,
            board_id,
            timestamp: ctx.now.clone(),
            seq,
        });
        Ok(())
    }
}

/// Append `event` to its board's log with the next sequence number and queue it for publication
/// after the commit. The board row must still exist.
pub async fn append(conn: &mut SqliteConnection, ctx: &mut WriteCtx, event: NewEvent) -> ApiResult<()> {
    let pending = PendingEvent::new(event)?;
    let seq: Option<i64> = sqlx::query_scalar(insert_event_sql!("?1", "?2", "?3", "?4"))
        .bind(pending.board_id())
        .bind(pending.name())
        .bind(&pending.data)
        .bind(&ctx.now)
        .fetch_optional(&mut *conn)
        .await?;
    pending.appended(ctx, seq)
}

/// The board's last used sequence number, or `None` when the board does not exist.
pub async fn board_seq(pool: &sqlx::SqlitePool, board_id: i64) -> ApiResult<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT event_seq FROM boards WHERE id = ?").bind(board_id).fetch_optional(pool).await?)
}

#[derive(sqlx::FromRow)]
struct EventRow {
    board_id: i64,
    seq: i64,
    event: String,
    data: String,
    created_at: String,
}

/// The first `limit` logged events of a board after `after` and up to `until` that the log still
/// holds, in order. Replay reads a long backlog in such pages, never all of it at once.
pub async fn page(
    pool: &sqlx::SqlitePool,
    board_id: i64,
    after: i64,
    until: i64,
    limit: i64,
) -> ApiResult<Vec<BoardEvent>> {
    let rows = sqlx::query_as::<_, EventRow>(
        "SELECT board_id, seq, event, data, created_at FROM board_events
         WHERE board_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
    )
    .bind(board_id)
    .bind(after)
    .bind(until)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let data = serde_json::from_str(&r.data).map_err(ApiError::internal)?;
            Ok(BoardEvent { event: r.event, data, board_id: r.board_id, timestamp: r.created_at, seq: r.seq })
        })
        .collect()
}

/// Retention: delete events created before `older_than` and, per board, all but the newest
/// `keep_per_board`. Returns the number of rows removed.
pub async fn purge(conn: &mut SqliteConnection, older_than: &str, keep_per_board: i64) -> ApiResult<u64> {
    let by_age =
        sqlx::query("DELETE FROM board_events WHERE created_at < ?").bind(older_than).execute(&mut *conn).await?;
    let by_count = sqlx::query(
        "DELETE FROM board_events WHERE id IN (
           SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY board_id ORDER BY seq DESC) AS rn FROM board_events)
           WHERE rn > ?)",
    )
    .bind(keep_per_board)
    .execute(&mut *conn)
    .await?;
    Ok(by_age.rows_affected() + by_count.rows_affected())
}
