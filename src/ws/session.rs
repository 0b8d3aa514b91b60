//! One WebSocket connection: a session task that owns the socket (inbound frames, heartbeats,
//! liveness, outbound queue, close signals) and one forwarder task per subscription
//! (`forwarder.rs`) that moves events from a hub channel into the connection's bounded outbound
//! queue.
//!
//! A forwarder that cannot keep up (its channel lagged, or the queue stayed full for the send
//! timeout) and a socket write slower than the send timeout both end the connection with
//! `resync_required` (reason `lagged`) and close code 4001, within one more second in all; nothing
//! else ever waits on a client. A client sending frames faster than its rate is closed with 1008.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use sqlx::SqlitePool;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::conn::{CloseCmd, Conn, HEARTBEAT_TIMEOUT, Outgoing, Topic};
pub use super::forwarder::ReplayLimits;
use super::hub::{Admission, Dropped, Hub, Registration, Subscription};
use super::protocol::{self, ResyncReason};
use super::rate::InboundRate;

mod subscriptions;

/// A client sending more frames per second than allowed is closed with this.
const TOO_MANY_MESSAGES: CloseCmd = CloseCmd::Code(1008, "too many messages");

/// The most a closing session spends on its last frames (`resync_required`, close) together.
const CLOSE_BUDGET: Duration = Duration::from_secs(1);

/// Timing and sizes of a session.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    pub heartbeat_interval: Duration,
    pub liveness: Duration,
    pub send_timeout: Duration,
    pub replay: ReplayLimits,
    /// Inbound frames allowed per second.
    pub max_messages_per_second: u32,
}

/// Everything a session needs, prepared by the handshake.
pub struct SessionStart {
    pub hub: Hub,
    pub db: SqlitePool,
    pub settings: SessionSettings,
    pub registration: Registration,
    pub admission: Admission,
    pub outbound_rx: mpsc::Receiver<Outgoing>,
    /// The board of the handshake, already subscribed (subscribe first, then read `last_seq`).
    pub initial: Option<InitialBoard>,
    /// Whether `get_stats` includes connection detail.
    pub admin: bool,
}

/// The handshake's board subscription.
pub struct InitialBoard {
    pub board_id: i64,
    pub since: Option<i64>,
    pub last_seq: i64,
    pub subscription: Subscription,
}

type Sink = SplitSink<WebSocket, Message>;

struct Session {
    hub: Hub,
    db: SqlitePool,
    settings: SessionSettings,
    conn: Arc<Conn>,
    admin: bool,
    forwarders: HashMap<Topic, JoinHandle<()>>,
    /// Last seq written to the socket, per explicitly subscribed board.
    delivered: HashMap<i64, i64>,
    inbound_rate: InboundRate,
}

/// Why the session loop stops.
enum End {
    /// The socket is gone or the client closed it: nothing more to send.
    Quit,
    /// Close with this command (last frames within [`CLOSE_BUDGET`]).
    Close(CloseCmd),
}

/// The outcome of one turn of the session loop.
type Step = Result<(), End>;

/// Run a connection until it closes.
pub async fn run(socket: WebSocket, start: SessionStart) {
    let (mut sink, stream) = socket.split();
    let conn = start.registration.conn.clone();
    let mut session = Session {
        hub: start.hub,
        db: start.db,
        settings: start.settings,
        conn: conn.clone(),
        admin: start.admin,
        forwarders: HashMap::new(),
        delivered: HashMap::new(),
        inbound_rate: InboundRate::new(Instant::now()),
    };
    // Subscribe before `connected` is sent, so no event committed after it can be missed.
    let all = start.initial.is_none().then(|| session.hub.subscribe(Topic::All));
    let (board_id, last_seq) = start.initial.as_ref().map(|i| (i.board_id, i.last_seq)).unzip();
    let hello = protocol::connected(&protocol::Connected {
        client_id: &conn.client_id,
        client_label: conn.label.as_deref(),
        username: &conn.username,
        board_id,
        last_seq,
    });
    if session.send(&mut sink, hello.into(), None).await.is_ok() {
        match (start.initial, all) {
            (Some(i), _) => session.follow_board(i.board_id, i.subscription, i.since, i.last_seq),
            (None, Some(all)) => session.follow_all(all),
            (None, None) => {}
        }
        session.run(sink, stream, start.outbound_rx).await;
    }
    session.stop_forwarders();
    drop(start.admission);
    drop(start.registration);
}

impl Session {
    /// Send one frame within the send timeout. A write that takes longer means the client
    /// stopped reading: the connection ends as a slow consumer. `board_seq` marks a board event.
    async fn send(&mut self, sink: &mut Sink, text: Utf8Bytes, board_seq: Option<(i64, i64)>) -> Step {
        match tokio::time::timeout(self.settings.send_timeout, sink.send(Message::Text(text))).await {
            Ok(Ok(())) => {
                self.conn.count_sent();
                self.hub.count_sent();
                if let Some((board, seq)) = board_seq {
                    self.delivered.insert(board, seq);
                }
                Ok(())
            }
            Ok(Err(_)) => Err(End::Quit),
            Err(_) => {
                self.hub.count_dropped(Dropped::SendTimeout, 1);
                // The frame stays in the write buffer ahead of anything sent later (the resync), so
                // it counts as delivered.
                if let Some((board, seq)) = board_seq {
                    self.delivered.insert(board, seq);
                }
                let board = board_seq.map(|(b, _)| b).or_else(|| self.only_board());
                Err(End::Close(CloseCmd::Lagged { board_id: board, last_seq: None }))
            }
        }
    }

    /// The single explicitly subscribed board, if there is exactly one.
    fn only_board(&self) -> Option<i64> {
        let subs = self.conn.subscriptions();
        (!subs.all_boards && subs.boards.len() == 1).then(|| subs.boards.first().copied()).flatten()
    }

    async fn run(
        &mut self,
        mut sink: Sink,
        mut stream: SplitStream<WebSocket>,
        mut outbound: mpsc::Receiver<Outgoing>,
    ) {
        let mut close = self.conn.close_signal();
        // A close signalled before this receiver existed (e.g. shutdown began mid-handshake).
        let pending = *close.borrow_and_update();
        if let Some(cmd) = pending {
            return Box::pin(self.finish(&mut sink, cmd)).await;
        }
        let start = tokio::time::Instant::now() + self.settings.heartbeat_interval;
        let mut heartbeat = tokio::time::interval_at(start, self.settings.heartbeat_interval);
        let mut liveness = tokio::time::interval(Duration::from_millis(250).min(self.settings.liveness));
        loop {
            // Biased, in this order: a close signal (a lagging forwarder, revoked access,
            // shutdown) is acted on at the next turn even while frames keep coming, and the rare
            // timer ticks cannot be starved by a steady stream; inbound frames are rate-limited.
            let step = tokio::select! {
                biased;
                changed = close.changed() => {
                    let cmd = if changed.is_ok() { *close.borrow() } else { None };
                    Err(cmd.map_or(End::Quit, End::Close))
                },
                _ = liveness.tick() => match self.conn.idle_for() > self.settings.liveness {
                    true => Err(End::Close(HEARTBEAT_TIMEOUT)),
                    false => Ok(()),
                },
                _ = heartbeat.tick() => self.send(&mut sink, protocol::heartbeat().into(), None).await,
                inbound = stream.next() => self.inbound(&mut sink, inbound).await,
                Some(out) = outbound.recv() => {
                    let board_seq = out.board_event.then_some((out.frame.board_id, out.frame.seq));
                    self.send(&mut sink, out.frame.text.clone(), board_seq).await
                },
            };
            match step {
                Ok(()) => {}
                Err(End::Quit) => return,
                Err(End::Close(cmd)) => return Box::pin(self.finish(&mut sink, cmd)).await,
            }
        }
    }

    /// One read from the socket: a frame to answer, an oversized frame (1009) or the end.
    async fn inbound(&mut self, sink: &mut Sink, inbound: Option<Result<Message, axum::Error>>) -> Step {
        match inbound {
            Some(Ok(msg)) => {
                self.conn.touch();
                self.handle(sink, msg).await
            }
            Some(Err(e)) => {
                let e = e.to_string().to_ascii_lowercase();
                let too_big = e.contains("too long") || e.contains("limit");
                Err(if too_big { End::Close(CloseCmd::Code(1009, "message too big")) } else { End::Quit })
            }
            None => Err(End::Quit),
        }
    }

    /// Answer one client frame. Every frame but a close counts toward the message rate, WebSocket
    /// pings and pongs included: each costs the server work, and a well-behaved client sends one
    /// every few seconds at most.
    async fn handle(&mut self, sink: &mut Sink, msg: Message) -> Step {
        if !matches!(msg, Message::Close(_))
            && !self.inbound_rate.admit(Instant::now(), self.settings.max_messages_per_second)
        {
            return Err(End::Close(TOO_MANY_MESSAGES));
        }
        let reply = match msg {
            Message::Text(text) => match protocol::parse(text.as_str()) {
                // Boxed: a reply may wait on the database, and that future would otherwise be
                // held inline in every idle session's task for its whole life.
                Ok(m) => Box::pin(self.reply(m)).await,
                Err((code, message)) => protocol::error(code, &message),
            },
            Message::Binary(_) => protocol::error("BINARY_NOT_SUPPORTED", "Binary frames are not supported"),
            // axum answers WebSocket pings itself; both only count as activity.
            Message::Ping(_) | Message::Pong(_) => return Ok(()),
            Message::Close(_) => {
                // Complete the closing handshake: tungstenite queued the reply; flush it.
                let _ = tokio::time::timeout(CLOSE_BUDGET, sink.close()).await;
                return Err(End::Quit);
            }
        };
        self.send(sink, reply.into(), None).await
    }

    async fn finish(&mut self, sink: &mut Sink, cmd: CloseCmd) {
        self.stop_forwarders();
        let (code, reason, resync) = match cmd {
            CloseCmd::Code(code, reason) => (code, reason, None),
            CloseCmd::Lagged { board_id, last_seq } => {
                // The last seq written to this socket, where the session knows it.
                let last_seq = board_id.and_then(|b| self.delivered.get(&b).copied()).or(last_seq);
                (4001, "slow consumer", Some(protocol::resync_required(board_id, last_seq, ResyncReason::Lagged)))
            }
        };
        self.hub.count_closed(code);
        let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
        // One budget for both frames: a client that stopped reading takes neither, and the
        // connection is dropped when it runs out.
        let last_frames = async {
            if let Some(resync) = resync {
                sink.send(Message::Text(resync.into())).await?;
            }
            sink.send(Message::Close(Some(frame))).await
        };
        let _ = tokio::time::timeout(CLOSE_BUDGET, last_frames).await;
    }
}
