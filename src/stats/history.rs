//! History stats across all boards (`statistics.md` §10), folded from grouped counts.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use utoipa::ToSchema;

/// Count of history rows for one (field, user, UTC date) group.
#[derive(Debug, Clone)]
pub struct GroupCount {
    pub field: String,
    pub user: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldCount {
    pub field: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UserCount {
    pub user: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DateCount {
    pub date: String,
    pub count: i64,
}

/// `GET /api/history/stats`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryStats {
    pub analysis_period_days: i64,
    pub total_changes: i64,
    /// Count desc, then name asc.
    pub changes_by_field: Vec<FieldCount>,
    /// Count desc, then name asc.
    pub changes_by_user: Vec<UserCount>,
    /// Only dates with at least one change, ascending.
    pub daily_activity: Vec<DateCount>,
}

fn ranked(counts: HashMap<String, i64>) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

pub fn history_stats(days: i64, groups: &[GroupCount]) -> HistoryStats {
    let (mut fields, mut users) = (HashMap::new(), HashMap::new());
    let mut dates: BTreeMap<String, i64> = BTreeMap::new();
    for g in groups {
        *fields.entry(g.field.clone()).or_insert(0) += g.count;
        *users.entry(g.user.clone()).or_insert(0) += g.count;
        *dates.entry(g.date.clone()).or_insert(0) += g.count;
    }
    HistoryStats {
        analysis_period_days: days,
        total_changes: groups.iter().map(|g| g.count).sum(),
        changes_by_field: ranked(fields).into_iter().map(|(field, count)| FieldCount { field, count }).collect(),
        changes_by_user: ranked(users).into_iter().map(|(user, count)| UserCount { user, count }).collect(),
        daily_activity: dates
            .into_iter()
            .filter(|(_, c)| *c > 0)
            .map(|(date, count)| DateCount { date, count })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(field: &str, user: &str, date: &str, count: i64) -> GroupCount {
        GroupCount { field: field.into(), user: user.into(), date: date.into(), count }
    }

    #[test]
    fn counts_are_ranked_by_count_then_name_and_dates_ascend() {
        let groups = [
            g("column", "alice", "2026-11-22", 15),
            g("column", "system", "2026-11-21", 5),
            g("status", "alice", "2026-11-21", 10),
            g("status", "bob", "2026-11-22", 5),
            g("title", "system", "2026-11-22", 7),
        ];
        let s = history_stats(7, &groups);
        assert_eq!(s.total_changes, 42);
        let f: Vec<(&str, i64)> = s.changes_by_field.iter().map(|c| (c.field.as_str(), c.count)).collect();
        assert_eq!(f, [("column", 20), ("status", 15), ("title", 7)]);
        let u: Vec<(&str, i64)> = s.changes_by_user.iter().map(|c| (c.user.as_str(), c.count)).collect();
        assert_eq!(u, [("alice", 25), ("system", 12), ("bob", 5)]);
        let d: Vec<(&str, i64)> = s.daily_activity.iter().map(|c| (c.date.as_str(), c.count)).collect();
        assert_eq!(d, [("2026-11-21", 15), ("2026-11-22", 27)]);
    }

    #[test]
    fn ties_sort_by_name_and_no_history_gives_empty_lists() {
        let s = history_stats(1, &[g("title", "zed", "2026-01-01", 2), g("assignee", "amy", "2026-01-01", 2)]);
        assert_eq!(s.changes_by_field[0].field, "assignee");
        assert_eq!(s.changes_by_user[0].user, "amy");
        let empty = history_stats(7, &[]);
        assert_eq!((empty.total_changes, empty.changes_by_field.len(), empty.daily_activity.len()), (0, 0, 0));
    }
}
