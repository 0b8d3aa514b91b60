//! `GET /api/health/` (`ops.md` §1): the comprehensive, sanitised report — server, database
//! figures, realtime hub, sessions, resources, recent activity and derived metrics. It names no
//! user, client id, session id or secret: counts and ids of tickets only.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::health::{connections, timed, writer_round_trip};
use crate::auth::OpsAccess;
use crate::auth::extractor::session_active_since;
use crate::db;
use crate::db::health::HealthFacts;
use crate::domain::time::now_string;
use crate::error::ErrorBody;
use crate::ops::memory::{mib, percent, round2};
use crate::ops::report::{DiskReport, disk_report};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Uptime {
    pub days: u64,
    pub hours: u64,
    pub minutes: u64,
    pub seconds: u64,
    pub total_seconds: f64,
    /// e.g. `0d 0h 0m 41s`.
    pub human_readable: String,
}

#[derive(Serialize, ToSchema)]
pub struct ServerInfo {
    pub name: &'static str,
    pub version: &'static str,
    /// `ops.environment`.
    pub environment: String,
    pub uptime: Uptime,
}

#[derive(Serialize, ToSchema)]
pub struct DatabaseStatistics {
    pub boards: i64,
    pub tickets: i64,
    pub comments: i64,
    pub users: i64,
    pub history_entries: i64,
    pub events: i64,
    /// Tickets per column.
    pub ticket_distribution: BTreeMap<String, i64>,
    /// Tickets per priority.
    pub priority_distribution: BTreeMap<String, i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DatabaseSection {
    /// `connected` or `error`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statistics: Option<DatabaseStatistics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
}

#[derive(Serialize, ToSchema)]
pub struct WebsocketSection {
    /// `active`, or `shutting_down` once shutdown began.
    pub status: &'static str,
    pub active_connections: u64,
    pub total_messages_sent: u64,
    /// Subscribers per board id, and `all` for all-boards subscribers.
    pub board_subscriptions: BTreeMap<String, u64>,
}

#[derive(Serialize, ToSchema)]
pub struct SessionsSection {
    /// Unexpired anonymous sessions; null when the database is unavailable.
    pub active_count: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct CpuResources {
    pub usage_percent: f64,
    pub count: usize,
}

#[derive(Serialize, ToSchema)]
pub struct MemoryResources {
    pub total_mb: f64,
    pub available_mb: f64,
    pub used_mb: f64,
    pub percent: f64,
}

#[derive(Serialize, ToSchema)]
pub struct ProcessResources {
    /// RSS in MiB.
    pub memory_mb: f64,
    pub threads: Option<usize>,
    /// Open HTTP connections + WebSockets.
    pub connections: usize,
}

/// From the newest resource sample.
#[derive(Serialize, ToSchema)]
pub struct Resources {
    pub cpu: CpuResources,
    pub memory: MemoryResources,
    pub disk: DiskReport,
    pub process: ProcessResources,
}

#[derive(Serialize, ToSchema)]
pub struct RecentActivity {
    pub ticket_id: i64,
    pub field: String,
    pub changed_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct DerivedMetrics {
    pub average_tickets_per_board: f64,
    pub average_comments_per_ticket: f64,
    /// boards + tickets + comments + users + history rows.
    pub total_database_records: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ApiHealth {
    /// `unhealthy` (database failed), `degraded` (writer or realtime hub failed) or `healthy`.
    pub status: &'static str,
    pub timestamp: String,
    pub server: ServerInfo,
    pub database: DatabaseSection,
    pub websocket: WebsocketSection,
    pub sessions: SessionsSection,
    /// Null when no resource sample is available.
    pub resources: Option<Resources>,
    pub recent_activity: Vec<RecentActivity>,
    pub metrics: DerivedMetrics,
}

fn uptime(total: f64) -> Uptime {
    let whole = total as u64;
    let (days, hours, minutes, seconds) = (whole / 86_400, whole % 86_400 / 3600, whole % 3600 / 60, whole % 60);
    Uptime {
        days,
        hours,
        minutes,
        seconds,
        total_seconds: round2(total),
        human_readable: format!("{days}d {hours}h {minutes}m {seconds}s"),
    }
}

fn ratio(a: i64, b: i64) -> f64 {
    if b == 0 { 0.0 } else { round2(a as f64 / b as f64) }
}

fn metrics(facts: Option<&HealthFacts>) -> DerivedMetrics {
    let Some(c) = facts.map(|f| f.counts) else {
        return DerivedMetrics {
            average_tickets_per_board: 0.0,
            average_comments_per_ticket: 0.0,
            total_database_records: 0,
        };
    };
    DerivedMetrics {
        average_tickets_per_board: ratio(c.tickets, c.boards),
        average_comments_per_ticket: ratio(c.comments, c.tickets),
        total_database_records: c.boards + c.tickets + c.comments + c.users + c.history_entries,
    }
}

fn database_section(facts: Option<&HealthFacts>) -> DatabaseSection {
    let Some(f) = facts else {
        return DatabaseSection { status: "error", statistics: None, error: Some("database unavailable") };
    };
    let c = f.counts;
    let statistics = DatabaseStatistics {
        boards: c.boards,
        tickets: c.tickets,
        comments: c.comments,
        users: c.users,
        history_entries: c.history_entries,
        events: c.events,
        ticket_distribution: f.by_column.clone(),
        priority_distribution: f.by_priority.clone(),
    };
    DatabaseSection { status: "connected", statistics: Some(statistics), error: None }
}

/// The hub's counts only: its per-connection detail (client ids, usernames) is never asked for.
fn websocket_section(state: &AppState) -> WebsocketSection {
    let stats = state.hub.stats(false);
    let board_subscriptions = stats["board_subscriptions"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0))).collect())
        .unwrap_or_default();
    WebsocketSection {
        status: if state.hub.is_shutting_down() { "shutting_down" } else { "active" },
        active_connections: stats["total_connections"].as_u64().unwrap_or(0),
        total_messages_sent: stats["total_messages_sent"].as_u64().unwrap_or(0),
        board_subscriptions,
    }
}

fn resources(state: &AppState) -> Option<Resources> {
    let snapshot = state.sampler.snapshot();
    let s = snapshot.latest()?;
    let conns = connections(state);
    let used = s.system_total_bytes.saturating_sub(s.system_available_bytes);
    Some(Resources {
        cpu: CpuResources { usage_percent: s.system_cpu_percent, count: s.cpu_count },
        memory: MemoryResources {
            total_mb: mib(s.system_total_bytes),
            available_mb: mib(s.system_available_bytes),
            used_mb: mib(used),
            percent: percent(used as f64, s.system_total_bytes as f64),
        },
        disk: disk_report(&s.disk),
        process: ProcessResources {
            memory_mb: mib(s.rss_bytes),
            threads: s.threads,
            connections: conns.http + conns.websocket,
        },
    })
}

/// Comprehensive, sanitised report: no usernames, client ids, session ids or secrets.
/// Ops role: public when `ops.token` is empty.
#[utoipa::path(get, path = "/api/health", tag = "health",
    security(("bearerAuth" = ["admin"]), ("opsToken" = [])),
    responses((status = 200, body = ApiHealth), (status = 401, body = ErrorBody)))]
pub async fn api_health(State(state): State<AppState>, _ops: OpsAccess) -> Json<ApiHealth> {
    let since = session_active_since(state.config.auth.anonymous_session_idle_days);
    let (facts, (_, writer_err)) = tokio::join!(db::health::facts(&state.db, &since), timed(writer_round_trip(&state)));
    let facts = facts.inspect_err(|e| tracing::warn!(error = %e, "health report: database unavailable")).ok();
    let status = match (&facts, writer_err.is_some() || state.hub.is_shutting_down()) {
        (None, _) => "unhealthy",
        (Some(_), true) => "degraded",
        (Some(_), false) => "healthy",
    };
    let recent = facts.as_ref().map(|f| f.recent.clone()).unwrap_or_default();
    Json(ApiHealth {
        status,
        timestamp: now_string(),
        server: ServerInfo {
            name: "Agent Kanban API",
            version: env!("CARGO_PKG_VERSION"),
            environment: state.config.ops.environment.clone(),
            uptime: uptime(state.started.elapsed().as_secs_f64()),
        },
        database: database_section(facts.as_ref()),
        websocket: websocket_section(&state),
        sessions: SessionsSection { active_count: facts.as_ref().map(|f| f.counts.active_sessions) },
        resources: resources(&state),
        recent_activity: recent
            .into_iter()
            .map(|a| RecentActivity { ticket_id: a.ticket_id, field: a.field, changed_at: a.changed_at })
            .collect(),
        metrics: metrics(facts.as_ref()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_splits_into_days_hours_minutes_seconds() {
        let u = uptime(90_061.5);
        assert_eq!((u.days, u.hours, u.minutes, u.seconds), (1, 1, 1, 1));
        assert_eq!(u.human_readable, "1d 1h 1m 1s");
        assert_eq!(uptime(41.2).human_readable, "0d 0h 0m 41s");
    }

    #[test]
    fn averages_are_zero_without_a_divisor() {
        assert_eq!(ratio(5, 0), 0.0);
        assert_eq!(ratio(10, 3), 3.33);
    }
}
