//! Tickets (`/api/tickets`): list, get, create, update, move, claim, release, delete.

use axum::Extension;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::db;
use crate::db::tickets::{SortKey, TicketFilter, TicketWrite};
use crate::domain::columns::{invalid_column_message, resolve};
use crate::domain::role::Role;
use crate::domain::ticket::{Ticket, parse_agent_body};
use crate::domain::validation::{FieldError, limits};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{IdempotencyKey, IfMatchHeader, JsonBody, OptionalJsonBody, QueryParams, TicketId};
use crate::routes::dragdrop::MovedOnBoard;
use crate::routes::schemas::{
    ClaimRequest, CreateTicketRequest, Message, MoveTicketRequest, TicketPage, UpdateTicketRequest,
};
use crate::service::tickets::{self as service, TicketTarget, ticket_reply};
use crate::service::write::{Keyed, Reply, run_write};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tickets, create_ticket))
        .routes(routes!(get_ticket, update_ticket, delete_ticket))
        .routes(routes!(move_ticket))
        .routes(routes!(claim_ticket))
        .routes(routes!(release_ticket))
}

/// Parsed and validated list query.
struct ListQuery {
    filter: TicketFilter,
    column: Option<String>,
    sort: (SortKey, bool),
    page: i64,
    page_size: i64,
}

fn parse_list_query(q: &QueryParams) -> Result<ListQuery, FieldError> {
    let board_id = q.int("board_id", 1, i64::MAX)?;
    let sort = match q.get("sort") {
        None => (SortKey::Id, false),
        Some(s) => SortKey::parse(s)
            .ok_or_else(|| FieldError::new("query.sort", "invalid_value", format!("unknown sort '{s}'")))?,
    };
    let filter = TicketFilter {
        board_id,
        assignee: q.text("assignee", 1, limits::NAME)?,
        priority: q.text("priority", 1, limits::PRIORITY)?,
        q: q.text("q", 1, limits::SEARCH)?,
        created_after: q.datetime("created_after")?,
        created_before: q.datetime("created_before")?,
        updated_after: q.datetime("updated_after")?,
        updated_before: q.datetime("updated_before")?,
        ..TicketFilter::default()
    };
    Ok(ListQuery {
        filter,
        column: q.text("column", 1, limits::COLUMN_FILTER)?,
        sort,
        page: q.int("page", 1, i64::from(i32::MAX))?.unwrap_or(1),
        page_size: q.int("page_size", 1, 1000)?.unwrap_or(50),
    })
}

/// List tickets with filters, sorting and pagination (page size up to 1000).
#[utoipa::path(get, path = "/api/tickets", tag = "tickets", security(("bearerAuth" = ["viewer"])),
    params(("board_id" = Option<i64>, Query, minimum = 1, maximum = 9007199254740991_i64),
        ("column" = Option<String>, Query, min_length = 1, max_length = 100),
        ("assignee" = Option<String>, Query, min_length = 1, max_length = 100),
        ("priority" = Option<String>, Query, min_length = 1, max_length = 32),
        ("q" = Option<String>, Query, min_length = 1, max_length = 200),
        ("created_after" = Option<String>, Query, format = DateTime),
        ("created_before" = Option<String>, Query, format = DateTime),
        ("updated_after" = Option<String>, Query, format = DateTime),
        ("updated_before" = Option<String>, Query, format = DateTime),
        ("sort" = Option<String>, Query, pattern = "^-?(id|created_at|updated_at|column_entered_at|priority|title)$"),
        ("page" = Option<i64>, Query, minimum = 1, maximum = 2147483647),
        ("page_size" = Option<i64>, Query, minimum = 1, maximum = 1000)),
    responses((status = 200, body = TicketPage), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_tickets(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryParams,
) -> ApiResult<axum::Json<TicketPage>> {
    caller.require(Role::Viewer)?;
    let mut q = parse_list_query(&query).map_err(|e| ApiError::Validation(vec![e]))?;
    match (q.filter.board_id, q.column.take()) {
        (Some(board_id), column) => {
            let board = db::boards::get(&state.db, board_id).await?;
            if let Some(column) = column {
                let found = resolve(&board.columns, &column).ok_or_else(|| {
                    ApiError::field(
                        "query.column",
                        "invalid_column",
                        invalid_column_message(&column, board_id, &board.columns),
                    )
                })?;
                q.filter.column_exact = Some(found.to_owned());
            }
        }
        (None, column) => q.filter.column_nocase = column.map(|c| c.trim().to_owned()),
    }
    let (items, total) = db::tickets::list(&state.db, &q.filter, q.sort, q.page, q.page_size).await?;
    let total_pages = if total == 0 { 1 } else { (total + q.page_size - 1) / q.page_size };
    Ok(axum::Json(TicketPage {
        items,
        total,
        page: q.page,
        page_size: q.page_size,
        total_pages,
        has_next: q.page < total_pages,
        has_previous: q.page > 1,
    }))
}

/// One ticket, with `ETag`.
#[utoipa::path(get, path = "/api/tickets/{ticket_id}", tag = "tickets", security(("bearerAuth" = ["viewer"])), params(("ticket_id" = i64, Path)),
    responses((status = 200, body = Ticket), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_ticket(State(state): State<AppState>, caller: Caller, TicketId(id): TicketId) -> ApiResult<Reply> {
    caller.require(Role::Viewer)?;
    ticket_reply(db::tickets::get(&state.db, id).await?)
}

/// Create a ticket (agent). Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/api/tickets", tag = "tickets", security(("bearerAuth" = ["agent"])), request_body = CreateTicketRequest,
    responses((status = 201, body = Ticket), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_ticket(
    State(state): State<AppState>,
    caller: Caller,
    IdempotencyKey(key): IdempotencyKey,
    body: JsonBody,
) -> ApiResult<Reply> {
    let keyed = Keyed::new(&caller, key, &body.raw);
    service::create(&state, &caller, keyed, &body.value).await
}

/// Update ticket fields (agent); honours `If-Match`. Use the move route to change the column.
#[utoipa::path(put, path = "/api/tickets/{ticket_id}", tag = "tickets", security(("bearerAuth" = ["agent"])), params(("ticket_id" = i64, Path)),
    request_body = UpdateTicketRequest,
    responses((status = 200, body = Ticket), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_ticket(
    State(state): State<AppState>,
    caller: Caller,
    TicketId(id): TicketId,
    IfMatchHeader(if_match): IfMatchHeader,
    body: JsonBody,
) -> ApiResult<Reply> {
    service::update(&state, &caller, TicketTarget { ticket_id: id, if_match, keyed: None }, &body.value).await
}

/// Move a ticket to another column of its board (agent); honours `If-Match` and `Idempotency-Key`.
#[utoipa::path(post, path = "/api/tickets/{ticket_id}/move", tag = "tickets", security(("bearerAuth" = ["agent"])), params(("ticket_id" = i64, Path)),
    request_body = MoveTicketRequest,
    responses((status = 200, body = Ticket), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn move_ticket(
    State(state): State<AppState>,
    caller: Caller,
    TicketId(id): TicketId,
    IfMatchHeader(if_match): IfMatchHeader,
    IdempotencyKey(key): IdempotencyKey,
    body: JsonBody,
) -> ApiResult<(Option<Extension<MovedOnBoard>>, Reply)> {
    let keyed = Keyed::new(&caller, key, &body.raw);
    let target = TicketTarget { ticket_id: id, if_match, keyed };
    // The moved ticket's board feeds the drag-drop metrics (0: the move did not run, e.g. a replay).
    let (reply, board) = service::move_to(&state, &caller, target, &body.value).await?;
    Ok(((board > 0).then_some(Extension(MovedOnBoard(board))), reply))
}

/// The agent named by query `agent_id`, else the body's `agent_id` / `assignee`.
fn named_agent(query: &QueryParams, body: &OptionalJsonBody) -> ApiResult<Option<String>> {
    if let Some(a) = query.text("agent_id", 0, limits::NAME).map_err(|e| ApiError::Validation(vec![e]))? {
        let a = a.trim();
        if !a.is_empty() {
            return Ok(Some(a.to_owned()));
        }
    }
    parse_agent_body(body.value.as_ref()).map_err(ApiError::Validation)
}

/// Claim a ticket for an agent (agent; pm may claim for others). Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/api/tickets/{ticket_id}/claim", tag = "tickets", security(("bearerAuth" = ["agent"])),
    params(("ticket_id" = i64, Path), ("agent_id" = Option<String>, Query, max_length = 100)), request_body = Option<ClaimRequest>,
    responses((status = 200, body = Ticket), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn claim_ticket(
    State(state): State<AppState>,
    caller: Caller,
    TicketId(id): TicketId,
    query: QueryParams,
    IdempotencyKey(key): IdempotencyKey,
    body: OptionalJsonBody,
) -> ApiResult<Reply> {
    caller.require(Role::Agent)?;
    let named = named_agent(&query, &body)?;
    let keyed = Keyed::new(&caller, key, &body.raw);
    service::claim(&state, &caller, TicketTarget { ticket_id: id, if_match: None, keyed }, named).await
}

/// Release a claim (the claimant, or pm). Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/api/tickets/{ticket_id}/release", tag = "tickets", security(("bearerAuth" = ["agent"])),
    params(("ticket_id" = i64, Path), ("agent_id" = Option<String>, Query, max_length = 100)), request_body = Option<ClaimRequest>,
    responses((status = 200, body = Ticket), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn release_ticket(
    State(state): State<AppState>,
    caller: Caller,
    TicketId(id): TicketId,
    query: QueryParams,
    IdempotencyKey(key): IdempotencyKey,
    body: OptionalJsonBody,
) -> ApiResult<Reply> {
    caller.require(Role::Agent)?;
    let named = named_agent(&query, &body)?;
    let keyed = Keyed::new(&caller, key, &body.raw);
    service::release(&state, &caller, TicketTarget { ticket_id: id, if_match: None, keyed }, named).await
}

/// Delete a ticket with its comments and history (pm); honours `If-Match`.
#[utoipa::path(delete, path = "/api/tickets/{ticket_id}", tag = "tickets", security(("bearerAuth" = ["pm"])), params(("ticket_id" = i64, Path)),
    responses((status = 200, body = Message), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody)))]
async fn delete_ticket(
    State(state): State<AppState>,
    caller: Caller,
    TicketId(id): TicketId,
    IfMatchHeader(if_match): IfMatchHeader,
) -> ApiResult<Reply> {
    caller.require(Role::Pm)?;
    let changed_by = caller.changed_by(None);
    run_write(&state, None, move |conn, ctx| {
        Box::pin(async move {
            let w = TicketWrite { ticket_id: id, if_match: if_match.as_ref(), changed_by: &changed_by };
            db::tickets::delete(conn, ctx, w).await?;
            Reply::message("Ticket deleted successfully")
        })
    })
    .await
}
