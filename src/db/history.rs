//! `ticket_history`: writing change rows and the history read routes.

use sqlx::{SqliteConnection, SqlitePool};

use crate::domain::history::{Change, HistoryEntry};
use crate::error::ApiResult;

/// Write one row per change, all stamped `now` and attributed to `changed_by` (one statement).
pub async fn record(
    conn: &mut SqliteConnection,
    ticket_id: i64,
    changes: &[Change],
    changed_by: &str,
    now: &str,
) -> ApiResult<()> {
    let rows: Vec<(i64, &Change)> = changes.iter().map(|c| (ticket_id, c)).collect();
    record_many(conn, &rows, changed_by, now).await
}

/// Write one row per `(ticket_id, change)` in one statement, whatever their number: the rows
/// travel as one JSON array `[[ticket_id, field, old, new], …]` expanded by `json_each`, in order.
pub async fn record_many(
    conn: &mut SqliteConnection,
    rows: &[(i64, &Change)],
    changed_by: &str,
    now: &str,
) -> ApiResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO ticket_history (ticket_id, field_name, old_value, new_value, changed_by, changed_at)
         SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, ?1, ?2 FROM json_each(?3) j
         ORDER BY j.key",
    )
    .bind(changed_by)
    .bind(now)
    .bind(rows_json(rows))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn rows_json(rows: &[(i64, &Change)]) -> String {
    let array: Vec<(i64, &str, &Option<String>, &Option<String>)> =
        rows.iter().map(|(id, c)| (*id, c.field, &c.old, &c.new)).collect();
    // Serialising integers, strings and nulls cannot fail.
    serde_json::to_string(&array).unwrap_or_else(|_| "[]".to_owned())
}

/// After column renames (`(old, new)` pairs), rewrite the board's `column` history values so
/// timelines stay continuous. Values are parked under temporary names first so that swaps and
/// chains of renames do not cascade.
pub async fn rename_columns(conn: &mut SqliteConnection, board_id: i64, renames: &[(String, String)]) -> ApiResult<()> {
    let parked = |i: usize| format!("\u{1}renaming {i}");
    let steps = renames.iter().enumerate().map(|(i, (old, _))| (old.clone(), parked(i)));
    let finals = renames.iter().enumerate().map(|(i, (_, new))| (parked(i), new.clone()));
    for (from, to) in steps.collect::<Vec<_>>().into_iter().chain(finals) {
        for sql in [
            "UPDATE ticket_history SET old_value = ?1 WHERE field_name = 'column' AND old_value = ?2
               AND ticket_id IN (SELECT id FROM tickets WHERE board_id = ?3)",
            "UPDATE ticket_history SET new_value = ?1 WHERE field_name = 'column' AND new_value = ?2
               AND ticket_id IN (SELECT id FROM tickets WHERE board_id = ?3)",
        ] {
            sqlx::query(sql).bind(&to).bind(&from).bind(board_id).execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// A ticket's history, newest first.
pub async fn for_ticket(
    pool: &SqlitePool,
    ticket_id: i64,
    field_name: Option<&str>,
    limit: i64,
) -> ApiResult<Vec<HistoryEntry>> {
    let rows = sqlx::query_as::<_, HistoryEntry>(
        "SELECT id, ticket_id, field_name, old_value, new_value, changed_by, changed_at FROM ticket_history
         WHERE ticket_id = ?1 AND (?2 IS NULL OR field_name = ?2)
         ORDER BY changed_at DESC, id DESC LIMIT ?3",
    )
    .bind(ticket_id)
    .bind(field_name)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// A ticket's `column` rows, oldest first.
pub async fn column_rows(pool: &SqlitePool, ticket_id: i64) -> ApiResult<Vec<HistoryEntry>> {
    let rows = sqlx::query_as::<_, HistoryEntry>(
        "SELECT id, ticket_id, field_name, old_value, new_value, changed_by, changed_at FROM ticket_history
         WHERE ticket_id = ? AND field_name = 'column' ORDER BY changed_at, id",
    )
    .bind(ticket_id)
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// A history row of a board's ticket, with the ticket's title.
#[derive(Debug, sqlx::FromRow)]
pub struct ActivityRow {
    #[sqlx(flatten)]
    pub entry: HistoryEntry,
    pub ticket_title: String,
}

/// History rows of a board's tickets since `since`, newest first.
pub async fn board_activity(pool: &SqlitePool, board_id: i64, since: &str, limit: i64) -> ApiResult<Vec<ActivityRow>> {
    let rows = sqlx::query_as::<_, ActivityRow>(
        "SELECT h.id, h.ticket_id, h.field_name, h.old_value, h.new_value, h.changed_by, h.changed_at,
                t.title AS ticket_title
         FROM ticket_history h JOIN tickets t ON t.id = h.ticket_id
         WHERE t.board_id = ? AND h.changed_at >= ?
         ORDER BY h.changed_at DESC, h.id DESC LIMIT ?",
    )
    .bind(board_id)
    .bind(since)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows)
}
