//! Health routes (`ops.md` §1): the public probes `/health`, `/health/live`, `/health/ready` and
//! `/api/health/simple`, and the ops-role reports `/health/detailed`, `/health/memory` and
//! `/api/health/` (in [`super::health_api`]).
//!
//! Resource figures come from the background sampler's retained samples (`ops::sampler`), never
//! from sysinfo or the filesystem on the request path; the readiness disk check reads the newest
//! sample too.

use std::future::Future;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::OpsAccess;
use crate::db;
use crate::domain::time::now_string;
use crate::error::{ApiResult, ErrorBody};
use crate::ops::memory::round2;
use crate::ops::report::{self, Connections, DetailedHealth, MemoryReport};
use crate::state::AppState;

/// How long each readiness check may take before it fails.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(live))
        .routes(routes!(ready))
        .routes(routes!(simple))
        .routes(routes!(detailed))
        .routes(routes!(memory))
        .routes(routes!(super::health_api::api_health))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `healthy`.
    pub status: &'static str,
    pub version: &'static str,
    pub uptime_seconds: f64,
}

#[derive(Serialize, ToSchema)]
pub struct Liveness {
    /// Always `alive`.
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct SimpleHealth {
    /// Always `ok` (the shape load balancers already probe for).
    pub status: &'static str,
    pub timestamp: String,
}

/// `ok` or `fail`; a failing check carries `error`.
#[derive(Serialize, ToSchema)]
pub struct DatabaseCheck {
    pub status: &'static str,
    pub latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WriterCheck {
    pub status: &'static str,
    /// Commands waiting for the writer when the check began.
    pub queue_depth: usize,
    pub latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DiskCheck {
    pub status: &'static str,
    /// Free MiB on the data directory's filesystem (newest sample); null when unknown.
    pub free_mb: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ShutdownCheck {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReadinessChecks {
    pub database: DatabaseCheck,
    pub writer: WriterCheck,
    pub disk: DiskCheck,
    pub shutdown: ShutdownCheck,
}

/// The readiness report (also the 503 body: a status report, not the error body).
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    pub checks: ReadinessChecks,
}

fn status_of(ok: bool) -> &'static str {
    if ok { "ok" } else { "fail" }
}

/// Run `check` within [`CHECK_TIMEOUT`]; the elapsed milliseconds and the error, if any.
pub async fn timed<F: Future<Output = ApiResult<()>>>(check: F) -> (f64, Option<String>) {
    let start = Instant::now();
    let outcome = tokio::time::timeout(CHECK_TIMEOUT, check).await;
    let latency_ms = round2(start.elapsed().as_secs_f64() * 1000.0);
    let error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
    };
    (latency_ms, error)
}

/// A no-op writer command: proves the writer takes, runs and commits commands.
pub async fn writer_round_trip(state: &AppState) -> ApiResult<()> {
    state.writer.run(|_conn, _ctx| Box::pin(async { Ok(()) })).await
}

/// Open HTTP connections and WebSockets right now.
pub fn connections(state: &AppState) -> Connections {
    let ws = state.hub.stats(false);
    let websocket = ws["total_connections"].as_u64().and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    Connections { http: state.open_connections.get(), websocket }
}

/// Cheap process check.
#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, body = Health)))]
async fn health(State(state): State<AppState>) -> Json<Health> {
    let uptime_seconds = round2(state.started.elapsed().as_secs_f64());
    Json(Health { status: "healthy", version: env!("CARGO_PKG_VERSION"), uptime_seconds })
}

/// Liveness probe: answers whenever the process can.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, body = Liveness)))]
async fn live() -> Json<Liveness> {
    Json(Liveness { status: "alive" })
}

/// Cheap check under `/api`.
#[utoipa::path(get, path = "/api/health/simple", tag = "health", responses((status = 200, body = SimpleHealth)))]
async fn simple() -> Json<SimpleHealth> {
    Json(SimpleHealth { status: "ok", timestamp: now_string() })
}

fn disk_check(state: &AppState) -> DiskCheck {
    let min = state.config.ops.min_free_disk_mb;
    let snapshot = state.sampler.snapshot();
    let Some(free) = snapshot.latest().map(|s| s.disk.free / (1024 * 1024)) else {
        let error = snapshot.last_error.unwrap_or_else(|| "no disk sample yet".into());
        return DiskCheck { status: "fail", free_mb: None, error: Some(error) };
    };
    let error = (free < min).then(|| format!("{free} MB free, below ops.min_free_disk_mb = {min}"));
    DiskCheck { status: status_of(error.is_none()), free_mb: Some(free), error }
}

/// Readiness probe: database, writer round trip (each within 2 s), free disk space (from the
/// newest resource sample) and no shutdown in progress. 503 with the same report when a check fails.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses((status = 200, body = Readiness), (status = 503, description = "Not ready: a check failed", body = Readiness)))]
async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let queue_depth = state.writer.queue_depth();
    let ((db_ms, db_err), (writer_ms, writer_err)) =
        tokio::join!(timed(db::health::ping(&state.db)), timed(writer_round_trip(&state)));
    let disk = disk_check(&state);
    // Read last, so a request that waited on its checks while shutdown began reports it.
    let shutting_down = state.shutdown.is_set();
    let checks = ReadinessChecks {
        database: DatabaseCheck { status: status_of(db_err.is_none()), latency_ms: db_ms, error: db_err },
        writer: WriterCheck {
            status: status_of(writer_err.is_none()),
            queue_depth,
            latency_ms: writer_ms,
            error: writer_err,
        },
        disk,
        shutdown: ShutdownCheck {
            status: status_of(!shutting_down),
            error: shutting_down.then(|| "shutdown in progress".to_owned()),
        },
    };
    let ok = [checks.database.status, checks.writer.status, checks.disk.status, checks.shutdown.status]
        .iter()
        .all(|s| *s == "ok");
    let code = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(Readiness { status: if ok { "ready" } else { "not_ready" }, checks }))
}

/// Resource report: CPU, memory, disk and open connections, from the newest resource sample.
/// Ops role: public when `ops.token` is empty.
#[utoipa::path(get, path = "/health/detailed", tag = "health",
    security(("bearerAuth" = ["admin"]), ("opsToken" = [])),
    responses((status = 200, body = DetailedHealth), (status = 401, body = ErrorBody)))]
async fn detailed(State(state): State<AppState>, _ops: OpsAccess) -> Json<DetailedHealth> {
    let snapshot = state.sampler.snapshot();
    Json(report::detailed(&snapshot, connections(&state), state.config.ops.memory_threshold_mb))
}

/// Memory report with leak detection over the newest 10 samples and statistics over all retained.
/// Ops role: public when `ops.token` is empty.
#[utoipa::path(get, path = "/health/memory", tag = "health",
    security(("bearerAuth" = ["admin"]), ("opsToken" = [])),
    responses((status = 200, body = MemoryReport), (status = 401, body = ErrorBody)))]
async fn memory(State(state): State<AppState>, _ops: OpsAccess) -> Json<MemoryReport> {
    let snapshot = state.sampler.snapshot();
    Json(report::memory_report(&snapshot, connections(&state), state.config.ops.memory_threshold_mb))
}

/// With `ops.token` empty the ops routes are public: list the empty requirement `{}` beside
/// `opsToken`, as OpenAPI spells "credentials optional", so the document describes this server.
pub fn ops_routes_public(doc: &mut Value, public: bool) {
    if !public {
        return;
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for op in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|item| item.values_mut()) {
        if let Some(security) = op.get_mut("security").and_then(Value::as_array_mut)
            && security.iter().any(|r| r.get("opsToken").is_some())
            && !security.contains(&json!({}))
        {
            security.push(json!({}));
        }
    }
}
