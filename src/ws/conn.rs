//! One connection as the hub and its session share it (identity, activity, subscriptions, the
//! outbound queue and the close signal), and the frames that travel to it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use crate::domain::event::BoardEvent;
use crate::domain::time::format_ts;

/// An event ready for the wire: its envelope text is built once for every subscriber.
#[derive(Debug)]
pub struct Frame {
    pub board_id: i64,
    pub seq: i64,
    pub text: Utf8Bytes,
}

impl Frame {
    pub fn from_event(e: &BoardEvent) -> Frame {
        let text = serde_json::to_string(e).unwrap_or_else(|_| "{}".to_owned());
        Frame { board_id: e.board_id, seq: e.seq, text: text.into() }
    }

    /// A frame that is not a logged board event (its `board_id` and `seq` are not read).
    pub fn plain(text: Utf8Bytes) -> Frame {
        Frame { board_id: 0, seq: 0, text }
    }
}

/// A frame waiting in a connection's outbound queue. With `board_event`, the frame's
/// `(board_id, seq)` is what the session records as delivered for that board. Kept to two words:
/// every connection's queue reserves room for a block of 32 of them when it is created.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub frame: Arc<Frame>,
    pub board_event: bool,
}

/// What a broadcast channel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    All,
    Board(i64),
}

/// Why and how a session must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCmd {
    /// Close with this code and reason.
    Code(u16, &'static str),
    /// Lagged behind `topic`: send `resync_required` (with the last seq delivered), close 4001.
    Lagged { board_id: Option<i64>, last_seq: Option<i64> },
}

pub const HEARTBEAT_TIMEOUT: CloseCmd = CloseCmd::Code(4000, "heartbeat timeout");
pub const ACCESS_REVOKED: CloseCmd = CloseCmd::Code(4003, "access revoked");
pub const SHUTTING_DOWN: CloseCmd = CloseCmd::Code(1001, "server shutting down");

/// One open connection, shared by the hub registry and its session task.
pub struct Conn {
    pub client_id: String,
    pub label: Option<String>,
    pub username: String,
    pub user_id: Option<i64>,
    connected: Instant,
    message_count: AtomicU64,
    /// Unix milliseconds of the last inbound frame.
    last_inbound: AtomicI64,
    subs: Mutex<Subscriptions>,
    /// Frames for the socket (events from forwarders, manual broadcasts).
    pub outbound: mpsc::Sender<Outgoing>,
    close: watch::Sender<Option<CloseCmd>>,
}

/// A connection's subscription mode.
#[derive(Debug, Default, Clone)]
pub struct Subscriptions {
    pub all_boards: bool,
    pub boards: BTreeSet<i64>,
}

/// Identity and channels of a new connection.
pub struct NewConn {
    pub label: Option<String>,
    pub username: String,
    pub user_id: Option<i64>,
    pub outbound: mpsc::Sender<Outgoing>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these short map locks leaves the map consistent.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn unix_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Conn {
    pub(super) fn new(client_id: String, new: NewConn) -> Conn {
        let (close, _) = watch::channel(None);
        Conn {
            client_id,
            label: new.label,
            username: new.username,
            user_id: new.user_id,
            connected: Instant::now(),
            message_count: AtomicU64::new(0),
            last_inbound: AtomicI64::new(unix_millis()),
            subs: Mutex::new(Subscriptions::default()),
            outbound: new.outbound,
            close,
        }
    }

    pub fn touch(&self) {
        self.last_inbound.store(unix_millis(), Ordering::Relaxed);
    }

    pub fn idle_for(&self) -> Duration {
        let ms = unix_millis() - self.last_inbound.load(Ordering::Relaxed);
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    pub fn count_sent(&self) {
        self.message_count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn signal(&self, cmd: CloseCmd) {
        self.close.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(cmd);
            true
        });
    }

    pub fn close_signal(&self) -> watch::Receiver<Option<CloseCmd>> {
        self.close.subscribe()
    }

    pub fn subscriptions(&self) -> Subscriptions {
        lock(&self.subs).clone()
    }

    pub fn set_subscriptions(&self, subs: Subscriptions) {
        *lock(&self.subs) = subs;
    }

    pub(super) fn detail(&self) -> Value {
        let subs = self.subscriptions();
        let last = chrono::DateTime::from_timestamp_millis(self.last_inbound.load(Ordering::Relaxed)).map(format_ts);
        json!({"client_id": self.client_id, "client_label": self.label, "username": self.username,
            "all_boards": subs.all_boards, "board_ids": subs.boards,
            "connected_duration_seconds": (self.connected.elapsed().as_millis() as f64 / 1000.0),
            "message_count": self.message_count.load(Ordering::Relaxed), "last_activity": last})
    }
}
