//! `tickets`: list/get through the pool (here), every change inside writer commands with its
//! history rows and its event (`write.rs`).

mod write;

use sqlx::{Row, SqliteExecutor, SqlitePool};

use crate::domain::ticket::Ticket;
use crate::error::{ApiError, ApiResult};

pub use write::{Releaser, TicketWrite, claim, create, delete, move_to, release, update};

/// One ticket, or 404 "Ticket not found".
pub async fn get<'e, E: SqliteExecutor<'e>>(executor: E, id: i64) -> ApiResult<Ticket> {
    let row =
        sqlx::query_as::<_, Ticket>("SELECT * FROM tickets WHERE id = ?").bind(id).fetch_optional(executor).await?;
    row.ok_or_else(|| ApiError::not_found("Ticket"))
}

/// A board's tickets as the JSON array of the board ticket list, rendered by SQLite in one query:
/// every `Ticket` field in declaration order plus `time_in_column` (ms from `column_entered_at` to
/// `now_ms`, never negative), ordered by their column's position on the board, then id.
///
/// The order comes from the join itself, with nothing to sort: `CROSS JOIN` fixes the loop order
/// (the board's columns in array order, outside), and each column's tickets come from the
/// `(board_id, current_column)` index, whose equal keys are in rowid (id) order. Every ticket's
/// column is on its board (data-model invariant 1), so the inner join drops none.
///
/// SQLite escapes strings exactly as serde_json does (`\"`, `\\`, the short forms `\b \f \n \r \t`,
/// other control characters as lowercase `\u00xx`, everything else verbatim), so the bytes equal
/// the serde rendering of `BoardTicket`; a test pins bytes and order at 5 000 tickets. `wrap`
/// receives the array (borrowed from the row, so the megabytes are copied once more at most) and
/// its length.
pub async fn board_list_json<T>(
    pool: &SqlitePool,
    board_id: i64,
    now_ms: i64,
    wrap: impl FnOnce(&str, i64) -> T,
) -> ApiResult<T> {
    let row = sqlx::query(
        "SELECT json_group_array(json_object(
                    'id', t.id, 'board_id', t.board_id, 'title', t.title, 'description', t.description,
                    'acceptance_criteria', t.acceptance_criteria, 'priority', t.priority, 'assignee', t.assignee,
                    'current_column', t.current_column, 'created_at', t.created_at, 'updated_at', t.updated_at,
                    'column_entered_at', t.column_entered_at, 'version', t.version,
                    'time_in_column',
                    coalesce(max(0, ?2 - CAST(round(unixepoch(t.column_entered_at, 'subsec') * 1000) AS INTEGER)), 0))),
                count(t.id)
         FROM boards b, json_each(b.columns) j
         CROSS JOIN tickets t ON t.board_id = b.id AND t.current_column = j.value
         WHERE b.id = ?1",
    )
    .bind(board_id)
    .bind(now_ms)
    .fetch_one(pool)
    .await?;
    Ok(wrap(row.try_get::<&str, _>(0)?, row.try_get(1)?))
}

/// Filters of `GET /api/tickets/`, already validated (the column resolved when a board is given).
#[derive(Debug, Default, Clone)]
pub struct TicketFilter {
    pub board_id: Option<i64>,
    /// Exact column (board spelling) when `board_id` is given.
    pub column_exact: Option<String>,
    /// Case-insensitive column equality when no board is given.
    pub column_nocase: Option<String>,
    pub assignee: Option<String>,
    pub priority: Option<String>,
    pub q: Option<String>,
    pub created_after: Option<String>,
    pub created_before: Option<String>,
    pub updated_after: Option<String>,
    pub updated_before: Option<String>,
}

/// Sortable columns; the SQL text comes from this fixed list only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Id,
    CreatedAt,
    UpdatedAt,
    ColumnEnteredAt,
    Priority,
    Title,
}

impl SortKey {
    pub fn parse(s: &str) -> Option<(SortKey, bool)> {
        let (name, desc) = match s.strip_prefix('-') {
            Some(rest) => (rest, true),
            None => (s, false),
        };
        let key = match name {
            "id" => SortKey::Id,
            "created_at" => SortKey::CreatedAt,
            "updated_at" => SortKey::UpdatedAt,
            "column_entered_at" => SortKey::ColumnEnteredAt,
            "priority" => SortKey::Priority,
            "title" => SortKey::Title,
            _ => return None,
        };
        Some((key, desc))
    }

    fn column(self) -> &'static str {
        match self {
            SortKey::Id => "id",
            SortKey::CreatedAt => "created_at",
            SortKey::UpdatedAt => "updated_at",
            SortKey::ColumnEnteredAt => "column_entered_at",
            SortKey::Priority => "priority",
            SortKey::Title => "title",
        }
    }
}

const FILTER: &str = "WHERE (?1 IS NULL OR board_id = ?1)
   AND (?2 IS NULL OR current_column = ?2)
   AND (?3 IS NULL OR lower(current_column) = lower(?3))
   AND (?4 IS NULL OR assignee = ?4)
   AND (?5 IS NULL OR priority = ?5)
   AND (?6 IS NULL OR instr(lower(title), lower(?6)) > 0 OR instr(lower(coalesce(description, '')), lower(?6)) > 0)
   AND (?7 IS NULL OR created_at >= ?7)
   AND (?8 IS NULL OR created_at < ?8)
   AND (?9 IS NULL OR updated_at >= ?9)
   AND (?10 IS NULL OR updated_at < ?10)";

fn bind_filter<'q, O>(
    q: sqlx::query::QueryAs<'q, sqlx::Sqlite, O, sqlx::sqlite::SqliteArguments>,
    f: &'q TicketFilter,
) -> sqlx::query::QueryAs<'q, sqlx::Sqlite, O, sqlx::sqlite::SqliteArguments> {
    q.bind(f.board_id)
        .bind(&f.column_exact)
        .bind(&f.column_nocase)
        .bind(&f.assignee)
        .bind(&f.priority)
        .bind(&f.q)
        .bind(&f.created_after)
        .bind(&f.created_before)
        .bind(&f.updated_after)
        .bind(&f.updated_before)
}

/// One page of matching tickets and the total count.
pub async fn list(
    pool: &SqlitePool,
    filter: &TicketFilter,
    sort: (SortKey, bool),
    page: i64,
    page_size: i64,
) -> ApiResult<(Vec<Ticket>, i64)> {
    list_range(pool, filter, sort, (page - 1).saturating_mul(page_size), page_size).await
}

/// Up to `limit` matching tickets from row `offset`, and the total count.
pub async fn list_range(
    pool: &SqlitePool,
    filter: &TicketFilter,
    sort: (SortKey, bool),
    offset: i64,
    limit: i64,
) -> ApiResult<(Vec<Ticket>, i64)> {
    let count_sql = sqlx::AssertSqlSafe(format!("SELECT count(*) FROM tickets {FILTER}"));
    let (total,): (i64,) = bind_filter(sqlx::query_as(count_sql), filter).fetch_one(pool).await?;
    let direction = if sort.1 { "DESC" } else { "ASC" };
    // The ORDER BY column comes from the fixed SortKey list, never from input text.
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT * FROM tickets {FILTER} ORDER BY {} {direction}, id ASC LIMIT ?11 OFFSET ?12",
        sort.0.column()
    ));
    let rows = bind_filter(sqlx::query_as::<_, Ticket>(sql), filter).bind(limit).bind(offset).fetch_all(pool).await?;
    Ok((rows, total))
}
