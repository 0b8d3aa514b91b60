//! `boards`: reads through the pool, writes inside writer commands.

use std::collections::HashMap;

use sqlx::{SqliteConnection, SqliteExecutor};

use crate::db::writer::WriteCtx;
use crate::db::{events, history};
use crate::domain::board::{Board, BoardUpdate, ColumnEdit, NewBoard};
use crate::domain::columns::{ColumnChange, PlanError, plan_column_change};
use crate::domain::event::NewEvent;
use crate::domain::history::Change;
use crate::domain::precondition::{self, IfMatch};
use crate::domain::ticket::Ticket;
use crate::domain::validation::Patch;
use crate::error::{ApiError, ApiResult};

#[derive(sqlx::FromRow)]
struct BoardRow {
    id: i64,
    name: String,
    description: Option<String>,
    columns: String,
    created_at: String,
    updated_at: String,
    ticket_count: i64,
    version: i64,
}

impl TryFrom<BoardRow> for Board {
    type Error = ApiError;
    fn try_from(r: BoardRow) -> ApiResult<Board> {
        let columns = decode_columns(r.id, &r.columns)?;
        Ok(Board {
            id: r.id,
            name: r.name,
            description: r.description,
            columns,
            created_at: r.created_at,
            updated_at: r.updated_at,
            ticket_count: r.ticket_count,
            version: r.version,
        })
    }
}

/// `ticket_count` is maintained by triggers (migration 0002), so reading a board never counts its
/// tickets.
const SELECT_BOARD: &str = "SELECT b.id, b.name, b.description, b.columns, b.created_at, b.updated_at, b.version, b.ticket_count FROM boards b";

/// Every board, ordered by id, with live ticket counts (one query, no per-board count).
pub async fn list<'e, E: SqliteExecutor<'e>>(executor: E) -> ApiResult<Vec<Board>> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT_BOARD} ORDER BY b.id"));
    let rows = sqlx::query_as::<_, BoardRow>(sql).fetch_all(executor).await?;
    rows.into_iter().map(Board::try_from).collect()
}

/// One board, or 404 "Board not found".
pub async fn get<'e, E: SqliteExecutor<'e>>(executor: E, id: i64) -> ApiResult<Board> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT_BOARD} WHERE b.id = ?"));
    let row = sqlx::query_as::<_, BoardRow>(sql).bind(id).fetch_optional(executor).await?;
    row.ok_or_else(|| ApiError::not_found("Board"))?.try_into()
}

/// The board with the lowest id, or 404 "No boards found".
pub async fn first<'e, E: SqliteExecutor<'e>>(executor: E) -> ApiResult<Board> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT_BOARD} ORDER BY b.id LIMIT 1"));
    let row = sqlx::query_as::<_, BoardRow>(sql).fetch_optional(executor).await?;
    row.ok_or_else(|| ApiError::NotFound("No boards found".into()))?.try_into()
}

/// A board's columns, or 404 "Board not found" (what ticket writes need of their board).
pub async fn columns(conn: &mut SqliteConnection, id: i64) -> ApiResult<Vec<String>> {
    let row: Option<String> =
        sqlx::query_scalar("SELECT columns FROM boards WHERE id = ?").bind(id).fetch_optional(&mut *conn).await?;
    decode_columns(id, &row.ok_or_else(|| ApiError::not_found("Board"))?)
}

/// Decode the stored JSON array of a board's columns.
pub fn decode_columns(id: i64, text: &str) -> ApiResult<Vec<String>> {
    serde_json::from_str(text).map_err(|e| ApiError::internal(format!("board {id} columns: {e}")))
}

/// Whether a board exists.
pub async fn exists<'e, E: SqliteExecutor<'e>>(executor: E, id: i64) -> ApiResult<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM boards WHERE id = ?").bind(id).fetch_optional(executor).await?;
    Ok(found.is_some())
}

fn columns_json(columns: &[String]) -> ApiResult<String> {
    serde_json::to_string(columns).map_err(ApiError::internal)
}

/// Create a board and log `board_created` (seq 1 of the new board).
pub async fn create(conn: &mut SqliteConnection, ctx: &mut WriteCtx, new: NewBoard) -> ApiResult<Board> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO boards (name, description, columns, version, event_seq, created_at, updated_at)
         VALUES (?, ?, ?, 1, 0, ?, ?) RETURNING id",
    )
    .bind(&new.name)
    .bind(&new.description)
    .bind(columns_json(&new.columns)?)
    .bind(&ctx.now)
    .bind(&ctx.now)
    .fetch_one(&mut *conn)
    .await?;
    let board = get(&mut *conn, id).await?;
    events::append(conn, ctx, NewEvent::board_created(&board)).await?;
    Ok(board)
}

/// Who changes a board and under which precondition.
pub struct BoardWrite<'a> {
    pub board_id: i64,
    pub if_match: Option<&'a IfMatch>,
    pub actor: &'a str,
}

/// Result of a column change.
pub struct ColumnsOutcome {
    pub board: Board,
    pub renamed_tickets: usize,
    pub moved_tickets: usize,
}

/// `PUT /api/boards/{id}`.
pub async fn update(
    conn: &mut SqliteConnection,
    ctx: &mut WriteCtx,
    w: BoardWrite<'_>,
    upd: BoardUpdate,
) -> ApiResult<Board> {
    let board = get(&mut *conn, w.board_id).await?;
    precondition::check(w.if_match, board.version)?;
    let name = match upd.name {
        Patch::Set(n) => n,
        Patch::Absent => board.name.clone(),
    };
    let description = match upd.description {
        Patch::Set(d) => d,
        Patch::Absent => board.description.clone(),
    };
    let (columns, migrated) = match &upd.columns {
        Some(edit) => (edit.columns.clone(), migrate_columns(conn, ctx, &board, edit, w.actor).await?),
        None => (board.columns.clone(), Vec::new()),
    };
    let changed = name != board.name || description != board.description || columns != board.columns;
    if !changed && migrated.is_empty() {
        return Ok(board);
    }
    if changed {
        store(conn, ctx, board.id, &name, &description, &columns).await?;
    }
    let updated = get(&mut *conn, board.id).await?;
    if changed {
        events::append(conn, ctx, NewEvent::board_updated(&updated)).await?;
    }
    log_migration(conn, ctx, &updated, &migrated, w.actor).await?;
    Ok(updated)
}

/// `PUT /api/boards/{id}/columns`.
pub async fn update_columns(
    conn: &mut SqliteConnection,
    ctx: &mut WriteCtx,
    w: BoardWrite<'_>,
    edit: ColumnEdit,
) -> ApiResult<ColumnsOutcome> {
    let board = get(&mut *conn, w.board_id).await?;
    precondition::check(w.if_match, board.version)?;
    let plan_counts = migrate_columns(conn, ctx, &board, &edit, w.actor).await?;
    let changed = edit.columns != board.columns;
    if changed {
        store(conn, ctx, board.id, &board.name, &board.description, &edit.columns).await?;
        events::append(conn, ctx, NewEvent::columns_updated(board.id, &edit.columns)).await?;
    }
    let updated = get(&mut *conn, board.id).await?;
    log_migration(conn, ctx, &updated, &plan_counts, w.actor).await?;
    let renamed_tickets = plan_counts.iter().filter(|m| !m.moved).count();
    let moved_tickets = plan_counts.iter().filter(|m| m.moved).count();
    Ok(ColumnsOutcome { board: updated, renamed_tickets, moved_tickets })
}

async fn store(
    conn: &mut SqliteConnection,
    ctx: &WriteCtx,
    id: i64,
    name: &str,
    description: &Option<String>,
    columns: &[String],
) -> ApiResult<()> {
    sqlx::query(
        "UPDATE boards SET name = ?, description = ?, columns = ?, version = version + 1, updated_at = ? WHERE id = ?",
    )
    .bind(name)
    .bind(description)
    .bind(columns_json(columns)?)
    .bind(&ctx.now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A ticket whose column a column change rewrote.
struct Migrated {
    ticket: Ticket,
    moved: bool,
}

/// Apply the ticket side of a column change (renames and moves); returns the changed tickets.
async fn migrate_columns(
    conn: &mut SqliteConnection,
    ctx: &WriteCtx,
    board: &Board,
    edit: &ColumnEdit,
    actor: &str,
) -> ApiResult<Vec<Migrated>> {
    let counts = column_counts(conn, board.id).await?;
    let change = ColumnChange {
        old: &board.columns,
        new: &edit.columns,
        renames: &edit.renames,
        move_tickets_to: edit.move_tickets_to.as_deref(),
        counts: &counts,
    };
    let plan = plan_column_change(&change).map_err(|e| match e {
        PlanError::Invalid(fe) => ApiError::Validation(vec![fe]),
        PlanError::NotEmpty(message) => ApiError::Conflict { code: "COLUMN_NOT_EMPTY", message },
    })?;
    // Every target is decided from the columns as they were: park each source column's tickets
    // under a unique temporary name first, so a swap (A→B, B→A) or a chain cannot cascade.
    let mappings: Vec<(&String, &String, bool)> =
        plan.renames.iter().map(|(o, n)| (o, n, false)).chain(plan.moves.iter().map(|(o, n)| (o, n, true))).collect();
    let parked = |i: usize| format!("\u{1}migrating {i}");
    for (i, (old, _, _)) in mappings.iter().enumerate() {
        sqlx::query("UPDATE tickets SET current_column = ? WHERE board_id = ? AND current_column = ?")
            .bind(parked(i))
            .bind(board.id)
            .bind(old)
            .execute(&mut *conn)
            .await?;
    }
    history::rename_columns(conn, board.id, &plan.renames).await?;
    let mut changed = Vec::new();
    for (i, (old, new, moved)) in mappings.into_iter().enumerate() {
        let tickets = sqlx::query_as::<_, Ticket>(
            "UPDATE tickets SET current_column = ?1, version = version + 1, updated_at = ?2,
                    column_entered_at = CASE WHEN ?3 THEN ?2 ELSE column_entered_at END
             WHERE board_id = ?4 AND current_column = ?5 RETURNING *",
        )
        .bind(new)
        .bind(&ctx.now)
        .bind(moved)
        .bind(board.id)
        .bind(parked(i))
        .fetch_all(&mut *conn)
        .await?;
        if moved {
            let change = Change { field: "column", old: Some(old.clone()), new: Some(new.clone()) };
            let rows: Vec<(i64, &Change)> = tickets.iter().map(|t| (t.id, &change)).collect();
            history::record_many(conn, &rows, actor, &ctx.now).await?;
        }
        changed.extend(tickets.into_iter().map(|ticket| Migrated { ticket, moved }));
    }
    Ok(changed)
}

async fn log_migration(
    conn: &mut SqliteConnection,
    ctx: &mut WriteCtx,
    board: &Board,
    migrated: &[Migrated],
    actor: &str,
) -> ApiResult<()> {
    if migrated.is_empty() {
        return Ok(());
    }
    let mut tickets: Vec<Ticket> = migrated.iter().map(|m| m.ticket.clone()).collect();
    tickets.sort_by_key(|t| t.id);
    let event = NewEvent::column_migration(board.id, actor, &ctx.now, &tickets);
    events::append(conn, ctx, event).await
}

async fn column_counts(conn: &mut SqliteConnection, board_id: i64) -> ApiResult<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT current_column, count(*) FROM tickets WHERE board_id = ? GROUP BY current_column")
            .bind(board_id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows.into_iter().collect())
}

/// Delete a board (its tickets, comments and history cascade); `board_deleted` is logged first.
pub async fn delete(conn: &mut SqliteConnection, ctx: &mut WriteCtx, w: BoardWrite<'_>) -> ApiResult<()> {
    let board = get(&mut *conn, w.board_id).await?;
    precondition::check(w.if_match, board.version)?;
    events::append(conn, ctx, NewEvent::board_deleted(board.id)).await?;
    sqlx::query("DELETE FROM boards WHERE id = ?").bind(board.id).execute(&mut *conn).await?;
    Ok(())
}
