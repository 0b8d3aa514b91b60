//! Tests for what one WebSocket client can make the server do (`realtime.md` §6, §7, §9): replay is
//! bounded by `realtime.max_replay` and read in pages, a subscriber that stops reading is dropped
//! within `realtime.send_timeout_seconds` + 1 s, inbound frames are limited to
//! `realtime.max_client_messages_per_second`, and a repeated subscribe changes nothing.
//!
//! As in `realtime.rs`, nothing sleeps to synchronise: tests await frames with timeouts and prove
//! silence with a quiet window after the frame that must come last. The only sleeps pace a writer
//! and space the polls of a condition that has a deadline.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::{Bytes, Message};

use crate::helpers::*;
use crate::realtime::{assert_closed_with, assert_pong, assert_quiet, next_frame, open, seq};

/// Create `n` tickets on board 1 (its events get seqs 1..=n on a fresh server).
async fn create_tickets(app: &TestApp, n: usize) {
    for i in 0..n {
        app.create_ticket(1, &format!("t{i}")).await;
    }
}

/// Expect `resync_required` for board 1 at `last_seq` with `reason` as the next frame.
async fn assert_resync(ws: &mut WsClient, last_seq: i64, reason: &str) {
    let frame = next_frame(ws).await;
    assert_eq!(frame["event"], "resync_required", "expected a resync, got {frame}");
    assert_eq!(frame["data"], json!({"board_id": 1, "last_seq": last_seq, "reason": reason}));
}

/// Expect exactly the events `from..=to` of board 1, in order.
async fn assert_events(ws: &mut WsClient, from: i64, to: i64) {
    for expected in from..=to {
        let frame = next_frame(ws).await;
        assert_eq!(frame["event"], "ticket_created", "got {frame}");
        assert_eq!(seq(&frame), expected, "events in order, without gaps");
    }
}

/// A live event written now is the next frame: the socket is open and nothing else was pending.
async fn assert_live(app: &TestApp, ws: &mut WsClient, expected_seq: i64) {
    let ticket = app.create_ticket(1, "live").await;
    let frame = next_frame(ws).await;
    assert_eq!(frame["data"]["id"], ticket["id"], "the live event comes next: {frame}");
    assert_eq!(seq(&frame), expected_seq);
    assert_quiet(ws).await;
}

// ---------------------------------------------------------------------------------------------
// Bounded replay (realtime.md §6)
// ---------------------------------------------------------------------------------------------

fn replay_app() -> impl std::future::Future<Output = TestApp> {
    spawn_app_with(|cfg| {
        cfg.realtime.max_replay = 50;
        cfg.realtime.replay_page_size = 7;
    })
}

#[tokio::test]
async fn a_handshake_further_behind_than_max_replay_gets_a_resync_instead_of_a_replay() {
    let app = replay_app().await;
    create_tickets(&app, 60).await;

    let mut ws = app.ws("board_id=1&since=0").await;

    assert_eq!(ws.next_event("connected").await["data"]["last_seq"], 60);
    assert_resync(&mut ws, 60, "expired").await;
    assert_live(&app, &mut ws, 61).await;
}

#[tokio::test]
async fn a_subscribe_further_behind_than_max_replay_gets_a_resync_instead_of_a_replay() {
    let app = replay_app().await;
    create_tickets(&app, 60).await;
    let (mut ws, _) = open(&app, "").await;

    ws.send_json(&json!({"type": "subscribe_board", "board_id": 1, "since": 9})).await;

    assert_eq!(next_frame(&mut ws).await, json!({"event": "subscribed", "data": {"board_id": 1, "last_seq": 60}}));
    assert_resync(&mut ws, 60, "expired").await;
    assert_live(&app, &mut ws, 61).await;
}

#[tokio::test]
async fn a_replay_of_exactly_max_replay_events_is_delivered_page_by_page() {
    let app = replay_app().await;
    create_tickets(&app, 60).await;

    let mut ws = app.ws("board_id=1&since=10").await;

    ws.next_event("connected").await;
    assert_events(&mut ws, 11, 60).await;
    assert_live(&app, &mut ws, 61).await;
}

#[tokio::test]
async fn a_subscribe_replay_longer_than_a_page_delivers_every_event_in_order() {
    let app = replay_app().await;
    create_tickets(&app, 24).await;
    let (mut ws, _) = open(&app, "").await;

    ws.send_json(&json!({"type": "subscribe_board", "board_id": 1, "since": 3})).await;

    assert_eq!(next_frame(&mut ws).await["event"], "subscribed");
    assert_events(&mut ws, 4, 24).await;
    assert_live(&app, &mut ws, 25).await;
}

#[tokio::test]
async fn a_purged_log_is_still_expired_when_the_backlog_is_within_max_replay() {
    let app = spawn_app_with(|cfg| {
        cfg.events.max_per_board = 100;
        cfg.realtime.replay_page_size = 7;
    })
    .await;
    create_tickets(&app, 130).await;
    assert_eq!(app.purge_events().await, 30, "the 30 oldest events are purged");

    let mut expired = app.ws("board_id=1&since=29").await;
    let mut replayed = app.ws("board_id=1&since=30").await;

    expired.next_event("connected").await;
    assert_resync(&mut expired, 130, "expired").await;
    replayed.next_event("connected").await;
    assert_events(&mut replayed, 31, 130).await;
    assert_quiet(&mut replayed).await;
}

// ---------------------------------------------------------------------------------------------
// A subscriber that stops reading (realtime.md §9)
// ---------------------------------------------------------------------------------------------

/// Open a socket whose receive buffer is a few KiB, so the server's writes stall soon after the
/// client stops reading.
async fn ws_with_small_receive_buffer(app: &TestApp, query: &str) -> WsClient {
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().expect("server address");
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let tcp = socket.connect(addr).await.expect("connect");
    let url = app.ws_url(&format!("/ws/connect?{query}"));
    let (stream, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(tcp)).await.expect("handshake");
    WsClient { stream }
}

/// Open sockets, as `/ws/stats` reports them.
async fn open_sockets(app: &TestApp) -> i64 {
    app.get_json("/ws/stats").await["total_connections"].as_i64().expect("total_connections")
}

/// One series of `/metrics`, by its exact name with labels (0 when absent).
async fn metric(app: &TestApp, series: &str) -> f64 {
    let text = app.get("/metrics").await.text().await.expect("metrics body");
    let line = text.lines().find(|l| l.rsplit_once(' ').is_some_and(|(name, _)| name == series));
    line.and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

/// Read what the server managed to hand to the kernel before it dropped the socket: the number
/// of complete `ticket_created` frames (seqs from 1, contiguous).
async fn complete_events_received(ws: &mut WsClient) -> i64 {
    let mut received = 0;
    loop {
        let next = tokio::time::timeout(FRAME_TIMEOUT, ws.stream.next()).await;
        match next.expect("the dropped socket ends in time") {
            Some(Ok(Message::Text(t))) => {
                let frame: Value = serde_json::from_str(t.as_str()).expect("JSON frame");
                if frame["event"] == "ticket_created" {
                    assert_eq!(seq(&frame), received + 1, "no gap before the drop");
                    received += 1;
                }
            }
            Some(Ok(Message::Close(_)) | Err(_)) | None => return received,
            Some(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_stops_reading_is_dropped_within_the_send_timeout_and_a_second() {
    let app = spawn_app_with(|cfg| cfg.realtime.send_timeout_seconds = 1).await;
    let mut silent = ws_with_small_receive_buffer(&app, "board_id=1").await;
    silent.next_event("connected").await;
    // From here on the client reads nothing, while big events keep coming.
    let big = "x".repeat(19_000);
    let mut answered = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while open_sockets(&app).await > 0 {
        assert!(Instant::now() < deadline && answered.len() < 1000, "the silent subscriber was never dropped");
        let body = json!({"board_id": 1, "title": "big", "description": big, "acceptance_criteria": big});
        assert_eq!(app.post("/api/tickets/", &body).await.status(), StatusCode::CREATED);
        answered.push(Instant::now());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dropped_at = Instant::now();

    let received = complete_events_received(&mut silent).await;
    let received_len = usize::try_from(received).expect("a count");
    assert!(received_len < answered.len(), "the socket never stalled: all {received} events arrived");
    // The first event the socket never got was published before its write was answered: the
    // stall began no later than that (give or take scheduling).
    let stalled_by = answered[received_len];
    let allowed = Duration::from_secs(app.config.realtime.send_timeout_seconds + 1) + Duration::from_millis(500);
    let took = dropped_at.duration_since(stalled_by);
    assert!(took <= allowed, "dropped {took:?} after its writes stalled, allowed {allowed:?}");
    assert_eq!(app.ws_closes(4001), 1, "closed as a slow consumer");
    assert!(metric(&app, r#"kanban_events_dropped_total{reason="send_timeout"}"#).await >= 1.0);
}

// ---------------------------------------------------------------------------------------------
// Client message rate (realtime.md §7)
// ---------------------------------------------------------------------------------------------

fn rate_app() -> impl std::future::Future<Output = TestApp> {
    spawn_app_with(|cfg| cfg.realtime.max_client_messages_per_second = 5)
}

#[tokio::test]
async fn a_socket_within_its_message_rate_gets_every_reply_and_stays_open() {
    let app = rate_app().await;
    let mut ws = app.ws("board_id=1").await;
    ws.next_event("connected").await;

    for _ in 0..5 {
        ws.send_json(&json!({"type": "ping"})).await;
    }

    for _ in 0..5 {
        assert_eq!(next_frame(&mut ws).await["type"], "pong");
    }
    assert_live(&app, &mut ws, 1).await;
    assert_eq!(app.ws_closes(1008), 0);
}

#[tokio::test]
async fn a_socket_over_its_message_rate_is_closed_with_1008() {
    let app = rate_app().await;
    let mut ws = app.ws("").await;
    ws.next_event("connected").await;

    let subscribe = json!({"type": "subscribe_board", "board_id": 1, "since": 0}).to_string();
    for _ in 0..20 {
        // The server may close mid-burst, failing the sends after that.
        let _ = ws.stream.send(Message::text(subscribe.clone())).await;
    }

    assert_closed_with(&mut ws, 1008).await;
    assert_eq!(app.ws_closes(1008), 1);
}

#[tokio::test]
async fn websocket_ping_frames_count_toward_the_message_rate() {
    let app = rate_app().await;
    let mut ws = app.ws("").await;
    ws.next_event("connected").await;

    for _ in 0..20 {
        let _ = ws.stream.send(Message::Ping(Bytes::from_static(b"hi"))).await;
    }

    assert_closed_with(&mut ws, 1008).await;
}

// ---------------------------------------------------------------------------------------------
// Repeated subscriptions (realtime.md §7)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn subscribing_again_to_a_followed_board_replays_nothing_and_delivers_each_event_once() {
    let app = spawn_app().await;
    create_tickets(&app, 3).await;
    let (mut ws, _) = open(&app, "").await;
    ws.send_json(&json!({"type": "subscribe_board", "board_id": 1, "since": 0})).await;
    assert_eq!(next_frame(&mut ws).await["event"], "subscribed");
    assert_events(&mut ws, 1, 3).await;

    ws.send_json(&json!({"type": "subscribe_board", "board_id": 1, "since": 0})).await;

    assert_eq!(next_frame(&mut ws).await, json!({"event": "subscribed", "data": {"board_id": 1, "last_seq": 3}}));
    assert_pong(&mut ws).await;
    assert_live(&app, &mut ws, 4).await;
    let stats = app.get_json("/ws/stats").await;
    assert_eq!(stats["board_subscriptions"], json!({"all": 0, "1": 1}), "{stats}");
}

#[tokio::test]
async fn subscribing_to_the_handshake_board_changes_nothing() {
    let app = spawn_app().await;
    create_tickets(&app, 2).await;
    let (mut ws, hello) = open(&app, "board_id=1").await;
    assert_eq!(hello["data"]["last_seq"], 2);

    ws.send_json(&json!({"type": "subscribe_board", "board_id": "1", "since": 0})).await;

    assert_eq!(next_frame(&mut ws).await, json!({"event": "subscribed", "data": {"board_id": 1, "last_seq": 2}}));
    assert_pong(&mut ws).await;
    assert_live(&app, &mut ws, 3).await;
}
