//! HTTP routes, one module per resource; each exposes `router()` as an `OpenApiRouter` so the
//! OpenAPI document is generated from the handlers themselves.

pub mod auth;
pub mod boards;
pub mod bulk;
pub mod comments;
pub mod docs;
pub mod dragdrop;
pub mod health;
pub mod health_api;
pub mod history;
pub mod history_stats;
pub mod openapi;
pub mod root;
pub mod schemas;
pub mod sessions;
pub mod statistics;
pub mod tickets;
pub mod users;
pub mod webui;
pub mod ws;

use axum::response::Response;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::ratelimit::{self, Class, ClientKey};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Agent Kanban API", description = "Kanban boards, tickets, comments, history, statistics and bulk operations over REST."),
    tags(
        (name = "service", description = "Root and status"),
        (name = "boards", description = "Boards and their columns"),
        (name = "tickets", description = "Tickets: create, update, move, claim, release"),
        (name = "comments", description = "Comments on tickets"),
        (name = "history", description = "Ticket history, transitions, board activity and history stats"),
        (name = "statistics", description = "Board and ticket statistics, flow metrics, drag-and-drop metrics"),
        (name = "bulk", description = "Bulk move, priority and assign"),
        (name = "sessions", description = "Anonymous username sessions"),
        (name = "auth", description = "Accounts, tokens and user administration"),
        (name = "realtime", description = "WebSocket board events"),
        (name = "health", description = "Probes and resource reports for operators"),
    ),
    modifiers(&SecuritySchemes)
)]
struct ApiDoc;

/// `bearerAuth`: a JWT access token. Each operation lists the minimum role it needs as the
/// requirement's role names (`[]` = any authenticated user; no requirement = public).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".into());
        bearer.description = Some(
            "Access token from POST /api/auth/login. Role names in an operation's requirement give the minimum role \
             (admin > pm > agent > viewer); callers without a token act as auth.anonymous_role when it is set."
                .into(),
        );
        components.add_security_scheme("bearerAuth", SecurityScheme::Http(bearer));
        let mut ops = Http::new(HttpAuthScheme::Bearer);
        ops.description = Some(
            "The configured ops.token, for the ops routes (health reports, /metrics, /ws/stats, statistics health). \
             An admin's access token (bearerAuth) is accepted instead. When ops.token is empty these routes are public."
                .into(),
        );
        components.add_security_scheme("opsToken", SecurityScheme::Http(ops));
    }
}

/// One rate-limit class: its governor layer (cloned onto every router of the class, so they share
/// one limiter) and its replenish interval (for `X-RateLimit-Reset`).
#[derive(Clone)]
struct Limit {
    layer: ratelimit::ClassLayer,
    interval: std::time::Duration,
}

impl Limit {
    fn new(class: Class, key: &ClientKey, state: &AppState) -> Self {
        let layer = ratelimit::layer(&class, key.clone(), &state.metrics, &state.limiters);
        Limit { layer, interval: class.quota.interval() }
    }
}

/// Put `router` in a rate-limit class (no-op when rate limiting is disabled).
fn limited(router: OpenApiRouter<AppState>, limit: &Option<Limit>) -> OpenApiRouter<AppState> {
    let Some(limit) = limit else { return router };
    let interval = limit.interval;
    router.layer(limit.layer.clone()).layer(axum::middleware::map_response(move |mut resp: Response| async move {
        ratelimit::reset_header(&mut resp, interval);
        resp
    }))
}

/// Every API route with its rate-limit class, and the OpenAPI document built from them
/// (completed by [`openapi::complete`]).
pub fn api_router(state: &AppState) -> (axum::Router<AppState>, serde_json::Value) {
    let rl = &state.config.rate_limit;
    let key = ClientKey::new(state.auth.keys.clone(), state.proxies.clone());
    let class = |name, quota| rl.enabled.then(|| Limit::new(Class { name, quota }, &key, state));
    let general = class("general", rl.general);
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(root::router())
        .merge(docs::router())
        .merge(limited(auth::register_router(), &class("register", rl.register)))
        .merge(limited(auth::login_router(), &class("login", rl.login)))
        .merge(limited(boards::create_router(), &class("board_create", rl.board_create)))
        .merge(limited(auth::router(), &general))
        .merge(limited(users::router(), &general))
        .merge(limited(boards::router(), &general))
        .merge(limited(
            tickets::router().layer(axum::middleware::from_fn_with_state(state.clone(), dragdrop::track_moves)),
            &general,
        ))
        .merge(limited(comments::router(), &general))
        .merge(limited(history::router(), &general))
        .merge(limited(history_stats::router(), &general))
        .merge(limited(statistics::router(), &general))
        .merge(limited(dragdrop::router(), &general))
        .merge(limited(bulk::router(), &general))
        .merge(limited(bulk::write_router(), &class("bulk", rl.bulk)))
        .merge(limited(sessions::router(), &general))
        .merge(ws::router())
        .merge(health::router())
        .merge(limited(crate::mcp::router(state), &general))
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut doc = serde_json::to_value(&doc).unwrap_or_default();
    openapi::complete(&mut doc, crate::domain::role::Role::for_anonymous(state.config.auth.anonymous_role));
    health::ops_routes_public(&mut doc, state.config.ops.token.expose().is_empty());
    (router, doc)
}
