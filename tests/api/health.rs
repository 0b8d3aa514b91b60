//! Tests for the health probes, the resource reports and the ops role (`ops.md` §1, `auth.md` §7).

use std::time::Duration;

use agent_kanban::config::Secret;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const PASSWORD: &str = "Sturdy-Passw0rd";
const OPS_TOKEN: &str = "ops-token-for-the-tests-0123";

/// The ops routes (`auth.md` §2).
const OPS_ROUTES: [&str; 6] = [
    "/health/detailed",
    "/health/memory",
    "/api/health/",
    "/metrics",
    "/ws/stats",
    "/api/statistics/statistics/health",
];

/// The public health routes.
const PUBLIC_ROUTES: [&str; 4] = ["/health", "/health/live", "/health/ready", "/api/health/simple"];

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap_or_else(|| panic!("an object: {v}")).keys().cloned().collect();
    k.sort();
    k
}

fn assert_keys(v: &Value, expected: &[&str], what: &str) {
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(keys(v), expected, "fields of {what}: {v}");
}

fn assert_numbers(v: &Value, fields: &[&str], what: &str) {
    for f in fields {
        assert!(v[*f].is_number(), "{what}.{f} is a number: {v}");
    }
}

/// Register `username` and return an access token (the first account of a server is admin).
async fn token_for(app: &TestApp, username: &str) -> String {
    let body = json!({ "username": username, "email": format!("{username}@example.com"), "password": PASSWORD });
    assert_eq!(app.post("/api/auth/register", &body).await.status(), StatusCode::CREATED, "register {username}");
    let tokens = ok(app.post("/api/auth/login", &json!({ "username": username, "password": PASSWORD })).await).await;
    tokens["access_token"].as_str().expect("access_token").to_owned()
}

async fn get_with(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    let req = app.request(Method::GET, path);
    let req = match token {
        Some(t) => req.bearer_auth(t),
        None => req,
    };
    req.send().await.expect("GET")
}

fn assert_memory_info(m: &Value) {
    assert_keys(m, &["timestamp", "process", "system", "connections"], "memory_info");
    assert!(is_api_timestamp(&m["timestamp"]), "memory_info.timestamp: {m}");
    let p = &m["process"];
    assert_keys(p, &["rss_mb", "vms_mb", "percent", "num_threads", "num_fds", "max_rss_mb"], "memory_info.process");
    assert_numbers(p, &["rss_mb", "vms_mb", "percent", "max_rss_mb"], "process");
    assert!(p["num_threads"].as_u64().is_some_and(|n| n >= 1), "num_threads: {p}");
    assert!(p["num_fds"].is_u64() || p["num_fds"].is_null(), "num_fds: {p}");
    assert!(p["rss_mb"].as_f64() > Some(0.0) && p["max_rss_mb"].as_f64() >= p["rss_mb"].as_f64());
    assert_keys(&m["system"], &["total_mb", "available_mb", "used_percent"], "memory_info.system");
    assert_numbers(&m["system"], &["total_mb", "available_mb", "used_percent"], "system");
    assert_keys(&m["connections"], &["http", "websocket"], "memory_info.connections");
    assert!(m["connections"]["http"].as_u64() >= Some(1), "this request's connection is open: {m}");
    assert!(m["connections"]["websocket"].is_u64());
}

fn assert_disk(d: &Value, what: &str) {
    assert_keys(d, &["total_gb", "used_gb", "free_gb", "percent"], what);
    assert_numbers(d, &["total_gb", "used_gb", "free_gb", "percent"], what);
}

// ---------------------------------------------------------------------------------------------
// Payloads
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_public_probes_answer_with_their_documented_fields() {
    let app = spawn_app().await;

    let health = app.get_json("/health").await;
    let live = app.get_json("/health/live").await;
    let simple = app.get_json("/api/health/simple").await;
    let ready = app.get_json("/health/ready").await;

    assert_keys(&health, &["status", "version", "uptime_seconds"], "/health");
    assert_eq!((&health["status"], &health["version"]), (&json!("healthy"), &json!(env!("CARGO_PKG_VERSION"))));
    assert!(health["uptime_seconds"].as_f64().is_some_and(|s| s >= 0.0));
    assert_eq!(live, json!({"status": "alive"}));
    assert_keys(&simple, &["status", "timestamp"], "/api/health/simple");
    assert_eq!(simple["status"], "ok", "the spec's shape: {simple}");
    assert!(is_api_timestamp(&simple["timestamp"]), "an API timestamp: {simple}");
    assert_keys(&ready, &["status", "checks"], "/health/ready");
    assert_eq!(ready["status"], "ready");
    let checks = &ready["checks"];
    assert_keys(checks, &["database", "writer", "disk", "shutdown"], "checks");
    assert_keys(&checks["database"], &["status", "latency_ms"], "database check");
    assert_keys(&checks["writer"], &["status", "queue_depth", "latency_ms"], "writer check");
    assert_keys(&checks["disk"], &["status", "free_mb"], "disk check");
    assert_eq!(checks["shutdown"], json!({"status": "ok"}));
    assert!(checks["database"]["latency_ms"].is_number() && checks["writer"]["latency_ms"].is_number());
    assert!(checks["writer"]["queue_depth"].is_u64() && checks["disk"]["free_mb"].is_u64());
    for c in ["database", "writer", "disk"] {
        assert_eq!(checks[c]["status"], "ok", "{c}");
    }
}

#[tokio::test]
async fn the_detailed_report_has_cpu_memory_disk_and_connections() {
    let app = spawn_app().await;
    let mut socket = app.ws("").await;
    socket.next_event("connected").await; // Sent once the hub has registered the socket.

    let d = app.get_json("/health/detailed").await;

    let mut fields = vec!["status", "timestamp", "cpu_percent", "memory", "disk", "network_connections"];
    if d.get("issues").is_some() {
        fields.push("issues"); // Only when non-empty: the machine may well be busy.
        assert!(d["issues"].as_array().is_some_and(|i| !i.is_empty()));
        assert_eq!(d["status"], "warning");
    } else {
        assert_eq!(d["status"], "healthy");
    }
    assert_keys(&d, &fields, "/health/detailed");
    assert!(is_api_timestamp(&d["timestamp"]) && d["cpu_percent"].is_number());
    assert_memory_info(&d["memory"]);
    assert_disk(&d["disk"], "/health/detailed disk");
    let conns = &d["memory"]["connections"];
    assert_eq!(conns["websocket"], 1, "the open socket is counted");
    assert_eq!(
        d["network_connections"].as_u64(),
        Some(conns["http"].as_u64().unwrap_or(0) + conns["websocket"].as_u64().unwrap_or(0))
    );
}

#[tokio::test]
async fn a_low_memory_threshold_is_reported_as_an_issue() {
    let app = spawn_app_with(|c| c.ops.memory_threshold_mb = 1).await;

    let d = app.get_json("/health/detailed").await;

    assert_eq!(d["status"], "warning");
    let issues = d["issues"].as_array().expect("issues");
    let high = issues.iter().find(|i| i["type"] == "high_memory").expect("a high_memory issue");
    assert_keys(high, &["type", "message"], "issue");
    assert!(high["message"].is_string());
}

#[tokio::test]
async fn the_memory_report_has_no_leak_verdict_before_ten_samples() {
    let app = spawn_app().await;

    let m = app.get_json("/health/memory").await;

    assert_keys(
        &m,
        &["current", "leak_detection", "history_count", "threshold_mb", "monitoring", "statistics"],
        "/health/memory",
    );
    assert_memory_info(&m["current"]);
    assert_eq!((&m["threshold_mb"], &m["monitoring"]), (&json!(200), &json!(true)));
    let count = m["history_count"].as_u64().expect("history_count");
    assert!((1..10).contains(&count), "the default interval is 30 s: {count} samples");
    let leak = &m["leak_detection"];
    assert_keys(leak, &["detected", "growth_mb", "readings", "increasing_trend", "current_mb"], "leak_detection");
    assert_eq!(
        (&leak["detected"], &leak["growth_mb"], &leak["increasing_trend"]),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    assert_eq!(leak["readings"], count);
    assert_eq!(leak["current_mb"], m["current"]["process"]["rss_mb"]);
    assert_keys(&m["statistics"], &["min_mb", "max_mb", "avg_mb", "latest_mb"], "statistics");
    assert_numbers(&m["statistics"], &["min_mb", "max_mb", "avg_mb", "latest_mb"], "statistics");
}

#[tokio::test]
async fn leak_detection_gives_a_verdict_once_ten_samples_exist() {
    let app = spawn_app_with(|c| c.ops.memory_sample_interval_seconds = 1).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);

    let m = loop {
        let m = app.get_json("/health/memory").await;
        if m["history_count"].as_u64() >= Some(10) {
            break m;
        }
        assert!(m["leak_detection"]["detected"].is_null(), "no verdict before 10 samples: {m}");
        assert!(tokio::time::Instant::now() < deadline, "10 samples within 60 s at 1 s intervals");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };

    let leak = &m["leak_detection"];
    assert!(leak["detected"].is_boolean() && leak["increasing_trend"].is_boolean(), "{leak}");
    assert!(leak["growth_mb"].is_number() && leak["current_mb"].is_number(), "{leak}");
    assert_eq!(leak["readings"], 10);
}

#[tokio::test]
async fn the_comprehensive_report_has_every_section() {
    let app = spawn_app().await;
    let board = app.create_board("Health").await;
    app.create_ticket(id(&board), "First").await;

    let h = app.get_json("/api/health/").await;

    assert_keys(
        &h,
        &[
            "status",
            "timestamp",
            "server",
            "database",
            "websocket",
            "sessions",
            "resources",
            "recent_activity",
            "metrics",
        ],
        "/api/health/",
    );
    assert_eq!(h["status"], "healthy");
    assert!(is_api_timestamp(&h["timestamp"]));
    let server = &h["server"];
    assert_keys(server, &["name", "version", "environment", "uptime"], "server");
    assert_eq!((&server["name"], &server["environment"]), (&json!("Agent Kanban API"), &json!("development")));
    assert_keys(
        &server["uptime"],
        &["days", "hours", "minutes", "seconds", "total_seconds", "human_readable"],
        "uptime",
    );
    assert!(server["uptime"]["human_readable"].as_str().is_some_and(|s| s.starts_with("0d 0h ")));
    let db = &h["database"];
    assert_keys(db, &["status", "statistics"], "database");
    assert_eq!(db["status"], "connected");
    let stats = &db["statistics"];
    assert_keys(
        stats,
        &[
            "boards",
            "tickets",
            "comments",
            "users",
            "history_entries",
            "events",
            "ticket_distribution",
            "priority_distribution",
        ],
        "database.statistics",
    );
    assert_eq!((&stats["boards"], &stats["tickets"]), (&json!(2), &json!(1)), "the default board and ours");
    assert_eq!(stats["ticket_distribution"], json!({"Not Started": 1}));
    assert_eq!(stats["priority_distribution"], json!({"1.0": 1}));
    assert_keys(
        &h["websocket"],
        &["status", "active_connections", "total_messages_sent", "board_subscriptions"],
        "websocket",
    );
    assert_eq!(h["websocket"]["status"], "active");
    assert_eq!(h["sessions"], json!({"active_count": 0}));
    let r = &h["resources"];
    assert_keys(r, &["cpu", "memory", "disk", "process"], "resources");
    assert_keys(&r["cpu"], &["usage_percent", "count"], "resources.cpu");
    assert_keys(&r["memory"], &["total_mb", "available_mb", "used_mb", "percent"], "resources.memory");
    assert_disk(&r["disk"], "resources.disk");
    assert_keys(&r["process"], &["memory_mb", "threads", "connections"], "resources.process");
    assert!(r["cpu"]["count"].as_u64() >= Some(1) && r["process"]["memory_mb"].as_f64() > Some(0.0));
    assert_eq!(stats["history_entries"], 1, "a create writes its status row");
    assert_eq!(h["recent_activity"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        h["metrics"],
        json!({"average_tickets_per_board": 0.5, "average_comments_per_ticket": 0.0, "total_database_records": 4})
    );
}

#[tokio::test]
async fn recent_activity_lists_the_newest_history_rows_without_values_or_authors() {
    let app = spawn_app().await;
    let ticket = app.create_ticket(1, "Moves").await;
    let moved = app.post(&format!("/api/tickets/{}/move", id(&ticket)), &json!({"column": "In Progress"})).await;
    assert_eq!(moved.status(), StatusCode::OK);

    let h = app.get_json("/api/health").await;

    let recent = h["recent_activity"].as_array().expect("recent_activity");
    let fields: Vec<&Value> = recent.iter().map(|r| &r["field"]).collect();
    assert_eq!(fields, [&json!("column"), &json!("status")], "newest first: the move, then the create");
    for r in recent {
        assert_keys(r, &["ticket_id", "field", "changed_at"], "recent_activity row");
        assert_eq!(r["ticket_id"], id(&ticket));
        assert!(is_api_timestamp(&r["changed_at"]));
    }
}

#[tokio::test]
async fn the_comprehensive_report_names_no_user_client_or_session() {
    let app = spawn_app().await;
    let _admin = token_for(&app, "secret_admin_name").await;
    let session = ok(app.post("/api/users/session", &json!({"username": "anon_label_name"})).await).await;
    let session_id = session["session_id"].as_str().expect("session_id").to_owned();
    let mut socket = app.ws("username=socket_user_name&client_id=socket_label").await;
    let hello = socket.next_event("connected").await;
    let client_id = hello["data"]["client_id"].as_str().expect("client_id").to_owned();

    let text = app.get("/api/health/").await.text().await.expect("body");

    let report: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(report["sessions"]["active_count"], 1);
    assert_eq!(report["websocket"]["active_connections"], 1);
    for secret in ["secret_admin_name", "anon_label_name", "socket_user_name", "socket_label", &client_id, &session_id]
    {
        assert!(!text.contains(secret), "{secret:?} appears in {text}");
    }
}

// ---------------------------------------------------------------------------------------------
// Readiness
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn readiness_fails_the_disk_check_below_the_minimum_free_space() {
    let app = spawn_app_with(|c| c.ops.min_free_disk_mb = 1 << 40).await;

    let resp = app.get("/health/ready").await;

    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = resp.json().await.expect("JSON report");
    assert_eq!(body["status"], "not_ready");
    let disk = &body["checks"]["disk"];
    assert_keys(disk, &["status", "free_mb", "error"], "failing disk check");
    assert_eq!(disk["status"], "fail");
    assert!(disk["error"].as_str().is_some_and(|e| e.contains("ops.min_free_disk_mb")), "{disk}");
    for c in ["database", "writer", "shutdown"] {
        assert_eq!(body["checks"][c]["status"], "ok", "only the disk fails: {body}");
    }
}

#[tokio::test]
async fn readiness_answers_503_naming_the_shutdown_once_the_server_begins_to_stop() {
    let mut app = spawn_app().await;
    let mut socket = app.ws("").await;
    socket.next_event("connected").await;
    // A readiness request held at its writer check, so it is still in flight when shutdown begins.
    let pause = app.pause_writer().await;
    let probe = tokio::spawn(app.request(Method::GET, "/health/ready").send());
    assert!(pause.wait_queued(1).await, "the readiness writer check is queued");

    let stopping = app.stop_in_background();
    // Shutdown sets the readiness flag before it closes sockets: the 1001 proves it is set.
    assert_eq!(socket.closed_with(Duration::from_secs(10)).await, Some(1001));
    pause.release().await;
    let resp = probe.await.expect("probe task").expect("GET /health/ready");

    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = resp.json().await.expect("JSON report");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["checks"]["shutdown"], json!({"status": "fail", "error": "shutdown in progress"}));
    assert_eq!(body["checks"]["database"]["status"], "ok");
    tokio::time::timeout(Duration::from_secs(30), stopping).await.expect("stops in time").expect("stop task");
}

// ---------------------------------------------------------------------------------------------
// The ops role
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn ops_routes_are_public_without_an_ops_token_even_with_a_bad_token() {
    let app = spawn_app_with(|c| c.auth.anonymous_role = agent_kanban::config::AnonymousRole::None).await;

    for path in OPS_ROUTES.iter().chain(PUBLIC_ROUTES.iter()) {
        assert_eq!(get_with(&app, path, None).await.status(), StatusCode::OK, "{path} without a token");
        assert_eq!(get_with(&app, path, Some("not-a-jwt")).await.status(), StatusCode::OK, "{path} with a bad token");
    }
}

#[tokio::test]
async fn with_an_ops_token_ops_routes_admit_only_that_token_or_an_admin() {
    let app = spawn_app_with(|c| c.ops.token = Secret::new(OPS_TOKEN)).await;
    let admin = token_for(&app, "root").await;
    let viewer = token_for(&app, "vic").await;

    for path in OPS_ROUTES {
        for (who, token) in [
            ("no token", None),
            ("a wrong token", Some("ops-token-for-the-tests-0124")),
            ("a viewer", Some(viewer.as_str())),
        ] {
            let resp = get_with(&app, path, token).await;
            let body = assert_error(resp, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
            assert!(body["detail"].is_string(), "{path} with {who}");
        }
        assert_eq!(get_with(&app, path, Some(OPS_TOKEN)).await.status(), StatusCode::OK, "{path} with the ops token");
        assert_eq!(get_with(&app, path, Some(&admin)).await.status(), StatusCode::OK, "{path} as admin");
    }
    for path in PUBLIC_ROUTES {
        assert_eq!(get_with(&app, path, None).await.status(), StatusCode::OK, "{path} stays public");
        assert_eq!(get_with(&app, path, Some("garbage")).await.status(), StatusCode::OK, "{path} ignores a bad token");
    }
}

#[tokio::test]
async fn ws_stats_shows_connection_detail_to_admins_only() {
    let app = spawn_app_with(|c| c.ops.token = Secret::new(OPS_TOKEN)).await;
    let admin = token_for(&app, "root").await;
    let mut socket = app.ws("").await;
    socket.next_event("connected").await;

    let as_ops = ok(get_with(&app, "/ws/stats", Some(OPS_TOKEN)).await).await;
    let as_admin = ok(get_with(&app, "/ws/stats", Some(&admin)).await).await;

    assert_eq!(as_ops["total_connections"], 1);
    assert!(as_ops.get("connections").is_none(), "the ops token sees counts only: {as_ops}");
    assert_eq!(as_admin["connections"].as_array().map(Vec::len), Some(1), "{as_admin}");
}

#[tokio::test]
async fn the_document_describes_the_ops_role() {
    let open = spawn_app().await;
    let guarded = spawn_app_with(|c| c.ops.token = Secret::new(OPS_TOKEN)).await;

    let open_doc = open.get_json("/openapi.json").await;
    let guarded_doc = guarded.get_json("/openapi.json").await;

    let scheme = &guarded_doc["components"]["securitySchemes"]["opsToken"];
    assert_eq!((&scheme["type"], &scheme["scheme"]), (&json!("http"), &json!("bearer")));
    for path in [
        "/health/detailed",
        "/health/memory",
        "/api/health",
        "/metrics",
        "/ws/stats",
        "/api/statistics/statistics/health",
    ] {
        let op = &guarded_doc["paths"][path]["get"];
        assert_eq!(op["security"], json!([{"bearerAuth": ["admin"]}, {"opsToken": []}]), "{path}");
        assert!(op["responses"]["401"].is_object(), "{path} documents 401");
        assert!(
            op["description"].as_str().unwrap_or_default().contains("ops.token")
                || op["summary"].as_str().unwrap_or_default().contains("ops.token"),
            "{path}: {op}"
        );
        let public = &open_doc["paths"][path]["get"]["security"];
        assert_eq!(
            public,
            &json!([{"bearerAuth": ["admin"]}, {"opsToken": []}, {}]),
            "{path} is public without a token"
        );
    }
    for path in ["/health", "/health/live", "/health/ready", "/api/health/simple"] {
        let op = &guarded_doc["paths"][path]["get"];
        assert!(op.is_object() && op.get("security").is_none(), "{path} is documented and public");
    }
    assert!(guarded_doc["paths"]["/health/ready"]["get"]["responses"]["503"]["content"].is_object());
}
