//! Bulk writes (`api.md` §9), run as one writer command: read every named ticket with its board's
//! columns (one query), plan in memory, then write all changed rows (one statement), their history
//! rows (one statement) and one `bulk_update` per changed board.

use std::collections::HashMap;

use sqlx::SqliteConnection;

use crate::db::writer::WriteCtx;
use crate::db::{boards, events, history};
use crate::domain::bulk::{BulkKind, BulkPlan, BulkRequest, Stored, bulk_events, plan};
use crate::domain::history::Change;
use crate::domain::ticket::Ticket;
use crate::error::{ApiError, ApiResult};

#[derive(sqlx::FromRow)]
struct StoredRow {
    #[sqlx(flatten)]
    ticket: Ticket,
    board_columns: String,
}

fn ids_json(ids: &[i64]) -> ApiResult<String> {
    serde_json::to_string(ids).map_err(ApiError::internal)
}

/// The named tickets that exist, with their boards' columns, by id.
async fn load(conn: &mut SqliteConnection, ids: &[i64]) -> ApiResult<HashMap<i64, Stored>> {
    let rows = sqlx::query_as::<_, StoredRow>(
        "SELECT t.*, b.columns AS board_columns FROM tickets t JOIN boards b ON b.id = t.board_id
         WHERE t.id IN (SELECT value FROM json_each(?))",
    )
    .bind(ids_json(ids)?)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            let columns = boards::decode_columns(r.ticket.board_id, &r.board_columns)?;
            Ok((r.ticket.id, Stored { ticket: r.ticket, columns }))
        })
        .collect()
}

/// The one UPDATE of a kind; rows travel as `[[id, value], …]` and every changed row gets
/// `version + 1` and `updated_at` (moves also reset `column_entered_at`).
fn update_sql(kind: BulkKind) -> &'static str {
    match kind {
        BulkKind::Move => {
            "UPDATE tickets SET current_column = u.value ->> 1, column_entered_at = ?2, updated_at = ?2,
                    version = version + 1
             FROM json_each(?1) u WHERE tickets.id = u.value ->> 0"
        }
        BulkKind::Priority => {
            "UPDATE tickets SET priority = u.value ->> 1, updated_at = ?2, version = version + 1
             FROM json_each(?1) u WHERE tickets.id = u.value ->> 0"
        }
        BulkKind::Assign => {
            "UPDATE tickets SET assignee = u.value ->> 1, updated_at = ?2, version = version + 1
             FROM json_each(?1) u WHERE tickets.id = u.value ->> 0"
        }
    }
}

async fn apply(conn: &mut SqliteConnection, kind: BulkKind, changed: &[(Ticket, Change)], now: &str) -> ApiResult<()> {
    let rows: Vec<(i64, &Option<String>)> = changed.iter().map(|(t, c)| (t.id, &c.new)).collect();
    let rows = serde_json::to_string(&rows).map_err(ApiError::internal)?;
    sqlx::query(update_sql(kind)).bind(rows).bind(now).execute(&mut *conn).await?;
    Ok(())
}

/// Run a bulk request inside the current writer command. Per-item failures are results, not
/// errors; only a database failure fails (and so rolls back) the whole command.
pub async fn run(
    conn: &mut SqliteConnection,
    ctx: &mut WriteCtx,
    req: &BulkRequest,
    changed_by: &str,
) -> ApiResult<BulkPlan> {
    let found = load(conn, &req.ticket_ids()).await?;
    let planned = plan(req, &found, &ctx.now);
    if planned.changed.is_empty() {
        return Ok(planned);
    }
    apply(conn, req.kind, &planned.changed, &ctx.now).await?;
    let rows: Vec<(i64, &Change)> = planned.changed.iter().map(|(t, c)| (t.id, c)).collect();
    history::record_many(conn, &rows, changed_by, &ctx.now).await?;
    let now = ctx.now.clone();
    for event in bulk_events(req.kind, &planned.changed, changed_by, &now) {
        events::append(conn, ctx, event).await?;
    }
    Ok(planned)
}
