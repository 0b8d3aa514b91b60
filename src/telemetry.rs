//! Tracing: one subscriber for the process (human-readable or JSON lines, timestamps in the API's
//! own format), and the per-request layer — a span carrying the request's `request_id`, closed by
//! one `info` line with method, route template, path, status, latency, client address and user,
//! and the same request counted in the HTTP metrics.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use chrono::{SecondsFormat, Utc};
use tracing::Instrument;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

use crate::config::{LogFormat, LoggingConfig};
use crate::metrics::{InFlight, Metrics};
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
    /// The authenticated user of the request being handled, noted by token verification. Shared
    /// with the request's [`RequestLine`], which may have to log after the request was dropped.
    static REQUEST_USER: Arc<OnceLock<i64>>;
}

/// Note the authenticated user of the current request for its completion line (a no-op outside
/// a request, e.g. in a WebSocket session task).
pub fn note_user(id: i64) {
    let _ = REQUEST_USER.try_with(|user| user.set(id));
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
///
/// A request that reached the application is logged even when it never completes (its future is
/// dropped: the connection failed or the server stopped waiting for it): [`RequestLine`] logs it
/// as abandoned when dropped unfinished.
pub async fn observe_request(State(t): State<RequestTelemetry>, req: Request, next: Next) -> Response {
    let line = RequestLine::start(&t, &req);
    let resp = REQUEST_USER.scope(line.user.clone(), next.run(req)).instrument(line.span.clone()).await;
    line.finish(&t.metrics, &resp);
    resp
}

/// The log line of one request, written once: by [`RequestLine::finish`] with its status, or, when
/// the request is dropped first, by `Drop` as abandoned.
struct RequestLine {
    start: Instant,
    method: Method,
    route: String,
    path: String,
    client_ip: Option<IpAddr>,
    span: tracing::Span,
    user: Arc<OnceLock<i64>>,
    /// The request is in flight until the line is written (the metric's guard).
    in_flight: Option<InFlight>,
}

impl RequestLine {
    fn start(t: &RequestTelemetry, req: &Request) -> Self {
        let method = req.method().clone();
        let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
        let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
        let span = tracing::info_span!("request", request_id, method = %method, route);
        RequestLine {
            start: Instant::now(),
            client_ip: peer_ip(req).map(|peer| t.proxies.client_ip(peer, req.headers())),
            path: req.uri().path().to_owned(),
            method,
            route,
            span,
            user: Arc::default(),
            in_flight: Some(t.metrics.request_started()),
        }
    }

    /// Milliseconds since the start, to the microsecond.
    fn latency_ms(&self) -> f64 {
        (self.start.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
    }

    fn finish(mut self, metrics: &Metrics, resp: &Response) {
        self.in_flight = None;
        metrics.observe_request(&self.method, &self.route, resp.status(), self.start.elapsed());
        self.write(Some(resp.status().as_u16()));
    }

    /// Write the line: "request completed" with its status, or, without one, "abandoned".
    fn write(&self, status: Option<u16>) {
        let (latency_ms, user_id) = (self.latency_ms(), self.user.get().copied());
        let client_ip = self.client_ip.map(tracing::field::display);
        let (method, route, path) = (&self.method, &self.route, &self.path);
        self.span.in_scope(|| match status {
            Some(status) => tracing::info!(
                method = %method,
                route,
                path,
                status,
                latency_ms,
                client_ip,
                user_id,
                "request completed"
            ),
            None => tracing::warn!(
                method = %method,
                route,
                path,
                latency_ms,
                client_ip,
                user_id,
                "request abandoned before its response was ready"
            ),
        });
    }
}

impl Drop for RequestLine {
    fn drop(&mut self) {
        // `finish` took the in-flight guard: the line is written already.
        if self.in_flight.take().is_some() {
            self.write(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Mutex;

    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use futures_util::FutureExt;
    use tower::ServiceExt;

    use super::*;

    /// Log output collected in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
        }
    }

    fn app() -> Router {
        let telemetry = RequestTelemetry { proxies: TrustedProxies::default(), metrics: Metrics::new() };
        Router::new()
            .route("/hangs", get(std::future::pending::<&'static str>))
            .route("/answers", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(telemetry, observe_request))
    }

    fn request(path: &str) -> Request {
        Request::builder().uri(path).header("x-request-id", "req-1").body(Body::empty()).expect("request")
    }

    #[tokio::test]
    async fn a_request_dropped_before_its_response_is_still_logged_once() {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        // Polled once (up to the handler), then dropped unfinished.
        let abandoned = app().oneshot(request("/hangs")).now_or_never();
        let answered = app().oneshot(request("/answers")).await.expect("infallible");

        assert!(abandoned.is_none(), "the handler never answers");
        assert_eq!(answered.status(), axum::http::StatusCode::OK);
        let text = logs.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "one line per request: {text}");
        assert!(lines[0].contains("request abandoned") && lines[0].contains("/hangs"), "{text}");
        assert!(lines[0].contains("req-1"), "in the request's span: {text}");
        assert!(lines[1].contains("request completed") && lines[1].contains("status=200"), "{text}");
    }
}
