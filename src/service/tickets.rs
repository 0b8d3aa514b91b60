//! Ticket and comment writes: create, update, move, claim, release, comment.

use serde_json::Value;

use crate::auth::Caller;
use crate::db;
use crate::db::tickets::{Releaser, TicketWrite};
use crate::domain::comment::NewComment;
use crate::domain::precondition::IfMatch;
use crate::domain::role::Role;
use crate::domain::ticket::{MoveRequest, NewTicket, Ticket, TicketUpdate};
use crate::domain::validation::Patch;
use crate::error::{ApiError, ApiResult};
use crate::service::write::{Keyed, Reply, run_write};
use crate::state::AppState;

/// A write's target ticket, its optional precondition and its optional idempotency key.
pub struct TicketTarget {
    pub ticket_id: i64,
    pub if_match: Option<IfMatch>,
    pub keyed: Option<Keyed>,
}

/// A ticket reply with its `ETag`.
pub fn ticket_reply(ticket: Ticket) -> ApiResult<Reply> {
    let version = ticket.version;
    Ok(Reply::ok(ticket)?.versioned(version))
}

/// Create a ticket from a create body (agent).
pub async fn create(state: &AppState, caller: &Caller, keyed: Option<Keyed>, body: &Value) -> ApiResult<Reply> {
    caller.require(Role::Agent)?;
    let new = NewTicket::parse(body).map_err(ApiError::Validation)?;
    let changed_by = caller.changed_by(new.created_by.as_deref());
    run_write(state, keyed, move |conn, ctx| {
        Box::pin(async move {
            let ticket = db::tickets::create(conn, ctx, new, &changed_by).await?;
            let (id, version) = (ticket.id, ticket.version);
            Ok(Reply::created(ticket, format!("/api/tickets/{id}"))?.versioned(version))
        })
    })
    .await
}

/// Update ticket fields from an update body (agent).
pub async fn update(state: &AppState, caller: &Caller, target: TicketTarget, body: &Value) -> ApiResult<Reply> {
    caller.require(Role::Agent)?;
    let update = TicketUpdate::parse(body).map_err(ApiError::Validation)?;
    let changed_by = caller.changed_by(update.changed_by.as_deref());
    reassignment_allowed(caller, &update)?;
    let TicketTarget { ticket_id, if_match, keyed } = target;
    run_write(state, keyed, move |conn, ctx| {
        Box::pin(async move {
            let w = TicketWrite { ticket_id, if_match: if_match.as_ref(), changed_by: &changed_by };
            ticket_reply(db::tickets::update(conn, ctx, w, update).await?)
        })
    })
    .await
}

/// Setting `assignee` to someone else follows the claim rule: an authenticated agent may only
/// clear it or set themselves.
fn reassignment_allowed(caller: &Caller, update: &TicketUpdate) -> ApiResult<()> {
    let Patch::Set(Some(name)) = &update.assignee else { return Ok(()) };
    match caller.username() {
        Some(me) if me != name && !caller.has_role(Role::Pm) => {
            Err(ApiError::Forbidden("Only a pm can assign a ticket to someone else".into()))
        }
        _ => Ok(()),
    }
}

/// Move a ticket from a move body (agent). Also returns the moved ticket's board (0 when the
/// move did not run, e.g. an idempotent replay).
pub async fn move_to(state: &AppState, caller: &Caller, target: TicketTarget, body: &Value) -> ApiResult<(Reply, i64)> {
    caller.require(Role::Agent)?;
    let req = MoveRequest::parse(body).map_err(ApiError::Validation)?;
    let changed_by = caller.changed_by(req.moved_by.as_deref());
    let TicketTarget { ticket_id, if_match, keyed } = target;
    let board = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let seen = board.clone();
    let reply = run_write(state, keyed, move |conn, ctx| {
        Box::pin(async move {
            let w = TicketWrite { ticket_id, if_match: if_match.as_ref(), changed_by: &changed_by };
            let moved = db::tickets::move_to(conn, ctx, w, &req.column).await?;
            seen.store(moved.board_id, std::sync::atomic::Ordering::Relaxed);
            ticket_reply(moved)
        })
    })
    .await?;
    Ok((reply, board.load(std::sync::atomic::Ordering::Relaxed)))
}

/// Claim a ticket for `named` (default: the caller). Agents claim for themselves; pm for anyone.
pub async fn claim(state: &AppState, caller: &Caller, target: TicketTarget, named: Option<String>) -> ApiResult<Reply> {
    caller.require(Role::Agent)?;
    let claimant = match (named, caller.username()) {
        (Some(n), Some(me)) if n != me && !caller.has_role(Role::Pm) => {
            return Err(ApiError::Forbidden("Agents may only claim tickets for themselves".into()));
        }
        (Some(n), _) => n,
        (None, Some(me)) => me.to_owned(),
        (None, None) => return Err(ApiError::field("query.agent_id", "missing", "agent_id is required")),
    };
    let changed_by = caller.username().unwrap_or(&claimant).to_owned();
    let ticket_id = target.ticket_id;
    run_write(state, target.keyed, move |conn, ctx| {
        Box::pin(async move {
            let w = TicketWrite { ticket_id, if_match: None, changed_by: &changed_by };
            ticket_reply(db::tickets::claim(conn, ctx, w, &claimant).await?)
        })
    })
    .await
}

/// Release a claim (the claimant, or pm).
pub async fn release(
    state: &AppState,
    caller: &Caller,
    target: TicketTarget,
    named: Option<String>,
) -> ApiResult<Reply> {
    caller.require(Role::Agent)?;
    let name = caller.username().map(str::to_owned).or(named);
    let changed_by = caller.changed_by(name.as_deref());
    let may_release_any = caller.has_role(Role::Pm);
    let ticket_id = target.ticket_id;
    run_write(state, target.keyed, move |conn, ctx| {
        Box::pin(async move {
            let w = TicketWrite { ticket_id, if_match: None, changed_by: &changed_by };
            let by = Releaser { name: name.as_deref(), may_release_any };
            ticket_reply(db::tickets::release(conn, ctx, w, by).await?)
        })
    })
    .await
}

/// Comment on a ticket from a comment body (agent).
pub async fn comment(state: &AppState, caller: &Caller, keyed: Option<Keyed>, body: &Value) -> ApiResult<Reply> {
    caller.require(Role::Agent)?;
    let new = NewComment::parse(body).map_err(ApiError::Validation)?;
    let author = caller.username().or(new.author.as_deref()).unwrap_or(caller.actor_name()).to_owned();
    run_write(state, keyed, move |conn, ctx| {
        Box::pin(async move {
            let comment = db::comments::create(conn, ctx, new.ticket_id, &new.text, &author).await?;
            let id = comment.id;
            Reply::created(comment, format!("/api/comments/{id}"))
        })
    })
    .await
}
