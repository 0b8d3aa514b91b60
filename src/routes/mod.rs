//! HTTP routes, one module per resource; each exposes `router()` as an `OpenApiRouter` so the
//! OpenAPI document is generated from the handlers themselves.

pub mod boards;
pub mod comments;
pub mod history;
pub mod root;
pub mod schemas;
pub mod sessions;
pub mod tickets;
pub mod write;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Agent Kanban API", description = "Kanban boards, tickets, comments and history over REST."),
    tags(
        (name = "service", description = "Root and status"),
        (name = "boards", description = "Boards and their columns"),
        (name = "tickets", description = "Tickets: create, update, move, claim, release"),
        (name = "comments", description = "Comments on tickets"),
        (name = "history", description = "Ticket history and board activity"),
        (name = "sessions", description = "Anonymous username sessions"),
    )
)]
struct ApiDoc;

/// Every API route, with the OpenAPI document built from them.
pub fn api_router() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(root::router())
        .merge(boards::router())
        .merge(tickets::router())
        .merge(comments::router())
        .merge(history::router())
        .merge(sessions::router())
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    (router, doc)
}
