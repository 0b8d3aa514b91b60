//! Ticket writes, each inside a writer command: the row, its history rows and its event.

use sqlx::SqliteConnection;

use super::get;
use crate::db::writer::WriteCtx;
use crate::db::{boards, events, history};
use crate::domain::columns::{invalid_column_message, resolve};
use crate::domain::event::NewEvent;
use crate::domain::history::Change;
use crate::domain::precondition::{self, IfMatch};
use crate::domain::ticket::{NewTicket, Ticket, TicketUpdate};
use crate::domain::validation::Patch;
use crate::error::{ApiError, ApiResult};

/// A ticket with its board's stored columns, read in one query (what edits validate against).
#[derive(sqlx::FromRow)]
struct TicketOnBoard {
    #[sqlx(flatten)]
    ticket: Ticket,
    board_columns: String,
}

/// The ticket (404 "Ticket not found") and its board's columns.
async fn get_with_columns(conn: &mut SqliteConnection, id: i64) -> ApiResult<(Ticket, Vec<String>)> {
    let row = sqlx::query_as::<_, TicketOnBoard>(
        "SELECT t.*, b.columns AS board_columns FROM tickets t JOIN boards b ON b.id = t.board_id WHERE t.id = ?",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| ApiError::not_found("Ticket"))?;
    let columns = boards::decode_columns(row.ticket.board_id, &row.board_columns)?;
    Ok((row.ticket, columns))
}

/// The ticket a multi-statement write returned (its first statement's `RETURNING *`). Such
/// queries are read with `fetch_all`, which runs every statement; `fetch_one` would stop after
/// the first row.
fn returned(rows: Vec<Ticket>) -> ApiResult<Ticket> {
    rows.into_iter().next().ok_or_else(|| ApiError::not_found("Ticket"))
}

/// Create a ticket: history `status` NULL → "created", event `ticket_created`.
pub async fn create(
    conn: &mut SqliteConnection,
    ctx: &mut WriteCtx,
    new: NewTicket,
    changed_by: &str,
) -> ApiResult<Ticket> {
    // Without a column the ticket goes to the board's first one, which the insert reads itself
    // (no separate board read); a named column is resolved against the board here.
    let column = match &new.current_column {
        None => None,
        Some(reference) => {
            let columns = boards::columns(conn, new.board_id).await?;
            let found = resolve(&columns, reference).ok_or_else(|| {
                ApiError::field(
                    "body.current_column",
                    "invalid_column",
                    invalid_column_message(reference, new.board_id, &columns),
                )
            })?;
            Some(found.to_owned())
        }
    };
    // The row and its `status` history row in one round trip; no row when the board is missing.
    let rows = sqlx::query_as::<_, Ticket>(
        "INSERT INTO tickets (board_id, title, description, acceptance_criteria, priority, assignee, current_column,
                              version, created_at, updated_at, column_entered_at)
         SELECT id, ?2, ?3, ?4, ?5, ?6, coalesce(?7, columns ->> 0), 1, ?8, ?8, ?8 FROM boards WHERE id = ?1
         RETURNING *;
         INSERT INTO ticket_history (ticket_id, field_name, old_value, new_value, changed_by, changed_at)
         SELECT last_insert_rowid(), 'status', NULL, 'created', ?9, ?8 WHERE changes() = 1",
    )
    .bind(new.board_id)
    .bind(&new.title)
    .bind(&new.description)
    .bind(&new.acceptance_criteria)
    .bind(&new.priority)
    .bind(&new.assignee)
    .bind(&column)
    .bind(&ctx.now)
    .bind(changed_by)
    .fetch_all(&mut *conn)
    .await?;
    let ticket = rows.into_iter().next().ok_or_else(|| ApiError::not_found("Board"))?;
    events::append(conn, ctx, NewEvent::ticket_created(&ticket)).await?;
    Ok(ticket)
}

/// Which ticket a write targets, under which precondition, and who is named in history.
pub struct TicketWrite<'a> {
    pub ticket_id: i64,
    pub if_match: Option<&'a IfMatch>,
    pub changed_by: &'a str,
}

fn diff(field: &'static str, old: &Option<String>, new: &Option<String>, out: &mut Vec<Change>) {
    if old != new {
        out.push(Change { field, old: old.clone(), new: new.clone() });
    }
}

fn patched<T: Clone>(patch: &Patch<T>, current: &T) -> T {
    match patch {
        Patch::Set(v) => v.clone(),
        Patch::Absent => current.clone(),
    }
}

/// `PUT /api/tickets/{id}`: one history row per changed field, `ticket_updated` when any changed.
pub async fn update(
    conn: &mut SqliteConnection,
    ctx: &mut WriteCtx,
    w: TicketWrite<'_>,
    upd: TicketUpdate,
) -> ApiResult<Ticket> {
    let (t, columns) = get_with_columns(conn, w.ticket_id).await?;
    precondition::check(w.if_match, t.version)?;
    if upd.board_id.is_some_and(|b| b != t.board_id) {
        return Err(ApiError::field("body.board_id", "invalid_value", "tickets cannot change board"));
    }
    if let Some(reference) = &upd.current_column
        && resolve(&columns, reference) != Some(t.current_column.as_str())
    {
        let msg = format!("use POST /api/tickets/{}/move to change the column", t.id);
        return Err(ApiError::field("body.current_column", "invalid_value", msg));
    }
    let title = patched(&upd.title, &t.title);
    let description = patched(&upd.description, &t.description);
    let acceptance = patched(&upd.acceptance_criteria, &t.acceptance_criteria);
    let priority = patched(&upd.priority, &t.priority);
    let assignee = patched(&upd.assignee, &t.assignee);
    let mut changes = Vec::new();
    diff("title", &Some(t.title.clone()), &Some(title.clone()), &mut changes);
    diff("description", &t.description, &description, &mut changes);
    diff("acceptance_criteria", &t.acceptance_criteria, &acceptance, &mut changes);
    diff("priority", &Some(t.priority.clone()), &Some(priority.clone()), &mut changes);
    diff("assignee", &t.assignee, &assignee, &mut changes);
    if changes.is_empty() {
        return Ok(t);
    }
    let updated = sqlx::query_as::<_, Ticket>(
        "UPDATE tickets SET title = ?, description = ?, acceptance_criteria = ?, priority = ?, assignee = ?,
                version = version + 1, updated_at = ? WHERE id = ? RETURNING *",
    )
    .bind(&title)
    .bind(&description)
    .bind(&acceptance)
    .bind(&priority)
    .bind(&assignee)
    .bind(&ctx.now)
    .bind(t.id)
    .fetch_one(&mut *conn)
    .await?;
    history::record(conn, t.id, &changes, w.changed_by, &ctx.now).await?;
    let fields: Vec<&str> = changes.iter().map(|c| c.field).collect();
    events::append(conn, ctx, NewEvent::ticket_updated(&updated, &fields)).await?;
    Ok(updated)
}

/// Move a ticket; the same column is a no-op (no history, no event, no version bump).
pub async fn move_to(
    conn: &mut SqliteConnection,
    ctx: &mut WriteCtx,
    w: TicketWrite<'_>,
    column: &str,
) -> ApiResult<Ticket> {
    let (t, columns) = get_with_columns(conn, w.ticket_id).await?;
    precondition::check(w.if_match, t.version)?;
    let target = resolve(&columns, column).map(str::to_owned).ok_or_else(|| {
        ApiError::field("body.column", "invalid_column", invalid_column_message(column, t.board_id, &columns))
    })?;
    if target == t.current_column {
        return Ok(t);
    }
    let moved = t.moved_to(&target, &ctx.now);
    let pending = events::PendingEvent::new(NewEvent::ticket_moved(&moved, &t.current_column, w.changed_by))?;
    // The row, its canonical `column` history row and the event in one round trip. The row is
    // not read back: `Ticket::moved_to` is the same change, and the returned version proves it.
    let returned: Vec<i64> = sqlx::query_scalar(concat!(
        "UPDATE tickets SET current_column = ?1, column_entered_at = ?2, updated_at = ?2, version = version + 1
         WHERE id = ?3 RETURNING version;
         INSERT INTO ticket_history (ticket_id, field_name, old_value, new_value, changed_by, changed_at)
         VALUES (?3, 'column', ?4, ?1, ?5, ?2);",
        events::insert_event_sql!("?6", "?7", "?8", "?2")
    ))
    .bind(&target)
    .bind(&ctx.now)
    .bind(t.id)
    .bind(&t.current_column)
    .bind(w.changed_by)
    .bind(pending.board_id())
    .bind(pending.name())
    .bind(&pending.data)
    .fetch_all(&mut *conn)
    .await?;
    match returned[..] {
        [version, seq] if version == moved.version => pending.appended(ctx, Some(seq))?,
        _ => return Err(ApiError::internal(format!("move of ticket {} returned {returned:?}", t.id))),
    }
    Ok(moved)
}

async fn set_assignee(
    conn: &mut SqliteConnection,
    ctx: &WriteCtx,
    t: &Ticket,
    assignee: Option<&str>,
    by: &str,
) -> ApiResult<Ticket> {
    // The row and its `assignee` history row in one round trip.
    let rows = sqlx::query_as::<_, Ticket>(
        "UPDATE tickets SET assignee = ?1, version = version + 1, updated_at = ?2 WHERE id = ?3 RETURNING *;
         INSERT INTO ticket_history (ticket_id, field_name, old_value, new_value, changed_by, changed_at)
         VALUES (?3, 'assignee', ?4, ?1, ?5, ?2)",
    )
    .bind(assignee)
    .bind(&ctx.now)
    .bind(t.id)
    .bind(&t.assignee)
    .bind(by)
    .fetch_all(&mut *conn)
    .await?;
    returned(rows)
}

/// Claim for `claimant`: idempotent for the same claimant, 409 when someone else holds it.
pub async fn claim(
    conn: &mut SqliteConnection,
    ctx: &mut WriteCtx,
    w: TicketWrite<'_>,
    claimant: &str,
) -> ApiResult<Ticket> {
    let t = get(&mut *conn, w.ticket_id).await?;
    match t.assignee.as_deref() {
        Some(current) if current == claimant => Ok(t),
        Some(current) => Err(ApiError::Conflict {
            code: "ALREADY_CLAIMED",
            message: format!("Ticket already assigned to {current}"),
        }),
        None => {
            let updated = set_assignee(conn, ctx, &t, Some(claimant), w.changed_by).await?;
            events::append(conn, ctx, NewEvent::ticket_claimed(&updated)).await?;
            Ok(updated)
        }
    }
}

/// Who asks for a release.
pub struct Releaser<'a> {
    /// The releasing name (authenticated username, else the given `agent_id`).
    pub name: Option<&'a str>,
    /// pm and above may release any claim.
    pub may_release_any: bool,
}

/// Release a claim: assignee → NULL, event `ticket_updated`; unassigned is a no-op.
pub async fn release(
    conn: &mut SqliteConnection,
    ctx: &mut WriteCtx,
    w: TicketWrite<'_>,
    by: Releaser<'_>,
) -> ApiResult<Ticket> {
    let t = get(&mut *conn, w.ticket_id).await?;
    let Some(current) = t.assignee.clone() else { return Ok(t) };
    if !by.may_release_any && by.name != Some(current.as_str()) {
        return Err(ApiError::Forbidden("Only the claimant or a pm can release this ticket".into()));
    }
    let updated = set_assignee(conn, ctx, &t, None, w.changed_by).await?;
    events::append(conn, ctx, NewEvent::ticket_updated(&updated, &["assignee"])).await?;
    Ok(updated)
}

/// Delete a ticket (comments and history cascade) and log `ticket_deleted`.
pub async fn delete(conn: &mut SqliteConnection, ctx: &mut WriteCtx, w: TicketWrite<'_>) -> ApiResult<()> {
    let t = get(&mut *conn, w.ticket_id).await?;
    precondition::check(w.if_match, t.version)?;
    sqlx::query("DELETE FROM tickets WHERE id = ?").bind(t.id).execute(&mut *conn).await?;
    events::append(conn, ctx, NewEvent::ticket_deleted(t.id, t.board_id)).await
}
