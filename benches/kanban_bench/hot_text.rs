//! `hot-text`: profile the code the server runs, and write `link/hot-text.ld`, the linker script
//! that places that code first in the executable (see `layout.rs` for why).
//!
//! The server runs under callgrind. Its profile is dumped twice: after start-up, one
//! `GET /api/status` and a few idle seconds (what the `memory` scenario's idle reading sees), and
//! after a mixed load of a few seconds: WebSocket subscribers receiving events, creates, moves,
//! comments, board lists, the dashboard, health and metrics. Not part of `all`: it rewrites a
//! source file. Run it after changes that move much code (a dependency or toolchain update, a new
//! subsystem), rebuild, and compare the `memory` scenario before and after.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;

use crate::api::Api;
use crate::args::Opts;
use crate::layout::{self, Layout};
use crate::load::{self, Until};
use crate::reads::get_op;
use crate::writes::{comment_op, create_op, move_op};
use crate::ws_fanout::connect_idle;
use crate::{report, seed, server};

/// The board the load writes to (the one a new database starts with), and its subscribers.
const BOARD: i64 = 1;
const SUBSCRIBERS: usize = 20;
/// Clients and requests of each write in the load; reads repeat [`READS`] times.
const WORKERS: usize = 8;
const WRITES: u64 = 300;
const READS: u64 = 10;
/// Idle time after start-up: the periodic tasks (memory release every 2 s) run in it.
const IDLE: Duration = Duration::from_secs(3);
/// Under callgrind everything runs ~50× slower.
const UP_WITHIN: Duration = Duration::from_secs(180);
const DUMP_WITHIN: Duration = Duration::from_secs(60);

/// Where the script goes: `link/hot-text.ld` of this package.
fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("link").join("hot-text.ld")
}

pub async fn run(opts: &Opts) -> Result<(), String> {
    if opts.common.url.is_some() {
        return Err("hot-text starts its own server under callgrind; --url does not apply".into());
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = dir.path().join("callgrind.out");
    let wrapper: Vec<String> = [
        "valgrind",
        "--tool=callgrind",
        "--dump-instr=yes",
        "--dump-line=no",
        "--compress-pos=no",
        "--compress-strings=no",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([format!("--callgrind-out-file={}", out.display())])
    .collect();
    let server = server::start_wrapped(&opts.common, &wrapper, UP_WITHIN).await?;
    let pid = server.pid().ok_or("the started server has no pid")?;
    let api = Api::new(&server.base, WORKERS)?;

    api.get("/api/status").await?;
    tokio::time::sleep(IDLE).await;
    let startup = dump(pid, &out, 1).await?;
    eprintln!("hot-text: start-up profiled; running the load");
    load(&server, &api).await?;
    let under_load = dump(pid, &out, 2).await?;
    drop(server);

    let binary = server::binary(&opts.common);
    let symbols = layout::symbols(&binary)?;
    let mut layout = Layout::new(&symbols);
    let first = layout.group(&layout::hit(&symbols, &layout::executed(&startup, &binary)?));
    let second = layout.group(&layout::hit(&symbols, &layout::executed(&under_load, &binary)?));
    let path = script_path();
    let script = layout::script(&[("start-up and idle", &first), ("under load", &second)]);
    std::fs::write(&path, script).map_err(|e| format!("cannot write {}: {e}", path.display()))?;

    let line = json!({
        "scenario": "hot-text",
        "startup_functions": first.functions,
        "startup_kib": first.bytes / 1024,
        "load_functions": second.functions,
        "load_kib": second.bytes / 1024,
        "patterns": first.patterns.len() + second.patterns.len(),
        "globs": first.globs + second.globs,
        "written": path.display().to_string(),
    });
    if let serde_json::Value::Object(map) = line {
        report::emit(map);
    }
    Ok(())
}

/// The steady-state work: subscribers draining events while writes and reads run.
async fn load(server: &server::Server, api: &Api) -> Result<(), String> {
    let sockets = connect_idle(&server.ws_base(), SUBSCRIBERS).await?;
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut ws| tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} }))
        .collect();
    let tickets = seed::tickets(api, &[BOARD], WORKERS).await?;
    let columns = seed::two_columns(api, BOARD).await?;
    let phases = [
        load::run(WORKERS, Until::Ops(WRITES), create_op(api, BOARD)).await,
        load::run(WORKERS, Until::Ops(WRITES), move_op(api, tickets.clone(), columns)).await,
        load::run(WORKERS, Until::Ops(WRITES), comment_op(api, tickets)).await,
    ];
    let mut reads = Vec::new();
    for path in [
        format!("/api/boards/{BOARD}/tickets"),
        format!("/api/boards/{BOARD}"),
        "/api/boards/".to_owned(),
        "/api/status".to_owned(),
        "/health".to_owned(),
        "/health/ready".to_owned(),
        "/metrics".to_owned(),
    ] {
        reads.push(load::run(1, Until::Ops(READS), get_op(api, path)).await);
    }
    for r in readers {
        r.abort();
    }
    let errors: u64 = phases.iter().chain(&reads).map(|r| r.errors).sum();
    match phases.iter().chain(&reads).find_map(|r| r.first_error.as_ref()) {
        Some((_, e)) => Err(format!("{errors} requests of the load failed; first: {e}")),
        None => Ok(()),
    }
}

/// Ask callgrind to dump the profile so far (and start counting afresh); the dump's text.
async fn dump(pid: u32, out: &Path, n: u32) -> Result<String, String> {
    let status = Command::new("callgrind_control")
        .args(["--dump", &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("cannot run callgrind_control: {e}"))?;
    if !status.success() {
        return Err(format!("callgrind_control --dump {pid} failed: {status}"));
    }
    let file = PathBuf::from(format!("{}.{n}", out.display()));
    let deadline = Instant::now() + DUMP_WITHIN;
    loop {
        // A dump is complete once its totals line is written.
        if let Ok(text) = std::fs::read_to_string(&file)
            && text.lines().any(|l| l.starts_with("totals:"))
        {
            return Ok(text);
        }
        if Instant::now() > deadline {
            return Err(format!("callgrind did not write {}", file.display()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
