//! The Model Context Protocol endpoint at `/mcp` (Streamable HTTP, stateful sessions): the board
//! as tools and resources for AI agents. Like `routes/`, a thin front door: callers are resolved
//! exactly as REST resolves them (bearer token, roles read from the database on every call, or the
//! anonymous role), and every tool runs the same `db` reads and `service` writes as its REST
//! route, so history rows, events and idempotency are the same. No SQL and no HTTP plumbing here.

mod args;
#[cfg(feature = "stdio-bridge")]
pub mod bridge;
mod catalog;
mod handler;
mod output;
mod resources;
mod tools;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::extractor::{bearer_token, verify_bearer};
use crate::error::ApiError;
use crate::state::AppState;

pub use handler::KanbanMcp;

/// The `/mcp` service (empty when `mcp.enabled` is false). Not an OpenAPI operation: it is nested
/// as a plain service, so `/openapi.json` does not list it.
pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    if !state.config.mcp.enabled {
        return OpenApiRouter::new();
    }
    // Host checks are rmcp's DNS-rebinding guard for loopback servers; this server runs behind
    // any host name and checks `Origin` itself (below), as the WebSocket handshake does.
    let config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .disable_allowed_origins()
        .with_max_request_body_bytes(state.config.server.body_limit_bytes)
        .with_cancellation_token(cancel_on_shutdown(state));
    let for_sessions = state.clone();
    let service = StreamableHttpService::new(
        move || Ok(KanbanMcp::new(for_sessions.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    OpenApiRouter::new().nest_service("/mcp", service).layer(axum::middleware::from_fn_with_state(state.clone(), guard))
}

/// A token cancelled once the server begins to stop (the hub's shutdown flag, which `stop` sets
/// first), so open sessions and their SSE streams end instead of holding the graceful drain for
/// its whole grace period.
fn cancel_on_shutdown(state: &AppState) -> CancellationToken {
    let token = CancellationToken::new();
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return token };
    let (hub, cancel) = (state.hub.clone(), token.clone());
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(200));
        while !hub.is_shutting_down() {
            tick.tick().await;
        }
        cancel.cancel();
    });
    token
}

/// Before rmcp sees a request: refuse a foreign `Origin` (403 `ORIGIN_NOT_ALLOWED`) and a bad
/// bearer token (401, as on REST), each with the standard error body.
async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !crate::routes::ws::origin_allowed(req.headers(), &state.config.cors.allowed_origins) {
        return ApiError::Refused { code: "ORIGIN_NOT_ALLOWED", message: "Origin not allowed".into() }.into_response();
    }
    match bearer_token(req.headers()) {
        Err(e) => return e.into_response(),
        Ok(Some(token)) => {
            if let Err(e) = verify_bearer(&state, token).await {
                return e.into_response();
            }
        }
        Ok(None) => {}
    }
    next.run(req).await
}
