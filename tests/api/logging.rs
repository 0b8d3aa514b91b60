//! Logs (ops.md §9): the real binary with `logging.format = "json"`, its stdout captured.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::binary::{PROCESS_TIMEOUT, Site};
use crate::helpers::is_api_timestamp;

const PASSWORD: &str = "Log-Capture-Password-1";
const JWT_SECRET: &str = "log-capture-jwt-secret-0123456789-abcdef";
const QUERY_SECRET: &str = "query-secret-value-42";
const OPS_TOKEN: &str = "log-capture-ops-token-5678";

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_request_fields_and_no_secrets() {
    let site = Site::new();
    let mut server = site
        .serve(&[
            ("KANBAN__AUTH__JWT_SECRET", JWT_SECRET),
            ("KANBAN__AUTH__ANONYMOUS_ROLE", "none"),
            ("KANBAN__OPS__TOKEN", OPS_TOKEN),
        ])
        .await;
    let base = server.base.clone();
    let http = reqwest::Client::new();

    let user: Value = http
        .post(format!("{base}/api/auth/register"))
        .json(&json!({"username": "logger", "email": "logger@example.com", "password": PASSWORD}))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("user");
    let tokens: Value = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": "logger", "password": PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("tokens");
    let access = tokens["access_token"].as_str().expect("access token").to_owned();
    let refresh = tokens["refresh_token"].as_str().expect("refresh token").to_owned();
    let me = http
        .get(format!("{base}/api/auth/me"))
        .bearer_auth(&access)
        .header("X-Request-Id", "log-test-me")
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), reqwest::StatusCode::OK);
    let refreshed = http
        .post(format!("{base}/api/auth/refresh"))
        .json(&json!({ "refresh_token": refresh }))
        .send()
        .await
        .expect("refresh");
    assert_eq!(refreshed.status(), reqwest::StatusCode::OK);
    let new_refresh = refreshed.json::<Value>().await.expect("new pair")["refresh_token"].clone();
    http.get(format!("{base}/api/boards/1?token={QUERY_SECRET}"))
        .bearer_auth(&access)
        .header("X-Request-Id", "log-test-query")
        .send()
        .await
        .expect("board");
    let scraped = http.get(format!("{base}/metrics")).bearer_auth(OPS_TOKEN).send().await.expect("metrics");
    assert_eq!(scraped.status(), reqwest::StatusCode::OK);
    http.get(format!("{base}/no/such/route")).header("X-Request-Id", "log-test-404").send().await.expect("404");

    server.signal(libc::SIGTERM);
    let (status, _) = server.exit_within(PROCESS_TIMEOUT).await.expect("exits in time");
    assert!(status.success(), "exit status {status}");
    let all = server.all_output(Duration::from_secs(10)).await;

    assert!(all.len() >= 8, "a line per request and the lifecycle lines: {all:#?}");
    let secrets = [PASSWORD, JWT_SECRET, QUERY_SECRET, OPS_TOKEN, access.as_str(), new_refresh.as_str().unwrap_or("?")];
    let mut completions = Vec::new();
    for line in &all {
        for secret in secrets {
            assert!(!line.contains(secret), "a secret in the log: {line}");
        }
        let entry: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"));
        assert!(is_api_timestamp(&entry["timestamp"]), "RFC 3339 UTC with milliseconds and Z: {line}");
        for key in ["level", "target", "message"] {
            assert!(entry[key].is_string(), "{key} in {line}");
        }
        if entry["message"] == "request completed" {
            completions.push(entry);
        }
    }
    assert!(!line_for(&completions, "log-test-me").is_null(), "no line for /api/auth/me in {all:#?}");
    for entry in &completions {
        for key in ["method", "route", "path", "client_ip"] {
            assert!(entry[key].is_string(), "{key} in {entry}");
        }
        assert!(entry["status"].is_u64() && entry["latency_ms"].is_number(), "{entry}");
        assert!(entry["span"]["request_id"].as_str().is_some_and(|id| !id.is_empty()), "request_id in {entry}");
    }
    let me_line = line_for(&completions, "log-test-me");
    assert_eq!(me_line["route"], "/api/auth/me");
    assert_eq!(me_line["status"], 200);
    assert_eq!(me_line["client_ip"], "127.0.0.1");
    assert_eq!(me_line["user_id"], user["id"], "the authenticated user: {me_line}");
    let query_line = line_for(&completions, "log-test-query");
    assert_eq!(query_line["route"], "/api/boards/{board_id}");
    assert_eq!(query_line["path"], "/api/boards/1", "the path without its query string");
    let unmatched = line_for(&completions, "log-test-404");
    assert_eq!(unmatched["route"], "unmatched");
    assert_eq!(unmatched["status"], 404);
    assert!(unmatched.get("user_id").is_none(), "no user without a token: {unmatched}");
}

fn line_for<'a>(completions: &'a [Value], request_id: &str) -> &'a Value {
    completions.iter().find(|e| e["span"]["request_id"] == request_id).unwrap_or(&Value::Null)
}

#[tokio::test]
async fn a_write_whose_client_went_away_is_still_logged_with_its_status() {
    // Arrange
    let site = Site::new();
    let mut server = site.serve(&[]).await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let body = json!({"board_id": 1, "title": "Nobody waits for me"}).to_string();
    let request = format!(
        "POST /api/tickets/ HTTP/1.1\r\nHost: {addr}\r\nX-Request-Id: client-went-away\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );

    // Act: the whole request, then the connection closed without reading anything
    let mut stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("send");
    drop(stream);

    // Assert: its completion line arrives, with the status the client never read
    let mut completion = Value::Null;
    while let Some(line) = server.line_containing("client-went-away", PROCESS_TIMEOUT).await {
        let entry: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if entry["message"] == "request completed" {
            completion = entry;
            break;
        }
    }
    assert_eq!(completion["route"], "/api/tickets", "a line for the request: {:#?}", server.seen);
    assert_eq!(completion["status"], 201);
    server.signal(libc::SIGTERM);
    let (status, _) = server.exit_within(PROCESS_TIMEOUT).await.expect("exits in time");
    assert!(status.success(), "exit status {status}");
}
