//! Hardening: slow and idle clients over real sockets, the connection cap, the request-body
//! deadline, storage full, strict content types, duplicate JSON keys and the OpenAPI contract.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, assert_error, assert_validation, spawn_app, spawn_app_with};

/// Longest a test waits for something the server must do by itself.
const LIMIT: Duration = Duration::from_secs(10);

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://")).await.expect("TCP connect")
}

/// Wait until the server closes `stream` (EOF or reset), discarding anything it sends first.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    let read_to_end = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    };
    tokio::time::timeout(LIMIT, read_to_end).await.is_ok()
}

/// Read one HTTP/1.1 response (with a Content-Length body): its status and body.
async fn read_response(stream: &mut TcpStream) -> (u16, Vec<u8>) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_string();
            let status: u16 = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
            let length = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return (status, data[end + 4..end + 4 + length].to_vec());
            }
        }
        let n = tokio::time::timeout(LIMIT, stream.read(&mut buf)).await.expect("response in time").expect("read");
        assert!(n > 0, "connection closed before a complete response");
        data.extend_from_slice(&buf[..n]);
    }
}

fn get_request(app: &TestApp, path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", app.base.trim_start_matches("http://"))
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_header_read_timeout() {
    let app = spawn_app_with(|c| {
        c.server.header_read_timeout_seconds = 1;
        c.server.keep_alive_idle_seconds = 60;
    })
    .await;
    let started = Instant::now();
    let mut idle = connect(&app).await;
    assert!(closed_by_server(&mut idle).await, "the idle connection was closed");
    assert!(started.elapsed() >= Duration::from_millis(900), "not before the timeout: {:?}", started.elapsed());
}

#[tokio::test]
async fn a_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let app = spawn_app_with(|c| {
        c.server.header_read_timeout_seconds = 60;
        c.server.keep_alive_idle_seconds = 1;
    })
    .await;
    let mut conn = connect(&app).await;
    conn.write_all(get_request(&app, "/api/status").as_bytes()).await.expect("send");
    let (status, _) = read_response(&mut conn).await;
    assert_eq!(status, 200);
    let answered = Instant::now();
    assert!(closed_by_server(&mut conn).await, "the idle keep-alive connection was closed");
    assert!(answered.elapsed() >= Duration::from_millis(900), "not before the timeout: {:?}", answered.elapsed());
}

/// Send `head` a few bytes at a time, never finishing it, until the server closes the connection.
async fn dribble_until_closed(app: &TestApp, head: String) -> Duration {
    let started = Instant::now();
    let stream = connect(app).await;
    let (mut reader, mut writer) = stream.into_split();
    let dribbler = tokio::spawn(async move {
        for chunk in head.as_bytes().chunks(4).cycle() {
            if writer.write_all(chunk).await.is_err() {
                return;
            }
            // The attacker's pace, not a synchronisation: one chunk every 100 ms.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(LIMIT, async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    dribbler.abort();
    assert!(closed.is_ok(), "the slowloris connection was closed");
    started.elapsed()
}

#[tokio::test]
async fn a_slowloris_connection_is_closed_after_the_header_read_timeout() {
    let app = spawn_app_with(|c| {
        c.server.header_read_timeout_seconds = 1;
        c.server.keep_alive_idle_seconds = 60;
    })
    .await;
    let host = app.base.trim_start_matches("http://").to_owned();
    let head = format!("GET /api/boards HTTP/1.1\r\nHost: {host}\r\nX-Padding: ");
    let took = dribble_until_closed(&app, head).await;
    assert!(took >= Duration::from_millis(900), "not before the timeout: {took:?}");
}

#[tokio::test]
async fn a_slowloris_websocket_handshake_is_closed_after_the_header_read_timeout() {
    let app = spawn_app_with(|c| {
        c.server.header_read_timeout_seconds = 1;
        c.server.keep_alive_idle_seconds = 60;
    })
    .await;
    let host = app.base.trim_start_matches("http://").to_owned();
    let head = format!(
        "GET /ws/connect?board_id=1 HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Padding: "
    );
    dribble_until_closed(&app, head).await;
    assert_eq!(app.get_json("/ws/stats").await["total_connections"], 0, "no socket was opened");
}

#[tokio::test]
async fn a_half_sent_body_gets_408_and_nothing_is_written() {
    let app = spawn_app_with(|c| c.server.request_body_timeout_seconds = 1).await;
    let mut conn = connect(&app).await;
    let head = format!(
        "POST /api/boards/ HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        app.base.trim_start_matches("http://")
    );
    conn.write_all(head.as_bytes()).await.expect("send head");
    conn.write_all(br#"{"name":"never fini"#).await.expect("send part of the body");
    let (status, body) = read_response(&mut conn).await;
    assert_eq!(status, 408);
    let body: Value = serde_json::from_slice(&body).expect("JSON error body");
    assert_eq!(body["error"]["code"], "REQUEST_TIMEOUT");
    assert_eq!(body["detail"], body["error"]["message"]);
    assert_eq!(app.get_json("/api/boards/").await.as_array().map(Vec::len), Some(1), "only the default board");
}

#[tokio::test]
async fn the_connection_cap_holds_while_a_normal_client_is_still_served() {
    let app = spawn_app_with(|c| {
        c.server.max_connections = 3;
        c.server.header_read_timeout_seconds = 60;
        c.server.keep_alive_idle_seconds = 60;
    })
    .await;
    // Three silent clients take every slot: each gets an answer, so each was accepted.
    let mut idle = Vec::new();
    for _ in 0..3 {
        let mut conn = connect(&app).await;
        conn.write_all(get_request(&app, "/api/status").as_bytes()).await.expect("send");
        assert_eq!(read_response(&mut conn).await.0, 200);
        idle.push(conn);
    }
    // Beyond the cap a new connection waits (unanswered) instead of costing a descriptor.
    let mut waiting = Vec::new();
    for _ in 0..5 {
        let mut conn = connect(&app).await;
        conn.write_all(get_request(&app, "/api/status").as_bytes()).await.expect("send");
        waiting.push(conn);
    }
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(300), waiting[0].read(&mut buf)).await;
    assert!(early.is_err(), "a connection beyond the cap is not served yet");
    assert_eq!(app.open_connections(), 3, "the cap holds");
    // One slot frees: the next client in line is served at once, and the cap still holds.
    drop(idle.pop());
    let mut first = waiting.remove(0);
    assert_eq!(read_response(&mut first).await.0, 200);
    assert!(app.open_connections() <= 3, "the cap holds");
    drop(first);
    // Once the silent clients leave, every waiting one is served in turn (each leaving after its
    // answer, or it would keep its slot for the keep-alive time).
    idle.clear();
    for mut conn in waiting.drain(..) {
        assert_eq!(read_response(&mut conn).await.0, 200);
        assert!(app.open_connections() <= 3, "the cap holds");
    }
}

#[tokio::test]
async fn silent_clients_beyond_the_cap_do_not_starve_a_normal_client() {
    let app = spawn_app_with(|c| {
        c.server.max_connections = 2;
        c.server.header_read_timeout_seconds = 1;
        c.server.keep_alive_idle_seconds = 60;
    })
    .await;
    // Twice as many silent clients as there are slots: two are accepted, two wait in line.
    let mut silent = Vec::new();
    for _ in 0..4 {
        silent.push(connect(&app).await);
    }
    // A normal client queues behind them. Nobody frees a slot by hand: the header-read timeout
    // closes the silent ones, two at a time, and the normal client is served in its turn.
    let started = Instant::now();
    let mut normal = connect(&app).await;
    normal.write_all(get_request(&app, "/api/status").as_bytes()).await.expect("send");
    let (status, _) = read_response(&mut normal).await;
    assert_eq!(status, 200);
    assert!(app.open_connections() <= 2, "the cap holds");
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "served after two timeout rounds: {:?}",
        started.elapsed()
    );
    for conn in &mut silent {
        assert!(closed_by_server(conn).await, "every silent client was closed");
    }
}

#[tokio::test]
async fn a_write_to_a_full_database_answers_507_and_writes_nothing() {
    let app = spawn_app().await;
    let board = app.create_board("Full").await;
    let id = board["id"].as_i64().expect("board id");
    app.limit_database_growth(Some(0)).await;
    let big = "x".repeat(20_000);
    let resp = app.post("/api/tickets/", &json!({"board_id": id, "title": "t", "description": big})).await;
    let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    assert!(retry_after.is_some_and(|s| s >= 1), "507 says when to retry: {:?}", resp.headers());
    let body = assert_error(resp, StatusCode::INSUFFICIENT_STORAGE, "STORAGE_FULL").await;
    assert!(body["detail"].as_str().is_some_and(|m| m.contains("full") && m.contains("nothing")), "{body}");
    // A second refusal in the same episode answers the same way.
    let again = app.post("/api/tickets/", &json!({"board_id": id, "title": "t2", "description": big})).await;
    assert_error(again, StatusCode::INSUFFICIENT_STORAGE, "STORAGE_FULL").await;
    let tickets = app.get_json(&format!("/api/tickets/?board_id={id}")).await;
    assert_eq!(tickets["total"], 0, "no ticket was written");
    let activity = app.get_json(&format!("/api/history/boards/{id}/activity")).await;
    assert_eq!(activity["total_activities"], 0, "no history was written");
    assert_eq!(app.get_json(&format!("/api/boards/{id}")).await["version"], board["version"]);
    // Space comes back: writes commit again.
    app.limit_database_growth(None).await;
    let resp = app.post("/api/tickets/", &json!({"board_id": id, "title": "t", "description": big})).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn json_bodies_need_application_json_with_at_most_a_utf8_charset() {
    let app = spawn_app().await;
    for ct in ["application/json; charset=latin1", "application/vnd.api+json", "application/json; profile=x"] {
        let resp = app
            .request(Method::POST, "/api/boards/")
            .header("content-type", ct)
            .body(r#"{"name":"Typed"}"#)
            .send()
            .await
            .expect("POST");
        assert_error(resp, StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE").await;
    }
    assert_eq!(app.get_json("/api/boards/").await.as_array().map(Vec::len), Some(1), "nothing was created");
    let resp = app
        .request(Method::POST, "/api/boards/")
        .header("content-type", "Application/JSON; charset=\"UTF-8\"")
        .body(r#"{"name":"Typed"}"#)
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_repeated_json_key_is_rejected_naming_it_and_changes_nothing() {
    let app = spawn_app().await;
    let ticket = app.create_ticket(1, "Original").await;
    let id = ticket["id"].as_i64().expect("ticket id");
    let resp = app
        .request(Method::PUT, &format!("/api/tickets/{id}"))
        .header("content-type", "application/json")
        .body(r#"{"title":"First","priority":"2.0","title":"Second"}"#)
        .send()
        .await
        .expect("PUT");
    let body = assert_validation(resp, "body", "json_invalid").await;
    let message = body["error"]["validation_errors"][0]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("duplicate key 'title'"), "{message}");
    let after = app.get_json(&format!("/api/tickets/{id}")).await;
    assert_eq!(after["title"], "Original");
    assert_eq!(after["version"], ticket["version"]);
    let nested = app
        .request(Method::POST, "/api/boards/")
        .header("content-type", "application/json")
        .body(r#"{"name":"B","renames":{"a":"b","a":"c"}}"#)
        .send()
        .await
        .expect("POST");
    assert_validation(nested, "body", "json_invalid").await;
    assert_eq!(app.get_json("/api/boards/").await.as_array().map(Vec::len), Some(1), "nothing was created");
}

#[tokio::test]
async fn the_openapi_document_is_valid_openapi_3_1() {
    let app = spawn_app().await;
    let doc = app.get_json("/openapi.json").await;
    let schema: Value =
        serde_json::from_str(include_str!("fixtures/openapi-3.1-schema.json")).expect("vendored schema parses");
    let validator = jsonschema::validator_for(&schema).expect("the OpenAPI 3.1 schema compiles");
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{} problems, first: {:#?}", errors.len(), &errors[..errors.len().min(10)]);
    // The check has teeth: a response without its required description is refused.
    let mut broken = doc.clone();
    if let Some(r) = broken["paths"]["/api/boards"]["get"]["responses"]["200"].as_object_mut() {
        r.remove("description");
    }
    assert!(!validator.is_valid(&broken), "a response without a description is invalid OpenAPI 3.1");
}

#[tokio::test]
async fn every_documented_operation_lists_its_shared_error_responses() {
    let app = spawn_app().await;
    let doc = app.get_json("/openapi.json").await;
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            let responses = op["responses"].as_object().expect("responses");
            let has = |s: &str| responses.contains_key(s);
            let name = format!("{} {path}", method.to_uppercase());
            for (status, r) in responses {
                assert!(r["description"].is_string(), "{name} {status} has a description");
                // The readiness probe's 503 is its check report, not an error (ops.md §1).
                let readiness_report = path == "/health/ready" && status == "503";
                if (status.starts_with('4') || status.starts_with('5')) && !readiness_report {
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
                        "{name} {status} uses ErrorBody"
                    );
                }
            }
            assert!(has("500") && has("503"), "{name}: 500 and 503");
            if let Some(security) = op.get("security").and_then(Value::as_array) {
                // The ops role refuses with 401 only; role-checked operations also answer 403.
                let ops = security.iter().any(|r| r.get("opsToken").is_some());
                assert!(has("401") && has("403") != ops, "{name}: 401, and 403 unless an ops route");
            }
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            if params.iter().any(|p| p["in"] == "path") {
                assert!(has("422") && has("404"), "{name}: 422 int_parsing and 404");
            }
            if op.get("requestBody").is_some() {
                assert!(has("413") && has("415") && has("422") && has("408"), "{name}: body statuses");
            }
            if path.starts_with("/api/") && path != "/api/status" && !path.starts_with("/api/health") {
                assert!(has("429"), "{name}: 429");
            }
        }
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    // Anonymous callers act as pm here: credentials are optional exactly where pm suffices.
    assert_eq!(doc["paths"]["/api/boards"]["get"]["security"], json!([{"bearerAuth": ["viewer"]}, {}]));
    assert_eq!(doc["paths"]["/api/auth/users"]["get"]["security"], json!([{"bearerAuth": ["admin"]}]));
}

#[tokio::test]
async fn a_null_body_on_an_optional_body_route_counts_as_no_body() {
    let app = spawn_app().await;
    let ticket = app.create_ticket(1, "Claim me").await;
    let id = ticket["id"].as_i64().expect("ticket id");
    let resp = app
        .request(Method::POST, &format!("/api/tickets/{id}/claim?agent_id=robot"))
        .header("content-type", "application/json")
        .body("null")
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(app.get_json(&format!("/api/tickets/{id}")).await["assignee"], "robot");
}
