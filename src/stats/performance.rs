//! Board performance over a window of days (`statistics.md` §6): created, completed (first entry
//! into a done column per window, counted once), completion rate, throughput, backlog, blocked and
//! the week-over-week velocity trend.

use serde::Serialize;
use utoipa::ToSchema;

use super::classes::{ColumnClass, ColumnSet, is_blocked};
use super::timeline::Tracked;
use super::{BoardFacts, DAY_MS, Ms};

/// `velocity_trend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VelocityTrend {
    Improving,
    Stable,
    Declining,
}

/// Last week against the week before: ±20 % bands; from zero, any completion is improving.
pub fn velocity_trend(last: usize, previous: usize) -> VelocityTrend {
    if previous == 0 {
        return if last > 0 { VelocityTrend::Improving } else { VelocityTrend::Stable };
    }
    let change = (last as f64 - previous as f64) / previous as f64 * 100.0;
    if change > 20.0 {
        VelocityTrend::Improving
    } else if change < -20.0 {
        VelocityTrend::Declining
    } else {
        VelocityTrend::Stable
    }
}

/// `GET /api/statistics/boards/{id}/performance`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Performance {
    pub board_id: i64,
    pub board_name: String,
    pub analysis_period_days: i64,
    pub tickets_created: usize,
    pub tickets_completed: usize,
    /// min(1, completed / created); 0 when nothing was created.
    pub completion_rate: f64,
    pub average_completion_time_seconds: f64,
    pub average_completion_time_days: f64,
    pub throughput_per_day: f64,
    pub current_backlog: usize,
    pub blocked_tickets: usize,
    pub velocity_trend: VelocityTrend,
    pub last_week_completed: usize,
    pub previous_week_completed: usize,
}

/// Performance of `tickets` over the `days` before `now`, in one pass.
pub fn performance(board: &BoardFacts, cols: &ColumnSet, tickets: &[Tracked], days: i64, now: Ms) -> Performance {
    let start = now - days * DAY_MS;
    let (mut created, mut completed, mut last_week, mut previous_week) = (0, 0, 0, 0);
    let (mut backlog, mut blocked) = (0, 0);
    let mut completion_ms: i128 = 0;
    for t in tickets {
        if (start..=now).contains(&t.ticket.created_at) {
            created += 1;
        }
        // The window is [now − D, now]: a completion stamped `now` still counts.
        if let Some(done) = t.timeline.completion_in(cols, start, now + 1) {
            completed += 1;
            completion_ms += i128::from(done - t.ticket.created_at);
        }
        if t.timeline.completion_in(cols, now - 7 * DAY_MS, now).is_some() {
            last_week += 1;
        }
        if t.timeline.completion_in(cols, now - 14 * DAY_MS, now - 7 * DAY_MS).is_some() {
            previous_week += 1;
        }
        if cols.class(t.current) != ColumnClass::Done {
            backlog += 1;
        }
        if is_blocked(cols.name(t.current)) {
            blocked += 1;
        }
    }
    let average_ms = if completed > 0 { completion_ms as f64 / completed as f64 } else { 0.0 };
    Performance {
        board_id: board.id,
        board_name: board.name.clone(),
        analysis_period_days: days,
        tickets_created: created,
        tickets_completed: completed,
        completion_rate: if created > 0 { (completed as f64 / created as f64).min(1.0) } else { 0.0 },
        average_completion_time_seconds: average_ms / 1000.0,
        average_completion_time_days: average_ms / DAY_MS as f64,
        throughput_per_day: completed as f64 / days as f64,
        current_backlog: backlog,
        blocked_tickets: blocked,
        velocity_trend: velocity_trend(last_week, previous_week),
        last_week_completed: last_week,
        previous_week_completed: previous_week,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::columns::DEFAULT_COLUMNS;
    use crate::stats::TicketFacts;
    use crate::stats::timeline::{HistoryRow, track};

    const NOW: Ms = 100 * DAY_MS;

    fn board() -> BoardFacts {
        BoardFacts { id: 1, name: "B".into(), columns: DEFAULT_COLUMNS.map(String::from).to_vec() }
    }

    fn ticket(id: i64, column: &str, created_days_ago: i64) -> TicketFacts {
        let created_at = NOW - created_days_ago * DAY_MS;
        TicketFacts {
            id,
            title: format!("T{id}"),
            current_column: column.into(),
            created_at,
            column_entered_at: created_at,
            updated_at: String::new(),
        }
    }

    fn mv(ticket_id: i64, old: &str, new: &str, days_ago: i64) -> HistoryRow {
        HistoryRow { ticket_id, old: Some(old.into()), new: Some(new.into()), at: NOW - days_ago * DAY_MS }
    }

    fn run(tickets: Vec<TicketFacts>, rows: &[HistoryRow], days: i64) -> Performance {
        let (cols, tracked) = track(&board().columns, tickets, rows);
        performance(&board(), &cols, &tracked, days, NOW)
    }

    #[test]
    fn an_empty_board() {
        let p = run(vec![], &[], 30);
        assert_eq!((p.tickets_created, p.tickets_completed, p.completion_rate), (0, 0, 0.0));
        assert_eq!((p.average_completion_time_seconds, p.throughput_per_day), (0.0, 0.0));
        assert_eq!((p.current_backlog, p.blocked_tickets, p.velocity_trend), (0, 0, VelocityTrend::Stable));
    }

    #[test]
    fn completions_rates_backlog_and_blocked() {
        // 1: created 10 d ago, done 8 d ago (2 days). 2: created 5 d ago, done 1 d ago (4 days).
        // 3: blocked. 4: created 40 d ago (outside), done 3 d ago (37 days). 5: not started.
        let tickets = vec![
            ticket(1, "Done", 10),
            ticket(2, "Done", 5),
            ticket(3, "Blocked", 2),
            ticket(4, "Done", 40),
            ticket(5, "Not Started", 1),
        ];
        let rows = [
            mv(1, "Not Started", "Done", 8),
            mv(2, "Not Started", "In Progress", 4),
            mv(2, "In Progress", "Done", 1),
            mv(3, "Not Started", "Blocked", 1),
            mv(4, "Not Started", "Done", 3),
        ];
        let p = run(tickets, &rows, 30);
        assert_eq!((p.tickets_created, p.tickets_completed), (4, 3));
        assert_eq!(p.completion_rate, 0.75);
        assert_eq!(p.average_completion_time_days, (2.0 + 4.0 + 37.0) / 3.0);
        assert_eq!(p.throughput_per_day, 0.1);
        assert_eq!((p.current_backlog, p.blocked_tickets), (2, 1));
        assert_eq!((p.last_week_completed, p.previous_week_completed), (2, 1));
        assert_eq!(p.velocity_trend, VelocityTrend::Improving, "2 vs 1 is +100 %");
    }

    #[test]
    fn the_completion_rate_is_capped_at_one() {
        let tickets = vec![ticket(1, "Done", 50), ticket(2, "Done", 50), ticket(3, "Not Started", 1)];
        let rows = [mv(1, "Not Started", "Done", 2), mv(2, "Not Started", "Done", 2)];
        let p = run(tickets, &rows, 7);
        assert_eq!((p.tickets_created, p.tickets_completed, p.completion_rate), (1, 2, 1.0));
    }

    #[test]
    fn re_entering_done_counts_once_and_direct_creation_in_done_completes() {
        let tickets = vec![ticket(1, "Done", 6), ticket(2, "Done", 3)];
        let rows = [mv(1, "Not Started", "Done", 5), mv(1, "Done", "In Progress", 4), mv(1, "In Progress", "Done", 2)];
        let p = run(tickets, &rows, 30);
        assert_eq!(p.tickets_completed, 2);
        assert_eq!(p.average_completion_time_days, (1.0 + 0.0) / 2.0, "first entry into done, and creation");
    }

    #[test]
    fn an_empty_week_before_a_non_empty_one_is_improving() {
        let rows = [mv(1, "Not Started", "Done", 1)];
        let p = run(vec![ticket(1, "Done", 2)], &rows, 30);
        assert_eq!((p.last_week_completed, p.previous_week_completed), (1, 0));
        assert_eq!(p.velocity_trend, VelocityTrend::Improving);
    }

    #[test]
    fn velocity_bands() {
        assert_eq!(velocity_trend(0, 0), VelocityTrend::Stable);
        assert_eq!(velocity_trend(0, 5), VelocityTrend::Declining);
        assert_eq!(velocity_trend(6, 5), VelocityTrend::Stable, "+20 % is not above 20");
        assert_eq!(velocity_trend(4, 5), VelocityTrend::Stable, "−20 % is not below −20");
        assert_eq!(velocity_trend(7, 5), VelocityTrend::Improving);
        assert_eq!(velocity_trend(3, 5), VelocityTrend::Declining);
    }
}
