//! The `[realtime]` and `[events]` sections: WebSocket limits and heartbeats, and how long the
//! event log is kept. Their keys need only the range checks done while loading.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealtimeConfig {
    pub heartbeat_interval_seconds: u64,
    pub missed_heartbeats_before_close: u64,
    pub max_message_bytes: usize,
    pub max_connections: usize,
    pub max_connections_per_client: usize,
    pub send_queue_capacity: usize,
    pub board_channel_capacity: usize,
    pub send_timeout_seconds: u64,
    /// Most events one `since` may ask to replay; further behind gets `resync_required`.
    pub max_replay: i64,
    /// Events read from the log per query while replaying.
    pub replay_page_size: i64,
    /// Inbound frames one socket may send per second; more closes it with 1008.
    pub max_client_messages_per_second: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    pub retention_days: u32,
    pub max_per_board: i64,
    pub purge_interval_minutes: u64,
}
