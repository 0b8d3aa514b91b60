//! Frames of the WebSocket protocol: what the server sends (`event` key, or `type` for `pong`)
//! and the client messages it understands (`type` key).

use serde_json::{Value, json};

use crate::domain::time::now_string;

/// `connected`: the first frame after the upgrade.
pub struct Connected<'a> {
    pub client_id: &'a str,
    pub client_label: Option<&'a str>,
    pub username: &'a str,
    pub board_id: Option<i64>,
    pub last_seq: Option<i64>,
}

pub fn connected(c: &Connected<'_>) -> String {
    json!({"event": "connected", "data": {
        "client_id": c.client_id, "client_label": c.client_label, "username": c.username,
        "board_id": c.board_id, "last_seq": c.last_seq,
        "message": "Connected to Agent Kanban Board WebSocket", "server_time": now_string()}})
    .to_string()
}

pub fn pong() -> String {
    json!({"type": "pong", "timestamp": now_string()}).to_string()
}

pub fn heartbeat() -> String {
    let now = now_string();
    let id = format!("hb_{}", chrono::Utc::now().timestamp());
    json!({"event": "heartbeat", "heartbeat_id": id, "timestamp": now, "server_time": now, "expect_response": true})
        .to_string()
}

pub fn heartbeat_ack(id: &Value) -> String {
    json!({"event": "heartbeat_ack", "heartbeat_id": id, "timestamp": now_string()}).to_string()
}

pub fn subscribed(board_id: i64, last_seq: i64) -> String {
    json!({"event": "subscribed", "data": {"board_id": board_id, "last_seq": last_seq}}).to_string()
}

pub fn unsubscribed(board_id: i64) -> String {
    json!({"event": "unsubscribed", "data": {"board_id": board_id}}).to_string()
}

pub fn stats(data: Value) -> String {
    json!({"event": "stats", "data": data}).to_string()
}

pub fn error(code: &str, message: &str) -> String {
    json!({"event": "error", "data": {"code": code, "message": message}}).to_string()
}

/// Why a connection must reload a board instead of trusting its event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResyncReason {
    Expired,
    FutureSeq,
    Lagged,
}

impl ResyncReason {
    fn as_str(self) -> &'static str {
        match self {
            ResyncReason::Expired => "expired",
            ResyncReason::FutureSeq => "future_seq",
            ResyncReason::Lagged => "lagged",
        }
    }
}

/// `resync_required`; `board_id` and `last_seq` are null for the all-boards stream.
pub fn resync_required(board_id: Option<i64>, last_seq: Option<i64>, reason: ResyncReason) -> String {
    json!({"event": "resync_required", "board_id": board_id, "timestamp": now_string(),
        "data": {"board_id": board_id, "last_seq": last_seq, "reason": reason.as_str()}})
    .to_string()
}

pub fn manual_broadcast(body: &Value) -> String {
    json!({"event": "manual_broadcast", "data": body, "timestamp": now_string()}).to_string()
}

/// A message from the client.
#[derive(Debug, PartialEq)]
pub enum ClientMessage {
    Ping,
    HeartbeatResponse(Value),
    Subscribe { board_id: i64, since: Option<i64> },
    Unsubscribe { board_id: i64 },
    GetStats,
}

/// Why a client message was not understood: `(code, message)` of the `error` frame.
pub type Rejected = (&'static str, String);

fn board_id_of(v: &Value) -> Option<i64> {
    match v.get("board_id") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|id| *id > 0)
}

/// Parse one text frame.
pub fn parse(text: &str) -> Result<ClientMessage, Rejected> {
    let value: Value = serde_json::from_str(text).map_err(|_| ("INVALID_JSON", "Invalid JSON format".to_owned()))?;
    let kind = value.get("type").and_then(Value::as_str).unwrap_or("");
    let board = || board_id_of(&value).ok_or(("BOARD_ID_REQUIRED", "board_id required".to_owned()));
    match kind {
        "ping" => Ok(ClientMessage::Ping),
        "heartbeat_response" => {
            Ok(ClientMessage::HeartbeatResponse(value.get("heartbeat_id").cloned().unwrap_or(Value::Null)))
        }
        "subscribe_board" => {
            let since = value.get("since").and_then(Value::as_i64).filter(|s| *s >= 0);
            Ok(ClientMessage::Subscribe { board_id: board()?, since })
        }
        "unsubscribe_board" => Ok(ClientMessage::Unsubscribe { board_id: board()? }),
        "get_stats" => Ok(ClientMessage::GetStats),
        other => Err(("UNKNOWN_MESSAGE_TYPE", format!("Unknown message type: {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_parse() {
        assert_eq!(parse(r#"{"type":"ping"}"#), Ok(ClientMessage::Ping));
        assert_eq!(
            parse(r#"{"type":"subscribe_board","board_id":"7","since":3}"#),
            Ok(ClientMessage::Subscribe { board_id: 7, since: Some(3) })
        );
        assert_eq!(parse(r#"{"type":"unsubscribe_board"}"#).unwrap_err().0, "BOARD_ID_REQUIRED");
        assert_eq!(
            parse(r#"{"type":"nope"}"#).unwrap_err(),
            ("UNKNOWN_MESSAGE_TYPE", "Unknown message type: nope".into())
        );
        assert_eq!(parse(r#"{"no":"type"}"#).unwrap_err().0, "UNKNOWN_MESSAGE_TYPE");
        assert_eq!(parse("not json").unwrap_err().0, "INVALID_JSON");
    }

    #[test]
    fn resync_frames_carry_nulls_for_the_all_boards_stream() {
        let v: Value = serde_json::from_str(&resync_required(None, None, ResyncReason::Lagged)).expect("json");
        assert_eq!(v["data"]["reason"], "lagged");
        assert!(v["board_id"].is_null() && v["data"]["last_seq"].is_null());
    }
}
