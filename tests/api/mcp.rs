//! The MCP endpoint driven by rmcp's own client over Streamable HTTP (and through the stdio
//! bridge as a child process), against the real server.

use std::time::Duration;

use reqwest::StatusCode;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ReadResourceRequestParams, ResourceUpdatedNotificationParam,
    SubscribeRequestParams,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::helpers::{TestApp, id, ok, spawn_app};

const LIMIT: Duration = Duration::from_secs(20);
const PASSWORD: &str = "Sturdy-Passw0rd";

/// A client that forwards `notifications/resources/updated` URIs to a channel.
#[derive(Clone)]
struct Notes(mpsc::UnboundedSender<String>);

impl ClientHandler for Notes {
    async fn on_resource_updated(
        &self,
        params: ResourceUpdatedNotificationParam,
        _ctx: NotificationContext<RoleClient>,
    ) {
        let _ = self.0.send(params.uri);
    }
}

type Client = RunningService<RoleClient, Notes>;

async fn connect_with(app: &TestApp, token: Option<&str>) -> (Client, mpsc::UnboundedReceiver<String>) {
    let mut config = StreamableHttpClientTransportConfig::with_uri(app.url("/mcp"));
    if let Some(t) = token {
        config = config.auth_header(t.to_owned());
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let transport = StreamableHttpClientTransport::from_config(config);
    let client =
        tokio::time::timeout(LIMIT, Notes(tx).serve(transport)).await.expect("initialize in time").expect("initialize");
    (client, rx)
}

async fn connect(app: &TestApp) -> Client {
    connect_with(app, None).await.0
}

fn args(v: Value) -> rmcp::model::JsonObject {
    v.as_object().cloned().expect("arguments object")
}

async fn call(client: &Client, name: &'static str, arguments: Value) -> CallToolResult {
    let params = CallToolRequestParams::new(name).with_arguments(args(arguments));
    tokio::time::timeout(LIMIT, client.call_tool(params)).await.expect("call in time").expect("tools/call")
}

/// A successful call's structured result, checked against the tool's declared output schema.
async fn call_ok(client: &Client, name: &'static str, arguments: Value) -> Value {
    let result = call(client, name, arguments).await;
    assert_eq!(result.is_error, Some(false), "{name}: {:?}", result.structured_content);
    let content = result.structured_content.expect("structured content");
    let tools = tokio::time::timeout(LIMIT, client.list_all_tools()).await.expect("in time").expect("tools/list");
    let tool = tools.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("{name} is listed"));
    let schema = Value::Object(
        tool.output_schema.as_ref().unwrap_or_else(|| panic!("{name} declares its output")).as_ref().clone(),
    );
    let validator = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{name}'s output schema: {e}"));
    let errors: Vec<String> =
        validator.iter_errors(&content).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{name}'s result does not match its output schema: {errors:?}\nresult: {content}");
    content
}

/// A failed call's error body, asserting its code.
async fn call_err(client: &Client, name: &'static str, arguments: Value, code: &str) -> Value {
    let result = call(client, name, arguments).await;
    assert_eq!(result.is_error, Some(true), "{name} should fail");
    let body = result.structured_content.expect("structured error");
    assert_eq!(body["error"]["code"], code, "{name}: {body}");
    body
}

async fn register(app: &TestApp, username: &str) -> i64 {
    let body = json!({ "username": username, "email": format!("{username}@example.com"), "password": PASSWORD });
    let resp = app.post("/api/auth/register", &body).await;
    assert_eq!(resp.status(), StatusCode::CREATED, "register {username}");
    id(&resp.json().await.expect("user body"))
}

async fn token(app: &TestApp, username: &str) -> String {
    let body = ok(app.post("/api/auth/login", &json!({ "username": username, "password": PASSWORD })).await).await;
    body["access_token"].as_str().expect("access_token").to_owned()
}

/// An admin, then one user of `role`; returns the user's token.
async fn user_with_role(app: &TestApp, username: &str, role: &str) -> String {
    let user = register(app, username).await;
    let admin = token(app, "the_admin").await;
    let resp = app
        .client
        .put(app.url(&format!("/api/auth/users/{user}")))
        .bearer_auth(&admin)
        .json(&json!({ "role": role }))
        .send()
        .await
        .expect("PUT role");
    assert_eq!(resp.status(), StatusCode::OK, "make {username} a {role}");
    token(app, username).await
}

fn tool_names(tools: &[rmcp::model::Tool]) -> Vec<String> {
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn initialize_negotiates_and_tools_list_shows_only_the_tools_of_the_callers_role() {
    let app = spawn_app().await;
    register(&app, "the_admin").await;
    let viewer = user_with_role(&app, "vera", "viewer").await;
    let agent = user_with_role(&app, "ada", "agent").await;

    let (as_viewer, _) = connect_with(&app, Some(&viewer)).await;
    let info = as_viewer.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().map(|i| i.name.as_str()), Some("agent-kanban"));
    assert!(info.capabilities.resources.as_ref().and_then(|r| r.subscribe).unwrap_or(false));
    let viewer_tools = as_viewer.list_all_tools().await.expect("tools/list");
    assert_eq!(
        tool_names(&viewer_tools),
        ["get_board_state", "get_flow_metrics", "get_task", "list_boards", "list_columns", "list_tasks"],
    );
    assert!(viewer_tools.iter().all(|t| t.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true)));

    let (as_agent, _) = connect_with(&app, Some(&agent)).await;
    let agent_tools = as_agent.list_all_tools().await.expect("tools/list");
    assert_eq!(agent_tools.len(), 13, "every tool but the pm's bulk_move");
    assert!(agent_tools.iter().all(|t| t.name != "bulk_move"));
    let create = agent_tools.iter().find(|t| t.name == "create_task").expect("create_task");
    let notes = create.annotations.as_ref().expect("annotations");
    assert_eq!(
        (notes.read_only_hint, notes.destructive_hint, notes.idempotent_hint),
        (Some(false), Some(false), Some(false))
    );
    assert_eq!(create.input_schema["properties"]["title"]["type"], "string");
    let output = create.output_schema.as_ref().expect("create_task's output schema");
    assert!(output["properties"]["version"].is_object(), "{output:?}");

    // A viewer calling a write is refused with a tool error naming the role; nothing is written.
    let board = id(&app.create_board("B").await);
    let refused = call_err(&as_viewer, "create_task", json!({ "board_id": board, "title": "x" }), "FORBIDDEN").await;
    assert!(refused["error"]["message"].as_str().unwrap_or("").contains("agent"), "{refused}");
    assert_eq!(app.get_json(&format!("/api/tickets?board_id={board}")).await["total"], 0);
    as_viewer.cancel().await.ok();
    as_agent.cancel().await.ok();
}

#[tokio::test]
async fn every_tool_works_and_its_writes_show_in_rest_history_and_websocket_events() {
    let app = spawn_app().await;
    register(&app, "the_admin").await;
    let agent = user_with_role(&app, "ada", "agent").await;
    let board = app.create_board("Work").await;
    let board_id = id(&board);
    let (client, _) = connect_with(&app, Some(&agent)).await;
    let mut ws = app.ws(&format!("board_id={board_id}")).await;
    ws.next_event("connected").await;

    let created =
        call_ok(&client, "create_task", json!({ "board_id": board_id, "title": "Write docs", "priority": "high" }))
            .await;
    let task = id(&created);
    assert_eq!(ws.next_event("ticket_created").await["data"]["id"], task);
    let rest = app.get_json(&format!("/api/tickets/{task}")).await;
    assert_eq!(rest, created, "the MCP result is the REST representation");

    let edited =
        call_ok(&client, "edit_task", json!({ "task_id": task, "title": "Write the docs", "expected_version": 1 }))
            .await;
    assert_eq!(edited["title"], "Write the docs");
    assert_eq!(ws.next_event("ticket_updated").await["data"]["changed_fields"], json!(["title"]));
    let claimed = call_ok(&client, "claim_task", json!({ "task_id": task })).await;
    assert_eq!(claimed["assignee"], "ada");
    ws.next_event("ticket_claimed").await;
    let columns = call_ok(&client, "list_columns", json!({ "board_id": board_id })).await["columns"].clone();
    let second = columns[1].as_str().expect("a second column").to_owned();
    let moved = call_ok(&client, "move_task", json!({ "task_id": task, "column": second })).await;
    assert_eq!(moved["current_column"], second.as_str());
    let event = ws.next_event("ticket_moved").await;
    assert_eq!((event["data"]["id"].as_i64(), event["data"]["moved_by"].as_str()), (Some(task), Some("ada")));
    assert_eq!(event["data"]["to_column"], second.as_str());
    // The same event as the equivalent REST move: same fields.
    let other = id(&app.create_ticket(board_id, "Other").await);
    ws.next_event("ticket_created").await;
    ok(app.post(&format!("/api/tickets/{other}/move"), &json!({ "column": second })).await).await;
    let rest_event = ws.next_event("ticket_moved").await;
    let keys = |e: &Value| e["data"].as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
    assert_eq!(keys(&event), keys(&rest_event));
    let third = columns[2].as_str().expect("a third column").to_owned();
    call_ok(&client, "update_task_status", json!({ "task_id": task, "column": third })).await;
    let comment = call_ok(&client, "add_comment", json!({ "task_id": task, "text": "done" })).await;
    assert_eq!(comment["author"], "ada");
    let released = call_ok(&client, "release_task", json!({ "task_id": task })).await;
    assert!(released["assignee"].is_null());

    let boards = call_ok(&client, "list_boards", json!({ "limit": 1 })).await;
    assert_eq!(boards["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(boards["next_cursor"], "1", "the seeded board and ours: a second page");
    let state = call_ok(&client, "get_board_state", json!({ "board_id": board_id })).await;
    let in_third = state["columns"].as_array().expect("columns").iter().find(|c| c["name"] == third.as_str()).cloned();
    assert_eq!(in_third.map(|c| c["count"].clone()), Some(json!(1)));
    call_ok(&client, "create_task", json!({ "board_id": board_id, "title": "Second" })).await;
    let page = call_ok(&client, "list_tasks", json!({ "board_id": board_id, "limit": 1 })).await;
    assert_eq!((page["total"].clone(), page["next_cursor"].clone()), (json!(3), json!("1")));
    let next = call_ok(&client, "list_tasks", json!({ "board_id": board_id, "limit": 1, "cursor": "2" })).await;
    assert_eq!(next["items"][0]["title"], "Second");
    assert!(next["next_cursor"].is_null());

    let flow = call_ok(&client, "get_flow_metrics", json!({ "board_id": board_id, "days": 7 })).await;
    let rest_flow = app.get_json(&format!("/api/statistics/boards/{board_id}/flow?days=7")).await;
    assert_eq!(
        flow.as_object().map(|o| o.keys().collect::<Vec<_>>()),
        rest_flow.as_object().map(|o| o.keys().collect())
    );

    let full = call_ok(&client, "get_task", json!({ "task_id": task })).await;
    assert_eq!(full["comments"][0]["text"], "done");
    let history = full["history"].as_array().expect("history");
    assert!(history.len() >= 5, "{history:?}");
    assert!(history.iter().all(|h| h["changed_by"] == "ada"), "{history:?}");
    let rest_history = app.get_json(&format!("/api/history/tickets/{task}/history")).await;
    assert_eq!(&rest_history, &full["history"]);
    client.cancel().await.ok();
}

#[tokio::test]
async fn errors_are_tool_results_with_the_rest_codes_and_change_nothing() {
    let app = spawn_app().await;
    let board_id = id(&app.create_board("B").await);
    let ticket = app.create_ticket(board_id, "T").await;
    let task = id(&ticket);
    let client = connect(&app).await;

    call_err(&client, "get_task", json!({ "task_id": 999_999 }), "NOT_FOUND").await;
    call_err(&client, "move_task", json!({ "task_id": 999_999, "column": "Done" }), "NOT_FOUND").await;
    let wrong =
        call_err(&client, "move_task", json!({ "task_id": task, "column": "Nowhere" }), "VALIDATION_ERROR").await;
    assert!(wrong["error"]["validation_errors"].is_array(), "{wrong}");
    let stale = call_err(
        &client,
        "edit_task",
        json!({ "task_id": task, "title": "New", "expected_version": 7 }),
        "PRECONDITION_FAILED",
    )
    .await;
    assert_eq!(stale["current_task"]["version"], 1);
    assert_eq!(stale["current_task"]["title"], "T");
    call_ok(&client, "claim_task", json!({ "task_id": task, "agent_id": "alice" })).await;
    call_err(&client, "claim_task", json!({ "task_id": task, "agent_id": "bob" }), "ALREADY_CLAIMED").await;
    for bad in [json!({}), json!({ "task_id": "one" }), json!({ "task_id": task, "colour": "red" })] {
        let body = call_err(&client, "get_task", bad.clone(), "VALIDATION_ERROR").await;
        assert!(
            body["error"]["validation_errors"][0]["field"].as_str().unwrap_or("").starts_with("arguments"),
            "{bad}: {body}"
        );
    }
    call_err(&client, "edit_task", json!({ "task_id": task, "title": "   " }), "VALIDATION_ERROR").await;

    let now = app.get_json(&format!("/api/tickets/{task}")).await;
    assert_eq!((now["title"].clone(), now["current_column"].clone()), (json!("T"), ticket["current_column"].clone()));
    assert_eq!(now["assignee"], "alice");

    // An unknown tool is a protocol error, not a tool result.
    let unknown = client.call_tool(CallToolRequestParams::new("drop_tables")).await;
    assert!(unknown.is_err());
    client.cancel().await.ok();
}

#[tokio::test]
async fn a_retried_idempotency_key_returns_the_first_result_and_writes_once() {
    let app = spawn_app().await;
    let board_id = id(&app.create_board("B").await);
    let client = connect(&app).await;
    let arguments = json!({ "board_id": board_id, "title": "Once", "idempotency_key": "k-1" });
    let first = call_ok(&client, "create_task", arguments.clone()).await;
    let again = call_ok(&client, "create_task", arguments).await;
    assert_eq!(first, again);
    assert_eq!(app.get_json(&format!("/api/tickets?board_id={board_id}")).await["total"], 1);
    let other = json!({ "board_id": board_id, "title": "Different", "idempotency_key": "k-1" });
    call_err(&client, "create_task", other, "IDEMPOTENCY_KEY_REUSED").await;
    client.cancel().await.ok();
}

#[tokio::test]
async fn a_subscribed_board_notifies_resource_updated_after_a_rest_move() {
    let app = spawn_app().await;
    let board = app.create_board("B").await;
    let board_id = id(&board);
    let task = id(&app.create_ticket(board_id, "T").await);
    let (client, mut notes) = connect_with(&app, None).await;
    let uri = format!("kanban://boards/{board_id}");
    let read = client.read_resource(ReadResourceRequestParams::new(uri.clone())).await.expect("resources/read");
    assert_eq!(read.contents.len(), 1);
    #[allow(deprecated)]
    client.subscribe(SubscribeRequestParams::new(uri.clone())).await.expect("resources/subscribe");

    let column = board["columns"][1].clone();
    ok(app.post(&format!("/api/tickets/{task}/move"), &json!({ "column": column })).await).await;
    let note = tokio::time::timeout(LIMIT, notes.recv()).await.expect("notified in time");
    assert_eq!(note.as_deref(), Some(uri.as_str()));
    client.cancel().await.ok();
}

#[tokio::test]
async fn the_stdio_bridge_relays_a_session_to_the_running_server() {
    let app = spawn_app().await;
    let board_id = id(&app.create_board("Bridged").await);
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_agent-kanban"));
    command.arg("mcp").arg("--url").arg(app.url("/mcp"));
    let child = TokioChildProcess::new(command).expect("spawn the bridge");
    let client = tokio::time::timeout(LIMIT, ().serve(child)).await.expect("initialize in time").expect("initialize");
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "move_task"));
    let params = CallToolRequestParams::new("list_columns").with_arguments(args(json!({ "board_id": board_id })));
    let result = tokio::time::timeout(LIMIT, client.call_tool(params)).await.expect("in time").expect("tools/call");
    assert_eq!(result.structured_content.expect("structured")["board_id"], board_id);
    client.cancel().await.ok();
}

/// Start the stdio bridge against `app` with `token`, send it an `initialize` request, and wait
/// for it to exit; returns its exit status and what it wrote on stderr.
async fn bridge_with_token(app: &TestApp, token: &str) -> (std::process::ExitStatus, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_agent-kanban"))
        .arg("mcp")
        .arg("--url")
        .arg(app.url("/mcp"))
        .arg("--token")
        .arg(token)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the bridge");
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": { "name": "bridge-test", "version": "1" }
        }
    });
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(format!("{initialize}\n").as_bytes()).await.expect("write initialize");
    stdin.flush().await.expect("flush");
    let out = tokio::time::timeout(LIMIT, child.wait_with_output()).await.expect("exits in time").expect("wait");
    drop(stdin);
    (out.status, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test]
async fn the_stdio_bridge_with_a_bad_token_says_invalid_or_expired_token_and_exits_1() {
    let app = spawn_app().await;
    let (status, stderr) = bridge_with_token(&app, "not-a-token").await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim(), "error: invalid or expired token");
}

#[tokio::test]
async fn status_reports_mcp_and_the_switch_and_origin_check_guard_the_endpoint() {
    let app = spawn_app().await;
    assert_eq!(app.get_json("/api/status").await["mcp_available"], true);
    let foreign = app
        .client
        .post(app.url("/mcp"))
        .header("origin", "http://evil.example")
        .header("accept", "application/json, text/event-stream")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" }))
        .send()
        .await
        .expect("POST /mcp");
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let bad_token = app.client.post(app.url("/mcp")).bearer_auth("nope").json(&json!({})).send().await.expect("POST");
    assert_eq!(bad_token.status(), StatusCode::UNAUTHORIZED);
    let doc = app.get_json("/openapi.json").await;
    assert!(doc["paths"].as_object().expect("paths").keys().all(|p| !p.starts_with("/mcp")));

    let off = crate::helpers::spawn_app_with(|c| c.mcp.enabled = false).await;
    assert_eq!(off.get_json("/api/status").await["mcp_available"], false);
    assert_eq!(off.post("/mcp", &json!({})).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bulk_move_moves_many_tasks_in_one_call_like_the_rest_route() {
    let app = spawn_app().await;
    let board = app.create_board("B").await;
    let board_id = id(&board);
    let ids = [id(&app.create_ticket(board_id, "a").await), id(&app.create_ticket(board_id, "b").await)];
    let client = connect(&app).await;
    let column = board["columns"][1].as_str().expect("column").to_owned();
    let result = call_ok(&client, "bulk_move", json!({ "task_ids": ids, "column": column })).await;
    assert_eq!(result["successful_moves"], 2, "{result}");
    for t in ids {
        assert_eq!(app.get_json(&format!("/api/tickets/{t}")).await["current_column"], column.as_str());
    }
    call_err(&client, "bulk_move", json!({ "task_ids": [], "column": column }), "VALIDATION_ERROR").await;
    client.cancel().await.ok();
}

#[tokio::test]
async fn an_open_mcp_session_does_not_hold_up_a_graceful_stop() {
    let app = spawn_app().await;
    let client = connect(&app).await;
    call_ok(&client, "list_boards", json!({})).await;
    let started = std::time::Instant::now();
    let _app = tokio::time::timeout(LIMIT, app.restart()).await.expect("stopped in time");
    assert!(started.elapsed() < Duration::from_secs(5), "stop took {:?}", started.elapsed());
    drop(client);
}

#[tokio::test]
async fn mcp_requests_spend_the_general_rate_limit() {
    let app = crate::helpers::spawn_app_with(|c| {
        c.rate_limit.enabled = true;
        c.rate_limit.general = "2/hour".parse().expect("quota");
    })
    .await;
    let ping = || {
        app.client
            .post(app.url("/mcp"))
            .header("accept", "application/json, text/event-stream")
            .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" }))
    };
    for _ in 0..2 {
        assert_ne!(ping().send().await.expect("POST /mcp").status(), StatusCode::TOO_MANY_REQUESTS);
    }
    let limited = ping().send().await.expect("POST /mcp");
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = limited.json().await.expect("error body");
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
}
