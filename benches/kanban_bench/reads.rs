//! Read scenarios: `list-board` (one board's tickets, at several board sizes) and `dashboard`
//! (the board list over many boards). Each measures a fixed number of GETs after a few warm-ups.

use std::sync::Arc;

use serde_json::json;

use crate::api::Api;
use crate::args::Opts;
use crate::load::{self, Op, Until};
use crate::report;
use crate::{seed, server};

const WARM_UPS: u64 = 3;

/// GET `path` on every request.
pub fn get_op(api: &Api, path: String) -> Op {
    let api = Arc::new(api.clone());
    let path = Arc::new(path);
    Arc::new(move |_| {
        let (api, path) = (api.clone(), path.clone());
        Box::pin(async move { api.get(&path).await })
    })
}

/// Seed one board per `--sizes` entry and time GET /api/boards/{id}/tickets on it.
pub async fn list_board(opts: &Opts) -> Result<(), String> {
    let server = server::start(&opts.common).await?;
    let levels = opts.concurrency_or(&[1]);
    let api = Api::new(&server.base, levels.iter().copied().max().unwrap_or(1).max(64))?;
    let requests = opts.requests.unwrap_or(50) as u64;
    for size in opts.sizes_or(&[500, 5_000, 50_000]) {
        let board = seed::boards(&api, 1, &format!("list-board {size}")).await?[0];
        seed::tickets(&api, &[board], size).await?;
        let op = get_op(&api, format!("/api/boards/{board}/tickets"));
        for &c in &levels {
            eprintln!("list-board: {size} tickets, C={c}, {requests} requests");
            load::run(c, Until::Ops(WARM_UPS), op.clone()).await;
            let probe = server.probe();
            let result = load::run(c, Until::Ops(requests), op.clone()).await;
            let mut line = report::load_line("list-board", &result, &probe.finish());
            line.insert("tickets".into(), json!(size));
            line.insert("response_bytes".into(), json!(result.bytes / result.ops().max(1)));
            report::emit(line);
        }
    }
    Ok(())
}

/// Seed `--boards` boards of `--tickets-per-board` tickets and time GET /api/boards/.
pub async fn dashboard(opts: &Opts) -> Result<(), String> {
    let server = server::start(&opts.common).await?;
    let levels = opts.concurrency_or(&[1]);
    let api = Api::new(&server.base, levels.iter().copied().max().unwrap_or(1).max(64))?;
    let (n_boards, per_board) = (opts.boards.unwrap_or(100), opts.tickets_per_board.unwrap_or(200));
    let requests = opts.requests.unwrap_or(200) as u64;
    let boards = seed::boards(&api, n_boards, "dashboard").await?;
    seed::tickets(&api, &boards, n_boards * per_board).await?;
    let op = get_op(&api, "/api/boards/".to_owned());
    for c in levels {
        eprintln!("dashboard: {n_boards} boards x {per_board} tickets, C={c}, {requests} requests");
        load::run(c, Until::Ops(WARM_UPS), op.clone()).await;
        let probe = server.probe();
        let result = load::run(c, Until::Ops(requests), op.clone()).await;
        let mut line = report::load_line("dashboard", &result, &probe.finish());
        line.insert("boards".into(), json!(n_boards));
        line.insert("tickets_per_board".into(), json!(per_board));
        line.insert("response_bytes".into(), json!(result.bytes / result.ops().max(1)));
        report::emit(line);
    }
    Ok(())
}
