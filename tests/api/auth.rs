//! Tests for accounts and tokens (`auth.md`, `api.md` §3): registration, login, refresh rotation and
//! reuse detection, logout, the caller's own account, user administration, forged and misused
//! tokens, the persisted signing secret and the `create-admin` subcommand.
//!
//! Most servers here run with `auth.anonymous_role = none` so that an accepted request proves the
//! token was accepted. The token-attack tests deliberately keep anonymous `pm` access on: a bad token
//! must be refused with 401, never downgraded to an anonymous caller who could still create a board.

use std::collections::BTreeSet;

use agent_kanban::config::{AnonymousRole, DefaultRole, Secret};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// The signing secret of servers whose tokens the tests forge (≥ 32 bytes).
const SECRET: &str = "an-integration-test-secret-of-more-than-32-bytes";
const PASSWORD: &str = "Secret123";

// ---------------------------------------------------------------------------------------------
// Local helpers
// ---------------------------------------------------------------------------------------------

/// A server where a caller without a token has no role at all.
async fn strict_app() -> TestApp {
    spawn_app_with(|cfg| cfg.auth.anonymous_role = AnonymousRole::None).await
}

/// A strict server signing with [`SECRET`], so tests can forge tokens.
async fn keyed_app() -> TestApp {
    spawn_app_with(|cfg| {
        cfg.auth.anonymous_role = AnonymousRole::None;
        cfg.auth.jwt_secret = Secret::new(SECRET);
    })
    .await
}

fn registration(username: &str) -> Value {
    json!({ "username": username, "email": format!("{username}@example.com"), "password": PASSWORD })
}

fn authed(app: &TestApp, method: Method, path: &str, token: &str) -> RequestBuilder {
    app.request(method, path).bearer_auth(token)
}

/// Register `username` anonymously with [`PASSWORD`] and return the User.
async fn register(app: &TestApp, username: &str) -> Value {
    let resp = app.post("/api/auth/register", &registration(username)).await;
    assert_eq!(resp.status(), StatusCode::CREATED, "register {username}");
    resp.json().await.expect("user body")
}

async fn login_response(app: &TestApp, username: &str, password: &str) -> Response {
    app.post("/api/auth/login", &json!({ "username": username, "password": password })).await
}

/// Log in and return the Token body.
async fn login(app: &TestApp, username: &str, password: &str) -> Value {
    let resp = login_response(app, username, password).await;
    assert_eq!(resp.status(), StatusCode::OK, "login {username}");
    resp.json().await.expect("token body")
}

fn access(tokens: &Value) -> String {
    tokens["access_token"].as_str().expect("access_token").to_owned()
}

fn refresh_token(tokens: &Value) -> String {
    tokens["refresh_token"].as_str().expect("refresh_token").to_owned()
}

/// Register the first user (an admin) and return their access token.
async fn admin_token(app: &TestApp) -> String {
    let user = register(app, "root").await;
    assert_eq!(user["role"], "admin", "the first user is admin");
    access(&login(app, "root", PASSWORD).await)
}

/// Register `username` (after the admin exists), give them `role` and return (user id, access token).
async fn user_with_role(app: &TestApp, admin: &str, username: &str, role: &str) -> (i64, String) {
    let id = id_of(&register(app, username).await);
    if role != "viewer" {
        let resp = put_user(app, admin, id, &json!({ "role": role })).await;
        assert_eq!(resp.status(), StatusCode::OK, "set role {role}");
    }
    (id, access(&login(app, username, PASSWORD).await))
}

async fn post_refresh(app: &TestApp, token: &str) -> Response {
    app.post("/api/auth/refresh", &json!({ "refresh_token": token })).await
}

async fn me(app: &TestApp, token: &str) -> Response {
    authed(app, Method::GET, "/api/auth/me", token).send().await.expect("GET me")
}

async fn put_me(app: &TestApp, token: &str, body: &Value) -> Response {
    authed(app, Method::PUT, "/api/auth/me", token).json(body).send().await.expect("PUT me")
}

async fn put_user(app: &TestApp, token: &str, id: i64, body: &Value) -> Response {
    authed(app, Method::PUT, &format!("/api/auth/users/{id}"), token).json(body).send().await.expect("PUT user")
}

async fn delete_user(app: &TestApp, token: &str, id: i64) -> Response {
    authed(app, Method::DELETE, &format!("/api/auth/users/{id}"), token).send().await.expect("DELETE user")
}

async fn list_users(app: &TestApp, token: &str) -> Vec<Value> {
    let resp = authed(app, Method::GET, "/api/auth/users", token).send().await.expect("GET users");
    assert_eq!(resp.status(), StatusCode::OK, "list users");
    resp.json::<Value>().await.expect("users").as_array().expect("user array").clone()
}

async fn logout(app: &TestApp, token: &str) -> Response {
    authed(app, Method::POST, "/api/auth/logout", token).send().await.expect("logout")
}

async fn create_board_with(app: &TestApp, token: &str, name: &str) -> Response {
    authed(app, Method::POST, "/api/boards/", token).json(&json!({ "name": name })).send().await.expect("POST board")
}

fn id_of(value: &Value) -> i64 {
    value["id"].as_i64().expect("integer id")
}

/// An RFC 3339 UTC timestamp with exactly millisecond precision (`api.md` 1.3).
/// Assert the User shape of `api.md` 1.14.
fn assert_user_shape(user: &Value) {
    let keys: BTreeSet<&str> = user.as_object().expect("user object").keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> =
        ["id", "username", "email", "role", "is_active", "is_superuser", "created_at", "updated_at", "last_login"]
            .into();
    assert_eq!(keys, expected, "User keys in {user}");
    assert!(user["id"].as_i64().is_some_and(|id| id > 0), "positive id in {user}");
    assert!(user["is_active"].is_boolean() && user["is_superuser"].is_boolean());
    assert_eq!(user["is_superuser"], user["role"] == "admin", "is_superuser = role == admin in {user}");
    assert!(is_api_timestamp(&user["created_at"]) && is_api_timestamp(&user["updated_at"]), "timestamps in {user}");
    assert!(user["last_login"].is_null() || is_api_timestamp(&user["last_login"]), "last_login in {user}");
}

/// The error body without the fields that differ per response.
fn without_error_identity(mut body: Value) -> Value {
    let error = body["error"].as_object_mut().expect("error object");
    error.remove("error_id");
    error.remove("timestamp");
    body
}

fn assert_www_authenticate(resp: &Response) {
    let value = resp.headers().get("www-authenticate").and_then(|v| v.to_str().ok());
    assert_eq!(value, Some("Bearer"), "WWW-Authenticate on a 401");
}

/// Assert a 401 `UNAUTHORIZED` with `WWW-Authenticate: Bearer`.
async fn assert_unauthorized(resp: Response) -> Value {
    assert_www_authenticate(&resp);
    assert_error(resp, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await
}

/// Assert a 422 whose validation errors name `field` (any type).
async fn assert_validation_field(resp: Response, field: &str) -> Value {
    let body = assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    let errors = body["error"]["validation_errors"].as_array().expect("validation_errors");
    assert!(errors.iter().any(|e| e["field"] == field), "expected a {field} error in {body}");
    body
}

/// The validation errors of `body` on `field`.
fn errors_on<'a>(body: &'a Value, field: &str) -> Vec<&'a Value> {
    let errors = body["error"]["validation_errors"].as_array().expect("validation_errors");
    errors.iter().filter(|e| e["field"] == field).collect()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims the server issues, for user `sub`, valid from now for half an hour.
fn claims(sub: i64, username: &str, role: &str, typ: &str) -> Value {
    let now = now();
    json!({
        "sub": sub.to_string(), "username": username, "role": role,
        "iat": now, "nbf": now, "exp": now + 1800,
        "jti": uuid::Uuid::new_v4().to_string(), "typ": typ, "fam": uuid::Uuid::new_v4().to_string(),
    })
}

fn sign(claims: &Value, alg: Algorithm, secret: &str) -> String {
    encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret.as_bytes())).expect("encode jwt")
}

fn decode_claims(token: &str) -> Value {
    jsonwebtoken::dangerous::insecure_decode_claims::<Value>(token).expect("jwt claims")
}

/// Unpadded base64url (RFC 4648 §5), as JWT segments use.
fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn b64_json(value: &Value) -> String {
    b64url(&serde_json::to_vec(value).expect("json"))
}

/// The number of boards, as an anonymous `pm` caller sees them.
async fn board_count(app: &TestApp) -> usize {
    app.get_json("/api/boards/").await.as_array().expect("board array").len()
}

/// A server with anonymous `pm` access and the known secret, its admin's id and the admin's token.
async fn attack_target() -> (TestApp, i64, String) {
    let app = spawn_app_with(|cfg| cfg.auth.jwt_secret = Secret::new(SECRET)).await;
    let admin = register(&app, "root").await;
    let token = access(&login(&app, "root", PASSWORD).await);
    (app, id_of(&admin), token)
}

/// Send `authorization` on a board creation: it must be refused with 401 and create nothing.
async fn assert_board_creation_refused(app: &TestApp, authorization: &str) {
    let before = board_count(app).await;
    let resp = app
        .request(Method::POST, "/api/boards/")
        .header("Authorization", authorization)
        .json(&json!({ "name": "Forged" }))
        .send()
        .await
        .expect("POST board");
    assert_unauthorized(resp).await;
    assert_eq!(board_count(app).await, before, "no board was created");
}

/// The `agent-kanban` binary with only the configuration the test gives it.
fn kanban_command(config_dir: &std::path::Path, db_path: &std::path::Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_agent-kanban"));
    cmd.env_clear().env("KANBAN_CONFIG_DIR", config_dir).env("KANBAN__DATABASE__PATH", db_path);
    cmd
}

async fn create_admin(config_dir: &std::path::Path, db_path: &std::path::Path, password: &str) -> std::process::Output {
    kanban_command(config_dir, db_path)
        .args(["create-admin", "--username", "Chief", "--password", password, "--email", "chief@example.com"])
        .output()
        .await
        .expect("run create-admin")
}

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_first_user_ever_becomes_an_admin() {
    // Arrange
    let app = strict_app().await;

    // Act
    let resp = app.post("/api/auth/register", &registration("alice")).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::CREATED);
    let user: Value = resp.json().await.expect("user body");
    assert_user_shape(&user);
    assert_eq!(user["username"], "alice");
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["role"], "admin");
    assert_eq!(user["is_superuser"], true);
    assert_eq!(user["is_active"], true);
    assert_eq!(user["last_login"], Value::Null);
}

#[tokio::test]
async fn later_users_get_the_default_role_viewer() {
    // Arrange
    let app = strict_app().await;
    register(&app, "root").await;

    // Act
    let user = register(&app, "bob").await;

    // Assert
    assert_user_shape(&user);
    assert_eq!(user["role"], "viewer");
    assert_eq!(user["is_superuser"], false);
}

#[tokio::test]
async fn later_users_get_the_configured_default_role() {
    // Arrange
    let app = spawn_app_with(|cfg| cfg.auth.default_role = DefaultRole::Agent).await;
    register(&app, "root").await;

    // Act
    let user = register(&app, "bob").await;

    // Assert
    assert_eq!(user["role"], "agent");
}

#[tokio::test]
async fn a_role_in_the_body_is_ignored_for_anonymous_callers() {
    // Arrange: anonymous callers act as pm on this server, which is still not an admin token.
    let app = spawn_app().await;
    register(&app, "root").await;
    let mut body = registration("bob");
    body["role"] = json!("admin");

    // Act
    let resp = app.post("/api/auth/register", &body).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::CREATED);
    let user: Value = resp.json().await.expect("user body");
    assert_eq!(user["role"], "viewer");
}

#[tokio::test]
async fn a_role_in_the_body_is_ignored_for_a_non_admin_caller() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let (_, pm) = user_with_role(&app, &admin, "bob", "pm").await;
    let mut body = registration("carol");
    body["role"] = json!("admin");

    // Act
    let resp = authed(&app, Method::POST, "/api/auth/register", &pm).json(&body).send().await.expect("register");

    // Assert
    assert_eq!(resp.status(), StatusCode::CREATED);
    let user: Value = resp.json().await.expect("user body");
    assert_eq!(user["role"], "viewer");
}

#[tokio::test]
async fn a_role_in_the_body_is_honoured_for_an_admin_caller() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let mut body = registration("bob");
    body["role"] = json!("pm");

    // Act
    let resp = authed(&app, Method::POST, "/api/auth/register", &admin).json(&body).send().await.expect("register");

    // Assert
    assert_eq!(resp.status(), StatusCode::CREATED);
    let user: Value = resp.json().await.expect("user body");
    assert_eq!(user["role"], "pm");
    assert_eq!(user["is_superuser"], false);
}

#[tokio::test]
async fn registration_treats_an_invalid_token_as_absent() {
    // Arrange
    let app = strict_app().await;
    register(&app, "root").await;
    let mut body = registration("bob");
    body["role"] = json!("admin");

    // Act
    let resp = authed(&app, Method::POST, "/api/auth/register", "not-a-jwt").json(&body).send().await.expect("reg");

    // Assert: a public route never fails because of a bad token; the role is not honoured.
    assert_eq!(resp.status(), StatusCode::CREATED);
    let user: Value = resp.json().await.expect("user body");
    assert_eq!(user["role"], "viewer");
}

#[tokio::test]
async fn usernames_and_emails_are_trimmed_and_lowercased() {
    // Arrange
    let app = strict_app().await;
    let body = json!({ "username": "  Alice_O-1 ", "email": " Alice@Example.COM ", "password": PASSWORD });

    // Act
    let resp = app.post("/api/auth/register", &body).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::CREATED);
    let user: Value = resp.json().await.expect("user body");
    assert_eq!(user["username"], "alice_o-1");
    assert_eq!(user["email"], "alice@example.com");
}

#[tokio::test]
async fn usernames_with_characters_outside_the_allowed_set_are_rejected() {
    let app = strict_app().await;
    for username in ["al ice", "alice!", "al.ice", "élan", "bob@home"] {
        // Arrange
        let body = json!({ "username": username, "email": "x@example.com", "password": PASSWORD });

        // Act
        let resp = app.post("/api/auth/register", &body).await;

        // Assert
        assert_validation(resp, "body.username", "invalid_value").await;
    }
}

#[tokio::test]
async fn usernames_outside_3_to_50_characters_are_rejected() {
    // Arrange
    let app = strict_app().await;
    let short = json!({ "username": " ab ", "email": "x@example.com", "password": PASSWORD });
    let long = json!({ "username": "a".repeat(51), "email": "x@example.com", "password": PASSWORD });
    let longest = json!({ "username": "a".repeat(50), "email": "x@example.com", "password": PASSWORD });

    // Act
    let short_resp = app.post("/api/auth/register", &short).await;
    let long_resp = app.post("/api/auth/register", &long).await;
    let longest_resp = app.post("/api/auth/register", &longest).await;

    // Assert
    assert_validation(short_resp, "body.username", "string_too_short").await;
    assert_validation(long_resp, "body.username", "string_too_long").await;
    assert_eq!(longest_resp.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn reserved_usernames_are_rejected() {
    let app = strict_app().await;
    for username in ["anonymous", " System ", "ANONYMOUS"] {
        // Arrange
        let body = json!({ "username": username, "email": "x@example.com", "password": PASSWORD });

        // Act
        let resp = app.post("/api/auth/register", &body).await;

        // Assert
        assert_validation(resp, "body.username", "invalid_value").await;
    }
}

#[tokio::test]
async fn malformed_email_addresses_are_rejected() {
    let app = strict_app().await;
    let too_long = format!("{}@example.com", "a".repeat(243));
    let cases =
        ["bob", "bob@@example.com", "bob@ex@ample.com", "@example.com", "bob@example", "bob smith@example.com", ""];
    for email in cases.iter().copied().chain([too_long.as_str()]) {
        // Arrange
        let body = json!({ "username": "bob", "email": email, "password": PASSWORD });

        // Act
        let resp = app.post("/api/auth/register", &body).await;

        // Assert
        assert_validation_field(resp, "body.email").await;
    }
}

#[tokio::test]
async fn an_email_of_254_characters_is_accepted() {
    // Arrange
    let app = strict_app().await;
    let email = format!("{}@example.com", "a".repeat(242));
    assert_eq!(email.len(), 254);

    // Act
    let resp =
        app.post("/api/auth/register", &json!({ "username": "bob", "email": email, "password": PASSWORD })).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn each_violated_password_rule_is_its_own_validation_error() {
    let app = strict_app().await;
    let too_long = format!("A1{}", "a".repeat(127));
    let cases: [(&str, usize); 7] = [
        ("Short1A", 1),         // 7 characters
        ("alllowercase1", 1),   // no uppercase letter
        ("ALLUPPERCASE1", 1),   // no lowercase letter
        ("NoDigitsHere", 1),    // no digit
        ("Secret١٢٣", 1),       // Arabic-Indic digits are not ASCII digits
        ("abc", 3),             // too short, no uppercase, no digit
        (too_long.as_str(), 1), // 129 characters
    ];
    for (password, expected) in cases {
        // Arrange
        let body = json!({ "username": "bob", "email": "bob@example.com", "password": password });

        // Act
        let resp = app.post("/api/auth/register", &body).await;

        // Assert
        let body = assert_validation(resp, "body.password", "invalid_value").await;
        let errors = errors_on(&body, "body.password");
        assert_eq!(errors.len(), expected, "password {password:?}: {body}");
        assert!(errors.iter().all(|e| e["type"] == "invalid_value"), "{body}");
    }
}

#[tokio::test]
async fn passwords_at_the_limits_and_with_unicode_letters_are_accepted() {
    let app = strict_app().await;
    let longest = format!("A1{}", "a".repeat(126));
    for (i, password) in ["Abcdefg1", "ÄÖÜäöü12", longest.as_str()].into_iter().enumerate() {
        // Arrange
        let body =
            json!({ "username": format!("user{i}"), "email": format!("u{i}@example.com"), "password": password });

        // Act
        let resp = app.post("/api/auth/register", &body).await;

        // Assert
        assert_eq!(resp.status(), StatusCode::CREATED, "password {password:?}");
    }
}

#[tokio::test]
async fn each_missing_registration_field_is_reported() {
    let app = strict_app().await;
    for field in ["username", "email", "password"] {
        // Arrange
        let mut body = registration("bob");
        body.as_object_mut().expect("object").remove(field);

        // Act
        let resp = app.post("/api/auth/register", &body).await;

        // Assert
        assert_validation(resp, &format!("body.{field}"), "missing").await;
    }
}

#[tokio::test]
async fn an_unknown_role_in_the_body_is_a_validation_error() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let mut body = registration("bob");
    body["role"] = json!("superuser");

    // Act
    let resp = authed(&app, Method::POST, "/api/auth/register", &admin).json(&body).send().await.expect("register");

    // Assert
    assert_validation_field(resp, "body.role").await;
    assert_eq!(list_users(&app, &admin).await.len(), 1, "no account was created");
}

#[tokio::test]
async fn a_duplicate_username_is_a_conflict() {
    // Arrange
    let app = strict_app().await;
    register(&app, "alice").await;
    let body = json!({ "username": " ALICE ", "email": "other@example.com", "password": PASSWORD });

    // Act
    let resp = app.post("/api/auth/register", &body).await;

    // Assert
    assert_error(resp, StatusCode::CONFLICT, "USERNAME_TAKEN").await;
    let admin = access(&login(&app, "alice", PASSWORD).await);
    let users = list_users(&app, &admin).await;
    assert_eq!(users.len(), 1, "no second account in {users:?}");
    assert_eq!(users[0]["email"], "alice@example.com");
}

#[tokio::test]
async fn a_duplicate_email_is_a_conflict() {
    // Arrange
    let app = strict_app().await;
    register(&app, "alice").await;
    let body = json!({ "username": "bob", "email": "ALICE@example.com", "password": PASSWORD });

    // Act
    let resp = app.post("/api/auth/register", &body).await;

    // Assert
    assert_error(resp, StatusCode::CONFLICT, "EMAIL_TAKEN").await;
    assert_error(login_response(&app, "bob", PASSWORD).await, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS").await;
}

#[tokio::test]
async fn registration_can_be_disabled() {
    // Arrange
    let app = spawn_app_with(|cfg| cfg.auth.registration_enabled = false).await;

    // Act
    let resp = app.post("/api/auth/register", &registration("alice")).await;

    // Assert
    assert_error(resp, StatusCode::FORBIDDEN, "REGISTRATION_DISABLED").await;
    let login = login_response(&app, "alice", PASSWORD).await;
    assert_error(login, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS").await;
}

// ---------------------------------------------------------------------------------------------
// Login
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn login_returns_a_bearer_token_pair() {
    // Arrange
    let app = strict_app().await;
    let user = register(&app, "alice").await;

    // Act
    let resp = login_response(&app, "alice", PASSWORD).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    let tokens: Value = resp.json().await.expect("token body");
    let keys: BTreeSet<&str> = tokens.as_object().expect("object").keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> =
        ["access_token", "refresh_token", "token_type", "expires_in", "refresh_expires_in"].into();
    assert_eq!(keys, expected, "Token keys in {tokens}");
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], 1800);
    assert_eq!(tokens["refresh_expires_in"], 604_800);
    assert_ne!(tokens["access_token"], tokens["refresh_token"]);
    let me = me(&app, &access(&tokens)).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.json::<Value>().await.expect("user")["id"], user["id"]);
}

#[tokio::test]
async fn issued_tokens_carry_the_specified_header_and_claims() {
    // Arrange
    let app = strict_app().await;
    let user = register(&app, "alice").await;

    // Act
    let tokens = login(&app, "alice", PASSWORD).await;

    // Assert
    let (access_token, refresh) = (access(&tokens), refresh_token(&tokens));
    for token in [&access_token, &refresh] {
        let header = jsonwebtoken::decode_header(token).expect("jwt header");
        assert_eq!(header.alg, Algorithm::HS256);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
    }
    let (a, r) = (decode_claims(&access_token), decode_claims(&refresh));
    assert_eq!(a["typ"], "access");
    assert_eq!(r["typ"], "refresh");
    for c in [&a, &r] {
        assert_eq!(c["sub"], user["id"].to_string(), "sub is the decimal user id in {c}");
        assert_eq!(c["username"], "alice");
        assert_eq!(c["role"], "admin");
        assert_eq!(c["nbf"], c["iat"], "nbf equals iat in {c}");
        let jti = c["jti"].as_str().expect("jti");
        assert_eq!(uuid::Uuid::parse_str(jti).map(|u| u.get_version_num()).ok(), Some(4), "jti is a UUID v4");
    }
    assert_eq!(a["fam"], r["fam"], "both tokens name the same family");
    assert_ne!(a["jti"], r["jti"]);
    assert_eq!(a["exp"].as_i64().zip(a["iat"].as_i64()).map(|(e, i)| e - i), Some(1800));
    assert_eq!(r["exp"].as_i64().zip(r["iat"].as_i64()).map(|(e, i)| e - i), Some(604_800));
}

#[tokio::test]
async fn expires_in_follows_the_configured_access_lifetime() {
    // Arrange
    let app = spawn_app_with(|cfg| cfg.auth.access_token_ttl_minutes = 5).await;
    register(&app, "alice").await;

    // Act
    let tokens = login(&app, "alice", PASSWORD).await;

    // Assert
    assert_eq!(tokens["expires_in"], 300);
    let claims = decode_claims(&access(&tokens));
    assert_eq!(claims["exp"].as_i64().zip(claims["iat"].as_i64()).map(|(e, i)| e - i), Some(300));
}

#[tokio::test]
async fn login_records_the_last_login() {
    // Arrange
    let app = strict_app().await;
    let registered = register(&app, "alice").await;
    assert_eq!(registered["last_login"], Value::Null);

    // Act
    let tokens = login(&app, "alice", PASSWORD).await;

    // Assert
    let me: Value = me(&app, &access(&tokens)).await.json().await.expect("user");
    assert!(is_api_timestamp(&me["last_login"]), "last_login set in {me}");
}

#[tokio::test]
async fn unknown_users_and_wrong_passwords_get_the_same_401() {
    // Arrange
    let app = strict_app().await;
    register(&app, "alice").await;

    // Act
    let unknown = login_response(&app, "nobody", PASSWORD).await;
    let wrong = login_response(&app, "alice", "Wrong1234").await;

    // Assert
    assert_www_authenticate(&unknown);
    assert_www_authenticate(&wrong);
    let unknown = assert_error(unknown, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS").await;
    let wrong = assert_error(wrong, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS").await;
    assert_eq!(unknown["error"]["message"], "Incorrect username or password");
    assert_eq!(without_error_identity(unknown), without_error_identity(wrong));
}

#[tokio::test]
async fn a_deactivated_user_with_the_right_password_is_refused_as_inactive() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let bob = id_of(&register(&app, "bob").await);
    assert_eq!(put_user(&app, &admin, bob, &json!({ "is_active": false })).await.status(), StatusCode::OK);

    // Act
    let right = login_response(&app, "bob", PASSWORD).await;
    let wrong = login_response(&app, "bob", "Wrong1234").await;

    // Assert: the account state is revealed only after a correct password.
    assert_error(right, StatusCode::FORBIDDEN, "ACCOUNT_INACTIVE").await;
    assert_error(wrong, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS").await;
}

#[tokio::test]
async fn login_ignores_a_malformed_authorization_header() {
    // Arrange: login is public, so a bad token counts as absent.
    let app = strict_app().await;
    register(&app, "alice").await;

    // Act
    let resp = app
        .request(Method::POST, "/api/auth/login")
        .header("Authorization", "Basic xyz")
        .json(&json!({ "username": "alice", "password": PASSWORD }))
        .send()
        .await
        .expect("login");

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn login_trims_and_lowercases_the_username() {
    // Arrange
    let app = strict_app().await;
    register(&app, "alice").await;

    // Act
    let resp = login_response(&app, "  ALICE ", PASSWORD).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn login_without_a_password_is_a_validation_error() {
    // Arrange
    let app = strict_app().await;

    // Act
    let resp = app.post("/api/auth/login", &json!({ "username": "alice" })).await;

    // Assert
    assert_validation(resp, "body.password", "missing").await;
}

// ---------------------------------------------------------------------------------------------
// Refresh
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn refresh_returns_a_new_pair_in_the_same_family() {
    // Arrange
    let app = strict_app().await;
    register(&app, "alice").await;
    let first = login(&app, "alice", PASSWORD).await;

    // Act
    let resp = post_refresh(&app, &refresh_token(&first)).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    let second: Value = resp.json().await.expect("token body");
    assert_eq!(second["token_type"], "bearer");
    assert_eq!(second["expires_in"], 1800);
    assert_eq!(second["refresh_expires_in"], 604_800);
    assert_ne!(second["access_token"], first["access_token"]);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(decode_claims(&refresh_token(&second))["fam"], decode_claims(&refresh_token(&first))["fam"]);
    assert_eq!(me(&app, &access(&second)).await.status(), StatusCode::OK);
    assert_eq!(post_refresh(&app, &refresh_token(&second)).await.status(), StatusCode::OK, "the new one rotates");
}

#[tokio::test]
async fn reusing_a_refresh_token_revokes_its_whole_family() {
    // Arrange
    let app = strict_app().await;
    register(&app, "alice").await;
    let other_session = login(&app, "alice", PASSWORD).await;
    let first = login(&app, "alice", PASSWORD).await;
    let second: Value = post_refresh(&app, &refresh_token(&first)).await.json().await.expect("rotated");

    // Act
    let reuse = post_refresh(&app, &refresh_token(&first)).await;

    // Assert
    assert_www_authenticate(&reuse);
    assert_error(reuse, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
    let newest = post_refresh(&app, &refresh_token(&second)).await;
    assert_error(newest, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
    let other = post_refresh(&app, &refresh_token(&other_session)).await;
    assert_eq!(other.status(), StatusCode::OK, "another login's family is unaffected");
}

#[tokio::test]
async fn an_access_token_is_not_a_refresh_token() {
    // Arrange
    let app = strict_app().await;
    register(&app, "alice").await;
    let tokens = login(&app, "alice", PASSWORD).await;

    // Act
    let resp = post_refresh(&app, &access(&tokens)).await;

    // Assert
    assert_error(resp, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
    assert_eq!(post_refresh(&app, &refresh_token(&tokens)).await.status(), StatusCode::OK, "nothing was used up");
}

#[tokio::test]
async fn a_garbage_refresh_token_is_rejected() {
    // Arrange
    let app = strict_app().await;

    // Act
    let resp = post_refresh(&app, "definitely.not.a-jwt").await;

    // Assert
    assert_error(resp, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
}

#[tokio::test]
async fn a_refresh_token_signed_with_another_key_is_rejected() {
    // Arrange
    let app = keyed_app().await;
    let user = register(&app, "alice").await;
    let forged = sign(&claims(id_of(&user), "alice", "admin", "refresh"), Algorithm::HS256, &SECRET.repeat(2));

    // Act
    let resp = post_refresh(&app, &forged).await;

    // Assert
    assert_error(resp, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
}

#[tokio::test]
async fn a_well_signed_refresh_token_that_was_never_issued_is_rejected() {
    // Arrange: signed with the server's secret, but its hash is not stored.
    let app = keyed_app().await;
    let user = register(&app, "alice").await;
    let forged = sign(&claims(id_of(&user), "alice", "admin", "refresh"), Algorithm::HS256, SECRET);

    // Act
    let resp = post_refresh(&app, &forged).await;

    // Assert
    assert_error(resp, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
}

#[tokio::test]
async fn refresh_without_a_token_is_a_validation_error() {
    // Arrange
    let app = strict_app().await;

    // Act
    let resp = app.post("/api/auth/refresh", &json!({})).await;

    // Assert
    assert_validation(resp, "body.refresh_token", "missing").await;
}

// ---------------------------------------------------------------------------------------------
// Logout
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn logout_ends_the_session_of_its_token() {
    // Arrange
    let app = strict_app().await;
    register(&app, "alice").await;
    let other_session = login(&app, "alice", PASSWORD).await;
    let tokens = login(&app, "alice", PASSWORD).await;

    // Act: no body at all (the body is ignored).
    let resp = logout(&app, &access(&tokens)).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.expect("message"), json!({ "message": "Successfully logged out" }));
    assert_unauthorized(me(&app, &access(&tokens)).await).await;
    assert_error(post_refresh(&app, &refresh_token(&tokens)).await, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
    assert_eq!(me(&app, &access(&other_session)).await.status(), StatusCode::OK, "other sessions live on");
    assert_eq!(post_refresh(&app, &refresh_token(&other_session)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn logout_also_revokes_refresh_tokens_rotated_from_the_login() {
    // Arrange: the access token comes from the login, the live refresh token from a rotation.
    let app = strict_app().await;
    register(&app, "alice").await;
    let tokens = login(&app, "alice", PASSWORD).await;
    let rotated: Value = post_refresh(&app, &refresh_token(&tokens)).await.json().await.expect("rotated");

    // Act
    let resp = logout(&app, &access(&tokens)).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    assert_error(post_refresh(&app, &refresh_token(&rotated)).await, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
}

#[tokio::test]
async fn logout_requires_a_token_even_when_anonymous_callers_are_pm() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let resp = app.request(Method::POST, "/api/auth/logout").send().await.expect("logout");

    // Assert
    assert_unauthorized(resp).await;
}

// ---------------------------------------------------------------------------------------------
// Own account
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn me_returns_the_caller() {
    // Arrange
    let app = strict_app().await;
    register(&app, "root").await;
    let bob = register(&app, "bob").await;
    let token = access(&login(&app, "bob", PASSWORD).await);

    // Act
    let resp = me(&app, &token).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    let user: Value = resp.json().await.expect("user");
    assert_user_shape(&user);
    assert_eq!(user["id"], bob["id"]);
    assert_eq!(user["username"], "bob");
    assert_eq!(user["role"], "viewer");
}

#[tokio::test]
async fn me_without_a_token_is_unauthorized() {
    // Arrange
    let app = strict_app().await;

    // Act
    let resp = app.get("/api/auth/me").await;

    // Assert
    assert_unauthorized(resp).await;
}

#[tokio::test]
async fn anonymous_callers_never_use_own_account_routes() {
    // Arrange: anonymous callers act as pm here.
    let app = spawn_app().await;

    // Act
    let get = app.get("/api/auth/me").await;
    let put = app.put("/api/auth/me", &json!({ "email": "anon@example.com" })).await;

    // Assert
    assert_unauthorized(get).await;
    assert_unauthorized(put).await;
}

#[tokio::test]
async fn a_user_can_change_their_email() {
    // Arrange
    let app = strict_app().await;
    register(&app, "alice").await;
    let token = access(&login(&app, "alice", PASSWORD).await);

    // Act
    let resp = put_me(&app, &token, &json!({ "email": " Alice.New@Example.com " })).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    let user: Value = resp.json().await.expect("user");
    assert_user_shape(&user);
    assert_eq!(user["email"], "alice.new@example.com");
    let stored: Value = me(&app, &token).await.json().await.expect("user");
    assert_eq!(stored["email"], "alice.new@example.com");
}

#[tokio::test]
async fn changing_to_a_taken_email_is_a_conflict() {
    // Arrange
    let app = strict_app().await;
    register(&app, "root").await;
    register(&app, "bob").await;
    let token = access(&login(&app, "bob", PASSWORD).await);

    // Act
    let resp = put_me(&app, &token, &json!({ "email": "ROOT@example.com" })).await;

    // Assert
    assert_error(resp, StatusCode::CONFLICT, "EMAIL_TAKEN").await;
    let stored: Value = me(&app, &token).await.json().await.expect("user");
    assert_eq!(stored["email"], "bob@example.com");
}

#[tokio::test]
async fn changing_to_a_malformed_email_is_a_validation_error() {
    // Arrange
    let app = strict_app().await;
    register(&app, "alice").await;
    let token = access(&login(&app, "alice", PASSWORD).await);

    // Act
    let resp = put_me(&app, &token, &json!({ "email": "not-an-email" })).await;

    // Assert
    assert_validation_field(resp, "body.email").await;
}

#[tokio::test]
async fn a_password_change_without_the_current_password_is_rejected() {
    // Arrange
    let app = strict_app().await;
    register(&app, "alice").await;
    let token = access(&login(&app, "alice", PASSWORD).await);

    // Act
    let resp = put_me(&app, &token, &json!({ "password": "Brandnew42" })).await;

    // Assert
    assert_validation(resp, "body.current_password", "missing").await;
    assert_eq!(login_response(&app, "alice", PASSWORD).await.status(), StatusCode::OK, "old password still works");
}

#[tokio::test]
async fn a_password_change_with_a_wrong_current_password_is_forbidden() {
    // Arrange
    let app = strict_app().await;
    register(&app, "alice").await;
    let token = access(&login(&app, "alice", PASSWORD).await);

    // Act
    let resp = put_me(&app, &token, &json!({ "password": "Brandnew42", "current_password": "Wrong1234" })).await;

    // Assert
    let body = assert_error(resp, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    assert_eq!(body["error"]["message"], "Current password is incorrect");
    assert_eq!(login_response(&app, "alice", PASSWORD).await.status(), StatusCode::OK, "old password still works");
    let new = login_response(&app, "alice", "Brandnew42").await;
    assert_error(new, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS").await;
}

#[tokio::test]
async fn a_new_password_must_follow_the_password_rules() {
    // Arrange
    let app = strict_app().await;
    register(&app, "alice").await;
    let token = access(&login(&app, "alice", PASSWORD).await);

    // Act
    let resp = put_me(&app, &token, &json!({ "password": "weak", "current_password": PASSWORD })).await;

    // Assert
    assert_validation(resp, "body.password", "invalid_value").await;
    assert_eq!(login_response(&app, "alice", PASSWORD).await.status(), StatusCode::OK, "old password still works");
}

#[tokio::test]
async fn a_password_change_revokes_every_refresh_token_and_the_new_password_logs_in() {
    // Arrange
    let app = strict_app().await;
    register(&app, "alice").await;
    let first = login(&app, "alice", PASSWORD).await;
    let second = login(&app, "alice", PASSWORD).await;

    // Act
    let resp = put_me(&app, &access(&first), &json!({ "password": "Brandnew42", "current_password": PASSWORD })).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    assert_user_shape(&resp.json::<Value>().await.expect("user"));
    for tokens in [&first, &second] {
        let resp = post_refresh(&app, &refresh_token(tokens)).await;
        assert_error(resp, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
    }
    assert_eq!(login_response(&app, "alice", "Brandnew42").await.status(), StatusCode::OK);
    let old = login_response(&app, "alice", PASSWORD).await;
    assert_error(old, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS").await;
}

#[tokio::test]
async fn is_active_cannot_be_changed_through_me() {
    let app = strict_app().await;
    register(&app, "alice").await;
    let token = access(&login(&app, "alice", PASSWORD).await);
    for value in [json!(true), json!(false), Value::Null] {
        // Arrange
        let body = json!({ "is_active": value, "email": "changed@example.com" });

        // Act
        let resp = put_me(&app, &token, &body).await;

        // Assert
        assert_error(resp, StatusCode::FORBIDDEN, "FORBIDDEN").await;
        let stored: Value = me(&app, &token).await.json().await.expect("user");
        assert_eq!(stored["email"], "alice@example.com", "nothing in {body} was applied");
        assert_eq!(stored["is_active"], true);
    }
}

// ---------------------------------------------------------------------------------------------
// User administration
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn admins_list_every_user_ordered_by_id() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let ids: Vec<i64> = [
        id_of(&register(&app, "carol").await),
        id_of(&register(&app, "alice").await),
        id_of(&register(&app, "bob").await),
    ]
    .into();

    // Act
    let users = list_users(&app, &admin).await;

    // Assert
    let names: Vec<&str> = users.iter().map(|u| u["username"].as_str().expect("username")).collect();
    assert_eq!(names, ["root", "carol", "alice", "bob"]);
    let listed: Vec<i64> = users.iter().map(id_of).collect();
    assert!(listed.windows(2).all(|w| w[0] < w[1]), "ascending ids: {listed:?}");
    assert_eq!(listed[1..], ids[..]);
    users.iter().for_each(assert_user_shape);
}

#[tokio::test]
async fn only_admins_may_list_users() {
    // Arrange
    let app = spawn_app().await;
    let admin = admin_token(&app).await;
    let (_, agent) = user_with_role(&app, &admin, "bob", "agent").await;
    let (_, pm) = user_with_role(&app, &admin, "carol", "pm").await;

    // Act
    let as_agent = authed(&app, Method::GET, "/api/auth/users", &agent).send().await.expect("GET");
    let as_pm = authed(&app, Method::GET, "/api/auth/users", &pm).send().await.expect("GET");
    let as_anonymous_pm = app.get("/api/auth/users").await;

    // Assert
    let body = assert_error(as_agent, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    assert_eq!(body["error"]["message"], "Requires role admin or higher");
    assert_error(as_pm, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    assert_unauthorized(as_anonymous_pm).await;
}

#[tokio::test]
async fn non_admins_cannot_change_or_delete_users() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let (pm_id, pm) = user_with_role(&app, &admin, "bob", "pm").await;
    let carol = id_of(&register(&app, "carol").await);

    // Act
    let promote_self = put_user(&app, &pm, pm_id, &json!({ "role": "admin" })).await;
    let delete_other = delete_user(&app, &pm, carol).await;

    // Assert
    assert_error(promote_self, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    assert_error(delete_other, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let users = list_users(&app, &admin).await;
    assert_eq!(users.len(), 3, "carol still exists");
    assert_eq!(users[1]["role"], "pm", "bob was not promoted");
}

#[tokio::test]
async fn admins_change_a_users_role_and_active_flag() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let bob = id_of(&register(&app, "bob").await);

    // Act
    let promoted = put_user(&app, &admin, bob, &json!({ "role": "agent" })).await;
    let deactivated = put_user(&app, &admin, bob, &json!({ "is_active": false })).await;

    // Assert
    assert_eq!(promoted.status(), StatusCode::OK);
    let promoted: Value = promoted.json().await.expect("user");
    assert_user_shape(&promoted);
    assert_eq!((promoted["role"].as_str(), promoted["is_active"].as_bool()), (Some("agent"), Some(true)));
    assert_eq!(deactivated.status(), StatusCode::OK);
    let deactivated: Value = deactivated.json().await.expect("user");
    assert_eq!((deactivated["role"].as_str(), deactivated["is_active"].as_bool()), (Some("agent"), Some(false)));
    let listed = list_users(&app, &admin).await;
    assert_eq!(listed[1]["role"], "agent");
    assert_eq!(listed[1]["is_active"], false);
}

#[tokio::test]
async fn an_empty_user_update_changes_nothing() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let bob = register(&app, "bob").await;

    // Act
    let resp = put_user(&app, &admin, id_of(&bob), &json!({})).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.expect("user"), bob);
}

#[tokio::test]
async fn an_invalid_role_is_a_validation_error() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let bob = id_of(&register(&app, "bob").await);

    // Act
    let resp = put_user(&app, &admin, bob, &json!({ "role": "superuser" })).await;

    // Assert
    assert_validation_field(resp, "body.role").await;
    assert_eq!(list_users(&app, &admin).await[1]["role"], "viewer");
}

#[tokio::test]
async fn changing_or_deleting_an_unknown_user_is_not_found() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;

    // Act
    let put = put_user(&app, &admin, 999, &json!({ "role": "pm" })).await;
    let delete = delete_user(&app, &admin, 999).await;

    // Assert
    let body = assert_error(put, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(body["error"]["message"], "User not found");
    let body = assert_error(delete, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(body["error"]["message"], "User not found");
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_demoted_deactivated_or_deleted() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let root = id_of(&list_users(&app, &admin).await[0]);

    // Act
    let demote = put_user(&app, &admin, root, &json!({ "role": "pm" })).await;
    let deactivate = put_user(&app, &admin, root, &json!({ "is_active": false })).await;
    let delete = delete_user(&app, &admin, root).await;

    // Assert
    assert_error(demote, StatusCode::CONFLICT, "LAST_ADMIN").await;
    assert_error(deactivate, StatusCode::CONFLICT, "LAST_ADMIN").await;
    assert_error(delete, StatusCode::CONFLICT, "LAST_ADMIN").await;
    let me: Value = me(&app, &admin).await.json().await.expect("still works");
    assert_eq!((me["role"].as_str(), me["is_active"].as_bool()), (Some("admin"), Some(true)));
}

#[tokio::test]
async fn an_inactive_admin_does_not_count_as_another_admin() {
    // Arrange: a second admin exists but is deactivated.
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let root = id_of(&list_users(&app, &admin).await[0]);
    let (other, _) = user_with_role(&app, &admin, "second", "admin").await;
    assert_eq!(put_user(&app, &admin, other, &json!({ "is_active": false })).await.status(), StatusCode::OK);

    // Act
    let demote = put_user(&app, &admin, root, &json!({ "role": "viewer" })).await;

    // Assert
    assert_error(demote, StatusCode::CONFLICT, "LAST_ADMIN").await;
}

#[tokio::test]
async fn an_admin_may_be_demoted_while_another_admin_remains() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let root = id_of(&list_users(&app, &admin).await[0]);
    let (_, second) = user_with_role(&app, &admin, "second", "admin").await;

    // Act
    let resp = put_user(&app, &second, root, &json!({ "role": "pm" })).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.expect("user")["is_superuser"], false);
    let refused = authed(&app, Method::GET, "/api/auth/users", &admin).send().await.expect("GET");
    assert_error(refused, StatusCode::FORBIDDEN, "FORBIDDEN").await;
}

#[tokio::test]
async fn deleting_a_user_ends_their_tokens_at_once() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let bob = id_of(&register(&app, "bob").await);
    let tokens = login(&app, "bob", PASSWORD).await;
    assert_eq!(me(&app, &access(&tokens)).await.status(), StatusCode::OK);

    // Act
    let resp = delete_user(&app, &admin, bob).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.expect("message"), json!({ "message": "User deleted successfully" }));
    assert_unauthorized(me(&app, &access(&tokens)).await).await;
    assert_error(post_refresh(&app, &refresh_token(&tokens)).await, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
    let users = list_users(&app, &admin).await;
    assert!(users.iter().all(|u| u["username"] != "bob"), "bob is gone from {users:?}");
    let login = login_response(&app, "bob", PASSWORD).await;
    assert_error(login, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS").await;
}

#[tokio::test]
async fn deactivating_a_user_ends_their_tokens_at_once() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let bob = id_of(&register(&app, "bob").await);
    let tokens = login(&app, "bob", PASSWORD).await;

    // Act
    let resp = put_user(&app, &admin, bob, &json!({ "is_active": false })).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    assert_unauthorized(me(&app, &access(&tokens)).await).await;
    assert_error(post_refresh(&app, &refresh_token(&tokens)).await, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
}

#[tokio::test]
async fn a_reactivated_user_can_log_in_again() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let bob = id_of(&register(&app, "bob").await);
    assert_eq!(put_user(&app, &admin, bob, &json!({ "is_active": false })).await.status(), StatusCode::OK);

    // Act
    let resp = put_user(&app, &admin, bob, &json!({ "is_active": true })).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(login_response(&app, "bob", PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_promotion_applies_to_the_next_request_with_the_same_token() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let (bob, viewer_token) = user_with_role(&app, &admin, "bob", "viewer").await;
    assert_error(create_board_with(&app, &viewer_token, "Before").await, StatusCode::FORBIDDEN, "FORBIDDEN").await;

    // Act
    assert_eq!(put_user(&app, &admin, bob, &json!({ "role": "pm" })).await.status(), StatusCode::OK);
    let resp = create_board_with(&app, &viewer_token, "After").await;

    // Assert
    assert_eq!(resp.status(), StatusCode::CREATED);
    let me: Value = me(&app, &viewer_token).await.json().await.expect("user");
    assert_eq!(me["role"], "pm");
}

#[tokio::test]
async fn a_demotion_applies_to_the_next_request_with_the_same_token() {
    // Arrange
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let (bob, pm_token) = user_with_role(&app, &admin, "bob", "pm").await;
    assert_eq!(create_board_with(&app, &pm_token, "Before").await.status(), StatusCode::CREATED);

    // Act
    assert_eq!(put_user(&app, &admin, bob, &json!({ "role": "viewer" })).await.status(), StatusCode::OK);
    let resp = create_board_with(&app, &pm_token, "After").await;

    // Assert
    let body = assert_error(resp, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    assert_eq!(body["error"]["message"], "Requires role pm or higher");
}

// ---------------------------------------------------------------------------------------------
// Token attacks: each is a 401 that changes nothing, even with anonymous pm access enabled
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_token_forged_with_the_server_secret_is_accepted() {
    // Arrange: the control for the attacks below — the forging itself is sound.
    let (app, admin_id, _) = attack_target().await;
    let token = sign(&claims(admin_id, "root", "admin", "access"), Algorithm::HS256, SECRET);

    // Act
    let resp = create_board_with(&app, &token, "Legit").await;

    // Assert
    assert_eq!(resp.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    // Arrange
    let (app, _, admin) = attack_target().await;

    // Act
    let resp = app
        .request(Method::GET, "/api/auth/me")
        .header("Authorization", format!("bEaReR {admin}"))
        .send()
        .await
        .expect("GET me");

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_rejected() {
    // Arrange
    let (app, admin_id, _) = attack_target().await;
    let header = b64_json(&json!({ "alg": "none", "typ": "JWT" }));
    let payload = b64_json(&claims(admin_id, "root", "admin", "access"));

    // Act + Assert
    assert_board_creation_refused(&app, &format!("Bearer {header}.{payload}.")).await;
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_rejected() {
    // Arrange
    let (app, admin_id, _) = attack_target().await;
    let token =
        sign(&claims(admin_id, "root", "admin", "access"), Algorithm::HS256, "another-secret-that-is-long-enough!!");

    // Act + Assert
    assert_board_creation_refused(&app, &format!("Bearer {token}")).await;
}

#[tokio::test]
async fn a_token_with_another_hmac_algorithm_is_rejected() {
    // Arrange: the right secret, but the algorithm is pinned to HS256.
    let (app, admin_id, _) = attack_target().await;
    let token = sign(&claims(admin_id, "root", "admin", "access"), Algorithm::HS512, SECRET);

    // Act + Assert
    assert_board_creation_refused(&app, &format!("Bearer {token}")).await;
}

#[tokio::test]
async fn an_expired_token_is_rejected_without_leeway() {
    // Arrange: expired a few seconds ago, well inside jsonwebtoken's default 60 s leeway.
    let (app, admin_id, _) = attack_target().await;
    let mut expired = claims(admin_id, "root", "admin", "access");
    let now = now();
    expired["iat"] = json!(now - 1800);
    expired["nbf"] = json!(now - 1800);
    expired["exp"] = json!(now - 5);
    let token = sign(&expired, Algorithm::HS256, SECRET);

    // Act + Assert
    assert_board_creation_refused(&app, &format!("Bearer {token}")).await;
}

#[tokio::test]
async fn a_token_that_is_not_yet_valid_is_rejected() {
    // Arrange: nbf 30 s ahead, inside jsonwebtoken's default 60 s leeway.
    let (app, admin_id, _) = attack_target().await;
    let mut early = claims(admin_id, "root", "admin", "access");
    early["nbf"] = json!(now() + 30);
    let token = sign(&early, Algorithm::HS256, SECRET);

    // Act + Assert
    assert_board_creation_refused(&app, &format!("Bearer {token}")).await;
}

#[tokio::test]
async fn a_tampered_payload_is_rejected() {
    // Arrange: a viewer's real token with its role raised to admin, keeping the original signature.
    let (app, _, _) = attack_target().await;
    register(&app, "bob").await;
    let token = access(&login(&app, "bob", PASSWORD).await);
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload = decode_claims(&token);
    payload["role"] = json!("admin");
    let tampered = format!("{}.{}.{}", parts[0], b64_json(&payload), parts[2]);

    // Act + Assert: 401, not the 403 a viewer would get if the signature were not checked.
    assert_board_creation_refused(&app, &format!("Bearer {tampered}")).await;
}

#[tokio::test]
async fn a_token_for_a_user_that_never_existed_is_rejected() {
    // Arrange
    let (app, _, _) = attack_target().await;
    let token = sign(&claims(999, "ghost", "admin", "access"), Algorithm::HS256, SECRET);

    // Act + Assert
    assert_board_creation_refused(&app, &format!("Bearer {token}")).await;
}

#[tokio::test]
async fn a_refresh_token_is_not_an_access_token() {
    // Arrange
    let (app, _, _) = attack_target().await;
    let tokens = login(&app, "root", PASSWORD).await;

    // Act + Assert
    assert_board_creation_refused(&app, &format!("Bearer {}", refresh_token(&tokens))).await;
}

#[tokio::test]
async fn the_access_token_of_a_deactivated_user_is_rejected() {
    // Arrange
    let (app, _, admin) = attack_target().await;
    let (bob, pm) = user_with_role(&app, &admin, "bob", "pm").await;
    assert_eq!(put_user(&app, &admin, bob, &json!({ "is_active": false })).await.status(), StatusCode::OK);

    // Act + Assert
    assert_board_creation_refused(&app, &format!("Bearer {pm}")).await;
}

#[tokio::test]
async fn the_access_token_of_a_deleted_user_is_rejected() {
    // Arrange
    let (app, _, admin) = attack_target().await;
    let (bob, pm) = user_with_role(&app, &admin, "bob", "pm").await;
    assert_eq!(delete_user(&app, &admin, bob).await.status(), StatusCode::OK);

    // Act + Assert
    assert_board_creation_refused(&app, &format!("Bearer {pm}")).await;
}

#[tokio::test]
async fn an_access_token_is_rejected_after_logout() {
    // Arrange
    let (app, _, admin) = attack_target().await;
    assert_eq!(logout(&app, &admin).await.status(), StatusCode::OK);

    // Act + Assert
    assert_board_creation_refused(&app, &format!("Bearer {admin}")).await;
}

#[tokio::test]
async fn malformed_authorization_headers_are_rejected() {
    // Arrange
    let (app, _, admin) = attack_target().await;
    let cases = ["Basic xyz".to_owned(), "Bearer".to_owned(), "Bearer    ".to_owned(), format!("Token {admin}"), admin];

    // Act + Assert
    for authorization in &cases {
        assert_board_creation_refused(&app, authorization).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The signing secret
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn tokens_survive_a_restart() {
    // Arrange
    let app = strict_app().await;
    register(&app, "alice").await;
    let tokens = login(&app, "alice", PASSWORD).await;

    // Act
    let app = app.restart().await;

    // Assert
    assert_eq!(me(&app, &access(&tokens)).await.status(), StatusCode::OK);
    assert_eq!(post_refresh(&app, &refresh_token(&tokens)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_generated_secret_is_persisted_with_mode_0600() {
    // Arrange + Act
    let app = strict_app().await;

    // Assert
    let data_dir = app.config.database.path.parent().expect("data dir").to_owned();
    let path = data_dir.join("jwt_secret");
    let secret = std::fs::read_to_string(&path).expect("jwt_secret exists");
    let secret = secret.trim();
    assert_eq!(secret.len(), 128, "64 random bytes, hex-encoded");
    assert!(secret.chars().all(|c| c.is_ascii_hexdigit()), "hex: {secret}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }
    let app = app.restart().await;
    let after = std::fs::read_to_string(data_dir.join("jwt_secret")).expect("still there");
    assert_eq!(after.trim(), secret, "a restart reuses the secret");
    drop(app);
}

#[tokio::test]
async fn replacing_the_secret_invalidates_every_token() {
    // Arrange
    let mut app = strict_app().await;
    register(&app, "alice").await;
    let tokens = login(&app, "alice", PASSWORD).await;
    app.config.auth.jwt_secret = Secret::new(SECRET);

    // Act
    let app = app.restart().await;

    // Assert
    assert_unauthorized(me(&app, &access(&tokens)).await).await;
    assert_error(post_refresh(&app, &refresh_token(&tokens)).await, StatusCode::UNAUTHORIZED, "INVALID_TOKEN").await;
    assert_eq!(login_response(&app, "alice", PASSWORD).await.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// create-admin
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_admin_makes_an_admin_who_can_log_in() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    let config_dir = tempfile::tempdir().expect("config dir");
    let db_path = dir.path().join("kanban.db");

    // Act
    let first = create_admin(config_dir.path(), &db_path, PASSWORD).await;
    let again = create_admin(config_dir.path(), &db_path, PASSWORD).await;

    // Assert
    assert!(first.status.success(), "create-admin failed: {}", String::from_utf8_lossy(&first.stderr));
    assert!(!again.status.success(), "a second create-admin for the same username must fail");
    let path = db_path.clone();
    let app = spawn_app_with(move |cfg| {
        cfg.database.path = path;
        cfg.auth.anonymous_role = AnonymousRole::None;
        cfg.auth.registration_enabled = false;
    })
    .await;
    let token = access(&login(&app, "chief", PASSWORD).await);
    let me: Value = me(&app, &token).await.json().await.expect("user");
    assert_eq!((me["role"].as_str(), me["email"].as_str()), (Some("admin"), Some("chief@example.com")));
    assert_eq!(list_users(&app, &token).await.len(), 1, "the second run created nothing");
}

#[tokio::test]
async fn create_admin_refuses_a_weak_password() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    let config_dir = tempfile::tempdir().expect("config dir");
    let db_path = dir.path().join("kanban.db");

    // Act
    let output = create_admin(config_dir.path(), &db_path, "weak").await;

    // Assert
    assert!(!output.status.success(), "a weak password must fail");
    let path = db_path.clone();
    let app = spawn_app_with(move |cfg| cfg.database.path = path).await;
    let login = login_response(&app, "chief", "weak").await;
    assert_error(login, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS").await;
    assert_eq!(register(&app, "first").await["role"], "admin", "no account was created before");
}
