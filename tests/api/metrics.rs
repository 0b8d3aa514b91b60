//! `/metrics`: every series of ops.md §2 in Prometheus text (format 0.0.4), fed from the real
//! places: the HTTP layer, the rate limiter, the hub, the writer and the read pool.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

/// One sample of a series, by its exact name.
async fn sample(app: &TestApp, name: &str) -> f64 {
    let resp = app.get("/metrics").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let text = resp.text().await.expect("body");
    let line = text.lines().find(|l| l.split(' ').next() == Some(name)).unwrap_or_else(|| panic!("{name} in {text}"));
    line.rsplit(' ').next().and_then(|v| v.parse().ok()).expect("numeric sample")
}

#[tokio::test]
async fn writer_counters_count_each_command_and_its_statements() {
    // Arrange
    let app = spawn_app().await;
    let before = |name: &'static str| sample(&app, name);
    let (commands, statements, triggers, batches) = (
        before("kanban_db_writer_commands_total").await,
        before("kanban_db_writer_statements_total").await,
        before("kanban_db_writer_trigger_runs_total").await,
        before("kanban_db_writer_batches_total").await,
    );

    // Act: one ticket create, alone in its batch.
    app.create_ticket(1, "counted").await;

    // Assert: BEGIN IMMEDIATE + SAVEPOINT, the ticket (its board's first column read by the insert)
    // + its history row, the event, COMMIT; the ticket-count and event-seq triggers ran once each.
    assert_eq!(sample(&app, "kanban_db_writer_commands_total").await - commands, 1.0);
    assert_eq!(sample(&app, "kanban_db_writer_batches_total").await - batches, 1.0);
    assert_eq!(sample(&app, "kanban_db_writer_statements_total").await - statements, 6.0);
    assert_eq!(sample(&app, "kanban_db_writer_trigger_runs_total").await - triggers, 2.0);
    assert!(sample(&app, "kanban_db_writer_command_seconds_total").await > 0.0);
    assert_eq!(sample(&app, "kanban_db_writer_max_batch_size").await, 1.0);
    assert_eq!(sample(&app, "kanban_db_writer_queue_depth").await, 0.0);
}

#[tokio::test]
async fn a_move_costs_seven_statements_and_a_rejected_one_writes_nothing() {
    let app = spawn_app().await;
    let id = app.create_ticket(1, "moved").await["id"].as_i64().expect("id");
    let statements = sample(&app, "kanban_db_writer_statements_total").await;

    let moved = app.post(&format!("/api/tickets/{id}/move"), &json!({"column": "Done"})).await;
    assert_eq!(moved.status(), StatusCode::OK);
    // BEGIN + SAVEPOINT, the ticket with its board's columns, then the update, its history row and
    // the event in one round trip, COMMIT.
    let after_move = sample(&app, "kanban_db_writer_statements_total").await;
    assert_eq!(after_move - statements, 7.0);

    let rejected = app.post(&format!("/api/tickets/{id}/move"), &json!({"column": "Nowhere"})).await;
    assert_eq!(rejected.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // BEGIN + SAVEPOINT, the read, then ROLLBACK TO + COMMIT: nothing written.
    assert_eq!(sample(&app, "kanban_db_writer_statements_total").await - after_move, 5.0);
}

/// One parsed sample line.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed exposition: `# TYPE` per family name, and every sample.
#[derive(Debug)]
struct Exposition {
    types: HashMap<String, String>,
    samples: Vec<Sample>,
}

/// Parse `name{k="v",...} value` (label values here never hold `"`, `,` or `}` escapes).
fn parse_sample(line: &str) -> Sample {
    let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("sample line {line}"));
    let value = match value {
        "+Inf" => f64::INFINITY,
        v => v.parse().unwrap_or_else(|_| panic!("numeric value in {line}")),
    };
    let (name, labels) = match series.split_once('{') {
        None => (series.to_owned(), BTreeMap::new()),
        Some((name, rest)) => {
            let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("closed labels in {line}"));
            let labels = body
                .split("\",")
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("label pair in {line}"));
                    (k.to_owned(), v.trim_end_matches('"').to_owned())
                })
                .collect();
            (name.to_owned(), labels)
        }
    };
    Sample { name, labels, value }
}

fn parse(text: &str) -> Exposition {
    let mut types = HashMap::new();
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(types.insert(name.to_owned(), kind.to_owned()).is_none(), "one TYPE line for {name}");
        } else if !line.starts_with('#') {
            samples.push(parse_sample(line));
        }
    }
    Exposition { types, samples }
}

async fn scrape(app: &TestApp) -> Exposition {
    let resp = app.get("/metrics").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    parse(&resp.text().await.expect("body"))
}

impl Exposition {
    /// The value of `name` with exactly `labels` (0 when the series does not exist yet).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let want: BTreeMap<String, String> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.samples.iter().find(|s| s.name == name && s.labels == want).map_or(0.0, |s| s.value)
    }

    fn with_name<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// The `le` bounds of the first series of histogram `name`, in order.
    fn buckets(&self, name: &str) -> Vec<String> {
        let bucket = format!("{name}_bucket");
        let first = self.with_name(&bucket).next().unwrap_or_else(|| panic!("{bucket} present"));
        let mut others = first.labels.clone();
        others.remove("le");
        self.with_name(&bucket)
            .filter(|s| s.labels.iter().filter(|(k, _)| *k != "le").eq(others.iter()))
            .map(|s| s.labels["le"].clone())
            .collect()
    }
}

/// Every metric of ops.md §2 with its type.
const SPEC: [(&str, &str); 18] = [
    ("kanban_http_requests_total", "counter"),
    ("kanban_http_request_duration_seconds", "histogram"),
    ("kanban_http_requests_in_flight", "gauge"),
    ("kanban_rate_limited_total", "counter"),
    ("kanban_ws_connections", "gauge"),
    ("kanban_ws_connections_total", "counter"),
    ("kanban_ws_closed_total", "counter"),
    ("kanban_ws_messages_sent_total", "counter"),
    ("kanban_events_published_total", "counter"),
    ("kanban_events_dropped_total", "counter"),
    ("kanban_db_read_pool_connections", "gauge"),
    ("kanban_db_writer_queue_depth", "gauge"),
    ("kanban_db_writer_batch_size", "histogram"),
    ("kanban_db_writer_commit_seconds", "histogram"),
    ("process_resident_memory_bytes", "gauge"),
    ("process_cpu_usage_percent", "gauge"),
    ("process_start_time_seconds", "gauge"),
    ("kanban_build_info", "gauge"),
];

/// Wait (up to 10 s) until `name` reaches `want`.
async fn eventually(app: &TestApp, name: &str, want: f64) -> Exposition {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let scraped = scrape(app).await;
        if scraped.value(name, &[]) == want {
            return scraped;
        }
        assert!(tokio::time::Instant::now() < deadline, "{name} did not reach {want}: {scraped:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn every_specified_metric_is_exposed_with_its_type() {
    // Arrange: traffic that gives every labelled family a sample: a request, a write with its
    // event, a WebSocket closed by the server (4000: it never answers heartbeats); rate limiting on,
    // so its classes are declared.
    let app = spawn_app_with(|cfg| {
        cfg.rate_limit.enabled = true;
        cfg.realtime.heartbeat_interval_seconds = 1;
        cfg.realtime.missed_heartbeats_before_close = 1;
    })
    .await;
    app.create_ticket(1, "exposed").await;
    let mut ws = app.ws("board_id=1").await;
    assert_eq!(ws.closed_with(Duration::from_secs(10)).await, Some(4000));

    // Act
    let scraped = scrape(&app).await;

    // Assert
    for (name, kind) in SPEC {
        assert_eq!(scraped.types.get(name).map(String::as_str), Some(kind), "TYPE of {name}");
        let samples = scraped.samples.iter().filter(|s| s.name == name || s.name.starts_with(&format!("{name}_")));
        assert!(samples.count() > 0, "{name} has samples");
    }
    assert_eq!(scraped.value("kanban_build_info", &[("version", env!("CARGO_PKG_VERSION"))]), 1.0);
    let started = scraped.value("process_start_time_seconds", &[]);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs_f64();
    assert!(started > now - 600.0 && started <= now, "start time {started} is this run's");
    for reason in ["lagged", "queue_full", "send_timeout"] {
        assert!(scraped.with_name("kanban_events_dropped_total").any(|s| s.labels["reason"] == reason), "{reason}");
    }
    let pool = scraped.value("kanban_db_read_pool_connections", &[("state", "idle")])
        + scraped.value("kanban_db_read_pool_connections", &[("state", "in_use")]);
    assert!(pool >= 1.0, "the read pool has connections");
    // The sampler takes its first reading before the server listens.
    let rss = scraped.value("process_resident_memory_bytes", &[]);
    assert!(rss > 1024.0 * 1024.0, "the sampler's RSS reading, not a placeholder: {rss}");
}

#[tokio::test]
async fn request_counters_move_and_label_routes_by_template() {
    // Arrange
    let app = spawn_app().await;
    let id = app.create_ticket(1, "labelled").await["id"].as_i64().expect("id");
    let route = "/api/tickets/{ticket_id}";
    let before = scrape(&app).await;

    // Act: two reads of one ticket (one with a trailing slash), one unknown path.
    assert_eq!(app.get(&format!("/api/tickets/{id}")).await.status(), StatusCode::OK);
    assert_eq!(app.get(&format!("/api/tickets/{id}/")).await.status(), StatusCode::OK);
    assert_eq!(app.get("/no/such/path/12345").await.status(), StatusCode::NOT_FOUND);
    let after = scrape(&app).await;

    // Assert
    let ok = [("method", "GET"), ("route", route), ("status", "200")];
    assert_eq!(after.value("kanban_http_requests_total", &ok) - before.value("kanban_http_requests_total", &ok), 2.0);
    let missing = [("method", "GET"), ("route", "unmatched"), ("status", "404")];
    assert_eq!(after.value("kanban_http_requests_total", &missing), 1.0);
    let timed = [("method", "GET"), ("route", route)];
    assert_eq!(after.value("kanban_http_request_duration_seconds_count", &timed), 2.0);
    assert!(after.value("kanban_http_request_duration_seconds_sum", &timed) > 0.0);
    assert_eq!(after.value("kanban_http_requests_in_flight", &[]), 1.0, "the scrape itself is in flight");
    for s in after.samples.iter().filter(|s| s.labels.contains_key("route")) {
        let r = &s.labels["route"];
        assert!(r == "unmatched" || r.starts_with('/'), "route label {r}");
        assert!(!r.chars().any(|c| c.is_ascii_digit()), "no raw id in route label {r}");
    }
}

#[tokio::test]
async fn histogram_buckets_are_exactly_the_specified_ones() {
    let app = spawn_app().await;
    app.create_ticket(1, "timed").await;

    let scraped = scrape(&app).await;

    let http: Vec<String> =
        ["0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]
            .map(String::from)
            .to_vec();
    assert_eq!(scraped.buckets("kanban_http_request_duration_seconds"), http);
    assert_eq!(
        scraped.value("kanban_db_writer_batch_size_count", &[]),
        scraped.value("kanban_db_writer_batches_total", &[])
    );
    assert_eq!(scraped.value("kanban_db_writer_batch_size_bucket", &[("le", "1")]), 1.0, "one batch of one command");
    assert_eq!(scraped.value("kanban_db_writer_commit_seconds_count", &[]), 1.0);
    assert_eq!(scraped.buckets("kanban_db_writer_batch_size").last().map(String::as_str), Some("+Inf"));
}

#[tokio::test]
async fn a_refused_request_counts_in_its_rate_limit_class() {
    // Arrange
    let app = spawn_app_with(|cfg| {
        cfg.rate_limit.enabled = true;
        cfg.rate_limit.general = "2/hour".parse().expect("quota");
    })
    .await;
    let class = [("class", "general")];
    assert_eq!(scrape(&app).await.value("kanban_rate_limited_total", &class), 0.0);

    // Act
    let statuses: Vec<StatusCode> = futures_util::future::join_all((0..3).map(|_| app.get("/api/boards/")))
        .await
        .iter()
        .map(|r| r.status())
        .collect();

    // Assert
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 1, "{statuses:?}");
    let scraped = scrape(&app).await;
    assert_eq!(scraped.value("kanban_rate_limited_total", &class), 1.0);
    assert_eq!(scraped.value("kanban_rate_limited_total", &[("class", "login")]), 0.0);
    assert!(scraped.with_name("kanban_rate_limited_total").any(|s| s.labels["class"] == "login"), "declared at 0");
    let refused = [("method", "GET"), ("route", "/api/boards"), ("status", "429")];
    assert_eq!(scraped.value("kanban_http_requests_total", &refused), 1.0);
}

#[tokio::test]
async fn websocket_gauges_follow_a_socket_open_and_close() {
    // Arrange
    let app = spawn_app().await;
    let before = scrape(&app).await;
    assert_eq!(before.value("kanban_ws_connections", &[]), 0.0);

    // Act: open one socket and read its `connected` frame.
    let mut ws = app.ws("board_id=1").await;
    ws.next_json().await;
    let open = eventually(&app, "kanban_ws_connections", 1.0).await;

    // Assert
    assert_eq!(open.value("kanban_ws_connections_total", &[]), 1.0);
    assert!(open.value("kanban_ws_messages_sent_total", &[]) >= 1.0, "the connected frame");

    // Act: the client closes.
    ws.stream.close(None).await.expect("send close");
    let closed = eventually(&app, "kanban_ws_connections", 0.0).await;
    assert_eq!(closed.value("kanban_ws_connections_total", &[]), 1.0);
}

#[tokio::test]
async fn a_server_side_close_counts_by_code() {
    // Arrange: a client that never answers heartbeats is closed (4000) after one second.
    let app = spawn_app_with(|cfg| {
        cfg.realtime.heartbeat_interval_seconds = 1;
        cfg.realtime.missed_heartbeats_before_close = 1;
    })
    .await;
    let code = [("code", "4000")];
    assert_eq!(scrape(&app).await.value("kanban_ws_closed_total", &code), 0.0);
    let mut ws = app.ws("board_id=1").await;

    // Act
    assert_eq!(ws.closed_with(Duration::from_secs(10)).await, Some(4000));

    // Assert: the close is counted before its frame is sent.
    assert_eq!(scrape(&app).await.value("kanban_ws_closed_total", &code), 1.0);
}

#[tokio::test]
async fn a_create_counts_its_published_event() {
    let app = spawn_app().await;
    let event = [("event", "ticket_created")];
    let before = scrape(&app).await.value("kanban_events_published_total", &event);

    app.create_ticket(1, "announced").await;

    let after = scrape(&app).await.value("kanban_events_published_total", &event);
    assert_eq!(after - before, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_s_lost_events_count_as_dropped() {
    // Arrange: a client that never reads, small queues and a one-second send timeout.
    let app = spawn_app_with(|cfg| {
        cfg.realtime.send_timeout_seconds = 1;
        cfg.realtime.send_queue_capacity = 16;
        cfg.realtime.board_channel_capacity = 16;
    })
    .await;
    let _slow = app.ws("board_id=1").await;
    let dropped = |e: &Exposition| e.with_name("kanban_events_dropped_total").map(|s| s.value).sum::<f64>();
    assert_eq!(dropped(&scrape(&app).await), 0.0);

    // Act: big writes until the server closes it as a slow consumer (4001).
    let big = "x".repeat(19_000);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut writes = 0;
    let scraped = loop {
        let scraped = scrape(&app).await;
        if scraped.value("kanban_ws_closed_total", &[("code", "4001")]) == 1.0 {
            break scraped;
        }
        assert!(writes < 3000 && tokio::time::Instant::now() < deadline, "the slow consumer was never closed");
        for _ in 0..10 {
            let body = json!({"board_id": 1, "title": format!("big {writes}"), "description": big});
            assert_eq!(app.post("/api/tickets/", &body).await.status(), StatusCode::CREATED);
            writes += 1;
        }
    };

    // Assert: whichever way it fell behind (channel lag, full queue, slow socket write), at least
    // one event it could not receive was counted; and every write was published.
    assert!(dropped(&scraped) >= 1.0, "{:?}", scraped.with_name("kanban_events_dropped_total").collect::<Vec<_>>());
    assert_eq!(scraped.value("kanban_events_published_total", &[("event", "ticket_created")]), f64::from(writes));
}
