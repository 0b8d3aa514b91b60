//! An admin creates accounts with a role (`POST /api/auth/users`): the registration rules apply,
//! self-registration need not be enabled, and only an admin may call it.

use agent_kanban::config::{AnonymousRole, DefaultRole};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const PASSWORD: &str = "Secret123";

/// A server where a caller without a token has no role at all.
async fn strict_app() -> TestApp {
    spawn_app_with(|cfg| cfg.auth.anonymous_role = AnonymousRole::None).await
}

fn account(username: &str) -> Value {
    json!({ "username": username, "email": format!("{username}@example.com"), "password": PASSWORD })
}

async fn token_of(app: &TestApp, username: &str) -> String {
    let resp = app.post("/api/auth/login", &json!({ "username": username, "password": PASSWORD })).await;
    ok(resp).await["access_token"].as_str().expect("access_token").to_owned()
}

/// Register the first account (an admin) and return its access token.
async fn admin_token(app: &TestApp) -> String {
    let resp = app.post("/api/auth/register", &account("root")).await;
    assert_eq!(resp.status(), StatusCode::CREATED, "the first account");
    token_of(app, "root").await
}

async fn create_user(app: &TestApp, token: &str, body: &Value) -> Response {
    app.request(Method::POST, "/api/auth/users").bearer_auth(token).json(body).send().await.expect("POST")
}

async fn usernames(app: &TestApp, admin: &str) -> Vec<String> {
    let resp = app.request(Method::GET, "/api/auth/users").bearer_auth(admin).send().await.expect("GET");
    let users = ok(resp).await;
    users.as_array().expect("users").iter().map(|u| u["username"].as_str().expect("username").to_owned()).collect()
}

#[tokio::test]
async fn an_admin_creates_a_user_with_a_role_who_can_then_sign_in() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let mut body = account("carol");
    body["username"] = json!(" Carol ");
    body["role"] = json!("pm");

    // Act
    let resp = create_user(&app, &admin, &body).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::CREATED);
    let user: Value = resp.json().await.expect("user body");
    assert_eq!((user["username"].as_str(), user["role"].as_str()), (Some("carol"), Some("pm")));
    assert_eq!((user["is_active"].as_bool(), user["is_superuser"].as_bool()), (Some(true), Some(false)));
    assert!(user["id"].is_i64() && is_api_timestamp(&user["created_at"]) && user["last_login"].is_null(), "{user}");
    assert!(user.get("password").is_none() && user.get("password_hash").is_none(), "{user}");
    let carol = token_of(&app, "carol").await;
    let me = ok(app.request(Method::GET, "/api/auth/me").bearer_auth(&carol).send().await.expect("me")).await;
    assert_eq!(me["role"], "pm");
    assert_eq!(usernames(&app, &admin).await, ["root", "carol"]);
}

#[tokio::test]
async fn an_admin_may_create_another_admin() {
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let mut body = account("dora");
    body["role"] = json!("admin");

    let resp = create_user(&app, &admin, &body).await;

    assert_eq!(resp.status(), StatusCode::CREATED);
    let user: Value = resp.json().await.expect("user body");
    assert_eq!((user["role"].as_str(), user["is_superuser"].as_bool()), (Some("admin"), Some(true)));
}

#[tokio::test]
async fn a_user_created_without_a_role_gets_the_configured_default_role() {
    let app = spawn_app_with(|cfg| {
        cfg.auth.anonymous_role = AnonymousRole::None;
        cfg.auth.default_role = DefaultRole::Agent;
    })
    .await;
    let admin = admin_token(&app).await;

    let mut with_null_role = account("frank");
    with_null_role["role"] = Value::Null;

    for body in [account("erin"), with_null_role] {
        let resp = create_user(&app, &admin, &body).await;

        assert_eq!(resp.status(), StatusCode::CREATED, "{body}");
        let user: Value = resp.json().await.expect("user body");
        assert_eq!(user["role"], "agent", "{user}");
    }
}

#[tokio::test]
async fn admins_create_users_while_self_registration_is_disabled() {
    // Arrange: the admin exists, then the server restarts with registration turned off.
    let mut app = strict_app().await;
    admin_token(&app).await;
    app.config.auth.registration_enabled = false;
    let app = app.restart().await;
    let admin = token_of(&app, "root").await;
    let refused = app.post("/api/auth/register", &account("gina")).await;
    assert_error(refused, StatusCode::FORBIDDEN, "REGISTRATION_DISABLED").await;

    // Act
    let resp = create_user(&app, &admin, &account("gina")).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::CREATED);
    token_of(&app, "gina").await;
}

#[tokio::test]
async fn a_taken_username_or_email_is_a_conflict_and_creates_nothing() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    assert_eq!(create_user(&app, &admin, &account("hank")).await.status(), StatusCode::CREATED);
    let same_name = json!({ "username": "HANK", "email": "other@example.com", "password": PASSWORD });
    let same_email = json!({ "username": "ivan", "email": "Hank@Example.com", "password": PASSWORD });

    // Act
    let by_name = create_user(&app, &admin, &same_name).await;
    let by_email = create_user(&app, &admin, &same_email).await;

    // Assert
    assert_error(by_name, StatusCode::CONFLICT, "USERNAME_TAKEN").await;
    assert_error(by_email, StatusCode::CONFLICT, "EMAIL_TAKEN").await;
    assert_eq!(usernames(&app, &admin).await, ["root", "hank"]);
}

#[tokio::test]
async fn bad_input_is_a_validation_error_naming_each_field_and_creates_nothing() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let with = |field: &str, value: Value| {
        let mut body = account("jane");
        body[field] = value;
        body
    };
    let cases = [
        (with("username", json!("jo")), "body.username", "string_too_short"),
        (with("username", json!("system")), "body.username", "invalid_value"),
        (with("email", json!("not-an-email")), "body.email", "invalid_value"),
        (with("password", json!("weakpass")), "body.password", "invalid_value"),
        (with("role", json!("superuser")), "body.role", "invalid_value"),
        (with("role", json!(3)), "body.role", "invalid_type"),
        (json!({ "email": "jane@example.com", "password": PASSWORD }), "body.username", "missing"),
        (json!([]), "body", "invalid_type"),
    ];

    for (body, field, kind) in cases {
        // Act
        let resp = create_user(&app, &admin, &body).await;

        // Assert
        assert_validation(resp, field, kind).await;
    }
    let malformed = app
        .request(Method::POST, "/api/auth/users")
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .expect("POST");
    assert_eq!(malformed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(usernames(&app, &admin).await, ["root"]);
}

#[tokio::test]
async fn without_a_token_creating_a_user_is_unauthorized() {
    let app = strict_app().await;
    let admin = admin_token(&app).await;

    let resp = app.post("/api/auth/users", &account("kate")).await;

    assert_error(resp, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert_eq!(usernames(&app, &admin).await, ["root"]);
}

#[tokio::test]
async fn anonymous_pm_callers_cannot_create_users_either() {
    let app = spawn_app().await;
    let admin = admin_token(&app).await;

    let resp = app.post("/api/auth/users", &account("kate")).await;

    assert_error(resp, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert_eq!(usernames(&app, &admin).await, ["root"]);
}

#[tokio::test]
async fn a_non_admin_may_not_create_users() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let mut pm = account("liam");
    pm["role"] = json!("pm");
    assert_eq!(create_user(&app, &admin, &pm).await.status(), StatusCode::CREATED);
    let pm_token = token_of(&app, "liam").await;

    // Act
    let resp = create_user(&app, &pm_token, &account("mia")).await;

    // Assert
    let body = assert_error(resp, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    assert_eq!(body["detail"], "Requires role admin or higher");
    assert_eq!(usernames(&app, &admin).await, ["root", "liam"]);
}

#[tokio::test]
async fn the_operation_is_documented_as_admin_only_with_its_body_and_answers() {
    let app = spawn_app().await;

    let doc = app.get_json("/openapi.json").await;

    let op = &doc["paths"]["/api/auth/users"]["post"];
    assert_eq!(op["security"], json!([{"bearerAuth": ["admin"]}]), "{op}");
    for status in ["201", "401", "403", "409", "422"] {
        assert!(op["responses"].get(status).is_some(), "{status} missing in {op}");
    }
    let schema = &doc["components"]["schemas"]["CreateUserRequest"];
    let required: Vec<&str> =
        schema["required"].as_array().expect("required").iter().filter_map(Value::as_str).collect();
    assert_eq!(required, ["username", "email", "password"], "{schema}");
    assert!(schema["properties"]["role"].is_object(), "{schema}");
}
