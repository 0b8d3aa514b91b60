//! `memory`: the server's resident memory idle, after a mixed load, and with many idle WebSockets,
//! each as RSS, RssAnon (anonymous pages only) and PSS.

use std::time::Duration;

use serde_json::json;

use crate::api::Api;
use crate::args::Opts;
use crate::load::{self, Until};
use crate::reads::get_op;
use crate::report::{self, round};
use crate::server::Memory;
use crate::writes::create_op;
use crate::ws_fanout::connect_idle;
use crate::{seed, server};

/// Tickets on the board the load lists.
const LISTED_BOARD_TICKETS: usize = 5_000;
/// GETs of each read in the load.
const READS: u64 = 50;
/// How long after the first sample with the sockets open the settled one is taken.
const SETTLE: Duration = Duration::from_secs(3);

/// Measure RSS idle, after creates (`--concurrency` 64, `--duration` 10 s) plus list-board and
/// dashboard reads, and with `--subscribers` (1000) idle sockets on board 1 (0.5 s after they are
/// open, and settled 3 s later).
pub async fn run(opts: &Opts) -> Result<(), String> {
    let server = server::start(&opts.common).await?;
    let c = opts.concurrency_or(&[64])[0];
    let api = Api::new(&server.base, c.max(64))?;
    api.get("/api/status").await?;
    let rss_idle = server.memory();

    let duration = Duration::from_secs_f64(opts.duration.unwrap_or(10.0));
    eprintln!("memory: creates at C={c} for {:.0} s, then reads", duration.as_secs_f64());
    let creates = load::run(c, Until::Elapsed(duration), create_op(&api, 1)).await;
    let board = seed::boards(&api, 1, "memory").await?[0];
    seed::tickets(&api, &[board], LISTED_BOARD_TICKETS).await?;
    let lists = load::run(1, Until::Ops(READS), get_op(&api, format!("/api/boards/{board}/tickets"))).await;
    let dashboards = load::run(1, Until::Ops(READS), get_op(&api, "/api/boards/".to_owned())).await;
    let errors = creates.errors + lists.errors + dashboards.errors;
    if let Some((_, e)) = [&creates, &lists, &dashboards].iter().find_map(|r| r.first_error.as_ref()) {
        eprintln!("  memory: {errors} errors during the load; first: {e}");
    }
    let rss_after_load = server.memory();

    let n = opts.subscribers.unwrap_or(1000);
    eprintln!("memory: opening {n} idle sockets");
    let sockets = connect_idle(&server.ws_base(), n).await?;
    // Give the sessions a moment to settle before sampling; then sample again after the server's
    // periodic memory release (`ops.memory_release_interval_seconds`) may have had its turn.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_with_ws = server.memory();
    tokio::time::sleep(SETTLE).await;
    let rss_with_ws_settled = server.memory();
    drop(sockets);

    let mut line = serde_json::Map::new();
    line.insert("scenario".into(), json!("memory"));
    for (phase, sample) in [
        ("idle", rss_idle),
        ("after_load", rss_after_load),
        ("with_ws", rss_with_ws),
        ("with_ws_settled", rss_with_ws_settled),
    ] {
        insert_memory(&mut line, phase, sample);
    }
    line.insert("ws_connections".into(), json!(n));
    line.insert("load_concurrency".into(), json!(c));
    line.insert("load_creates".into(), json!(creates.ops()));
    line.insert("load_errors".into(), json!(errors));
    report::emit(line);
    Ok(())
}

/// `rss_<phase>_mb`, `rss_anon_<phase>_mb` and `pss_<phase>_mb` (NaN when unknown).
fn insert_memory(line: &mut serde_json::Map<String, serde_json::Value>, phase: &str, sample: Option<Memory>) {
    let value = |pick: fn(&Memory) -> f64| json!(round(sample.as_ref().map_or(f64::NAN, pick), 1));
    line.insert(format!("rss_{phase}_mb"), value(|m| m.rss));
    line.insert(format!("rss_anon_{phase}_mb"), value(|m| m.anon));
    line.insert(format!("pss_{phase}_mb"), value(|m| m.pss));
}
