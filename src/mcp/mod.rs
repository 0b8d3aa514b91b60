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
mod sessions;
mod tools;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::extractor::{bearer_token, verify_bearer};
use crate::domain::role::Role;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub use handler::KanbanMcp;
use sessions::Sessions;

/// The `/mcp` service (empty when `mcp.enabled` is false). Not an OpenAPI operation: it is nested
/// as a plain service, so `/openapi.json` does not list it.
pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    if !state.config.mcp.enabled {
        return OpenApiRouter::new();
    }
    let stop = cancel_on_shutdown(state);
    // Host checks are rmcp's DNS-rebinding guard for loopback servers; this server runs behind
    // any host name and checks `Origin` itself (below), as the WebSocket handshake does.
    let config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .disable_allowed_origins()
        .with_max_request_body_bytes(state.config.server.body_limit_bytes)
        .with_cancellation_token(stop.clone());
    let sessions = Arc::new(Sessions::new(&state.config.mcp));
    sessions.expire_idle(stop);
    let for_sessions = state.clone();
    let service =
        StreamableHttpService::new(move || Ok(KanbanMcp::new(for_sessions.clone())), sessions.clone(), config);
    let guard_state = Guard { state: state.clone(), sessions };
    OpenApiRouter::new().nest_service("/mcp", service).layer(axum::middleware::from_fn_with_state(guard_state, guard))
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

/// What the guard needs: the state (for credentials) and the sessions (for the cap and DELETE).
#[derive(Clone)]
struct Guard {
    state: AppState,
    sessions: Arc<Sessions>,
}

/// Before rmcp sees a request: refuse a foreign `Origin` (403) and missing or bad credentials
/// (401, as on REST), so no session is ever created for a caller REST would refuse; refuse a
/// session id that is not open (404); then bound session creation and answer `DELETE`. Every
/// refusal carries the standard error body.
async fn guard(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    if let Err(e) = admit(&guard.state, req.headers()).await {
        return e.into_response();
    }
    let session = session_id(req.headers());
    if let Some(id) = session
        && !guard.sessions.is_open(id).await
    {
        return ApiError::NotFound("Session not found".into()).into_response();
    }
    match (req.method().clone(), session.is_some()) {
        (Method::DELETE, true) => close(req, next).await,
        (Method::DELETE, false) => ApiError::BadRequest("Mcp-Session-Id header is required".into()).into_response(),
        (Method::POST, false) => open(&guard.sessions, req, next).await,
        _ => next.run(req).await,
    }
}

/// The request's origin is allowed and its caller has a role: a valid bearer token, or no token
/// while anonymous callers have one (`auth.anonymous_role` other than `none`).
async fn admit(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    if !crate::routes::ws::origin_allowed(headers, &state.config.cors.allowed_origins) {
        return Err(ApiError::Refused { code: "ORIGIN_NOT_ALLOWED", message: "Origin not allowed".into() });
    }
    match bearer_token(headers)? {
        Some(token) => verify_bearer(state, token).await.map(drop),
        None if Role::for_anonymous(state.config.auth.anonymous_role).is_none() => {
            Err(ApiError::Unauthorized("Authentication required".into()))
        }
        None => Ok(()),
    }
}

/// The `Mcp-Session-Id` a request names.
fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers.get("mcp-session-id").and_then(|v| v.to_str().ok())
}

/// A request that may open a session (an `initialize` without a session id): 503 with
/// `Retry-After` when every session slot is taken.
async fn open(sessions: &Sessions, req: Request, next: Next) -> Response {
    let full = || ApiError::ServiceUnavailable("Too many MCP sessions are open; retry later".into()).into_response();
    if sessions.is_full() {
        return full();
    }
    // Two initializes may race for the last slot: the one refused there gets the same 503.
    let (response, refused) = sessions::watch_refusal(next.run(req)).await;
    if refused { full() } else { response }
}

/// `DELETE /mcp` for an open session: 204 once it is closed (rmcp answers 202; clients expect
/// 200 or 204).
async fn close(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    if response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    response
}
