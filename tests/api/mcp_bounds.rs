//! What `/mcp` refuses and how it bounds itself: credentials checked before a session exists,
//! the session cap and idle expiry, `DELETE /mcp`, and tool arguments held to REST's limits.
//! Sessions are opened both with rmcp's client and with raw HTTP (to see headers and status codes).

use std::time::Duration;

use reqwest::{Response, StatusCode};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::helpers::{TestApp, id, ok, spawn_app, spawn_app_with};

const LIMIT: Duration = Duration::from_secs(20);
const PASSWORD: &str = "Sturdy-Passw0rd";

fn mcp_post(app: &TestApp, token: Option<&str>, session: Option<&str>, message: &Value) -> reqwest::RequestBuilder {
    let mut req = app
        .client
        .post(app.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .json(message);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    req
}

/// A raw `initialize` (and, when it opens a session, `notifications/initialized`).
async fn initialize(app: &TestApp, token: Option<&str>) -> Response {
    let hello = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "probe", "version": "1" } } });
    let resp = mcp_post(app, token, None, &hello).send().await.expect("POST /mcp initialize");
    if let Some(session) = session_of(&resp) {
        let done = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
        let ack = mcp_post(app, token, Some(&session), &done).send().await.expect("POST initialized");
        assert_eq!(ack.status(), StatusCode::ACCEPTED, "notifications/initialized");
    }
    resp
}

fn session_of(resp: &Response) -> Option<String> {
    resp.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// A ping inside session `session`: its HTTP status.
async fn ping(app: &TestApp, session: &str) -> StatusCode {
    let ping = json!({ "jsonrpc": "2.0", "id": 2, "method": "ping" });
    mcp_post(app, None, Some(session), &ping).send().await.expect("POST ping").status()
}

async fn delete_session(app: &TestApp, session: &str) -> Response {
    app.client.delete(app.url("/mcp")).header("mcp-session-id", session).send().await.expect("DELETE /mcp")
}

async fn assert_standard_error(resp: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(resp.status(), status);
    let body: Value = resp.json().await.expect("a JSON error body");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["error_id"].is_string() && body["detail"].is_string(), "{body}");
    body
}

type Client = RunningService<rmcp::RoleClient, ()>;

async fn rmcp_connect(app: &TestApp, token: Option<&str>) -> Result<Client, rmcp::service::ClientInitializeError> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(app.url("/mcp"));
    if let Some(t) = token {
        config = config.auth_header(t.to_owned());
    }
    let transport = StreamableHttpClientTransport::from_config(config);
    tokio::time::timeout(LIMIT, ().serve(transport)).await.expect("initialize answered in time")
}

async fn call(client: &Client, name: &'static str, arguments: Value) -> CallToolResult {
    let arguments = arguments.as_object().cloned().expect("arguments object");
    let params = CallToolRequestParams::new(name).with_arguments(arguments);
    tokio::time::timeout(LIMIT, client.call_tool(params)).await.expect("call in time").expect("tools/call")
}

/// A failed call's first validation error, asserting the code.
async fn rejected(client: &Client, name: &'static str, arguments: Value) -> Value {
    let result = call(client, name, arguments.clone()).await;
    assert_eq!(result.is_error, Some(true), "{name} {arguments} should fail");
    let body = result.structured_content.expect("structured error");
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR", "{name}: {body}");
    body["error"]["validation_errors"][0].clone()
}

async fn login(app: &TestApp, username: &str) -> String {
    let body = json!({ "username": username, "email": format!("{username}@example.com"), "password": PASSWORD });
    assert_eq!(app.post("/api/auth/register", &body).await.status(), StatusCode::CREATED, "register {username}");
    let body = ok(app.post("/api/auth/login", &json!({ "username": username, "password": PASSWORD })).await).await;
    body["access_token"].as_str().expect("access_token").to_owned()
}

#[tokio::test]
async fn without_credentials_mcp_answers_401_before_any_session_exists() {
    // One slot: a session opened for any refused request would take it.
    let app = spawn_app_with(|c| {
        c.auth.anonymous_role = agent_kanban::config::AnonymousRole::None;
        c.mcp.max_sessions = 1;
    })
    .await;
    let admin = login(&app, "the_admin").await;

    for _ in 0..3 {
        let refused = initialize(&app, None).await;
        assert!(session_of(&refused).is_none(), "no session id for a refused caller");
        let www = refused.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(www.as_deref(), Some("Bearer"));
        assert_standard_error(refused, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    }
    let expired = initialize(&app, Some("not-a-token")).await;
    assert!(session_of(&expired).is_none());
    assert_standard_error(expired, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    let stream = app.client.get(app.url("/mcp")).header("accept", "text/event-stream").send().await.expect("GET");
    assert_standard_error(stream, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    assert!(rmcp_connect(&app, None).await.is_err(), "rmcp's client cannot initialize without a token");

    let admitted = initialize(&app, Some(&admin)).await;
    assert_eq!(admitted.status(), StatusCode::OK, "the only slot is still free");
    let session = session_of(&admitted).expect("a session for a valid token");
    // Inside a session, each request still needs the credentials.
    let ping_anonymously = json!({ "jsonrpc": "2.0", "id": 2, "method": "ping" });
    let refused = mcp_post(&app, None, Some(&session), &ping_anonymously).send().await.expect("POST");
    assert_standard_error(refused, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn sessions_beyond_max_sessions_are_refused_with_503_and_retry_after() {
    let app = spawn_app_with(|c| c.mcp.max_sessions = 2).await;
    let first = rmcp_connect(&app, None).await.expect("first session");
    let second = session_of(&initialize(&app, None).await).expect("second session");

    let over = initialize(&app, None).await;
    assert!(session_of(&over).is_none());
    assert_eq!(over.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    assert_standard_error(over, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE").await;
    assert!(rmcp_connect(&app, None).await.is_err(), "rmcp's client is refused too");

    // The open sessions keep working; closing one frees its slot.
    call(&first, "list_boards", json!({})).await;
    assert_eq!(ping(&app, &second).await, StatusCode::OK);
    assert_eq!(delete_session(&app, &second).await.status(), StatusCode::NO_CONTENT);
    let third = initialize(&app, None).await;
    assert_eq!(third.status(), StatusCode::OK);
    assert!(session_of(&third).is_some());
    first.cancel().await.ok();
}

#[tokio::test]
async fn an_idle_session_expires_and_frees_its_slot() {
    let app = spawn_app_with(|c| {
        c.mcp.max_sessions = 1;
        c.mcp.session_idle_seconds = 1;
    })
    .await;
    let idle = session_of(&initialize(&app, None).await).expect("a session");
    assert_eq!(initialize(&app, None).await.status(), StatusCode::SERVICE_UNAVAILABLE, "the one slot is taken");

    // Poll for the slot without touching the idle session (a request in it would keep it alive).
    let reopened = tokio::time::timeout(LIMIT, async {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            let resp = initialize(&app, None).await;
            if resp.status() != StatusCode::SERVICE_UNAVAILABLE {
                return resp;
            }
        }
    })
    .await
    .expect("the idle session expired and freed its slot in time");
    assert_eq!(reopened.status(), StatusCode::OK);
    assert!(session_of(&reopened).is_some_and(|s| s != idle));
    assert_eq!(ping(&app, &idle).await, StatusCode::NOT_FOUND, "the expired session is gone");
}

#[tokio::test]
async fn a_session_subscribed_to_a_busy_board_still_expires_once_its_client_is_silent() {
    let app = spawn_app_with(|c| {
        c.mcp.max_sessions = 1;
        c.mcp.session_idle_seconds = 1;
    })
    .await;
    let board = app.create_board("Busy").await;
    let board_id = id(&board);
    let task = id(&app.create_ticket(board_id, "T").await);
    let silent = session_of(&initialize(&app, None).await).expect("a session");
    let subscribe = json!({ "jsonrpc": "2.0", "id": 3, "method": "resources/subscribe",
        "params": { "uri": format!("kanban://boards/{board_id}") } });
    let answer = mcp_post(&app, None, Some(&silent), &subscribe).send().await.expect("subscribe");
    assert!(answer.text().await.expect("SSE answer").contains("\"result\""), "subscribed");

    // Every tick the board changes (each change notifies the session), and a new session is tried.
    let columns = [board["columns"][0].clone(), board["columns"][1].clone()];
    let reopened = tokio::time::timeout(LIMIT, async {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        for n in 0.. {
            tick.tick().await;
            ok(app.post(&format!("/api/tickets/{task}/move"), &json!({ "column": columns[n % 2] })).await).await;
            let resp = initialize(&app, None).await;
            if resp.status() != StatusCode::SERVICE_UNAVAILABLE {
                return resp;
            }
        }
        unreachable!("the loop only ends by returning")
    })
    .await
    .expect("the silent session expired although its board kept notifying it");
    assert_eq!(reopened.status(), StatusCode::OK);
    assert_eq!(ping(&app, &silent).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn delete_mcp_answers_204_for_an_open_session_404_for_an_unknown_one_and_400_without_one() {
    let app = spawn_app().await;
    let session = session_of(&initialize(&app, None).await).expect("a session");
    assert_eq!(ping(&app, &session).await, StatusCode::OK);

    let closed = delete_session(&app, &session).await;
    assert_eq!(closed.status(), StatusCode::NO_CONTENT);
    assert!(closed.bytes().await.expect("body").is_empty());
    let ping_closed = json!({ "jsonrpc": "2.0", "id": 2, "method": "ping" });
    let gone = mcp_post(&app, None, Some(&session), &ping_closed).send().await.expect("POST ping");
    assert_standard_error(gone, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_standard_error(delete_session(&app, &session).await, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_standard_error(delete_session(&app, "no-such-session").await, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let unnamed = app.client.delete(app.url("/mcp")).send().await.expect("DELETE /mcp");
    assert_standard_error(unnamed, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;

    // rmcp's client closes its session with DELETE when cancelled.
    let client = rmcp_connect(&app, None).await.expect("session");
    call(&client, "list_boards", json!({})).await;
    client.cancel().await.expect("closed cleanly");
}

#[tokio::test]
async fn claim_and_release_refuse_an_agent_id_rest_refuses_and_change_nothing() {
    let app = spawn_app().await;
    let board_id = id(&app.create_board("B").await);
    let task = id(&app.create_ticket(board_id, "T").await);
    let client = rmcp_connect(&app, None).await.expect("session");
    let long = "a".repeat(300);
    let history_len = || async {
        app.get_json(&format!("/api/history/tickets/{task}/history")).await.as_array().map(Vec::len).unwrap_or(0)
    };
    let before = history_len().await;

    let rest = app.post(&format!("/api/tickets/{task}/claim"), &json!({ "agent_id": long })).await;
    assert_eq!(rest.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let rest_error = rest.json::<Value>().await.expect("body")["error"]["validation_errors"][0].clone();
    for tool in ["claim_task", "release_task"] {
        let error = rejected(&client, tool, json!({ "task_id": task, "agent_id": long })).await;
        assert_eq!(error["field"], "arguments.agent_id", "{tool}: {error}");
        assert_eq!((&error["type"], &error["message"]), (&rest_error["type"], &rest_error["message"]), "{tool}");
        assert_eq!(error["message"], "must have at most 100 characters");
    }
    assert_eq!(history_len().await, before, "the refused calls wrote nothing");
    let exactly_100 = "b".repeat(100);
    let claimed = call(&client, "claim_task", json!({ "task_id": task, "agent_id": format!(" {exactly_100} ") })).await;
    assert_eq!(claimed.is_error, Some(false), "100 characters after trimming are allowed, as on REST");
    let now = app.get_json(&format!("/api/tickets/{task}")).await;
    assert_eq!(now["assignee"], exactly_100.as_str());
    assert_eq!(history_len().await, before + 1, "the valid claim wrote its row");
    client.cancel().await.ok();
}

#[tokio::test]
async fn every_tool_argument_with_a_rest_limit_is_held_to_it() {
    let app = spawn_app().await;
    let board_id = id(&app.create_board("B").await);
    let task = id(&app.create_ticket(board_id, "T").await);
    let client = rmcp_connect(&app, None).await.expect("session");
    let chars = |n: usize| "x".repeat(n);

    let cases = [
        ("create_task", json!({ "board_id": board_id, "title": chars(201) }), "arguments.title"),
        ("create_task", json!({ "board_id": board_id, "title": "t", "priority": chars(33) }), "arguments.priority"),
        ("create_task", json!({ "board_id": board_id, "title": "t", "priority": "  " }), "arguments.priority"),
        ("create_task", json!({ "board_id": board_id, "title": "t", "assignee": chars(101) }), "arguments.assignee"),
        (
            "create_task",
            json!({ "board_id": board_id, "title": "t", "description": chars(20_001) }),
            "arguments.description",
        ),
        ("create_task", json!({ "board_id": board_id, "title": "t", "column": "Nowhere" }), "arguments.column"),
        ("edit_task", json!({ "task_id": task, "priority": chars(33) }), "arguments.priority"),
        ("edit_task", json!({ "task_id": task, "assignee": chars(101) }), "arguments.assignee"),
        (
            "edit_task",
            json!({ "task_id": task, "acceptance_criteria": chars(20_001) }),
            "arguments.acceptance_criteria",
        ),
        ("add_comment", json!({ "task_id": task, "text": chars(10_001) }), "arguments.text"),
        ("add_comment", json!({ "task_id": task, "text": "   " }), "arguments.text"),
        ("move_task", json!({ "task_id": task, "column": "Nowhere" }), "arguments.column"),
        ("list_tasks", json!({ "priority": chars(33) }), "arguments.priority"),
        ("list_tasks", json!({ "assignee": chars(101) }), "arguments.assignee"),
        ("list_tasks", json!({ "q": chars(201) }), "arguments.q"),
        ("list_tasks", json!({ "q": "" }), "arguments.q"),
        ("list_tasks", json!({ "column": chars(101) }), "arguments.column"),
        ("list_tasks", json!({ "board_id": 0 }), "arguments.board_id"),
        ("bulk_move", json!({ "task_ids": [task, task + 1, task], "column": "Done" }), "arguments.task_ids.2"),
    ];
    for (tool, arguments, field) in cases {
        let error = rejected(&client, tool, arguments.clone()).await;
        assert_eq!(error["field"], field, "{tool} {arguments}: {error}");
    }
    // The REST list query refuses the same filter values with the same messages.
    let rest = app.get(&format!("/api/tickets?priority={}", chars(33))).await;
    let rest_error = rest.json::<Value>().await.expect("body")["error"]["validation_errors"][0].clone();
    let mcp_error = rejected(&client, "list_tasks", json!({ "priority": chars(33) })).await;
    assert_eq!((&mcp_error["type"], &mcp_error["message"]), (&rest_error["type"], &rest_error["message"]));

    let untouched = app.get_json(&format!("/api/tickets/{task}")).await;
    assert_eq!((untouched["version"].clone(), untouched["priority"].clone()), (json!(1), json!("1.0")));
    assert_eq!(app.get_json(&format!("/api/tickets?board_id={board_id}")).await["total"], 1, "nothing created");
    client.cancel().await.ok();
}

#[tokio::test]
async fn priority_is_free_text_defaulting_to_1_0_as_the_tool_descriptions_say() {
    let app = spawn_app().await;
    let board_id = id(&app.create_board("B").await);
    let client = rmcp_connect(&app, None).await.expect("session");

    let plain = call(&client, "create_task", json!({ "board_id": board_id, "title": "plain" })).await;
    assert_eq!(plain.structured_content.expect("task")["priority"], "1.0");
    let urgent = call(&client, "create_task", json!({ "board_id": board_id, "title": "u", "priority": " P0 " })).await;
    assert_eq!(urgent.structured_content.expect("task")["priority"], "P0", "trimmed, stored as given");

    let found = |priority: &str| {
        let client = &client;
        let arguments = json!({ "board_id": board_id, "priority": priority });
        async move { call(client, "list_tasks", arguments).await.structured_content.expect("page")["total"].clone() }
    };
    assert_eq!(found("1.0").await, 1);
    assert_eq!(found("P0").await, 1);
    assert_eq!(found("medium").await, 0, "no value is special");

    let tools = client.list_all_tools().await.expect("tools/list");
    let tool = |name: &str| tools.iter().find(|t| t.name == name).cloned().expect("listed");
    let create = tool("create_task");
    let priority = create.input_schema["properties"]["priority"]["description"].as_str().unwrap_or("").to_owned();
    assert!(priority.contains("\"1.0\"") && priority.contains("1..32"), "{priority}");
    assert!(!priority.contains("medium"), "{priority}");
    let get_task = tool("get_task");
    assert!(get_task.description.as_deref().unwrap_or("").contains("{task, comments, history}"));
    let output = get_task.output_schema.expect("get_task's output schema");
    assert_eq!(output["required"], json!(["task", "comments", "history"]));
    client.cancel().await.ok();
}
