//! Drag-and-drop metrics (`statistics.md` §11): kept in process memory per board since start or
//! the last clear (not persisted), fed by single moves and bulk moves.
//!
//! The store is a std `Mutex` around a small map; it is never held across an `.await` (every
//! method locks, updates or copies, and returns).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use utoipa::ToSchema;

use super::{Ms, format_ms};

/// The operation kinds that are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    MoveTicket,
    BulkMove,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::MoveTicket => "move_ticket",
            Operation::BulkMove => "bulk_move",
        }
    }
}

/// One recorded operation.
#[derive(Debug, Clone, Copy)]
pub struct Record {
    pub board_id: i64,
    pub op: Operation,
    pub success: bool,
    pub duration_ms: f64,
    pub at: Ms,
}

/// Counts and summed duration of one operation kind.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
pub struct OperationTotals {
    pub count: u64,
    pub duration_ms: f64,
}

/// What is kept for one board.
#[derive(Debug, Clone, Default)]
pub struct BoardMetrics {
    pub total: u64,
    pub successful: u64,
    pub failed: u64,
    pub total_duration_ms: f64,
    pub by_type: BTreeMap<&'static str, OperationTotals>,
    pub first_recorded: Ms,
    pub last_updated: Ms,
}

impl BoardMetrics {
    fn add(&mut self, r: &Record) {
        if self.total == 0 {
            self.first_recorded = r.at;
        }
        self.total += 1;
        if r.success {
            self.successful += 1;
        } else {
            self.failed += 1;
        }
        self.total_duration_ms += r.duration_ms;
        let t = self.by_type.entry(r.op.name()).or_default();
        t.count += 1;
        t.duration_ms += r.duration_ms;
        self.last_updated = r.at;
    }
}

/// The shared, cloneable store.
#[derive(Debug, Clone, Default)]
pub struct DragDropMetrics {
    boards: Arc<Mutex<HashMap<i64, BoardMetrics>>>,
}

impl DragDropMetrics {
    fn lock(&self) -> MutexGuard<'_, HashMap<i64, BoardMetrics>> {
        // A panic while holding this lock cannot leave a half-updated entry that matters more
        // than losing metrics, so a poisoned lock is simply reused.
        self.boards.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn record(&self, r: Record) {
        self.lock().entry(r.board_id).or_default().add(&r);
    }

    /// A copy of one board's metrics, if any operation was recorded.
    pub fn board(&self, board_id: i64) -> Option<BoardMetrics> {
        self.lock().get(&board_id).cloned()
    }

    /// A copy of every board's metrics, by board id.
    pub fn all(&self) -> BTreeMap<i64, BoardMetrics> {
        self.lock().iter().map(|(k, v)| (*k, v.clone())).collect()
    }

    pub fn boards_with_metrics(&self) -> usize {
        self.lock().len()
    }

    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// The per-board `metrics` object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MetricsView {
    pub total_operations: u64,
    pub successful_operations: u64,
    pub failed_operations: u64,
    pub total_duration_ms: f64,
    pub average_duration_ms: f64,
    pub operations_by_type: BTreeMap<&'static str, OperationTotals>,
    pub first_recorded: String,
    pub last_updated: String,
}

impl From<&BoardMetrics> for MetricsView {
    fn from(m: &BoardMetrics) -> Self {
        MetricsView {
            total_operations: m.total,
            successful_operations: m.successful,
            failed_operations: m.failed,
            total_duration_ms: m.total_duration_ms,
            average_duration_ms: ratio(m.total_duration_ms, m.total),
            operations_by_type: m.by_type.clone(),
            first_recorded: format_ms(m.first_recorded),
            last_updated: format_ms(m.last_updated),
        }
    }
}

fn ratio(sum: f64, n: u64) -> f64 {
    if n == 0 { 0.0 } else { sum / n as f64 }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PerformanceAnalysis {
    /// successful / total · 100.
    pub success_rate: f64,
    pub average_duration_ms: f64,
    /// total / window hours, the window being max(now − first_recorded, 60 s).
    pub operations_per_hour: f64,
}

pub fn analysis(m: &BoardMetrics, now: Ms) -> PerformanceAnalysis {
    let window_ms = (now - m.first_recorded).max(60_000);
    PerformanceAnalysis {
        success_rate: ratio(m.successful as f64, m.total) * 100.0,
        average_duration_ms: ratio(m.total_duration_ms, m.total),
        operations_per_hour: m.total as f64 / (window_ms as f64 / 3_600_000.0),
    }
}

/// `aggregate_metrics` of `GET /api/statistics/drag-drop/metrics/all`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AggregateMetrics {
    pub total_operations: u64,
    pub total_successful_operations: u64,
    pub total_failed_operations: u64,
    /// Σ duration / Σ operations (weighted); 0 when none.
    pub average_duration_ms: f64,
    /// Σ successful / Σ total · 100; 0 when none.
    pub success_rate: f64,
}

pub fn aggregate<'a>(boards: impl IntoIterator<Item = &'a BoardMetrics>) -> AggregateMetrics {
    let (mut total, mut ok, mut failed, mut duration) = (0, 0, 0, 0.0);
    for m in boards {
        total += m.total;
        ok += m.successful;
        failed += m.failed;
        duration += m.total_duration_ms;
    }
    AggregateMetrics {
        total_operations: total,
        total_successful_operations: ok,
        total_failed_operations: failed,
        average_duration_ms: ratio(duration, total),
        success_rate: ratio(ok as f64, total) * 100.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(board_id: i64, op: Operation, success: bool, duration_ms: f64, at: Ms) -> Record {
        Record { board_id, op, success, duration_ms, at }
    }

    #[test]
    fn the_spec_example_four_moves_one_failed() {
        let store = DragDropMetrics::default();
        for (i, ok) in [true, true, false, true].into_iter().enumerate() {
            store.record(rec(1, Operation::MoveTicket, ok, 5.0, i as Ms * 1000));
        }
        let m = store.board(1).expect("recorded");
        let view = MetricsView::from(&m);
        assert_eq!((view.total_operations, view.successful_operations, view.failed_operations), (4, 3, 1));
        assert_eq!((view.total_duration_ms, view.average_duration_ms), (20.0, 5.0));
        assert_eq!(view.operations_by_type["move_ticket"].count, 4);
        assert_eq!(view.first_recorded, "1970-01-01T00:00:00.000Z");
        assert_eq!(view.last_updated, "1970-01-01T00:00:03.000Z");
        // 4 operations in a 30-minute window: 8 per hour.
        let a = analysis(&m, 30 * 60_000);
        assert_eq!((a.success_rate, a.average_duration_ms, a.operations_per_hour), (75.0, 5.0, 8.0));
        // Within the first minute the window is 60 s.
        assert_eq!(analysis(&m, 10_000).operations_per_hour, 240.0);
    }

    #[test]
    fn aggregates_are_weighted_and_clear_empties_the_store() {
        let store = DragDropMetrics::default();
        store.record(rec(1, Operation::MoveTicket, true, 10.0, 0));
        store.record(rec(2, Operation::BulkMove, false, 2.0, 0));
        store.record(rec(2, Operation::BulkMove, true, 3.0, 0));
        let all = store.all();
        let agg = aggregate(all.values());
        assert_eq!((agg.total_operations, agg.total_successful_operations, agg.total_failed_operations), (3, 2, 1));
        assert_eq!(agg.average_duration_ms, 5.0);
        assert!((agg.success_rate - 200.0 / 3.0).abs() < 1e-9);
        assert_eq!(store.boards_with_metrics(), 2);
        store.clear();
        assert_eq!((store.boards_with_metrics(), store.board(1).is_none()), (0, true));
        let none = aggregate(std::iter::empty());
        assert_eq!((none.average_duration_ms, none.success_rate), (0.0, 0.0));
    }
}
