//! `kanban-bench`: load benchmarks that print numbers (never run by `cargo test`).
//!
//! ```text
//! cargo bench --bench kanban-bench -- <scenario> [flags]
//! ```
//!
//! Each scenario starts the server binary `cargo build --release` produces (pass it with
//! `--server-bin`: `cargo bench` overwrites `target/release/agent-kanban` with a build carrying the
//! test-only `statement-stats` feature, which the bench refuses) as a child process on a fresh
//! temp database (anonymous pm, rate limits off, raised realtime limits) — or uses `--url` —
//! and drives it over HTTP and WebSocket from this process. Each measured configuration prints one
//! JSON line on stdout; progress and errors go to stderr. `all` runs every scenario with its
//! defaults, each on its own server.

mod analytics;
mod api;
mod args;
mod load;
mod memory;
mod reads;
mod report;
mod scaling;
mod seed;
mod server;
mod writes;
mod ws_fanout;

use args::Opts;
use writes::Write;

async fn run_one(opts: &Opts) -> Result<(), String> {
    match opts.scenario.as_str() {
        "create" => writes::run(Write::Create, opts).await,
        "move" => writes::run(Write::Move, opts).await,
        "comment" => writes::run(Write::Comment, opts).await,
        "list-board" => reads::list_board(opts).await,
        "dashboard" => reads::dashboard(opts).await,
        "write-scaling" => scaling::run(opts).await,
        "memory" => memory::run(opts).await,
        "ws-fanout" => ws_fanout::run(opts).await,
        "bulk-move" => analytics::bulk_move(opts).await,
        "statistics" => analytics::statistics(opts).await,
        other => Err(format!("unknown scenario {other:?}")),
    }
}

/// Run the chosen scenario, or every one for `all` (a failing scenario does not stop the rest).
async fn run(opts: Opts) -> Result<(), String> {
    if opts.scenario != "all" {
        return run_one(&opts).await;
    }
    let mut failed = Vec::new();
    for name in args::SCENARIOS {
        eprintln!("== {name}");
        if let Err(e) = run_one(&opts.defaults_for(name)).await {
            eprintln!("kanban-bench: {name}: {e}");
            failed.push(name);
        }
    }
    if failed.is_empty() { Ok(()) } else { Err(format!("failed scenarios: {}", failed.join(", "))) }
}

fn main() {
    let opts = match args::parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    // Before any server starts, so the child inherits the raised limit too.
    let fd_limit = server::raise_fd_limit();
    eprintln!("kanban-bench: {} (open-file limit {fd_limit})", opts.scenario);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    if let Err(e) = runtime.block_on(run(opts)) {
        eprintln!("kanban-bench: {e}");
        std::process::exit(1);
    }
}
