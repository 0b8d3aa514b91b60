//! WebSocket routes (`/ws`): the handshake of `/ws/connect` (every check before the upgrade),
//! connection stats, cleanup of idle connections and manual broadcasts.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::mpsc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::auth::OpsAccess;
use crate::auth::extractor::{bearer_token, resolve_caller};
use crate::db;
use crate::domain::role::Role;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{OptionalJsonBody, QueryParams};
use crate::service::write::Reply;
use crate::state::AppState;
use crate::ws::conn::{NewConn, Topic};
use crate::ws::hub::{Admission, AdmitError};
use crate::ws::protocol;
use crate::ws::session::{self, InitialBoard, ReplayLimits, SessionSettings, SessionStart};

/// Initial size and largest single read of a socket's inbound buffer. Clients send small JSON
/// frames (ping, subscribe); a larger frame grows the buffer to its length as it arrives. Every
/// idle socket holds this much (tungstenite's default, 128 KiB, would cost ~130 MB per 1 000).
const READ_BUFFER_BYTES: usize = 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(connect))
        .routes(routes!(ws_stats))
        .routes(routes!(cleanup))
        .routes(routes!(broadcast))
}

/// Origin absent, listed, or the server's own (same host and effective port as `Host`).
pub(crate) fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    if allowed.iter().any(|a| a == origin) {
        return true;
    }
    let Some((scheme, rest)) = origin.split_once("://") else { return false };
    let default_port = if scheme.eq_ignore_ascii_case("https") { "443" } else { "80" };
    let split = |hp: &str| -> (String, String) {
        match hp.rsplit_once(':') {
            Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                (h.to_ascii_lowercase(), p.to_owned())
            }
            _ => (hp.to_ascii_lowercase(), default_port.to_owned()),
        }
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    !host.is_empty() && split(rest.trim_end_matches('/')) == split(host)
}

/// Validated handshake query.
struct Handshake {
    board_id: Option<i64>,
    since: Option<i64>,
    username: Option<String>,
    label: Option<String>,
    token: Option<String>,
}

fn parse_handshake(q: &QueryParams) -> ApiResult<Handshake> {
    let v = |e| ApiError::Validation(vec![e]);
    let board_id = q.int("board_id", 1, i64::MAX).map_err(v)?;
    let since = q.int("since", 0, i64::MAX).map_err(v)?;
    if since.is_some() && board_id.is_none() {
        return Err(ApiError::field("query.since", "invalid_value", "since requires board_id"));
    }
    let trimmed = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(Handshake {
        board_id,
        since,
        username: trimmed(q.text("username", 1, 100).map_err(v)?),
        label: trimmed(q.text("client_id", 1, 100).map_err(v)?),
        token: q.get("token").map(str::to_owned).filter(|t| !t.is_empty()),
    })
}

/// Open a WebSocket: `board_id`, `since`, `token` (or `Authorization`), `username`, `client_id`.
#[utoipa::path(get, path = "/ws/connect", tag = "realtime", security(("bearerAuth" = ["viewer"])),
    params(("board_id" = Option<i64>, Query, minimum = 1, maximum = 9007199254740991_i64), ("since" = Option<i64>, Query, minimum = 0),
        ("token" = Option<String>, Query), ("username" = Option<String>, Query, min_length = 1, max_length = 100),
        ("client_id" = Option<String>, Query, min_length = 1, max_length = 100)),
    responses((status = 101, description = "Switching protocols"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn connect(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: QueryParams,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let upgrade = upgrade.map_err(|_| ApiError::BadRequest("WebSocket upgrade required".into()))?;
    let hs = check_handshake(&state, &headers, &query)?;
    let token = bearer_token(&headers)?.map(str::to_owned).or(hs.token.clone());
    let caller = resolve_caller(&state, &headers, token.as_deref()).await?;
    caller.require(Role::Viewer)?;
    let initial = initial_board(&state, &hs).await?;
    let admission = admit(&state, &caller, peer, &headers)?;
    let max_message = state.config.realtime.max_message_bytes;
    let start = session_start(&state, &caller, hs, initial, admission);
    Ok(upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(max_message)
        .max_frame_size(max_message)
        .on_upgrade(move |socket| session::run(socket, start)))
}

/// Checks 2–4 of the handshake: not shutting down, an acceptable `Origin`, a valid query.
fn check_handshake(state: &AppState, headers: &HeaderMap, query: &QueryParams) -> ApiResult<Handshake> {
    if state.hub.is_shutting_down() {
        return Err(ApiError::ServiceUnavailable("The server is shutting down".into()));
    }
    if !origin_allowed(headers, &state.config.cors.allowed_origins) {
        return Err(ApiError::Refused { code: "ORIGIN_NOT_ALLOWED", message: "Origin not allowed".into() });
    }
    parse_handshake(query)
}

/// The handshake's board: subscribed first, then its `last_seq` read (404 when it does not exist).
async fn initial_board(state: &AppState, hs: &Handshake) -> ApiResult<Option<InitialBoard>> {
    let Some(board_id) = hs.board_id else { return Ok(None) };
    let subscription = state.hub.subscribe(Topic::Board(board_id));
    let last_seq = db::events::board_seq(&state.db, board_id).await?.ok_or_else(|| ApiError::not_found("Board"))?;
    Ok(Some(InitialBoard { board_id, since: hs.since, last_seq, subscription }))
}

/// A place within the total (503) and per-client (429) connection limits.
fn admit(state: &AppState, caller: &Caller, peer: SocketAddr, headers: &HeaderMap) -> ApiResult<Admission> {
    let key = match &caller.user {
        Some(u) => format!("user:{}", u.id),
        None => format!("ip:{}", state.proxies.client_ip(peer.ip(), headers)),
    };
    state.hub.admit(key).map_err(|e| match e {
        AdmitError::TooManyTotal => ApiError::ServiceUnavailable("Too many WebSocket connections".into()),
        AdmitError::TooManyForClient => {
            state.metrics.rate_limited("ws_connections");
            ApiError::TooManyConnections
        }
    })
}

/// Register the connection and gather what its session needs.
fn session_start(
    state: &AppState,
    caller: &Caller,
    hs: Handshake,
    initial: Option<InitialBoard>,
    admission: Admission,
) -> SessionStart {
    let rt = &state.config.realtime;
    let username = match caller.username() {
        Some(u) => u.to_owned(),
        None => hs.username.unwrap_or_else(|| caller.actor_name().to_owned()),
    };
    let (outbound, outbound_rx) = mpsc::channel(rt.send_queue_capacity);
    let user_id = caller.user.as_ref().map(|u| u.id);
    let registration = state.hub.register(NewConn { label: hs.label, username, user_id, outbound });
    SessionStart {
        hub: state.hub.clone(),
        db: state.db.clone(),
        settings: SessionSettings {
            heartbeat_interval: Duration::from_secs(rt.heartbeat_interval_seconds),
            liveness: Duration::from_secs(rt.heartbeat_interval_seconds * rt.missed_heartbeats_before_close),
            send_timeout: Duration::from_secs(rt.send_timeout_seconds),
            replay: ReplayLimits { max_events: rt.max_replay, page_size: rt.replay_page_size },
            max_messages_per_second: rt.max_client_messages_per_second,
        },
        registration,
        admission,
        outbound_rx,
        initial,
        admin: caller.has_role(Role::Admin),
    }
}

/// Connection counts and subscriptions; per-connection detail for admins.
/// Ops role: public when `ops.token` is empty.
#[utoipa::path(get, path = "/ws/stats", tag = "realtime", security(("bearerAuth" = ["admin"]), ("opsToken" = [])),
    responses((status = 200, description = "Connection statistics"), (status = 401, body = ErrorBody)))]
async fn ws_stats(State(state): State<AppState>, ops: OpsAccess) -> axum::Json<Value> {
    axum::Json(state.hub.stats(ops.admin))
}

/// Close (4000) connections idle longer than `timeout_seconds` (admin).
#[utoipa::path(post, path = "/ws/cleanup", tag = "realtime", security(("bearerAuth" = ["admin"])),
    params(("timeout_seconds" = Option<i64>, Query, minimum = 1, maximum = 86400)),
    responses((status = 200, description = "Closed connections"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn cleanup(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryParams,
    _body: OptionalJsonBody,
) -> ApiResult<Reply> {
    caller.require(Role::Admin)?;
    let timeout = query.int("timeout_seconds", 1, 86_400).map_err(|e| ApiError::Validation(vec![e]))?.unwrap_or(300);
    let closed = state.hub.cleanup(Duration::from_secs(u64::try_from(timeout).unwrap_or(300)));
    Reply::ok(serde_json::json!({
        "message": format!("Cleaned up inactive connections (timeout: {timeout}s)"),
        "closed": closed,
    }))
}

/// Send a `manual_broadcast` with the body to every open connection (admin).
#[utoipa::path(post, path = "/ws/broadcast", tag = "realtime", security(("bearerAuth" = ["admin"])),
    request_body = Object,
    responses((status = 200, description = "Broadcast sent"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn broadcast(State(state): State<AppState>, caller: Caller, body: crate::extract::JsonBody) -> ApiResult<Reply> {
    caller.require(Role::Admin)?;
    if !body.value.is_object() {
        return Err(ApiError::field("body", "invalid_type", "Input should be a JSON object"));
    }
    if body.raw.len() > 65_536 {
        return Err(ApiError::PayloadTooLarge);
    }
    let sent = state.hub.broadcast(&protocol::manual_broadcast(&body.value));
    Reply::message(&format!("Broadcasted to {sent} clients"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: &str, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, origin.parse().expect("origin"));
        h.insert(header::HOST, host.parse().expect("host"));
        h
    }

    #[test]
    fn origins_are_checked_against_the_list_and_the_own_host() {
        let allowed = vec!["http://localhost:5173".to_owned()];
        assert!(origin_allowed(&headers("http://localhost:5173", "x:1"), &allowed));
        assert!(origin_allowed(&headers("http://kanban.example", "kanban.example:80"), &allowed));
        assert!(origin_allowed(&headers("https://kanban.example", "kanban.example"), &allowed));
        assert!(origin_allowed(&headers("http://127.0.0.1:18000", "127.0.0.1:18000"), &allowed));
        assert!(!origin_allowed(&headers("http://evil.example", "kanban.example"), &allowed));
        assert!(!origin_allowed(&headers("http://kanban.example:8080", "kanban.example"), &allowed));
        assert!(origin_allowed(&HeaderMap::new(), &allowed));
    }
}
