//! Service routes: `/`, `/api/status`, `/metrics` and `/openapi.json`.

use axum::Extension;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::OpsAccess;
use crate::domain::role::Role;
use crate::error::{ApiResult, ErrorBody};
use crate::metrics::Sources;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(root))
        .routes(routes!(status))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
}

/// The serialised OpenAPI document, made once when the router is built and handed to
/// [`openapi_json`] as a request extension (a request copies no bytes).
#[derive(Clone)]
pub struct OpenApiJson(pub axum::body::Bytes);

/// This OpenAPI 3.1 document.
#[utoipa::path(get, path = "/openapi.json", tag = "service",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object, content_type = "application/json")))]
async fn openapi_json(Extension(doc): Extension<OpenApiJson>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], doc.0)
}

#[derive(Serialize, ToSchema)]
pub struct RootInfo {
    message: &'static str,
    version: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct StatusInfo {
    status: &'static str,
    version: &'static str,
    cors_origins: Vec<String>,
    websocket_available: bool,
    socketio_available: bool,
    /// The MCP endpoint (`/mcp`) is served (`mcp.enabled`).
    mcp_available: bool,
    /// The role a caller without credentials acts as (`auth.anonymous_role`), or null when such a
    /// caller may do nothing: the web board offers "continue without an account" from it.
    #[schema(value_type = Option<String>, example = "pm")]
    anonymous_role: Option<&'static str>,
    endpoints: Endpoints,
}

#[derive(Serialize, ToSchema)]
pub struct Endpoints {
    boards: &'static str,
    tickets: &'static str,
    websocket: &'static str,
}

/// Service name and version. A browser (asking for `text/html`) is sent to the web board at `/app/`.
#[utoipa::path(get, path = "/", tag = "service", responses(
    (status = 200, body = RootInfo),
    (status = 303, description = "Accept names text/html: redirect to the web board at /app/")))]
async fn root(headers: axum::http::HeaderMap) -> axum::response::Response {
    let wants_html =
        headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).any(|v| {
            v.split(',').any(|t| t.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("text/html")))
        });
    if wants_html {
        return axum::response::Redirect::to("/app/").into_response();
    }
    axum::Json(RootInfo { message: "Agent Kanban Board API", version: env!("CARGO_PKG_VERSION") }).into_response()
}

/// Operational status and the main endpoints.
#[utoipa::path(get, path = "/api/status", tag = "service", responses((status = 200, body = StatusInfo)))]
async fn status(State(state): State<AppState>) -> axum::Json<StatusInfo> {
    axum::Json(StatusInfo {
        status: "operational",
        version: env!("CARGO_PKG_VERSION"),
        cors_origins: state.config.cors.allowed_origins.clone(),
        websocket_available: true,
        socketio_available: false,
        mcp_available: state.config.mcp.enabled,
        anonymous_role: Role::for_anonymous(state.config.auth.anonymous_role).map(Role::as_str),
        endpoints: Endpoints { boards: "/api/boards/", tickets: "/api/tickets/", websocket: "/ws/connect" },
    })
}

/// Prometheus text exposition (format 0.0.4) of every metric in `ops.md` §2: HTTP requests and
/// latency by route template, rate-limit refusals, WebSocket and event counters, read-pool and
/// writer figures (with the writer's statement and trigger counters), process and build info.
/// Ops role: public when `ops.token` is empty.
#[utoipa::path(get, path = "/metrics", tag = "service", security(("bearerAuth" = ["admin"]), ("opsToken" = [])),
    responses((status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain"),
        (status = 401, body = ErrorBody)))]
async fn metrics(State(state): State<AppState>, _ops: OpsAccess) -> ApiResult<impl IntoResponse> {
    // The process figures are the resource sampler's newest reading, never measured here.
    if let Some(sample) = state.sampler.latest() {
        state.metrics.set_process(sample.rss_bytes, sample.process_cpu_percent);
    }
    let sources = Sources { writer: &state.writer, hub: &state.hub, read_pool: &state.db, limiters: &state.limiters };
    let body = state.metrics.render(&sources)?;
    Ok(([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], body))
}
