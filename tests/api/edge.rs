//! The HTTP edge over real sockets: early refusals (429, 413) leave a keep-alive connection
//! answerable, a half-closed client gets its response, and every response says `nosniff`.

use std::time::Duration;

use agent_kanban::config::Quota;
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

/// Longest a test waits for something the server must do by itself.
const LIMIT: Duration = Duration::from_secs(10);

/// A server whose general rate-limit class allows one request a minute per client.
async fn spawn_rate_limited_app() -> TestApp {
    spawn_app_with(|c| {
        c.rate_limit.enabled = true;
        c.rate_limit.general = Quota { count: 1, period: Duration::from_secs(60) };
    })
    .await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://")).await.expect("TCP connect")
}

/// One HTTP/1.1 response read off a raw socket.
struct RawResponse {
    status: u16,
    /// The head, lower-cased.
    head: String,
    body: Vec<u8>,
}

impl RawResponse {
    fn says_connection_close(&self) -> bool {
        self.head.lines().any(|l| l.starts_with("connection:") && l.contains("close"))
    }
}

/// Read one response (with a Content-Length body) from `stream`, keeping any bytes after it in
/// `pending` for the next call.
async fn read_response(stream: &mut TcpStream, pending: &mut Vec<u8>) -> RawResponse {
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
            let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if pending.len() >= end + 4 + length {
                let body = pending[end + 4..end + 4 + length].to_vec();
                pending.drain(..end + 4 + length);
                return RawResponse { status, head, body };
            }
        }
        let n = tokio::time::timeout(LIMIT, stream.read(&mut buf)).await.expect("response in time").expect("read");
        assert!(n > 0, "the connection was closed before a complete response");
        pending.extend_from_slice(&buf[..n]);
    }
}

fn host(app: &TestApp) -> &str {
    app.base.trim_start_matches("http://")
}

/// The head of a JSON POST to `path` announcing `length` body bytes.
fn post_head(app: &TestApp, path: &str, length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n",
        host(app)
    )
}

fn get_request(app: &TestApp, path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", host(app))
}

#[tokio::test]
async fn a_keep_alive_client_refused_before_it_sent_its_body_gets_every_answer_on_that_connection() {
    // Arrange: the client's one request a minute is spent
    let app = spawn_rate_limited_app().await;
    assert_eq!(app.get("/api/boards/").await.status(), StatusCode::OK);
    let body = json!({"board_id": 1, "title": "Refused"}).to_string();
    let mut stream = connect(&app).await;
    let mut pending = Vec::new();

    // Act: the head alone, answered before the body is sent; then the body and another request
    stream.write_all(post_head(&app, "/api/tickets/", body.len()).as_bytes()).await.expect("send head");
    let refused = read_response(&mut stream, &mut pending).await;
    stream.write_all(body.as_bytes()).await.expect("send body");
    stream.write_all(get_request(&app, "/api/health/simple").as_bytes()).await.expect("send next request");
    let next = read_response(&mut stream, &mut pending).await;

    // Assert: the refusal kept the connection, and the next request on it was answered
    assert_eq!(refused.status, 429, "{}", refused.head);
    assert!(!refused.says_connection_close(), "a small body is drained, not a reason to close: {}", refused.head);
    assert_eq!(next.status, 200, "{}", next.head);
    assert!(String::from_utf8_lossy(&next.body).contains("\"ok\""));
}

#[tokio::test]
async fn every_keep_alive_post_refused_by_the_rate_limiter_gets_its_429() {
    // Arrange: pooled keep-alive clients whose one allowed request is spent
    let app = spawn_rate_limited_app().await;
    assert_eq!(app.get("/api/boards/").await.status(), StatusCode::OK);
    let description = "d".repeat(60_000);

    // Act: 4 clients × 100 sequential POSTs with bodies, each refused
    let workers = (0..4).map(|_| {
        let (client, url, description) = (app.client.clone(), app.url("/api/tickets/"), description.clone());
        tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for i in 0..100 {
                let body = json!({"board_id": 1, "title": format!("t{i}"), "description": description});
                outcomes
                    .push(client.post(&url).json(&body).send().await.map(|r| r.status()).map_err(|e| e.to_string()));
            }
            outcomes
        })
    });
    let mut outcomes = Vec::new();
    for worker in workers {
        outcomes.extend(worker.await.expect("worker"));
    }

    // Assert
    let lost: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert!(lost.is_empty(), "{} of {} requests got no answer: {:?}", lost.len(), outcomes.len(), lost.first());
    assert!(outcomes.iter().all(|o| *o.as_ref().expect("answered") == StatusCode::TOO_MANY_REQUESTS));
}

#[tokio::test]
async fn an_early_refusal_of_a_large_body_says_connection_close_before_closing() {
    // Arrange
    let app = spawn_rate_limited_app().await;
    assert_eq!(app.get("/api/boards/").await.status(), StatusCode::OK);
    let mut stream = connect(&app).await;
    let mut pending = Vec::new();

    // Act: a body far over what the server reads to keep a connection open, never sent
    stream.write_all(post_head(&app, "/api/tickets/", 500_000).as_bytes()).await.expect("send head");
    let refused = read_response(&mut stream, &mut pending).await;

    // Assert
    assert_eq!(refused.status, 429, "{}", refused.head);
    assert!(refused.says_connection_close(), "{}", refused.head);
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(LIMIT, stream.read_to_end(&mut rest)).await.expect("closed in time");
    assert!(closed.is_ok_and(|n| n == 0), "nothing follows the answer but the end of the connection");
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413_with_connection_close() {
    // Arrange
    let app = spawn_app_with(|c| c.server.body_limit_bytes = 2048).await;
    let mut stream = connect(&app).await;
    let mut pending = Vec::new();

    // Act: more than the limit of a far longer body, the rest never sent
    let start = format!("{}{}", post_head(&app, "/api/boards/", 300_000), "x".repeat(3000));
    stream.write_all(start.as_bytes()).await.expect("send head and some body");
    let refused = read_response(&mut stream, &mut pending).await;

    // Assert
    assert_eq!(refused.status, 413, "{}", refused.head);
    assert!(refused.says_connection_close(), "{}", refused.head);
    assert_eq!(app.get_json("/api/boards/").await.as_array().map(Vec::len), Some(1), "nothing was created");
}

#[tokio::test]
async fn a_client_that_half_closes_after_its_request_still_gets_the_response() {
    // Arrange
    let app = spawn_app().await;
    let body = json!({"board_id": 1, "title": "Half closed"}).to_string();
    let mut stream = connect(&app).await;
    let mut pending = Vec::new();

    // Act: the whole request, then shutdown(SHUT_WR)
    let request = format!("{}{body}", post_head(&app, "/api/tickets/", body.len()));
    stream.write_all(request.as_bytes()).await.expect("send request");
    stream.shutdown().await.expect("half-close");
    let created = read_response(&mut stream, &mut pending).await;

    // Assert: acknowledged, and the ticket is there
    assert_eq!(created.status, 201, "{}", created.head);
    let ticket: serde_json::Value = serde_json::from_slice(&created.body).expect("ticket body");
    assert_eq!(ticket["title"], "Half closed");
    let listed = app.get_json("/api/tickets/?board_id=1").await;
    assert_eq!(listed["total"], 1, "{listed}");
}

#[tokio::test]
async fn json_responses_and_errors_carry_nosniff() {
    let app = spawn_app().await;
    for resp in [app.get("/api/boards/").await, app.get("/api/boards/999").await, app.get("/no/such/route").await] {
        let nosniff = resp.headers().get("x-content-type-options").and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(nosniff.as_deref(), Some("nosniff"), "{} {}", resp.status(), resp.url());
    }
}
