//! Tests for the WebSocket hub (`realtime.md`, `api.md` §12, `auth.md` §11, `spa-compat.md` C):
//! the handshake and its refusals, the event catalogue and envelope, ordering, replay and resync,
//! client messages, liveness, slow consumers, access revocation, frame limits, the `/ws` HTTP routes
//! and graceful shutdown.
//!
//! Nothing here sleeps to synchronise: a test awaits the frame it expects (with a timeout), and
//! proves that a socket received *nothing* by making a later "sentinel" write that must be the
//! first frame the socket sees, followed by a short quiet window. The only sleeps pace a pinging
//! client, space the polls of a condition that has a deadline, or let a socket be idle for the
//! whole seconds that `POST /ws/cleanup` measures.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use agent_kanban::config::AnonymousRole;
use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::helpers::*;

const PASSWORD: &str = "Secret123";

/// How long a socket must stay silent, after a sentinel proved ordering, to count as "got nothing".
const QUIET: Duration = Duration::from_millis(300);

/// The first of the default columns of every board, including the seeded board 1.
const FIRST_COLUMN: &str = "Not Started";

// ---------------------------------------------------------------------------------------------
// Local helpers
// ---------------------------------------------------------------------------------------------

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap_or_else(|| panic!("expected an object, got {v}")).keys().cloned().collect()
}

fn names(fields: &[&str]) -> BTreeSet<String> {
    fields.iter().map(|f| (*f).to_owned()).collect()
}

/// The next text frame that is not a heartbeat.
pub(crate) async fn next_frame(ws: &mut WsClient) -> Value {
    loop {
        let frame = ws.next_json().await;
        assert!(frame["event"].is_string() || frame["type"].is_string(), "a frame with an event or type key: {frame}");
        if frame["event"] != "heartbeat" {
            return frame;
        }
    }
}

/// Assert that nothing but heartbeats arrives within [`QUIET`].
pub(crate) async fn assert_quiet(ws: &mut WsClient) {
    let deadline = tokio::time::Instant::now() + QUIET;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match ws.next_json_within(left).await {
            None => return,
            Some(frame) if frame["event"] == "heartbeat" => continue,
            Some(frame) => panic!("expected no frame, got {frame}"),
        }
    }
}

/// Send a ping and expect the pong as the next non-heartbeat frame: the socket is open and idle.
pub(crate) async fn assert_pong(ws: &mut WsClient) {
    ws.send_json(&json!({"type": "ping"})).await;
    let frame = next_frame(ws).await;
    assert_eq!(frame["type"], "pong", "expected a pong, got {frame}");
    assert!(is_api_timestamp(&frame["timestamp"]), "pong timestamp in {frame}");
}

/// Connect, consume `connected`, and round-trip a ping so the session has set up its subscriptions.
pub(crate) async fn open(app: &TestApp, query: &str) -> (WsClient, Value) {
    let mut ws = app.ws(query).await;
    let hello = ws.next_event("connected").await;
    assert_pong(&mut ws).await;
    (ws, hello)
}

/// Assert the board-event envelope (`event`, `data`, numeric `board_id`, `timestamp` in Z, `seq`)
/// and that `data` has exactly `fields`; returns `data`.
fn assert_event<'a>(frame: &'a Value, event: &str, board_id: i64, fields: &[&str]) -> &'a Value {
    assert_eq!(frame["event"], event, "event name in {frame}");
    assert_eq!(keys(frame), names(&["event", "data", "board_id", "timestamp", "seq"]), "envelope keys of {frame}");
    assert!(frame["board_id"].is_i64(), "board_id is a JSON number in {frame}");
    assert_eq!(frame["board_id"].as_i64(), Some(board_id), "board_id in {frame}");
    assert!(is_api_timestamp(&frame["timestamp"]), "timestamp ends in Z in {frame}");
    assert!(frame["seq"].as_i64().is_some_and(|s| s >= 1), "numeric seq in {frame}");
    assert_eq!(keys(&frame["data"]), names(fields), "data fields of {event}");
    &frame["data"]
}

pub(crate) fn seq(frame: &Value) -> i64 {
    frame["seq"].as_i64().unwrap_or_else(|| panic!("no seq in {frame}"))
}

/// Assert a 2xx status and return the JSON body.
async fn ok(resp: Response) -> Value {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "expected success, got {status}: {body}");
    body
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

async fn register(app: &TestApp, username: &str) -> Value {
    let body = json!({"username": username, "email": format!("{username}@example.com"), "password": PASSWORD});
    let resp = app.post("/api/auth/register", &body).await;
    assert_eq!(resp.status(), StatusCode::CREATED, "register {username}");
    resp.json().await.expect("user body")
}

async fn login(app: &TestApp, username: &str) -> String {
    let body = ok(app.post("/api/auth/login", &json!({"username": username, "password": PASSWORD})).await).await;
    body["access_token"].as_str().expect("access_token").to_owned()
}

/// Register the first user (an admin) and return their access token.
async fn admin_token(app: &TestApp) -> String {
    let user = register(app, "root").await;
    assert_eq!(user["role"], "admin", "the first user is admin");
    login(app, "root").await
}

/// Register `username` (a viewer, after the admin exists); returns (user id, access token).
async fn viewer(app: &TestApp, username: &str) -> (i64, String) {
    let user = register(app, username).await;
    (id(&user), login(app, username).await)
}

async fn send_as(app: &TestApp, method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Response {
    let mut req = app.request(method, path);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    req.send().await.expect("request")
}

/// Expect the server to close `ws` with `code`.
pub(crate) async fn assert_closed_with(ws: &mut WsClient, code: u16) {
    assert_eq!(ws.closed_with(Duration::from_secs(10)).await, Some(code), "close code");
}

/// A board socket, an all-boards socket and a socket on another board, all idle.
struct Watchers {
    board: WsClient,
    all: WsClient,
    other: WsClient,
    board_id: i64,
    other_board: i64,
}

impl Watchers {
    async fn on(app: &TestApp, board_id: i64, other_board: i64) -> Watchers {
        let (board, _) = open(app, &format!("board_id={board_id}")).await;
        let (all, _) = open(app, "").await;
        let (other, _) = open(app, &format!("board_id={other_board}")).await;
        Watchers { board, all, other, board_id, other_board }
    }

    /// The next frame of the board socket, which the all-boards socket must receive identically.
    async fn next(&mut self) -> Value {
        let on_board = next_frame(&mut self.board).await;
        let on_all = next_frame(&mut self.all).await;
        assert_eq!(on_all, on_board, "all-boards and board subscribers see the same frame");
        on_board
    }

    /// Prove the other board's socket got nothing: a sentinel write there is the first frame it sees.
    async fn other_board_saw_nothing(&mut self, app: &TestApp) {
        let sentinel = app.create_ticket(self.other_board, "sentinel").await;
        let first = next_frame(&mut self.other).await;
        assert_eq!(first["event"], "ticket_created", "the other board's first frame is the sentinel: {first}");
        assert_eq!(first["data"]["id"], sentinel["id"]);
        assert_eq!(next_frame(&mut self.all).await, first);
        assert_quiet(&mut self.other).await;
    }

    /// Prove the board's sockets got nothing more: a sentinel write on the board is their next frame.
    async fn board_saw_nothing_more(&mut self, app: &TestApp) {
        let sentinel = app.create_ticket(self.board_id, "sentinel").await;
        let first = self.next().await;
        assert_eq!(first["event"], "ticket_created", "the next frame is the sentinel: {first}");
        assert_eq!(first["data"]["id"], sentinel["id"]);
        assert_quiet(&mut self.board).await;
    }
}

const TICKET_CREATED: &[&str] = &[
    "id",
    "board_id",
    "title",
    "description",
    "acceptance_criteria",
    "priority",
    "assignee",
    "current_column",
    "created_at",
    "updated_at",
    "column_entered_at",
    "version",
];
const TICKET_UPDATED: &[&str] = &[
    "id",
    "board_id",
    "title",
    "description",
    "acceptance_criteria",
    "priority",
    "assignee",
    "current_column",
    "updated_at",
    "version",
    "changed_fields",
];
const TICKET_MOVED: &[&str] = &[
    "id",
    "title",
    "description",
    "priority",
    "assignee",
    "current_column",
    "from_column",
    "to_column",
    "moved_by",
    "moved_at",
    "created_at",
    "updated_at",
    "version",
];

fn changed_fields(data: &Value) -> BTreeSet<String> {
    data["changed_fields"]
        .as_array()
        .unwrap_or_else(|| panic!("changed_fields is an array in {data}"))
        .iter()
        .map(|f| f.as_str().expect("field names are strings").to_owned())
        .collect()
}

/// A fresh board (created before any watcher connects) and its id.
async fn fresh_board(app: &TestApp, name: &str) -> i64 {
    id(&app.create_board(name).await)
}

// ---------------------------------------------------------------------------------------------
// The event catalogue (realtime.md §3–4)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_ticket_created_over_rest_reaches_board_and_all_board_subscribers() {
    let app = spawn_app().await;
    let mut board = app.ws("board_id=1").await;
    let mut all = app.ws("").await;
    let hello = board.next_event("connected").await;
    assert_eq!(hello["data"]["board_id"], 1);
    assert_eq!(hello["data"]["last_seq"], 0);
    assert!(all.next_event("connected").await["data"]["board_id"].is_null());

    let ticket = app.create_ticket(1, "Hello").await;

    let on_board = board.next_event("ticket_created").await;
    assert_eq!(on_board["data"]["id"], ticket["id"]);
    assert_eq!(on_board["board_id"], 1);
    assert_eq!(on_board["seq"], 1);
    assert_eq!(all.next_event("ticket_created").await, on_board);
    let moved = app.post(&format!("/api/tickets/{}/move", ticket["id"]), &json!({"column": "Done"})).await;
    assert!(moved.status().is_success());
    let ev = board.next_event("ticket_moved").await;
    assert!(ev["data"].get("board_id").is_none());
    assert_eq!(ev["seq"], 2);
}

#[tokio::test]
async fn the_connected_frame_describes_the_connection() {
    let app = spawn_app().await;

    let mut on_board = app.ws("board_id=1").await;
    let mut all = app.ws("").await;

    let hello = on_board.next_json().await;
    assert_eq!(hello["event"], "connected", "the first frame is connected: {hello}");
    let fields = ["client_id", "client_label", "username", "board_id", "last_seq", "message", "server_time"];
    assert_eq!(keys(&hello["data"]), names(&fields));
    assert_eq!(hello["data"]["message"], "Connected to Agent Kanban Board WebSocket");
    assert!(is_api_timestamp(&hello["data"]["server_time"]));
    assert_eq!(hello["data"]["username"], "anonymous");
    assert!(hello["data"]["client_label"].is_null());
    assert!(hello["data"]["board_id"].is_i64() && hello["data"]["last_seq"].is_i64());
    let hello_all = all.next_json().await;
    assert_eq!(hello_all["event"], "connected");
    assert!(hello_all["data"]["board_id"].is_null() && hello_all["data"]["last_seq"].is_null());
}

#[tokio::test]
async fn board_created_reaches_all_board_subscribers_only() {
    let app = spawn_app().await;
    let (mut all, _) = open(&app, "").await;
    let (mut board_one, _) = open(&app, "board_id=1").await;

    let board = app.create_board("Roadmap").await;

    let frame = next_frame(&mut all).await;
    let data =
        assert_event(&frame, "board_created", id(&board), &["id", "name", "description", "columns", "created_at"]);
    assert_eq!(frame["seq"], 1, "board_created is seq 1 of the new board");
    assert_eq!(data["id"], board["id"]);
    assert_eq!(data["name"], "Roadmap");
    assert_eq!(data["columns"], board["columns"]);
    assert!(is_api_timestamp(&data["created_at"]));
    let sentinel = app.create_ticket(1, "sentinel").await;
    let first = next_frame(&mut board_one).await;
    assert_eq!(first["event"], "ticket_created", "board 1's first frame is the sentinel: {first}");
    assert_eq!(first["data"]["id"], sentinel["id"]);
    assert_quiet(&mut board_one).await;
}

#[tokio::test]
async fn board_updated_reaches_the_board_and_all_board_subscribers_only() {
    let app = spawn_app().await;
    let board_id = fresh_board(&app, "Roadmap").await;
    let mut w = Watchers::on(&app, board_id, 1).await;

    let updated = ok(app.put(&format!("/api/boards/{board_id}"), &json!({"name": "Roadmap 2027"})).await).await;

    let frame = w.next().await;
    let data = assert_event(
        &frame,
        "board_updated",
        board_id,
        &["id", "name", "description", "columns", "updated_at", "version"],
    );
    assert_eq!(data["id"], board_id);
    assert_eq!(data["name"], "Roadmap 2027");
    assert_eq!(data["version"], updated["version"]);
    assert!(data["version"].is_i64() && is_api_timestamp(&data["updated_at"]));
    assert_eq!(frame["seq"], 2);
    w.other_board_saw_nothing(&app).await;
}

#[tokio::test]
async fn a_board_update_without_a_real_change_emits_nothing() {
    let app = spawn_app().await;
    let board_id = fresh_board(&app, "Roadmap").await;
    let mut w = Watchers::on(&app, board_id, 1).await;

    ok(app.put(&format!("/api/boards/{board_id}"), &json!({"name": "Roadmap"})).await).await;

    w.board_saw_nothing_more(&app).await;
}

/// The single update of a `bulk_update` frame, checked for its keys and its tickets' keys.
fn single_update<'a>(frame: &'a Value, kind: &str, extra: &[&str], ticket_fields: &[&str]) -> &'a Value {
    let updates = frame["data"]["updates"].as_array().expect("updates");
    assert_eq!(updates.len(), 1, "one update in {frame}");
    assert_eq!(frame["data"]["count"], 1);
    let update = &updates[0];
    assert_eq!(update["type"], kind);
    let mut fields = vec!["type", "ticket_ids", "changed_by", "timestamp", "tickets"];
    fields.extend_from_slice(extra);
    assert_eq!(keys(update), names(&fields), "keys of the {kind} update");
    assert!(is_api_timestamp(&update["timestamp"]));
    for ticket in update["tickets"].as_array().expect("tickets") {
        assert_eq!(keys(ticket), names(ticket_fields), "per-ticket keys of {kind}");
    }
    let listed: Vec<Value> = update["tickets"].as_array().expect("tickets").iter().map(|t| t["id"].clone()).collect();
    assert_eq!(update["ticket_ids"], json!(listed), "ticket_ids are the listed tickets");
    update
}

/// The `column_migration` update of `frame` (a `bulk_update` following a column change), checked
/// against the history of the one ticket it moved.
async fn assert_column_migration(app: &TestApp, frame: &Value, board_id: i64, ticket: &Value, to: &str) {
    assert_event(frame, "bulk_update", board_id, &["updates", "count"]);
    let update =
        single_update(frame, "column_migration", &[], &["id", "current_column", "column_entered_at", "version"]);
    assert_eq!(update["ticket_ids"], json!([id(ticket)]), "only the changed ticket is listed: {frame}");
    let moved = app.get_json(&format!("/api/tickets/{}", id(ticket))).await;
    assert_eq!(moved["current_column"], to);
    let listed = &update["tickets"][0];
    assert_eq!((&listed["current_column"], &listed["version"]), (&moved["current_column"], &moved["version"]));
    assert_eq!(listed["column_entered_at"], moved["column_entered_at"]);
    let history = app.get_json(&format!("/api/history/tickets/{}/history", id(ticket))).await;
    assert_eq!(update["changed_by"], history[0]["changed_by"], "changed_by is the actor of the move");
}

#[tokio::test]
async fn columns_updated_precedes_the_column_migration_of_the_moved_tickets() {
    let app = spawn_app().await;
    let board_id = fresh_board(&app, "Roadmap").await;
    let body = json!({"board_id": board_id, "title": "Stuck", "current_column": "Blocked"});
    let ticket = ok(app.post("/api/tickets/", &body).await).await;
    app.create_ticket(board_id, "Stays where it is").await;
    let mut w = Watchers::on(&app, board_id, 1).await;

    let columns = ["Not Started", "In Progress", "Ready for QC", "Done"];
    let path = format!("/api/boards/{board_id}/columns");
    let result = ok(app.put(&path, &json!({"columns": columns, "move_tickets_to": "Done"})).await).await;
    assert_eq!(result["moved_tickets"], 1);

    let first = w.next().await;
    let data = assert_event(&first, "columns_updated", board_id, &["board_id", "columns"]);
    assert_eq!(data["board_id"], board_id);
    assert_eq!(data["columns"], json!(columns));
    let second = w.next().await;
    assert_eq!(seq(&second), seq(&first) + 1, "the migration directly follows the board-level event");
    assert_column_migration(&app, &second, board_id, &ticket, "Done").await;
    w.other_board_saw_nothing(&app).await;
}

#[tokio::test]
async fn columns_updated_without_moved_tickets_has_no_bulk_update() {
    let app = spawn_app().await;
    let board_id = fresh_board(&app, "Roadmap").await;
    let mut w = Watchers::on(&app, board_id, 1).await;

    let columns = json!(["Todo", "Doing", "Done"]);
    ok(app.put(&format!("/api/boards/{board_id}/columns"), &columns).await).await;

    let frame = w.next().await;
    let data = assert_event(&frame, "columns_updated", board_id, &["board_id", "columns"]);
    assert_eq!(data["columns"], columns);
    w.board_saw_nothing_more(&app).await;
}

#[tokio::test]
async fn board_updated_with_columns_precedes_its_column_migration() {
    let app = spawn_app().await;
    let board_id = fresh_board(&app, "Roadmap").await;
    let body = json!({"board_id": board_id, "title": "Stuck", "current_column": "Blocked"});
    let ticket = ok(app.post("/api/tickets/", &body).await).await;
    app.create_ticket(board_id, "Stays where it is").await;
    let mut w = Watchers::on(&app, board_id, 1).await;

    let columns = ["Not Started", "In Progress", "Done"];
    let body = json!({"columns": columns, "move_tickets_to": "In Progress"});
    ok(app.put(&format!("/api/boards/{board_id}"), &body).await).await;

    let first = w.next().await;
    let data = assert_event(
        &first,
        "board_updated",
        board_id,
        &["id", "name", "description", "columns", "updated_at", "version"],
    );
    assert_eq!(data["columns"], json!(columns));
    let second = w.next().await;
    assert_eq!(seq(&second), seq(&first) + 1, "the migration directly follows the board-level event");
    assert_column_migration(&app, &second, board_id, &ticket, "In Progress").await;
    w.other_board_saw_nothing(&app).await;
}

#[tokio::test]
async fn board_deleted_reaches_the_board_and_all_board_subscribers_only() {
    let app = spawn_app().await;
    let board_id = fresh_board(&app, "Roadmap").await;
    let mut w = Watchers::on(&app, board_id, 1).await;

    ok(app.delete(&format!("/api/boards/{board_id}")).await).await;

    let frame = w.next().await;
    let data = assert_event(&frame, "board_deleted", board_id, &["id"]);
    assert_eq!(data["id"], board_id);
    w.other_board_saw_nothing(&app).await;
}

#[tokio::test]
async fn ticket_created_carries_the_whole_new_ticket() {
    let app = spawn_app().await;
    let board_id = fresh_board(&app, "Roadmap").await;
    let mut w = Watchers::on(&app, board_id, 1).await;

    let body = json!({"board_id": board_id, "title": "Write docs", "description": "All of them", "priority": "2.0"});
    let ticket = ok(app.post("/api/tickets/", &body).await).await;

    let frame = w.next().await;
    let data = assert_event(&frame, "ticket_created", board_id, TICKET_CREATED);
    assert!(data["id"].is_i64() && data["board_id"].is_i64() && data["version"].is_i64());
    assert_eq!(data["board_id"], board_id);
    for field in TICKET_CREATED {
        assert_eq!(data[field], ticket[field], "{field} matches the REST response");
    }
    assert_eq!(data["current_column"], FIRST_COLUMN);
    assert!(data["assignee"].is_null() && data["acceptance_criteria"].is_null());
    assert!(is_api_timestamp(&data["created_at"]) && is_api_timestamp(&data["column_entered_at"]));
    w.other_board_saw_nothing(&app).await;
}

#[tokio::test]
async fn ticket_updated_names_the_changed_fields() {
    let app = spawn_app().await;
    let board_id = fresh_board(&app, "Roadmap").await;
    let ticket = app.create_ticket(board_id, "Write docs").await;
    let mut w = Watchers::on(&app, board_id, 1).await;

    let path = format!("/api/tickets/{}", id(&ticket));
    let updated = ok(app.put(&path, &json!({"title": "Write the docs", "priority": "3.0"})).await).await;

    let frame = w.next().await;
    let data = assert_event(&frame, "ticket_updated", board_id, TICKET_UPDATED);
    assert_eq!(changed_fields(data), names(&["title", "priority"]));
    assert_eq!(data["id"], ticket["id"]);
    assert_eq!(data["board_id"], board_id);
    assert_eq!(data["title"], "Write the docs");
    assert_eq!(data["priority"], "3.0");
    assert_eq!(data["version"], updated["version"]);
    assert_eq!(data["updated_at"], updated["updated_at"]);
    w.other_board_saw_nothing(&app).await;
}

#[tokio::test]
async fn a_ticket_update_without_a_real_change_emits_nothing() {
    let app = spawn_app().await;
    let board_id = fresh_board(&app, "Roadmap").await;
    let ticket = app.create_ticket(board_id, "Write docs").await;
    let mut w = Watchers::on(&app, board_id, 1).await;

    let path = format!("/api/tickets/{}", id(&ticket));
    ok(app.put(&path, &json!({"title": "Write docs", "priority": ticket["priority"]})).await).await;

    w.board_saw_nothing_more(&app).await;
}

#[tokio::test]
async fn ticket_moved_has_no_board_id_in_its_data() {
    let app = spawn_app().await;
    let board_id = fresh_board(&app, "Roadmap").await;
    let ticket = app.create_ticket(board_id, "Write docs").await;
    let mut w = Watchers::on(&app, board_id, 1).await;

    let path = format!("/api/tickets/{}/move", id(&ticket));
    let moved = ok(app.post(&path, &json!({"column": "in progress", "moved_by": "alice"})).await).await;

    let frame = w.next().await;
    let data = assert_event(&frame, "ticket_moved", board_id, TICKET_MOVED);
    assert!(data.get("board_id").is_none(), "no board_id inside data");
    assert_eq!(data["id"], ticket["id"]);
    assert_eq!(data["from_column"], FIRST_COLUMN);
    assert_eq!(data["to_column"], "In Progress", "the canonical column name");
    assert_eq!(data["current_column"], data["to_column"]);
    assert_eq!(data["moved_at"], moved["column_entered_at"]);
    for field in ["title", "description", "priority", "assignee", "created_at", "updated_at", "version"] {
        assert_eq!(data[field], moved[field], "{field} matches the REST response");
    }
    let history = app.get_json(&format!("/api/history/tickets/{}/history", id(&ticket))).await;
    assert_eq!(data["moved_by"], history[0]["changed_by"], "moved_by is the history's changed_by");
    assert_eq!(data["moved_by"], "alice");
    w.other_board_saw_nothing(&app).await;
}

#[tokio::test]
async fn moving_a_ticket_to_its_own_column_emits_nothing() {
    let app = spawn_app().await;
    let board_id = fresh_board(&app, "Roadmap").await;
    let ticket = app.create_ticket(board_id, "Write docs").await;
    let mut w = Watchers::on(&app, board_id, 1).await;

    let path = format!("/api/tickets/{}/move", id(&ticket));
    ok(app.post(&path, &json!({"column": FIRST_COLUMN})).await).await;

    w.board_saw_nothing_more(&app).await;
}

#[tokio::test]
async fn claiming_emits_ticket_claimed_and_releasing_emits_ticket_updated() {
    let app = spawn_app().await;
    let board_id = fresh_board(&app, "Roadmap").await;
    let ticket = app.create_ticket(board_id, "Write docs").await;
    let mut w = Watchers::on(&app, board_id, 1).await;

    let claimed = ok(app.post(&format!("/api/tickets/{}/claim?agent_id=bob", id(&ticket)), &json!({})).await).await;
    let frame = w.next().await;
    let data = assert_event(&frame, "ticket_claimed", board_id, &["id", "board_id", "assignee", "version"]);
    assert_eq!(data["id"], ticket["id"]);
    assert_eq!(data["board_id"], board_id);
    assert_eq!(data["assignee"], "bob");
    assert_eq!(data["version"], claimed["version"]);

    let released = ok(app.post(&format!("/api/tickets/{}/release", id(&ticket)), &json!({})).await).await;
    let frame = w.next().await;
    let data = assert_event(&frame, "ticket_updated", board_id, TICKET_UPDATED);
    assert_eq!(changed_fields(data), names(&["assignee"]));
    assert!(data["assignee"].is_null());
    assert_eq!(data["version"], released["version"]);
    w.other_board_saw_nothing(&app).await;
}

#[tokio::test]
async fn claiming_a_ticket_already_held_by_the_claimant_emits_nothing() {
    let app = spawn_app().await;
    let board_id = fresh_board(&app, "Roadmap").await;
    let ticket = app.create_ticket(board_id, "Write docs").await;
    let claim = format!("/api/tickets/{}/claim?agent_id=bob", id(&ticket));
    ok(app.post(&claim, &json!({})).await).await;
    let mut w = Watchers::on(&app, board_id, 1).await;

    ok(app.post(&claim, &json!({})).await).await;

    w.board_saw_nothing_more(&app).await;
}

#[tokio::test]
async fn ticket_deleted_reaches_the_board_and_all_board_subscribers_only() {
    let app = spawn_app().await;
    let board_id = fresh_board(&app, "Roadmap").await;
    let ticket = app.create_ticket(board_id, "Write docs").await;
    let mut w = Watchers::on(&app, board_id, 1).await;

    ok(app.delete(&format!("/api/tickets/{}", id(&ticket))).await).await;

    let frame = w.next().await;
    let data = assert_event(&frame, "ticket_deleted", board_id, &["id", "board_id"]);
    assert_eq!(data["id"], ticket["id"]);
    assert_eq!(data["board_id"], board_id);
    w.other_board_saw_nothing(&app).await;
}

#[tokio::test]
async fn comments_emit_added_updated_and_deleted() {
    let app = spawn_app().await;
    let board_id = fresh_board(&app, "Roadmap").await;
    let ticket = app.create_ticket(board_id, "Write docs").await;
    let mut w = Watchers::on(&app, board_id, 1).await;

    let body = json!({"ticket_id": id(&ticket), "text": "First!", "author": "bob"});
    let comment = ok(app.post("/api/comments/", &body).await).await;
    let frame = w.next().await;
    let data = assert_event(
        &frame,
        "comment_added",
        board_id,
        &["id", "ticket_id", "board_id", "text", "author", "created_at"],
    );
    assert_eq!(data["id"], comment["id"]);
    assert_eq!(data["ticket_id"], ticket["id"]);
    assert_eq!(data["board_id"], board_id);
    assert_eq!(data["text"], "First!");
    assert_eq!(data["author"], comment["author"]);

    let path = format!("/api/comments/{}", id(&comment));
    ok(app.put(&path, &json!({"text": "Second thoughts"})).await).await;
    let frame = w.next().await;
    let fields = ["id", "ticket_id", "board_id", "text", "author", "created_at", "updated_at"];
    let data = assert_event(&frame, "comment_updated", board_id, &fields);
    assert_eq!(data["text"], "Second thoughts");
    assert_eq!(data["created_at"], comment["created_at"]);
    assert!(is_api_timestamp(&data["updated_at"]));

    ok(app.put(&path, &json!({"text": "Second thoughts"})).await).await;
    ok(app.delete(&path).await).await;
    let frame = w.next().await;
    let data = assert_event(&frame, "comment_deleted", board_id, &["id", "ticket_id", "board_id"]);
    assert_eq!(data["id"], comment["id"]);
    assert_eq!(data["ticket_id"], ticket["id"]);
    w.other_board_saw_nothing(&app).await;
}

// ---------------------------------------------------------------------------------------------
// Ordering (realtime.md §5)
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_writes_arrive_in_seq_order_without_gaps() {
    let app = spawn_app().await;
    let (mut board, hello) = open(&app, "board_id=1").await;
    let (mut all, _) = open(&app, "").await;
    assert_eq!(hello["data"]["last_seq"], 0);

    // 250 creates and 250 moves from 8 concurrent tasks.
    let mut tasks = Vec::new();
    for task in 0..8 {
        let (client, base) = (app.client.clone(), app.base.clone());
        let iterations = if task < 2 { 32 } else { 31 };
        tasks.push(tokio::spawn(async move {
            for i in 0..iterations {
                let body = json!({"board_id": 1, "title": format!("t{task}-{i}")});
                let resp = client.post(format!("{base}/api/tickets/")).json(&body).send().await.expect("POST");
                assert_eq!(resp.status(), StatusCode::CREATED);
                let ticket: Value = resp.json().await.expect("ticket");
                let url = format!("{base}/api/tickets/{}/move", ticket["id"]);
                let resp = client.post(url).json(&json!({"column": "Done"})).send().await.expect("move");
                assert_eq!(resp.status(), StatusCode::OK);
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer task");
    }

    let mut created = BTreeSet::new();
    for expected in 1..=500 {
        let frame = next_frame(&mut board).await;
        assert_eq!(seq(&frame), expected, "seq strictly increasing by 1: {frame}");
        match frame["event"].as_str() {
            Some("ticket_created") => assert!(created.insert(id(&frame["data"]))),
            Some("ticket_moved") => assert!(created.contains(&id(&frame["data"])), "moved after created"),
            _ => panic!("unexpected frame {frame}"),
        }
        assert_eq!(next_frame(&mut all).await, frame, "the all-boards stream has the same order");
    }
    assert_eq!(created.len(), 250);
    assert_quiet(&mut board).await;
}

#[tokio::test]
async fn writes_committed_in_one_batch_are_published_in_commit_order() {
    let app = spawn_app().await;
    let (mut ws, _) = open(&app, "board_id=1").await;
    let before = app.committed_batches();
    let pause = app.pause_writer().await;
    let mut requests = Vec::new();
    for i in 0..3 {
        let (client, base) = (app.client.clone(), app.base.clone());
        requests.push(tokio::spawn(async move {
            let body = json!({"board_id": 1, "title": format!("batched {i}")});
            client.post(format!("{base}/api/tickets/")).json(&body).send().await.expect("POST").status()
        }));
        assert!(pause.wait_queued(i + 1).await, "request {i} reached the writer");
    }

    pause.release().await;

    for request in requests {
        assert_eq!(request.await.expect("task"), StatusCode::CREATED);
    }
    assert_eq!(app.committed_batches(), before + 2, "the pause's batch, then one batch with all three");
    let titles: Vec<Value> = [next_frame(&mut ws).await, next_frame(&mut ws).await, next_frame(&mut ws).await]
        .iter()
        .enumerate()
        .map(|(n, f)| {
            assert_eq!(seq(f), n as i64 + 1, "seq order: {f}");
            f["data"]["title"].clone()
        })
        .collect();
    assert_eq!(titles, vec![json!("batched 0"), json!("batched 1"), json!("batched 2")], "commit order is queue order");
}

#[tokio::test]
async fn a_client_that_disconnects_mid_request_cannot_cancel_the_event() {
    let app = spawn_app().await;
    let (mut ws, _) = open(&app, "board_id=1").await;
    let pause = app.pause_writer().await;
    let (client, base) = (app.client.clone(), app.base.clone());
    let request = tokio::spawn(async move {
        client.post(format!("{base}/api/tickets/")).json(&json!({"board_id": 1, "title": "orphan"})).send().await
    });
    assert!(pause.wait_queued(1).await, "the request reached the writer");

    request.abort();
    let _ = request.await;
    pause.release().await;

    let frame = next_frame(&mut ws).await;
    assert_eq!(frame["event"], "ticket_created", "got {frame}");
    assert_eq!(frame["data"]["title"], "orphan");
    assert_eq!(seq(&frame), 1);
}

// ---------------------------------------------------------------------------------------------
// Replay and resync (realtime.md §6)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn reconnecting_with_since_replays_exactly_the_missed_events_then_goes_live() {
    let app = spawn_app().await;
    for i in 0..3 {
        app.create_ticket(1, &format!("before {i}")).await;
    }
    let (first, hello) = open(&app, "board_id=1").await;
    let since = hello["data"]["last_seq"].as_i64().expect("last_seq");
    assert_eq!(since, 3);
    drop(first);
    let (mut witness, _) = open(&app, "").await;

    for i in 0..50 {
        app.create_ticket(1, &format!("missed {i}")).await;
    }
    let mut live = Vec::new();
    for _ in 0..50 {
        live.push(next_frame(&mut witness).await);
    }
    let mut again = app.ws(&format!("board_id=1&since={since}")).await;

    let hello = again.next_event("connected").await;
    assert_eq!(hello["data"]["last_seq"], 53);
    for (n, original) in live.iter().enumerate() {
        let replayed = next_frame(&mut again).await;
        assert_eq!(seq(&replayed), since + 1 + n as i64, "replayed in order");
        assert_eq!(&replayed, original, "a replayed event has the live envelope");
    }
    let ticket = app.create_ticket(1, "live").await;
    let next = next_frame(&mut again).await;
    assert_eq!(next["event"], "ticket_created", "the live event comes next: {next}");
    assert_eq!(seq(&next), 54, "no duplicate, no gap");
    assert_eq!(next["data"]["id"], ticket["id"]);
    assert_quiet(&mut again).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_during_a_stream_of_writes_has_no_gap_and_no_duplicate() {
    let app = spawn_app().await;
    let (mut witness, _) = open(&app, "board_id=1").await;
    let mut writers = Vec::new();
    for task in 0..4 {
        let (client, base) = (app.client.clone(), app.base.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..50 {
                let body = json!({"board_id": 1, "title": format!("w{task}-{i}")});
                let resp = client.post(format!("{base}/api/tickets/")).json(&body).send().await.expect("POST");
                assert_eq!(resp.status(), StatusCode::CREATED);
            }
        }));
    }

    let mut rejoined = Vec::new();
    for seen in 1..=200 {
        let frame = next_frame(&mut witness).await;
        assert_eq!(seq(&frame), seen);
        if seen % 40 == 0 {
            let since = seen - 15;
            rejoined.push((since, app.ws(&format!("board_id=1&since={since}")).await));
        }
    }
    for writer in writers {
        writer.await.expect("writer task");
    }

    assert_eq!(rejoined.len(), 5);
    for (since, mut ws) in rejoined {
        assert!(ws.next_event("connected").await["data"]["last_seq"].as_i64().is_some_and(|l| l >= since));
        for expected in since + 1..=200 {
            let frame = next_frame(&mut ws).await;
            assert_eq!(seq(&frame), expected, "socket rejoined at {since}: replay then live, contiguous");
        }
        assert_quiet(&mut ws).await;
    }
}

#[tokio::test]
async fn since_equal_to_the_board_seq_replays_nothing() {
    let app = spawn_app().await;
    app.create_ticket(1, "one").await;
    let (mut ws, hello) = open(&app, "board_id=1&since=1").await;
    assert_eq!(hello["data"]["last_seq"], 1);

    let ticket = app.create_ticket(1, "two").await;

    let next = next_frame(&mut ws).await;
    assert_eq!(next["data"]["id"], ticket["id"]);
    assert_eq!(seq(&next), 2);
}

#[tokio::test]
async fn since_ahead_of_the_board_asks_for_a_resync_and_stays_live() {
    let app = spawn_app().await;
    app.create_ticket(1, "one").await;
    let mut ws = app.ws("board_id=1&since=999").await;
    ws.next_event("connected").await;

    let resync = next_frame(&mut ws).await;

    assert_eq!(resync["event"], "resync_required", "got {resync}");
    assert_eq!(resync["board_id"], 1);
    assert!(is_api_timestamp(&resync["timestamp"]));
    assert_eq!(resync["data"], json!({"board_id": 1, "last_seq": 1, "reason": "future_seq"}));
    let ticket = app.create_ticket(1, "live").await;
    let next = next_frame(&mut ws).await;
    assert_eq!(next["data"]["id"], ticket["id"]);
    assert_eq!(seq(&next), 2);
}

async fn app_with_purged_log() -> TestApp {
    let app = spawn_app_with(|cfg| cfg.events.max_per_board = 100).await;
    for i in 0..150 {
        app.create_ticket(1, &format!("t{i}")).await;
    }
    assert_eq!(app.purge_events().await, 50, "the 50 oldest events are purged");
    app
}

#[tokio::test]
async fn since_behind_the_purged_log_asks_for_a_resync_and_stays_live() {
    let app = app_with_purged_log().await;

    let mut ws = app.ws("board_id=1&since=5").await;
    assert_eq!(ws.next_event("connected").await["data"]["last_seq"], 150);

    let resync = next_frame(&mut ws).await;
    assert_eq!(resync["event"], "resync_required", "got {resync}");
    assert_eq!(resync["data"], json!({"board_id": 1, "last_seq": 150, "reason": "expired"}));
    let ticket = app.create_ticket(1, "live").await;
    let next = next_frame(&mut ws).await;
    assert_eq!(next["data"]["id"], ticket["id"]);
    assert_eq!(seq(&next), 151);
    assert_pong(&mut ws).await;
}

#[tokio::test]
async fn since_needing_the_first_purged_event_is_expired_but_the_next_one_replays() {
    let app = app_with_purged_log().await;

    let mut expired = app.ws("board_id=1&since=49").await;
    let mut replayed = app.ws("board_id=1&since=50").await;

    expired.next_event("connected").await;
    assert_eq!(next_frame(&mut expired).await["data"]["reason"], "expired");
    replayed.next_event("connected").await;
    for expected in 51..=150 {
        let frame = next_frame(&mut replayed).await;
        assert_eq!(frame["event"], "ticket_created", "got {frame}");
        assert_eq!(seq(&frame), expected);
    }
    assert_quiet(&mut replayed).await;
}

#[tokio::test]
async fn subscribe_board_with_since_replays_over_an_open_socket() {
    let app = spawn_app().await;
    let other = fresh_board(&app, "Elsewhere").await;
    let (mut ws, _) = open(&app, &format!("board_id={other}")).await;
    let mut missed = Vec::new();
    for i in 0..5 {
        missed.push(app.create_ticket(1, &format!("missed {i}")).await);
    }

    ws.send_json(&json!({"type": "subscribe_board", "board_id": 1, "since": 2})).await;

    let subscribed = next_frame(&mut ws).await;
    assert_eq!(subscribed, json!({"event": "subscribed", "data": {"board_id": 1, "last_seq": 5}}));
    for (expected, ticket) in (3..=5).zip(&missed[2..]) {
        let frame = next_frame(&mut ws).await;
        assert_eq!(seq(&frame), expected);
        assert_eq!(frame["data"]["id"], ticket["id"]);
    }
    let ticket = app.create_ticket(1, "live").await;
    let next = next_frame(&mut ws).await;
    assert_eq!(seq(&next), 6);
    assert_eq!(next["data"]["id"], ticket["id"]);
}

#[tokio::test]
async fn subscribe_board_with_a_future_since_asks_for_a_resync() {
    let app = spawn_app().await;
    let (mut ws, _) = open(&app, "").await;

    ws.send_json(&json!({"type": "subscribe_board", "board_id": 1, "since": 7})).await;

    assert_eq!(next_frame(&mut ws).await["event"], "subscribed");
    let resync = next_frame(&mut ws).await;
    assert_eq!(resync["data"], json!({"board_id": 1, "last_seq": 0, "reason": "future_seq"}));
    assert_pong(&mut ws).await;
}

// ---------------------------------------------------------------------------------------------
// Client messages (realtime.md §7)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn ping_gets_a_pong_with_a_type_key() {
    let app = spawn_app().await;
    let mut ws = app.ws("").await;
    ws.next_event("connected").await;

    ws.send_json(&json!({"type": "ping"})).await;

    let pong = ws.next_json().await;
    assert_eq!(keys(&pong), names(&["type", "timestamp"]));
    assert_eq!(pong["type"], "pong");
    assert!(is_api_timestamp(&pong["timestamp"]));
}

#[tokio::test]
async fn heartbeats_expect_a_response_and_responses_are_acknowledged() {
    let app = spawn_app_with(|cfg| cfg.realtime.heartbeat_interval_seconds = 1).await;
    let mut ws = app.ws("").await;
    ws.next_event("connected").await;

    let heartbeat = ws.next_json().await;

    assert_eq!(heartbeat["event"], "heartbeat", "got {heartbeat}");
    assert_eq!(heartbeat["expect_response"], true);
    assert!(heartbeat["heartbeat_id"].as_str().is_some_and(|s| s.starts_with("hb_")), "{heartbeat}");
    assert!(is_api_timestamp(&heartbeat["timestamp"]) && is_api_timestamp(&heartbeat["server_time"]));
    let hb_id = heartbeat["heartbeat_id"].clone();
    let ts = heartbeat["timestamp"].clone();
    ws.send_json(&json!({"type": "heartbeat_response", "heartbeat_id": hb_id, "timestamp": ts})).await;
    let ack = next_frame(&mut ws).await;
    assert_eq!(ack["event"], "heartbeat_ack", "got {ack}");
    assert_eq!(ack["heartbeat_id"], hb_id);
    assert!(is_api_timestamp(&ack["timestamp"]));
    ws.send_json(&json!({"type": "heartbeat_response", "heartbeat_id": "hb_anything"})).await;
    assert_eq!(next_frame(&mut ws).await["heartbeat_id"], "hb_anything", "any id is accepted");
    assert_pong(&mut ws).await;
}

#[tokio::test]
async fn subscribe_board_accepts_a_numeric_string_and_switches_to_that_board() {
    let app = spawn_app().await;
    let board_id = fresh_board(&app, "Roadmap").await;
    let (mut ws, _) = open(&app, "").await;

    ws.send_json(&json!({"type": "subscribe_board", "board_id": board_id.to_string()})).await;

    assert_eq!(
        next_frame(&mut ws).await,
        json!({"event": "subscribed", "data": {"board_id": board_id, "last_seq": 1}})
    );
    app.create_ticket(1, "not for this socket any more").await;
    let ticket = app.create_ticket(board_id, "for this socket").await;
    let frame = next_frame(&mut ws).await;
    assert_eq!(frame["data"]["id"], ticket["id"], "board 1 events stop after the switch: {frame}");
    assert_quiet(&mut ws).await;
    let stats = app.get_json("/ws/stats").await;
    assert_eq!(stats["board_subscriptions"], json!({"all": 0, board_id.to_string(): 1}));
}

#[tokio::test]
async fn subscribe_board_adds_to_an_explicit_subscription() {
    let app = spawn_app().await;
    let board_id = fresh_board(&app, "Roadmap").await;
    let (mut ws, _) = open(&app, "board_id=1").await;

    ws.send_json(&json!({"type": "subscribe_board", "board_id": board_id})).await;
    assert_eq!(next_frame(&mut ws).await["event"], "subscribed");

    let one = app.create_ticket(1, "one").await;
    assert_eq!(next_frame(&mut ws).await["data"]["id"], one["id"]);
    let two = app.create_ticket(board_id, "two").await;
    assert_eq!(next_frame(&mut ws).await["data"]["id"], two["id"]);
}

#[tokio::test]
async fn unsubscribe_board_stops_that_boards_events() {
    let app = spawn_app().await;
    let board_id = fresh_board(&app, "Roadmap").await;
    let (mut ws, _) = open(&app, &format!("board_id={board_id}")).await;

    ws.send_json(&json!({"type": "unsubscribe_board", "board_id": board_id})).await;

    assert_eq!(next_frame(&mut ws).await, json!({"event": "unsubscribed", "data": {"board_id": board_id}}));
    app.create_ticket(board_id, "unheard").await;
    ws.send_json(&json!({"type": "subscribe_board", "board_id": 1})).await;
    assert_eq!(next_frame(&mut ws).await["event"], "subscribed");
    let sentinel = app.create_ticket(1, "sentinel").await;
    let first = next_frame(&mut ws).await;
    assert_eq!(first["data"]["id"], sentinel["id"], "the first event is the sentinel: {first}");
    assert_quiet(&mut ws).await;
}

#[tokio::test]
async fn subscribing_to_a_missing_board_is_an_error_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let (mut ws, _) = open(&app, "").await;

    ws.send_json(&json!({"type": "subscribe_board", "board_id": 999})).await;

    let error = next_frame(&mut ws).await;
    assert_eq!(error, json!({"event": "error", "data": {"code": "NOT_FOUND", "message": "Board not found"}}));
    assert_pong(&mut ws).await;
    let stats = app.get_json("/ws/stats").await;
    assert_eq!(stats["board_subscriptions"]["all"], 1, "the failed subscribe left all-boards mode intact");
}

/// Send `frame` and expect the `error` reply with `code` and `message`, then a pong.
async fn assert_rejected(ws: &mut WsClient, frame: Message, code: &str, message: &str) {
    ws.stream.send(frame).await.expect("send frame");
    let error = next_frame(ws).await;
    assert_eq!(error, json!({"event": "error", "data": {"code": code, "message": message}}));
    assert_pong(ws).await;
}

fn text(s: &str) -> Message {
    Message::Text(s.to_owned().into())
}

#[tokio::test]
async fn malformed_client_messages_get_errors_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let (mut ws, _) = open(&app, "").await;

    let required = ("BOARD_ID_REQUIRED", "board_id required");
    assert_rejected(&mut ws, text(r#"{"type":"subscribe_board"}"#), required.0, required.1).await;
    assert_rejected(&mut ws, text(r#"{"type":"subscribe_board","board_id":"abc"}"#), required.0, required.1).await;
    assert_rejected(&mut ws, text(r#"{"type":"unsubscribe_board"}"#), required.0, required.1).await;
    let unknown = "UNKNOWN_MESSAGE_TYPE";
    assert_rejected(&mut ws, text(r#"{"type":"nope"}"#), unknown, "Unknown message type: nope").await;
    assert_rejected(&mut ws, text(r#"{"no":"type"}"#), unknown, "Unknown message type: ").await;
    assert_rejected(&mut ws, text("not json"), "INVALID_JSON", "Invalid JSON format").await;
    let binary = Message::Binary(vec![1u8, 2, 3].into());
    assert_rejected(&mut ws, binary, "BINARY_NOT_SUPPORTED", "Binary frames are not supported").await;
}

#[tokio::test]
async fn get_stats_reports_the_same_numbers_as_the_stats_route() {
    let app = spawn_app().await;
    let (mut ws, _) = open(&app, "").await;
    let (_board, _) = open(&app, "board_id=1").await;

    ws.send_json(&json!({"type": "get_stats"})).await;

    let stats = next_frame(&mut ws).await;
    assert_eq!(stats["event"], "stats", "got {stats}");
    assert_eq!(stats["data"]["total_connections"], 2);
    assert_eq!(stats["data"]["board_subscriptions"], json!({"all": 1, "1": 1}));
    assert!(stats["data"]["total_messages_sent"].is_u64());
    assert!(stats["data"].get("connections").is_none(), "no detail for an anonymous caller");
}

#[tokio::test]
async fn get_stats_on_an_admin_socket_lists_the_connections() {
    let app = spawn_app().await;
    let admin = admin_token(&app).await;
    let (mut ws, hello) = open(&app, &format!("token={admin}")).await;

    ws.send_json(&json!({"type": "get_stats"})).await;

    let stats = next_frame(&mut ws).await;
    let list = stats["data"]["connections"].as_array().expect("connections for an admin socket");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["client_id"], hello["data"]["client_id"]);
    assert_eq!(list[0]["username"], "root");
}

// ---------------------------------------------------------------------------------------------
// Liveness (realtime.md §8)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_silent_client_is_closed_with_4000() {
    let app = spawn_app_with(|cfg| {
        cfg.realtime.heartbeat_interval_seconds = 1;
        cfg.realtime.missed_heartbeats_before_close = 1;
    })
    .await;
    let (mut ws, _) = open(&app, "").await;

    assert_closed_with(&mut ws, 4000).await;
    assert_eq!(app.ws_closes(4000), 1);
}

#[tokio::test]
async fn a_client_that_keeps_pinging_stays_open() {
    let app = spawn_app_with(|cfg| {
        cfg.realtime.heartbeat_interval_seconds = 1;
        cfg.realtime.missed_heartbeats_before_close = 1;
    })
    .await;
    let (mut ws, _) = open(&app, "").await;

    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_pong(&mut ws).await;
    }

    assert_pong(&mut ws).await;
    assert_eq!(app.ws_closes(4000), 0);
}

#[tokio::test]
async fn a_client_that_answers_heartbeats_stays_open() {
    let app = spawn_app_with(|cfg| {
        cfg.realtime.heartbeat_interval_seconds = 1;
        cfg.realtime.missed_heartbeats_before_close = 2;
    })
    .await;
    let mut ws = app.ws("").await;
    ws.next_event("connected").await;

    for _ in 0..4 {
        let heartbeat = ws.next_json().await;
        assert_eq!(heartbeat["event"], "heartbeat", "got {heartbeat}");
        ws.send_json(&json!({"type": "heartbeat_response", "heartbeat_id": heartbeat["heartbeat_id"]})).await;
        let ack = ws.next_json().await;
        assert_eq!(ack["event"], "heartbeat_ack", "got {ack}");
    }

    assert_pong(&mut ws).await;
    assert_eq!(app.ws_closes(4000), 0);
}

#[tokio::test]
async fn websocket_ping_frames_are_answered_with_pong_frames() {
    let app = spawn_app().await;
    let (mut ws, _) = open(&app, "").await;

    ws.stream.send(Message::Ping(b"are you there".to_vec().into())).await.expect("ping");

    let reply = tokio::time::timeout(FRAME_TIMEOUT, ws.stream.next()).await.expect("a reply in time");
    match reply {
        Some(Ok(Message::Pong(payload))) => assert_eq!(payload.as_ref(), b"are you there"),
        other => panic!("expected a pong frame, got {other:?}"),
    }
}

#[tokio::test]
async fn a_client_initiated_close_is_answered_with_a_close_frame() {
    let app = spawn_app().await;
    let (mut ws, _) = open(&app, "board_id=1").await;
    let bye = CloseFrame { code: CloseCode::Normal, reason: "bye".into() };

    ws.stream.close(Some(bye)).await.expect("send close");

    // RFC 6455 §5.5.1: the endpoint that receives a Close frame sends one in response.
    let answer = tokio::time::timeout(FRAME_TIMEOUT, ws.stream.next()).await.expect("an answer in time");
    match answer {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected the server's close frame (1000), got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Slow consumers (realtime.md §9)
// ---------------------------------------------------------------------------------------------

/// Connect a slow client (never reads) and a normal one (read by a task) to board 1, then write
/// big tickets until the server closes a socket with 4001. Asserts that every write succeeded, that
/// the normal client received every event in order and that only one socket was closed as slow;
/// returns the slow client and the number of writes.
async fn overwhelm_a_slow_consumer(app: &TestApp) -> (WsClient, i64) {
    let (slow, _) = open(app, "board_id=1").await;
    let (normal, _) = open(app, "board_id=1").await;
    let (seqs, mut received) = tokio::sync::mpsc::unbounded_channel::<(i64, String)>();
    let reader = tokio::spawn(async move {
        let mut stream = normal.stream;
        while let Some(Ok(msg)) = stream.next().await {
            if let Message::Text(t) = msg {
                let frame: Value = serde_json::from_str(t.as_str()).expect("JSON frame");
                let seen = (frame["seq"].as_i64().unwrap_or(-1), frame["event"].to_string());
                if frame["event"] != "heartbeat" && seqs.send(seen).is_err() {
                    return;
                }
            }
        }
    });

    let big = "x".repeat(19_000);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut writes = 0i64;
    while app.ws_closes(4001) == 0 {
        assert!(writes < 3000 && tokio::time::Instant::now() < deadline, "the slow consumer was never closed");
        let body =
            json!({"board_id": 1, "title": format!("big {writes}"), "description": big, "acceptance_criteria": big});
        let resp = app.post("/api/tickets/", &body).await;
        assert_eq!(resp.status(), StatusCode::CREATED, "write {writes} succeeds");
        writes += 1;
    }

    for expected in 1..=writes {
        let next = tokio::time::timeout(FRAME_TIMEOUT, received.recv()).await.expect("the normal client keeps up");
        let (seq, event) = next.expect("the normal client is still connected");
        assert_eq!((seq, event.as_str()), (expected, "\"ticket_created\""), "every event, in order");
    }
    assert_eq!(app.ws_closes(4001), 1, "only the slow consumer was closed");
    reader.abort();
    (slow, writes)
}

fn slow_consumer_app() -> impl std::future::Future<Output = TestApp> {
    spawn_app_with(|cfg| {
        cfg.realtime.send_timeout_seconds = 1;
        cfg.realtime.send_queue_capacity = 16;
        cfg.realtime.board_channel_capacity = 16;
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_closed_with_4001_and_delays_nobody() {
    let app = slow_consumer_app().await;

    let (mut slow, writes) = overwhelm_a_slow_consumer(&app).await;

    let drained = drain_slow_consumer(&mut slow, writes).await;
    assert!(
        matches!(drained.close, None | Some(4001)),
        "a close frame to a slow consumer says 4001: {:?}",
        drained.close
    );
    if let Some(resync) = &drained.resync {
        assert_eq!(resync["data"]["reason"], "lagged", "{resync}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resync_sent_to_a_slow_board_consumer_names_the_board_and_its_last_seq() {
    let app = slow_consumer_app().await;

    let (mut slow, writes) = overwhelm_a_slow_consumer(&app).await;

    let drained = drain_slow_consumer(&mut slow, writes).await;
    if let Some(resync) = &drained.resync {
        assert_eq!(resync["board_id"], 1, "the lagging stream is board 1's, not the all-boards one: {resync}");
        assert_eq!(resync["data"]["board_id"], 1, "{resync}");
        let last_seq = resync["data"]["last_seq"].as_i64();
        assert!(last_seq.is_some_and(|l| l >= drained.last_seq && l <= writes), "the last seq delivered: {resync}");
    }
}

/// What a slow consumer finally received.
struct Drained {
    /// The seq of the last event (events arrive contiguously from 1).
    last_seq: i64,
    /// The `resync_required` frame, if one got through.
    resync: Option<Value>,
    /// The close code, if a close frame got through.
    close: Option<u16>,
}

/// Read a slow consumer to its end: contiguous events from seq 1, at most one `resync_required`
/// after them, then a close frame or a dropped connection.
async fn drain_slow_consumer(slow: &mut WsClient, writes: i64) -> Drained {
    let mut drained = Drained { last_seq: 0, resync: None, close: None };
    loop {
        let next = tokio::time::timeout(Duration::from_secs(60), slow.stream.next()).await;
        match next.expect("the slow consumer's stream ends in time") {
            Some(Ok(Message::Text(t))) => {
                let frame: Value = serde_json::from_str(t.as_str()).expect("JSON frame");
                assert!(drained.resync.is_none(), "nothing follows resync_required but the close: {frame}");
                if frame["event"] == "resync_required" {
                    drained.resync = Some(frame);
                } else if frame["event"] != "heartbeat" {
                    assert_eq!(seq(&frame), drained.last_seq + 1, "no silent gap before the close");
                    assert!(seq(&frame) <= writes);
                    drained.last_seq += 1;
                }
            }
            Some(Ok(Message::Close(frame))) => {
                drained.close = frame.map(|f| u16::from(f.code));
                return drained;
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return drained,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Handshake (realtime.md §1–2, auth.md §11)
// ---------------------------------------------------------------------------------------------

async fn strict_app() -> TestApp {
    spawn_app_with(|cfg| cfg.auth.anonymous_role = AnonymousRole::None).await
}

fn assert_refused(result: Result<WsClient, (u16, Value)>, status: u16, code: &str) -> Value {
    match result {
        Ok(_) => panic!("expected the handshake to be refused with {status}"),
        Err((got, body)) => {
            assert_eq!(got, status, "status; body {body}");
            assert_eq!(body["error"]["code"], code, "error code in {body}");
            body
        }
    }
}

#[tokio::test]
async fn an_anonymous_handshake_without_a_role_is_refused_with_401() {
    let app = strict_app().await;

    assert_refused(app.try_ws("", &[]).await, 401, "UNAUTHORIZED");
    assert_refused(app.try_ws("token=not-a-token", &[]).await, 401, "UNAUTHORIZED");
}

#[tokio::test]
async fn the_authorization_header_wins_over_the_token_parameter() {
    let app = strict_app().await;
    let admin = admin_token(&app).await;

    let refused = app.try_ws(&format!("token={admin}"), &[("authorization", "Bearer not-a-token")]).await;

    assert_refused(refused, 401, "UNAUTHORIZED");
}

#[tokio::test]
async fn a_valid_token_in_the_query_or_the_header_is_accepted() {
    let app = strict_app().await;
    let admin = admin_token(&app).await;
    let (_, alice) = viewer(&app, "alice").await;

    let mut by_query = app.ws(&format!("token={alice}&username=someone_else")).await;
    let bearer = format!("Bearer {alice}");
    let mut by_header = app.try_ws("token=garbage", &[("authorization", &bearer)]).await.expect("the header wins");
    let mut as_admin = app.try_ws("board_id=1", &[("authorization", &format!("Bearer {admin}"))]).await.expect("admin");

    assert_eq!(by_query.next_event("connected").await["data"]["username"], "alice");
    assert_eq!(by_header.next_event("connected").await["data"]["username"], "alice");
    assert_eq!(as_admin.next_event("connected").await["data"]["username"], "root");
}

#[tokio::test]
async fn an_anonymous_client_is_labelled_by_its_username_parameter() {
    let app = spawn_app().await;

    let mut named = app.ws("username=user_123").await;

    assert_eq!(named.next_event("connected").await["data"]["username"], "user_123");
}

#[tokio::test]
async fn an_anonymous_client_without_a_username_parameter_is_labelled_by_its_actor_name() {
    let app = spawn_app().await;

    let mut by_header = app.try_ws("", &[("x-username", "carol")]).await.expect("handshake");
    let mut param_first = app.try_ws("username=dave", &[("x-username", "carol")]).await.expect("handshake");

    assert_eq!(by_header.next_event("connected").await["data"]["username"], "carol");
    assert_eq!(param_first.next_event("connected").await["data"]["username"], "dave");
}

#[tokio::test]
async fn a_disallowed_origin_is_refused_with_403() {
    let app = spawn_app().await;

    let body = assert_refused(app.try_ws("", &[("origin", "http://evil.example")]).await, 403, "ORIGIN_NOT_ALLOWED");

    assert!(body["error"]["message"].is_string());
}

#[tokio::test]
async fn an_allowed_or_own_origin_is_accepted() {
    let app = spawn_app().await;
    let own = app.base.clone();

    let mut spa = app.try_ws("username=user_123", &[("origin", "http://localhost:5173")]).await.expect("SPA origin");
    let mut same = app.try_ws("", &[("origin", &own)]).await.expect("own origin");

    assert_eq!(spa.next_event("connected").await["event"], "connected");
    assert_eq!(same.next_event("connected").await["event"], "connected");
}

#[tokio::test]
async fn an_unknown_board_is_refused_with_404() {
    let app = spawn_app().await;

    let body = assert_refused(app.try_ws("board_id=999", &[]).await, 404, "NOT_FOUND");

    assert_eq!(body["error"]["message"], "Board not found");
}

#[tokio::test]
async fn invalid_query_parameters_are_refused_with_422() {
    let app = spawn_app().await;

    let long = "x".repeat(101);
    let (long_name, long_label) = (format!("username={long}"), format!("client_id={long}"));
    for query in
        ["since=3", "board_id=1&since=-1", "board_id=abc", "board_id=0", "board_id=1&since=x", &long_name, &long_label]
    {
        assert_refused(app.try_ws(query, &[]).await, 422, "VALIDATION_ERROR");
    }
}

#[tokio::test]
async fn a_plain_get_without_upgrade_headers_is_a_bad_request() {
    let app = spawn_app().await;

    let body = assert_error(app.get("/ws/connect").await, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;

    assert_eq!(body["error"]["message"], "WebSocket upgrade required");
}

#[tokio::test]
async fn handshake_checks_run_in_the_specified_order() {
    let app = spawn_app_with(|cfg| {
        cfg.auth.anonymous_role = AnonymousRole::None;
        cfg.realtime.max_connections = 1;
    })
    .await;
    let evil = [("origin", "http://evil.example")];

    assert_refused(app.try_ws("since=3", &evil).await, 403, "ORIGIN_NOT_ALLOWED");
    assert_refused(app.try_ws("since=3", &[]).await, 422, "VALIDATION_ERROR");
    assert_refused(app.try_ws("board_id=999", &[]).await, 401, "UNAUTHORIZED");
    let admin = admin_token(&app).await;
    let mut first = app.ws(&format!("token={admin}")).await;
    first.next_event("connected").await;
    assert_refused(app.try_ws(&format!("token={admin}&board_id=999"), &[]).await, 404, "NOT_FOUND");
    assert_refused(app.try_ws(&format!("token={admin}"), &[]).await, 503, "SERVICE_UNAVAILABLE");
}

#[tokio::test]
async fn a_client_over_its_connection_limit_is_refused_with_429() {
    let app = spawn_app_with(|cfg| cfg.realtime.max_connections_per_client = 2).await;
    let admin = admin_token(&app).await;
    let (_a, _) = open(&app, "").await;
    let (_b, _) = open(&app, "board_id=1").await;

    assert_refused(app.try_ws("", &[]).await, 429, "TOO_MANY_CONNECTIONS");

    let (_as_user, hello) = open(&app, &format!("token={admin}")).await;
    assert_eq!(hello["data"]["username"], "root", "an account is its own client key");
}

#[tokio::test]
async fn the_server_over_its_connection_limit_answers_503() {
    let app = spawn_app_with(|cfg| cfg.realtime.max_connections = 1).await;
    let (_first, _) = open(&app, "").await;

    assert_refused(app.try_ws("", &[]).await, 503, "SERVICE_UNAVAILABLE");
}

fn is_client_id(s: &str) -> bool {
    s.strip_prefix("client_")
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

#[tokio::test]
async fn client_ids_are_unique_and_a_supplied_client_id_is_only_a_label() {
    let app = spawn_app().await;
    let mut ids = BTreeSet::new();
    let mut sockets = Vec::new();

    for _ in 0..3 {
        let (ws, hello) = open(&app, "client_id=tab-1").await;
        assert_eq!(hello["data"]["client_label"], "tab-1");
        ids.insert(hello["data"]["client_id"].as_str().expect("client_id").to_owned());
        sockets.push(ws);
    }
    let (_plain, hello) = open(&app, "").await;
    assert!(hello["data"]["client_label"].is_null());
    ids.insert(hello["data"]["client_id"].as_str().expect("client_id").to_owned());

    assert_eq!(ids.len(), 4, "no two connections share an id: {ids:?}");
    assert!(ids.iter().all(|id| is_client_id(id)), "client_ + 32 lowercase hex: {ids:?}");
    assert_eq!(app.get_json("/ws/stats").await["total_connections"], 4);
}

// ---------------------------------------------------------------------------------------------
// Access revocation (realtime.md §1, api.md §3)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn deactivating_a_user_closes_their_sockets_with_4003() {
    let app = spawn_app().await;
    let admin = admin_token(&app).await;
    let (alice_id, alice) = viewer(&app, "alice").await;
    let (mut first, _) = open(&app, &format!("token={alice}")).await;
    let (mut second, _) = open(&app, &format!("token={alice}&board_id=1")).await;
    let (mut bystander, _) = open(&app, &format!("token={admin}")).await;

    let body = json!({"is_active": false});
    ok(send_as(&app, Method::PUT, &format!("/api/auth/users/{alice_id}"), Some(&admin), Some(&body)).await).await;

    assert_closed_with(&mut first, 4003).await;
    assert_closed_with(&mut second, 4003).await;
    assert_eq!(app.ws_closes(4003), 2);
    assert_pong(&mut bystander).await;
    assert_refused(app.try_ws(&format!("token={alice}"), &[]).await, 401, "UNAUTHORIZED");
}

#[tokio::test]
async fn deleting_a_user_closes_their_sockets_with_4003() {
    let app = spawn_app().await;
    let admin = admin_token(&app).await;
    let (bob_id, bob) = viewer(&app, "bob").await;
    let (mut ws, _) = open(&app, &format!("token={bob}")).await;
    let (mut anonymous, _) = open(&app, "").await;

    ok(send_as(&app, Method::DELETE, &format!("/api/auth/users/{bob_id}"), Some(&admin), None).await).await;

    assert_closed_with(&mut ws, 4003).await;
    assert_pong(&mut anonymous).await;
    assert_refused(app.try_ws(&format!("token={bob}"), &[]).await, 401, "UNAUTHORIZED");
}

// ---------------------------------------------------------------------------------------------
// Frame limits (realtime.md §7)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_frame_over_the_message_limit_closes_the_socket_with_1009() {
    let app = spawn_app_with(|cfg| cfg.realtime.max_message_bytes = 1024).await;
    let (mut ws, _) = open(&app, "").await;
    let padded = |n: usize| json!({"type": "ping", "pad": "x".repeat(n)});
    assert!(padded(900).to_string().len() < 1024);
    assert_pong_after(&mut ws, &padded(900)).await;

    ws.send_json(&padded(2000)).await;

    assert_closed_with(&mut ws, 1009).await;
    assert_eq!(app.ws_closes(1009), 1);
}

#[tokio::test]
async fn a_frame_many_times_the_read_buffer_but_under_the_limit_is_handled() {
    // The default limit (64 KiB) is far above a socket's small initial read buffer: a large
    // frame arrives over many reads and is still answered, twice in a row.
    let app = spawn_app().await;
    let (mut ws, _) = open(&app, "").await;
    let big = json!({"type": "ping", "pad": "x".repeat(60_000)});
    assert_pong_after(&mut ws, &big).await;
    assert_pong_after(&mut ws, &big).await;
    assert_pong_after(&mut ws, &json!({"type": "ping"})).await;
}

async fn assert_pong_after(ws: &mut WsClient, frame: &Value) {
    ws.send_json(frame).await;
    assert_eq!(next_frame(ws).await["type"], "pong", "a frame under the limit is handled");
}

// ---------------------------------------------------------------------------------------------
// The /ws HTTP routes (api.md §12, realtime.md §12)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn ws_stats_counts_connections_and_subscriptions() {
    let app = spawn_app().await;
    let board_id = fresh_board(&app, "Roadmap").await;
    let (_a, _) = open(&app, "").await;
    let (_b, _) = open(&app, "").await;
    let (_c, _) = open(&app, "board_id=1").await;
    let (_d, _) = open(&app, &format!("board_id={board_id}")).await;
    let (_e, _) = open(&app, &format!("board_id={board_id}")).await;

    let stats = app.get_json("/ws/stats").await;

    assert_eq!(keys(&stats), names(&["total_connections", "total_messages_sent", "board_subscriptions"]));
    assert_eq!(stats["total_connections"], 5);
    assert!(stats["total_messages_sent"].as_u64().is_some_and(|n| n >= 5), "connected frames count: {stats}");
    assert_eq!(stats["board_subscriptions"], json!({"all": 2, "1": 1, board_id.to_string(): 2}));
}

#[tokio::test]
async fn a_closed_connection_leaves_the_stats() {
    let app = spawn_app().await;
    let (mut staying, _) = open(&app, "").await;
    let (leaving, _) = open(&app, "board_id=1").await;
    assert_eq!(app.get_json("/ws/stats").await["total_connections"], 2);

    drop(leaving);

    let deadline = tokio::time::Instant::now() + FRAME_TIMEOUT;
    loop {
        let stats = app.get_json("/ws/stats").await;
        if stats["total_connections"] == 1 {
            assert_eq!(stats["board_subscriptions"], json!({"all": 1}));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the closed connection left the stats: {stats}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_pong(&mut staying).await;
}

#[tokio::test]
async fn ws_stats_lists_connections_for_admins_only() {
    let app = spawn_app().await;
    let admin = admin_token(&app).await;
    let (_, viewer_token) = viewer(&app, "alice").await;
    let (_all, all_hello) = open(&app, "client_id=tab-1").await;
    let (_board, board_hello) = open(&app, &format!("board_id=1&token={viewer_token}")).await;

    let as_admin = ok(send_as(&app, Method::GET, "/ws/stats", Some(&admin), None).await).await;
    let as_viewer = ok(send_as(&app, Method::GET, "/ws/stats", Some(&viewer_token), None).await).await;

    assert!(as_viewer.get("connections").is_none(), "no detail for a viewer: {as_viewer}");
    let list = as_admin["connections"].as_array().expect("connections for an admin");
    assert_eq!(list.len(), 2);
    let fields = [
        "client_id",
        "client_label",
        "username",
        "all_boards",
        "board_ids",
        "connected_duration_seconds",
        "message_count",
        "last_activity",
    ];
    let by_id: BTreeMap<String, &Value> =
        list.iter().map(|c| (c["client_id"].as_str().expect("client_id").to_owned(), c)).collect();
    let all = by_id[all_hello["data"]["client_id"].as_str().expect("id")];
    let board = by_id[board_hello["data"]["client_id"].as_str().expect("id")];
    for c in [all, board] {
        assert_eq!(keys(c), names(&fields));
        assert!(c["connected_duration_seconds"].is_number() && c["message_count"].is_u64());
    }
    assert_eq!(
        (&all["client_label"], &all["all_boards"], &all["board_ids"]),
        (&json!("tab-1"), &json!(true), &json!([]))
    );
    assert_eq!(
        (&board["username"], &board["all_boards"], &board["board_ids"]),
        (&json!("alice"), &json!(false), &json!([1]))
    );
}

#[tokio::test]
async fn cleanup_closes_idle_sockets_with_4000_and_reports_how_many() {
    let app = spawn_app().await;
    let admin = admin_token(&app).await;
    let (mut idle, _) = open(&app, "").await;
    // The route's unit is seconds: let the socket be idle for more than one.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (mut fresh, _) = open(&app, "board_id=1").await;

    let resp = send_as(&app, Method::POST, "/ws/cleanup?timeout_seconds=1", Some(&admin), None).await;

    let body = ok(resp).await;
    assert_eq!(body, json!({"message": "Cleaned up inactive connections (timeout: 1s)", "closed": 1}));
    assert_closed_with(&mut idle, 4000).await;
    assert_pong(&mut fresh).await;
}

#[tokio::test]
async fn cleanup_is_for_admins_only_and_validates_its_timeout() {
    let app = spawn_app().await;
    let admin = admin_token(&app).await;
    let (_, viewer_token) = viewer(&app, "alice").await;
    let (mut ws, _) = open(&app, "").await;

    let anonymous = send_as(&app, Method::POST, "/ws/cleanup?timeout_seconds=1", None, None).await;
    let as_viewer = send_as(&app, Method::POST, "/ws/cleanup?timeout_seconds=1", Some(&viewer_token), None).await;
    let too_small = send_as(&app, Method::POST, "/ws/cleanup?timeout_seconds=0", Some(&admin), None).await;

    assert_error(anonymous, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert_error(as_viewer, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    assert_validation(too_small, "query.timeout_seconds", "out_of_range").await;
    assert_pong(&mut ws).await;
}

#[tokio::test]
async fn broadcast_delivers_the_body_to_every_connection_without_a_seq() {
    let app = spawn_app().await;
    let admin = admin_token(&app).await;
    let (mut all, _) = open(&app, "").await;
    let (mut board, _) = open(&app, "board_id=1").await;
    let body = json!({"title": "Maintenance", "minutes": 5});

    let resp = send_as(&app, Method::POST, "/ws/broadcast", Some(&admin), Some(&body)).await;

    assert_eq!(ok(resp).await, json!({"message": "Broadcasted to 2 clients"}));
    for ws in [&mut all, &mut board] {
        let frame = next_frame(ws).await;
        assert_eq!(keys(&frame), names(&["event", "data", "timestamp"]), "no board_id, no seq: {frame}");
        assert_eq!(frame["event"], "manual_broadcast");
        assert_eq!(frame["data"], body);
        assert!(is_api_timestamp(&frame["timestamp"]));
    }
}

#[tokio::test]
async fn broadcast_refuses_non_objects_and_non_admins() {
    let app = spawn_app().await;
    let admin = admin_token(&app).await;
    let (_, viewer_token) = viewer(&app, "alice").await;
    let (mut ws, _) = open(&app, "").await;
    let body = json!({"title": "Maintenance"});

    let array = send_as(&app, Method::POST, "/ws/broadcast", Some(&admin), Some(&json!([1, 2]))).await;
    let anonymous = send_as(&app, Method::POST, "/ws/broadcast", None, Some(&body)).await;
    let as_viewer = send_as(&app, Method::POST, "/ws/broadcast", Some(&viewer_token), Some(&body)).await;

    assert_error(array, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert_error(as_viewer, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    assert_pong(&mut ws).await;
}

// ---------------------------------------------------------------------------------------------
// Graceful shutdown (realtime.md §11)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn stopping_the_server_closes_open_sockets_with_1001() {
    let app = spawn_app().await;
    app.create_ticket(1, "survives").await;
    let (mut all, _) = open(&app, "").await;
    let (mut board, _) = open(&app, "board_id=1").await;
    let closing_all = tokio::spawn(async move { all.closed_with(Duration::from_secs(10)).await });
    let closing_board = tokio::spawn(async move { board.closed_with(Duration::from_secs(10)).await });

    let app = app.restart().await;

    assert_eq!(closing_all.await.expect("task"), Some(1001));
    assert_eq!(closing_board.await.expect("task"), Some(1001));
    let (_again, hello) = open(&app, "board_id=1").await;
    assert_eq!(hello["data"]["last_seq"], 1, "the restarted server continues the board's seq");
}
