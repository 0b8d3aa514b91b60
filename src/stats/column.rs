//! The column report (`statistics.md` §4, `GET …/column/{column_name}/statistics`): one column's
//! time-in-column figures, colour distribution and warning and danger thresholds.

use serde::Serialize;
use utoipa::ToSchema;

use super::aggregates::Summary;
use super::board::{ColorSummary, ColumnTimes, column_times, hours, seconds};
use super::classes::{ColumnClass, classify};
use super::{BoardFacts, Ms, TicketFacts};

/// `statistics` of the column route (no hours except mean and σ, as the reference).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ColumnFigures {
    pub mean_time_seconds: f64,
    pub mean_time_hours: f64,
    pub std_deviation_seconds: f64,
    pub std_deviation_hours: f64,
    pub median_time_seconds: f64,
    pub percentile_95_seconds: f64,
    pub min_time_seconds: f64,
    pub max_time_seconds: f64,
}

/// Warning (mean + σ) and danger (mean + 2σ) thresholds, seconds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Thresholds {
    pub warning_threshold_seconds: f64,
    pub danger_threshold_seconds: f64,
}

/// `GET /api/statistics/boards/{id}/column/{column_name}/statistics`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ColumnReport {
    pub board_id: i64,
    pub column_name: String,
    pub ticket_count: usize,
    pub statistics: ColumnFigures,
    pub color_distribution: ColorSummary,
    pub thresholds: Thresholds,
}

/// The column report of `column` (a board column, board spelling) from its tickets.
pub fn column_report(board: &BoardFacts, column: &str, tickets: &[TicketFacts], now: Ms) -> ColumnReport {
    let only = BoardFacts { id: board.id, name: board.name.clone(), columns: vec![column.to_owned()] };
    let mut times = column_times(&only, tickets, now);
    let mut c = times.pop().unwrap_or(ColumnTimes {
        name: column.to_owned(),
        class: ColumnClass::InProgress,
        sorted: Vec::new(),
        summary: Summary::default(),
    });
    // The class depends on the column's place on the real board, not on the one-column view.
    c.class = classify(column, &board.columns);
    let mut distribution = ColorSummary::default();
    for &t in &c.sorted {
        distribution.add(c.color(t));
    }
    let s = &c.summary;
    ColumnReport {
        board_id: board.id,
        column_name: column.to_owned(),
        ticket_count: s.count,
        statistics: ColumnFigures {
            mean_time_seconds: seconds(s.mean),
            mean_time_hours: hours(s.mean),
            std_deviation_seconds: seconds(s.std_dev),
            std_deviation_hours: hours(s.std_dev),
            median_time_seconds: seconds(s.median),
            percentile_95_seconds: seconds(s.p95),
            min_time_seconds: seconds(s.min),
            max_time_seconds: seconds(s.max),
        },
        color_distribution: distribution,
        thresholds: Thresholds {
            warning_threshold_seconds: seconds(s.mean + s.std_dev),
            danger_threshold_seconds: seconds(s.mean + 2.0 * s.std_dev),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::board::tests::{NOW, board, three_in_progress};

    #[test]
    fn the_column_report_matches_the_spec_example() {
        let r = column_report(&board(), "In Progress", &three_in_progress(), NOW);
        assert_eq!(r.ticket_count, 3);
        assert_eq!(r.statistics.mean_time_seconds, 7200.0);
        assert_eq!(r.color_distribution.good, 3);
        assert_eq!(r.thresholds.warning_threshold_seconds, 10800.0);
        assert_eq!(r.thresholds.danger_threshold_seconds, 14400.0);
        let empty = column_report(&board(), "Done", &[], NOW);
        assert_eq!((empty.ticket_count, empty.thresholds.danger_threshold_seconds), (0, 0.0));
    }
}
