//! `comments`: listing through the pool, changes inside writer commands. Comments never touch
//! ticket history or the ticket's version.

use sqlx::{SqliteConnection, SqliteExecutor, SqlitePool};

use crate::db::writer::WriteCtx;
use crate::db::{events, tickets};
use crate::domain::comment::Comment;
use crate::domain::event::NewEvent;
use crate::error::{ApiError, ApiResult};

/// A ticket's comments, oldest first (404 when the ticket does not exist).
pub async fn for_ticket(pool: &SqlitePool, ticket_id: i64) -> ApiResult<Vec<Comment>> {
    tickets::get(pool, ticket_id).await?;
    let rows = sqlx::query_as::<_, Comment>("SELECT * FROM comments WHERE ticket_id = ? ORDER BY created_at, id")
        .bind(ticket_id)
        .fetch_all(pool)
        .await?;
    Ok(rows)
}

pub async fn get<'e, E: SqliteExecutor<'e>>(executor: E, id: i64) -> ApiResult<Comment> {
    let row =
        sqlx::query_as::<_, Comment>("SELECT * FROM comments WHERE id = ?").bind(id).fetch_optional(executor).await?;
    row.ok_or_else(|| ApiError::not_found("Comment"))
}

/// Add a comment and log `comment_added`.
pub async fn create(
    conn: &mut SqliteConnection,
    ctx: &mut WriteCtx,
    ticket_id: i64,
    text: &str,
    author: &str,
) -> ApiResult<Comment> {
    let ticket = tickets::get(&mut *conn, ticket_id).await?;
    let comment = sqlx::query_as::<_, Comment>(
        "INSERT INTO comments (ticket_id, text, author, created_at) VALUES (?, ?, ?, ?) RETURNING *",
    )
    .bind(ticket_id)
    .bind(text)
    .bind(author)
    .bind(&ctx.now)
    .fetch_one(&mut *conn)
    .await?;
    events::append(conn, ctx, NewEvent::comment_added(&comment, ticket.board_id)).await?;
    Ok(comment)
}

/// Who edits or deletes a comment: the actor name, and whether any comment may be touched.
pub struct CommentActor<'a> {
    pub name: &'a str,
    pub may_edit_any: bool,
}

async fn owned(conn: &mut SqliteConnection, id: i64, actor: &CommentActor<'_>) -> ApiResult<(Comment, i64)> {
    let comment = get(&mut *conn, id).await?;
    if !actor.may_edit_any && comment.author != actor.name {
        return Err(ApiError::Forbidden("Only the author or a pm can change this comment".into()));
    }
    let ticket = tickets::get(&mut *conn, comment.ticket_id).await?;
    Ok((comment, ticket.board_id))
}

/// Change a comment's text; the same text is a no-op.
pub async fn update(
    conn: &mut SqliteConnection,
    ctx: &mut WriteCtx,
    id: i64,
    text: &str,
    actor: CommentActor<'_>,
) -> ApiResult<Comment> {
    let (comment, board_id) = owned(conn, id, &actor).await?;
    if comment.text == text {
        return Ok(comment);
    }
    let updated = sqlx::query_as::<_, Comment>("UPDATE comments SET text = ?, updated_at = ? WHERE id = ? RETURNING *")
        .bind(text)
        .bind(&ctx.now)
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    events::append(conn, ctx, NewEvent::comment_updated(&updated, board_id)).await?;
    Ok(updated)
}

/// Delete a comment and log `comment_deleted`.
pub async fn delete(
    conn: &mut SqliteConnection,
    ctx: &mut WriteCtx,
    id: i64,
    actor: CommentActor<'_>,
) -> ApiResult<()> {
    let (comment, board_id) = owned(conn, id, &actor).await?;
    sqlx::query("DELETE FROM comments WHERE id = ?").bind(id).execute(&mut *conn).await?;
    events::append(conn, ctx, NewEvent::comment_deleted(id, comment.ticket_id, board_id)).await
}
