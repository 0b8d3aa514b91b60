//! `bulk-move` (100 tickets a request, durable) and `statistics` (cold statistics and flow reads
//! of a 5 000-ticket board with 20 000 history rows).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use crate::api::Api;
use crate::args::Opts;
use crate::load::{self, Op, Until};
use crate::reads::get_op;
use crate::{report, seed, server};

/// Tickets per bulk request (the server's default `bulk.max_batch_size`).
const BATCH: usize = 100;

/// Each request moves one 100-ticket slice of the seeded board to the column the slice is not in,
/// so every item is a real change. Worker `w` owns slices `w, w + C, …` and cycles through them,
/// so no two requests in flight touch the same ticket.
fn bulk_op(api: &Api, slices: Arc<Vec<Vec<i64>>>, columns: [String; 2], concurrency: usize) -> Op {
    let api = Arc::new(api.clone());
    let c = concurrency.max(1);
    let owned: Vec<Vec<usize>> = (0..c)
        .map(|w| {
            let own: Vec<usize> = (w..slices.len()).step_by(c).collect();
            if own.is_empty() { vec![w % slices.len().max(1)] } else { own }
        })
        .collect();
    let owned = Arc::new(owned);
    let sent: Arc<Vec<AtomicU64>> = Arc::new((0..c).map(|_| AtomicU64::new(0)).collect());
    Arc::new(move |slot| {
        let (api, slices, columns) = (api.clone(), slices.clone(), columns.clone());
        let own = &owned[slot.worker % c];
        let n = sent[slot.worker % c].fetch_add(1, Ordering::Relaxed) as usize;
        let (slice, lap) = (own[n % own.len()], n / own.len());
        // Seeded tickets start in the first column: lap 0 moves them to the second, lap 1 back.
        let body = json!({"ticket_ids": slices[slice], "target_column": columns[(lap + 1) % 2]});
        Box::pin(async move { api.post("/api/bulk/tickets/move", &body).await })
    })
}

/// Seed `--sizes` tickets (default 5 000) and bulk-move them, 100 a request, for `--duration` s
/// at each `--concurrency` (default 1, 4); reports tickets moved per second.
pub async fn bulk_move(opts: &Opts) -> Result<(), String> {
    let server = server::start(&opts.common).await?;
    let api = Api::new(&server.base, 64)?;
    let size = opts.sizes_or(&[5_000])[0];
    let board = seed::boards(&api, 1, "bulk-move").await?[0];
    let mut ids = seed::tickets(&api, &[board], size).await?;
    ids.sort_unstable();
    let slices: Arc<Vec<Vec<i64>>> = Arc::new(ids.chunks(BATCH).map(<[i64]>::to_vec).collect());
    let columns = seed::two_columns(&api, board).await?;
    let secs = opts.duration.unwrap_or(10.0);
    for c in opts.concurrency_or(&[1, 4]) {
        eprintln!("bulk-move: {size} tickets, C={c}, {secs} s");
        let op = bulk_op(&api, slices.clone(), columns.clone(), c);
        let probe = server.probe();
        let result = load::run(c, Until::Elapsed(std::time::Duration::from_secs_f64(secs)), op).await;
        let mut line = report::load_line("bulk-move", &result, &probe.finish());
        let tickets_per_sec = result.ops() as f64 * BATCH as f64 / result.seconds.max(1e-9);
        line.insert("tickets_per_request".into(), json!(BATCH));
        line.insert("tickets_per_sec".into(), report::round(tickets_per_sec, 1));
        line.insert("tickets".into(), json!(size));
        report::emit(line);
    }
    Ok(())
}

/// Seed 5 000 tickets and 20 000 `column` history rows (four bulk passes over every ticket),
/// then time `--requests` (default 30) sequential GETs of each statistics route.
pub async fn statistics(opts: &Opts) -> Result<(), String> {
    let server = server::start(&opts.common).await?;
    let api = Api::new(&server.base, 64)?;
    let size = opts.sizes_or(&[5_000])[0];
    let board = seed::boards(&api, 1, "statistics").await?[0];
    let ids = seed::tickets(&api, &[board], size).await?;
    let columns: Vec<String> =
        serde_json::from_value(api.get_json(&format!("/api/boards/{board}")).await?["columns"].clone())
            .map_err(|e| e.to_string())?;
    // Four passes: every ticket moves through four more columns, one history row each.
    for pass in 1..=4 {
        for chunk in ids.chunks(BATCH) {
            let body = json!({"ticket_ids": chunk, "target_column": columns[pass % columns.len()]});
            let answer: Value = api.post_json("/api/bulk/tickets/move", &body).await?;
            if answer.get("results").is_none() {
                return Err(format!("bulk move answered {answer}"));
            }
        }
    }
    let requests = opts.requests.unwrap_or(30) as u64;
    let routes = [
        ("board-statistics", format!("/api/statistics/boards/{board}/statistics")),
        ("performance", format!("/api/statistics/boards/{board}/performance")),
        ("flow-30d", format!("/api/statistics/boards/{board}/flow?days=30")),
        ("flow-365d", format!("/api/statistics/boards/{board}/flow?days=365")),
        ("colors", format!("/api/statistics/boards/{board}/tickets/colors")),
    ];
    for (name, path) in routes {
        eprintln!("statistics: {name}, {requests} requests");
        let op = get_op(&api, path);
        let probe = server.probe();
        let result = load::run(1, Until::Ops(requests), op).await;
        let mut line = report::load_line("statistics", &result, &probe.finish());
        line.insert("route".into(), json!(name));
        line.insert("tickets".into(), json!(size));
        line.insert("history_rows".into(), json!(size * 5));
        report::emit(line);
    }
    Ok(())
}
