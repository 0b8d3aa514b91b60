//! The router with its whole layer stack in one readable place.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyDeadlineLayer;

use crate::config::Config;
use crate::error::ApiError;
use crate::routes;
use crate::state::AppState;
use crate::telemetry;

/// Build the application router for `state`.
pub fn build_router(state: AppState) -> Router {
    let (api, doc) = routes::api_router(&state);
    // Serialised once: the document's structure is not kept, and a request copies no bytes.
    let doc = axum::body::Bytes::from(serde_json::to_vec(&doc).expect("an OpenAPI document (plain data) serialises"));
    let telemetry = telemetry::RequestTelemetry { proxies: state.proxies.clone(), metrics: state.metrics.clone() };
    let body_limit = state.config.server.body_limit_bytes;
    let body_deadline = Duration::from_secs(state.config.server.request_body_timeout_seconds);
    // The web board's assets are plain routes, outside the OpenAPI document.
    api.merge(routes::webui::router())
        .layer(axum::Extension(routes::root::OpenApiJson(doc)))
        .fallback(|| async { ApiError::RouteNotFound })
        .with_state(state)
        .layer(middleware::map_response(standard_405))
        .layer(DefaultBodyLimit::max(body_limit))
        // A hard deadline on the whole body from the request's arrival, not tower-http's idle
        // `RequestBodyTimeoutLayer`, which a client dribbling one byte at a time never trips. The
        // body extractors turn its error into 408 with the standard body.
        .layer(RequestBodyDeadlineLayer::new(body_deadline))
        .layer(middleware::from_fn_with_state(telemetry, telemetry::observe_request))
        .layer(middleware::from_fn(request_id))
        // No browser may sniff a JSON body (or any other) into something it would run.
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
}

/// axum answers a known path with a wrong method by an empty 405; give it the standard body and
/// keep its `Allow` header.
async fn standard_405(resp: Response) -> Response {
    if resp.status() != StatusCode::METHOD_NOT_ALLOWED || resp.headers().contains_key(header::CONTENT_TYPE) {
        return resp;
    }
    let allow = resp.headers().get(header::ALLOW).cloned();
    let mut out = ApiError::MethodNotAllowed.into_response();
    if let Some(allow) = allow {
        out.headers_mut().insert(header::ALLOW, allow);
    }
    out
}

fn valid_request_id(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    (1..=128).contains(&b.len()) && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// Echo a valid incoming `X-Request-Id`, or assign a new UUID; visible to the request span.
async fn request_id(mut req: Request, next: Next) -> Response {
    let id = match req.headers().get("x-request-id") {
        Some(v) if valid_request_id(v) => v.clone(),
        _ => HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).unwrap_or(HeaderValue::from_static("invalid")),
    };
    req.headers_mut().insert("x-request-id", id.clone());
    let mut resp = next.run(req).await;
    resp.headers_mut().insert("x-request-id", id);
    resp
}

/// CORS for the configured origins, with credentials (never a wildcard). It sits outside
/// authentication and rate limiting so 401/429 bodies stay readable cross-origin, and it answers
/// preflight requests itself.
pub(super) fn cors_layer(config: &Config) -> CorsLayer {
    let origins: Vec<HeaderValue> =
        config.cors.allowed_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    let names = |list: &[&'static str]| list.iter().map(|h| HeaderName::from_static(h)).collect::<Vec<_>>();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers(names(&[
            "authorization",
            "content-type",
            "if-match",
            "idempotency-key",
            "x-request-id",
            "x-session-id",
            "x-username",
        ]))
        .expose_headers(names(&[
            "etag",
            "location",
            "retry-after",
            "x-request-id",
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "idempotency-replayed",
        ]))
        .max_age(Duration::from_secs(600))
}

/// Both `/api/boards` and `/api/boards/` reach the same route: trim one trailing slash before
/// routing (everything but `/` itself and the `/docs/` explorer).
pub(super) async fn trim_trailing_slash(mut req: Request<Body>, next: Next) -> Response {
    let path = req.uri().path();
    if path.len() > 1 && path.ends_with('/') && !path.starts_with("/docs") {
        let trimmed = &path[..path.len() - 1];
        let new = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        if let Ok(uri) = new.parse() {
            *req.uri_mut() = uri;
        }
    }
    next.run(req).await
}
