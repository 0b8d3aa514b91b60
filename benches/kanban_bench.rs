//! `kanban-bench`: load benchmarks that print numbers (never run by `cargo test`).
//!
//! ```text
//! cargo bench --bench kanban-bench -- ws-fanout --subscribers 1000 --moves 200 --rate 20
//! ```
//!
//! `ws-fanout` starts the release server binary as a child process on a fresh database (anonymous
//! pm, rate limits off, raised connection limits), connects N WebSocket subscribers to board 1 from
//! this process, performs M ticket moves over REST at a steady rate, and reports the delivered ratio
//! and the latency from the event's commit timestamp to its arrival at a subscriber (p50/p99/max),
//! plus the server's resident memory.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

struct Args {
    subscribers: usize,
    moves: usize,
    rate: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    match args.next().as_deref() {
        Some("ws-fanout") => {}
        other => return Err(format!("unknown benchmark {other:?}; try: ws-fanout")),
    }
    let mut out = Args { subscribers: 1000, moves: 200, rate: 20.0 };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |_: std::num::ParseIntError| format!("bad value for {flag}: {value}");
        let bad_f = |_: std::num::ParseFloatError| format!("bad value for {flag}: {value}");
        match flag.as_str() {
            "--subscribers" => out.subscribers = value.parse().map_err(bad)?,
            "--moves" => out.moves = value.parse().map_err(bad)?,
            "--rate" => out.rate = value.parse().map_err(bad_f)?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(out)
}

/// Raise this process's open-file soft limit to its hard limit (inherited by the server child).
fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
    lim.rlim_cur
}

struct ServerProcess {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(18099)
}

async fn start_server(subscribers: usize) -> Result<ServerProcess, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let port = free_port();
    let limit = (subscribers + 100).to_string();
    let child = Command::new(env!("CARGO_BIN_EXE_agent-kanban"))
        .env("KANBAN_CONFIG_DIR", dir.path())
        .env("KANBAN__SERVER__PORT", port.to_string())
        .env("KANBAN__DATABASE__PATH", dir.path().join("kanban.db"))
        .env("KANBAN__AUTH__ANONYMOUS_ROLE", "pm")
        .env("KANBAN__RATE_LIMIT__ENABLED", "false")
        .env("KANBAN__REALTIME__MAX_CONNECTIONS", &limit)
        .env("KANBAN__REALTIME__MAX_CONNECTIONS_PER_CLIENT", &limit)
        .env("KANBAN__LOGGING__LEVEL", "warn")
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let base = format!("127.0.0.1:{port}");
    let server = ServerProcess { child, base, _dir: dir };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("http://{}/api/status", server.base)).send().await.is_ok() {
            return Ok(server);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the server did not come up".into())
}

fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Per-run delivery counters and latency samples (milliseconds).
#[derive(Default)]
struct Delivery {
    received: AtomicU64,
    latencies: Mutex<Vec<f64>>,
}

/// Receive `expect` `ticket_moved` events, recording each one's latency.
async fn subscriber(base: String, expect: usize, delivery: Arc<Delivery>, ready: Arc<AtomicU64>) -> Result<(), String> {
    let url = format!("ws://{base}/ws/connect?board_id=1");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| e.to_string())?;
    ready.fetch_add(1, Ordering::Relaxed);
    let mut local = Vec::new();
    while let Some(msg) = ws.next().await {
        let Ok(Message::Text(text)) = msg else { continue };
        let now = chrono::Utc::now();
        let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else { continue };
        if frame["event"] != "ticket_moved" {
            continue;
        }
        delivery.received.fetch_add(1, Ordering::Relaxed);
        if let Some(ts) = frame["timestamp"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()) {
            local.push((now - ts.with_timezone(&chrono::Utc)).num_microseconds().unwrap_or(0) as f64 / 1000.0);
        }
        if local.len() == expect {
            break;
        }
    }
    delivery.latencies.lock().await.append(&mut local);
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn ws_fanout(args: Args) -> Result<(), String> {
    let fd_limit = raise_fd_limit();
    let server = start_server(args.subscribers).await?;
    let http = reqwest::Client::new();
    let api = format!("http://{}/api", server.base);
    let ticket: Value = http
        .post(format!("{api}/tickets/"))
        .json(&json!({"board_id": 1, "title": "bench"}))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let id = ticket["id"].as_i64().ok_or("no ticket id")?;

    let delivery = Arc::new(Delivery::default());
    let ready = Arc::new(AtomicU64::new(0));
    let connect_start = Instant::now();
    let mut tasks = Vec::with_capacity(args.subscribers);
    for _ in 0..args.subscribers {
        tasks.push(tokio::spawn(subscriber(server.base.clone(), args.moves, delivery.clone(), ready.clone())));
        // Keep the accept queue from overflowing: at most 256 handshakes in flight.
        while tasks.len() as u64 - ready.load(Ordering::Relaxed) > 256 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    while (ready.load(Ordering::Relaxed) as usize) < args.subscribers {
        if connect_start.elapsed() > Duration::from_secs(120) {
            return Err(format!(
                "only {} of {} subscribers connected",
                ready.load(Ordering::Relaxed),
                args.subscribers
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let connect_secs = connect_start.elapsed().as_secs_f64();
    let rss_connected = rss_mb(server.child.id());

    let columns = ["In Progress", "Not Started"];
    let interval = Duration::from_secs_f64(1.0 / args.rate.max(0.001));
    let mut ticker = tokio::time::interval(interval);
    let moves_start = Instant::now();
    for i in 0..args.moves {
        ticker.tick().await;
        let resp = http
            .post(format!("{api}/tickets/{id}/move"))
            .json(&json!({"column": columns[i % 2]}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("move {i} failed: {}", resp.status()));
        }
    }
    let moves_secs = moves_start.elapsed().as_secs_f64();
    let expected = (args.subscribers * args.moves) as u64;
    let wait_start = Instant::now();
    while delivery.received.load(Ordering::Relaxed) < expected && wait_start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rss_end = rss_mb(server.child.id());
    let received = delivery.received.load(Ordering::Relaxed);
    for t in tasks {
        // A subscriber that got every event stores its samples and ends; stragglers are aborted
        // (their events already count as undelivered above).
        let abort = t.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), t).await.is_err() {
            abort.abort();
        }
    }
    let mut lat = std::mem::take(&mut *delivery.latencies.lock().await);
    lat.sort_by(|a, b| a.total_cmp(b));

    println!(
        "ws-fanout: {} subscribers, {} moves at {}/s (fd limit {fd_limit})",
        args.subscribers, args.moves, args.rate
    );
    println!("  connect all subscribers   {connect_secs:.2} s");
    println!("  moves sent in             {moves_secs:.2} s");
    println!("  delivered                 {received} / {expected} ({:.4})", received as f64 / expected.max(1) as f64);
    println!(
        "  commit->receive latency   p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms  ({} samples)",
        percentile(&lat, 50.0),
        percentile(&lat, 99.0),
        lat.last().copied().unwrap_or(f64::NAN),
        lat.len()
    );
    let fmt = |m: Option<f64>| m.map_or("n/a".to_owned(), |v| format!("{v:.1} MB"));
    println!("  server RSS                {} connected, {} after the moves", fmt(rss_connected), fmt(rss_end));
    Ok(())
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("kanban-bench: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    if let Err(e) = runtime.block_on(ws_fanout(args)) {
        eprintln!("kanban-bench: {e}");
        std::process::exit(1);
    }
}
