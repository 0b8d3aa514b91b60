//! Tracing: one subscriber for the process (human-readable or JSON lines, timestamps in the API's
//! own format), and the per-request layer — a span carrying the request's `request_id`, closed by
//! one `info` line with method, route template, path, status, latency, client address and user,
//! and the same request counted in the HTTP metrics.

use std::cell::Cell;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{SecondsFormat, Utc};
use tracing::Instrument;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

use crate::config::{LogFormat, LoggingConfig};
use crate::metrics::Metrics;
use crate::ratelimit::{TrustedProxies, peer_ip};

/// Install the global subscriber. `RUST_LOG`, when set, replaces `logging.level`.
pub fn init(cfg: &LoggingConfig) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(&cfg.level));
    // rmcp's HTTP server logs MCP session ids, which are bearer-like secrets of a session.
    let filter = match "rmcp::transport::streamable_http_server=off".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(true).with_timer(UtcMillis);
    let result = match cfg.format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    if let Err(e) = result {
        eprintln!("logging already initialised: {e}");
    }
}

/// Log timestamps like the API's: RFC 3339, UTC, milliseconds, `Z` (`2026-11-22T10:10:37.161Z`).
struct UtcMillis;

impl FormatTime for UtcMillis {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        w.write_str(&Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

tokio::task_local! {
    /// The authenticated user of the request being handled, noted by token verification.
    static REQUEST_USER: Cell<Option<i64>>;
}

/// Note the authenticated user of the current request for its completion line (a no-op outside
/// a request, e.g. in a WebSocket session task).
pub fn note_user(id: i64) {
    let _ = REQUEST_USER.try_with(|user| user.set(Some(id)));
}

/// What the per-request layer needs: trusted proxies (for the client address) and the metrics.
#[derive(Clone)]
pub struct RequestTelemetry {
    pub proxies: TrustedProxies,
    pub metrics: Metrics,
}

/// Run the request in a span carrying its `request_id` (set by the request-id middleware, which
/// runs before this one), then count it in the HTTP metrics and log its completion. Inside the
/// router, so each request carries its `MatchedPath` (the fallback has none: `unmatched`).
pub async fn observe_request(State(t): State<RequestTelemetry>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let _in_flight = t.metrics.request_started();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let path = req.uri().path().to_owned();
    let client_ip = peer_ip(&req).map(|peer| t.proxies.client_ip(peer, req.headers()));
    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let span = tracing::info_span!("request", request_id, method = %method, route);
    let (resp, user_id) = REQUEST_USER
        .scope(Cell::new(None), async {
            let resp = next.run(req).await;
            (resp, REQUEST_USER.with(Cell::get))
        })
        .instrument(span.clone())
        .await;
    let took = start.elapsed();
    t.metrics.observe_request(&method, &route, resp.status(), took);
    let latency_ms = (took.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
    let client_ip = client_ip.map(tracing::field::display);
    span.in_scope(|| {
        tracing::info!(
            method = %method,
            route,
            path,
            status = resp.status().as_u16(),
            latency_ms,
            client_ip,
            user_id,
            "request completed"
        );
    });
    resp
}
