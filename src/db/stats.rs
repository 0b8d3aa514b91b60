//! Reads of the statistics and history-analytics routes. Each reads a board's rows in one query
//! over an indexed column (`tickets.board_id`, `ticket_history.ticket_id` / `changed_at`), never
//! one query per ticket; the computing happens in `stats/`.

use sqlx::SqlitePool;

use crate::db::boards;
use crate::error::{ApiError, ApiResult};
use crate::stats::history::GroupCount;
use crate::stats::timeline::HistoryRow;
use crate::stats::{BoardFacts, TicketFacts, parse_ms};

#[derive(sqlx::FromRow)]
struct TicketRow {
    id: i64,
    title: String,
    current_column: String,
    created_at: String,
    column_entered_at: String,
    updated_at: String,
}

impl From<TicketRow> for TicketFacts {
    fn from(r: TicketRow) -> Self {
        TicketFacts {
            id: r.id,
            title: r.title,
            current_column: r.current_column,
            created_at: parse_ms(&r.created_at),
            column_entered_at: parse_ms(&r.column_entered_at),
            updated_at: r.updated_at,
        }
    }
}

/// The board (404 "Board not found") as the statistics need it.
pub async fn board(pool: &SqlitePool, board_id: i64) -> ApiResult<BoardFacts> {
    let b = boards::get(pool, board_id).await?;
    Ok(BoardFacts { id: b.id, name: b.name, columns: b.columns })
}

/// The columns a board's tickets are read with, as one JSON array per ticket.
type TicketTuple = (i64, String, String, String, String, String);

fn ticket_facts((id, title, current_column, created_at, column_entered_at, updated_at): TicketTuple) -> TicketFacts {
    TicketFacts {
        id,
        title,
        current_column,
        created_at: parse_ms(&created_at),
        column_entered_at: parse_ms(&column_entered_at),
        updated_at,
    }
}

/// Every ticket of a board. The rows come back as one JSON array in a single result row: decoding
/// thousands of rows one by one through the driver costs several times more than the query, and
/// parsing one array costs almost nothing.
pub async fn board_tickets(pool: &SqlitePool, board_id: i64) -> ApiResult<Vec<TicketFacts>> {
    let json: String = sqlx::query_scalar(
        "SELECT json_group_array(json_array(id, title, current_column, created_at, column_entered_at, updated_at))
         FROM tickets WHERE board_id = ?",
    )
    .bind(board_id)
    .fetch_one(pool)
    .await?;
    let rows: Vec<TicketTuple> = serde_json::from_str(&json).map_err(ApiError::internal)?;
    Ok(rows.into_iter().map(ticket_facts).collect())
}

/// The tickets of one column (board spelling) of a board, read like [`board_tickets`].
pub async fn column_tickets(pool: &SqlitePool, board_id: i64, column: &str) -> ApiResult<Vec<TicketFacts>> {
    let json: String = sqlx::query_scalar(
        "SELECT json_group_array(json_array(id, title, current_column, created_at, column_entered_at, updated_at))
         FROM tickets WHERE board_id = ? AND current_column = ?",
    )
    .bind(board_id)
    .bind(column)
    .fetch_one(pool)
    .await?;
    let rows: Vec<TicketTuple> = serde_json::from_str(&json).map_err(ApiError::internal)?;
    Ok(rows.into_iter().map(ticket_facts).collect())
}

/// A `column` history row as read: ticket id, old value, new value, `changed_at`, row id.
type HistoryTuple = (i64, Option<String>, Option<String>, String, i64);

/// Every `column` history row of the board's tickets, per ticket in (`changed_at`, `id`) order;
/// read as one JSON array like [`board_tickets`], and ordered here rather than by the query.
pub async fn board_column_history(pool: &SqlitePool, board_id: i64) -> ApiResult<Vec<HistoryRow>> {
    let json: String = sqlx::query_scalar(
        "SELECT json_group_array(json_array(h.ticket_id, h.old_value, h.new_value, h.changed_at, h.id))
         FROM tickets t JOIN ticket_history h ON h.ticket_id = t.id
         WHERE t.board_id = ? AND h.field_name = 'column'",
    )
    .bind(board_id)
    .fetch_one(pool)
    .await?;
    let rows: Vec<HistoryTuple> = serde_json::from_str(&json).map_err(ApiError::internal)?;
    let mut rows: Vec<(HistoryRow, i64)> = rows
        .into_iter()
        .map(|(ticket_id, old, new, at, id)| (HistoryRow { ticket_id, old, new, at: parse_ms(&at) }, id))
        .collect();
    rows.sort_unstable_by_key(|(r, id)| (r.ticket_id, r.at, *id));
    Ok(rows.into_iter().map(|(r, _)| r).collect())
}

#[derive(sqlx::FromRow)]
struct TicketOnBoardRow {
    #[sqlx(flatten)]
    ticket: TicketRow,
    board_id: i64,
    board_name: String,
    board_columns: String,
    transitions: i64,
}

/// A ticket (404 "Ticket not found"), its board and its number of `column` history rows.
pub async fn ticket(pool: &SqlitePool, ticket_id: i64) -> ApiResult<(TicketFacts, BoardFacts, i64)> {
    let row = sqlx::query_as::<_, TicketOnBoardRow>(
        "SELECT t.id, t.title, t.current_column, t.created_at, t.column_entered_at, t.updated_at,
                b.id AS board_id, b.name AS board_name, b.columns AS board_columns,
                (SELECT count(*) FROM ticket_history h WHERE h.ticket_id = t.id AND h.field_name = 'column')
                  AS transitions
         FROM tickets t JOIN boards b ON b.id = t.board_id WHERE t.id = ?",
    )
    .bind(ticket_id)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::not_found("Ticket"))?;
    let columns = boards::decode_columns(row.board_id, &row.board_columns)?;
    let board = BoardFacts { id: row.board_id, name: row.board_name, columns };
    Ok((TicketFacts::from(row.ticket), board, row.transitions))
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    field_name: String,
    changed_by: String,
    day: String,
    n: i64,
}

/// History rows since `since` (all boards), counted per field, user and UTC date (one query).
pub async fn history_groups(pool: &SqlitePool, since: &str) -> ApiResult<Vec<GroupCount>> {
    let rows = sqlx::query_as::<_, GroupRow>(
        "SELECT field_name, changed_by, substr(changed_at, 1, 10) AS day, count(*) AS n
         FROM ticket_history WHERE changed_at >= ? GROUP BY field_name, changed_by, day",
    )
    .bind(since)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| GroupCount { field: r.field_name, user: r.changed_by, date: r.day, count: r.n })
        .collect())
}

/// The board of a ticket, if the ticket exists.
pub async fn ticket_board(pool: &SqlitePool, ticket_id: i64) -> ApiResult<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT board_id FROM tickets WHERE id = ?").bind(ticket_id).fetch_optional(pool).await?)
}
