//! Tests for the ticket routes (`api.md` §5): listing with filters, sorting and paging, reading,
//! creating, updating, moving, claiming, releasing and deleting tickets.
//!
//! History rows are read back through `GET /api/history/...` because they are the observable proof
//! that a write was (or was not) a real change.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// The board every brand-new database starts with.
const DEFAULT_BOARD: i64 = 1;

// ---------------------------------------------------------------------------------------------
// Local helpers
// ---------------------------------------------------------------------------------------------

/// Percent-encode a query value (the test client is built without reqwest's `query` feature).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `GET /api/tickets/` with these query parameters, without asserting the status.
async fn list_response(app: &TestApp, pairs: &[(&str, &str)]) -> Response {
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
    app.get(&format!("/api/tickets/?{}", query.join("&"))).await
}

/// `GET /api/tickets/` with these query parameters, asserting 200.
async fn list(app: &TestApp, pairs: &[(&str, &str)]) -> Value {
    let resp = list_response(app, pairs).await;
    assert_eq!(resp.status(), StatusCode::OK, "list with {pairs:?}");
    resp.json().await.expect("page body")
}

fn id_of(ticket: &Value) -> i64 {
    ticket["id"].as_i64().expect("ticket id")
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"].as_array().expect("items array").iter().map(id_of).collect()
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_else(|| panic!("{key} is a string in {value}"))
}

fn etag(resp: &Response) -> String {
    let value = resp.headers().get("etag").expect("ETag header");
    value.to_str().expect("ascii ETag").to_owned()
}

/// Create a ticket from a full body, asserting 201.
async fn create(app: &TestApp, body: Value) -> Value {
    let resp = app.post("/api/tickets/", &body).await;
    assert_eq!(resp.status(), StatusCode::CREATED, "create {body}");
    resp.json().await.expect("ticket body")
}

async fn fetch(app: &TestApp, ticket_id: i64) -> Value {
    app.get_json(&format!("/api/tickets/{ticket_id}")).await
}

async fn ticket_count(app: &TestApp) -> i64 {
    list(app, &[]).await["total"].as_i64().expect("total")
}

/// The ticket's history, newest first.
async fn history(app: &TestApp, ticket_id: i64) -> Vec<Value> {
    let body = app.get_json(&format!("/api/history/tickets/{ticket_id}/history?limit=100")).await;
    body.as_array().expect("history array").clone()
}

/// History rows other than the creation row, as (field, old, new, changed_by), oldest first.
async fn changes(app: &TestApp, ticket_id: i64) -> Vec<(String, Value, Value, String)> {
    let mut rows: Vec<_> = history(app, ticket_id)
        .await
        .into_iter()
        .filter(|row| row["field_name"] != "status")
        .map(|row| {
            (
                text(&row, "field_name").to_owned(),
                row["old_value"].clone(),
                row["new_value"].clone(),
                text(&row, "changed_by").to_owned(),
            )
        })
        .collect();
    rows.reverse();
    rows
}

async fn put_ticket(app: &TestApp, ticket_id: i64, body: Value) -> Response {
    app.put(&format!("/api/tickets/{ticket_id}"), &body).await
}

async fn move_ticket(app: &TestApp, ticket_id: i64, body: Value) -> Response {
    app.post(&format!("/api/tickets/{ticket_id}/move"), &body).await
}

/// POST with no body at all (claim and release accept that).
async fn post_empty(app: &TestApp, path: &str) -> Response {
    app.request(Method::POST, path).send().await.expect("POST without body")
}

async fn ok_json(resp: Response) -> Value {
    assert_eq!(resp.status(), StatusCode::OK, "status");
    resp.json().await.expect("json body")
}

// ---------------------------------------------------------------------------------------------
// GET /api/tickets/ — envelope and paging
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn listing_tickets_returns_every_ticket_in_a_page_envelope() {
    let app = spawn_app().await;
    let first = app.create_ticket(DEFAULT_BOARD, "First").await;
    let second = app.create_ticket(DEFAULT_BOARD, "Second").await;

    let page = app.get_json("/api/tickets/").await;

    assert_eq!(ids(&page), vec![id_of(&first), id_of(&second)]);
    assert_eq!(page["items"][0], first, "list items have the Ticket shape");
    assert_eq!(page["total"], 2);
    assert_eq!(page["page"], 1);
    assert_eq!(page["page_size"], 50);
    assert_eq!(page["total_pages"], 1);
    assert_eq!(page["has_next"], false);
    assert_eq!(page["has_previous"], false);
}

#[tokio::test]
async fn an_empty_ticket_list_still_has_one_page() {
    let app = spawn_app().await;

    let page = app.get_json("/api/tickets/").await;

    assert_eq!(page["items"], json!([]));
    assert_eq!(page["total"], 0);
    assert_eq!(page["total_pages"], 1);
    assert_eq!(page["has_next"], false);
    assert_eq!(page["has_previous"], false);
}

#[tokio::test]
async fn paging_splits_the_list_and_reports_its_neighbours() {
    let app = spawn_app().await;
    let mut all = Vec::new();
    for n in 1..=5 {
        all.push(id_of(&app.create_ticket(DEFAULT_BOARD, &format!("Ticket {n}")).await));
    }

    let middle = list(&app, &[("page", "2"), ("page_size", "2")]).await;
    let last = list(&app, &[("page", "3"), ("page_size", "2")]).await;

    assert_eq!(ids(&middle), all[2..4].to_vec());
    assert_eq!(middle["total"], 5);
    assert_eq!(middle["page"], 2);
    assert_eq!(middle["page_size"], 2);
    assert_eq!(middle["total_pages"], 3);
    assert_eq!(middle["has_next"], true);
    assert_eq!(middle["has_previous"], true);
    assert_eq!(ids(&last), all[4..].to_vec());
    assert_eq!(last["has_next"], false);
    assert_eq!(last["has_previous"], true);
}

#[tokio::test]
async fn a_page_past_the_end_is_empty_but_successful() {
    let app = spawn_app().await;
    for n in 1..=3 {
        app.create_ticket(DEFAULT_BOARD, &format!("Ticket {n}")).await;
    }

    let page = list(&app, &[("page", "9"), ("page_size", "2")]).await;

    assert_eq!(page["items"], json!([]));
    assert_eq!(page["total"], 3);
    assert_eq!(page["page"], 9);
    assert_eq!(page["total_pages"], 2);
    assert_eq!(page["has_next"], false);
    assert_eq!(page["has_previous"], true);
}

#[tokio::test]
async fn a_page_size_of_one_thousand_is_accepted() {
    let app = spawn_app().await;
    app.create_ticket(DEFAULT_BOARD, "Only").await;

    let page = list(&app, &[("page_size", "1000")]).await;

    assert_eq!(page["page_size"], 1000);
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_page_size_above_one_thousand_is_rejected() {
    let app = spawn_app().await;

    let resp = list_response(&app, &[("page_size", "1001")]).await;

    assert_validation(resp, "query.page_size", "out_of_range").await;
}

#[tokio::test]
async fn a_page_size_or_page_of_zero_is_rejected() {
    let app = spawn_app().await;

    let size = list_response(&app, &[("page_size", "0")]).await;
    let page = list_response(&app, &[("page", "0")]).await;

    assert_validation(size, "query.page_size", "out_of_range").await;
    assert_validation(page, "query.page", "out_of_range").await;
}

// ---------------------------------------------------------------------------------------------
// GET /api/tickets/ — filters
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_board_filter_keeps_only_that_boards_tickets() {
    let app = spawn_app().await;
    let other = app.create_board("Other").await;
    let other_id = id_of(&other);
    app.create_ticket(DEFAULT_BOARD, "On the default board").await;
    let mine = app.create_ticket(other_id, "On the other board").await;

    let page = list(&app, &[("board_id", &other_id.to_string())]).await;

    assert_eq!(ids(&page), vec![id_of(&mine)]);
    assert_eq!(page["total"], 1);
}

#[tokio::test]
async fn filtering_by_an_unknown_board_is_not_found() {
    let app = spawn_app().await;

    let resp = list_response(&app, &[("board_id", "999")]).await;

    let body = assert_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(body["detail"], "Board not found");
}

#[tokio::test]
async fn the_column_filter_accepts_the_snake_alias_and_any_case_on_a_board() {
    let app = spawn_app().await;
    app.create_ticket(DEFAULT_BOARD, "Still waiting").await;
    let qc =
        create(&app, json!({"board_id": DEFAULT_BOARD, "title": "Check me", "current_column": "Ready for QC"})).await;

    let by_alias = list(&app, &[("board_id", "1"), ("column", "ready_for_qc")]).await;
    let by_case = list(&app, &[("board_id", "1"), ("column", "  READY for qc ")]).await;

    assert_eq!(ids(&by_alias), vec![id_of(&qc)]);
    assert_eq!(ids(&by_case), vec![id_of(&qc)]);
}

#[tokio::test]
async fn the_column_filter_without_a_board_matches_columns_case_insensitively() {
    let app = spawn_app().await;
    let other = id_of(&app.create_board("Other").await);
    let here = create(&app, json!({"board_id": DEFAULT_BOARD, "title": "Here", "current_column": "Blocked"})).await;
    let there = create(&app, json!({"board_id": other, "title": "There", "current_column": "Blocked"})).await;
    app.create_ticket(other, "Not blocked").await;

    let page = list(&app, &[("column", "BLOCKED")]).await;

    assert_eq!(ids(&page), vec![id_of(&here), id_of(&there)]);
}

#[tokio::test]
async fn the_column_filter_rejects_a_column_the_board_does_not_have() {
    let app = spawn_app().await;

    let resp = list_response(&app, &[("board_id", "1"), ("column", "Nowhere")]).await;

    assert_validation(resp, "query.column", "invalid_column").await;
}

#[tokio::test]
async fn the_assignee_filter_is_exact_and_case_sensitive() {
    let app = spawn_app().await;
    let alice = create(&app, json!({"board_id": 1, "title": "A", "assignee": "alice"})).await;
    create(&app, json!({"board_id": 1, "title": "B", "assignee": "Alice"})).await;
    create(&app, json!({"board_id": 1, "title": "C", "assignee": "alice2"})).await;
    app.create_ticket(DEFAULT_BOARD, "Nobody's").await;

    let page = list(&app, &[("assignee", "alice")]).await;

    assert_eq!(ids(&page), vec![id_of(&alice)]);
}

#[tokio::test]
async fn the_priority_filter_is_exact() {
    let app = spawn_app().await;
    let default = app.create_ticket(DEFAULT_BOARD, "Default priority").await;
    let high = create(&app, json!({"board_id": 1, "title": "High", "priority": "high"})).await;
    create(&app, json!({"board_id": 1, "title": "Ten", "priority": "1.00"})).await;

    let by_word = list(&app, &[("priority", "high")]).await;
    let by_number = list(&app, &[("priority", "1.0")]).await;

    assert_eq!(ids(&by_word), vec![id_of(&high)]);
    assert_eq!(ids(&by_number), vec![id_of(&default)]);
}

#[tokio::test]
async fn the_text_search_treats_percent_and_underscore_literally() {
    let app = spawn_app().await;
    let percent = app.create_ticket(DEFAULT_BOARD, "Reach 100% coverage").await;
    let underscore = app.create_ticket(DEFAULT_BOARD, "Rename snake_case fields").await;
    app.create_ticket(DEFAULT_BOARD, "Ship 1000 things").await;
    app.create_ticket(DEFAULT_BOARD, "snake case by hand").await;

    let by_percent = list(&app, &[("q", "100%")]).await;
    let by_underscore = list(&app, &[("q", "e_c")]).await;
    let by_bare_percent = list(&app, &[("q", "%")]).await;

    assert_eq!(ids(&by_percent), vec![id_of(&percent)]);
    assert_eq!(ids(&by_underscore), vec![id_of(&underscore)]);
    assert_eq!(ids(&by_bare_percent), vec![id_of(&percent)]);
}

#[tokio::test]
async fn the_text_search_matches_title_or_description_ignoring_ascii_case() {
    let app = spawn_app().await;
    let by_title = app.create_ticket(DEFAULT_BOARD, "Fix the LOGIN page").await;
    let by_description =
        create(&app, json!({"board_id": 1, "title": "Auth work", "description": "Users cannot login on Safari"})).await;
    app.create_ticket(DEFAULT_BOARD, "Unrelated").await;

    let page = list(&app, &[("q", "Login")]).await;

    assert_eq!(ids(&page), vec![id_of(&by_title), id_of(&by_description)]);
}

/// Ticket ids whose `key` timestamp satisfies `keep`, in id order (timestamps sort as text).
fn ids_where(tickets: &[Value], key: &str, keep: impl Fn(&str) -> bool) -> Vec<i64> {
    tickets.iter().filter(|t| keep(text(t, key))).map(id_of).collect()
}

/// The same instant written with a +02:00 offset instead of `Z`.
fn with_offset(timestamp: &str) -> String {
    let parsed = chrono::DateTime::parse_from_rfc3339(timestamp).expect("RFC 3339 timestamp");
    let offset = chrono::FixedOffset::east_opt(2 * 3600).expect("valid offset");
    parsed.with_timezone(&offset).to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

#[tokio::test]
async fn created_after_is_inclusive_and_created_before_is_exclusive() {
    let app = spawn_app().await;
    let mut tickets = Vec::new();
    for n in 1..=3 {
        tickets.push(app.create_ticket(DEFAULT_BOARD, &format!("Ticket {n}")).await);
    }
    let pivot = text(&tickets[1], "created_at").to_owned();

    let after = list(&app, &[("created_after", &pivot)]).await;
    let after_offset = list(&app, &[("created_after", &with_offset(&pivot))]).await;
    let before = list(&app, &[("created_before", &pivot)]).await;

    let expected_after = ids_where(&tickets, "created_at", |t| t >= pivot.as_str());
    let expected_before = ids_where(&tickets, "created_at", |t| t < pivot.as_str());
    assert!(expected_after.contains(&id_of(&tickets[1])));
    assert_eq!(ids(&after), expected_after);
    assert_eq!(ids(&after_offset), expected_after, "offsets are converted to UTC");
    assert_eq!(ids(&before), expected_before);
}

#[tokio::test]
async fn creation_bounds_far_in_the_past_keep_all_or_nothing() {
    let app = spawn_app().await;
    let a = app.create_ticket(DEFAULT_BOARD, "A").await;
    let b = app.create_ticket(DEFAULT_BOARD, "B").await;

    let after = list(&app, &[("created_after", "2000-01-01T00:00:00Z")]).await;
    let before = list(&app, &[("created_before", "2000-01-01T00:00:00+00:00")]).await;
    let window =
        list(&app, &[("created_after", "2000-01-01T00:00:00Z"), ("created_before", "2999-01-01T00:00:00Z")]).await;

    assert_eq!(ids(&after), vec![id_of(&a), id_of(&b)]);
    assert_eq!(ids(&before), Vec::<i64>::new());
    assert_eq!(ids(&window), vec![id_of(&a), id_of(&b)]);
}

#[tokio::test]
async fn updated_after_and_updated_before_filter_on_the_last_change() {
    let app = spawn_app().await;
    let first = id_of(&app.create_ticket(DEFAULT_BOARD, "First").await);
    app.create_ticket(DEFAULT_BOARD, "Second").await;
    let changed = ok_json(put_ticket(&app, first, json!({"title": "First, edited"})).await).await;
    let pivot = text(&changed, "updated_at").to_owned();
    let tickets = list(&app, &[]).await["items"].as_array().expect("items").clone();

    let after = list(&app, &[("updated_after", &pivot)]).await;
    let before = list(&app, &[("updated_before", &pivot)]).await;

    let expected_after = ids_where(&tickets, "updated_at", |t| t >= pivot.as_str());
    assert!(expected_after.contains(&first));
    assert_eq!(ids(&after), expected_after);
    assert_eq!(ids(&before), ids_where(&tickets, "updated_at", |t| t < pivot.as_str()));
}

#[tokio::test]
async fn an_invalid_timestamp_filter_is_rejected() {
    let app = spawn_app().await;

    let created = list_response(&app, &[("created_after", "yesterday")]).await;
    let updated = list_response(&app, &[("updated_before", "2026-13-40T00:00:00Z")]).await;

    assert_validation(created, "query.created_after", "invalid_datetime").await;
    assert_validation(updated, "query.updated_before", "invalid_datetime").await;
}

#[tokio::test]
async fn filters_combine_with_and() {
    let app = spawn_app().await;
    let wanted = create(&app, json!({"board_id": 1, "title": "Deploy", "assignee": "alice", "priority": "high"})).await;
    create(&app, json!({"board_id": 1, "title": "Deploy too", "assignee": "alice"})).await;
    create(&app, json!({"board_id": 1, "title": "Deploy three", "priority": "high"})).await;
    create(&app, json!({"board_id": 1, "title": "Other", "assignee": "alice", "priority": "high"})).await;

    let page = list(&app, &[("board_id", "1"), ("assignee", "alice"), ("priority", "high"), ("q", "deploy")]).await;

    assert_eq!(ids(&page), vec![id_of(&wanted)]);
    assert_eq!(page["total"], 1);
}

// ---------------------------------------------------------------------------------------------
// GET /api/tickets/ — sorting
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn tickets_sort_by_title_ascending_or_descending() {
    let app = spawn_app().await;
    let banana = id_of(&app.create_ticket(DEFAULT_BOARD, "banana").await);
    let apple = id_of(&app.create_ticket(DEFAULT_BOARD, "apple").await);
    let cherry = id_of(&app.create_ticket(DEFAULT_BOARD, "cherry").await);

    let ascending = list(&app, &[("sort", "title")]).await;
    let descending = list(&app, &[("sort", "-title")]).await;

    assert_eq!(ids(&ascending), vec![apple, banana, cherry]);
    assert_eq!(ids(&descending), vec![cherry, banana, apple]);
}

#[tokio::test]
async fn tickets_sort_by_id_by_default_and_descending_on_request() {
    let app = spawn_app().await;
    let a = id_of(&app.create_ticket(DEFAULT_BOARD, "zeta").await);
    let b = id_of(&app.create_ticket(DEFAULT_BOARD, "alpha").await);
    let c = id_of(&app.create_ticket(DEFAULT_BOARD, "mu").await);

    let default = list(&app, &[]).await;
    let descending = list(&app, &[("sort", "-id")]).await;

    assert_eq!(ids(&default), vec![a, b, c]);
    assert_eq!(ids(&descending), vec![c, b, a]);
}

#[tokio::test]
async fn sort_ties_are_broken_by_ascending_id_in_both_directions() {
    let app = spawn_app().await;
    let two_a = id_of(&create(&app, json!({"board_id": 1, "title": "A", "priority": "2"})).await);
    let one = id_of(&create(&app, json!({"board_id": 1, "title": "B", "priority": "1"})).await);
    let two_b = id_of(&create(&app, json!({"board_id": 1, "title": "C", "priority": "2"})).await);

    let ascending = list(&app, &[("sort", "priority")]).await;
    let descending = list(&app, &[("sort", "-priority")]).await;

    assert_eq!(ids(&ascending), vec![one, two_a, two_b]);
    assert_eq!(ids(&descending), vec![two_a, two_b, one]);
}

#[tokio::test]
async fn every_documented_sort_key_is_accepted() {
    let app = spawn_app().await;
    app.create_ticket(DEFAULT_BOARD, "One").await;

    for key in ["id", "created_at", "updated_at", "column_entered_at", "priority", "title"] {
        for sort in [key.to_owned(), format!("-{key}")] {
            let page = list(&app, &[("sort", &sort)]).await;
            assert_eq!(page["total"], 1, "sort={sort}");
        }
    }
}

#[tokio::test]
async fn an_unknown_sort_key_is_rejected() {
    let app = spawn_app().await;

    let unknown = list_response(&app, &[("sort", "colour")]).await;
    let descending_unknown = list_response(&app, &[("sort", "-assignee")]).await;

    assert_validation(unknown, "query.sort", "invalid_value").await;
    assert_validation(descending_unknown, "query.sort", "invalid_value").await;
}

// ---------------------------------------------------------------------------------------------
// GET /api/tickets/{id}
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn getting_a_ticket_returns_it_with_its_version_as_etag() {
    let app = spawn_app().await;
    let created = app.create_ticket(DEFAULT_BOARD, "Read me").await;
    let id = id_of(&created);

    let resp = app.get(&format!("/api/tickets/{id}")).await;

    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(etag(&resp), "\"1\"");
    let body: Value = resp.json().await.expect("ticket");
    assert_eq!(body, created);
}

#[tokio::test]
async fn the_etag_follows_the_version_after_a_change() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(DEFAULT_BOARD, "Read me").await);
    ok_json(move_ticket(&app, id, json!({"column": "Done"})).await).await;

    let resp = app.get(&format!("/api/tickets/{id}")).await;

    assert_eq!(etag(&resp), "\"2\"");
    let body: Value = resp.json().await.expect("ticket");
    assert_eq!(body["version"], 2);
}

#[tokio::test]
async fn an_unknown_ticket_is_not_found_on_every_ticket_route() {
    let app = spawn_app().await;
    let requests = [
        (Method::GET, "/api/tickets/999", json!(null)),
        (Method::PUT, "/api/tickets/999", json!({"title": "x"})),
        (Method::DELETE, "/api/tickets/999", json!(null)),
        (Method::POST, "/api/tickets/999/move", json!({"column": "Done"})),
        (Method::POST, "/api/tickets/999/claim", json!({"agent_id": "alice"})),
        (Method::POST, "/api/tickets/999/release", json!({"agent_id": "alice"})),
    ];

    for (method, path, body) in requests {
        let mut request = app.request(method.clone(), path);
        if !body.is_null() {
            request = request.json(&body);
        }
        let resp = request.send().await.expect("request");

        let error = assert_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
        assert_eq!(error["detail"], "Ticket not found", "{method} {path}");
    }
}

#[tokio::test]
async fn a_ticket_id_that_is_not_an_integer_is_rejected_on_every_ticket_route() {
    let app = spawn_app().await;
    let requests = [
        (Method::GET, "/api/tickets/abc", json!(null)),
        (Method::PUT, "/api/tickets/abc", json!({"title": "x"})),
        (Method::DELETE, "/api/tickets/abc", json!(null)),
        (Method::POST, "/api/tickets/abc/move", json!({"column": "Done"})),
        (Method::POST, "/api/tickets/abc/claim", json!({"agent_id": "alice"})),
        (Method::POST, "/api/tickets/1.5/release", json!({"agent_id": "alice"})),
    ];

    for (method, path, body) in requests {
        let mut request = app.request(method, path);
        if !body.is_null() {
            request = request.json(&body);
        }
        let resp = request.send().await.expect("request");

        assert_validation(resp, "path.ticket_id", "int_parsing").await;
    }
}

// ---------------------------------------------------------------------------------------------
// POST /api/tickets/
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn creating_a_ticket_returns_201_with_location_etag_and_defaults() {
    let app = spawn_app().await;

    let resp = app.post("/api/tickets/", &json!({"board_id": 1, "title": "New work"})).await;

    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(etag(&resp), "\"1\"");
    let location = resp.headers().get("location").expect("Location").to_str().unwrap().to_owned();
    let body: Value = resp.json().await.expect("ticket");
    assert_eq!(location, format!("/api/tickets/{}", id_of(&body)));
    assert_eq!(body["board_id"], 1);
    assert_eq!(body["title"], "New work");
    assert_eq!(body["description"], Value::Null);
    assert_eq!(body["acceptance_criteria"], Value::Null);
    assert_eq!(body["priority"], "1.0");
    assert_eq!(body["assignee"], Value::Null);
    assert_eq!(body["current_column"], "Not Started");
    assert_eq!(body["version"], 1);
    assert_eq!(body["created_at"], body["updated_at"]);
    assert_eq!(body["created_at"], body["column_entered_at"]);
    assert_eq!(text(&body, "created_at").len(), "2026-11-22T10:10:37.161Z".len());
}

#[tokio::test]
async fn a_created_ticket_can_be_read_back_at_its_location() {
    let app = spawn_app().await;
    let body = json!({
        "board_id": 1, "title": "Full", "description": "Details", "acceptance_criteria": "Done when done",
        "priority": "high", "assignee": "alice", "current_column": "In Progress"
    });
    let resp = app.post("/api/tickets/", &body).await;
    let location = resp.headers().get("location").expect("Location").to_str().unwrap().to_owned();
    let created: Value = resp.json().await.expect("ticket");

    let fetched = app.get_json(&location).await;

    assert_eq!(fetched, created);
    assert_eq!(fetched["description"], "Details");
    assert_eq!(fetched["acceptance_criteria"], "Done when done");
    assert_eq!(fetched["priority"], "high");
    assert_eq!(fetched["assignee"], "alice");
    assert_eq!(fetched["current_column"], "In Progress");
}

#[tokio::test]
async fn a_new_ticket_lands_in_its_boards_first_column() {
    let app = spawn_app().await;
    let resp = app.post("/api/boards/", &json!({"name": "Custom", "columns": ["Todo", "Doing"]})).await;
    let board: Value = resp.json().await.expect("board");

    let ticket = app.create_ticket(id_of(&board), "Starts in Todo").await;

    assert_eq!(ticket["current_column"], "Todo");
}

#[tokio::test]
async fn the_initial_column_accepts_aliases_and_stores_the_boards_spelling() {
    let app = spawn_app().await;

    let snake = create(&app, json!({"board_id": 1, "title": "a", "current_column": "ready_for_qc"})).await;
    let lower = create(&app, json!({"board_id": 1, "title": "b", "current_column": "in progress"})).await;
    let padded = create(&app, json!({"board_id": 1, "title": "c", "current_column": "  DONE "})).await;

    assert_eq!(snake["current_column"], "Ready for QC");
    assert_eq!(lower["current_column"], "In Progress");
    assert_eq!(padded["current_column"], "Done");
    assert_eq!(fetch(&app, id_of(&snake)).await["current_column"], "Ready for QC");
}

#[tokio::test]
async fn creating_a_ticket_in_an_unknown_column_is_rejected_and_writes_nothing() {
    let app = spawn_app().await;

    let resp = app.post("/api/tickets/", &json!({"board_id": 1, "title": "x", "current_column": "Nowhere"})).await;

    let body = assert_validation(resp, "body.current_column", "invalid_column").await;
    let message = body.to_string();
    assert!(message.contains("Nowhere") && message.contains("Ready for QC"), "names the valid columns: {message}");
    assert_eq!(ticket_count(&app).await, 0);
}

#[tokio::test]
async fn creating_a_ticket_on_an_unknown_board_is_not_found() {
    let app = spawn_app().await;

    let resp = app.post("/api/tickets/", &json!({"board_id": 999, "title": "Lost"})).await;

    let body = assert_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(body["detail"], "Board not found");
    assert_eq!(ticket_count(&app).await, 0);
}

#[tokio::test]
async fn a_ticket_title_is_required_non_blank_and_at_most_200_characters() {
    let app = spawn_app().await;
    let cases = [
        (json!({"board_id": 1}), "missing"),
        (json!({"board_id": 1, "title": null}), "null_not_allowed"),
        (json!({"board_id": 1, "title": ""}), "string_too_short"),
        (json!({"board_id": 1, "title": "   "}), "string_too_short"),
        (json!({"board_id": 1, "title": "a".repeat(201)}), "string_too_long"),
        (json!({"board_id": 1, "title": 42}), "invalid_type"),
    ];

    for (body, kind) in cases {
        let resp = app.post("/api/tickets/", &body).await;
        assert_validation(resp, "body.title", kind).await;
    }
    assert_eq!(ticket_count(&app).await, 0);
}

#[tokio::test]
async fn a_title_of_200_characters_is_accepted_and_titles_are_trimmed() {
    let app = spawn_app().await;
    let long = "é".repeat(200);

    let at_limit = create(&app, json!({"board_id": 1, "title": &long})).await;
    let padded = create(&app, json!({"board_id": 1, "title": "  Tidy  "})).await;

    assert_eq!(at_limit["title"], long.as_str());
    assert_eq!(padded["title"], "Tidy");
}

#[tokio::test]
async fn a_ticket_needs_an_integer_board_id() {
    let app = spawn_app().await;

    let missing = app.post("/api/tickets/", &json!({"title": "x"})).await;
    let null = app.post("/api/tickets/", &json!({"board_id": null, "title": "x"})).await;
    let string = app.post("/api/tickets/", &json!({"board_id": "1", "title": "x"})).await;

    assert_validation(missing, "body.board_id", "missing").await;
    assert_validation(null, "body.board_id", "null_not_allowed").await;
    assert_validation(string, "body.board_id", "invalid_type").await;
}

#[tokio::test]
async fn empty_or_blank_descriptions_are_stored_as_null() {
    let app = spawn_app().await;

    let empty = create(&app, json!({"board_id": 1, "title": "a", "description": ""})).await;
    let blank =
        create(&app, json!({"board_id": 1, "title": "b", "description": "  \n ", "acceptance_criteria": ""})).await;

    assert_eq!(empty["description"], Value::Null);
    assert_eq!(blank["description"], Value::Null);
    assert_eq!(blank["acceptance_criteria"], Value::Null);
}

#[tokio::test]
async fn a_description_over_20000_characters_is_rejected() {
    let app = spawn_app().await;

    let resp =
        app.post("/api/tickets/", &json!({"board_id": 1, "title": "x", "description": "d".repeat(20_001)})).await;

    assert_validation(resp, "body.description", "string_too_long").await;
}

#[tokio::test]
async fn an_empty_assignee_is_stored_as_null_and_a_blank_priority_is_rejected() {
    let app = spawn_app().await;

    let ticket = create(&app, json!({"board_id": 1, "title": "a", "assignee": ""})).await;
    let resp = app.post("/api/tickets/", &json!({"board_id": 1, "title": "b", "priority": " "})).await;

    assert_eq!(ticket["assignee"], Value::Null);
    assert_validation(resp, "body.priority", "string_too_short").await;
}

// ---------------------------------------------------------------------------------------------
// PUT /api/tickets/{id}
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn updating_fields_bumps_the_version_once_and_writes_one_row_per_changed_field() {
    let app = spawn_app().await;
    let created = create(&app, json!({"board_id": 1, "title": "Old", "description": "d1", "assignee": "alice"})).await;
    let id = id_of(&created);

    let resp = put_ticket(
        &app,
        id,
        json!({"title": "New", "description": "d2", "priority": "3", "acceptance_criteria": "ac",
               "assignee": "alice", "changed_by": "pat"}),
    )
    .await;

    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(etag(&resp), "\"2\"");
    let body: Value = resp.json().await.expect("ticket");
    assert_eq!(body["version"], 2);
    assert_eq!(body["title"], "New");
    assert_eq!(body["description"], "d2");
    assert_eq!(body["priority"], "3");
    assert_eq!(body["acceptance_criteria"], "ac");
    assert_eq!(body["assignee"], "alice");
    assert!(text(&body, "updated_at") >= text(&created, "updated_at"));
    assert_eq!(body["column_entered_at"], created["column_entered_at"]);
    let mut rows = changes(&app, id).await;
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        rows,
        vec![
            ("acceptance_criteria".into(), Value::Null, json!("ac"), "pat".into()),
            ("description".into(), json!("d1"), json!("d2"), "pat".into()),
            ("priority".into(), json!("1.0"), json!("3"), "pat".into()),
            ("title".into(), json!("Old"), json!("New"), "pat".into()),
        ]
    );
    assert_eq!(fetch(&app, id).await, body);
}

#[tokio::test]
async fn an_update_without_real_changes_writes_nothing() {
    let app = spawn_app().await;
    let created = create(&app, json!({"board_id": 1, "title": "Same", "priority": "2"})).await;
    let id = id_of(&created);

    let resp = put_ticket(
        &app,
        id,
        json!({"title": "  Same ", "description": "", "acceptance_criteria": null, "priority": "2",
               "assignee": null, "current_column": "not_started", "board_id": 1, "changed_by": "pat"}),
    )
    .await;

    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(etag(&resp), "\"1\"");
    let body: Value = resp.json().await.expect("ticket");
    assert_eq!(body, created);
    assert_eq!(fetch(&app, id).await, created);
    assert_eq!(history(&app, id).await.len(), 1, "only the creation row");
}

#[tokio::test]
async fn an_update_leaves_absent_fields_unchanged() {
    let app = spawn_app().await;
    let created =
        create(&app, json!({"board_id": 1, "title": "Keep", "description": "Keep me", "assignee": "alice"})).await;

    let body = ok_json(put_ticket(&app, id_of(&created), json!({"priority": "urgent"})).await).await;

    assert_eq!(body["priority"], "urgent");
    assert_eq!(body["title"], "Keep");
    assert_eq!(body["description"], "Keep me");
    assert_eq!(body["assignee"], "alice");
    assert_eq!(changes(&app, id_of(&created)).await.len(), 1);
}

#[tokio::test]
async fn null_clears_nullable_fields_and_records_it() {
    let app = spawn_app().await;
    let created = create(&app, json!({"board_id": 1, "title": "t", "description": "x", "assignee": "alice"})).await;
    let id = id_of(&created);

    let body = ok_json(put_ticket(&app, id, json!({"description": null, "assignee": null})).await).await;

    assert_eq!(body["description"], Value::Null);
    assert_eq!(body["assignee"], Value::Null);
    assert_eq!(body["version"], 2);
    let mut rows = changes(&app, id).await;
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        rows,
        vec![
            ("assignee".into(), json!("alice"), Value::Null, "system".into()),
            ("description".into(), json!("x"), Value::Null, "system".into()),
        ]
    );
}

#[tokio::test]
async fn an_update_cannot_null_or_blank_the_title_or_priority() {
    let app = spawn_app().await;
    let created = app.create_ticket(DEFAULT_BOARD, "Stays").await;
    let id = id_of(&created);
    let cases = [
        (json!({"title": null}), "body.title", "null_not_allowed"),
        (json!({"title": "  "}), "body.title", "string_too_short"),
        (json!({"title": "a".repeat(201)}), "body.title", "string_too_long"),
        (json!({"priority": null}), "body.priority", "null_not_allowed"),
        (json!({"priority": "p".repeat(33)}), "body.priority", "string_too_long"),
    ];

    for (body, field, kind) in cases {
        assert_validation(put_ticket(&app, id, body).await, field, kind).await;
    }
    assert_eq!(fetch(&app, id).await, created);
}

#[tokio::test]
async fn an_update_cannot_change_the_column() {
    let app = spawn_app().await;
    let created = app.create_ticket(DEFAULT_BOARD, "Stays put").await;
    let id = id_of(&created);

    let resp = put_ticket(&app, id, json!({"title": "Renamed", "current_column": "Done"})).await;

    let body = assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    let errors = body["error"]["validation_errors"].as_array().expect("errors");
    assert!(errors.iter().any(|e| e["field"] == "body.current_column"), "{body}");
    assert_eq!(fetch(&app, id).await, created, "nothing changed");
}

#[tokio::test]
async fn an_update_cannot_move_a_ticket_to_another_board() {
    let app = spawn_app().await;
    let other = id_of(&app.create_board("Other").await);
    let created = app.create_ticket(DEFAULT_BOARD, "Stays home").await;
    let id = id_of(&created);

    let resp = put_ticket(&app, id, json!({"title": "Moved?", "board_id": other})).await;

    let body = assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    let errors = body["error"]["validation_errors"].as_array().expect("errors");
    assert!(errors.iter().any(|e| e["field"] == "body.board_id"), "{body}");
    assert_eq!(fetch(&app, id).await, created, "nothing changed");
}

#[tokio::test]
async fn an_update_ignores_read_only_fields() {
    let app = spawn_app().await;
    let created = app.create_ticket(DEFAULT_BOARD, "Original").await;
    let id = id_of(&created);

    let body = ok_json(
        put_ticket(
            &app,
            id,
            json!({"title": "Edited", "id": 999, "version": 77, "created_at": "2000-01-01T00:00:00.000Z",
                   "time_in_column": 5}),
        )
        .await,
    )
    .await;

    assert_eq!(body["id"], id);
    assert_eq!(body["version"], 2);
    assert_eq!(body["created_at"], created["created_at"]);
}

#[tokio::test]
async fn an_update_with_a_stale_if_match_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let created = app.create_ticket(DEFAULT_BOARD, "Guarded").await;
    let id = id_of(&created);

    let resp = app
        .request(Method::PUT, &format!("/api/tickets/{id}"))
        .header("If-Match", "\"7\"")
        .json(&json!({"title": "Too late"}))
        .send()
        .await
        .expect("PUT");

    let body = assert_error(resp, StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED").await;
    assert_eq!(body["detail"], "Version mismatch: current version is 1");
    assert_eq!(fetch(&app, id).await, created);
    assert_eq!(history(&app, id).await.len(), 1);
}

#[tokio::test]
async fn if_match_accepts_quoted_weak_bare_listed_and_wildcard_versions() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(DEFAULT_BOARD, "Guarded").await);
    let matching = ["\"1\"", "W/\"2\"", "3", "\"9\", \"4\"", "*"];

    for (n, value) in matching.into_iter().enumerate() {
        let resp = app
            .request(Method::PUT, &format!("/api/tickets/{id}"))
            .header("If-Match", value)
            .json(&json!({"title": format!("Edit {n}")}))
            .send()
            .await
            .expect("PUT");

        assert_eq!(resp.status(), StatusCode::OK, "If-Match: {value}");
        assert_eq!(etag(&resp), format!("\"{}\"", n + 2));
    }
}

#[tokio::test]
async fn a_missing_ticket_is_reported_before_a_version_mismatch() {
    let app = spawn_app().await;

    let resp = app
        .request(Method::PUT, "/api/tickets/999")
        .header("If-Match", "\"1\"")
        .json(&json!({"title": "Ghost"}))
        .send()
        .await
        .expect("PUT");

    assert_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

// ---------------------------------------------------------------------------------------------
// POST /api/tickets/{id}/move
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn moving_a_ticket_changes_its_column_and_records_who_moved_it() {
    let app = spawn_app().await;
    let created = app.create_ticket(DEFAULT_BOARD, "Mover").await;
    let id = id_of(&created);

    let resp = move_ticket(&app, id, json!({"column": "In Progress", "moved_by": "alice"})).await;

    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(etag(&resp), "\"2\"");
    let body: Value = resp.json().await.expect("ticket");
    assert_eq!(body["current_column"], "In Progress");
    assert_eq!(body["version"], 2);
    assert_eq!(body["column_entered_at"], body["updated_at"]);
    assert!(text(&body, "column_entered_at") >= text(&created, "column_entered_at"));
    assert_eq!(
        changes(&app, id).await,
        vec![("column".into(), json!("Not Started"), json!("In Progress"), "alice".into())]
    );
    assert_eq!(fetch(&app, id).await, body);
}

#[tokio::test]
async fn moving_accepts_a_snake_alias_and_stores_the_boards_spelling() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(DEFAULT_BOARD, "Mover").await);

    let body = ok_json(move_ticket(&app, id, json!({"column": "ready_for_qc"})).await).await;

    assert_eq!(body["current_column"], "Ready for QC");
    let rows = changes(&app, id).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].2, json!("Ready for QC"));
}

#[tokio::test]
async fn moving_a_ticket_to_its_current_column_changes_nothing() {
    let app = spawn_app().await;
    let created = app.create_ticket(DEFAULT_BOARD, "Stay").await;
    let id = id_of(&created);

    let exact = move_ticket(&app, id, json!({"column": "Not Started", "moved_by": "alice"})).await;
    let alias = move_ticket(&app, id, json!({"column": "not_started"})).await;

    assert_eq!(exact.status(), StatusCode::OK);
    assert_eq!(etag(&exact), "\"1\"");
    assert_eq!(exact.json::<Value>().await.expect("ticket"), created);
    assert_eq!(ok_json(alias).await, created);
    assert_eq!(fetch(&app, id).await, created, "version, updated_at, column_entered_at kept");
    assert_eq!(history(&app, id).await.len(), 1, "no column row");
}

#[tokio::test]
async fn moving_a_ticket_to_an_unknown_column_is_rejected() {
    let app = spawn_app().await;
    let created = app.create_ticket(DEFAULT_BOARD, "Stuck").await;
    let id = id_of(&created);

    let resp = move_ticket(&app, id, json!({"column": "Nowhere"})).await;

    let body = assert_validation(resp, "body.column", "invalid_column").await;
    let message = body.to_string();
    assert!(message.contains("Nowhere") && message.contains("Not Started"), "names the valid columns: {message}");
    assert_eq!(fetch(&app, id).await, created);
    assert_eq!(history(&app, id).await.len(), 1);
}

#[tokio::test]
async fn moving_to_a_column_of_another_board_is_rejected() {
    let app = spawn_app().await;
    app.post("/api/boards/", &json!({"name": "Custom", "columns": ["Todo", "Doing"]})).await;
    let id = id_of(&app.create_ticket(DEFAULT_BOARD, "Stuck").await);

    let resp = move_ticket(&app, id, json!({"column": "Doing"})).await;

    assert_validation(resp, "body.column", "invalid_column").await;
}

#[tokio::test]
async fn a_move_needs_a_column() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(DEFAULT_BOARD, "Stuck").await);

    let missing = move_ticket(&app, id, json!({"moved_by": "alice"})).await;
    let null = move_ticket(&app, id, json!({"column": null})).await;

    assert_validation(missing, "body.column", "missing").await;
    assert_validation(null, "body.column", "null_not_allowed").await;
}

#[tokio::test]
async fn a_move_with_a_stale_if_match_is_refused() {
    let app = spawn_app().await;
    let created = app.create_ticket(DEFAULT_BOARD, "Guarded").await;
    let id = id_of(&created);
    let path = format!("/api/tickets/{id}/move");

    let stale = app
        .request(Method::POST, &path)
        .header("If-Match", "\"2\"")
        .json(&json!({"column": "Done"}))
        .send()
        .await
        .expect("POST");
    let current = app
        .request(Method::POST, &path)
        .header("If-Match", "\"1\"")
        .json(&json!({"column": "Done"}))
        .send()
        .await
        .expect("POST");

    let body = assert_error(stale, StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED").await;
    assert_eq!(body["detail"], "Version mismatch: current version is 1");
    assert_eq!(ok_json(current).await["current_column"], "Done");
    assert_eq!(changes(&app, id).await.len(), 1, "only the accepted move is recorded");
}

// ---------------------------------------------------------------------------------------------
// POST /api/tickets/{id}/claim
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn claiming_with_a_query_agent_id_assigns_the_ticket() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(DEFAULT_BOARD, "Claim me").await);

    let resp = post_empty(&app, &format!("/api/tickets/{id}/claim?agent_id=alice")).await;

    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(etag(&resp), "\"2\"");
    let body: Value = resp.json().await.expect("ticket");
    assert_eq!(body["assignee"], "alice");
    assert_eq!(body["version"], 2);
    assert_eq!(changes(&app, id).await, vec![("assignee".into(), Value::Null, json!("alice"), "alice".into())]);
}

#[tokio::test]
async fn claiming_accepts_the_claimant_from_the_body() {
    let app = spawn_app().await;
    let by_agent_id = id_of(&app.create_ticket(DEFAULT_BOARD, "One").await);
    let by_assignee = id_of(&app.create_ticket(DEFAULT_BOARD, "Two").await);

    let first = app.post(&format!("/api/tickets/{by_agent_id}/claim"), &json!({"agent_id": "bob"})).await;
    let second = app.post(&format!("/api/tickets/{by_assignee}/claim"), &json!({"assignee": "carol"})).await;

    assert_eq!(ok_json(first).await["assignee"], "bob");
    assert_eq!(ok_json(second).await["assignee"], "carol");
}

#[tokio::test]
async fn the_query_claimant_wins_over_the_body_and_agent_id_over_assignee() {
    let app = spawn_app().await;
    let one = id_of(&app.create_ticket(DEFAULT_BOARD, "One").await);
    let two = id_of(&app.create_ticket(DEFAULT_BOARD, "Two").await);

    let query_first = app.post(&format!("/api/tickets/{one}/claim?agent_id=alice"), &json!({"agent_id": "bob"})).await;
    let agent_first =
        app.post(&format!("/api/tickets/{two}/claim"), &json!({"agent_id": "bob", "assignee": "carol"})).await;

    assert_eq!(ok_json(query_first).await["assignee"], "alice");
    assert_eq!(ok_json(agent_first).await["assignee"], "bob");
}

#[tokio::test]
async fn claiming_again_as_the_same_claimant_changes_nothing() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(DEFAULT_BOARD, "Mine").await);
    let path = format!("/api/tickets/{id}/claim?agent_id=alice");
    let claimed = ok_json(post_empty(&app, &path).await).await;

    let again = post_empty(&app, &path).await;

    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(etag(&again), "\"2\"");
    assert_eq!(again.json::<Value>().await.expect("ticket"), claimed);
    assert_eq!(changes(&app, id).await.len(), 1);
}

#[tokio::test]
async fn claiming_a_ticket_assigned_to_someone_else_conflicts() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(DEFAULT_BOARD, "Taken").await);
    let claimed = ok_json(post_empty(&app, &format!("/api/tickets/{id}/claim?agent_id=bob")).await).await;

    let other = post_empty(&app, &format!("/api/tickets/{id}/claim?agent_id=alice")).await;
    let other_case = post_empty(&app, &format!("/api/tickets/{id}/claim?agent_id=Bob")).await;

    let body = assert_error(other, StatusCode::CONFLICT, "ALREADY_CLAIMED").await;
    assert_eq!(body["detail"], "Ticket already assigned to bob");
    assert_error(other_case, StatusCode::CONFLICT, "ALREADY_CLAIMED").await;
    assert_eq!(fetch(&app, id).await, claimed);
}

#[tokio::test]
async fn an_anonymous_claim_without_a_claimant_is_rejected() {
    let app = spawn_app().await;
    let created = app.create_ticket(DEFAULT_BOARD, "Unclaimed").await;
    let id = id_of(&created);

    let empty = post_empty(&app, &format!("/api/tickets/{id}/claim")).await;
    let empty_object = app.post(&format!("/api/tickets/{id}/claim"), &json!({})).await;

    assert_validation(empty, "query.agent_id", "missing").await;
    assert_validation(empty_object, "query.agent_id", "missing").await;
    assert_eq!(fetch(&app, id).await, created);
}

// ---------------------------------------------------------------------------------------------
// POST /api/tickets/{id}/release
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn releasing_a_claimed_ticket_unassigns_it() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(DEFAULT_BOARD, "Let go").await);
    ok_json(post_empty(&app, &format!("/api/tickets/{id}/claim?agent_id=alice")).await).await;

    let resp = post_empty(&app, &format!("/api/tickets/{id}/release?agent_id=alice")).await;

    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(etag(&resp), "\"3\"");
    let body: Value = resp.json().await.expect("ticket");
    assert_eq!(body["assignee"], Value::Null);
    assert_eq!(body["version"], 3);
    assert_eq!(
        changes(&app, id).await,
        vec![
            ("assignee".into(), Value::Null, json!("alice"), "alice".into()),
            ("assignee".into(), json!("alice"), Value::Null, "alice".into()),
        ]
    );
}

#[tokio::test]
async fn a_pm_may_release_without_naming_an_agent() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(DEFAULT_BOARD, "Let go").await);
    ok_json(post_empty(&app, &format!("/api/tickets/{id}/claim?agent_id=alice")).await).await;

    let body = ok_json(post_empty(&app, &format!("/api/tickets/{id}/release")).await).await;

    assert_eq!(body["assignee"], Value::Null);
    assert_eq!(body["version"], 3);
}

#[tokio::test]
async fn releasing_accepts_the_agent_id_in_the_body() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(DEFAULT_BOARD, "Let go").await);
    ok_json(post_empty(&app, &format!("/api/tickets/{id}/claim?agent_id=alice")).await).await;

    let resp = app.post(&format!("/api/tickets/{id}/release"), &json!({"agent_id": "alice"})).await;

    assert_eq!(ok_json(resp).await["assignee"], Value::Null);
    let rows = changes(&app, id).await;
    assert_eq!(rows.last().map(|r| r.3.as_str()), Some("alice"));
}

#[tokio::test]
async fn releasing_an_unassigned_ticket_changes_nothing() {
    let app = spawn_app().await;
    let created = app.create_ticket(DEFAULT_BOARD, "Free").await;
    let id = id_of(&created);

    let resp = post_empty(&app, &format!("/api/tickets/{id}/release?agent_id=alice")).await;

    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(etag(&resp), "\"1\"");
    assert_eq!(resp.json::<Value>().await.expect("ticket"), created);
    assert_eq!(history(&app, id).await.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// DELETE /api/tickets/{id}
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn deleting_a_ticket_removes_it() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(DEFAULT_BOARD, "Doomed").await);
    let keep = id_of(&app.create_ticket(DEFAULT_BOARD, "Survivor").await);

    let resp = app.delete(&format!("/api/tickets/{id}")).await;

    assert_eq!(ok_json(resp).await, json!({"message": "Ticket deleted successfully"}));
    let gone = app.get(&format!("/api/tickets/{id}")).await;
    assert_eq!(assert_error(gone, StatusCode::NOT_FOUND, "NOT_FOUND").await["detail"], "Ticket not found");
    let again = app.delete(&format!("/api/tickets/{id}")).await;
    assert_error(again, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(ids(&list(&app, &[]).await), vec![keep]);
}

#[tokio::test]
async fn deleting_a_ticket_removes_its_comments_and_history() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(DEFAULT_BOARD, "Doomed").await);
    ok_json(move_ticket(&app, id, json!({"column": "Done"})).await).await;
    let resp = app.post("/api/comments/", &json!({"ticket_id": id, "text": "bye"})).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let comment_id = id_of(&resp.json::<Value>().await.expect("comment"));

    ok_json(app.delete(&format!("/api/tickets/{id}")).await).await;

    let comment = app.put(&format!("/api/comments/{comment_id}"), &json!({"text": "still here?"})).await;
    assert_eq!(assert_error(comment, StatusCode::NOT_FOUND, "NOT_FOUND").await["detail"], "Comment not found");
    let comments = app.get(&format!("/api/comments/ticket/{id}")).await;
    assert_error(comments, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let rows = app.get(&format!("/api/history/tickets/{id}/history")).await;
    assert_error(rows, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    let activity = app.get_json("/api/history/boards/1/activity").await;
    assert_eq!(activity["total_activities"], 0, "no history rows of the deleted ticket: {activity}");
}

#[tokio::test]
async fn a_delete_with_a_stale_if_match_is_refused() {
    let app = spawn_app().await;
    let created = app.create_ticket(DEFAULT_BOARD, "Guarded").await;
    let id = id_of(&created);

    let resp = app
        .request(Method::DELETE, &format!("/api/tickets/{id}"))
        .header("If-Match", "\"5\"")
        .send()
        .await
        .expect("DELETE");

    assert_error(resp, StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED").await;
    assert_eq!(fetch(&app, id).await, created);
}

#[tokio::test]
async fn a_delete_with_the_current_version_succeeds() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(DEFAULT_BOARD, "Guarded").await);

    let resp = app
        .request(Method::DELETE, &format!("/api/tickets/{id}"))
        .header("If-Match", "\"1\"")
        .send()
        .await
        .expect("DELETE");

    assert_eq!(resp.status(), StatusCode::OK);
    assert_error(app.get(&format!("/api/tickets/{id}")).await, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

// ---------------------------------------------------------------------------------------------
// Further edges
// ---------------------------------------------------------------------------------------------

/// The expected order for `sort`: by the key's value (descending when prefixed `-`), ties by id ascending.
fn expected_order(tickets: &[Value], sort: &str) -> Vec<i64> {
    let (key, descending) = match sort.strip_prefix('-') {
        Some(key) => (key, true),
        None => (sort, false),
    };
    let mut sorted: Vec<&Value> = tickets.iter().collect();
    sorted.sort_by(|a, b| {
        let by_value = if key == "id" { id_of(a).cmp(&id_of(b)) } else { text(a, key).cmp(text(b, key)) };
        let by_value = if descending { by_value.reverse() } else { by_value };
        by_value.then(id_of(a).cmp(&id_of(b)))
    });
    sorted.into_iter().map(id_of).collect()
}

#[tokio::test]
async fn every_sort_key_orders_by_its_value_with_ties_by_ascending_id() {
    let app = spawn_app().await;
    let specs = [("kiwi", "2"), ("apple", "1"), ("kiwi", "3"), ("fig", "2"), ("banana", "1")];
    let mut made = Vec::new();
    for (title, priority) in specs {
        made.push(id_of(&create(&app, json!({"board_id": 1, "title": title, "priority": priority})).await));
    }
    ok_json(move_ticket(&app, made[0], json!({"column": "Done"})).await).await;
    ok_json(put_ticket(&app, made[2], json!({"description": "touched"})).await).await;
    ok_json(move_ticket(&app, made[4], json!({"column": "Blocked"})).await).await;
    let tickets = list(&app, &[]).await["items"].as_array().expect("items").clone();

    for key in ["id", "created_at", "updated_at", "column_entered_at", "priority", "title"] {
        for sort in [key.to_owned(), format!("-{key}")] {
            let page = list(&app, &[("sort", &sort)]).await;

            assert_eq!(ids(&page), expected_order(&tickets, &sort), "sort={sort}");
        }
    }
}

#[tokio::test]
async fn total_pages_is_exact_when_the_total_divides_evenly() {
    let app = spawn_app().await;
    for n in 1..=4 {
        app.create_ticket(DEFAULT_BOARD, &format!("Ticket {n}")).await;
    }

    let page = list(&app, &[("page", "2"), ("page_size", "2")]).await;

    assert_eq!(page["total_pages"], 2);
    assert_eq!(page["has_next"], false);
    assert_eq!(ids(&page).len(), 2);
}

#[tokio::test]
async fn a_board_filter_that_is_not_an_integer_is_rejected() {
    let app = spawn_app().await;

    let resp = list_response(&app, &[("board_id", "one")]).await;

    let body = assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    let errors = body["error"]["validation_errors"].as_array().expect("errors");
    assert!(errors.iter().any(|e| e["field"] == "query.board_id"), "{body}");
}

#[tokio::test]
async fn a_timestamp_filter_without_an_offset_is_rejected() {
    let app = spawn_app().await;

    let resp = list_response(&app, &[("created_after", "2026-01-01T00:00:00")]).await;

    assert_validation(resp, "query.created_after", "invalid_datetime").await;
}

#[tokio::test]
async fn text_filters_outside_their_lengths_are_rejected() {
    let app = spawn_app().await;
    let long_q = "q".repeat(201);
    let long_assignee = "a".repeat(101);
    let long_priority = "p".repeat(33);

    let q = list_response(&app, &[("q", &long_q)]).await;
    let assignee = list_response(&app, &[("assignee", &long_assignee)]).await;
    let priority = list_response(&app, &[("priority", &long_priority)]).await;

    assert_validation(q, "query.q", "string_too_long").await;
    assert_validation(assignee, "query.assignee", "string_too_long").await;
    assert_validation(priority, "query.priority", "string_too_long").await;
}

#[tokio::test]
async fn a_blank_description_in_an_update_clears_it() {
    let app = spawn_app().await;
    let id = id_of(&create(&app, json!({"board_id": 1, "title": "t", "description": "x"})).await);

    let body = ok_json(put_ticket(&app, id, json!({"description": "   "})).await).await;

    assert_eq!(body["description"], Value::Null);
    assert_eq!(body["version"], 2);
    assert_eq!(changes(&app, id).await, vec![("description".into(), json!("x"), Value::Null, "system".into())]);
}

#[tokio::test]
async fn a_blank_moved_by_counts_as_absent() {
    let app = spawn_app().await;
    let id = id_of(&app.create_ticket(DEFAULT_BOARD, "Mover").await);

    ok_json(move_ticket(&app, id, json!({"column": "Done", "moved_by": "   "})).await).await;

    assert_eq!(changes(&app, id).await[0].3, "system");
}

#[tokio::test]
async fn an_empty_claimant_counts_as_absent_and_a_long_one_is_rejected() {
    let app = spawn_app().await;
    let created = app.create_ticket(DEFAULT_BOARD, "Unclaimed").await;
    let id = id_of(&created);
    let long = "a".repeat(101);

    let empty = post_empty(&app, &format!("/api/tickets/{id}/claim?agent_id=")).await;
    let too_long = post_empty(&app, &format!("/api/tickets/{id}/claim?agent_id={long}")).await;

    assert_validation(empty, "query.agent_id", "missing").await;
    assert_validation(too_long, "query.agent_id", "string_too_long").await;
    assert_eq!(fetch(&app, id).await, created);
}

#[tokio::test]
async fn a_ticket_created_with_an_assignee_cannot_be_claimed_by_someone_else() {
    let app = spawn_app().await;
    let id = id_of(&create(&app, json!({"board_id": 1, "title": "Taken", "assignee": "bob"})).await);

    let resp = post_empty(&app, &format!("/api/tickets/{id}/claim?agent_id=alice")).await;

    let body = assert_error(resp, StatusCode::CONFLICT, "ALREADY_CLAIMED").await;
    assert_eq!(body["detail"], "Ticket already assigned to bob");
}
