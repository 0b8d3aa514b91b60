//! `ws-fanout`: N WebSocket subscribers on board 1, M ticket moves over REST at a steady rate;
//! reports the delivered ratio and the latency from each event's commit timestamp to its arrival
//! at a subscriber. Also holds the idle-socket helper the `memory` scenario uses.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

use crate::api::Api;
use crate::args::Opts;
use crate::report::{self, percentile, round};
use crate::{seed, server};

/// A client WebSocket.
pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Handshakes in flight at once, so the server's accept queue never overflows.
const HANDSHAKES_IN_FLIGHT: usize = 256;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(120);

/// Per-run delivery counters and latency samples (milliseconds).
#[derive(Default)]
struct Delivery {
    received: AtomicU64,
    latencies: Mutex<Vec<f64>>,
}

/// Open `n` sockets to board 1 and wait for each one's `connected` frame.
pub async fn connect_idle(ws_base: &str, n: usize) -> Result<Vec<Socket>, String> {
    let url = format!("{ws_base}/ws/connect?board_id=1");
    let opened: Vec<Result<Socket, String>> =
        stream::iter(0..n).map(|_| connect_one(&url)).buffer_unordered(HANDSHAKES_IN_FLIGHT).collect().await;
    let failed = opened.iter().filter(|r| r.is_err()).count();
    match opened.iter().find_map(|r| r.as_ref().err()) {
        Some(e) => Err(format!("{failed} of {n} sockets failed to connect; first: {e}")),
        None => Ok(opened.into_iter().flatten().collect()),
    }
}

async fn connect_one(url: &str) -> Result<Socket, String> {
    let handshake = async {
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| e.to_string())?;
        while let Some(msg) = ws.next().await {
            let Message::Text(text) = msg.map_err(|e| e.to_string())? else { continue };
            if serde_json::from_str::<Value>(text.as_str()).is_ok_and(|f| f["event"] == "connected") {
                return Ok(ws);
            }
        }
        Err("closed before the connected frame".to_owned())
    };
    tokio::time::timeout(Duration::from_secs(30), handshake).await.map_err(|_| "connect timed out".to_owned())?
}

/// Receive `expect` `ticket_moved` events on `ws`, recording each one's latency.
async fn subscriber(mut ws: Socket, expect: usize, delivery: Arc<Delivery>) {
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
}

/// Run `ws-fanout` with `--subscribers` (1000), `--moves` (200) and `--rate` (20 per second).
pub async fn run(opts: &Opts) -> Result<(), String> {
    let (subscribers, moves, rate) =
        (opts.subscribers.unwrap_or(1000), opts.moves.unwrap_or(200), opts.rate.unwrap_or(20.0));
    let server = server::start(&opts.common).await?;
    let api = Api::new(&server.base, 4)?;
    let ticket = api.post_json("/api/tickets/", &json!({"board_id": 1, "title": "bench"})).await?;
    let id = ticket["id"].as_i64().ok_or("no ticket id")?;

    eprintln!("ws-fanout: {subscribers} subscribers, {moves} moves at {rate}/s");
    let connect_start = Instant::now();
    let sockets = tokio::time::timeout(CONNECT_TIMEOUT, connect_idle(&server.ws_base(), subscribers))
        .await
        .map_err(|_| format!("{subscribers} subscribers did not connect within {CONNECT_TIMEOUT:?}"))??;
    let connect_secs = connect_start.elapsed().as_secs_f64();
    let rss_connected = server.rss_mb();
    let delivery = Arc::new(Delivery::default());
    let tasks: Vec<_> = sockets.into_iter().map(|ws| tokio::spawn(subscriber(ws, moves, delivery.clone()))).collect();

    let columns = seed::two_columns(&api, 1).await?;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    let probe = server.probe();
    let moves_start = Instant::now();
    for i in 0..moves {
        ticker.tick().await;
        // The ticket starts in the first column, so every move changes it.
        let body = json!({"column": columns[(i + 1) % 2]});
        api.post(&format!("/api/tickets/{id}/move"), &body).await.map_err(|e| format!("move {i} failed: {e}"))?;
    }
    let moves_secs = moves_start.elapsed().as_secs_f64();
    let expected = (subscribers * moves) as u64;
    let wait_start = Instant::now();
    while delivery.received.load(Ordering::Relaxed) < expected && wait_start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let usage = probe.finish();
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

    let line = json!({
        "scenario": "ws-fanout",
        "subscribers": subscribers,
        "moves": moves,
        "rate": rate,
        "connect_seconds": round(connect_secs, 3),
        "moves_seconds": round(moves_secs, 3),
        "delivered": received,
        "expected": expected,
        "delivered_ratio": round(received as f64 / expected.max(1) as f64, 4),
        "samples": lat.len(),
        "p50_ms": round(percentile(&lat, 50.0), 3),
        "p99_ms": round(percentile(&lat, 99.0), 3),
        "max_ms": round(lat.last().copied().unwrap_or(f64::NAN), 3),
        "server_cpu_ms_per_op": round(usage.cpu_ms.map_or(f64::NAN, |ms| ms / moves as f64), 4),
        "server_rss_mb_connected": round(rss_connected.unwrap_or(f64::NAN), 1),
        "server_rss_mb": round(usage.rss_mb.unwrap_or(f64::NAN), 1),
    });
    if let Value::Object(map) = line {
        report::emit(map);
    }
    Ok(())
}
