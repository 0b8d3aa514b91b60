//! Test harness: every test gets its own server on 127.0.0.1:0 with a fresh SQLite file in a temp dir.
//!
//! Tests talk to it over HTTP only; the only in-process access is the writer pause latch, used to force
//! several commands into one group-commit batch, the open-connection count and the database page cap
//! (to provoke `SQLITE_FULL`).

use std::sync::Arc;

use agent_kanban::config::{AnonymousRole, Config};
use agent_kanban::{Server, WriterPause};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub config: Config,
    server: Option<Server>,
    // Kept alive for the test's duration (and across restarts); removed on drop.
    dir: Arc<tempfile::TempDir>,
}

/// A server with the test profile: anonymous callers act as `pm` and rate limiting is off (every
/// test client shares 127.0.0.1).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server with the test profile, adjusted by `tweak` before start.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("create temp dir"));
    let mut config = test_config(&dir.path().join("kanban.db"));
    tweak(&mut config);
    start(config, dir).await
}

/// The test profile on the database `db`: port 0 on loopback, anonymous callers act as `pm`,
/// rate limiting off.
pub fn test_config(db: &std::path::Path) -> Config {
    let mut config = Config::default();
    config.server.host = "127.0.0.1".into();
    config.server.port = 0;
    config.database.path = db.to_path_buf();
    config.auth.anonymous_role = AnonymousRole::Pm;
    config.rate_limit.enabled = false;
    config
}

/// An API timestamp: RFC 3339 in UTC with milliseconds and `Z` (`2026-11-22T10:10:37.161Z`).
pub fn is_api_timestamp(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        let b = s.as_bytes();
        b.len() == 24
            && b[10] == b'T'
            && b[19] == b'.'
            && s.ends_with('Z')
            && chrono::DateTime::parse_from_rfc3339(s).is_ok()
    })
}

async fn start(config: Config, dir: Arc<tempfile::TempDir>) -> TestApp {
    let server = Server::start(config.clone()).await.expect("server starts");
    let base = format!("http://{}", server.local_addr());
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    TestApp { base, client, config, server: Some(server), dir }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.expect("GET")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path).send().await.expect("DELETE")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path).json(body).send().await.expect("POST")
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.request(Method::PUT, path).json(body).send().await.expect("PUT")
    }

    /// GET and return the JSON body, asserting 200.
    pub async fn get_json(&self, path: &str) -> Value {
        let resp = self.get(path).await;
        assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
        resp.json().await.expect("json body")
    }

    /// Create a board through the API and return its body.
    pub async fn create_board(&self, name: &str) -> Value {
        let resp = self.post("/api/boards/", &serde_json::json!({ "name": name })).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        resp.json().await.expect("board body")
    }

    /// Create a ticket on `board_id` in its first column and return its body.
    pub async fn create_ticket(&self, board_id: i64, title: &str) -> Value {
        let body = serde_json::json!({ "board_id": board_id, "title": title });
        let resp = self.post("/api/tickets/", &body).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        resp.json().await.expect("ticket body")
    }

    /// Hold the writer so that the commands sent meanwhile are committed together in one batch.
    pub async fn pause_writer(&self) -> WriterPause {
        self.server().pause_writer().await.expect("pause writer")
    }

    /// The server's writer (statistics and recorded statements).
    pub fn writer(&self) -> &agent_kanban::db::writer::WriterHandle {
        self.server().writer()
    }

    /// Number of transactions the writer has committed so far.
    pub fn committed_batches(&self) -> u64 {
        self.server().committed_batches()
    }

    /// How many sockets the server has closed with `code` so far.
    pub fn ws_closes(&self, code: u16) -> u64 {
        self.server().hub().closed_by_code().get(&code).copied().unwrap_or(0)
    }

    /// Run the event-log retention purge now, with this app's `events` settings.
    pub async fn purge_events(&self) -> u64 {
        self.server().purge_events().await.expect("purge runs")
    }

    /// One housekeeping pass as if the clock read `now`, at most `batch_size` rows per statement.
    pub async fn run_housekeeping(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        batch_size: u32,
    ) -> agent_kanban::jobs::Purged {
        self.server().run_housekeeping(now, batch_size).await.expect("housekeeping runs")
    }

    /// Take a scheduled backup now (as the `backup.interval_hours` timer would), rotation included.
    pub async fn run_scheduled_backup(&self) -> Result<std::path::PathBuf, agent_kanban::backup::BackupError> {
        self.server().run_scheduled_backup().await
    }

    /// Open HTTP connections the server holds right now.
    pub fn open_connections(&self) -> usize {
        self.server().open_connections()
    }

    /// Let the database grow by at most `extra_pages` pages (`None` lifts the cap).
    pub async fn limit_database_growth(&self, extra_pages: Option<u32>) {
        self.server().limit_database_growth(extra_pages).await.expect("page cap applied");
    }

    fn server(&self) -> &Server {
        self.server.as_ref().expect("server running")
    }

    /// Begin a graceful stop in a task of its own, so the test can watch the server while it
    /// shuts down; the task ends when the stop has finished.
    pub fn stop_in_background(&mut self) -> tokio::task::JoinHandle<()> {
        let server = self.server.take().expect("server running");
        tokio::spawn(async move { server.stop().await.expect("server stops cleanly") })
    }

    /// Stop the server gracefully and start a new one on the same database file.
    pub async fn restart(mut self) -> TestApp {
        let server = self.server.take().expect("server running");
        server.stop().await.expect("server stops cleanly");
        start(self.config.clone(), self.dir.clone()).await
    }
}

/// The `id` of a JSON object.
pub fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

/// Assert 200 and return the JSON body.
pub async fn ok(resp: Response) -> Value {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::OK, "body {body}");
    body
}

/// Assert the standard error body and return it.
pub async fn assert_error(resp: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(resp.status(), status, "status");
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap_or("").to_owned());
    assert!(ct.unwrap_or_default().starts_with("application/json"), "error content type");
    let body: Value = resp.json().await.expect("json error body");
    assert_eq!(body["error"]["code"], code, "error code in {body}");
    assert_eq!(body["detail"], body["error"]["message"], "detail equals message");
    assert!(body["error"]["error_id"].as_str().is_some_and(|s| s.len() == 36));
    assert!(body["error"]["timestamp"].as_str().is_some_and(|s| s.ends_with('Z')));
    body
}

/// Assert a 422 whose first validation error has this field and type.
pub async fn assert_validation(resp: Response, field: &str, kind: &str) -> Value {
    let body = assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    let errors = body["error"]["validation_errors"].as_array().expect("validation_errors");
    assert!(errors.iter().any(|e| e["field"] == field && e["type"] == kind), "expected {field}/{kind} in {body}");
    body
}

/// A WebSocket client of the test server.
pub struct WsClient {
    pub stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

/// How long a test waits for a frame it expects.
pub const FRAME_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl TestApp {
    /// The `ws://` URL of `path_and_query` on this server.
    pub fn ws_url(&self, path_and_query: &str) -> String {
        format!("ws://{}{}", self.base.trim_start_matches("http://"), path_and_query)
    }

    /// Open `/ws/connect?<query>` and return the client (the `connected` frame is not consumed).
    pub async fn ws(&self, query: &str) -> WsClient {
        self.try_ws(query, &[]).await.expect("WebSocket handshake succeeds")
    }

    /// Attempt a handshake with extra headers; Err carries the HTTP status and body on refusal.
    pub async fn try_ws(&self, query: &str, headers: &[(&str, &str)]) -> Result<WsClient, (u16, Value)> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = self.ws_url(&format!("/ws/connect{}{query}", if query.is_empty() { "" } else { "?" }));
        let mut req = url.into_client_request().expect("ws request");
        for (k, v) in headers {
            req.headers_mut().insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                v.parse().expect("header value"),
            );
        }
        match tokio_tungstenite::connect_async(req).await {
            Ok((stream, _)) => Ok(WsClient { stream }),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                let status = resp.status().as_u16();
                let body = resp.body().as_ref().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
                Err((status, body))
            }
            Err(e) => panic!("WebSocket connect failed: {e}"),
        }
    }
}

impl WsClient {
    /// The next text frame as JSON (pings and pongs skipped); panics after [`FRAME_TIMEOUT`].
    pub async fn next_json(&mut self) -> Value {
        self.next_json_within(FRAME_TIMEOUT).await.expect("a frame arrives in time")
    }

    /// The next text frame within `limit`, or None on timeout. Panics on close or error.
    pub async fn next_json_within(&mut self, limit: std::time::Duration) -> Option<Value> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.stream.next()).await.ok()?;
            match msg {
                Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(t.as_str()).expect("JSON frame")),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next frame whose `event` is `name`, skipping heartbeats.
    pub async fn next_event(&mut self, name: &str) -> Value {
        loop {
            let frame = self.next_json().await;
            if frame["event"] == "heartbeat" {
                continue;
            }
            assert_eq!(frame["event"], name, "unexpected frame {frame}");
            return frame;
        }
    }

    /// Send a JSON text frame.
    pub async fn send_json(&mut self, value: &Value) {
        use futures_util::SinkExt;
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::Text(value.to_string().into()))
            .await
            .expect("send frame");
    }

    /// Wait for the server's close frame; returns its code (None when the connection just ended).
    pub async fn closed_with(&mut self, limit: std::time::Duration) -> Option<u16> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => panic!("the server did not close the socket in time"),
                Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(_)) | None) => return None,
            }
        }
    }
}
