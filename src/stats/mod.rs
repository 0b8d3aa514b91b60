//! Statistics, flow metrics and history analytics as pure functions over plain data
//! (`statistics.md`): no axum, no sqlx, no clock. Callers read what a route needs from `db/`, take
//! one `now`, and hand both in; every formula here is unit-tested on hand-computed fixtures.
//!
//! Times are integer milliseconds since the Unix epoch ([`Ms`]) until the last step, so equal
//! inputs give exactly equal means (σ = 0 stays 0) and durations keep millisecond resolution.

pub mod aggregates;
pub mod board;
pub mod classes;
pub mod dragdrop;
pub mod flow;
pub mod history;
pub mod performance;
pub mod timeline;

use chrono::{DateTime, Utc};

/// Milliseconds since the Unix epoch (UTC).
pub type Ms = i64;

/// One day in milliseconds.
pub const DAY_MS: Ms = 86_400_000;

/// Milliseconds as float seconds (`90.5`).
pub fn secs(ms: Ms) -> f64 {
    ms as f64 / 1000.0
}

/// A stored timestamp as [`Ms`]; unparseable text counts as the epoch (stored timestamps are
/// always canonical, so this only guards against a corrupt row).
pub fn parse_ms(text: &str) -> Ms {
    crate::domain::time::parse_rfc3339(text).map(|t| t.timestamp_millis()).unwrap_or(0)
}

/// [`Ms`] back to a UTC time.
pub fn to_datetime(ms: Ms) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The canonical timestamp text of an [`Ms`].
pub fn format_ms(ms: Ms) -> String {
    crate::domain::time::format_ts(to_datetime(ms))
}

/// A board as the statistics need it.
#[derive(Debug, Clone)]
pub struct BoardFacts {
    pub id: i64,
    pub name: String,
    pub columns: Vec<String>,
}

/// A ticket as the statistics need it.
#[derive(Debug, Clone)]
pub struct TicketFacts {
    pub id: i64,
    pub title: String,
    pub current_column: String,
    pub created_at: Ms,
    pub column_entered_at: Ms,
    /// Canonical text, echoed by the realtime colour route.
    pub updated_at: String,
}

/// `cache_info` of the routes that used to cache: there is no cache (`api.md` §8).
#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
pub struct CacheInfo {
    pub cached: bool,
    pub cache_ttl_seconds: i64,
}

impl CacheInfo {
    pub const NONE: CacheInfo = CacheInfo { cached: false, cache_ttl_seconds: 0 };
}
