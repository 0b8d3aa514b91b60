//! Prometheus metrics (`ops.md` §2): one registry per server, held in `AppState`, fed by the HTTP
//! layer, the rate limiter and the housekeeping job, plus series read from their owners (writer,
//! hub, read pool, rate limiters) at scrape time; and the text exposition (format 0.0.4) of `GET /metrics`.
//!
//! Crate: `prometheus` (the Prometheus client ported from Go's, default features off: no protobuf,
//! no process collector, no push). Compared with the two usual alternatives:
//! - `metrics` + `metrics-exporter-prometheus`: the facade's macros record into one process-wide
//!   recorder, so the hundreds of servers the test suite runs in one process would mix their counts;
//!   a recorder that is not installed can only be fed by bypassing the macros, and its histograms
//!   buffer raw samples until a render or an upkeep task drains them (memory that grows between
//!   scrapes on a server nobody scrapes).
//! - `prometheus-client`: a registry per server, but it encodes OpenMetrics only (`# TYPE x counter`
//!   for `x_total` samples, `# EOF`), not the 0.0.4 text format the spec names.
//! - `prometheus`: a `Registry` per server, the 0.0.4 `TextEncoder`, fixed-bucket atomic histograms,
//!   and plain metric families for values that already live elsewhere.
//!
//! Counters that the writer and the hub already keep are read at scrape time, never counted a
//! second time here. Labels are low-cardinality by construction: the route is the matched template
//! (`unmatched` for the fallback), never a raw path; unknown HTTP methods become `other`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{Method, StatusCode};
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};
use sqlx::SqlitePool;

use crate::db::writer::WriterHandle;
use crate::error::{ApiError, ApiResult};
use crate::ratelimit::Limiters;
use crate::ws::Hub;

mod scrape;

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `kanban_http_request_duration_seconds` buckets (`ops.md` §2).
pub const HTTP_DURATION_BUCKETS: [f64; 12] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Cheap, cloneable handle to one server's metrics.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    in_flight: IntGauge,
    rate_limited: IntCounterVec,
    resident_memory: Gauge,
    cpu_percent: Gauge,
    housekeeping_deleted: IntCounterVec,
    housekeeping_runs: IntCounter,
}

/// The owners of the series read at scrape time.
pub struct Sources<'a> {
    pub writer: &'a WriterHandle,
    pub hub: &'a Hub,
    pub read_pool: &'a SqlitePool,
    pub limiters: &'a Limiters,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every series this module feeds; `process_start_time_seconds` is now.
    pub fn new() -> Self {
        // The definitions below are constants (valid names, distinct families), so building and
        // registering them cannot fail; the unit tests render them.
        Self::try_new().expect("static metric definitions are valid and distinct")
    }

    fn try_new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("kanban_http_requests_total", "Completed HTTP requests"),
            &["method", "route", "status"],
        )?;
        let durations = HistogramVec::new(
            HistogramOpts::new("kanban_http_request_duration_seconds", "HTTP request latency until the response head")
                .buckets(HTTP_DURATION_BUCKETS.to_vec()),
            &["method", "route"],
        )?;
        let in_flight = IntGauge::new("kanban_http_requests_in_flight", "HTTP requests being handled")?;
        let rate_limited = IntCounterVec::new(Opts::new("kanban_rate_limited_total", "429 answers"), &["class"])?;
        let resident_memory =
            Gauge::new("process_resident_memory_bytes", "Resident memory of the process, from the resource sampler")?;
        let cpu_percent =
            Gauge::new("process_cpu_usage_percent", "CPU usage of the process, from the resource sampler")?;
        let start_time = Gauge::new("process_start_time_seconds", "Start time of the server since the Unix epoch")?;
        start_time.set(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64());
        let build_info = IntGaugeVec::new(Opts::new("kanban_build_info", "Build of the running server"), &["version"])?;
        build_info.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(durations.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(rate_limited.clone()))?;
        registry.register(Box::new(resident_memory.clone()))?;
        registry.register(Box::new(cpu_percent.clone()))?;
        registry.register(Box::new(start_time))?;
        registry.register(Box::new(build_info))?;
        let (housekeeping_deleted, housekeeping_runs) = housekeeping_series(&registry)?;
        let inner = Inner {
            registry,
            requests,
            durations,
            in_flight,
            rate_limited,
            resident_memory,
            cpu_percent,
            housekeeping_deleted,
            housekeeping_runs,
        };
        Ok(Metrics { inner: Arc::new(inner) })
    }

    /// One more request in flight, until the returned guard is dropped.
    pub fn request_started(&self) -> InFlight {
        self.inner.in_flight.inc();
        InFlight(self.inner.in_flight.clone())
    }

    /// Count one completed request.
    pub fn observe_request(&self, method: &Method, route: &str, status: StatusCode, took: Duration) {
        let method = method_label(method);
        self.inner.requests.with_label_values(&[method, route, status.as_str()]).inc();
        self.inner.durations.with_label_values(&[method, route]).observe(took.as_secs_f64());
    }

    /// Show `class` at 0 before its first 429 (called once per configured class at start).
    pub fn declare_rate_limit_class(&self, class: &str) {
        let _ = self.inner.rate_limited.with_label_values(&[class]);
    }

    /// Count one 429 answer of `class`.
    pub fn rate_limited(&self, class: &str) {
        self.inner.rate_limited.with_label_values(&[class]).inc();
    }

    /// Count `n` rows of `kind` deleted by the housekeeping job (0 declares the series).
    pub fn housekeeping_deleted(&self, kind: &str, n: u64) {
        self.inner.housekeeping_deleted.with_label_values(&[kind]).inc_by(n);
    }

    /// Count one completed housekeeping pass.
    pub fn housekeeping_ran(&self) {
        self.inner.housekeeping_runs.inc();
    }

    /// Latest resource sample: resident memory in bytes and CPU usage in percent.
    pub fn set_process(&self, rss_bytes: u64, cpu_percent: f64) {
        self.inner.resident_memory.set(rss_bytes as f64);
        self.inner.cpu_percent.set(cpu_percent);
    }

    /// The whole exposition: the registry's series and those read from `sources` now.
    pub fn render(&self, sources: &Sources<'_>) -> ApiResult<String> {
        let mut families = self.inner.registry.gather();
        families.extend(scrape::scraped(sources));
        families.retain(|f| !f.get_metric().is_empty());
        families.sort_by(|a, b| a.name().cmp(b.name()));
        let mut out = Vec::with_capacity(8192);
        prometheus::TextEncoder::new().encode(&families, &mut out).map_err(ApiError::internal)?;
        String::from_utf8(out).map_err(ApiError::internal)
    }
}

/// `kanban_housekeeping_deleted_total{kind}` and `kanban_housekeeping_runs_total`, registered.
fn housekeeping_series(registry: &Registry) -> prometheus::Result<(IntCounterVec, IntCounter)> {
    let deleted = IntCounterVec::new(
        Opts::new("kanban_housekeeping_deleted_total", "Expired rows deleted by the housekeeping job"),
        &["kind"],
    )?;
    let runs = IntCounter::new("kanban_housekeeping_runs_total", "Completed housekeeping passes")?;
    registry.register(Box::new(deleted.clone()))?;
    registry.register(Box::new(runs.clone()))?;
    Ok((deleted, runs))
}

/// Standard methods by name; anything else is one label value, so a client cannot create series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Decrements the in-flight gauge when the request ends, also when its future is dropped.
pub struct InFlight(IntGauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_renders_its_own_series_with_their_types() {
        let m = Metrics::new();
        m.observe_request(&Method::GET, "/api/tickets/{ticket_id}", StatusCode::OK, Duration::from_millis(3));
        m.observe_request(
            &Method::from_bytes(b"BREW").expect("token"),
            "unmatched",
            StatusCode::NOT_FOUND,
            Duration::ZERO,
        );
        m.rate_limited("login");
        m.set_process(1024, 12.5);
        m.housekeeping_deleted("anon_sessions", 3);
        m.housekeeping_ran();
        let families = m.inner.registry.gather();
        let mut text = Vec::new();
        prometheus::TextEncoder::new().encode(&families, &mut text).expect("encodes");
        let text = String::from_utf8(text).expect("utf-8");
        for line in [
            "# TYPE kanban_http_requests_total counter",
            "kanban_http_requests_total{method=\"GET\",route=\"/api/tickets/{ticket_id}\",status=\"200\"} 1",
            "kanban_http_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"} 1",
            "kanban_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/tickets/{ticket_id}\",le=\"0.005\"} 1",
            "kanban_rate_limited_total{class=\"login\"} 1",
            "process_resident_memory_bytes 1024",
            "process_cpu_usage_percent 12.5",
            "kanban_housekeeping_deleted_total{kind=\"anon_sessions\"} 3",
            "kanban_housekeeping_runs_total 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
        let build = format!("kanban_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
        assert!(text.lines().any(|l| l == build), "{build} in {text}");
    }
}
