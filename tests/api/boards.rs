//! Tests for the ten board routes of `api.md` §4: listing, the `default` board, CRUD, column edits
//! (renames, removals, `move_tickets_to`) and the board ticket list.
//!
//! Every rejected request is followed by a check that the board (and its tickets) did not change.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const DEFAULT_COLUMNS: [&str; 5] = ["Not Started", "In Progress", "Blocked", "Ready for QC", "Done"];

// ---------------------------------------------------------------------------------------------
// Local helpers
// ---------------------------------------------------------------------------------------------

/// GET a board and return its body.
async fn board(app: &TestApp, id: i64) -> Value {
    app.get_json(&format!("/api/boards/{id}")).await
}

/// GET a ticket and return its body.
async fn ticket(app: &TestApp, id: i64) -> Value {
    app.get_json(&format!("/api/tickets/{id}")).await
}

/// GET the history of a ticket, newest first.
async fn history(app: &TestApp, ticket_id: i64) -> Vec<Value> {
    let body = app.get_json(&format!("/api/history/tickets/{ticket_id}/history")).await;
    body.as_array().expect("history array").clone()
}

/// Every board, ordered as the server lists them.
async fn all_boards(app: &TestApp) -> Vec<Value> {
    app.get_json("/api/boards/").await.as_array().expect("board array").clone()
}

fn id_of(value: &Value) -> i64 {
    value["id"].as_i64().expect("integer id")
}

/// Create a ticket on `board_id` and move it to `column`; return the moved ticket.
async fn ticket_in(app: &TestApp, board_id: i64, title: &str, column: &str) -> Value {
    let created = app.create_ticket(board_id, title).await;
    move_ticket(app, id_of(&created), column).await
}

async fn move_ticket(app: &TestApp, ticket_id: i64, column: &str) -> Value {
    let resp = app.post(&format!("/api/tickets/{ticket_id}/move"), &json!({ "column": column })).await;
    assert_eq!(resp.status(), StatusCode::OK, "move ticket {ticket_id} to {column}");
    resp.json().await.expect("ticket body")
}

async fn put_with_if_match(app: &TestApp, path: &str, if_match: &str, body: &Value) -> Response {
    app.request(Method::PUT, path).header("If-Match", if_match).json(body).send().await.expect("PUT")
}

fn etag(resp: &Response) -> Option<String> {
    resp.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Assert a 422 with a validation error whose field is `field` or an item of it (`field.N`).
async fn assert_validation_on(resp: Response, field: &str, kind: &str) -> Value {
    let body = assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    let errors = body["error"]["validation_errors"].as_array().expect("validation_errors");
    let item_prefix = format!("{field}.");
    let matches = |e: &Value| {
        let f = e["field"].as_str().unwrap_or_default();
        (f == field || f.starts_with(&item_prefix)) && e["type"] == kind
    };
    assert!(errors.iter().any(matches), "expected {field}/{kind} in {body}");
    body
}

/// Assert a 422 whose validation errors name `field` (any type).
async fn assert_validation_field(resp: Response, field: &str) -> Value {
    let body = assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    let errors = body["error"]["validation_errors"].as_array().expect("validation_errors");
    assert!(errors.iter().any(|e| e["field"] == field), "expected a {field} error in {body}");
    body
}

// ---------------------------------------------------------------------------------------------
// GET /api/boards/
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_new_database_lists_the_default_board_with_five_columns() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let boards = all_boards(&app).await;

    // Assert
    assert_eq!(boards.len(), 1, "{boards:?}");
    let first = &boards[0];
    assert_eq!(first["id"], 1);
    assert_eq!(first["name"], "My First Board");
    assert_eq!(first["description"], "Welcome to your kanban board!");
    assert_eq!(first["columns"], json!(DEFAULT_COLUMNS));
    assert_eq!(first["ticket_count"], 0);
    assert_eq!(first["version"], 1);
    assert!(first["created_at"].is_string() && first["updated_at"].is_string());
}

#[tokio::test]
async fn boards_are_listed_by_id_with_live_ticket_counts() {
    // Arrange
    let app = spawn_app().await;
    let alpha = id_of(&app.create_board("Alpha").await);
    let beta = id_of(&app.create_board("Beta").await);
    app.create_ticket(alpha, "a1").await;
    let a2 = id_of(&app.create_ticket(alpha, "a2").await);
    app.create_ticket(beta, "b1").await;

    // Act
    let before = all_boards(&app).await;
    let resp = app.delete(&format!("/api/tickets/{a2}")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let after = all_boards(&app).await;

    // Assert
    let ids: Vec<i64> = before.iter().map(id_of).collect();
    assert_eq!(ids, vec![1, alpha, beta]);
    assert!(alpha < beta);
    let counts: Vec<&Value> = before.iter().map(|b| &b["ticket_count"]).collect();
    assert_eq!(counts, vec![&json!(0), &json!(2), &json!(1)]);
    let counts_after: Vec<&Value> = after.iter().map(|b| &b["ticket_count"]).collect();
    assert_eq!(counts_after, vec![&json!(0), &json!(1), &json!(1)]);
}

// ---------------------------------------------------------------------------------------------
// GET /api/boards/default and /api/boards/default/tickets
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_default_board_is_the_board_with_the_lowest_id() {
    // Arrange
    let app = spawn_app().await;
    let second = id_of(&app.create_board("Second").await);

    // Act
    let while_first_exists = app.get_json("/api/boards/default").await;
    let resp = app.delete("/api/boards/1").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let after_delete = app.get_json("/api/boards/default").await;

    // Assert
    assert_eq!(while_first_exists["id"], 1);
    assert_eq!(while_first_exists["name"], "My First Board");
    assert_eq!(while_first_exists["ticket_count"], 0);
    assert_eq!(after_delete["id"], second);
    assert_eq!(after_delete["name"], "Second");
}

#[tokio::test]
async fn the_default_board_tickets_are_those_of_the_lowest_id_board() {
    // Arrange
    let app = spawn_app().await;
    let other = id_of(&app.create_board("Other").await);
    let mine = id_of(&app.create_ticket(1, "On the first board").await);
    app.create_ticket(other, "On another board").await;

    // Act
    let body = app.get_json("/api/boards/default/tickets").await;

    // Assert
    assert_eq!(body["board_id"], 1);
    assert_eq!(body["board_name"], "My First Board");
    assert_eq!(body["total_tickets"], 1);
    let tickets = body["tickets"].as_array().expect("tickets");
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["id"], mine);
    assert!(tickets[0]["time_in_column"].is_u64(), "{body}");
}

#[tokio::test]
async fn the_default_routes_answer_404_when_no_boards_exist() {
    // Arrange
    let app = spawn_app().await;
    let resp = app.delete("/api/boards/1").await;
    assert_eq!(resp.status(), StatusCode::OK);

    // Act
    let default = app.get("/api/boards/default").await;
    let default_tickets = app.get("/api/boards/default/tickets").await;

    // Assert
    let body = assert_error(default, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(body["detail"], "No boards found");
    let body = assert_error(default_tickets, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(body["detail"], "No boards found");
    assert_eq!(all_boards(&app).await, Vec::<Value>::new());
}

#[tokio::test]
async fn put_and_delete_on_the_default_board_are_not_allowed() {
    // Arrange
    let app = spawn_app().await;
    let before = board(&app, 1).await;

    // Act
    let put = app.put("/api/boards/default", &json!({ "name": "Hijacked" })).await;
    let delete = app.delete("/api/boards/default").await;

    // Assert
    let allow = put.headers().get("allow").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(allow.split(',').any(|m| m.trim() == "GET"), "Allow: {allow}");
    let body = assert_error(put, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED").await;
    assert_eq!(body["detail"], "Method Not Allowed");
    assert_error(delete, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED").await;
    assert_eq!(board(&app, 1).await, before);
    assert_eq!(all_boards(&app).await.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// GET /api/boards/{board_id}, unknown and malformed ids
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_board_is_fetched_by_id_with_its_version_as_etag() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let resp = app.get("/api/boards/1").await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(etag(&resp).as_deref(), Some("\"1\""));
    let body: Value = resp.json().await.expect("board body");
    assert_eq!(body["id"], 1);
    assert_eq!(body["name"], "My First Board");
    assert_eq!(body["columns"], json!(DEFAULT_COLUMNS));
    assert_eq!(body["ticket_count"], 0);
    assert_eq!(body["version"], 1);
}

#[tokio::test]
async fn every_board_route_answers_404_for_an_unknown_board() {
    // Arrange
    let app = spawn_app().await;
    let before = all_boards(&app).await;
    let columns = json!(["A", "B"]);

    // Act
    let responses = vec![
        ("GET board", app.get("/api/boards/999").await),
        ("PUT board", app.put("/api/boards/999", &json!({ "name": "X" })).await),
        ("DELETE board", app.delete("/api/boards/999").await),
        ("GET columns", app.get("/api/boards/999/columns").await),
        ("PUT columns", app.put("/api/boards/999/columns", &columns).await),
        ("GET tickets", app.get("/api/boards/999/tickets").await),
    ];

    // Assert
    for (what, resp) in responses {
        let body = assert_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
        assert_eq!(body["detail"], "Board not found", "{what}");
    }
    assert_eq!(all_boards(&app).await, before);
}

#[tokio::test]
async fn a_non_integer_board_id_is_rejected_as_int_parsing() {
    // Arrange
    let app = spawn_app().await;
    let before = all_boards(&app).await;

    // Act
    let responses = vec![
        app.get("/api/boards/abc").await,
        app.get("/api/boards/1.5").await,
        app.put("/api/boards/abc", &json!({ "name": "X" })).await,
        app.delete("/api/boards/abc").await,
        app.get("/api/boards/abc/columns").await,
        app.put("/api/boards/abc/columns", &json!(["A"])).await,
        app.get("/api/boards/abc/tickets").await,
    ];

    // Assert
    for resp in responses {
        assert_validation(resp, "path.board_id", "int_parsing").await;
    }
    assert_eq!(all_boards(&app).await, before);
}

// ---------------------------------------------------------------------------------------------
// POST /api/boards/
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn creating_a_board_returns_201_with_location_etag_and_default_columns() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let resp = app.post("/api/boards/", &json!({ "name": "Roadmap", "description": "Q3 plans" })).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(etag(&resp).as_deref(), Some("\"1\""));
    let location = resp.headers().get("location").expect("Location").to_str().unwrap().to_owned();
    let body: Value = resp.json().await.expect("board body");
    let id = id_of(&body);
    assert!(id > 1, "the default board holds id 1");
    assert_eq!(location, format!("/api/boards/{id}"));
    assert_eq!(body["name"], "Roadmap");
    assert_eq!(body["description"], "Q3 plans");
    assert_eq!(body["columns"], json!(DEFAULT_COLUMNS));
    assert_eq!(body["ticket_count"], 0);
    assert_eq!(body["version"], 1);
    assert_eq!(body["created_at"], body["updated_at"]);
    assert_eq!(app.get_json(&location).await, body);
}

#[tokio::test]
async fn a_board_name_and_its_columns_are_stored_trimmed() {
    // Arrange
    let app = spawn_app().await;
    let request = json!({ "name": "  Sprint 7  ", "columns": [" Todo ", "Doing", "Done\t"] });

    // Act
    let resp = app.post("/api/boards/", &request).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.expect("board body");
    assert_eq!(body["name"], "Sprint 7");
    assert_eq!(body["columns"], json!(["Todo", "Doing", "Done"]));
    assert_eq!(body["description"], Value::Null);
    let columns = app.get_json(&format!("/api/boards/{}/columns", id_of(&body))).await;
    assert_eq!(columns, json!(["Todo", "Doing", "Done"]));
}

#[tokio::test]
async fn null_columns_on_create_give_the_default_columns() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let resp = app.post("/api/boards/", &json!({ "name": "Plain", "columns": null })).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.expect("board body");
    assert_eq!(body["columns"], json!(DEFAULT_COLUMNS));
}

#[tokio::test]
async fn a_board_with_an_empty_column_list_is_rejected() {
    // Arrange
    let app = spawn_app().await;
    let before = all_boards(&app).await;

    // Act
    let resp = app.post("/api/boards/", &json!({ "name": "Empty", "columns": [] })).await;

    // Assert
    assert_validation(resp, "body.columns", "too_few_items").await;
    assert_eq!(all_boards(&app).await, before);
}

#[tokio::test]
async fn a_board_with_more_than_fifty_columns_is_rejected() {
    // Arrange
    let app = spawn_app().await;
    let before = all_boards(&app).await;
    let columns: Vec<String> = (1..=51).map(|i| format!("Column {i}")).collect();

    // Act
    let resp = app.post("/api/boards/", &json!({ "name": "Wide", "columns": columns })).await;

    // Assert
    assert_validation(resp, "body.columns", "too_many_items").await;
    assert_eq!(all_boards(&app).await, before);
}

#[tokio::test]
async fn duplicate_column_names_are_rejected_case_insensitively() {
    // Arrange
    let app = spawn_app().await;
    let before = all_boards(&app).await;

    // Act
    let resp = app.post("/api/boards/", &json!({ "name": "Dupes", "columns": ["Todo", "Done", "todo"] })).await;

    // Assert
    assert_validation_on(resp, "body.columns", "duplicate").await;
    assert_eq!(all_boards(&app).await, before);
}

#[tokio::test]
async fn blank_and_overlong_column_names_are_rejected() {
    // Arrange
    let app = spawn_app().await;
    let before = all_boards(&app).await;

    // Act
    let blank = app.post("/api/boards/", &json!({ "name": "B", "columns": ["Todo", "   "] })).await;
    let long = app.post("/api/boards/", &json!({ "name": "L", "columns": ["x".repeat(51)] })).await;

    // Assert
    assert_validation_on(blank, "body.columns", "string_too_short").await;
    assert_validation_on(long, "body.columns", "string_too_long").await;
    assert_eq!(all_boards(&app).await, before);
}

#[tokio::test]
async fn a_blank_board_name_is_rejected() {
    // Arrange
    let app = spawn_app().await;
    let before = all_boards(&app).await;

    // Act
    let empty = app.post("/api/boards/", &json!({ "name": "" })).await;
    let spaces = app.post("/api/boards/", &json!({ "name": "   " })).await;

    // Assert
    assert_validation(empty, "body.name", "string_too_short").await;
    assert_validation(spaces, "body.name", "string_too_short").await;
    assert_eq!(all_boards(&app).await, before);
}

#[tokio::test]
async fn a_board_name_of_101_characters_is_rejected_but_100_are_accepted() {
    // Arrange
    let app = spawn_app().await;
    let before = all_boards(&app).await;
    // Characters, not bytes: 100 two-byte characters are still within the limit.
    let hundred = "é".repeat(100);

    // Act
    let too_long = app.post("/api/boards/", &json!({ "name": "a".repeat(101) })).await;
    let rejected_len = all_boards(&app).await.len();
    let just_fits = app.post("/api/boards/", &json!({ "name": hundred })).await;

    // Assert
    assert_validation(too_long, "body.name", "string_too_long").await;
    assert_eq!(rejected_len, before.len());
    assert_eq!(just_fits.status(), StatusCode::CREATED);
    let body: Value = just_fits.json().await.expect("board body");
    assert_eq!(body["name"], hundred);
}

#[tokio::test]
async fn a_board_without_a_name_is_rejected_as_missing() {
    // Arrange
    let app = spawn_app().await;
    let before = all_boards(&app).await;

    // Act
    let resp = app.post("/api/boards/", &json!({ "description": "No name" })).await;

    // Assert
    assert_validation(resp, "body.name", "missing").await;
    assert_eq!(all_boards(&app).await, before);
}

#[tokio::test]
async fn a_board_with_a_null_name_is_rejected_as_null_not_allowed() {
    // Arrange
    let app = spawn_app().await;
    let before = all_boards(&app).await;

    // Act
    let resp = app.post("/api/boards/", &json!({ "name": null })).await;

    // Assert
    assert_validation(resp, "body.name", "null_not_allowed").await;
    assert_eq!(all_boards(&app).await, before);
}

#[tokio::test]
async fn board_ids_are_never_reused_after_a_delete() {
    // Arrange
    let app = spawn_app().await;
    let doomed = id_of(&app.create_board("Doomed").await);
    let resp = app.delete(&format!("/api/boards/{doomed}")).await;
    assert_eq!(resp.status(), StatusCode::OK);

    // Act
    let next = id_of(&app.create_board("Next").await);

    // Assert
    assert!(next > doomed, "id {next} reuses or precedes deleted id {doomed}");
}

// ---------------------------------------------------------------------------------------------
// PUT /api/boards/{board_id}
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_partial_board_update_changes_only_the_given_fields() {
    // Arrange
    let app = spawn_app().await;
    let original = board(&app, 1).await;

    // Act
    let renamed = app.put("/api/boards/1", &json!({ "name": "  Renamed  " })).await;
    assert_eq!(renamed.status(), StatusCode::OK);
    let renamed_etag = etag(&renamed);
    let renamed: Value = renamed.json().await.expect("board body");
    let cleared = app.put("/api/boards/1", &json!({ "description": null })).await;
    assert_eq!(cleared.status(), StatusCode::OK);
    let cleared: Value = cleared.json().await.expect("board body");

    // Assert
    assert_eq!(renamed["name"], "Renamed");
    assert_eq!(renamed["description"], original["description"]);
    assert_eq!(renamed["columns"], original["columns"]);
    assert_eq!(renamed["created_at"], original["created_at"]);
    assert_eq!(renamed["version"], 2);
    assert_eq!(renamed_etag.as_deref(), Some("\"2\""));
    assert!(renamed["updated_at"].as_str() >= original["updated_at"].as_str());
    assert_eq!(cleared["name"], "Renamed");
    assert_eq!(cleared["description"], Value::Null);
    assert_eq!(cleared["version"], 3);
    assert_eq!(board(&app, 1).await, cleared);
}

#[tokio::test]
async fn a_board_update_reports_the_live_ticket_count() {
    // Arrange
    let app = spawn_app().await;
    app.create_ticket(1, "one").await;
    app.create_ticket(1, "two").await;

    // Act
    let resp = app.put("/api/boards/1", &json!({ "description": "Busy" })).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("board body");
    assert_eq!(body["ticket_count"], 2);
}

#[tokio::test]
async fn a_board_update_without_a_real_change_leaves_the_version_unchanged() {
    // Arrange
    let app = spawn_app().await;
    let original = board(&app, 1).await;
    let same = [
        json!({}),
        json!({ "name": "My First Board" }),
        json!({ "name": "  My First Board  " }),
        json!({ "description": "Welcome to your kanban board!" }),
        json!({ "columns": DEFAULT_COLUMNS }),
    ];

    // Act
    let mut answers = Vec::new();
    for body in &same {
        let resp = app.put("/api/boards/1", body).await;
        assert_eq!(resp.status(), StatusCode::OK, "{body}");
        answers.push(resp.json::<Value>().await.expect("board body"));
    }

    // Assert
    for answer in answers {
        assert_eq!(answer["version"], 1, "{answer}");
        assert_eq!(answer["updated_at"], original["updated_at"]);
    }
    assert_eq!(board(&app, 1).await, original);
}

#[tokio::test]
async fn a_board_update_with_a_stale_if_match_fails_and_changes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let before = board(&app, 1).await;

    // Act
    let resp = put_with_if_match(&app, "/api/boards/1", "\"7\"", &json!({ "name": "Stale" })).await;

    // Assert
    let body = assert_error(resp, StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED").await;
    assert_eq!(body["detail"], "Version mismatch: current version is 1");
    assert_eq!(board(&app, 1).await, before);
}

#[tokio::test]
async fn if_match_accepts_star_weak_bare_and_listed_versions() {
    // Arrange
    let app = spawn_app().await;
    let attempts = [("*", "A"), ("W/\"2\"", "B"), ("3", "C"), ("\"1\", \"4\"", "D"), ("\"5\"", "E")];

    // Act
    let mut versions = Vec::new();
    for (if_match, name) in attempts {
        let resp = put_with_if_match(&app, "/api/boards/1", if_match, &json!({ "name": name })).await;
        assert_eq!(resp.status(), StatusCode::OK, "If-Match {if_match}");
        versions.push(resp.json::<Value>().await.expect("board body")["version"].clone());
    }

    // Assert
    assert_eq!(versions, vec![json!(2), json!(3), json!(4), json!(5), json!(6)]);
    assert_eq!(board(&app, 1).await["name"], "E");
}

#[tokio::test]
async fn a_board_update_rejects_null_for_name_and_columns() {
    // Arrange
    let app = spawn_app().await;
    let before = board(&app, 1).await;

    // Act
    let null_name = app.put("/api/boards/1", &json!({ "name": null })).await;
    let null_columns = app.put("/api/boards/1", &json!({ "columns": null })).await;

    // Assert
    assert_validation(null_name, "body.name", "null_not_allowed").await;
    assert_validation(null_columns, "body.columns", "null_not_allowed").await;
    assert_eq!(board(&app, 1).await, before);
}

#[tokio::test]
async fn a_board_update_applies_the_column_rules() {
    // Arrange
    let app = spawn_app().await;
    let before = board(&app, 1).await;

    // Act
    let blank_name = app.put("/api/boards/1", &json!({ "name": "  " })).await;
    let empty = app.put("/api/boards/1", &json!({ "columns": [] })).await;
    let dupes = app.put("/api/boards/1", &json!({ "columns": ["Done", "DONE"] })).await;

    // Assert
    assert_validation(blank_name, "body.name", "string_too_short").await;
    assert_validation(empty, "body.columns", "too_few_items").await;
    assert_validation_on(dupes, "body.columns", "duplicate").await;
    assert_eq!(board(&app, 1).await, before);
}

#[tokio::test]
async fn renames_or_move_tickets_to_without_columns_are_rejected() {
    // Arrange
    let app = spawn_app().await;
    let t = id_of(&app.create_ticket(1, "Stays put").await);
    let before = board(&app, 1).await;
    let ticket_before = ticket(&app, t).await;

    // Act
    let renames = app.put("/api/boards/1", &json!({ "renames": { "Not Started": "Backlog" } })).await;
    let move_to = app.put("/api/boards/1", &json!({ "move_tickets_to": "Done", "name": "X" })).await;

    // Assert
    assert_error(renames, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    assert_error(move_to, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    assert_eq!(board(&app, 1).await, before);
    assert_eq!(ticket(&app, t).await, ticket_before);
}

#[tokio::test]
async fn a_column_rename_through_the_board_route_rewrites_its_tickets() {
    // Arrange
    let app = spawn_app().await;
    let t = app.create_ticket(1, "Renamed along").await;
    let columns = json!(["Backlog", "In Progress", "Blocked", "Ready for QC", "Done"]);
    let request = json!({ "columns": columns, "renames": { "Not Started": "Backlog" } });

    // Act
    let resp = app.put("/api/boards/1", &request).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("board body");
    assert_eq!(body["columns"], columns);
    assert_eq!(body["version"], 2);
    assert_eq!(body["ticket_count"], 1);
    let after = ticket(&app, id_of(&t)).await;
    assert_eq!(after["current_column"], "Backlog");
    assert_eq!(after["column_entered_at"], t["column_entered_at"]);
    assert_eq!(after["version"], 2);
}

#[tokio::test]
async fn removing_a_non_empty_column_through_the_board_route_is_a_conflict() {
    // Arrange
    let app = spawn_app().await;
    let t = ticket_in(&app, 1, "Blocked work", "Blocked").await;
    let before = board(&app, 1).await;

    // Act
    let request = json!({ "name": "Shrunk", "columns": ["Not Started", "In Progress", "Done"] });
    let resp = app.put("/api/boards/1", &request).await;

    // Assert
    let body = assert_error(resp, StatusCode::CONFLICT, "COLUMN_NOT_EMPTY").await;
    assert_eq!(body["detail"], "Columns still hold tickets: Blocked (1)");
    assert_eq!(board(&app, 1).await, before);
    assert_eq!(ticket(&app, id_of(&t)).await, t);
}

#[tokio::test]
async fn a_board_update_with_move_tickets_to_moves_the_orphans() {
    // Arrange
    let app = spawn_app().await;
    let t = ticket_in(&app, 1, "Blocked work", "Blocked").await;
    let request = json!({ "columns": ["Not Started", "In Progress", "Done"], "move_tickets_to": "In Progress" });

    // Act
    let resp = app.put("/api/boards/1", &request).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("board body");
    assert_eq!(body["columns"], json!(["Not Started", "In Progress", "Done"]));
    let after = ticket(&app, id_of(&t)).await;
    assert_eq!(after["current_column"], "In Progress");
    assert_eq!(after["version"], t["version"].as_i64().unwrap() + 1);
}

// ---------------------------------------------------------------------------------------------
// DELETE /api/boards/{board_id}
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn deleting_a_board_cascades_to_its_tickets() {
    // Arrange
    let app = spawn_app().await;
    let doomed = id_of(&app.create_board("Doomed").await);
    let first = id_of(&app.create_ticket(doomed, "first").await);
    let second = id_of(&app.create_ticket(doomed, "second").await);
    let survivor = app.create_ticket(1, "survivor").await;

    // Act
    let resp = app.delete(&format!("/api/boards/{doomed}")).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("message body");
    assert_eq!(body, json!({ "message": "Board deleted successfully" }));
    let gone = app.get(&format!("/api/boards/{doomed}")).await;
    let body = assert_error(gone, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(body["detail"], "Board not found");
    for id in [first, second] {
        let resp = app.get(&format!("/api/tickets/{id}")).await;
        let body = assert_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
        assert_eq!(body["detail"], "Ticket not found");
        let resp = app.get(&format!("/api/history/tickets/{id}/history")).await;
        assert_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    }
    assert_eq!(ticket(&app, id_of(&survivor)).await, survivor);
    let ids: Vec<i64> = all_boards(&app).await.iter().map(id_of).collect();
    assert_eq!(ids, vec![1]);
    let again = app.delete(&format!("/api/boards/{doomed}")).await;
    assert_error(again, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

#[tokio::test]
async fn deleting_a_board_with_a_stale_if_match_fails_and_keeps_it() {
    // Arrange
    let app = spawn_app().await;
    let t = app.create_ticket(1, "kept").await;
    let before = board(&app, 1).await;

    // Act
    let resp = app.request(Method::DELETE, "/api/boards/1").header("If-Match", "\"2\"").send().await.unwrap();

    // Assert
    let body = assert_error(resp, StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED").await;
    assert_eq!(body["detail"], "Version mismatch: current version is 1");
    assert_eq!(board(&app, 1).await, before);
    assert_eq!(ticket(&app, id_of(&t)).await, t);
}

#[tokio::test]
async fn deleting_a_board_with_a_matching_if_match_succeeds() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let resp = app.request(Method::DELETE, "/api/boards/1").header("If-Match", "\"1\"").send().await.unwrap();

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    assert_error(app.get("/api/boards/1").await, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

// ---------------------------------------------------------------------------------------------
// GET/PUT /api/boards/{board_id}/columns
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn board_columns_are_listed_in_board_order() {
    // Arrange
    let app = spawn_app().await;
    let custom = app.post("/api/boards/", &json!({ "name": "Custom", "columns": ["Zeta", "Alpha", "Mid"] })).await;
    let custom: Value = custom.json().await.expect("board body");

    // Act
    let default_columns = app.get_json("/api/boards/1/columns").await;
    let custom_columns = app.get_json(&format!("/api/boards/{}/columns", id_of(&custom))).await;

    // Assert
    assert_eq!(default_columns, json!(DEFAULT_COLUMNS));
    assert_eq!(custom_columns, json!(["Zeta", "Alpha", "Mid"]));
}

#[tokio::test]
async fn columns_can_be_replaced_with_a_bare_array() {
    // Arrange
    let app = spawn_app().await;
    let new_columns = json!(["Todo", "Doing", "Done"]);

    // Act
    let resp = app.put("/api/boards/1/columns", &new_columns).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("columns result");
    assert_eq!(
        body,
        json!({ "message": "Columns updated successfully", "columns": new_columns, "renamed_tickets": 0, "moved_tickets": 0 })
    );
    assert_eq!(app.get_json("/api/boards/1/columns").await, new_columns);
    let after = board(&app, 1).await;
    assert_eq!(after["columns"], new_columns);
    assert_eq!(after["version"], 2);
}

#[tokio::test]
async fn columns_can_be_replaced_with_the_object_form() {
    // Arrange
    let app = spawn_app().await;
    let new_columns = json!(["Not Started", "In Progress", "Review", "Done"]);

    // Act
    let resp = app
        .put("/api/boards/1/columns", &json!({ "columns": [" Not Started", "In Progress", "Review", "Done "] }))
        .await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("columns result");
    assert_eq!(body["message"], "Columns updated successfully");
    assert_eq!(body["columns"], new_columns);
    assert_eq!(body["renamed_tickets"], 0);
    assert_eq!(body["moved_tickets"], 0);
    assert_eq!(app.get_json("/api/boards/1/columns").await, new_columns);
}

#[tokio::test]
async fn putting_the_same_columns_changes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let t = app.create_ticket(1, "untouched").await;
    let before = board(&app, 1).await;

    // Act
    let resp = app.put("/api/boards/1/columns", &json!(DEFAULT_COLUMNS)).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("columns result");
    assert_eq!(body["columns"], json!(DEFAULT_COLUMNS));
    assert_eq!(body["renamed_tickets"], 0);
    assert_eq!(body["moved_tickets"], 0);
    assert_eq!(board(&app, 1).await, before);
    assert_eq!(ticket(&app, id_of(&t)).await, t);
}

#[tokio::test]
async fn a_column_rename_rewrites_tickets_without_resetting_column_entered_at() {
    // Arrange
    let app = spawn_app().await;
    let waiting = app.create_ticket(1, "waiting").await;
    let blocked = ticket_in(&app, 1, "blocked", "Blocked").await;
    let waiting_history = history(&app, id_of(&waiting)).await;
    let request = json!({
        "columns": ["Backlog", "In Progress", "Blocked", "Ready for QC", "Done"],
        "renames": { "Not Started": "Backlog" }
    });

    // Act
    let resp = app.put("/api/boards/1/columns", &request).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("columns result");
    assert_eq!(body["columns"], request["columns"]);
    assert_eq!(body["renamed_tickets"], 1);
    assert_eq!(body["moved_tickets"], 0);
    let renamed = ticket(&app, id_of(&waiting)).await;
    assert_eq!(renamed["current_column"], "Backlog");
    assert_eq!(renamed["column_entered_at"], waiting["column_entered_at"]);
    assert_eq!(renamed["version"], waiting["version"].as_i64().unwrap() + 1);
    assert_eq!(history(&app, id_of(&waiting)).await, waiting_history, "a rename writes no history row");
    assert_eq!(ticket(&app, id_of(&blocked)).await, blocked);
    // The blocked ticket's earlier move now reads from the new name, keeping its timeline continuous.
    let moves: Vec<Value> =
        history(&app, id_of(&blocked)).await.into_iter().filter(|h| h["field_name"] == "column").collect();
    assert_eq!(moves.len(), 1);
    assert_eq!(moves[0]["old_value"], "Backlog");
    assert_eq!(moves[0]["new_value"], "Blocked");
}

#[tokio::test]
async fn a_case_only_column_change_gives_tickets_the_new_spelling() {
    // Arrange
    let app = spawn_app().await;
    let t = ticket_in(&app, 1, "qc", "Ready for QC").await;
    let columns = json!(["Not Started", "In Progress", "Blocked", "Ready For QC", "Done"]);

    // Act
    let resp = app.put("/api/boards/1/columns", &columns).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("columns result");
    assert_eq!(body["columns"], columns);
    assert_eq!(body["renamed_tickets"], 1);
    let after = ticket(&app, id_of(&t)).await;
    assert_eq!(after["current_column"], "Ready For QC");
    assert_eq!(after["column_entered_at"], t["column_entered_at"]);
}

#[tokio::test]
async fn removing_non_empty_columns_is_a_conflict_and_changes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let b1 = ticket_in(&app, 1, "b1", "Blocked").await;
    let b2 = ticket_in(&app, 1, "b2", "Blocked").await;
    let qc = ticket_in(&app, 1, "qc", "Ready for QC").await;
    let before = board(&app, 1).await;

    // Act
    let resp = app.put("/api/boards/1/columns", &json!(["Not Started", "In Progress", "Done"])).await;

    // Assert
    let body = assert_error(resp, StatusCode::CONFLICT, "COLUMN_NOT_EMPTY").await;
    assert_eq!(body["detail"], "Columns still hold tickets: Blocked (2), Ready for QC (1)");
    assert_eq!(board(&app, 1).await, before);
    assert_eq!(app.get_json("/api/boards/1/columns").await, json!(DEFAULT_COLUMNS));
    for t in [b1, b2, qc] {
        assert_eq!(ticket(&app, id_of(&t)).await, t);
    }
}

#[tokio::test]
async fn removing_an_empty_column_is_allowed() {
    // Arrange
    let app = spawn_app().await;
    let t = ticket_in(&app, 1, "busy", "In Progress").await;

    // Act
    let resp = app.put("/api/boards/1/columns", &json!(["Not Started", "In Progress", "Done"])).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("columns result");
    assert_eq!(body["renamed_tickets"], 0);
    assert_eq!(body["moved_tickets"], 0);
    assert_eq!(ticket(&app, id_of(&t)).await, t);
}

#[tokio::test]
async fn move_tickets_to_moves_the_tickets_of_removed_columns_and_records_history() {
    // Arrange
    let app = spawn_app().await;
    let blocked = ticket_in(&app, 1, "blocked", "Blocked").await;
    let qc = ticket_in(&app, 1, "qc", "Ready for QC").await;
    let kept = ticket_in(&app, 1, "kept", "In Progress").await;
    let request = json!({ "columns": ["Not Started", "In Progress", "Done"], "move_tickets_to": "done" });

    // Act
    let resp = app
        .request(Method::PUT, "/api/boards/1/columns")
        .header("X-Username", "paula")
        .json(&request)
        .send()
        .await
        .expect("PUT");

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("columns result");
    assert_eq!(body["columns"], json!(["Not Started", "In Progress", "Done"]));
    assert_eq!(body["moved_tickets"], 2);
    assert_eq!(body["renamed_tickets"], 0);
    for (before, from) in [(&blocked, "Blocked"), (&qc, "Ready for QC")] {
        let after = ticket(&app, id_of(before)).await;
        assert_eq!(after["current_column"], "Done");
        assert_eq!(after["version"], before["version"].as_i64().unwrap() + 1);
        assert!(after["column_entered_at"].as_str() >= before["column_entered_at"].as_str());
        assert_eq!(after["column_entered_at"], after["updated_at"]);
        let newest = &history(&app, id_of(before)).await[0];
        assert_eq!(newest["field_name"], "column");
        assert_eq!(newest["old_value"], from);
        assert_eq!(newest["new_value"], "Done");
        assert_eq!(newest["changed_by"], "paula");
    }
    assert_eq!(ticket(&app, id_of(&kept)).await, kept);
}

#[tokio::test]
async fn move_tickets_to_must_name_one_of_the_new_columns() {
    // Arrange
    let app = spawn_app().await;
    let t = ticket_in(&app, 1, "blocked", "Blocked").await;
    let before = board(&app, 1).await;

    // Act
    let to_removed = json!({ "columns": ["Not Started", "Done"], "move_tickets_to": "Blocked" });
    let to_removed = app.put("/api/boards/1/columns", &to_removed).await;
    let to_nowhere = json!({ "columns": ["Not Started", "Done"], "move_tickets_to": "Nowhere" });
    let to_nowhere = app.put("/api/boards/1/columns", &to_nowhere).await;

    // Assert
    assert_error(to_removed, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    assert_error(to_nowhere, StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").await;
    assert_eq!(board(&app, 1).await, before);
    assert_eq!(ticket(&app, id_of(&t)).await, t);
}

#[tokio::test]
async fn renames_must_map_old_columns_to_new_columns() {
    // Arrange
    let app = spawn_app().await;
    let t = app.create_ticket(1, "waiting").await;
    let before = board(&app, 1).await;
    let columns = json!(["Backlog", "In Progress", "Blocked", "Ready for QC", "Done"]);

    // Act
    let unknown_key = json!({ "columns": columns, "renames": { "Nowhere": "Backlog" } });
    let unknown_key = app.put("/api/boards/1/columns", &unknown_key).await;
    let unknown_target = json!({ "columns": columns, "renames": { "Not Started": "Elsewhere" } });
    let unknown_target = app.put("/api/boards/1/columns", &unknown_target).await;

    // Assert
    assert_validation_field(unknown_key, "body.renames").await;
    assert_validation_field(unknown_target, "body.renames").await;
    assert_eq!(board(&app, 1).await, before);
    assert_eq!(ticket(&app, id_of(&t)).await, t);
}

#[tokio::test]
async fn column_edits_apply_the_column_rules() {
    // Arrange
    let app = spawn_app().await;
    let before = board(&app, 1).await;

    // Act
    let empty = app.put("/api/boards/1/columns", &json!({ "columns": [] })).await;
    let dupes = app.put("/api/boards/1/columns", &json!({ "columns": ["Todo", " TODO "] })).await;
    let null = app.put("/api/boards/1/columns", &json!({ "columns": null })).await;

    // Assert
    assert_validation(empty, "body.columns", "too_few_items").await;
    assert_validation_on(dupes, "body.columns", "duplicate").await;
    assert_validation(null, "body.columns", "null_not_allowed").await;
    assert_eq!(board(&app, 1).await, before);
}

#[tokio::test]
async fn a_column_edit_with_a_stale_if_match_fails_and_changes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let before = board(&app, 1).await;

    // Act
    let resp = put_with_if_match(&app, "/api/boards/1/columns", "\"9\"", &json!(["Only"])).await;

    // Assert
    let body = assert_error(resp, StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED").await;
    assert_eq!(body["detail"], "Version mismatch: current version is 1");
    assert_eq!(board(&app, 1).await, before);
}

// ---------------------------------------------------------------------------------------------
// GET /api/boards/{board_id}/tickets
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn board_tickets_are_ordered_by_column_position_then_id() {
    // Arrange
    let app = spawn_app().await;
    let t1 = ticket_in(&app, 1, "t1", "Done").await;
    let t2 = app.create_ticket(1, "t2").await;
    let t3 = ticket_in(&app, 1, "t3", "In Progress").await;
    let t4 = ticket_in(&app, 1, "t4", "Done").await;
    let t5 = ticket_in(&app, 1, "t5", "Blocked").await;
    let elsewhere = id_of(&app.create_board("Elsewhere").await);
    app.create_ticket(elsewhere, "not listed").await;

    // Act
    let body = app.get_json("/api/boards/1/tickets").await;

    // Assert
    assert_eq!(body["board_id"], 1);
    assert_eq!(body["board_name"], "My First Board");
    assert_eq!(body["total_tickets"], 5);
    let ids: Vec<i64> = body["tickets"].as_array().expect("tickets").iter().map(id_of).collect();
    let expected: Vec<i64> = [&t2, &t3, &t5, &t1, &t4].iter().map(|t| id_of(t)).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn board_tickets_carry_every_ticket_field_plus_time_in_column() {
    // Arrange
    let app = spawn_app().await;
    let request = json!({
        "board_id": 1, "title": "Write release notes", "acceptance_criteria": "Lists every change",
        "priority": "2.0", "assignee": "alice"
    });
    let resp = app.post("/api/tickets/", &request).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let created: Value = resp.json().await.expect("ticket body");
    let moved = move_ticket(&app, id_of(&created), "In Progress").await;

    // Act
    let body = app.get_json("/api/boards/1/tickets").await;

    // Assert
    let listed = &body["tickets"][0];
    for (key, value) in moved.as_object().expect("ticket object") {
        assert_eq!(&listed[key], value, "field {key}");
    }
    assert_eq!(listed["acceptance_criteria"], "Lists every change");
    assert_eq!(listed["version"], 2);
    assert!(listed["time_in_column"].is_u64(), "time_in_column must be a non-negative integer: {listed}");
}

#[tokio::test]
async fn an_empty_board_lists_no_tickets() {
    // Arrange
    let app = spawn_app().await;
    let empty = app.create_board("Empty").await;

    // Act
    let body = app.get_json(&format!("/api/boards/{}/tickets", id_of(&empty))).await;

    // Assert
    assert_eq!(body, json!({ "board_id": id_of(&empty), "board_name": "Empty", "tickets": [], "total_tickets": 0 }));
}

// ---------------------------------------------------------------------------------------------
// More column-change rules
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn several_renames_may_merge_columns_into_one() {
    // Arrange
    let app = spawn_app().await;
    let blocked = ticket_in(&app, 1, "blocked", "Blocked").await;
    let qc = ticket_in(&app, 1, "qc", "Ready for QC").await;
    let request = json!({
        "columns": ["Not Started", "In Progress", "Done"],
        "renames": { "Blocked": "In Progress", "Ready for QC": "In Progress" }
    });

    // Act
    let resp = app.put("/api/boards/1/columns", &request).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("columns result");
    assert_eq!(body["renamed_tickets"], 2);
    assert_eq!(body["moved_tickets"], 0);
    for before in [&blocked, &qc] {
        let after = ticket(&app, id_of(before)).await;
        assert_eq!(after["current_column"], "In Progress");
        assert_eq!(after["column_entered_at"], before["column_entered_at"]);
    }
}

#[tokio::test]
async fn renames_may_swap_two_column_names() {
    // Arrange
    let app = spawn_app().await;
    let waiting = app.create_ticket(1, "waiting").await;
    let finished = ticket_in(&app, 1, "finished", "Done").await;
    let request = json!({
        "columns": ["Done", "In Progress", "Blocked", "Ready for QC", "Not Started"],
        "renames": { "Not Started": "Done", "Done": "Not Started" }
    });

    // Act
    let resp = app.put("/api/boards/1/columns", &request).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("columns result");
    let waiting_now = ticket(&app, id_of(&waiting)).await["current_column"].clone();
    let finished_now = ticket(&app, id_of(&finished)).await["current_column"].clone();
    assert_eq!((waiting_now, finished_now), (json!("Done"), json!("Not Started")));
    assert_eq!(body["renamed_tickets"], 2);
}

#[tokio::test]
async fn rename_keys_and_targets_match_case_insensitively_and_store_the_new_spelling() {
    // Arrange
    let app = spawn_app().await;
    let waiting = app.create_ticket(1, "waiting").await;
    let request = json!({
        "columns": ["Backlog", "In Progress", "Blocked", "Ready for QC", "Done"],
        "renames": { "not started": "BACKLOG" }
    });

    // Act
    let resp = app.put("/api/boards/1/columns", &request).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::OK);
    let after = ticket(&app, id_of(&waiting)).await;
    assert_eq!(after["current_column"], "Backlog");
}

#[tokio::test]
async fn a_conflicting_column_edit_applies_none_of_its_renames() {
    // Arrange
    let app = spawn_app().await;
    let waiting = app.create_ticket(1, "waiting").await;
    let blocked = ticket_in(&app, 1, "blocked", "Blocked").await;
    let before = board(&app, 1).await;
    let request = json!({ "columns": ["Backlog", "In Progress", "Done"], "renames": { "Not Started": "Backlog" } });

    // Act
    let resp = app.put("/api/boards/1/columns", &request).await;

    // Assert
    let body = assert_error(resp, StatusCode::CONFLICT, "COLUMN_NOT_EMPTY").await;
    assert_eq!(body["detail"], "Columns still hold tickets: Blocked (1)");
    assert_eq!(board(&app, 1).await, before);
    assert_eq!(ticket(&app, id_of(&waiting)).await, waiting);
    assert_eq!(ticket(&app, id_of(&blocked)).await, blocked);
}

#[tokio::test]
async fn if_match_on_an_unknown_board_answers_404_first() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let resp = put_with_if_match(&app, "/api/boards/999", "\"1\"", &json!({ "name": "X" })).await;

    // Assert
    let body = assert_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(body["detail"], "Board not found");
}

// ---------------------------------------------------------------------------------------------
// More field rules on create
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_blank_board_description_is_stored_as_null() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let resp = app.post("/api/boards/", &json!({ "name": "Quiet", "description": "   " })).await;

    // Assert
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.expect("board body");
    assert_eq!(body["description"], Value::Null);
}

#[tokio::test]
async fn a_board_description_over_20000_characters_is_rejected() {
    // Arrange
    let app = spawn_app().await;
    let before = all_boards(&app).await;

    // Act
    let resp = app.post("/api/boards/", &json!({ "name": "Verbose", "description": "d".repeat(20_001) })).await;

    // Assert
    assert_validation(resp, "body.description", "string_too_long").await;
    assert_eq!(all_boards(&app).await, before);
}

#[tokio::test]
async fn non_string_names_and_columns_are_rejected_as_invalid_type() {
    // Arrange
    let app = spawn_app().await;
    let before = all_boards(&app).await;

    // Act
    let numeric_name = app.post("/api/boards/", &json!({ "name": 42 })).await;
    let numeric_column = app.post("/api/boards/", &json!({ "name": "N", "columns": ["Todo", 7] })).await;
    let columns_object = app.post("/api/boards/", &json!({ "name": "O", "columns": { "a": 1 } })).await;

    // Assert
    assert_validation(numeric_name, "body.name", "invalid_type").await;
    assert_validation_on(numeric_column, "body.columns", "invalid_type").await;
    assert_validation(columns_object, "body.columns", "invalid_type").await;
    assert_eq!(all_boards(&app).await, before);
}
