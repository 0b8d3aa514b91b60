//! Timestamps: RFC 3339 UTC with exactly millisecond precision and a `Z` suffix, the one format
//! stored in the database and returned by the API (so text order equals time order).

use chrono::{DateTime, SecondsFormat, Utc};

/// The current time in the canonical format.
pub fn now_string() -> String {
    format_ts(Utc::now())
}

/// Format a UTC time canonically (`2026-11-22T10:10:37.161Z`).
pub fn format_ts(ts: DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Format a Unix time in seconds (a JWT `exp`) canonically.
pub fn format_unix(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0).map(format_ts).unwrap_or_default()
}

/// Parse any RFC 3339 timestamp (any offset) into UTC.
pub fn parse_rfc3339(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim()).ok().map(|t| t.with_timezone(&Utc))
}

/// Milliseconds from `earlier` (a stored timestamp) to `now`, never negative.
pub fn millis_since(earlier: &str, now: DateTime<Utc>) -> i64 {
    parse_rfc3339(earlier).map(|t| (now - t).num_milliseconds().max(0)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_three_fraction_digits_and_z() {
        let t = parse_rfc3339("2026-11-22T11:10:37.1615+01:00").expect("valid");
        assert_eq!(format_ts(t), "2026-11-22T10:10:37.161Z");
        let whole = parse_rfc3339("2026-11-22T10:10:37Z").expect("valid");
        assert_eq!(format_ts(whole), "2026-11-22T10:10:37.000Z");
    }

    #[test]
    fn rejects_non_rfc3339_input() {
        assert!(parse_rfc3339("2026-11-22 10:10").is_none());
        assert!(parse_rfc3339("yesterday").is_none());
    }
}
