//! Tests for the statistics routes (`api.md` §8, `statistics.md` §3–7 and §10–11) over HTTP:
//! shapes, that the numbers follow a move at once, drag-drop metrics, and every listed error.
//! Exact formulas are pinned by the unit tests of `src/stats/` on hand-computed fixtures; here
//! times come from the real clock, so only counts and relations are asserted.

use agent_kanban::config::AnonymousRole;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const PASSWORD: &str = "Sturdy-Passw0rd";
const COLUMNS: [&str; 5] = ["Not Started", "In Progress", "Blocked", "Ready for QC", "Done"];

async fn move_to(app: &TestApp, ticket_id: i64, column: &str) -> Response {
    app.post(&format!("/api/tickets/{ticket_id}/move"), &json!({"column": column})).await
}

async fn moved(app: &TestApp, ticket_id: i64, column: &str) {
    ok(move_to(app, ticket_id, column).await).await;
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().unwrap_or_else(|| panic!("object expected: {v}")).keys().cloned().collect()
}

// ---------------------------------------------------------------------------------------------
// Board and ticket statistics
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn board_statistics_list_every_column_in_board_order_and_follow_a_move_at_once() {
    let app = spawn_app().await;
    let a = id(&app.create_ticket(1, "a").await);
    app.create_ticket(1, "b").await;
    let before = app.get_json("/api/statistics/boards/1/statistics?use_cache=true").await;
    assert_eq!(keys(&before["column_statistics"]), COLUMNS);
    assert_eq!(before["column_statistics"]["Not Started"]["ticket_count"], 2);
    assert_eq!(before["board_name"], "My First Board");
    assert_eq!(before["cache_info"], json!({"cached": false, "cache_ttl_seconds": 0}));

    moved(&app, a, "In Progress").await;
    let after = app.get_json("/api/statistics/boards/1/statistics").await;

    let ip = &after["column_statistics"]["In Progress"];
    assert_eq!(after["column_statistics"]["Not Started"]["ticket_count"], 1);
    assert_eq!(ip["ticket_count"], 1);
    assert_eq!(ip["std_deviation_seconds"], 0.0, "one ticket has no deviation");
    assert!(ip["mean_time_seconds"].as_f64().is_some_and(|s| (0.0..60.0).contains(&s)), "just moved: {ip}");
    let done = &after["column_statistics"]["Done"];
    assert_eq!((done["ticket_count"].as_i64(), done["percentile_95_hours"].as_f64()), (Some(0), Some(0.0)));
}

#[tokio::test]
async fn ticket_statistics_of_a_lone_ticket_have_no_z_score_and_count_its_moves() {
    let app = spawn_app().await;
    let t = id(&app.create_ticket(1, "Lonely").await);
    moved(&app, t, "Blocked").await;
    moved(&app, t, "In Progress").await;

    let s = app.get_json(&format!("/api/statistics/tickets/{t}/statistics")).await;

    assert_eq!(s["ticket_id"], t);
    assert_eq!(s["current_column"], "In Progress");
    assert_eq!(s["column_transitions"], 2);
    assert_eq!((s["z_score"].clone(), s["percentile_rank"].clone()), (Value::Null, Value::Null));
    assert_eq!((s["color_classification"].as_str(), s["is_outlier"].as_bool()), (Some("normal"), Some(false)));
    assert!(s["total_age_seconds"].as_f64() >= s["time_in_current_column_seconds"].as_f64());
    assert_error(app.get("/api/statistics/tickets/999999/statistics").await, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_validation(app.get("/api/statistics/tickets/abc/statistics").await, "path.ticket_id", "int_parsing").await;
}

#[tokio::test]
async fn unknown_boards_are_404_on_every_board_statistics_route() {
    let app = spawn_app().await;
    for path in [
        "/api/statistics/boards/999/statistics",
        "/api/statistics/boards/999/performance",
        "/api/statistics/boards/999/flow",
        "/api/statistics/boards/999/tickets/colors",
        "/api/statistics/boards/999/tickets/colors/realtime?ticket_ids=1",
        "/api/statistics/boards/999/column/Done/statistics",
        "/api/statistics/boards/999/drag-drop/metrics",
    ] {
        let body = assert_error(app.get(path).await, StatusCode::NOT_FOUND, "NOT_FOUND").await;
        assert_eq!(body["detail"], "Board not found", "{path}");
    }
}

// ---------------------------------------------------------------------------------------------
// Performance and flow
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn performance_counts_a_completion_as_soon_as_the_ticket_reaches_done() {
    let app = spawn_app().await;
    let (a, b) = (id(&app.create_ticket(1, "a").await), id(&app.create_ticket(1, "b").await));
    moved(&app, b, "Blocked").await;
    let before = app.get_json("/api/statistics/boards/1/performance").await;
    assert_eq!((before["tickets_created"].as_i64(), before["tickets_completed"].as_i64()), (Some(2), Some(0)));
    assert_eq!(
        (before["analysis_period_days"].as_i64(), before["velocity_trend"].as_str()),
        (Some(30), Some("stable"))
    );

    moved(&app, a, "Done").await;
    moved(&app, a, "In Progress").await;
    moved(&app, a, "Done").await;
    let after = app.get_json("/api/statistics/boards/1/performance?days=7").await;

    assert_eq!(after["tickets_completed"], 1, "re-entering done counts once");
    assert_eq!(after["completion_rate"], 0.5);
    assert_eq!((after["current_backlog"].as_i64(), after["blocked_tickets"].as_i64()), (Some(1), Some(1)));
    assert_eq!((after["last_week_completed"].as_i64(), after["previous_week_completed"].as_i64()), (Some(1), Some(0)));
    assert_eq!(after["velocity_trend"], "improving", "an empty week before a non-empty one");
    assert_eq!(after["throughput_per_day"], 1.0 / 7.0);
    for bad in ["0", "366", "x"] {
        let resp = app.get(&format!("/api/statistics/boards/1/performance?days={bad}")).await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    }
}

#[tokio::test]
async fn flow_metrics_follow_moves_and_cover_exactly_the_requested_days() {
    let app = spawn_app().await;
    let (a, b) = (id(&app.create_ticket(1, "a").await), id(&app.create_ticket(1, "b").await));
    moved(&app, a, "In Progress").await;
    moved(&app, a, "Done").await;
    moved(&app, b, "Ready for QC").await;

    let f = app.get_json("/api/statistics/boards/1/flow?days=3").await;

    let dates: Vec<&str> =
        f["throughput"].as_array().expect("throughput").iter().map(|d| d["date"].as_str().expect("date")).collect();
    assert_eq!(dates.len(), 3);
    assert!(dates.windows(2).all(|w| w[0] < w[1]), "oldest first: {dates:?}");
    assert!(f["window_start"].as_str().is_some_and(|s| s.starts_with(dates[0]) && s.ends_with("T00:00:00.000Z")));
    assert_eq!(f["throughput"][2]["count"], 1, "completed today");
    assert_eq!((f["lead_time"]["count"].as_i64(), f["cycle_time"]["count"].as_i64()), (Some(1), Some(1)));
    assert!(f["lead_time"]["p95_seconds"].as_f64() >= f["cycle_time"]["p95_seconds"].as_f64());
    assert_eq!(f["column_classes"]["Blocked"], "in_progress");
    let wip: Vec<i64> =
        f["wip"]["columns"].as_array().expect("wip").iter().map(|c| c["count"].as_i64().expect("count")).collect();
    assert_eq!((wip, f["wip"]["total_in_progress"].as_i64()), (vec![0, 0, 0, 1, 1], Some(1)));
    assert_eq!(keys(&f["cfd"][2]["columns"]), COLUMNS);
    assert_eq!(f["cfd"][2]["columns"]["Done"], 1);
    assert_eq!(f["aging_wip"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        (f["aging_wip"][0]["ticket_id"].as_i64(), f["aging_wip"][0]["current_column"].as_str()),
        (Some(b), Some("Ready for QC"))
    );
    assert!(f["aging_wip"][0]["percentile"].is_f64());
    assert_eq!(app.get_json("/api/statistics/boards/1/flow?days=365").await["cfd"].as_array().map(Vec::len), Some(365));
    assert_validation(app.get("/api/statistics/boards/1/flow?days=366").await, "query.days", "out_of_range").await;
    assert_validation(app.get("/api/statistics/boards/1/flow?days=0").await, "query.days", "out_of_range").await;
}

#[tokio::test]
async fn flow_metrics_of_an_empty_board_have_null_times() {
    let app = spawn_app().await;
    let board = id(&app.create_board("Empty").await);

    let f = app.get_json(&format!("/api/statistics/boards/{board}/flow")).await;

    assert_eq!(f["days"], 30);
    assert_eq!(
        f["lead_time"],
        json!({"count": 0, "mean_seconds": null, "p50_seconds": null, "p85_seconds": null, "p95_seconds": null})
    );
    assert_eq!(f["throughput"].as_array().map(Vec::len), Some(30));
    assert_eq!(f["aging_wip"], json!([]));
}

// ---------------------------------------------------------------------------------------------
// Colours and column statistics
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn colours_list_every_ticket_by_column_then_id_and_filter_by_snake_id() {
    let app = spawn_app().await;
    let a = id(&app.create_ticket(1, "a").await);
    let b = id(&app.create_ticket(1, "b").await);
    moved(&app, a, "Ready for QC").await;

    let all = app.get_json("/api/statistics/boards/1/tickets/colors").await;
    let qc = app.get_json("/api/statistics/boards/1/tickets/colors?column=ready_for_qc&use_cache=false").await;

    let order: Vec<i64> =
        all["ticket_colors"].as_array().expect("list").iter().map(|t| t["ticket_id"].as_i64().expect("id")).collect();
    assert_eq!(order, [b, a]);
    assert_eq!(all["filter_column"], Value::Null);
    assert_eq!(all["color_summary"], json!({"normal": 2, "good": 0, "warning": 0, "critical": 0}));
    assert_eq!((qc["filter_column"].as_str(), qc["total_tickets"].as_i64()), (Some("Ready for QC"), Some(1)));
    assert_eq!(qc["ticket_colors"][0]["title"], "a");
    assert_validation(
        app.get("/api/statistics/boards/1/tickets/colors?column=Nowhere").await,
        "query.column",
        "invalid_column",
    )
    .await;
}

#[tokio::test]
async fn realtime_colours_keep_request_order_skip_foreign_ids_and_refuse_more_than_fifty() {
    let app = spawn_app().await;
    let other = id(&app.create_board("Other").await);
    let a = id(&app.create_ticket(1, "a").await);
    let b = id(&app.create_ticket(1, "b").await);
    let foreign = id(&app.create_ticket(other, "f").await);

    let r = app.get_json(&format!("/api/statistics/boards/1/tickets/colors/realtime?ticket_ids={b}&ticket_ids={foreign}&ticket_ids=88888&ticket_ids={a}&ticket_ids={b}")).await;

    let ids: Vec<i64> =
        r["ticket_colors"].as_array().expect("list").iter().map(|t| t["ticket_id"].as_i64().expect("id")).collect();
    assert_eq!(ids, [b, a]);
    assert_eq!(r["response_time_optimized"], true);
    assert_eq!(
        keys(&r["ticket_colors"][0]),
        ["ticket_id", "color_class", "z_score", "time_in_column_seconds", "updated_at"]
    );
    let fifty_one: String = (1..=51).map(|i| format!("ticket_ids={i}")).collect::<Vec<_>>().join("&");
    let too_many = app.get(&format!("/api/statistics/boards/1/tickets/colors/realtime?{fifty_one}")).await;
    let body = assert_error(too_many, StatusCode::BAD_REQUEST, "BAD_REQUEST").await;
    assert_eq!(body["detail"], "Too many ticket IDs (max 50)");
    assert_validation(app.get("/api/statistics/boards/1/tickets/colors/realtime").await, "query.ticket_ids", "missing")
        .await;
    assert_validation(
        app.get("/api/statistics/boards/1/tickets/colors/realtime?ticket_ids=x").await,
        "query.ticket_ids",
        "int_parsing",
    )
    .await;
}

#[tokio::test]
async fn column_statistics_resolve_the_name_and_unknown_columns_are_404() {
    let app = spawn_app().await;
    let a = id(&app.create_ticket(1, "a").await);
    moved(&app, a, "In Progress").await;

    let c = app.get_json("/api/statistics/boards/1/column/in_progress/statistics").await;
    let spaced = app.get_json("/api/statistics/boards/1/column/In%20Progress/statistics?use_cache=true").await;

    assert_eq!((c["column_name"].as_str(), c["ticket_count"].as_i64()), (Some("In Progress"), Some(1)));
    assert_eq!(spaced["column_name"], "In Progress");
    assert_eq!(c["color_distribution"], json!({"normal": 1, "good": 0, "warning": 0, "critical": 0}));
    assert_eq!(c["thresholds"]["warning_threshold_seconds"], c["statistics"]["mean_time_seconds"], "σ = 0");
    let missing = app.get("/api/statistics/boards/1/column/Nowhere/statistics").await;
    assert_eq!(assert_error(missing, StatusCode::NOT_FOUND, "NOT_FOUND").await["detail"], "Column not found");
}

// ---------------------------------------------------------------------------------------------
// Drag-drop metrics, clears, health
// ---------------------------------------------------------------------------------------------

async fn token(app: &TestApp, username: &str) -> String {
    let body = json!({"username": username, "email": format!("{username}@example.com"), "password": PASSWORD});
    assert_eq!(app.post("/api/auth/register", &body).await.status(), StatusCode::CREATED);
    let tokens = ok(app.post("/api/auth/login", &json!({"username": username, "password": PASSWORD})).await).await;
    tokens["access_token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn single_moves_of_existing_tickets_are_recorded_as_successes_or_failures() {
    let app = spawn_app().await;
    let empty = app.get_json("/api/statistics/boards/1/drag-drop/metrics").await;
    assert_eq!(
        empty,
        json!({"board_id": 1, "board_name": "My First Board", "metrics": {"total_operations": 0, "message": "No drag-and-drop operations recorded yet"}})
    );
    let t = id(&app.create_ticket(1, "T").await);

    moved(&app, t, "Done").await;
    moved(&app, t, "Done").await;
    assert_eq!(move_to(&app, t, "Nowhere").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(move_to(&app, 987_654, "Done").await.status(), StatusCode::NOT_FOUND);

    let m = app.get_json("/api/statistics/boards/1/drag-drop/metrics").await;
    let metrics = &m["metrics"];
    assert_eq!(
        (
            metrics["total_operations"].as_i64(),
            metrics["successful_operations"].as_i64(),
            metrics["failed_operations"].as_i64()
        ),
        (Some(3), Some(2), Some(1))
    );
    assert_eq!(metrics["operations_by_type"]["move_ticket"]["count"], 3);
    assert!(metrics["first_recorded"].as_str().is_some_and(|s| s.ends_with('Z')));
    assert!((m["performance_analysis"]["success_rate"].as_f64().expect("rate") - 200.0 / 3.0).abs() < 1e-9);
    assert_eq!(m["performance_analysis"]["operations_per_hour"], 180.0, "3 operations in the minimum 60 s window");
    let all = app.get_json("/api/statistics/drag-drop/metrics/all").await;
    assert_eq!(all["total_boards_with_activity"], 1);
    assert_eq!(all["board_metrics"]["1"]["total_operations"], 3);
    assert_eq!(all["aggregate_metrics"]["total_failed_operations"], 1);
    let health = app.get_json("/api/statistics/statistics/health").await;
    assert_eq!(health["drag_drop_metrics"], json!({"boards_with_metrics": 1, "status": "operational"}));
}

#[tokio::test]
async fn only_admins_clear_metrics_and_the_cache_and_health_is_public() {
    let app = spawn_app_with(|cfg| cfg.auth.anonymous_role = AnonymousRole::None).await;
    let admin = token(&app, "root").await;
    let viewer = token(&app, "vic").await;
    let t = app
        .request(Method::POST, "/api/tickets/")
        .bearer_auth(&admin)
        .json(&json!({"board_id": 1, "title": "T"}))
        .send()
        .await
        .expect("POST");
    let t = id(&t.json::<Value>().await.expect("ticket"));
    let mv = app
        .request(Method::POST, &format!("/api/tickets/{t}/move"))
        .bearer_auth(&admin)
        .json(&json!({"column": "Done"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(mv.status(), StatusCode::OK);
    let post = |path: &'static str, token: Option<&str>| {
        let req = app.request(Method::POST, path);
        match token {
            Some(t) => req.bearer_auth(t.to_owned()),
            None => req,
        }
        .send()
    };

    assert_error(
        post("/api/statistics/drag-drop/metrics/clear", None).await.expect("POST"),
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    )
    .await;
    assert_error(
        post("/api/statistics/drag-drop/metrics/clear", Some(&viewer)).await.expect("POST"),
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    )
    .await;
    assert_error(
        post("/api/statistics/statistics/cache/clear", Some(&viewer)).await.expect("POST"),
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    )
    .await;
    assert_error(app.get("/api/statistics/drag-drop/metrics/all").await, StatusCode::UNAUTHORIZED, "UNAUTHORIZED")
        .await;
    let health = ok(app.get("/api/statistics/statistics/health").await).await;
    assert_eq!(health["drag_drop_metrics"]["boards_with_metrics"], 1, "the viewer's refusals cleared nothing");
    let cleared = ok(post("/api/statistics/drag-drop/metrics/clear", Some(&admin)).await.expect("POST")).await;
    let cache = ok(post("/api/statistics/statistics/cache/clear", Some(&admin)).await.expect("POST")).await;

    assert_eq!(cleared, json!({"message": "All drag-and-drop metrics cleared successfully"}));
    assert_eq!(cache, json!({"message": "Statistics cache cleared successfully"}));
    let after = ok(app.get("/api/statistics/statistics/health").await).await;
    assert_eq!(
        after,
        json!({"status": "healthy", "statistics_service": {"cache_size": 0, "cache_keys": [], "cache_duration_seconds": 0},
            "redis_cache": {"status": "disabled", "redis_connected": false},
            "drag_drop_metrics": {"boards_with_metrics": 0, "status": "operational"}})
    );
}

// ---------------------------------------------------------------------------------------------
// History stats
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn history_stats_count_changes_by_field_user_and_date() {
    let app = spawn_app().await;
    let t = id(&app.create_ticket(1, "T").await);
    ok(app.post(&format!("/api/tickets/{t}/move"), &json!({"column": "Done", "moved_by": "alice"})).await).await;
    ok(app.post(&format!("/api/tickets/{t}/move"), &json!({"column": "Blocked", "moved_by": "alice"})).await).await;

    let s = app.get_json("/api/history/stats?days=1").await;

    assert_eq!((s["analysis_period_days"].as_i64(), s["total_changes"].as_i64()), (Some(1), Some(3)));
    assert_eq!(s["changes_by_field"], json!([{"field": "column", "count": 2}, {"field": "status", "count": 1}]));
    assert_eq!(s["changes_by_user"], json!([{"user": "alice", "count": 2}, {"user": "system", "count": 1}]));
    let daily = s["daily_activity"].as_array().expect("daily");
    assert_eq!(daily.iter().map(|d| d["count"].as_i64().unwrap_or(0)).sum::<i64>(), 3);
    assert_eq!(app.get_json("/api/history/stats").await["analysis_period_days"], 7);
    assert_validation(app.get("/api/history/stats?days=31").await, "query.days", "out_of_range").await;
}

// ---------------------------------------------------------------------------------------------
// OpenAPI
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_statistics_bulk_and_history_stats_route_is_documented_with_roles_and_error_bodies() {
    let app = spawn_app().await;
    let doc = app.get_json("/openapi.json").await;
    let routes = [
        ("get", "/api/statistics/boards/{board_id}/statistics", Some("viewer")),
        ("get", "/api/statistics/tickets/{ticket_id}/statistics", Some("viewer")),
        ("get", "/api/statistics/boards/{board_id}/performance", Some("viewer")),
        ("get", "/api/statistics/boards/{board_id}/flow", Some("viewer")),
        ("get", "/api/statistics/boards/{board_id}/tickets/colors", Some("viewer")),
        ("get", "/api/statistics/boards/{board_id}/tickets/colors/realtime", Some("viewer")),
        ("get", "/api/statistics/boards/{board_id}/column/{column_name}/statistics", Some("viewer")),
        ("get", "/api/statistics/boards/{board_id}/drag-drop/metrics", Some("viewer")),
        ("get", "/api/statistics/drag-drop/metrics/all", Some("viewer")),
        ("post", "/api/statistics/drag-drop/metrics/clear", Some("admin")),
        ("post", "/api/statistics/statistics/cache/clear", Some("admin")),
        // Ops role: an admin token or the ops token (public while ops.token is empty).
        ("get", "/api/statistics/statistics/health", Some("admin")),
        ("post", "/api/bulk/tickets/move", Some("pm")),
        ("post", "/api/bulk/tickets/priority", Some("pm")),
        ("post", "/api/bulk/tickets/assign", Some("pm")),
        ("get", "/api/bulk/operations/status", Some("viewer")),
        ("get", "/api/history/stats", Some("viewer")),
    ];
    for (method, path, role) in routes {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is documented");
        let roles = op["security"][0]["bearerAuth"].clone();
        match role {
            Some(r) => assert_eq!(roles, json!([r]), "{method} {path} minimum role"),
            None => assert!(op.get("security").is_none(), "{method} {path} is public"),
        }
        for (status, resp) in op["responses"].as_object().expect("responses") {
            assert!(
                resp["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{method} {path} {status} has a description"
            );
            if !status.starts_with('2') {
                let schema = &resp["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(schema, "#/components/schemas/ErrorBody", "{method} {path} {status}");
            }
        }
    }
}
