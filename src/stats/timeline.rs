//! Ticket timelines (`statistics.md` §1): the columns a ticket was in and since when, rebuilt from
//! its `column` history rows; completions in a window and the cycle start.

use std::collections::HashMap;

use super::classes::{ColumnClass, ColumnSet};
use super::{Ms, TicketFacts};

/// One timeline entry: the ticket entered column `col` (a [`ColumnSet`] index) at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub col: usize,
    pub at: Ms,
}

/// A `column` history row of one ticket, names already interned.
#[derive(Debug, Clone, Copy)]
pub struct ColumnChange {
    pub old: Option<usize>,
    pub new: Option<usize>,
    pub at: Ms,
}

/// A ticket's timeline: entry 0 is the creation column at `created_at`, then one entry per
/// `column` history row, in (`changed_at`, `id`) order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    pub entries: Vec<Entry>,
}

impl Timeline {
    /// Build from the ticket's rows (already in order). The creation column is the earliest row's
    /// `old_value`, or the current column when there is no row.
    pub fn build(created_at: Ms, current: usize, rows: &[ColumnChange]) -> Timeline {
        let first = rows.first().and_then(|r| r.old).unwrap_or(current);
        let mut entries = Vec::with_capacity(rows.len() + 1);
        entries.push(Entry { col: first, at: created_at });
        let mut last = first;
        for r in rows {
            last = r.new.unwrap_or(last);
            entries.push(Entry { col: last, at: r.at });
        }
        Timeline { entries }
    }

    /// The completion in [a, b): the earliest `done`-class entry whose time lies in the window.
    pub fn completion_in(&self, cols: &ColumnSet, a: Ms, b: Ms) -> Option<Ms> {
        self.entries.iter().find(|e| e.at >= a && e.at < b && cols.class(e.col) == ColumnClass::Done).map(|e| e.at)
    }

    /// Time of the earliest `in_progress`-class entry.
    pub fn cycle_start(&self, cols: &ColumnSet) -> Option<Ms> {
        self.entries.iter().find(|e| cols.class(e.col) == ColumnClass::InProgress).map(|e| e.at)
    }

    /// The column at instant `at` (the last entry with time ≤ `at`); None before creation.
    pub fn column_at(&self, at: Ms) -> Option<usize> {
        let k = self.entries.partition_point(|e| e.at <= at);
        (k > 0).then(|| self.entries[k - 1].col)
    }
}

/// A stored `column` history row of some ticket of the board.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub ticket_id: i64,
    pub old: Option<String>,
    pub new: Option<String>,
    pub at: Ms,
}

/// A ticket with its current column index and its timeline.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub ticket: TicketFacts,
    pub current: usize,
    pub timeline: Timeline,
}

/// Every ticket's timeline from the board's `column` rows (in `changed_at`, `id` order per
/// ticket), in one pass; historical column names are added to the returned [`ColumnSet`].
pub fn track(board_columns: &[String], tickets: Vec<TicketFacts>, rows: &[HistoryRow]) -> (ColumnSet, Vec<Tracked>) {
    let mut cols = ColumnSet::new(board_columns);
    let mut by_ticket: HashMap<i64, Vec<ColumnChange>> = HashMap::new();
    for r in rows {
        let change = ColumnChange {
            old: r.old.as_deref().map(|n| cols.intern(n)),
            new: r.new.as_deref().map(|n| cols.intern(n)),
            at: r.at,
        };
        by_ticket.entry(r.ticket_id).or_default().push(change);
    }
    let tracked = tickets
        .into_iter()
        .map(|ticket| {
            let current = cols.intern(&ticket.current_column);
            let rows = by_ticket.get(&ticket.id).map(Vec::as_slice).unwrap_or(&[]);
            let timeline = Timeline::build(ticket.created_at, current, rows);
            Tracked { ticket, current, timeline }
        })
        .collect();
    (cols, tracked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::columns::DEFAULT_COLUMNS;

    fn set() -> ColumnSet {
        ColumnSet::new(&DEFAULT_COLUMNS.map(String::from))
    }

    fn row(old: usize, new: usize, at: Ms) -> ColumnChange {
        ColumnChange { old: Some(old), new: Some(new), at }
    }

    #[test]
    fn a_ticket_without_moves_sits_in_its_current_column_since_creation() {
        let t = Timeline::build(10, 1, &[]);
        assert_eq!(t.entries, vec![Entry { col: 1, at: 10 }]);
        assert_eq!(t.column_at(9), None);
        assert_eq!(t.column_at(10), Some(1));
    }

    #[test]
    fn the_creation_column_comes_from_the_first_rows_old_value() {
        // Created in Not Started (0), moved to In Progress (1) at 20, then Done (4) at 30.
        let t = Timeline::build(10, 4, &[row(0, 1, 20), row(1, 4, 30)]);
        let cols: Vec<usize> = t.entries.iter().map(|e| e.col).collect();
        assert_eq!(cols, [0, 1, 4]);
        assert_eq!(t.column_at(25), Some(1));
        assert_eq!(t.cycle_start(&set()), Some(20));
        assert_eq!(t.completion_in(&set(), 0, 100), Some(30));
        assert_eq!(t.completion_in(&set(), 0, 30), None, "the window is half-open");
    }

    #[test]
    fn re_entering_done_counts_the_first_entry_in_the_window_only() {
        // Done at 30, reopened at 40, done again at 50.
        let t = Timeline::build(10, 4, &[row(0, 4, 30), row(4, 1, 40), row(1, 4, 50)]);
        assert_eq!(t.completion_in(&set(), 0, 100), Some(30));
        assert_eq!(t.completion_in(&set(), 35, 100), Some(50), "the earlier one is outside the window");
        assert_eq!(t.cycle_start(&set()), Some(40));
    }

    #[test]
    fn a_ticket_created_in_done_completes_at_creation() {
        let t = Timeline::build(10, 4, &[]);
        assert_eq!(t.completion_in(&set(), 0, 100), Some(10));
        assert_eq!(t.cycle_start(&set()), None);
    }
}
