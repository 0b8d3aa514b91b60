//! Flow metrics (`statistics.md` §7): lead and cycle time, daily throughput, WIP per column,
//! the cumulative-flow series and aging work in progress, over the last `days` UTC dates.

use serde::Serialize;
use utoipa::ToSchema;

use super::aggregates::{mean, nearest_rank};
use super::board::Ordered;
use super::classes::{ColumnClass, ColumnSet};
use super::timeline::Tracked;
use super::{DAY_MS, Ms, format_ms, secs};

/// Count, mean and nearest-rank p50/p85/p95 in seconds; numbers null when there is no sample.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TimeStats {
    pub count: usize,
    pub mean_seconds: Option<f64>,
    pub p50_seconds: Option<f64>,
    pub p85_seconds: Option<f64>,
    pub p95_seconds: Option<f64>,
}

impl TimeStats {
    /// From sorted millisecond samples.
    pub fn of(sorted: &[Ms]) -> TimeStats {
        let p = |q| nearest_rank(sorted, q).map(secs);
        TimeStats {
            count: sorted.len(),
            mean_seconds: (!sorted.is_empty()).then(|| mean(sorted) / 1000.0),
            p50_seconds: p(50),
            p85_seconds: p(85),
            p95_seconds: p(95),
        }
    }
}

/// Tickets completed on one UTC date.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DailyCount {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub count: usize,
}

/// One board column now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WipColumn {
    pub column: String,
    pub class: ColumnClass,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Wip {
    pub columns: Vec<WipColumn>,
    /// Tickets in `in_progress`-class columns.
    pub total_in_progress: usize,
}

/// Tickets per board column at the end of one date.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CfdDay {
    pub date: String,
    #[schema(value_type = std::collections::HashMap<String, usize>)]
    pub columns: Ordered<usize>,
}

/// A ticket in progress and how long it has been.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgingTicket {
    pub ticket_id: i64,
    pub title: String,
    pub current_column: String,
    /// now − cycle start.
    pub age_seconds: f64,
    pub time_in_column_seconds: f64,
    /// Share of cycle-time samples ≤ the age, 0..100; null without samples.
    pub percentile: Option<f64>,
}

/// `GET /api/statistics/boards/{id}/flow`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlowMetrics {
    pub board_id: i64,
    pub days: i64,
    pub window_start: String,
    pub window_end: String,
    #[schema(value_type = std::collections::HashMap<String, ColumnClass>)]
    pub column_classes: Ordered<ColumnClass>,
    pub lead_time: TimeStats,
    pub cycle_time: TimeStats,
    pub throughput: Vec<DailyCount>,
    pub wip: Wip,
    pub cfd: Vec<CfdDay>,
    pub aging_wip: Vec<AgingTicket>,
}

/// What the flow metrics are computed from.
pub struct FlowInput<'a> {
    pub board_id: i64,
    pub cols: &'a ColumnSet,
    pub tickets: &'a [Tracked],
    pub days: i64,
    pub now: Ms,
}

/// The D dates ending today: (start of day, end instant) with the end capped at `now`.
fn dates(days: i64, now: Ms) -> Vec<(Ms, Ms)> {
    let today = now.div_euclid(DAY_MS) * DAY_MS;
    (0..days)
        .rev()
        .map(|back| {
            let start = today - back * DAY_MS;
            (start, (start + DAY_MS - 1).min(now))
        })
        .collect()
}

fn date_text(start: Ms) -> String {
    format_ms(start)[..10].to_owned()
}

pub fn flow_metrics(input: &FlowInput<'_>) -> FlowMetrics {
    let (cols, now) = (input.cols, input.now);
    let days = dates(input.days, now);
    let window_start = days.first().map_or(now, |d| d.0);
    let board_len = cols.board_len();
    let mut lead = Vec::new();
    let mut cycle = Vec::new();
    let mut throughput = vec![0usize; days.len()];
    let mut cfd = vec![vec![0usize; board_len]; days.len()];
    let mut wip = vec![0usize; board_len];
    for t in input.tickets {
        if let Some(done) = t.timeline.completion_in(cols, window_start, now + 1) {
            lead.push(done - t.ticket.created_at);
            if let Some(start) = t.timeline.cycle_start(cols).filter(|&s| s <= done) {
                cycle.push(done - start);
            }
            throughput[((done - window_start) / DAY_MS) as usize] += 1;
        }
        if t.current < board_len {
            wip[t.current] += 1;
        }
        add_to_cfd(t, &days, board_len, &mut cfd);
    }
    lead.sort_unstable();
    cycle.sort_unstable();
    let classes: Vec<ColumnClass> = (0..board_len).map(|i| cols.class(i)).collect();
    let names = cols.board_columns();
    FlowMetrics {
        board_id: input.board_id,
        days: input.days,
        window_start: format_ms(window_start),
        window_end: format_ms(now),
        column_classes: Ordered(names.iter().cloned().zip(classes.iter().copied()).collect()),
        lead_time: TimeStats::of(&lead),
        cycle_time: TimeStats::of(&cycle),
        throughput: days
            .iter()
            .zip(&throughput)
            .map(|(d, &count)| DailyCount { date: date_text(d.0), count })
            .collect(),
        wip: Wip {
            total_in_progress: (0..board_len).filter(|&i| classes[i] == ColumnClass::InProgress).map(|i| wip[i]).sum(),
            columns: (0..board_len)
                .map(|i| WipColumn { column: names[i].clone(), class: classes[i], count: wip[i] })
                .collect(),
        },
        cfd: days
            .iter()
            .zip(cfd)
            .map(|(d, counts)| CfdDay {
                date: date_text(d.0),
                columns: Ordered(names.iter().cloned().zip(counts).collect()),
            })
            .collect(),
        aging_wip: aging(input, &cycle),
    }
}

/// Walk the ticket's timeline once across the (ascending) date ends.
fn add_to_cfd(t: &Tracked, days: &[(Ms, Ms)], board_len: usize, cfd: &mut [Vec<usize>]) {
    let entries = &t.timeline.entries;
    let mut k = 0;
    for (i, &(_, end)) in days.iter().enumerate() {
        if t.ticket.created_at > end {
            continue;
        }
        while k < entries.len() && entries[k].at <= end {
            k += 1;
        }
        if let Some(e) = k.checked_sub(1).map(|j| entries[j])
            && e.col < board_len
        {
            cfd[i][e.col] += 1;
        }
    }
}

fn aging(input: &FlowInput<'_>, cycle_sorted: &[Ms]) -> Vec<AgingTicket> {
    let (cols, now) = (input.cols, input.now);
    let mut aging: Vec<(Ms, &Tracked)> = input
        .tickets
        .iter()
        .filter(|t| cols.class(t.current) == ColumnClass::InProgress)
        .map(|t| (now - t.timeline.cycle_start(cols).unwrap_or(t.ticket.column_entered_at), t))
        .collect();
    aging.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.ticket.id.cmp(&b.1.ticket.id)));
    aging
        .into_iter()
        .map(|(age, t)| AgingTicket {
            ticket_id: t.ticket.id,
            title: t.ticket.title.clone(),
            current_column: t.ticket.current_column.clone(),
            age_seconds: secs(age.max(0)),
            time_in_column_seconds: secs((now - t.ticket.column_entered_at).max(0)),
            percentile: (!cycle_sorted.is_empty())
                .then(|| 100.0 * cycle_sorted.partition_point(|&c| c <= age) as f64 / cycle_sorted.len() as f64),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::columns::DEFAULT_COLUMNS;
    use crate::stats::timeline::{HistoryRow, track};
    use crate::stats::{TicketFacts, parse_ms};

    const H: Ms = 3_600_000;

    fn now() -> Ms {
        parse_ms("2026-11-22T10:00:00.000Z")
    }

    fn at(text: &str) -> Ms {
        parse_ms(text)
    }

    fn ticket(id: i64, column: &str, created: &str, entered: &str) -> TicketFacts {
        TicketFacts {
            id,
            title: format!("T{id}"),
            current_column: column.into(),
            created_at: at(created),
            column_entered_at: at(entered),
            updated_at: String::new(),
        }
    }

    fn mv(ticket_id: i64, old: &str, new: &str, when: &str) -> HistoryRow {
        HistoryRow { ticket_id, old: Some(old.into()), new: Some(new.into()), at: at(when) }
    }

    fn run(tickets: Vec<TicketFacts>, rows: &[HistoryRow], days: i64) -> FlowMetrics {
        let (cols, tracked) = track(&DEFAULT_COLUMNS.map(String::from), tickets, rows);
        flow_metrics(&FlowInput { board_id: 1, cols: &cols, tickets: &tracked, days, now: now() })
    }

    #[test]
    fn an_empty_board_has_null_time_stats_and_zero_series() {
        let f = run(vec![], &[], 3);
        assert_eq!(f.window_start, "2026-11-20T00:00:00.000Z");
        assert_eq!(f.window_end, "2026-11-22T10:00:00.000Z");
        assert_eq!(
            f.lead_time,
            TimeStats { count: 0, mean_seconds: None, p50_seconds: None, p85_seconds: None, p95_seconds: None }
        );
        let dates: Vec<&str> = f.throughput.iter().map(|d| d.date.as_str()).collect();
        assert_eq!(dates, ["2026-11-20", "2026-11-21", "2026-11-22"]);
        assert!(f.throughput.iter().all(|d| d.count == 0));
        assert_eq!(f.cfd.len(), 3);
        assert!(f.cfd.iter().all(|d| d.columns.0.iter().all(|(_, n)| *n == 0)));
        assert_eq!((f.wip.total_in_progress, f.aging_wip.len()), (0, 0));
        let classes = serde_json::to_value(&f.column_classes).expect("json");
        assert_eq!(classes["Ready for QC"], "in_progress");
        assert_eq!(classes["Done"], "done");
    }

    /// Two tickets completed in the window: lead 1 d and 2 d, cycle 6 h and 18 h.
    fn two_done_one_in_progress() -> FlowMetrics {
        let tickets = vec![
            ticket(1, "Done", "2026-11-20T08:00:00.000Z", "2026-11-21T08:00:00.000Z"),
            ticket(2, "Done", "2026-11-20T10:00:00.000Z", "2026-11-22T10:00:00.000Z"),
            ticket(9, "In Progress", "2026-11-19T10:00:00.000Z", "2026-11-22T04:00:00.000Z"),
            ticket(4, "Not Started", "2026-11-21T00:00:00.000Z", "2026-11-21T00:00:00.000Z"),
        ];
        let rows = [
            mv(1, "Not Started", "In Progress", "2026-11-21T02:00:00.000Z"),
            mv(1, "In Progress", "Done", "2026-11-21T08:00:00.000Z"),
            mv(2, "Not Started", "In Progress", "2026-11-21T16:00:00.000Z"),
            mv(2, "In Progress", "Done", "2026-11-22T10:00:00.000Z"),
            mv(9, "Not Started", "In Progress", "2026-11-22T04:00:00.000Z"),
        ];
        run(tickets, &rows, 3)
    }

    #[test]
    fn lead_and_cycle_times_use_nearest_rank_percentiles() {
        let f = two_done_one_in_progress();
        assert_eq!(f.lead_time.count, 2);
        assert_eq!(f.lead_time.mean_seconds, Some(129_600.0));
        assert_eq!((f.lead_time.p50_seconds, f.lead_time.p85_seconds), (Some(86_400.0), Some(172_800.0)));
        assert_eq!(f.cycle_time.mean_seconds, Some(43_200.0));
        assert_eq!((f.cycle_time.p50_seconds, f.cycle_time.p95_seconds), (Some(21_600.0), Some(64_800.0)));
    }

    #[test]
    fn throughput_wip_and_cumulative_flow_per_date() {
        let f = two_done_one_in_progress();
        let counts: Vec<usize> = f.throughput.iter().map(|d| d.count).collect();
        assert_eq!(counts, [0, 1, 1], "a completion at now counts today");
        let wip: Vec<usize> = f.wip.columns.iter().map(|c| c.count).collect();
        assert_eq!(wip, [1, 1, 0, 0, 2]);
        assert_eq!(f.wip.total_in_progress, 1);
        let day = |i: usize| -> Vec<usize> { f.cfd[i].columns.0.iter().map(|(_, n)| *n).collect() };
        // End of 11-20: tickets 1, 2, 9 exist, all not started.
        assert_eq!(day(0), [3, 0, 0, 0, 0]);
        // End of 11-21: 1 done, 2 in progress, 9 and 4 not started.
        assert_eq!(day(1), [2, 1, 0, 0, 1]);
        // Now: 1 and 2 done, 9 in progress, 4 not started.
        assert_eq!(day(2), [1, 1, 0, 0, 2]);
    }

    #[test]
    fn aging_wip_ranks_against_cycle_time_samples() {
        let f = two_done_one_in_progress();
        assert_eq!(f.aging_wip.len(), 1);
        let a = &f.aging_wip[0];
        assert_eq!((a.ticket_id, a.age_seconds, a.time_in_column_seconds), (9, 21_600.0, 21_600.0));
        assert_eq!(a.percentile, Some(50.0), "one of the two samples (6 h, 18 h) is <= 6 h");
    }

    #[test]
    fn aging_sorts_by_age_then_id_and_has_no_percentile_without_samples() {
        let tickets = vec![
            ticket(3, "Blocked", "2026-11-22T00:00:00.000Z", "2026-11-22T09:00:00.000Z"),
            ticket(2, "In Progress", "2026-11-22T00:00:00.000Z", "2026-11-22T00:00:00.000Z"),
            ticket(1, "In Progress", "2026-11-22T05:00:00.000Z", "2026-11-22T05:00:00.000Z"),
        ];
        let rows = [
            mv(3, "Not Started", "In Progress", "2026-11-22T00:00:00.000Z"),
            mv(3, "In Progress", "Blocked", "2026-11-22T09:00:00.000Z"),
        ];
        let f = run(tickets, &rows, 1);
        let order: Vec<(i64, f64)> = f.aging_wip.iter().map(|a| (a.ticket_id, a.age_seconds)).collect();
        assert_eq!(order, [(2, 36_000.0), (3, 36_000.0), (1, 18_000.0)]);
        assert_eq!(f.aging_wip[1].time_in_column_seconds, H as f64 / 1000.0);
        assert!(f.aging_wip.iter().all(|a| a.percentile.is_none()));
    }

    #[test]
    fn a_completion_without_a_cycle_start_has_lead_time_only() {
        let tickets = vec![ticket(1, "Done", "2026-11-22T01:00:00.000Z", "2026-11-22T01:00:00.000Z")];
        let f = run(tickets, &[], 1);
        assert_eq!((f.lead_time.count, f.cycle_time.count), (1, 0));
        assert_eq!(f.lead_time.p95_seconds, Some(0.0));
        assert_eq!(f.cycle_time.mean_seconds, None);
    }
}
