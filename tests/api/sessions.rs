//! Tests for anonymous username sessions (`api.md` §10) and the names they lend to anonymous actions
//! (`api.md` 1.11 with the attribution refinement in README "Notes for implementers").

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const SESSION_PATH: &str = "/api/users/session";

/// The `session_id` cookie set by a response, as its `;`-separated parts.
fn session_cookie(resp: &Response) -> Vec<String> {
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("session_id="))
        .expect("a session_id Set-Cookie header");
    cookie.split(';').map(|part| part.trim().to_owned()).collect()
}

fn has_attribute(cookie: &[String], attribute: &str) -> bool {
    cookie.iter().any(|part| part.eq_ignore_ascii_case(attribute))
}

/// Start a session for `username`, asserting 200; returns the body.
async fn start_session(app: &TestApp, username: &str) -> Value {
    let resp = app.post(SESSION_PATH, &json!({ "username": username })).await;
    assert_eq!(resp.status(), StatusCode::OK, "start session");
    resp.json().await.expect("session body")
}

fn session_id(session: &Value) -> String {
    session["session_id"].as_str().expect("session_id").to_owned()
}

fn cookie_for(session: &Value) -> String {
    format!("session_id={}", session_id(session))
}

async fn ok_json(resp: Response) -> Value {
    assert_eq!(resp.status(), StatusCode::OK, "status");
    resp.json().await.expect("json body")
}

// ---------------------------------------------------------------------------------------------
// POST /api/users/session
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn starting_a_session_returns_it_and_sets_the_session_cookie() {
    let app = spawn_app().await;

    let resp = app.post(SESSION_PATH, &json!({"username": "zed"})).await;

    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = session_cookie(&resp);
    let body: Value = resp.json().await.expect("session");
    assert_eq!(body["username"], "zed");
    let id = session_id(&body);
    assert_eq!(id.len(), 36, "a UUID: {id}");
    assert!(body["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(cookie[0], format!("session_id={id}"));
    assert!(has_attribute(&cookie, "HttpOnly"), "{cookie:?}");
    assert!(has_attribute(&cookie, "SameSite=Lax"), "{cookie:?}");
    assert!(has_attribute(&cookie, "Max-Age=604800"), "{cookie:?}");
    assert!(has_attribute(&cookie, "Path=/"), "{cookie:?}");
    assert!(!has_attribute(&cookie, "Secure"), "not Secure by default: {cookie:?}");
}

#[tokio::test]
async fn the_session_cookie_is_secure_when_configured() {
    let app = spawn_app_with(|cfg| cfg.auth.cookie_secure = true).await;

    let resp = app.post(SESSION_PATH, &json!({"username": "zed"})).await;

    assert_eq!(resp.status(), StatusCode::OK);
    assert!(has_attribute(&session_cookie(&resp), "Secure"));
}

/// The anonymous sessions `/api/health/` counts (the ops routes are public without `ops.token`).
async fn active_sessions(app: &TestApp) -> i64 {
    app.get_json("/api/health/").await["sessions"]["active_count"].as_i64().expect("active_count")
}

#[tokio::test]
async fn without_anonymous_access_starting_a_session_is_401_and_stores_nothing() {
    // Arrange
    let app = spawn_app_with(|cfg| cfg.auth.anonymous_role = agent_kanban::config::AnonymousRole::None).await;

    // Act
    let resp = app.post(SESSION_PATH, &json!({"username": "zed"})).await;

    // Assert
    assert!(resp.headers().get("set-cookie").is_none(), "no session cookie");
    assert_error(resp, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert_eq!(active_sessions(&app).await, 0);
}

#[tokio::test]
async fn without_anonymous_access_a_signed_in_user_may_still_start_a_session() {
    // Arrange
    let app = spawn_app_with(|cfg| cfg.auth.anonymous_role = agent_kanban::config::AnonymousRole::None).await;
    let account = json!({"username": "labeller", "email": "l@example.com", "password": "Correct-Horse-1"});
    assert_eq!(app.post("/api/auth/register", &account).await.status(), StatusCode::CREATED);
    let login = json!({"username": "labeller", "password": "Correct-Horse-1"});
    let tokens = ok_json(app.post("/api/auth/login", &login).await).await;
    let token = tokens["access_token"].as_str().expect("access_token");

    // Act
    let resp = app.request(Method::POST, SESSION_PATH).bearer_auth(token).json(&json!({"username": "zed"})).send();
    let resp = resp.await.expect("POST session");

    // Assert
    assert_eq!(ok_json(resp).await["username"], "zed");
    assert_eq!(active_sessions(&app).await, 1);
}

#[tokio::test]
async fn a_garbage_token_cannot_start_a_session_even_with_anonymous_access() {
    let app = spawn_app().await;

    let resp = app.request(Method::POST, SESSION_PATH).bearer_auth("garbage").json(&json!({"username": "zed"}));

    assert_error(resp.send().await.expect("POST session"), StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert_eq!(active_sessions(&app).await, 0);
}

#[tokio::test]
async fn each_session_gets_its_own_id_and_a_trimmed_username() {
    let app = spawn_app().await;

    let first = start_session(&app, "  zed  ").await;
    let second = start_session(&app, "zed").await;

    assert_eq!(first["username"], "zed");
    assert_ne!(session_id(&first), session_id(&second));
}

#[tokio::test]
async fn a_session_username_must_be_1_to_100_characters() {
    let app = spawn_app().await;
    let cases = [
        (json!({}), "missing"),
        (json!({"username": null}), "null_not_allowed"),
        (json!({"username": ""}), "string_too_short"),
        (json!({"username": "   "}), "string_too_short"),
        (json!({"username": "z".repeat(101)}), "string_too_long"),
    ];

    for (body, kind) in cases {
        let resp = app.post(SESSION_PATH, &body).await;
        assert_validation(resp, "body.username", kind).await;
    }
}

#[tokio::test]
async fn a_username_of_100_characters_is_accepted() {
    let app = spawn_app().await;
    let name = "ß".repeat(100);

    let session = start_session(&app, &name).await;

    assert_eq!(session["username"], name.as_str());
}

// ---------------------------------------------------------------------------------------------
// GET /api/users/session
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_session_is_found_by_its_cookie() {
    let app = spawn_app().await;
    let session = start_session(&app, "zed").await;

    let resp = app.request(Method::GET, SESSION_PATH).header("Cookie", cookie_for(&session)).send().await.expect("GET");

    let body = ok_json(resp).await;
    assert_eq!(body["session_id"], session["session_id"]);
    assert_eq!(body["username"], "zed");
    assert_eq!(body["created_at"], session["created_at"]);
}

#[tokio::test]
async fn a_session_is_found_by_the_x_session_id_header() {
    let app = spawn_app().await;
    let session = start_session(&app, "zed").await;

    let resp =
        app.request(Method::GET, SESSION_PATH).header("X-Session-Id", session_id(&session)).send().await.expect("GET");

    let body = ok_json(resp).await;
    assert_eq!(body["session_id"], session["session_id"]);
    assert_eq!(body["username"], "zed");
}

#[tokio::test]
async fn the_cookie_wins_over_the_x_session_id_header() {
    let app = spawn_app().await;
    let by_cookie = start_session(&app, "cookie-user").await;
    let by_header = start_session(&app, "header-user").await;

    let resp = app
        .request(Method::GET, SESSION_PATH)
        .header("Cookie", cookie_for(&by_cookie))
        .header("X-Session-Id", session_id(&by_header))
        .send()
        .await
        .expect("GET");

    assert_eq!(ok_json(resp).await["username"], "cookie-user");
}

#[tokio::test]
async fn without_a_session_there_is_no_active_session() {
    let app = spawn_app().await;

    let absent = app.get(SESSION_PATH).await;
    let unknown = app
        .request(Method::GET, SESSION_PATH)
        .header("X-Session-Id", "6f1c2a9e-4b7d-4a43-9f5e-0c2d8e1b7a10")
        .send()
        .await
        .expect("GET");
    let garbage = app.request(Method::GET, SESSION_PATH).header("Cookie", "session_id=nope").send().await.expect("GET");

    for resp in [absent, unknown, garbage] {
        let body = assert_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
        assert_eq!(body["detail"], "No active session found");
    }
}

// ---------------------------------------------------------------------------------------------
// PUT /api/users/session
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn renaming_a_session_keeps_its_id() {
    let app = spawn_app().await;
    let session = start_session(&app, "zed").await;

    let resp = app
        .request(Method::PUT, SESSION_PATH)
        .header("Cookie", cookie_for(&session))
        .json(&json!({"username": " zoe "}))
        .send()
        .await
        .expect("PUT");

    let body = ok_json(resp).await;
    assert_eq!(body["username"], "zoe");
    assert_eq!(body["session_id"], session["session_id"]);
    let again =
        app.request(Method::GET, SESSION_PATH).header("X-Session-Id", session_id(&session)).send().await.expect("GET");
    assert_eq!(ok_json(again).await["username"], "zoe");
}

#[tokio::test]
async fn renaming_without_a_session_is_not_found() {
    let app = spawn_app().await;

    let resp = app.put(SESSION_PATH, &json!({"username": "zoe"})).await;

    let body = assert_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(body["detail"], "No active session found");
}

#[tokio::test]
async fn renaming_to_a_blank_username_is_rejected() {
    let app = spawn_app().await;
    let session = start_session(&app, "zed").await;

    let resp = app
        .request(Method::PUT, SESSION_PATH)
        .header("Cookie", cookie_for(&session))
        .json(&json!({"username": "  "}))
        .send()
        .await
        .expect("PUT");

    assert_validation(resp, "body.username", "string_too_short").await;
    let current =
        app.request(Method::GET, SESSION_PATH).header("Cookie", cookie_for(&session)).send().await.expect("GET");
    assert_eq!(ok_json(current).await["username"], "zed");
}

// ---------------------------------------------------------------------------------------------
// DELETE /api/users/session
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn ending_a_session_deletes_it_and_clears_the_cookie() {
    let app = spawn_app().await;
    let session = start_session(&app, "zed").await;

    let resp =
        app.request(Method::DELETE, SESSION_PATH).header("Cookie", cookie_for(&session)).send().await.expect("DELETE");

    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = session_cookie(&resp);
    assert!(has_attribute(&cookie, "Max-Age=0"), "{cookie:?}");
    assert_eq!(resp.json::<Value>().await.expect("body"), json!({"message": "Session deleted successfully"}));
    let after =
        app.request(Method::GET, SESSION_PATH).header("X-Session-Id", session_id(&session)).send().await.expect("GET");
    assert_error(after, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

#[tokio::test]
async fn ending_a_session_succeeds_even_without_one() {
    let app = spawn_app().await;

    let resp = app.delete(SESSION_PATH).await;

    assert_eq!(resp.status(), StatusCode::OK);
    assert!(has_attribute(&session_cookie(&resp), "Max-Age=0"));
    assert_eq!(resp.json::<Value>().await.expect("body"), json!({"message": "Session deleted successfully"}));
}

// ---------------------------------------------------------------------------------------------
// Session names label anonymous actions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_session_username_signs_anonymous_comments() {
    let app = spawn_app().await;
    let session = start_session(&app, "zed").await;
    let ticket = app.create_ticket(1, "Talk").await;
    let body = json!({"ticket_id": ticket["id"], "text": "Hello"});

    let by_cookie = app
        .request(Method::POST, "/api/comments/")
        .header("Cookie", cookie_for(&session))
        .header("X-Username", "carol")
        .json(&body)
        .send()
        .await
        .expect("POST");
    let by_header = app
        .request(Method::POST, "/api/comments/")
        .header("X-Session-Id", session_id(&session))
        .json(&body)
        .send()
        .await
        .expect("POST");

    assert_eq!(by_cookie.status(), StatusCode::CREATED);
    assert_eq!(by_cookie.json::<Value>().await.expect("comment")["author"], "zed", "session wins over X-Username");
    assert_eq!(by_header.status(), StatusCode::CREATED);
    assert_eq!(by_header.json::<Value>().await.expect("comment")["author"], "zed");
}

#[tokio::test]
async fn a_renamed_session_signs_with_its_new_name() {
    let app = spawn_app().await;
    let session = start_session(&app, "zed").await;
    app.request(Method::PUT, SESSION_PATH)
        .header("Cookie", cookie_for(&session))
        .json(&json!({"username": "zoe"}))
        .send()
        .await
        .expect("PUT");
    let ticket = app.create_ticket(1, "Talk").await;

    let resp = app
        .request(Method::POST, "/api/comments/")
        .header("Cookie", cookie_for(&session))
        .json(&json!({"ticket_id": ticket["id"], "text": "Hi"}))
        .send()
        .await
        .expect("POST");

    assert_eq!(resp.json::<Value>().await.expect("comment")["author"], "zoe");
}

async fn last_history_row(app: &TestApp, ticket_id: &Value) -> Value {
    let rows = app.get_json(&format!("/api/history/tickets/{ticket_id}/history?limit=1")).await;
    rows[0].clone()
}

#[tokio::test]
async fn a_session_username_is_recorded_as_changed_by_for_anonymous_changes() {
    let app = spawn_app().await;
    let session = start_session(&app, "zed").await;

    let created = app
        .request(Method::POST, "/api/tickets/")
        .header("Cookie", cookie_for(&session))
        .json(&json!({"board_id": 1, "title": "Labelled"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(created.status(), StatusCode::CREATED);
    let ticket: Value = created.json().await.expect("ticket");
    let status_row = last_history_row(&app, &ticket["id"]).await;
    let moved = app
        .request(Method::POST, &format!("/api/tickets/{}/move", ticket["id"]))
        .header("X-Session-Id", session_id(&session))
        .json(&json!({"column": "Done"}))
        .send()
        .await
        .expect("POST");

    assert_eq!(moved.status(), StatusCode::OK);
    assert_eq!(status_row["changed_by"], "zed");
    let column_row = last_history_row(&app, &ticket["id"]).await;
    assert_eq!(column_row["field_name"], "column");
    assert_eq!(column_row["changed_by"], "zed");
}

#[tokio::test]
async fn the_body_attribution_wins_over_the_session_username() {
    let app = spawn_app().await;
    let session = start_session(&app, "zed").await;
    let ticket = app.create_ticket(1, "Labelled").await;

    let moved = app
        .request(Method::POST, &format!("/api/tickets/{}/move", ticket["id"]))
        .header("Cookie", cookie_for(&session))
        .json(&json!({"column": "Done", "moved_by": "alice"}))
        .send()
        .await
        .expect("POST");

    assert_eq!(moved.status(), StatusCode::OK);
    assert_eq!(last_history_row(&app, &ticket["id"]).await["changed_by"], "alice");
}

#[tokio::test]
async fn the_x_username_header_labels_changes_without_a_session() {
    let app = spawn_app().await;
    let ticket = app.create_ticket(1, "Labelled").await;

    let moved = app
        .request(Method::POST, &format!("/api/tickets/{}/move", ticket["id"]))
        .header("X-Username", "carol")
        .json(&json!({"column": "Done"}))
        .send()
        .await
        .expect("POST");

    assert_eq!(moved.status(), StatusCode::OK);
    assert_eq!(last_history_row(&app, &ticket["id"]).await["changed_by"], "carol");
}

#[tokio::test]
async fn anonymous_changes_without_any_name_are_attributed_to_system() {
    let app = spawn_app().await;
    let ticket = app.create_ticket(1, "Unlabelled").await;

    let moved = app.post(&format!("/api/tickets/{}/move", ticket["id"]), &json!({"column": "Done"})).await;

    assert_eq!(moved.status(), StatusCode::OK);
    assert_eq!(last_history_row(&app, &ticket["id"]).await["changed_by"], "system");
}

#[tokio::test]
async fn an_ended_session_no_longer_labels_actions() {
    let app = spawn_app().await;
    let session = start_session(&app, "zed").await;
    app.request(Method::DELETE, SESSION_PATH).header("Cookie", cookie_for(&session)).send().await.expect("DELETE");
    let ticket = app.create_ticket(1, "Talk").await;

    let resp = app
        .request(Method::POST, "/api/comments/")
        .header("Cookie", cookie_for(&session))
        .json(&json!({"ticket_id": ticket["id"], "text": "Hi"}))
        .send()
        .await
        .expect("POST");

    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.json::<Value>().await.expect("comment")["author"], "anonymous");
}

#[tokio::test]
async fn the_x_username_header_labels_creates_and_updates_without_a_body_name() {
    let app = spawn_app().await;
    let created = app
        .request(Method::POST, "/api/tickets/")
        .header("X-Username", "carol")
        .json(&json!({"board_id": 1, "title": "By carol"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(created.status(), StatusCode::CREATED);
    let ticket: Value = created.json().await.expect("ticket");
    let status_row = last_history_row(&app, &ticket["id"]).await;

    let updated = app
        .request(Method::PUT, &format!("/api/tickets/{}", ticket["id"]))
        .header("X-Username", "dave")
        .json(&json!({"title": "By dave"}))
        .send()
        .await
        .expect("PUT");

    assert_eq!(updated.status(), StatusCode::OK);
    assert_eq!(status_row["changed_by"], "carol");
    let title_row = last_history_row(&app, &ticket["id"]).await;
    assert_eq!(title_row["field_name"], "title");
    assert_eq!(title_row["changed_by"], "dave");
}
