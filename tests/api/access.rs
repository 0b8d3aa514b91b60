//! Tests for roles on every route, rate limits, CORS and log hygiene (`auth.md` §1–3, §8–10, §12;
//! `api.md` 1.4 and 1.13).
//!
//! The role matrix is generated from `GET /openapi.json`: every operation's `bearerAuth`
//! requirement names its minimum role, so a route added later is covered without editing this file.

use std::sync::{Arc, Mutex, OnceLock};

use agent_kanban::config::{AnonymousRole, Quota, Secret};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const PASSWORD: &str = "Sturdy-Passw0rd";
const ALLOWED_ORIGIN: &str = "http://localhost:5173";

// ---------------------------------------------------------------------------------------------
// Accounts and requests
// ---------------------------------------------------------------------------------------------

/// Roles, lowest first, so `<` means "below".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Viewer,
    Agent,
    Pm,
    Admin,
}

const ROLES: [Role; 4] = [Role::Viewer, Role::Agent, Role::Pm, Role::Admin];

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Agent => "agent",
            Role::Pm => "pm",
            Role::Admin => "admin",
        }
    }

    fn parse(name: &str) -> Option<Role> {
        ROLES.into_iter().find(|r| r.name() == name)
    }
}

/// A request with a bearer token.
fn authed(app: &TestApp, method: Method, path: &str, token: &str) -> RequestBuilder {
    app.request(method, path).bearer_auth(token)
}

fn header(resp: &Response, name: &str) -> Option<String> {
    resp.headers().get(name).map(|v| v.to_str().expect("ASCII header").to_owned())
}

/// Every value of a (possibly repeated) header, comma-split, lowercased and trimmed.
fn header_list(resp: &Response, name: &str) -> Vec<String> {
    resp.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

fn header_number(resp: &Response, name: &str) -> u64 {
    let value = header(resp, name).unwrap_or_else(|| panic!("{name} header missing"));
    value.parse().unwrap_or_else(|_| panic!("{name} is a whole number: {value:?}"))
}

/// Register `username` and return its id (the first account of a server becomes admin).
async fn register(app: &TestApp, username: &str) -> i64 {
    let body = json!({ "username": username, "email": format!("{username}@example.com"), "password": PASSWORD });
    let resp = app.post("/api/auth/register", &body).await;
    assert_eq!(resp.status(), StatusCode::CREATED, "register {username}");
    let user: Value = resp.json().await.expect("user body");
    user["id"].as_i64().expect("user id")
}

/// Log `username` in and return the token pair.
async fn login(app: &TestApp, username: &str) -> Value {
    let resp = app.post("/api/auth/login", &json!({ "username": username, "password": PASSWORD })).await;
    assert_eq!(resp.status(), StatusCode::OK, "login {username}");
    resp.json().await.expect("token body")
}

async fn access_token(app: &TestApp, username: &str) -> String {
    login(app, username).await["access_token"].as_str().expect("access_token").to_owned()
}

/// One account of every role; `admin` registered first, the others promoted by it.
struct Accounts {
    ids: Vec<(Role, i64)>,
}

impl Accounts {
    fn username(role: Role) -> String {
        format!("the_{}", role.name())
    }

    async fn create(app: &TestApp) -> Accounts {
        let admin_id = register(app, &Self::username(Role::Admin)).await;
        let admin = access_token(app, &Self::username(Role::Admin)).await;
        let mut ids = vec![(Role::Admin, admin_id)];
        for role in [Role::Viewer, Role::Agent, Role::Pm] {
            let id = register(app, &Self::username(role)).await;
            let path = format!("/api/auth/users/{id}");
            let resp = authed(app, Method::PUT, &path, &admin).json(&json!({ "role": role.name() })).send().await;
            assert_eq!(resp.expect("PUT role").status(), StatusCode::OK, "make {id} a {}", role.name());
            ids.push((role, id));
        }
        Accounts { ids }
    }

    /// Fresh access tokens for every role (logout routes end the tokens they are called with).
    async fn tokens(&self, app: &TestApp) -> Tokens {
        let names = ROLES.map(Self::username);
        let (viewer, agent, pm, admin) = tokio::join!(
            access_token(app, &names[0]),
            access_token(app, &names[1]),
            access_token(app, &names[2]),
            access_token(app, &names[3]),
        );
        assert_eq!(self.ids.len(), 4);
        Tokens([viewer, agent, pm, admin])
    }
}

struct Tokens([String; 4]);

impl Tokens {
    fn of(&self, role: Role) -> &str {
        &self.0[role as usize]
    }
}

/// Entities for an operation's path ids, made fresh for each operation so that a delete always
/// has something to act on. The comment is the agent's own, so an agent may edit and delete it.
struct Fixture {
    board_id: i64,
    ticket_id: i64,
    comment_id: i64,
    user_id: Option<i64>,
}

async fn created_id(resp: reqwest::Result<Response>, what: &str) -> i64 {
    let resp = resp.unwrap_or_else(|e| panic!("create {what}: {e}"));
    assert_eq!(resp.status(), StatusCode::CREATED, "create {what}");
    let body: Value = resp.json().await.expect("created body");
    body["id"].as_i64().expect("id")
}

impl Fixture {
    async fn create(app: &TestApp, tokens: &Tokens, path: &str, serial: usize) -> Fixture {
        let (pm, agent) = (tokens.of(Role::Pm), tokens.of(Role::Agent));
        let board = authed(app, Method::POST, "/api/boards/", pm).json(&json!({ "name": format!("Board {serial}") }));
        let board_id = created_id(board.send().await, "board").await;
        let ticket =
            authed(app, Method::POST, "/api/tickets/", pm).json(&json!({ "board_id": board_id, "title": "A ticket" }));
        let ticket_id = created_id(ticket.send().await, "ticket").await;
        let comment =
            authed(app, Method::POST, "/api/comments/", agent).json(&json!({ "ticket_id": ticket_id, "text": "Mine" }));
        let comment_id = created_id(comment.send().await, "comment").await;
        let user_id =
            if path.contains("{user_id}") { Some(register(app, &format!("victim_{serial}")).await) } else { None };
        Fixture { board_id, ticket_id, comment_id, user_id }
    }

    /// `template` with every path parameter replaced by a real id.
    fn path(&self, template: &str) -> String {
        let user = self.user_id.map_or_else(|| "1".to_owned(), |id| id.to_string());
        let path = template
            .replace("{board_id}", &self.board_id.to_string())
            .replace("{ticket_id}", &self.ticket_id.to_string())
            .replace("{comment_id}", &self.comment_id.to_string())
            .replace("{user_id}", &user)
            .replace("{column_name}", "Done")
            .replace("{file}", "index.css");
        assert!(!path.contains('{'), "no substitution for a parameter of {template}");
        path
    }
}

// ---------------------------------------------------------------------------------------------
// The operations of the OpenAPI document
// ---------------------------------------------------------------------------------------------

/// Who may call an operation, as its `security` requirement says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Public,
    /// `bearerAuth = []`: any authenticated user, never an anonymous caller.
    AnyUser,
    AtLeast(Role),
}

#[derive(Debug, Clone)]
struct Operation {
    method: Method,
    path: String,
    access: Access,
    /// Documented with a 101 response: a WebSocket handshake, sent as one (a plain GET is refused
    /// with 400 before authentication, `realtime.md` §1).
    websocket: bool,
}

/// The status and JSON body (`Null` when there is none) of an operation's response.
struct Answer {
    status: StatusCode,
    body: Value,
}

impl Answer {
    fn passed_role_check(&self) -> bool {
        !matches!(self.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
    }

    /// The standard error body with `code` and `detail`.
    fn is_error(&self, status: StatusCode, code: &str, detail: &str) -> bool {
        self.status == status && self.body["error"]["code"] == code && self.body["detail"] == detail
    }
}

impl Operation {
    fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn is_protected(&self) -> bool {
        self.access != Access::Public
    }

    /// True when a caller with `role` passes the role check.
    fn admits(&self, role: Role) -> bool {
        match self.access {
            Access::Public | Access::AnyUser => true,
            Access::AtLeast(min) => role >= min,
        }
    }

    /// Send it; writes carry a body with the fields most write routes take (unknown fields are
    /// ignored, and a 422 from a route wanting others also proves the role check passed).
    async fn send(&self, app: &TestApp, path: &str, token: Option<&str>) -> Answer {
        if self.websocket {
            return handshake(app, path, token).await;
        }
        let mut req = app.request(self.method.clone(), path);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if self.method == Method::POST || self.method == Method::PUT {
            req = req.json(&json!({ "name": "Renamed", "title": "Retitled", "text": "Edited" }));
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{}: {e}", self.label()));
        let status = resp.status();
        Answer { status, body: resp.json().await.unwrap_or(Value::Null) }
    }
}

/// A WebSocket handshake to `path`; an accepted one is closed at once.
async fn handshake(app: &TestApp, path: &str, token: Option<&str>) -> Answer {
    use tokio_tungstenite::tungstenite::{Error, client::IntoClientRequest};
    let mut req = app.url(path).replacen("http://", "ws://", 1).into_client_request().expect("ws request");
    if let Some(token) = token {
        req.headers_mut().insert("authorization", format!("Bearer {token}").parse().expect("header value"));
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((mut socket, _)) => {
            let _ = socket.close(None).await;
            Answer { status: StatusCode::SWITCHING_PROTOCOLS, body: Value::Null }
        }
        Err(Error::Http(resp)) => Answer {
            status: StatusCode::from_u16(resp.status().as_u16()).expect("status"),
            body: resp.body().as_ref().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null),
        },
        Err(e) => panic!("WebSocket handshake to {path}: {e}"),
    }
}

fn access_of(path: &str, method: &str, op: &Value) -> Access {
    let Some(requirements) = op.get("security") else { return Access::Public };
    let requirements = requirements.as_array().expect("security is an array");
    // Ops routes (`opsToken`) are public while `ops.token` is empty, as the `{}` alternative says.
    if requirements.iter().any(|r| r.get("opsToken").is_some()) && requirements.contains(&json!({})) {
        return Access::Public;
    }
    let roles = requirements
        .iter()
        .find_map(|r| r.get("bearerAuth"))
        .unwrap_or_else(|| panic!("{method} {path}: security without bearerAuth"))
        .as_array()
        .expect("role names");
    match roles.as_slice() {
        [] => Access::AnyUser,
        [name] => Access::AtLeast(
            Role::parse(name.as_str().unwrap_or_default())
                .unwrap_or_else(|| panic!("{method} {path}: unknown role {name}")),
        ),
        more => panic!("{method} {path}: one minimum role expected, got {more:?}"),
    }
}

/// Every operation of the served OpenAPI document. Asserts the document is big enough that a
/// matrix built from it cannot silently test nothing.
async fn operations(app: &TestApp) -> Vec<Operation> {
    let doc = app.get_json("/openapi.json").await;
    let paths = doc["paths"].as_object().expect("paths");
    let mut ops = Vec::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                continue; // `parameters`, `summary` and the like share the path item.
            }
            let parsed = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("an HTTP method");
            let access = access_of(path, method, op);
            let websocket = op["responses"].get("101").is_some();
            ops.push(Operation { method: parsed, path: path.clone(), access, websocket });
        }
    }
    let protected = ops.iter().filter(|op| op.is_protected()).count();
    assert!(ops.len() >= 30, "only {} operations in the OpenAPI document", ops.len());
    assert!(protected >= 25, "only {protected} protected operations in the OpenAPI document");
    for role in ROLES {
        assert!(ops.iter().any(|op| op.access == Access::AtLeast(role)), "no {} route", role.name());
    }
    assert!(ops.iter().any(|op| op.access == Access::AnyUser), "no own-account route");
    ops
}

/// The mismatches found, one line each; asserted empty at the end so one run lists them all.
#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
    fn expect(&mut self, ok: bool, op: &Operation, who: &str, wanted: &str, answer: &Answer) {
        if !ok {
            self.0.push(format!("{} as {who}: expected {wanted}, got {} {}", op.label(), answer.status, answer.body));
        }
    }

    fn assert_none(self) {
        assert!(self.0.is_empty(), "{} mismatches:\n{}", self.0.len(), self.0.join("\n"));
    }
}

/// A server with `anonymous_role`, one account per role, and a board/ticket/comment for path ids.
async fn world(anonymous_role: AnonymousRole) -> (TestApp, Accounts, Vec<Operation>) {
    let app = spawn_app_with(|cfg| cfg.auth.anonymous_role = anonymous_role).await;
    let accounts = Accounts::create(&app).await;
    let ops = operations(&app).await;
    (app, accounts, ops)
}

// ---------------------------------------------------------------------------------------------
// Role × route matrix
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn without_anonymous_access_every_protected_route_answers_401_and_public_routes_do_not() {
    let (app, accounts, ops) = world(AnonymousRole::None).await;
    let tokens = accounts.tokens(&app).await;
    let fixture = Fixture::create(&app, &tokens, "", 0).await;
    let mut findings = Findings::default();

    for op in &ops {
        let answer = op.send(&app, &fixture.path(&op.path), None).await;

        if op.is_protected() {
            let refused = answer.is_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Authentication required");
            findings.expect(refused, op, "anonymous", "401 \"Authentication required\"", &answer);
        } else {
            findings.expect(answer.status != StatusCode::UNAUTHORIZED, op, "anonymous", "not 401", &answer);
        }
    }

    findings.assert_none();
}

#[tokio::test]
async fn every_route_refuses_roles_below_its_minimum_with_403_and_admits_the_minimum_and_above() {
    let (app, accounts, ops) = world(AnonymousRole::None).await;
    let mut findings = Findings::default();

    for (serial, op) in ops.iter().filter(|op| op.is_protected()).enumerate() {
        let tokens = accounts.tokens(&app).await;
        let fixture = Fixture::create(&app, &tokens, &op.path, serial + 1).await;
        let path = fixture.path(&op.path);

        // Lowest role first: refusals change nothing, and the first admitted call acts on the
        // fresh fixture (later ones may find it gone, which a 404 shows without 401/403).
        for role in ROLES {
            let answer = op.send(&app, &path, Some(tokens.of(role))).await;
            if op.admits(role) {
                findings.expect(answer.passed_role_check(), op, role.name(), "neither 401 nor 403", &answer);
            } else {
                let Access::AtLeast(min) = op.access else { unreachable!("only minimum roles refuse") };
                let detail = format!("Requires role {} or higher", min.name());
                let refused = answer.is_error(StatusCode::FORBIDDEN, "FORBIDDEN", &detail);
                findings.expect(refused, op, role.name(), &format!("403 {detail:?}"), &answer);
            }
        }
    }

    findings.assert_none();
}

/// Anonymous callers with `anonymous`: GETs they hold the role for pass; every route above their
/// role, and every own-account route, answers 401.
async fn assert_anonymous_profile(app: &TestApp, accounts: &Accounts, ops: &[Operation], anonymous: Role) {
    let tokens = accounts.tokens(app).await;
    let fixture = Fixture::create(app, &tokens, "", 0).await;
    let mut findings = Findings::default();
    let who = format!("anonymous {}", anonymous.name());

    for op in ops.iter().filter(|op| op.is_protected()) {
        let refused = op.access == Access::AnyUser || !op.admits(anonymous);
        if !refused && op.method != Method::GET {
            continue; // Writes are checked one by one by the callers; GETs change nothing.
        }
        let answer = op.send(app, &fixture.path(&op.path), None).await;
        if refused {
            findings.expect(answer.status == StatusCode::UNAUTHORIZED, op, &who, "401", &answer);
        } else {
            findings.expect(answer.passed_role_check(), op, &who, "neither 401 nor 403", &answer);
        }
    }

    findings.assert_none();
}

#[tokio::test]
async fn anonymous_viewers_may_read_but_agent_routes_and_own_account_routes_answer_401() {
    let (app, accounts, ops) = world(AnonymousRole::Viewer).await;

    assert_anonymous_profile(&app, &accounts, &ops, Role::Viewer).await;

    let resp = app.post("/api/tickets/", &json!({ "board_id": 1, "title": "Nope" })).await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert_eq!(app.get("/api/boards/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn anonymous_agents_may_create_tickets_but_not_boards() {
    let (app, accounts, ops) = world(AnonymousRole::Agent).await;

    assert_anonymous_profile(&app, &accounts, &ops, Role::Agent).await;

    let resp = app.post("/api/tickets/", &json!({ "board_id": 1, "title": "Anonymous work" })).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = app.post("/api/boards/", &json!({ "name": "Not mine to make" })).await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn anonymous_pms_may_create_boards_but_admin_and_own_account_routes_answer_401() {
    let (app, accounts, ops) = world(AnonymousRole::Pm).await;

    assert_anonymous_profile(&app, &accounts, &ops, Role::Pm).await;

    let resp = app.post("/api/boards/", &json!({ "name": "Anonymous board" })).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_error(app.get("/api/auth/users").await, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert_error(app.get("/api/auth/me").await, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let logout = app.request(Method::POST, "/api/auth/logout").send().await.expect("logout");
    assert_error(logout, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}

// ---------------------------------------------------------------------------------------------
// Rate limits
// ---------------------------------------------------------------------------------------------

fn quota(text: &str) -> Quota {
    text.parse().expect("quota")
}

/// A server with rate limiting on and `tweak` applied.
async fn limited_app(tweak: impl FnOnce(&mut agent_kanban::config::Config)) -> TestApp {
    spawn_app_with(|cfg| {
        cfg.rate_limit.enabled = true;
        tweak(cfg);
    })
    .await
}

/// Assert a 429 for a quota of `limit` described as `described` ("3 per 1 hour").
async fn assert_rate_limited(resp: Response, limit: u64, described: &str) {
    let retry_after = header_number(&resp, "retry-after");
    assert!(retry_after >= 1, "Retry-After {retry_after}");
    assert_eq!(header_number(&resp, "x-ratelimit-limit"), limit);
    assert_eq!(header_number(&resp, "x-ratelimit-remaining"), 0);
    assert_eq!(header_number(&resp, "x-ratelimit-reset"), retry_after, "X-RateLimit-Reset equals Retry-After");
    let body = assert_error(resp, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED").await;
    assert_eq!(body["detail"], format!("Rate limit exceeded: {described}"));
}

/// Send `count` requests built by `req`, asserting each is not a 429; returns the last response.
async fn spend(count: usize, req: impl Fn() -> RequestBuilder) -> Response {
    let mut last = None;
    for n in 1..=count {
        let resp = req().send().await.expect("request");
        assert_ne!(resp.status(), StatusCode::TOO_MANY_REQUESTS, "request {n} of {count} is within the quota");
        last = Some(resp);
    }
    last.expect("at least one request")
}

#[tokio::test]
async fn exceeding_the_general_quota_answers_429_with_retry_after_and_rate_limit_headers() {
    let app = limited_app(|cfg| cfg.rate_limit.general = quota("3/minute")).await;

    let mut allowed = Vec::new();
    for _ in 0..3 {
        allowed.push(app.get("/api/boards/").await);
    }
    let refused = app.get("/api/boards/").await;

    for (n, resp) in allowed.iter().enumerate() {
        assert_eq!(resp.status(), StatusCode::OK, "request {}", n + 1);
        assert_eq!(header_number(resp, "x-ratelimit-limit"), 3);
        assert_eq!(header_number(resp, "x-ratelimit-remaining"), 2 - n as u64, "request {}", n + 1);
    }
    assert_eq!(header_number(&allowed[0], "x-ratelimit-reset"), 0, "requests remain");
    assert_eq!(header_number(&allowed[1], "x-ratelimit-reset"), 0, "requests remain");
    assert!(header_number(&allowed[2], "x-ratelimit-reset") >= 1, "nothing remains after the last allowed one");
    assert_rate_limited(refused, 3, "3 per 1 minute").await;
}

#[tokio::test]
async fn exceeding_the_register_quota_answers_429() {
    let app = limited_app(|cfg| cfg.rate_limit.register = quota("2/hour")).await;
    register(&app, "first").await;
    let second = app
        .post("/api/auth/register", &json!({"username": "second", "email": "s@example.com", "password": PASSWORD}))
        .await;
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(header_number(&second, "x-ratelimit-limit"), 2);

    let third = app
        .post("/api/auth/register", &json!({"username": "third", "email": "t@example.com", "password": PASSWORD}))
        .await;

    assert_rate_limited(third, 2, "2 per 1 hour").await;
}

#[tokio::test]
async fn requests_that_fail_validation_still_count_against_the_quota() {
    let app = limited_app(|cfg| cfg.rate_limit.register = quota("2/hour")).await;
    for _ in 0..2 {
        let resp = app.post("/api/auth/register", &json!({ "username": "x" })).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    let valid = app
        .post("/api/auth/register", &json!({"username": "valid", "email": "v@example.com", "password": PASSWORD}))
        .await;

    assert_rate_limited(valid, 2, "2 per 1 hour").await;
}

#[tokio::test]
async fn failed_logins_exhaust_the_login_quota_which_refresh_shares() {
    let app = limited_app(|cfg| cfg.rate_limit.login = quota("3/hour")).await;
    register(&app, "alice").await;
    let tokens = login(&app, "alice").await;
    for _ in 0..2 {
        let resp = app.post("/api/auth/login", &json!({ "username": "alice", "password": "Wrong-Passw0rd" })).await;
        assert_error(resp, StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS").await;
    }

    let correct = app.post("/api/auth/login", &json!({ "username": "alice", "password": PASSWORD })).await;
    let refresh = app.post("/api/auth/refresh", &json!({ "refresh_token": tokens["refresh_token"] })).await;

    assert_rate_limited(correct, 3, "3 per 1 hour").await;
    assert_rate_limited(refresh, 3, "3 per 1 hour").await;
}

#[tokio::test]
async fn exhausting_board_creation_does_not_limit_reading_boards() {
    let app = limited_app(|cfg| cfg.rate_limit.board_create = quota("2/hour")).await;
    spend(2, || app.request(Method::POST, "/api/boards/").json(&json!({ "name": "Board" }))).await;

    let refused = app.post("/api/boards/", &json!({ "name": "One too many" })).await;
    let listed = app.get("/api/boards/").await;

    assert_rate_limited(refused, 2, "2 per 1 hour").await;
    assert_eq!(listed.status(), StatusCode::OK);
    let general = app.config.rate_limit.general.count;
    assert_eq!(header_number(&listed, "x-ratelimit-limit"), u64::from(general), "counted in the general class");
}

#[tokio::test]
async fn one_user_exhausting_the_general_quota_does_not_limit_another_user_from_the_same_address() {
    let app = limited_app(|cfg| cfg.rate_limit.general = quota("2/hour")).await;
    register(&app, "alice").await;
    register(&app, "bob").await;
    let (alice, bob) = (access_token(&app, "alice").await, access_token(&app, "bob").await);
    spend(2, || authed(&app, Method::GET, "/api/auth/me", &alice)).await;

    let alice_again = authed(&app, Method::GET, "/api/auth/me", &alice).send().await.expect("GET");
    let bob_first = authed(&app, Method::GET, "/api/auth/me", &bob).send().await.expect("GET");
    let anonymous = app.get("/api/boards/").await;

    assert_rate_limited(alice_again, 2, "2 per 1 hour").await;
    assert_eq!(bob_first.status(), StatusCode::OK);
    assert_eq!(header_number(&bob_first, "x-ratelimit-remaining"), 1, "bob has a bucket of his own");
    assert_eq!(anonymous.status(), StatusCode::OK, "the address bucket is untouched by users");
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_does_not_get_a_fresh_bucket() {
    let app = limited_app(|cfg| cfg.rate_limit.general = quota("2/hour")).await;
    let from = |client: &str| app.request(Method::GET, "/api/boards/").header("x-forwarded-for", client.to_owned());
    from("198.51.100.1").send().await.expect("GET");
    from("198.51.100.2").send().await.expect("GET");

    let third_client = from("198.51.100.3").send().await.expect("GET");

    assert_rate_limited(third_client, 2, "2 per 1 hour").await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_gets_its_own_bucket() {
    let app = limited_app(|cfg| {
        cfg.rate_limit.general = quota("2/hour");
        cfg.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let from = |client: &str| app.request(Method::GET, "/api/boards/").header("x-forwarded-for", client.to_owned());
    spend(2, || from("198.51.100.1")).await;

    let first_again = from("198.51.100.1").send().await.expect("GET");
    let second_client = from("198.51.100.2").send().await.expect("GET");
    let the_proxy_itself = app.get("/api/boards/").await;

    assert_rate_limited(first_again, 2, "2 per 1 hour").await;
    assert_eq!(second_client.status(), StatusCode::OK);
    assert_eq!(header_number(&second_client, "x-ratelimit-remaining"), 1);
    assert_eq!(the_proxy_itself.status(), StatusCode::OK, "no header: the peer's own bucket");
}

#[tokio::test]
async fn root_status_and_openapi_are_never_limited() {
    let app = limited_app(|cfg| cfg.rate_limit.general = quota("1/hour")).await;
    app.get("/api/boards/").await;
    assert_eq!(app.get("/api/boards/").await.status(), StatusCode::TOO_MANY_REQUESTS, "the address is exhausted");

    for path in ["/", "/api/status", "/openapi.json"] {
        for _ in 0..3 {
            let resp = app.get(path).await;

            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            assert_eq!(header(&resp, "x-ratelimit-limit"), None, "{path} is in no class");
        }
    }
}

#[tokio::test]
async fn with_rate_limiting_disabled_nothing_is_limited_and_no_rate_limit_headers_are_sent() {
    let app = spawn_app_with(|cfg| {
        cfg.rate_limit.enabled = false;
        cfg.rate_limit.general = quota("1/hour");
        cfg.rate_limit.board_create = quota("1/hour");
    })
    .await;

    let mut responses = Vec::new();
    for _ in 0..3 {
        responses.push(app.get("/api/boards/").await);
        responses.push(app.post("/api/boards/", &json!({ "name": "Unlimited" })).await);
    }

    for resp in &responses {
        assert!(resp.status().is_success(), "{}", resp.status());
        for name in ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"] {
            assert_eq!(header(resp, name), None, "{name}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CORS
// ---------------------------------------------------------------------------------------------

fn assert_no_wildcard(resp: &Response) {
    for name in [
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-expose-headers",
    ] {
        assert!(!header_list(resp, name).contains(&"*".to_owned()), "{name} is never *");
    }
}

fn assert_cors_allowed(resp: &Response) {
    assert_eq!(header(resp, "access-control-allow-origin").as_deref(), Some(ALLOWED_ORIGIN));
    assert_eq!(header(resp, "access-control-allow-credentials").as_deref(), Some("true"));
    assert!(header_list(resp, "vary").contains(&"origin".to_owned()), "Vary: {:?}", header_list(resp, "vary"));
    assert_no_wildcard(resp);
}

#[tokio::test]
async fn an_allowed_origin_is_echoed_with_credentials_and_vary_origin() {
    let app = spawn_app().await;

    let resp = app.request(Method::GET, "/api/boards/").header("origin", ALLOWED_ORIGIN).send().await.expect("GET");

    assert_eq!(resp.status(), StatusCode::OK);
    assert_cors_allowed(&resp);
}

#[tokio::test]
async fn a_disallowed_origin_gets_no_allow_origin_header_but_is_still_served() {
    let app = spawn_app().await;

    let resp =
        app.request(Method::GET, "/api/boards/").header("origin", "http://evil.example").send().await.expect("GET");

    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, "access-control-allow-origin"), None);
    assert_no_wildcard(&resp);
}

#[tokio::test]
async fn a_preflight_is_answered_with_the_allowed_methods_headers_and_max_age() {
    let app = spawn_app().await;

    let resp = app
        .request(Method::OPTIONS, "/api/tickets/1")
        .header("origin", ALLOWED_ORIGIN)
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "authorization, if-match, idempotency-key, content-type")
        .send()
        .await
        .expect("OPTIONS");

    assert_eq!(resp.status(), StatusCode::OK);
    assert_cors_allowed(&resp);
    let methods = header_list(&resp, "access-control-allow-methods");
    for method in ["get", "head", "post", "put", "delete"] {
        assert!(methods.contains(&method.to_owned()), "{method} in {methods:?}");
    }
    let headers = header_list(&resp, "access-control-allow-headers");
    let wanted =
        ["authorization", "content-type", "if-match", "idempotency-key", "x-request-id", "x-session-id", "x-username"];
    for name in wanted {
        assert!(headers.contains(&name.to_owned()), "{name} in {headers:?}");
    }
    assert_eq!(header(&resp, "access-control-max-age").as_deref(), Some("600"));
}

#[tokio::test]
async fn a_401_to_an_allowed_origin_still_carries_the_cors_headers() {
    let app = spawn_app_with(|cfg| cfg.auth.anonymous_role = AnonymousRole::None).await;

    let resp = app.request(Method::GET, "/api/boards/").header("origin", ALLOWED_ORIGIN).send().await.expect("GET");

    assert_cors_allowed(&resp);
    assert_error(resp, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn a_429_to_an_allowed_origin_still_carries_the_cors_headers() {
    let app = limited_app(|cfg| cfg.rate_limit.general = quota("1/hour")).await;
    app.get("/api/boards/").await;

    let resp = app.request(Method::GET, "/api/boards/").header("origin", ALLOWED_ORIGIN).send().await.expect("GET");

    assert_cors_allowed(&resp);
    assert_rate_limited(resp, 1, "1 per 1 hour").await;
}

#[tokio::test]
async fn responses_to_an_allowed_origin_expose_the_headers_scripts_need() {
    let app = spawn_app().await;

    let resp = app.request(Method::GET, "/api/boards/1").header("origin", ALLOWED_ORIGIN).send().await.expect("GET");

    assert_eq!(resp.status(), StatusCode::OK);
    let exposed = header_list(&resp, "access-control-expose-headers");
    let wanted = [
        "etag",
        "location",
        "retry-after",
        "x-request-id",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "idempotency-replayed",
    ];
    for name in wanted {
        assert!(exposed.contains(&name.to_owned()), "{name} in {exposed:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Secret hygiene
// ---------------------------------------------------------------------------------------------

/// Everything every test in this binary logs, from the first call on (one global subscriber).
fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let installed = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || LogSink(sink.clone()))
            .try_init();
        if let Err(e) = installed {
            eprintln!("another global subscriber was installed first: {e}");
        }
        buffer
    })
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs_text() -> String {
    String::from_utf8_lossy(&captured_logs().lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

/// A token and its signature segment (a partly logged token still leaks its signature).
fn token_parts(token: &str) -> [String; 2] {
    let signature = token.rsplit('.').next().expect("JWT segments");
    [token.to_owned(), signature.to_owned()]
}

#[tokio::test]
async fn passwords_tokens_and_the_jwt_secret_never_reach_the_logs() {
    captured_logs();
    let jwt_secret = "hygiene-jwt-secret-0123456789-abcdefghijkl";
    let password = "Hygiene-Passw0rd-7731";
    let wrong_password = "Hygiene-Wrong-Guess-4412";
    let app = spawn_app_with(|cfg| cfg.auth.jwt_secret = Secret::new(jwt_secret)).await;

    let body = json!({ "username": "hygiene", "email": "hygiene@example.com", "password": password });
    assert_eq!(app.post("/api/auth/register", &body).await.status(), StatusCode::CREATED);
    let failed = app.post("/api/auth/login", &json!({ "username": "hygiene", "password": wrong_password })).await;
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    let resp = app.post("/api/auth/login", &json!({ "username": "hygiene", "password": password })).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let first: Value = resp.json().await.expect("tokens");
    let resp = app.post("/api/auth/refresh", &json!({ "refresh_token": first["refresh_token"] })).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let second: Value = resp.json().await.expect("tokens");
    let access = second["access_token"].as_str().expect("access_token");
    assert_eq!(authed(&app, Method::GET, "/api/auth/me", access).send().await.expect("GET").status(), StatusCode::OK);
    let with_query = app.get(&format!("/api/boards/?token={access}")).await;
    assert_eq!(with_query.status(), StatusCode::OK);
    let logout = authed(&app, Method::POST, "/api/auth/logout", access).send().await.expect("logout");
    assert_eq!(logout.status(), StatusCode::OK);

    let logs = logs_text();
    assert!(logs.contains("/api/auth/login"), "the capture works: requests are logged with their path");
    let mut secrets = vec![jwt_secret.to_owned(), password.to_owned(), wrong_password.to_owned()];
    for tokens in [&first, &second] {
        for kind in ["access_token", "refresh_token"] {
            secrets.extend(token_parts(tokens[kind].as_str().expect("token")));
        }
    }
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret was logged: {secret}");
    }
}
