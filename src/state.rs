//! The one shared state handle passed to every handler.

use std::sync::Arc;

use sqlx::SqlitePool;

use crate::auth::AuthContext;
use crate::config::Config;
use crate::db::writer::WriterHandle;
use crate::metrics::Metrics;
use crate::ops::{Sampler, ShutdownFlag};
use crate::ratelimit::{Limiters, TrustedProxies};
use crate::serve::OpenConnections;
use crate::stats::dragdrop::DragDropMetrics;
use crate::ws::Hub;

#[derive(Clone)]
pub struct AppState {
    /// Read-only pool (`query_only = ON`).
    pub db: SqlitePool,
    /// The single writer; every change goes through it.
    pub writer: WriterHandle,
    pub config: Arc<Config>,
    pub auth: AuthContext,
    /// The realtime hub (WebSocket channels and connections).
    pub hub: Hub,
    /// `server.trusted_proxies`, parsed once at start.
    pub proxies: TrustedProxies,
    /// Drag-and-drop metrics, in memory since start (`statistics.md` §11).
    pub dragdrop: DragDropMetrics,
    /// Prometheus metrics of this server (`GET /metrics`).
    pub metrics: Metrics,
    /// The rate limiters of every class (pruned by the housekeeping job).
    pub limiters: Limiters,
    /// The background resource sampler's samples (health routes read only these).
    pub sampler: Sampler,
    /// Set when shutdown begins (`/health/ready` answers 503 from then on).
    pub shutdown: ShutdownFlag,
    /// Open HTTP connections, counted by the accept loop.
    pub open_connections: OpenConnections,
    /// When the server started (uptime).
    pub started: std::time::Instant,
}
