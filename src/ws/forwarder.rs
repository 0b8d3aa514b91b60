//! A subscription's forwarder: the task that moves one hub channel's events into its
//! connection's bounded outbound queue, replaying a board's missed events first.
//!
//! Replay is bounded: a client more than `max_events` behind gets `resync_required` without the
//! log being read, and a shorter backlog is read a page at a time.
//!
//! A forwarder that cannot keep up (its channel lagged, or the queue stayed full for the send
//! timeout) signals the session to end the connection with `resync_required` (reason `lagged`).

use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::{broadcast, mpsc};

use super::conn::{CloseCmd, Conn, Frame, Outgoing};
use super::hub::{Dropped, Hub, Subscription};
use super::protocol::{self, ResyncReason};
use crate::db;
use crate::domain::event::BoardEvent;

/// How far back a replay may reach and how much of it is read at once.
#[derive(Debug, Clone, Copy)]
pub struct ReplayLimits {
    /// Most events one replay may send (`realtime.max_replay`).
    pub max_events: i64,
    /// Events read per query (`realtime.replay_page_size`).
    pub page_size: i64,
}

/// Moves one subscription's events into the connection's outbound queue.
pub(super) struct Forwarder {
    pub conn: Arc<Conn>,
    /// For the dropped-event counters.
    pub hub: Hub,
    pub db: SqlitePool,
    pub send_timeout: Duration,
    pub replay: ReplayLimits,
}

impl Forwarder {
    /// Queue a frame, waiting at most the send timeout for room.
    async fn push(&self, frame: Arc<Frame>, board_event: bool) -> bool {
        match self.conn.outbound.send_timeout(Outgoing { frame, board_event }, self.send_timeout).await {
            Ok(()) => true,
            Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
                self.hub.count_dropped(Dropped::QueueFull, 1);
                false
            }
            // The session is over: nothing more to deliver, nothing dropped by a slow client.
            Err(mpsc::error::SendTimeoutError::Closed(_)) => false,
        }
    }

    pub async fn all(self, mut sub: Subscription) {
        loop {
            match sub.rx.recv().await {
                Ok(frame) => {
                    if !self.push(frame, false).await {
                        return self.conn.signal(CloseCmd::Lagged { board_id: None, last_seq: None });
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    self.hub.count_dropped(Dropped::Lagged, missed);
                    return self.conn.signal(CloseCmd::Lagged { board_id: None, last_seq: None });
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Replay `since+1..=last_seq` from the log (or ask for a resync), then forward live events
    /// with `seq` above the last one sent: no gap, no duplicate.
    pub async fn board(self, board_id: i64, mut sub: Subscription, since: Option<i64>, last_seq: i64) {
        let mut sent = last_seq;
        if let Some(since) = since
            // Boxed: the replay's database read would otherwise stay inline in the task of every
            // forwarder for its whole life.
            && !Box::pin(self.replay(board_id, since, last_seq)).await
        {
            return self.conn.signal(CloseCmd::Lagged { board_id: Some(board_id), last_seq: Some(sent) });
        }
        loop {
            match sub.rx.recv().await {
                Ok(frame) if frame.seq <= sent => {}
                Ok(frame) => {
                    let seq = frame.seq;
                    if !self.push(frame, true).await {
                        return self.conn.signal(CloseCmd::Lagged { board_id: Some(board_id), last_seq: Some(sent) });
                    }
                    sent = seq;
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    self.hub.count_dropped(Dropped::Lagged, missed);
                    return self.conn.signal(CloseCmd::Lagged { board_id: Some(board_id), last_seq: Some(sent) });
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// `resync_required` for `board_id` at `last_seq`, as a board frame at that seq.
    fn resync(&self, board_id: i64, last_seq: i64, reason: ResyncReason) -> Arc<Frame> {
        let text = protocol::resync_required(Some(board_id), Some(last_seq), reason);
        Arc::new(Frame { board_id, seq: last_seq, text: text.into() })
    }

    /// Send the missed events, or `resync_required` when they are gone or too many (`expired`) or
    /// `since` is ahead of the board (`future_seq`). False when the queue could not take them.
    async fn replay(&self, board_id: i64, since: i64, last_seq: i64) -> bool {
        if since == last_seq {
            return true;
        }
        if since > last_seq {
            return self.push(self.resync(board_id, last_seq, ResyncReason::FutureSeq), true).await;
        }
        if last_seq - since > self.replay.max_events {
            // Reloading the board over REST is cheaper than this replay: the log is not read.
            return self.push(self.resync(board_id, last_seq, ResyncReason::Expired), true).await;
        }
        let mut after = since;
        while after < last_seq {
            let Some(page) = self.next_page(board_id, after, last_seq).await else {
                return self.push(self.resync(board_id, last_seq, ResyncReason::Expired), true).await;
            };
            for event in &page {
                if !self.push(Arc::new(Frame::from_event(event)), true).await {
                    return false;
                }
                after = event.seq;
            }
        }
        true
    }

    /// The events following `after` (up to `until`, at most a page), or `None` when the log no
    /// longer holds them without a gap (purged, possibly mid-replay) or cannot be read.
    async fn next_page(&self, board_id: i64, after: i64, until: i64) -> Option<Vec<BoardEvent>> {
        let page = match db::events::page(&self.db, board_id, after, until, self.replay.page_size).await {
            Ok(page) => page,
            Err(e) => {
                tracing::error!(error = %e, "replay failed");
                return None;
            }
        };
        // Seqs are unique per board, so first and last in place means no gap in between.
        let gapless = page.first().is_some_and(|e| e.seq == after + 1)
            && page.last().is_some_and(|e| usize::try_from(e.seq - after).is_ok_and(|n| n == page.len()));
        gapless.then_some(page)
    }
}
