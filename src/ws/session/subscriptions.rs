//! The session's subscriptions: answering client messages, and starting and stopping the
//! forwarder of each followed topic (a board, or all boards).

use super::Session;
use crate::db;
use crate::error::ApiResult;
use crate::ws::conn::{Subscriptions, Topic};
use crate::ws::forwarder::Forwarder;
use crate::ws::hub::Subscription;
use crate::ws::protocol::{self, ClientMessage};

impl Session {
    /// The reply to one understood client message (subscriptions change on the way).
    pub(super) async fn reply(&mut self, msg: ClientMessage) -> String {
        match msg {
            ClientMessage::Ping => protocol::pong(),
            ClientMessage::HeartbeatResponse(id) => protocol::heartbeat_ack(&id),
            ClientMessage::GetStats => protocol::stats(self.hub.stats(self.admin)),
            ClientMessage::Subscribe { board_id, since } => match self.subscribe(board_id, since).await {
                Ok(Some(last_seq)) => protocol::subscribed(board_id, last_seq),
                Ok(None) => protocol::error("NOT_FOUND", "Board not found"),
                Err(e) => {
                    tracing::error!(error = %e, "subscribe failed");
                    protocol::error("INTERNAL_ERROR", "An unexpected error occurred")
                }
            },
            ClientMessage::Unsubscribe { board_id } => {
                if let Some(task) = self.forwarders.remove(&Topic::Board(board_id)) {
                    task.abort();
                }
                self.delivered.remove(&board_id);
                let mut subs = self.conn.subscriptions();
                subs.boards.remove(&board_id);
                self.conn.set_subscriptions(subs);
                protocol::unsubscribed(board_id)
            }
        }
    }

    /// Subscribe to a board (leaving all-boards mode); `None` when the board does not exist.
    /// A board this connection already follows changes nothing (no replay, no second
    /// subscription): the answer is the last seq of it written to this socket.
    async fn subscribe(&mut self, board_id: i64, since: Option<i64>) -> ApiResult<Option<i64>> {
        if self.forwarders.contains_key(&Topic::Board(board_id))
            && let Some(&delivered) = self.delivered.get(&board_id)
        {
            return Ok(Some(delivered));
        }
        let subscription = self.hub.subscribe(Topic::Board(board_id));
        let Some(last_seq) = db::events::board_seq(&self.db, board_id).await? else { return Ok(None) };
        if let Some(task) = self.forwarders.remove(&Topic::All) {
            task.abort();
        }
        self.follow_board(board_id, subscription, since, last_seq);
        Ok(Some(last_seq))
    }

    /// Follow every board (the all-boards mode of a connection made without `board_id`).
    pub(super) fn follow_all(&mut self, subscription: Subscription) {
        self.conn.set_subscriptions(Subscriptions { all_boards: true, ..Default::default() });
        let task = tokio::spawn(self.forwarder().all(subscription));
        self.forwarders.insert(Topic::All, task);
    }

    /// Follow `board_id` from `since` (replayed by its forwarder) or from `last_seq`.
    pub(super) fn follow_board(
        &mut self,
        board_id: i64,
        subscription: Subscription,
        since: Option<i64>,
        last_seq: i64,
    ) {
        let mut subs = self.conn.subscriptions();
        subs.all_boards = false;
        subs.boards.insert(board_id);
        self.conn.set_subscriptions(subs);
        self.delivered.insert(board_id, since.unwrap_or(last_seq).min(last_seq));
        let task = tokio::spawn(self.forwarder().board(board_id, subscription, since, last_seq));
        self.forwarders.insert(Topic::Board(board_id), task);
    }

    fn forwarder(&self) -> Forwarder {
        Forwarder {
            conn: self.conn.clone(),
            hub: self.hub.clone(),
            db: self.db.clone(),
            send_timeout: self.settings.send_timeout,
            replay: self.settings.replay,
        }
    }

    pub(super) fn stop_forwarders(&mut self) {
        for (_, task) in self.forwarders.drain() {
            task.abort();
        }
    }
}
