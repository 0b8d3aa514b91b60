//! Service routes: `/`, `/api/status`, `/metrics` and `/openapi.json`.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(root)).routes(routes!(status)).routes(routes!(metrics))
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
        endpoints: Endpoints { boards: "/api/boards/", tickets: "/api/tickets/", websocket: "/ws/connect" },
    })
}

/// Prometheus text exposition of the writer's counters: committed batches, commands, time inside
/// commands, SQL statements and trigger runs on the write connection, the largest batch and the
/// queue depth. Differences between two scrapes give batch size, time and statements per command.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain")))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let s = state.writer.stats();
    let series: [(&str, &str, &str, f64); 7] = [
        ("kanban_db_writer_batches_total", "counter", "Transactions committed by the writer", s.batches as f64),
        ("kanban_db_writer_commands_total", "counter", "Commands run by the writer", s.commands as f64),
        ("kanban_db_writer_command_seconds_total", "counter", "Time spent inside writer commands", s.command_seconds),
        (
            "kanban_db_writer_statements_total",
            "counter",
            "SQL statements started on the write connection",
            s.statements as f64,
        ),
        (
            "kanban_db_writer_trigger_runs_total",
            "counter",
            "Trigger programs run on the write connection",
            s.trigger_runs as f64,
        ),
        ("kanban_db_writer_max_batch_size", "gauge", "Largest batch committed since start", s.max_batch_size as f64),
        ("kanban_db_writer_queue_depth", "gauge", "Commands waiting for the writer", state.writer.queue_depth() as f64),
    ];
    let mut body = String::with_capacity(1024);
    for (name, kind, help, value) in series {
        body.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body)
}
