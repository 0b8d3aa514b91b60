//! Ticket history rows and the human-readable durations of the history routes.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub id: i64,
    pub ticket_id: i64,
    pub field_name: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub changed_by: String,
    pub changed_at: String,
}

/// One history row to write.
#[derive(Debug, Clone)]
pub struct Change {
    pub field: &'static str,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// `"30s"`, `"1m"`, `"1h 1m"`, `"1d 1h"` (`statistics.md` §8).
pub fn human_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).floor() as i64;
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// `"just now"`, `"1 minute ago"`, `"5 hours ago"`, `"2 days ago"` (`statistics.md` §9).
pub fn time_ago(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" });
    match seconds.max(0) {
        d if d < 60 => "just now".to_owned(),
        d if d < 3600 => plural(d / 60, "minute"),
        d if d < 86_400 => plural(d / 3600, "hour"),
        d => plural(d / 86_400, "day"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_follow_the_spec_table() {
        assert_eq!(human_duration(0.0), "0s");
        assert_eq!(human_duration(30.9), "30s");
        assert_eq!(human_duration(60.0), "1m");
        assert_eq!(human_duration(3660.0), "1h 1m");
        assert_eq!(human_duration(90_000.0), "1d 1h");
    }

    #[test]
    fn time_ago_uses_singular_for_one() {
        assert_eq!(time_ago(59), "just now");
        assert_eq!(time_ago(60), "1 minute ago");
        assert_eq!(time_ago(300), "5 minutes ago");
        assert_eq!(time_ago(7200), "2 hours ago");
        assert_eq!(time_ago(86_400), "1 day ago");
    }
}
