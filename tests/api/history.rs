//! Tests for the history routes (`api.md` §7, `statistics.md` §8–9): a ticket's change history, its
//! column transitions and a board's recent activity.

use chrono::{DateTime, Utc};
use reqwest::{Response, StatusCode};
use serde_json::{Map, Value, json};

use crate::helpers::*;

fn id_of(value: &Value) -> i64 {
    value["id"].as_i64().expect("id")
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_else(|| panic!("{key} is a string in {value}"))
}

fn instant(timestamp: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(timestamp).expect("RFC 3339 timestamp").with_timezone(&Utc)
}

/// Seconds from `from` to `to`, at the millisecond resolution the API uses.
fn seconds_between(from: &str, to: &str) -> f64 {
    (instant(to) - instant(from)).num_milliseconds() as f64 / 1000.0
}

/// The human duration format of `statistics.md` §8.
fn human(seconds: f64) -> String {
    let s = seconds.floor() as i64;
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// The `time_ago` format of `statistics.md` §9.
fn time_ago(d: i64) -> String {
    let (n, unit) = match d {
        d if d < 60 => return "just now".to_owned(),
        d if d < 3600 => (d / 60, "minute"),
        d if d < 86_400 => (d / 3600, "hour"),
        d => (d / 86_400, "day"),
    };
    let plural = if n == 1 { "" } else { "s" };
    format!("{n} {unit}{plural} ago")
}

/// Whether `label` is the `time_ago` of `changed_at` for some server "now" within the request window
/// (one second of slack either side for millisecond truncation).
fn is_time_ago_within(label: &str, changed_at: &str, sent: DateTime<Utc>, received: DateTime<Utc>) -> bool {
    let at = instant(changed_at);
    let low = ((sent - at).num_seconds() - 1).max(0);
    let high = (received - at).num_seconds() + 1;
    (low..=high).any(|d| time_ago(d) == label)
}

async fn create(app: &TestApp, body: Value) -> Value {
    let resp = app.post("/api/tickets/", &body).await;
    assert_eq!(resp.status(), StatusCode::CREATED, "create {body}");
    resp.json().await.expect("ticket")
}

async fn move_to(app: &TestApp, ticket_id: i64, column: &str, moved_by: &str) -> Value {
    let body = json!({"column": column, "moved_by": moved_by});
    let resp = app.post(&format!("/api/tickets/{ticket_id}/move"), &body).await;
    assert_eq!(resp.status(), StatusCode::OK, "move to {column}");
    resp.json().await.expect("ticket")
}

async fn history(app: &TestApp, ticket_id: i64, query: &str) -> Vec<Value> {
    let body = app.get_json(&format!("/api/history/tickets/{ticket_id}/history{query}")).await;
    body.as_array().expect("history array").clone()
}

fn fields(rows: &[Value]) -> Vec<&str> {
    rows.iter().map(|row| text(row, "field_name")).collect()
}

async fn ok_json(resp: Response) -> Value {
    assert_eq!(resp.status(), StatusCode::OK, "status");
    resp.json().await.expect("json body")
}

// ---------------------------------------------------------------------------------------------
// GET /api/history/tickets/{id}/history
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn creating_a_ticket_writes_a_created_status_row() {
    let app = spawn_app().await;
    let ticket = app.create_ticket(1, "Fresh").await;

    let rows = history(&app, id_of(&ticket), "").await;

    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert!(row["id"].as_i64().is_some_and(|id| id > 0));
    assert_eq!(row["ticket_id"], ticket["id"]);
    assert_eq!(row["field_name"], "status");
    assert_eq!(row["old_value"], Value::Null);
    assert_eq!(row["new_value"], "created");
    assert_eq!(row["changed_by"], "system");
    assert_eq!(row["changed_at"], ticket["created_at"], "one clock reading per command");
}

#[tokio::test]
async fn the_creators_name_is_recorded_on_the_status_row() {
    let app = spawn_app().await;
    let ticket = create(&app, json!({"board_id": 1, "title": "Fresh", "created_by": "pat"})).await;

    let rows = history(&app, id_of(&ticket), "").await;

    assert_eq!(rows[0]["changed_by"], "pat");
}

#[tokio::test]
async fn history_is_listed_newest_first() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(1, "Busy").await);
    app.put(&format!("/api/tickets/{id}"), &json!({"title": "Busier"})).await;
    move_to(&app, id, "In Progress", "alice").await;
    app.post(&format!("/api/tickets/{id}/claim?agent_id=bob"), &json!({})).await;

    let rows = history(&app, id, "").await;

    assert_eq!(fields(&rows), vec!["assignee", "column", "title", "status"]);
    let ids: Vec<i64> = rows.iter().map(id_of).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "ids descending: {ids:?}");
    let times: Vec<&str> = rows.iter().map(|r| text(r, "changed_at")).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "changed_at descending: {times:?}");
    assert_eq!(rows[1]["old_value"], "Not Started");
    assert_eq!(rows[1]["new_value"], "In Progress");
    assert_eq!(rows[1]["changed_by"], "alice");
    assert_eq!(rows[2]["old_value"], "Busy");
    assert_eq!(rows[2]["new_value"], "Busier");
}

#[tokio::test]
async fn history_can_be_limited_to_the_newest_rows() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(1, "Busy").await);
    move_to(&app, id, "In Progress", "alice").await;
    move_to(&app, id, "Done", "bob").await;

    let rows = history(&app, id, "?limit=2").await;

    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["new_value"], "Done");
    assert_eq!(rows[1]["new_value"], "In Progress");
}

#[tokio::test]
async fn history_returns_at_most_50_rows_by_default_and_up_to_100_on_request() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(1, "Ping-pong").await);
    for n in 0..54 {
        let column = if n % 2 == 0 { "In Progress" } else { "Not Started" };
        move_to(&app, id, column, "bot").await;
    }

    let default = history(&app, id, "").await;
    let all = history(&app, id, "?limit=100").await;

    assert_eq!(default.len(), 50);
    assert_eq!(all.len(), 55);
    assert_eq!(default[..], all[..50]);
    assert_eq!(all[54]["field_name"], "status");
}

#[tokio::test]
async fn history_can_be_filtered_by_field_name() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(1, "Busy").await);
    move_to(&app, id, "In Progress", "alice").await;
    app.put(&format!("/api/tickets/{id}"), &json!({"priority": "2"})).await;
    move_to(&app, id, "Done", "alice").await;

    let columns = history(&app, id, "?field_name=column").await;
    let priorities = history(&app, id, "?field_name=priority").await;
    let unknown = history(&app, id, "?field_name=colour").await;

    assert_eq!(fields(&columns), vec!["column", "column"]);
    assert_eq!(columns[0]["new_value"], "Done");
    assert_eq!(fields(&priorities), vec!["priority"]);
    assert_eq!(unknown, Vec::<Value>::new());
}

#[tokio::test]
async fn history_of_an_unknown_ticket_is_not_found() {
    let app = spawn_app().await;

    let resp = app.get("/api/history/tickets/999/history").await;

    let body = assert_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(body["detail"], "Ticket not found");
}

#[tokio::test]
async fn a_history_limit_outside_1_to_100_is_rejected() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(1, "Busy").await);

    let zero = app.get(&format!("/api/history/tickets/{id}/history?limit=0")).await;
    let too_many = app.get(&format!("/api/history/tickets/{id}/history?limit=101")).await;

    assert_validation(zero, "query.limit", "out_of_range").await;
    assert_validation(too_many, "query.limit", "out_of_range").await;
}

#[tokio::test]
async fn a_history_path_id_that_is_not_an_integer_is_rejected() {
    let app = spawn_app().await;

    let history = app.get("/api/history/tickets/abc/history").await;
    let transitions = app.get("/api/history/tickets/abc/transitions").await;
    let activity = app.get("/api/history/boards/abc/activity").await;

    assert_validation(history, "path.ticket_id", "int_parsing").await;
    assert_validation(transitions, "path.ticket_id", "int_parsing").await;
    assert_validation(activity, "path.board_id", "int_parsing").await;
}

// ---------------------------------------------------------------------------------------------
// GET /api/history/tickets/{id}/transitions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn transitions_list_each_column_change_with_its_duration() {
    let app = spawn_app().await;
    let created = app.create_ticket(1, "Flow").await;
    let id = id_of(&created);
    let started = move_to(&app, id, "In Progress", "alice").await;
    let finished = move_to(&app, id, "Done", "bob").await;

    let sent = Utc::now();
    let body = app.get_json(&format!("/api/history/tickets/{id}/transitions")).await;
    let received = Utc::now();

    assert_eq!(body["ticket_id"], id);
    assert_eq!(body["current_column"], "Done");
    assert_eq!(body["total_transitions"], 2);
    let transitions = body["transitions"].as_array().expect("transitions");
    assert_eq!(transitions.len(), 2);
    let expected = [
        ("Not Started", "In Progress", "alice", &created, &started),
        ("In Progress", "Done", "bob", &started, &finished),
    ];
    for (t, (from, to, by, previous, this)) in transitions.iter().zip(expected) {
        assert_eq!(t["from_column"], from);
        assert_eq!(t["to_column"], to);
        assert_eq!(t["changed_by"], by);
        assert_eq!(t["changed_at"], this["updated_at"]);
        let previous_at = if from == "Not Started" { "created_at" } else { "updated_at" };
        let expected_duration = seconds_between(text(previous, previous_at), text(this, "updated_at"));
        let duration = t["duration_seconds"].as_f64().expect("duration_seconds is a number");
        assert!((duration - expected_duration).abs() < 1e-6, "{duration} vs {expected_duration}");
        assert_eq!(t["duration_human"], human(duration).as_str());
    }
    let current = body["current_duration_seconds"].as_f64().expect("current_duration_seconds");
    let entered = instant(text(&finished, "column_entered_at"));
    let low = (sent - entered).num_milliseconds() as f64 / 1000.0 - 0.001;
    let high = (received - entered).num_milliseconds() as f64 / 1000.0 + 0.001;
    assert!(current >= low && current <= high, "{current} within [{low}, {high}]");
    assert_eq!(body["current_duration_human"], human(current).as_str());
}

#[tokio::test]
async fn a_ticket_that_never_moved_has_no_transitions() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(1, "Still").await);
    app.post(&format!("/api/tickets/{id}/move"), &json!({"column": "Not Started"})).await;

    let body = app.get_json(&format!("/api/history/tickets/{id}/transitions")).await;

    assert_eq!(body["current_column"], "Not Started");
    assert_eq!(body["transitions"], json!([]));
    assert_eq!(body["total_transitions"], 0);
    let current = body["current_duration_seconds"].as_f64().expect("current_duration_seconds");
    assert!(current >= 0.0);
    assert_eq!(body["current_duration_human"], human(current).as_str());
}

#[tokio::test]
async fn transitions_of_an_unknown_ticket_are_not_found() {
    let app = spawn_app().await;

    let resp = app.get("/api/history/tickets/999/transitions").await;

    let body = assert_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(body["detail"], "Ticket not found");
}

// ---------------------------------------------------------------------------------------------
// GET /api/history/boards/{id}/activity
// ---------------------------------------------------------------------------------------------

/// An activity entry without its derived fields, which is then a HistoryEntry.
fn as_history_entry(activity: &Value) -> Value {
    let mut entry: Map<String, Value> = activity.as_object().expect("activity object").clone();
    entry.remove("ticket_title");
    entry.remove("time_ago");
    Value::Object(entry)
}

#[tokio::test]
async fn board_activity_lists_the_boards_history_newest_first() {
    let app = spawn_app().await;
    let board = id_of(&app.create_board("Active").await);
    let first = id_of(&app.create_ticket(board, "First").await);
    move_to(&app, first, "In Progress", "alice").await;
    let second = id_of(&app.create_ticket(board, "Second").await);
    app.create_ticket(1, "Elsewhere").await;
    let mut expected = history(&app, first, "").await;
    expected.extend(history(&app, second, "").await);
    expected.sort_by_key(|row| std::cmp::Reverse((text(row, "changed_at").to_owned(), id_of(row))));

    let sent = Utc::now();
    let body = app.get_json(&format!("/api/history/boards/{board}/activity")).await;
    let received = Utc::now();

    assert_eq!(body["board_id"], board);
    assert_eq!(body["timeframe_hours"], 24);
    assert_eq!(body["total_activities"], 3);
    let activities = body["activities"].as_array().expect("activities");
    assert_eq!(activities.iter().map(as_history_entry).collect::<Vec<_>>(), expected);
    let titles: Vec<&str> = activities.iter().map(|a| text(a, "ticket_title")).collect();
    assert_eq!(titles, vec!["Second", "First", "First"]);
    for activity in activities {
        let label = text(activity, "time_ago");
        let changed_at = text(activity, "changed_at");
        assert!(is_time_ago_within(label, changed_at, sent, received), "time_ago {label:?}");
    }
}

#[tokio::test]
async fn board_activity_honours_limit_and_hours() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(1, "Busy").await);
    move_to(&app, id, "In Progress", "alice").await;
    move_to(&app, id, "Done", "alice").await;

    let limited = app.get_json("/api/history/boards/1/activity?limit=2").await;
    let last_hour = app.get_json("/api/history/boards/1/activity?hours=1&limit=500").await;

    assert_eq!(limited["total_activities"], 2);
    let newest: Vec<&Value> = limited["activities"].as_array().unwrap().iter().map(|a| &a["new_value"]).collect();
    assert_eq!(newest, vec!["Done", "In Progress"]);
    assert_eq!(last_hour["timeframe_hours"], 1);
    assert_eq!(last_hour["total_activities"], 3);
}

#[tokio::test]
async fn a_board_without_tickets_has_no_activity() {
    let app = spawn_app().await;
    let board = id_of(&app.create_board("Quiet").await);
    app.create_ticket(1, "Elsewhere").await;

    let body = app.get_json(&format!("/api/history/boards/{board}/activity")).await;

    assert_eq!(body["board_id"], board);
    assert_eq!(body["total_activities"], 0);
    assert_eq!(body["activities"], json!([]));
}

#[tokio::test]
async fn activity_of_an_unknown_board_is_not_found() {
    let app = spawn_app().await;

    let resp = app.get("/api/history/boards/999/activity").await;

    let body = assert_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(body["detail"], "Board not found");
}

#[tokio::test]
async fn activity_hours_and_limit_outside_their_ranges_are_rejected() {
    let app = spawn_app().await;
    let cases = [
        ("hours=0", "query.hours"),
        ("hours=169", "query.hours"),
        ("limit=0", "query.limit"),
        ("limit=501", "query.limit"),
    ];

    for (query, field) in cases {
        let resp = app.get(&format!("/api/history/boards/1/activity?{query}")).await;
        assert_validation(resp, field, "out_of_range").await;
    }
}

#[tokio::test]
async fn activity_accepts_the_extreme_allowed_values() {
    let app = spawn_app().await;
    app.create_ticket(1, "One").await;

    let widest = ok_json(app.get("/api/history/boards/1/activity?hours=168&limit=500").await).await;
    let narrowest = ok_json(app.get("/api/history/boards/1/activity?hours=1&limit=1").await).await;

    assert_eq!(widest["total_activities"], 1);
    assert_eq!(widest["timeframe_hours"], 168);
    assert_eq!(narrowest["total_activities"], 1);
}
