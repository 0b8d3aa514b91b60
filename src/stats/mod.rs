//! Statistics, flow metrics and history analytics as pure functions over plain data
//! (`statistics.md`): no axum, no sqlx, no clock. Callers read what a route needs from `db/`, take
//! one `now`, and hand both in; every formula here is unit-tested on hand-computed fixtures.
//!
//! Times are integer milliseconds since the Unix epoch ([`Ms`]) until the last step, so equal
//! inputs give exactly equal means (σ = 0 stays 0) and durations keep millisecond resolution.

pub mod aggregates;
pub mod board;
pub mod classes;
pub mod colors;
pub mod column;
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
/// always canonical, so this only guards against a corrupt row). The canonical form
/// `YYYY-MM-DDTHH:MM:SS.sssZ` is read directly (statistics parse tens of thousands per request);
/// anything else goes through the general RFC 3339 parser.
pub fn parse_ms(text: &str) -> Ms {
    canonical_ms(text.as_bytes())
        .or_else(|| crate::domain::time::parse_rfc3339(text).map(|t| t.timestamp_millis()))
        .unwrap_or(0)
}

fn canonical_ms(b: &[u8]) -> Option<Ms> {
    if b.len() != 24
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[23] != b'Z'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    };
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hh, mm, ss, ms) = (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some((days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss) * 1000 + ms)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_timestamps_parse_like_the_general_parser() {
        for t in [
            "1970-01-01T00:00:00.000Z",
            "2026-11-22T10:10:37.161Z",
            "2024-02-29T23:59:59.999Z",
            "2000-03-01T00:00:00.001Z",
            "1969-12-31T23:59:59.999Z",
        ] {
            let general = crate::domain::time::parse_rfc3339(t).expect("valid").timestamp_millis();
            assert_eq!(canonical_ms(t.as_bytes()), Some(general), "{t}");
            assert_eq!(format_ms(parse_ms(t)), t);
        }
        assert_eq!(canonical_ms(b"2026-11-22T10:10:37+01:00"), None);
        assert_eq!(parse_ms("2026-11-22T11:10:37.161+01:00"), parse_ms("2026-11-22T10:10:37.161Z"));
        assert_eq!(parse_ms("garbage"), 0);
    }
}
