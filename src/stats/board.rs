//! Time-in-column statistics of a board (`statistics.md` §3–5): per-column aggregates, a ticket's
//! z-score, percentile rank and colour. The colour listings are `colors.rs`, the column report
//! `column.rs`.

use std::collections::HashMap;

use serde::Serialize;
use serde::ser::SerializeMap;
use utoipa::ToSchema;

use super::aggregates::{Summary, summarize};
use super::classes::{ColumnClass, classify};
use super::{BoardFacts, CacheInfo, Ms, TicketFacts, secs};

/// Colour class of a ticket (`statistics.md` §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ColorClass {
    Normal,
    Good,
    Warning,
    Critical,
}

/// `normal` in `done` / `not_started` columns and without a z-score; else by z.
pub fn color_class(class: ColumnClass, z: Option<f64>) -> ColorClass {
    match (class, z) {
        (ColumnClass::Done | ColumnClass::NotStarted, _) | (_, None) => ColorClass::Normal,
        (_, Some(z)) if z > 2.0 => ColorClass::Critical,
        (_, Some(z)) if z > 1.0 => ColorClass::Warning,
        _ => ColorClass::Good,
    }
}

/// One column's times in column (ms, sorted) and their summary.
#[derive(Debug, Clone)]
pub struct ColumnTimes {
    pub name: String,
    pub class: ColumnClass,
    pub sorted: Vec<Ms>,
    pub summary: Summary,
}

impl ColumnTimes {
    /// z = (t − mean) / σ when σ > 0.
    pub fn z_score(&self, t: Ms) -> Option<f64> {
        (self.summary.std_dev > 0.0).then(|| (t as f64 - self.summary.mean) / self.summary.std_dev)
    }

    /// 100 · (values strictly below t) / (n − 1), only when there is a z-score.
    pub fn percentile_rank(&self, t: Ms) -> Option<f64> {
        self.z_score(t)?;
        let below = self.sorted.partition_point(|&v| v < t);
        Some(100.0 * below as f64 / (self.sorted.len() - 1) as f64)
    }

    pub fn color(&self, t: Ms) -> ColorClass {
        color_class(self.class, self.z_score(t))
    }
}

/// Times in column of every board column, in board order, from one pass over the tickets.
pub fn column_times(board: &BoardFacts, tickets: &[TicketFacts], now: Ms) -> Vec<ColumnTimes> {
    let index: HashMap<&str, usize> = board.columns.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    let mut times: Vec<Vec<Ms>> = vec![Vec::new(); board.columns.len()];
    for t in tickets {
        if let Some(&i) = index.get(t.current_column.as_str()) {
            times[i].push((now - t.column_entered_at).max(0));
        }
    }
    board
        .columns
        .iter()
        .zip(times)
        .map(|(name, mut sorted)| {
            let summary = summarize(&mut sorted);
            ColumnTimes { name: name.clone(), class: classify(name, &board.columns), sorted, summary }
        })
        .collect()
}

/// One column of `GET …/boards/{id}/statistics`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ColumnStatistics {
    pub column_name: String,
    pub ticket_count: usize,
    pub mean_time_seconds: f64,
    pub mean_time_hours: f64,
    pub std_deviation_seconds: f64,
    pub std_deviation_hours: f64,
    pub median_time_seconds: f64,
    pub median_time_hours: f64,
    pub min_time_seconds: f64,
    pub max_time_seconds: f64,
    pub percentile_95_seconds: f64,
    pub percentile_95_hours: f64,
}

pub(super) fn seconds(ms: f64) -> f64 {
    ms / 1000.0
}

pub(super) fn hours(ms: f64) -> f64 {
    ms / 3_600_000.0
}

impl From<&ColumnTimes> for ColumnStatistics {
    fn from(c: &ColumnTimes) -> Self {
        let s = &c.summary;
        ColumnStatistics {
            column_name: c.name.clone(),
            ticket_count: s.count,
            mean_time_seconds: seconds(s.mean),
            mean_time_hours: hours(s.mean),
            std_deviation_seconds: seconds(s.std_dev),
            std_deviation_hours: hours(s.std_dev),
            median_time_seconds: seconds(s.median),
            median_time_hours: hours(s.median),
            min_time_seconds: seconds(s.min),
            max_time_seconds: seconds(s.max),
            percentile_95_seconds: seconds(s.p95),
            percentile_95_hours: hours(s.p95),
        }
    }
}

/// A JSON object whose keys keep their order (board order), unlike a `HashMap`.
#[derive(Debug, Clone)]
pub struct Ordered<V>(pub Vec<(String, V)>);

impl<V: Serialize> Serialize for Ordered<V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// `GET /api/statistics/boards/{id}/statistics`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoardStatistics {
    pub board_id: i64,
    pub board_name: String,
    /// Column name → statistics, in board order; empty columns have every number 0.
    #[schema(value_type = HashMap<String, ColumnStatistics>)]
    pub column_statistics: Ordered<ColumnStatistics>,
    pub cache_info: CacheInfo,
}

pub fn board_statistics(board: &BoardFacts, tickets: &[TicketFacts], now: Ms) -> BoardStatistics {
    let columns = column_times(board, tickets, now);
    BoardStatistics {
        board_id: board.id,
        board_name: board.name.clone(),
        column_statistics: Ordered(columns.iter().map(|c| (c.name.clone(), ColumnStatistics::from(c))).collect()),
        cache_info: CacheInfo::NONE,
    }
}

/// `GET /api/statistics/tickets/{id}/statistics`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketStatistics {
    pub ticket_id: i64,
    pub current_column: String,
    pub time_in_current_column_seconds: f64,
    pub time_in_current_column_hours: f64,
    pub time_in_current_column_days: f64,
    pub total_age_seconds: f64,
    pub total_age_hours: f64,
    pub total_age_days: f64,
    /// Number of the ticket's `column` history rows.
    pub column_transitions: i64,
    pub z_score: Option<f64>,
    /// 0 (fastest) ..= 100 (slowest); null when there is no z-score.
    pub percentile_rank: Option<f64>,
    pub color_classification: ColorClass,
    pub is_outlier: bool,
}

/// What the ticket statistics need: the ticket, its column's times and its transition count.
pub struct TicketInput<'a> {
    pub ticket: &'a TicketFacts,
    pub column: &'a ColumnTimes,
    pub column_transitions: i64,
    pub now: Ms,
}

pub fn ticket_statistics(input: &TicketInput<'_>) -> TicketStatistics {
    let t = input.ticket;
    let in_column = (input.now - t.column_entered_at).max(0);
    let age = (input.now - t.created_at).max(0);
    let z = input.column.z_score(in_column);
    TicketStatistics {
        ticket_id: t.id,
        current_column: t.current_column.clone(),
        time_in_current_column_seconds: secs(in_column),
        time_in_current_column_hours: hours(in_column as f64),
        time_in_current_column_days: in_column as f64 / 86_400_000.0,
        total_age_seconds: secs(age),
        total_age_hours: hours(age as f64),
        total_age_days: age as f64 / 86_400_000.0,
        column_transitions: input.column_transitions,
        z_score: z,
        percentile_rank: input.column.percentile_rank(in_column),
        color_classification: color_class(input.column.class, z),
        is_outlier: z.is_some_and(|z| z.abs() > 2.0),
    }
}

/// Counts per colour class; always all four keys.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ColorSummary {
    pub normal: usize,
    pub good: usize,
    pub warning: usize,
    pub critical: usize,
}

impl ColorSummary {
    pub(super) fn add(&mut self, c: ColorClass) {
        match c {
            ColorClass::Normal => self.normal += 1,
            ColorClass::Good => self.good += 1,
            ColorClass::Warning => self.warning += 1,
            ColorClass::Critical => self.critical += 1,
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::domain::columns::DEFAULT_COLUMNS;

    const H: Ms = 3_600_000;
    pub const NOW: Ms = 1_000 * H;

    pub fn board() -> BoardFacts {
        BoardFacts { id: 1, name: "My First Board".into(), columns: DEFAULT_COLUMNS.map(String::from).to_vec() }
    }

    pub fn ticket(id: i64, column: &str, hours_in_column: i64) -> TicketFacts {
        TicketFacts {
            id,
            title: format!("T{id}"),
            current_column: column.into(),
            created_at: NOW - 24 * H,
            column_entered_at: NOW - hours_in_column * H,
            updated_at: "2026-11-22T10:00:00.000Z".into(),
        }
    }

    /// The spec example: 1 h, 2 h and 3 h in In Progress.
    pub fn three_in_progress() -> Vec<TicketFacts> {
        vec![ticket(5, "In Progress", 1), ticket(6, "In Progress", 2), ticket(7, "In Progress", 3)]
    }

    #[test]
    fn board_statistics_match_the_spec_example_and_keep_board_order() {
        let stats = board_statistics(&board(), &three_in_progress(), NOW);
        let keys: Vec<&str> = stats.column_statistics.0.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, DEFAULT_COLUMNS);
        let ip = &stats.column_statistics.0[1].1;
        assert_eq!(ip.ticket_count, 3);
        assert_eq!((ip.mean_time_seconds, ip.mean_time_hours), (7200.0, 2.0));
        assert_eq!((ip.std_deviation_seconds, ip.std_deviation_hours), (3600.0, 1.0));
        assert_eq!((ip.median_time_seconds, ip.min_time_seconds, ip.max_time_seconds), (7200.0, 3600.0, 10800.0));
        assert_eq!((ip.percentile_95_seconds, ip.percentile_95_hours), (10800.0, 3.0));
        let json = serde_json::to_value(&stats).expect("json");
        assert_eq!(json["column_statistics"]["Done"]["ticket_count"], 0);
        assert_eq!(json["column_statistics"]["Done"]["mean_time_seconds"], 0.0);
        assert_eq!(json["cache_info"], serde_json::json!({"cached": false, "cache_ttl_seconds": 0}));
    }

    #[test]
    fn an_empty_board_has_every_column_at_zero() {
        let stats = board_statistics(&board(), &[], NOW);
        assert_eq!(stats.column_statistics.0.len(), 5);
        assert!(stats.column_statistics.0.iter().all(|(_, c)| c.ticket_count == 0 && c.max_time_seconds == 0.0));
    }

    #[test]
    fn the_slowest_ticket_of_the_spec_example() {
        let tickets = three_in_progress();
        let columns = column_times(&board(), &tickets, NOW);
        let input = TicketInput { ticket: &tickets[2], column: &columns[1], column_transitions: 2, now: NOW };
        let s = ticket_statistics(&input);
        assert_eq!(s.time_in_current_column_seconds, 10800.0);
        assert_eq!((s.time_in_current_column_hours, s.time_in_current_column_days), (3.0, 0.125));
        assert_eq!((s.total_age_seconds, s.total_age_hours, s.total_age_days), (86400.0, 24.0, 1.0));
        assert_eq!(s.z_score, Some(1.0));
        assert_eq!(s.percentile_rank, Some(100.0));
        assert_eq!(s.color_classification, ColorClass::Good, "z = 1.0 is not above 1.0");
        assert!(!s.is_outlier);
        let fastest = TicketInput { ticket: &tickets[0], ..input };
        assert_eq!(ticket_statistics(&fastest).percentile_rank, Some(0.0));
    }

    #[test]
    fn one_ticket_or_equal_times_have_no_z_score() {
        let one = vec![ticket(1, "In Progress", 5)];
        let c = &column_times(&board(), &one, NOW)[1];
        assert_eq!((c.z_score(5 * H), c.percentile_rank(5 * H), c.color(5 * H)), (None, None, ColorClass::Normal));
        let same = vec![ticket(1, "Blocked", 2), ticket(2, "Blocked", 2), ticket(3, "Blocked", 2)];
        let c = &column_times(&board(), &same, NOW)[2];
        assert_eq!(c.summary.std_dev, 0.0);
        assert_eq!(c.z_score(2 * H), None);
    }

    #[test]
    fn colours_by_z_and_column_class() {
        use ColumnClass::*;
        assert_eq!(color_class(InProgress, Some(2.01)), ColorClass::Critical);
        assert_eq!(color_class(InProgress, Some(2.0)), ColorClass::Warning);
        assert_eq!(color_class(InProgress, Some(1.01)), ColorClass::Warning);
        assert_eq!(color_class(InProgress, Some(-3.0)), ColorClass::Good);
        assert_eq!(color_class(Done, Some(5.0)), ColorClass::Normal);
        assert_eq!(color_class(NotStarted, Some(5.0)), ColorClass::Normal);
        assert_eq!(color_class(InProgress, None), ColorClass::Normal);
    }

    #[test]
    fn an_outlier_is_more_than_two_deviations_away() {
        // Ten tickets at 1 h and one at 100 h: z of the slow one ≈ 3.02.
        let mut tickets: Vec<TicketFacts> = (1..=10).map(|i| ticket(i, "In Progress", 1)).collect();
        tickets.push(ticket(11, "In Progress", 100));
        let columns = column_times(&board(), &tickets, NOW);
        let input = TicketInput { ticket: &tickets[10], column: &columns[1], column_transitions: 1, now: NOW };
        let s = ticket_statistics(&input);
        assert!(s.is_outlier);
        assert_eq!(s.color_classification, ColorClass::Critical);
        assert!((s.z_score.expect("z") - 3.015).abs() < 0.001, "{:?}", s.z_score);
    }
}
