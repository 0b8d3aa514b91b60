//! The colour listings of a board's tickets (`statistics.md` §5): every ticket's colour class in
//! column order, and the realtime colours of chosen tickets.

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::board::{ColorClass, ColorSummary, column_times, hours};
use super::{BoardFacts, CacheInfo, Ms, TicketFacts, secs};

/// One ticket of `GET …/tickets/colors`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketColor {
    pub ticket_id: i64,
    pub title: String,
    pub current_column: String,
    pub color_class: ColorClass,
    pub z_score: Option<f64>,
    pub time_in_column_hours: f64,
}

/// `GET /api/statistics/boards/{id}/tickets/colors`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketColors {
    pub board_id: i64,
    pub board_name: String,
    /// The canonical column name of the `column` filter, or null.
    pub filter_column: Option<String>,
    pub total_tickets: usize,
    pub color_summary: ColorSummary,
    pub ticket_colors: Vec<TicketColor>,
    pub cache_info: CacheInfo,
}

/// Every ticket of the board (or of `filter` only), ordered by column position, then id.
pub fn ticket_colors(board: &BoardFacts, tickets: &[TicketFacts], filter: Option<&str>, now: Ms) -> TicketColors {
    let columns = column_times(board, tickets, now);
    let position: HashMap<&str, usize> = board.columns.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    let mut listed: Vec<(usize, &TicketFacts)> = tickets
        .iter()
        .filter(|t| filter.is_none_or(|f| t.current_column == f))
        .filter_map(|t| position.get(t.current_column.as_str()).map(|&i| (i, t)))
        .collect();
    listed.sort_by_key(|(i, t)| (*i, t.id));
    let mut summary = ColorSummary::default();
    let ticket_colors: Vec<TicketColor> = listed
        .into_iter()
        .map(|(i, t)| {
            let in_column = (now - t.column_entered_at).max(0);
            let color = columns[i].color(in_column);
            summary.add(color);
            TicketColor {
                ticket_id: t.id,
                title: t.title.clone(),
                current_column: t.current_column.clone(),
                color_class: color,
                z_score: columns[i].z_score(in_column),
                time_in_column_hours: hours(in_column as f64),
            }
        })
        .collect();
    TicketColors {
        board_id: board.id,
        board_name: board.name.clone(),
        filter_column: filter.map(str::to_owned),
        total_tickets: ticket_colors.len(),
        color_summary: summary,
        ticket_colors,
        cache_info: CacheInfo::NONE,
    }
}

/// One ticket of the realtime colour route.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RealtimeColor {
    pub ticket_id: i64,
    pub color_class: ColorClass,
    pub z_score: Option<f64>,
    pub time_in_column_seconds: f64,
    pub updated_at: String,
}

/// `GET /api/statistics/boards/{id}/tickets/colors/realtime`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RealtimeColors {
    pub board_id: i64,
    pub ticket_colors: Vec<RealtimeColor>,
    pub response_time_optimized: bool,
}

/// Colours of `ids` in request order; unknown or foreign ids are skipped, repeats listed once.
pub fn realtime_colors(board: &BoardFacts, tickets: &[TicketFacts], ids: &[i64], now: Ms) -> RealtimeColors {
    let columns = column_times(board, tickets, now);
    let position: HashMap<&str, usize> = board.columns.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    let by_id: HashMap<i64, &TicketFacts> = tickets.iter().map(|t| (t.id, t)).collect();
    let mut seen = std::collections::HashSet::new();
    let ticket_colors = ids
        .iter()
        .filter(|id| seen.insert(**id))
        .filter_map(|id| by_id.get(id))
        .filter_map(|t| {
            let col = &columns[*position.get(t.current_column.as_str())?];
            let in_column = (now - t.column_entered_at).max(0);
            Some(RealtimeColor {
                ticket_id: t.id,
                color_class: col.color(in_column),
                z_score: col.z_score(in_column),
                time_in_column_seconds: secs(in_column),
                updated_at: t.updated_at.clone(),
            })
        })
        .collect();
    RealtimeColors { board_id: board.id, ticket_colors, response_time_optimized: true }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::board::tests::{NOW, board, three_in_progress, ticket};

    #[test]
    fn colour_listing_orders_by_column_then_id_and_filters() {
        let mut tickets = three_in_progress();
        tickets.push(ticket(2, "Done", 1));
        tickets.push(ticket(9, "Not Started", 1));
        let all = ticket_colors(&board(), &tickets, None, NOW);
        let ids: Vec<i64> = all.ticket_colors.iter().map(|t| t.ticket_id).collect();
        assert_eq!(ids, [9, 5, 6, 7, 2]);
        assert_eq!((all.color_summary.normal, all.color_summary.good), (2, 3));
        assert_eq!(all.total_tickets, 5);
        let done = ticket_colors(&board(), &tickets, Some("Done"), NOW);
        assert_eq!((done.total_tickets, done.filter_column.as_deref()), (1, Some("Done")));
    }

    #[test]
    fn realtime_colours_keep_request_order_and_skip_unknown_and_repeated_ids() {
        let tickets = three_in_progress();
        let r = realtime_colors(&board(), &tickets, &[7, 99, 5, 7], NOW);
        let ids: Vec<i64> = r.ticket_colors.iter().map(|t| t.ticket_id).collect();
        assert_eq!(ids, [7, 5]);
        assert_eq!(r.ticket_colors[0].z_score, Some(1.0));
        assert_eq!(r.ticket_colors[0].time_in_column_seconds, 10800.0);
    }
}
