//! The hub: one broadcast channel per board plus one for all-boards connections, created lazily
//! and removed when their last subscriber leaves; the registry of open connections with their
//! limits; and the close signals (cleanup, revoked access, shutdown).
//!
//! Locks are `std::sync::Mutex`es held only for map operations, never across an `.await`.
//! Publishing serialises each event once and never waits: a subscriber that falls behind its
//! channel's capacity sees `Lagged` and is closed by its session, it cannot slow the writer.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Notify, broadcast};

use super::conn::{ACCESS_REVOKED, Conn, Frame, HEARTBEAT_TIMEOUT, NewConn, Outgoing, SHUTTING_DOWN, Topic, lock};
use crate::db::writer::EventSink;
use crate::domain::event::BoardEvent;

/// Limits and sizes of the hub.
#[derive(Debug, Clone)]
pub struct HubSettings {
    pub channel_capacity: usize,
    pub max_connections: usize,
    pub max_per_client: usize,
}

struct Inner {
    settings: HubSettings,
    channels: Mutex<HashMap<Topic, broadcast::Sender<Arc<Frame>>>>,
    conns: Mutex<HashMap<String, Arc<Conn>>>,
    /// Admitted connections per client key (`user:<id>` / `ip:<addr>`), plus the total.
    admitted: Mutex<(usize, HashMap<String, usize>)>,
    messages_sent: AtomicU64,
    accepted: AtomicU64,
    closed: Mutex<BTreeMap<u16, u64>>,
    /// Events handed to the channels, by event name (a small fixed catalogue).
    published: Mutex<BTreeMap<String, u64>>,
    /// Events connections could not receive, indexed by [`Dropped`].
    dropped: [AtomicU64; 3],
    shutting_down: AtomicBool,
    /// Woken whenever the last open connection ends (graceful shutdown waits on it).
    emptied: Notify,
}

/// Why a connection could not receive an event (`kanban_events_dropped_total{reason}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Its broadcast receiver fell behind the channel's capacity (events overwritten).
    Lagged = 0,
    /// Its outbound queue stayed full for the send timeout.
    QueueFull = 1,
    /// The socket write of a frame did not finish within the send timeout.
    SendTimeout = 2,
}

impl Dropped {
    const ALL: [Dropped; 3] = [Dropped::Lagged, Dropped::QueueFull, Dropped::SendTimeout];

    pub fn label(self) -> &'static str {
        match self {
            Dropped::Lagged => "lagged",
            Dropped::QueueFull => "queue_full",
            Dropped::SendTimeout => "send_timeout",
        }
    }
}

/// The hub's counters since start, read by the metrics exposition at scrape time.
#[derive(Debug, Clone, Default)]
pub struct HubCounters {
    /// Open connections (registered sessions).
    pub connections: usize,
    /// Accepted handshakes.
    pub accepted: u64,
    /// Frames sent on all sockets.
    pub messages_sent: u64,
    /// Server-side closes by close code.
    pub closed: BTreeMap<u16, u64>,
    /// Published events by name.
    pub published: BTreeMap<String, u64>,
    /// Events not received, by reason (every reason listed, zeros included).
    pub dropped: Vec<(&'static str, u64)>,
}

/// Cheap, cloneable handle to the hub.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

/// Why a handshake was refused by the connection limits.
#[derive(Debug, PartialEq, Eq)]
pub enum AdmitError {
    TooManyTotal,
    TooManyForClient,
}

/// A place taken in the connection limits; freed on drop.
pub struct Admission {
    hub: Hub,
    key: String,
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut admitted = lock(&self.hub.inner.admitted);
        admitted.0 = admitted.0.saturating_sub(1);
        if let Some(n) = admitted.1.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                admitted.1.remove(&self.key);
            }
        }
    }
}

/// A live subscription to a topic; dropping it removes the channel once nobody listens.
pub struct Subscription {
    pub rx: broadcast::Receiver<Arc<Frame>>,
    topic: Topic,
    hub: Hub,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Replace our receiver so it is dropped before the count is checked.
        let (_, dummy) = broadcast::channel::<Arc<Frame>>(1);
        drop(std::mem::replace(&mut self.rx, dummy));
        let mut channels = lock(&self.hub.inner.channels);
        if channels.get(&self.topic).is_some_and(|tx| tx.receiver_count() == 0) {
            channels.remove(&self.topic);
        }
    }
}

/// Removes a connection from the registry when its session ends.
pub struct Registration {
    hub: Hub,
    pub conn: Arc<Conn>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut conns = lock(&self.hub.inner.conns);
        conns.remove(&self.conn.client_id);
        if conns.is_empty() {
            self.hub.inner.emptied.notify_waiters();
        }
    }
}

impl Hub {
    pub fn new(settings: HubSettings) -> Self {
        Hub {
            inner: Arc::new(Inner {
                settings,
                channels: Mutex::new(HashMap::new()),
                conns: Mutex::new(HashMap::new()),
                admitted: Mutex::new((0, HashMap::new())),
                messages_sent: AtomicU64::new(0),
                accepted: AtomicU64::new(0),
                closed: Mutex::new(BTreeMap::new()),
                published: Mutex::new(BTreeMap::new()),
                dropped: Default::default(),
                shutting_down: AtomicBool::new(false),
                emptied: Notify::new(),
            }),
        }
    }

    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutting_down.load(Ordering::Relaxed)
    }

    /// Take a place within the total and per-client connection limits.
    pub fn admit(&self, key: String) -> Result<Admission, AdmitError> {
        let mut admitted = lock(&self.inner.admitted);
        if admitted.0 >= self.inner.settings.max_connections {
            return Err(AdmitError::TooManyTotal);
        }
        let per_client = admitted.1.get(&key).copied().unwrap_or(0);
        if per_client >= self.inner.settings.max_per_client {
            return Err(AdmitError::TooManyForClient);
        }
        admitted.0 += 1;
        *admitted.1.entry(key.clone()).or_insert(0) += 1;
        Ok(Admission { hub: self.clone(), key })
    }

    /// Register an upgraded connection under a fresh server-generated client id.
    pub fn register(&self, new: NewConn) -> Registration {
        let client_id = format!("client_{}", uuid::Uuid::new_v4().simple());
        let conn = Arc::new(Conn::new(client_id.clone(), new));
        self.inner.accepted.fetch_add(1, Ordering::Relaxed);
        lock(&self.inner.conns).insert(client_id, conn.clone());
        if self.is_shutting_down() {
            conn.signal(SHUTTING_DOWN);
        }
        Registration { hub: self.clone(), conn }
    }

    /// Subscribe to a topic, creating its channel on first use.
    pub fn subscribe(&self, topic: Topic) -> Subscription {
        let mut channels = lock(&self.inner.channels);
        let capacity = self.inner.settings.channel_capacity;
        let tx = channels.entry(topic).or_insert_with(|| broadcast::channel(capacity).0);
        Subscription { rx: tx.subscribe(), topic, hub: self.clone() }
    }

    /// Number of live channels (boards with subscribers, plus the all-boards one).
    pub fn channel_count(&self) -> usize {
        lock(&self.inner.channels).len()
    }

    pub fn count_sent(&self) {
        self.inner.messages_sent.fetch_add(1, Ordering::Relaxed);
    }

    /// Record a server-side close by code.
    pub fn count_closed(&self, code: u16) {
        *lock(&self.inner.closed).entry(code).or_insert(0) += 1;
    }

    /// Server-side closes so far, by close code.
    pub fn closed_by_code(&self) -> BTreeMap<u16, u64> {
        lock(&self.inner.closed).clone()
    }

    /// Count `n` events a connection could not receive.
    pub fn count_dropped(&self, reason: Dropped, n: u64) {
        self.inner.dropped[reason as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// Every counter of the hub, for the metrics exposition.
    pub fn counters(&self) -> HubCounters {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        HubCounters {
            connections: lock(&self.inner.conns).len(),
            accepted: load(&self.inner.accepted),
            messages_sent: load(&self.inner.messages_sent),
            closed: self.closed_by_code(),
            published: lock(&self.inner.published).clone(),
            dropped: Dropped::ALL.iter().map(|r| (r.label(), load(&self.inner.dropped[*r as usize]))).collect(),
        }
    }

    fn connections(&self) -> Vec<Arc<Conn>> {
        lock(&self.inner.conns).values().cloned().collect()
    }

    /// `total_connections`, `total_messages_sent`, `board_subscriptions`, and for admins the
    /// per-connection detail.
    pub fn stats(&self, detail: bool) -> Value {
        let conns = self.connections();
        let mut subs: BTreeMap<String, u64> = BTreeMap::new();
        subs.insert("all".into(), 0);
        for c in &conns {
            let s = c.subscriptions();
            if s.all_boards {
                *subs.entry("all".into()).or_insert(0) += 1;
            }
            for b in s.boards {
                *subs.entry(b.to_string()).or_insert(0) += 1;
            }
        }
        let mut out = json!({"total_connections": conns.len(),
            "total_messages_sent": self.inner.messages_sent.load(Ordering::Relaxed),
            "board_subscriptions": subs});
        if detail {
            let mut list: Vec<&Arc<Conn>> = conns.iter().collect();
            list.sort_by(|a, b| a.client_id.cmp(&b.client_id));
            out["connections"] = Value::Array(list.into_iter().map(|c| c.detail()).collect());
        }
        out
    }

    /// Close every connection of `user_id` with 4003 (deactivated or deleted).
    pub fn close_user(&self, user_id: i64) {
        for c in self.connections().into_iter().filter(|c| c.user_id == Some(user_id)) {
            c.signal(ACCESS_REVOKED);
        }
    }

    /// Close (4000) every connection without an inbound frame for longer than `idle`; returns their number.
    pub fn cleanup(&self, idle: Duration) -> usize {
        let stale: Vec<Arc<Conn>> = self.connections().into_iter().filter(|c| c.idle_for() > idle).collect();
        for c in &stale {
            c.signal(HEARTBEAT_TIMEOUT);
        }
        stale.len()
    }

    /// Queue `text` to every open connection; returns how many accepted it.
    pub fn broadcast(&self, text: &str) -> usize {
        let frame = Outgoing { frame: Arc::new(Frame::plain(text.to_owned().into())), board_event: false };
        self.connections().iter().filter(|c| c.outbound.try_send(frame.clone()).is_ok()).count()
    }

    /// Refuse new handshakes, close every socket with 1001 and wait up to `grace` for them to end.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.shutting_down.store(true, Ordering::Relaxed);
        for c in self.connections() {
            c.signal(SHUTTING_DOWN);
        }
        let wait_until_empty = async {
            loop {
                let emptied = self.inner.emptied.notified();
                if lock(&self.inner.conns).is_empty() {
                    return;
                }
                emptied.await;
            }
        };
        if tokio::time::timeout(grace, wait_until_empty).await.is_err() {
            tracing::warn!("some WebSockets did not finish their close handshake in time");
        }
    }
}

impl EventSink for Hub {
    /// Hand committed events to their board's channel and to the all-boards channel
    /// (`board_created` goes to all-boards connections only). Never waits.
    fn publish(&self, events: Vec<BoardEvent>) {
        let frames: Vec<(bool, Arc<Frame>)> =
            events.iter().map(|e| (e.event == "board_created", Arc::new(Frame::from_event(e)))).collect();
        {
            let mut published = lock(&self.inner.published);
            for e in &events {
                match published.get_mut(e.event.as_str()) {
                    Some(n) => *n += 1,
                    None => {
                        published.insert(e.event.clone(), 1);
                    }
                }
            }
        }
        let channels = lock(&self.inner.channels);
        for (all_only, frame) in frames {
            if !all_only && let Some(tx) = channels.get(&Topic::Board(frame.board_id)) {
                let _ = tx.send(frame.clone());
            }
            if let Some(tx) = channels.get(&Topic::All) {
                let _ = tx.send(frame);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::now_string;

    fn hub() -> Hub {
        Hub::new(HubSettings { channel_capacity: 16, max_connections: 2, max_per_client: 1 })
    }

    fn event(board_id: i64, seq: i64, name: &str) -> BoardEvent {
        BoardEvent { event: name.into(), data: json!({}), board_id, timestamp: now_string(), seq }
    }

    #[test]
    fn channels_are_created_lazily_and_removed_with_their_last_subscriber() {
        let h = hub();
        assert_eq!(h.channel_count(), 0);
        let a = h.subscribe(Topic::Board(1));
        let b = h.subscribe(Topic::Board(1));
        assert_eq!(h.channel_count(), 1);
        drop(a);
        assert_eq!(h.channel_count(), 1);
        drop(b);
        assert_eq!(h.channel_count(), 0);
    }

    #[test]
    fn events_reach_their_board_and_the_all_boards_channel_only() {
        let h = hub();
        let mut one = h.subscribe(Topic::Board(1));
        let mut two = h.subscribe(Topic::Board(2));
        let mut all = h.subscribe(Topic::All);
        h.publish(vec![event(1, 1, "ticket_created"), event(3, 1, "board_created")]);
        assert_eq!(one.rx.try_recv().expect("board 1").seq, 1);
        assert!(one.rx.try_recv().is_err(), "board_created goes to all-boards only");
        assert!(two.rx.try_recv().is_err());
        assert_eq!(all.rx.try_recv().expect("all").board_id, 1);
        assert_eq!(all.rx.try_recv().expect("all").board_id, 3);
    }

    #[test]
    fn admissions_enforce_total_and_per_client_limits() {
        let h = hub();
        let a = h.admit("ip:a".into()).expect("first");
        assert_eq!(h.admit("ip:a".into()).err(), Some(AdmitError::TooManyForClient));
        let _b = h.admit("ip:b".into()).expect("second client");
        assert_eq!(h.admit("ip:c".into()).err(), Some(AdmitError::TooManyTotal));
        drop(a);
        assert!(h.admit("ip:a".into()).is_ok());
    }
}
