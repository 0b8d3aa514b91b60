//! Tests for the global HTTP conventions of `api.md` §1 and the service routes of §2: paths and
//! methods, body parsing, request ids, timestamps, idempotency keys and caller resolution (`auth.md` §3).

use agent_kanban::config::AnonymousRole;
use reqwest::header::HeaderValue;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

// ---------------------------------------------------------------------------------------------
// Local helpers
// ---------------------------------------------------------------------------------------------

fn header(resp: &Response, name: &str) -> Option<String> {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn id_of(value: &Value) -> i64 {
    value["id"].as_i64().expect("integer id")
}

async fn board_count(app: &TestApp) -> usize {
    app.get_json("/api/boards/").await.as_array().expect("board array").len()
}

/// POST raw JSON text, so that a replay sends exactly the same bytes.
async fn post_raw(app: &TestApp, path: &str, key: Option<HeaderValue>, raw: &str) -> Response {
    let mut request = app.request(Method::POST, path).header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.body(raw.to_owned()).send().await.expect("POST")
}

fn key(value: &str) -> Option<HeaderValue> {
    Some(HeaderValue::from_str(value).expect("valid header value"))
}

/// Assert a 422 whose validation errors name `field` (any type).
async fn assert_validation_field(resp: Response, field: &str) -> Value {
    let body = assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    let errors = body["error"]["validation_errors"].as_array().expect("validation_errors");
    assert!(errors.iter().any(|e| e["field"] == field), "expected a {field} error in {body}");
    body
}

fn assert_is_uuid(value: Option<&str>, what: &str) {
    let value = value.unwrap_or_else(|| panic!("{what} is missing"));
    assert!(uuid::Uuid::parse_str(value).is_ok() && value.len() == 36, "{what} is not a UUID: {value}");
}

/// Assert `YYYY-MM-DDTHH:MM:SS.sssZ`: RFC 3339, UTC, exactly three fractional digits.
fn assert_timestamp(value: &Value, what: &str) {
    let text = value.as_str().unwrap_or_else(|| panic!("{what} is not a string: {value}"));
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    let shaped = b.len() == 24
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'.'
        && digits(20..23)
        && b[23] == b'Z';
    assert!(shaped, "{what} is not YYYY-MM-DDTHH:MM:SS.sssZ: {text}");
    assert!(chrono::DateTime::parse_from_rfc3339(text).is_ok(), "{what} is not RFC 3339: {text}");
}

fn allowed_methods(resp: &Response) -> Vec<String> {
    let allow = header(resp, "allow").expect("Allow header on 405");
    allow.split(',').map(|m| m.trim().to_ascii_uppercase()).collect()
}

// ---------------------------------------------------------------------------------------------
// 1.1 Paths and methods
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn read_routes_answer_with_and_without_a_trailing_slash() {
    // Arrange
    let app = spawn_app().await;
    let t = id_of(&app.create_ticket(1, "Slashes").await);
    let stable = [
        "/api/boards".to_owned(),
        "/api/boards/1".to_owned(),
        "/api/boards/1/columns".to_owned(),
        "/api/boards/default".to_owned(),
        format!("/api/tickets/{t}"),
        format!("/api/comments/ticket/{t}"),
        format!("/api/history/tickets/{t}/history"),
    ];
    let volatile = ["/api/boards/1/tickets".to_owned(), "/api/tickets".to_owned(), "/api/status".to_owned()];

    // Act & Assert
    for path in &stable {
        let bare = app.get(path).await;
        let slashed = app.get(&format!("{path}/")).await;
        assert_eq!(bare.status(), StatusCode::OK, "GET {path}");
        assert_eq!(slashed.status(), StatusCode::OK, "GET {path}/");
        let bare: Value = bare.json().await.expect("json");
        let slashed: Value = slashed.json().await.expect("json");
        assert_eq!(bare, slashed, "{path} with and without the trailing slash");
    }
    for path in &volatile {
        assert_eq!(app.get(path).await.status(), StatusCode::OK, "GET {path}");
        assert_eq!(app.get(&format!("{path}/")).await.status(), StatusCode::OK, "GET {path}/");
    }
}

#[tokio::test]
async fn write_routes_answer_with_and_without_a_trailing_slash() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let created = app.post("/api/boards", &json!({ "name": "No slash" })).await;
    assert_eq!(created.status(), StatusCode::CREATED, "POST /api/boards");
    let board: Value = created.json().await.expect("board body");
    let id = id_of(&board);
    let updated = app.put(&format!("/api/boards/{id}/"), &json!({ "name": "Slash" })).await;
    let ticket = app.post("/api/tickets", &json!({ "board_id": id, "title": "t" })).await;
    assert_eq!(ticket.status(), StatusCode::CREATED, "POST /api/tickets");
    let ticket: Value = ticket.json().await.expect("ticket body");
    let moved = app.post(&format!("/api/tickets/{}/move/", id_of(&ticket)), &json!({ "column": "Done" })).await;
    let deleted = app.delete(&format!("/api/tickets/{}/", id_of(&ticket))).await;

    // Assert
    assert_eq!(updated.status(), StatusCode::OK, "PUT /api/boards/{{id}}/");
    assert_eq!(moved.status(), StatusCode::OK, "POST /api/tickets/{{id}}/move/");
    assert_eq!(deleted.status(), StatusCode::OK, "DELETE /api/tickets/{{id}}/");
    let after = app.get_json(&format!("/api/boards/{id}")).await;
    assert_eq!(after["name"], "Slash");
    assert_eq!(after["ticket_count"], 0);
}

#[tokio::test]
async fn an_unknown_path_is_404_not_found() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let responses = vec![
        app.get("/api/nowhere").await,
        app.get("/api/boards/1/nowhere").await,
        app.get("/nowhere").await,
        app.post("/api/nowhere", &json!({})).await,
    ];

    // Assert
    for resp in responses {
        let body = assert_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
        assert_eq!(body["detail"], "Not Found");
    }
}

#[tokio::test]
async fn a_wrong_method_is_405_with_an_allow_header() {
    // Arrange
    let app = spawn_app().await;
    let before = app.get_json("/api/boards/1").await;

    // Act
    let patch_board = app.request(Method::PATCH, "/api/boards/1").json(&json!({ "name": "X" })).send().await.unwrap();
    let patch_slashed = app.request(Method::PATCH, "/api/boards/1/").send().await.unwrap();
    let delete_list = app.delete("/api/boards/").await;
    let post_columns = app.post("/api/boards/1/columns", &json!(["A"])).await;

    // Assert
    let allow = allowed_methods(&patch_board);
    for method in ["GET", "PUT", "DELETE"] {
        assert!(allow.contains(&method.to_owned()), "Allow {allow:?} lacks {method}");
    }
    assert!(!allow.contains(&"PATCH".to_owned()), "Allow {allow:?} lists PATCH");
    let body = assert_error(patch_board, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED").await;
    assert_eq!(body["detail"], "Method Not Allowed");

    assert!(allowed_methods(&patch_slashed).contains(&"GET".to_owned()));
    assert_error(patch_slashed, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED").await;

    let allow = allowed_methods(&delete_list);
    assert!(allow.contains(&"GET".to_owned()) && allow.contains(&"POST".to_owned()), "Allow {allow:?}");
    assert_error(delete_list, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED").await;

    let allow = allowed_methods(&post_columns);
    assert!(allow.contains(&"GET".to_owned()) && allow.contains(&"PUT".to_owned()), "Allow {allow:?}");
    assert_error(post_columns, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED").await;

    assert_eq!(app.get_json("/api/boards/1").await, before);
    assert_eq!(board_count(&app).await, 1);
}

#[tokio::test]
async fn head_on_a_get_route_answers_200_with_headers_and_no_body() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let head = app.request(Method::HEAD, "/api/boards/1").send().await.expect("HEAD");
    let list = app.request(Method::HEAD, "/api/boards/").send().await.expect("HEAD");

    // Assert
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(header(&head, "etag").as_deref(), Some("\"1\""));
    assert!(header(&head, "content-type").unwrap_or_default().starts_with("application/json"));
    assert!(head.bytes().await.expect("body").is_empty());
    assert_eq!(list.status(), StatusCode::OK);
    assert!(list.bytes().await.expect("body").is_empty());
}

// ---------------------------------------------------------------------------------------------
// 1.2 Request bodies
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_body_with_a_non_json_content_type_is_415() {
    // Arrange
    let app = spawn_app().await;
    let before = app.get_json("/api/boards/1").await;
    let raw = r#"{"name":"Plain text"}"#;

    // Act
    let post = app.request(Method::POST, "/api/boards/").header("content-type", "text/plain").body(raw).send();
    let post = post.await.expect("POST");
    let put = app.request(Method::PUT, "/api/boards/1").header("content-type", "text/plain").body(raw).send();
    let put = put.await.expect("PUT");

    // Assert
    assert_error(post, StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE").await;
    assert_error(put, StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE").await;
    assert_eq!(board_count(&app).await, 1);
    assert_eq!(app.get_json("/api/boards/1").await, before);
}

#[tokio::test]
async fn json_with_a_utf8_charset_is_accepted() {
    // Arrange
    let app = spawn_app().await;
    let raw = r#"{"name":"Charset"}"#;

    // Act
    let resp = app
        .request(Method::POST, "/api/boards/")
        .header("content-type", "application/json; charset=utf-8")
        .body(raw)
        .send()
        .await
        .expect("POST");

    // Assert
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.expect("board body");
    assert_eq!(body["name"], "Charset");
}

#[tokio::test]
async fn a_body_over_the_configured_limit_is_413() {
    // Arrange
    let app = spawn_app_with(|cfg| cfg.server.body_limit_bytes = 2048).await;
    let oversized = json!({ "name": "Big", "description": "x".repeat(3000) });
    let fits = json!({ "name": "Small", "description": "x".repeat(1500) });

    // Act
    let rejected = app.post("/api/boards/", &oversized).await;
    let count_after_rejection = board_count(&app).await;
    let accepted = app.post("/api/boards/", &fits).await;

    // Assert
    assert_error(rejected, StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE").await;
    assert_eq!(count_after_rejection, 1);
    assert_eq!(accepted.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn malformed_json_is_422_json_invalid() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let truncated = post_raw(&app, "/api/boards/", None, r#"{"name":"#).await;
    let trailing_comma = post_raw(&app, "/api/boards/", None, r#"{"name":"x",}"#).await;
    let not_json = post_raw(&app, "/api/boards/", None, "name=x").await;

    // Assert
    assert_validation(truncated, "body", "json_invalid").await;
    assert_validation(trailing_comma, "body", "json_invalid").await;
    assert_validation(not_json, "body", "json_invalid").await;
    assert_eq!(board_count(&app).await, 1);
}

#[tokio::test]
async fn a_top_level_value_of_the_wrong_type_is_422_invalid_type() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let array = post_raw(&app, "/api/boards/", None, r#"["Roadmap"]"#).await;
    let string = post_raw(&app, "/api/boards/", None, r#""Roadmap""#).await;
    let ticket_array = post_raw(&app, "/api/tickets/", None, r#"[{"board_id":1,"title":"x"}]"#).await;

    // Assert
    assert_validation(array, "body", "invalid_type").await;
    assert_validation(string, "body", "invalid_type").await;
    assert_validation(ticket_array, "body", "invalid_type").await;
    assert_eq!(board_count(&app).await, 1);
    assert_eq!(app.get_json("/api/boards/1/tickets").await["total_tickets"], 0);
}

#[tokio::test]
async fn a_numeric_string_for_an_integer_field_is_422_invalid_type() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let resp = app.post("/api/tickets/", &json!({ "board_id": "1", "title": "Stringly typed" })).await;

    // Assert
    assert_validation(resp, "body.board_id", "invalid_type").await;
    assert_eq!(app.get_json("/api/boards/1/tickets").await["total_tickets"], 0);
}

#[tokio::test]
async fn unknown_body_fields_are_ignored() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let resp = app.post("/api/boards/", &json!({ "name": "Extra", "colour": "teal", "id": 999 })).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.expect("board body");
    assert_eq!(body["name"], "Extra");
    assert_ne!(body["id"], 999);
    assert!(body.get("colour").is_none());
}

// ---------------------------------------------------------------------------------------------
// 1.13 X-Request-Id
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_valid_request_id_is_echoed_on_success_and_error() {
    // Arrange
    let app = spawn_app().await;
    let longest = "a".repeat(128);

    // Act
    let ok = app.request(Method::GET, "/api/boards/").header("X-Request-Id", "req-42.A_b").send().await.unwrap();
    let missing = app.request(Method::GET, "/api/nowhere").header("X-Request-Id", "trace.7").send().await.unwrap();
    let long = app.request(Method::GET, "/").header("X-Request-Id", longest.as_str()).send().await.unwrap();

    // Assert
    assert_eq!(header(&ok, "x-request-id").as_deref(), Some("req-42.A_b"));
    assert_eq!(header(&missing, "x-request-id").as_deref(), Some("trace.7"));
    assert_eq!(header(&long, "x-request-id"), Some(longest));
}

#[tokio::test]
async fn a_missing_or_invalid_request_id_is_replaced_by_a_fresh_uuid() {
    // Arrange
    let app = spawn_app().await;
    let too_long = "a".repeat(129);

    // Act
    let none = app.get("/api/boards/").await;
    let spaced = app.request(Method::GET, "/api/boards/").header("X-Request-Id", "bad id!").send().await.unwrap();
    let long = app.request(Method::GET, "/api/boards/").header("X-Request-Id", too_long.as_str()).send().await.unwrap();
    let error = app.get("/api/nowhere").await;

    // Assert
    let none_id = header(&none, "x-request-id");
    assert_is_uuid(none_id.as_deref(), "generated X-Request-Id");
    assert_is_uuid(header(&spaced, "x-request-id").as_deref(), "X-Request-Id replacing 'bad id!'");
    assert_is_uuid(header(&long, "x-request-id").as_deref(), "X-Request-Id replacing a 129-char id");
    let error_id = header(&error, "x-request-id");
    assert_is_uuid(error_id.as_deref(), "X-Request-Id of a 404");
    assert_ne!(none_id, error_id, "request ids are fresh per request");
}

// ---------------------------------------------------------------------------------------------
// 1.3 Timestamps
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn timestamps_are_rfc3339_utc_with_exactly_three_fractional_digits() {
    // Arrange
    let app = spawn_app().await;
    let board = app.create_board("Clocks").await;
    let ticket = app.create_ticket(id_of(&board), "Tick").await;
    let comment = app.post("/api/comments/", &json!({ "ticket_id": id_of(&ticket), "text": "Tock" })).await;
    assert_eq!(comment.status(), StatusCode::CREATED);
    let comment: Value = comment.json().await.expect("comment body");

    // Act
    let listed = app.get_json(&format!("/api/boards/{}/tickets", id_of(&board))).await;
    let history = app.get_json(&format!("/api/history/tickets/{}/history", id_of(&ticket))).await;
    let error = assert_error(app.get("/api/boards/999").await, StatusCode::NOT_FOUND, "NOT_FOUND").await;

    // Assert
    assert_timestamp(&board["created_at"], "board.created_at");
    assert_timestamp(&board["updated_at"], "board.updated_at");
    for key in ["created_at", "updated_at", "column_entered_at"] {
        assert_timestamp(&ticket[key], &format!("ticket.{key}"));
        assert_timestamp(&listed["tickets"][0][key], &format!("board ticket.{key}"));
    }
    assert_timestamp(&comment["created_at"], "comment.created_at");
    assert_timestamp(&history[0]["changed_at"], "history.changed_at");
    assert_timestamp(&error["error"]["timestamp"], "error.timestamp");
    assert_timestamp(&app.get_json("/api/boards/1").await["created_at"], "default board.created_at");
}

// ---------------------------------------------------------------------------------------------
// §2 Root and service routes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_root_route_names_the_api_and_its_version() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let body = app.get_json("/").await;

    // Assert
    assert_eq!(body, json!({ "message": "Agent Kanban Board API", "version": env!("CARGO_PKG_VERSION") }));
    assert_eq!(body["version"], "0.1.0");
}

#[tokio::test]
async fn the_status_route_describes_the_service() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let body = app.get_json("/api/status").await;

    // Assert: the field set and types are normative; `websocket_available` reports what is served.
    let keys: Vec<&String> = body.as_object().expect("status object").keys().collect();
    let mut keys: Vec<&str> = keys.into_iter().map(String::as_str).collect();
    keys.sort_unstable();
    // `mcp_available` is the MCP endpoint's addition (issue 11), `anonymous_role` the web board's (issue 18).
    let expected_keys = [
        "anonymous_role",
        "cors_origins",
        "endpoints",
        "mcp_available",
        "socketio_available",
        "status",
        "version",
        "websocket_available",
    ];
    assert_eq!(keys, expected_keys, "{body}");
    assert_eq!(body["status"], "operational");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    let origins = json!(["http://localhost:3000", "http://localhost:5173", "http://localhost:15175"]);
    assert_eq!(body["cors_origins"], origins, "the configured (default) CORS origins");
    assert!(body["websocket_available"].is_boolean(), "{body}");
    assert_eq!(body["socketio_available"], false);
    assert_eq!(
        body["endpoints"],
        json!({ "boards": "/api/boards/", "tickets": "/api/tickets/", "websocket": "/ws/connect" })
    );
}

#[tokio::test]
async fn the_openapi_document_is_3_1_and_lists_the_resource_paths() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let doc = app.get_json("/openapi.json").await;

    // Assert
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "openapi = {}", doc["openapi"]);
    assert_eq!(doc["info"]["version"], "0.1.0");
    let paths = doc["paths"].as_object().expect("paths object");
    let normalised: std::collections::HashMap<String, &Value> =
        paths.iter().map(|(p, item)| (p.trim_end_matches('/').to_owned(), item)).collect();
    let expected = [
        "/api/boards",
        "/api/boards/default",
        "/api/boards/default/tickets",
        "/api/boards/{board_id}",
        "/api/boards/{board_id}/columns",
        "/api/boards/{board_id}/tickets",
        "/api/tickets",
        "/api/tickets/{ticket_id}",
        "/api/tickets/{ticket_id}/move",
        "/api/tickets/{ticket_id}/claim",
        "/api/tickets/{ticket_id}/release",
        "/api/comments",
        "/api/comments/ticket/{ticket_id}",
        "/api/comments/{comment_id}",
        "/api/history/tickets/{ticket_id}/history",
        "/api/history/tickets/{ticket_id}/transitions",
        "/api/history/boards/{board_id}/activity",
        "/api/users/session",
    ];
    for path in expected {
        assert!(normalised.contains_key(path), "OpenAPI paths lack {path}: {:?}", paths.keys().collect::<Vec<_>>());
    }
    let board_item = normalised["/api/boards/{board_id}"];
    for method in ["get", "put", "delete"] {
        assert!(board_item.get(method).is_some(), "/api/boards/{{board_id}} lacks {method}");
    }
    let session_item = normalised["/api/users/session"];
    for method in ["get", "post", "put", "delete"] {
        assert!(session_item.get(method).is_some(), "/api/users/session lacks {method}");
    }
}

// ---------------------------------------------------------------------------------------------
// 1.10 Idempotency-Key
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn replaying_a_board_create_with_the_same_key_returns_the_stored_response() {
    // Arrange
    let app = spawn_app().await;
    let raw = r#"{"name":"Exactly once","description":"retry-safe"}"#;
    let first = post_raw(&app, "/api/boards/", key("create-once-1"), raw).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let (first_location, first_etag) = (header(&first, "location"), header(&first, "etag"));
    assert_ne!(header(&first, "idempotency-replayed").as_deref(), Some("true"));
    let first_body = first.text().await.expect("body");

    // Act
    let replay = post_raw(&app, "/api/boards/", key("create-once-1"), raw).await;

    // Assert
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(header(&replay, "idempotency-replayed").as_deref(), Some("true"));
    assert_eq!(header(&replay, "location"), first_location);
    assert_eq!(header(&replay, "etag"), first_etag);
    assert_eq!(replay.text().await.expect("body"), first_body);
    let boards = app.get_json("/api/boards/").await;
    let named: Vec<&Value> = boards.as_array().unwrap().iter().filter(|b| b["name"] == "Exactly once").collect();
    assert_eq!(named.len(), 1, "only one board is created: {boards}");
    assert_eq!(board_count(&app).await, 2);
}

#[tokio::test]
async fn an_idempotent_replay_ignores_the_trailing_slash() {
    // Arrange
    let app = spawn_app().await;
    let raw = r#"{"name":"Slash-insensitive"}"#;
    let first = post_raw(&app, "/api/boards/", key("slash-key"), raw).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_body = first.text().await.expect("body");

    // Act
    let replay = post_raw(&app, "/api/boards", key("slash-key"), raw).await;

    // Assert
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(header(&replay, "idempotency-replayed").as_deref(), Some("true"));
    assert_eq!(replay.text().await.expect("body"), first_body);
    assert_eq!(board_count(&app).await, 2);
}

#[tokio::test]
async fn reusing_an_idempotency_key_for_a_different_body_is_rejected() {
    // Arrange
    let app = spawn_app().await;
    let first = post_raw(&app, "/api/boards/", key("reused-key"), r#"{"name":"First"}"#).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.expect("board body");

    // Act
    let second = post_raw(&app, "/api/boards/", key("reused-key"), r#"{"name":"Second"}"#).await;

    // Assert
    assert_error(second, StatusCode::UNPROCESSABLE_ENTITY, "IDEMPOTENCY_KEY_REUSED").await;
    assert_eq!(board_count(&app).await, 2);
    assert_eq!(app.get_json(&format!("/api/boards/{}", id_of(&first))).await, first);
}

#[tokio::test]
async fn a_failed_request_does_not_consume_its_idempotency_key() {
    // Arrange
    let app = spawn_app().await;
    let failed = post_raw(&app, "/api/boards/", key("retry-after-error"), r#"{"name":"  "}"#).await;
    assert_validation(failed, "body.name", "string_too_short").await;

    // Act
    let again = post_raw(&app, "/api/boards/", key("retry-after-error"), r#"{"name":"  "}"#).await;
    let fixed = post_raw(&app, "/api/boards/", key("retry-after-error"), r#"{"name":"Fixed"}"#).await;

    // Assert
    assert_ne!(header(&again, "idempotency-replayed").as_deref(), Some("true"));
    assert_validation(again, "body.name", "string_too_short").await;
    assert_eq!(fixed.status(), StatusCode::CREATED);
    assert_eq!(board_count(&app).await, 2);
}

#[tokio::test]
async fn an_invalid_idempotency_key_is_rejected() {
    // Arrange
    let app = spawn_app().await;
    let raw = r#"{"name":"Keyed"}"#;
    let invalid = [
        HeaderValue::from_str(&"k".repeat(256)).unwrap(),
        HeaderValue::from_static(""),
        HeaderValue::from_str("tab\there").unwrap(),
        HeaderValue::from_bytes(b"caf\xe9").unwrap(),
    ];

    // Act
    let mut responses = Vec::new();
    for value in invalid {
        responses.push(post_raw(&app, "/api/boards/", Some(value), raw).await);
    }

    // Assert
    for resp in responses {
        assert_validation_field(resp, "header.idempotency-key").await;
    }
    assert_eq!(board_count(&app).await, 1);
}

#[tokio::test]
async fn an_idempotency_key_of_255_printable_characters_is_accepted() {
    // Arrange
    let app = spawn_app().await;
    let longest = "k~!".repeat(85);

    // Act
    let resp = post_raw(&app, "/api/boards/", key(&longest), r#"{"name":"Long key"}"#).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(board_count(&app).await, 2);
}

#[tokio::test]
async fn an_idempotency_key_is_ignored_on_routes_that_do_not_honour_it() {
    // Arrange
    let app = spawn_app().await;
    let long = "k".repeat(256);

    // Act
    let resp = app.request(Method::GET, "/api/boards/").header("Idempotency-Key", long).send().await.unwrap();

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
}

/// POST a board with `key` and extra request headers (an anonymous client's session or address).
async fn keyed_board_from(app: &TestApp, client: (&str, &str), key: &str, name: &str) -> Response {
    let req = app.request(Method::POST, "/api/boards/").header(client.0, client.1).header("Idempotency-Key", key);
    req.json(&json!({ "name": name })).send().await.expect("POST /api/boards/")
}

#[tokio::test]
async fn two_anonymous_sessions_reusing_an_idempotency_key_do_not_get_each_others_reply() {
    // Arrange
    let app = spawn_app().await;
    let session = |name: &'static str| {
        let app = &app;
        async move { ok(app.post("/api/users/session", &json!({ "username": name })).await).await }
    };
    let (alice, bob) = (session("alice").await, session("bob").await);
    let (alice, bob) = (alice["session_id"].as_str().unwrap(), bob["session_id"].as_str().unwrap());
    let first = keyed_board_from(&app, ("x-session-id", alice), "save-1", "Alice's").await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let alices = id_of(&first.json().await.expect("board"));

    // Act
    let other = keyed_board_from(&app, ("x-session-id", bob), "save-1", "Bob's").await;
    let retry = keyed_board_from(&app, ("x-session-id", alice), "save-1", "Alice's").await;

    // Assert: Bob's write ran (no 422 for a "reused" key, no replay of Alice's board); Alice's
    // retry still replays hers.
    assert_eq!(other.status(), StatusCode::CREATED);
    assert_eq!(header(&other, "idempotency-replayed"), None);
    let bobs: Value = other.json().await.expect("board");
    assert_eq!(bobs["name"], "Bob's");
    assert_eq!(header(&retry, "idempotency-replayed").as_deref(), Some("true"));
    assert_eq!(id_of(&retry.json().await.expect("board")), alices);
    assert_eq!(board_count(&app).await, 3);
}

#[tokio::test]
async fn two_anonymous_addresses_reusing_an_idempotency_key_do_not_get_each_others_reply() {
    // Arrange: two clients behind a trusted proxy, neither with a session.
    let app = spawn_app_with(|cfg| cfg.server.trusted_proxies = vec!["127.0.0.1".into()]).await;
    let (one, two) = (("x-forwarded-for", "198.51.100.1"), ("x-forwarded-for", "198.51.100.2"));
    let first = keyed_board_from(&app, one, "save-1", "Same name").await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let firsts = id_of(&first.json().await.expect("board"));

    // Act
    let other = keyed_board_from(&app, two, "save-1", "Same name").await;
    let retry = keyed_board_from(&app, one, "save-1", "Same name").await;

    // Assert
    assert_eq!(other.status(), StatusCode::CREATED);
    assert_eq!(header(&other, "idempotency-replayed"), None);
    assert_ne!(id_of(&other.json().await.expect("board")), firsts, "a board of its own");
    assert_eq!(header(&retry, "idempotency-replayed").as_deref(), Some("true"));
    assert_eq!(id_of(&retry.json().await.expect("board")), firsts);
    assert_eq!(board_count(&app).await, 3);
}

// ---------------------------------------------------------------------------------------------
// Caller resolution (auth.md §3)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_garbage_bearer_token_is_401_even_with_anonymous_access() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let resp = app.request(Method::GET, "/api/boards/").bearer_auth("garbage").send().await.unwrap();
    let write = app.request(Method::POST, "/api/boards/").bearer_auth("garbage").json(&json!({ "name": "X" }));
    let write = write.send().await.unwrap();

    // Assert
    assert!(header(&resp, "www-authenticate").is_some_and(|v| v.starts_with("Bearer")), "WWW-Authenticate");
    assert_error(resp, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert!(header(&write, "www-authenticate").is_some_and(|v| v.starts_with("Bearer")), "WWW-Authenticate");
    assert_error(write, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert_eq!(board_count(&app).await, 1);
}

#[tokio::test]
async fn public_routes_treat_a_garbage_token_as_absent() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let root = app.request(Method::GET, "/").bearer_auth("garbage").send().await.unwrap();
    let status = app.request(Method::GET, "/api/status").bearer_auth("garbage").send().await.unwrap();

    // Assert
    assert_eq!(root.status(), StatusCode::OK);
    assert_eq!(status.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_anonymous_access_a_tokenless_read_is_401() {
    // Arrange
    let app = spawn_app_with(|cfg| cfg.auth.anonymous_role = AnonymousRole::None).await;

    // Act
    let read = app.get("/api/boards/").await;
    let root = app.get("/").await;

    // Assert
    assert!(header(&read, "www-authenticate").is_some_and(|v| v.starts_with("Bearer")), "WWW-Authenticate");
    let body = assert_error(read, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert_eq!(body["detail"], "Authentication required");
    assert_eq!(root.status(), StatusCode::OK, "public routes stay open");
}

#[tokio::test]
async fn an_anonymous_viewer_can_read_but_not_create_boards() {
    // Arrange
    let app = spawn_app_with(|cfg| cfg.auth.anonymous_role = AnonymousRole::Viewer).await;

    // Act
    let read = app.get("/api/boards/").await;
    let create = app.post("/api/boards/", &json!({ "name": "Not allowed" })).await;

    // Assert
    assert_eq!(read.status(), StatusCode::OK);
    assert!(header(&create, "www-authenticate").is_some_and(|v| v.starts_with("Bearer")), "WWW-Authenticate");
    let body = assert_error(create, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert_eq!(body["detail"], "Authentication required");
    assert_eq!(board_count(&app).await, 1);
}

#[tokio::test]
async fn concurrent_duplicates_with_one_key_create_exactly_one_board() {
    // Arrange
    let app = spawn_app().await;
    let raw = r#"{"name":"Raced"}"#;

    // Act
    let (a, b) = tokio::join!(
        post_raw(&app, "/api/boards/", key("raced-key"), raw),
        post_raw(&app, "/api/boards/", key("raced-key"), raw)
    );

    // Assert
    assert_eq!(a.status(), StatusCode::CREATED);
    assert_eq!(b.status(), StatusCode::CREATED);
    let replayed = [&a, &b].iter().filter(|r| header(r, "idempotency-replayed").as_deref() == Some("true")).count();
    assert_eq!(replayed, 1, "exactly one of the duplicates is a replay");
    let (a, b) = (a.text().await.expect("body"), b.text().await.expect("body"));
    assert_eq!(a, b);
    assert_eq!(board_count(&app).await, 2);
}

#[tokio::test]
async fn an_idempotency_key_reused_on_another_route_is_rejected() {
    // Arrange
    let app = spawn_app().await;
    let board = post_raw(&app, "/api/boards/", key("shared-key"), r#"{"name":"Keyed"}"#).await;
    assert_eq!(board.status(), StatusCode::CREATED);

    // Act
    let ticket = post_raw(&app, "/api/tickets/", key("shared-key"), r#"{"board_id":1,"title":"Keyed"}"#).await;

    // Assert
    assert_error(ticket, StatusCode::UNPROCESSABLE_ENTITY, "IDEMPOTENCY_KEY_REUSED").await;
    assert_eq!(app.get_json("/api/boards/1/tickets").await["total_tickets"], 0);
}
