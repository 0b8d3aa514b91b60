//! Comments (`/api/comments`): list per ticket, create, edit, delete.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::db;
use crate::db::comments::CommentActor;
use crate::domain::comment::{Comment, parse_comment_text};
use crate::domain::role::Role;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{CommentId, IdempotencyKey, JsonBody, TicketId};
use crate::routes::schemas::{CreateCommentRequest, Message, UpdateCommentRequest};
use crate::service::write::{Keyed, Reply, run_write};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_comments))
        .routes(routes!(create_comment))
        .routes(routes!(update_comment, delete_comment))
}

/// A ticket's comments, oldest first.
#[utoipa::path(get, path = "/api/comments/ticket/{ticket_id}", tag = "comments", security(("bearerAuth" = ["viewer"])), params(("ticket_id" = i64, Path)),
    responses((status = 200, body = Vec<Comment>), (status = 404, body = ErrorBody)))]
async fn list_comments(
    State(state): State<AppState>,
    caller: Caller,
    TicketId(id): TicketId,
) -> ApiResult<axum::Json<Vec<Comment>>> {
    caller.require(Role::Viewer)?;
    Ok(axum::Json(db::comments::for_ticket(&state.db, id).await?))
}

/// Comment on a ticket (agent). Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/api/comments", tag = "comments", security(("bearerAuth" = ["agent"])), request_body = CreateCommentRequest,
    responses((status = 201, body = Comment), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_comment(
    State(state): State<AppState>,
    caller: Caller,
    IdempotencyKey(key): IdempotencyKey,
    body: JsonBody,
) -> ApiResult<Reply> {
    let keyed = Keyed::new(&caller, key, &body.raw);
    crate::service::tickets::comment(&state, &caller, keyed, &body.value).await
}

/// Edit a comment's text (its author, or pm).
#[utoipa::path(put, path = "/api/comments/{comment_id}", tag = "comments", security(("bearerAuth" = ["agent"])), params(("comment_id" = i64, Path)),
    request_body = UpdateCommentRequest,
    responses((status = 200, body = Comment), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_comment(
    State(state): State<AppState>,
    caller: Caller,
    CommentId(id): CommentId,
    body: JsonBody,
) -> ApiResult<Reply> {
    caller.require(Role::Agent)?;
    let text = parse_comment_text(&body.value).map_err(ApiError::Validation)?;
    let name = caller.actor_name().to_owned();
    let may_edit_any = caller.has_role(Role::Pm);
    run_write(&state, None, move |conn, ctx| {
        Box::pin(async move {
            let actor = CommentActor { name: &name, may_edit_any };
            Reply::ok(db::comments::update(conn, ctx, id, &text, actor).await?)
        })
    })
    .await
}

/// Delete a comment (its author, or pm).
#[utoipa::path(delete, path = "/api/comments/{comment_id}", tag = "comments", security(("bearerAuth" = ["agent"])), params(("comment_id" = i64, Path)),
    responses((status = 200, body = Message), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_comment(State(state): State<AppState>, caller: Caller, CommentId(id): CommentId) -> ApiResult<Reply> {
    caller.require(Role::Agent)?;
    let name = caller.actor_name().to_owned();
    let may_edit_any = caller.has_role(Role::Pm);
    run_write(&state, None, move |conn, ctx| {
        Box::pin(async move {
            db::comments::delete(conn, ctx, id, CommentActor { name: &name, may_edit_any }).await?;
            Reply::message("Comment deleted successfully")
        })
    })
    .await
}
