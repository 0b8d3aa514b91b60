//! Tests for the comment routes (`api.md` §6): listing, adding, editing and deleting comments, and
//! the rule that comments never touch their ticket's version or history.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

fn id_of(value: &Value) -> i64 {
    value["id"].as_i64().expect("id")
}

/// A fresh ticket on the default board; returns its id.
async fn ticket(app: &TestApp) -> i64 {
    id_of(&app.create_ticket(1, "Discuss me").await)
}

/// Add a comment, asserting 201, and return its body.
async fn add_comment(app: &TestApp, body: Value) -> Value {
    let resp = app.post("/api/comments/", &body).await;
    assert_eq!(resp.status(), StatusCode::CREATED, "create comment {body}");
    resp.json().await.expect("comment body")
}

async fn comments_of(app: &TestApp, ticket_id: i64) -> Vec<Value> {
    let body = app.get_json(&format!("/api/comments/ticket/{ticket_id}")).await;
    body.as_array().expect("comment array").clone()
}

async fn edit(app: &TestApp, comment_id: i64, text: &str) -> Response {
    app.put(&format!("/api/comments/{comment_id}"), &json!({ "text": text })).await
}

async fn ok_json(resp: Response) -> Value {
    assert_eq!(resp.status(), StatusCode::OK, "status");
    resp.json().await.expect("json body")
}

// ---------------------------------------------------------------------------------------------
// POST /api/comments/
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn adding_a_comment_returns_201_with_its_location() {
    let app = spawn_app().await;
    let ticket_id = ticket(&app).await;

    let resp = app.post("/api/comments/", &json!({"ticket_id": ticket_id, "text": "Started", "author": "alice"})).await;

    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers().get("location").expect("Location").to_str().unwrap().to_owned();
    let body: Value = resp.json().await.expect("comment");
    assert_eq!(location, format!("/api/comments/{}", id_of(&body)));
    assert_eq!(body["ticket_id"], ticket_id);
    assert_eq!(body["text"], "Started");
    assert_eq!(body["author"], "alice");
    assert_eq!(body["updated_at"], Value::Null);
    let created_at = body["created_at"].as_str().expect("created_at");
    assert!(created_at.ends_with('Z') && created_at.len() == 24, "{created_at}");
    assert_eq!(comments_of(&app, ticket_id).await, vec![body]);
}

#[tokio::test]
async fn a_comment_without_an_author_is_signed_with_the_x_username_header() {
    let app = spawn_app().await;
    let ticket_id = ticket(&app).await;

    let resp = app
        .request(Method::POST, "/api/comments/")
        .header("X-Username", "  carol ")
        .json(&json!({"ticket_id": ticket_id, "text": "From the header"}))
        .send()
        .await
        .expect("POST");

    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.json::<Value>().await.expect("comment")["author"], "carol");
}

#[tokio::test]
async fn the_body_author_wins_over_the_x_username_header() {
    let app = spawn_app().await;
    let ticket_id = ticket(&app).await;

    let resp = app
        .request(Method::POST, "/api/comments/")
        .header("X-Username", "carol")
        .json(&json!({"ticket_id": ticket_id, "text": "Signed", "author": "dave"}))
        .send()
        .await
        .expect("POST");

    assert_eq!(resp.json::<Value>().await.expect("comment")["author"], "dave");
}

#[tokio::test]
async fn a_comment_from_nobody_in_particular_is_signed_anonymous() {
    let app = spawn_app().await;
    let ticket_id = ticket(&app).await;

    let absent = add_comment(&app, json!({"ticket_id": ticket_id, "text": "Who am I?"})).await;
    let null = add_comment(&app, json!({"ticket_id": ticket_id, "text": "Me?", "author": null})).await;
    let blank = add_comment(&app, json!({"ticket_id": ticket_id, "text": "Me!", "author": "  "})).await;

    assert_eq!(absent["author"], "anonymous");
    assert_eq!(null["author"], "anonymous");
    assert_eq!(blank["author"], "anonymous", "a blank author counts as absent");
}

#[tokio::test]
async fn comment_text_is_stored_untrimmed() {
    let app = spawn_app().await;
    let ticket_id = ticket(&app).await;

    let body = add_comment(&app, json!({"ticket_id": ticket_id, "text": "  indented\n"})).await;

    assert_eq!(body["text"], "  indented\n");
    assert_eq!(comments_of(&app, ticket_id).await[0]["text"], "  indented\n");
}

#[tokio::test]
async fn comment_text_must_be_present_non_blank_and_at_most_10000_characters() {
    let app = spawn_app().await;
    let ticket_id = ticket(&app).await;
    let cases = [
        (json!({"ticket_id": ticket_id}), "missing"),
        (json!({"ticket_id": ticket_id, "text": null}), "null_not_allowed"),
        (json!({"ticket_id": ticket_id, "text": ""}), "string_too_short"),
        (json!({"ticket_id": ticket_id, "text": " \t\n"}), "string_too_short"),
        (json!({"ticket_id": ticket_id, "text": "x".repeat(10_001)}), "string_too_long"),
    ];

    for (body, kind) in cases {
        let resp = app.post("/api/comments/", &body).await;
        assert_validation(resp, "body.text", kind).await;
    }
    assert_eq!(comments_of(&app, ticket_id).await, Vec::<Value>::new());
}

#[tokio::test]
async fn a_comment_of_exactly_10000_characters_is_accepted() {
    let app = spawn_app().await;
    let ticket_id = ticket(&app).await;
    let text = "ü".repeat(10_000);

    let body = add_comment(&app, json!({"ticket_id": ticket_id, "text": &text})).await;

    assert_eq!(body["text"], text.as_str());
}

#[tokio::test]
async fn a_comment_author_over_100_characters_is_rejected() {
    let app = spawn_app().await;
    let ticket_id = ticket(&app).await;

    let resp =
        app.post("/api/comments/", &json!({"ticket_id": ticket_id, "text": "hi", "author": "a".repeat(101)})).await;

    assert_validation(resp, "body.author", "string_too_long").await;
}

#[tokio::test]
async fn a_comment_needs_a_ticket_id() {
    let app = spawn_app().await;

    let missing = app.post("/api/comments/", &json!({"text": "Orphan"})).await;
    let string = app.post("/api/comments/", &json!({"ticket_id": "1", "text": "Orphan"})).await;

    assert_validation(missing, "body.ticket_id", "missing").await;
    assert_validation(string, "body.ticket_id", "invalid_type").await;
}

#[tokio::test]
async fn commenting_on_an_unknown_ticket_is_not_found() {
    let app = spawn_app().await;

    let resp = app.post("/api/comments/", &json!({"ticket_id": 999, "text": "Hello?"})).await;

    let body = assert_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(body["detail"], "Ticket not found");
}

// ---------------------------------------------------------------------------------------------
// GET /api/comments/ticket/{id}
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn comments_are_listed_oldest_first() {
    let app = spawn_app().await;
    let ticket_id = ticket(&app).await;
    let other_ticket = ticket(&app).await;
    let first = add_comment(&app, json!({"ticket_id": ticket_id, "text": "one"})).await;
    add_comment(&app, json!({"ticket_id": other_ticket, "text": "elsewhere"})).await;
    let second = add_comment(&app, json!({"ticket_id": ticket_id, "text": "two"})).await;
    let third = add_comment(&app, json!({"ticket_id": ticket_id, "text": "three"})).await;

    let listed = comments_of(&app, ticket_id).await;

    assert_eq!(listed, vec![first, second, third]);
}

#[tokio::test]
async fn a_ticket_without_comments_lists_none() {
    let app = spawn_app().await;
    let ticket_id = ticket(&app).await;

    assert_eq!(comments_of(&app, ticket_id).await, Vec::<Value>::new());
}

#[tokio::test]
async fn listing_comments_of_an_unknown_ticket_is_not_found() {
    let app = spawn_app().await;

    let resp = app.get("/api/comments/ticket/999").await;

    let body = assert_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(body["detail"], "Ticket not found");
}

#[tokio::test]
async fn comment_routes_reject_ids_that_are_not_integers() {
    let app = spawn_app().await;

    let list = app.get("/api/comments/ticket/abc").await;
    let put = app.put("/api/comments/abc", &json!({"text": "x"})).await;
    let delete = app.delete("/api/comments/abc").await;

    assert_validation(list, "path.ticket_id", "int_parsing").await;
    assert_validation(put, "path.comment_id", "int_parsing").await;
    assert_validation(delete, "path.comment_id", "int_parsing").await;
}

// ---------------------------------------------------------------------------------------------
// PUT /api/comments/{id}
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn editing_a_comment_changes_its_text_and_sets_updated_at() {
    let app = spawn_app().await;
    let ticket_id = ticket(&app).await;
    let created = add_comment(&app, json!({"ticket_id": ticket_id, "text": "Draft"})).await;

    let body = ok_json(edit(&app, id_of(&created), "Final").await).await;

    assert_eq!(body["id"], created["id"]);
    assert_eq!(body["text"], "Final");
    assert_eq!(body["author"], created["author"]);
    assert_eq!(body["created_at"], created["created_at"]);
    let updated_at = body["updated_at"].as_str().expect("updated_at is set");
    assert!(updated_at >= created["created_at"].as_str().unwrap());
    assert_eq!(comments_of(&app, ticket_id).await, vec![body]);
}

#[tokio::test]
async fn editing_a_comment_to_the_same_text_writes_nothing() {
    let app = spawn_app().await;
    let ticket_id = ticket(&app).await;
    let created = add_comment(&app, json!({"ticket_id": ticket_id, "text": "Unchanged"})).await;

    let body = ok_json(edit(&app, id_of(&created), "Unchanged").await).await;

    assert_eq!(body, created);
    assert_eq!(body["updated_at"], Value::Null);
    assert_eq!(comments_of(&app, ticket_id).await, vec![created]);
}

#[tokio::test]
async fn editing_a_comment_to_blank_text_is_rejected() {
    let app = spawn_app().await;
    let ticket_id = ticket(&app).await;
    let created = add_comment(&app, json!({"ticket_id": ticket_id, "text": "Keep"})).await;

    let blank = edit(&app, id_of(&created), "   ").await;
    let missing = app.put(&format!("/api/comments/{}", id_of(&created)), &json!({})).await;

    assert_validation(blank, "body.text", "string_too_short").await;
    assert_validation(missing, "body.text", "missing").await;
    assert_eq!(comments_of(&app, ticket_id).await, vec![created]);
}

#[tokio::test]
async fn editing_an_unknown_comment_is_not_found() {
    let app = spawn_app().await;

    let resp = edit(&app, 999, "Anyone?").await;

    let body = assert_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(body["detail"], "Comment not found");
}

// ---------------------------------------------------------------------------------------------
// DELETE /api/comments/{id}
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn deleting_a_comment_removes_only_that_comment() {
    let app = spawn_app().await;
    let ticket_id = ticket(&app).await;
    let doomed = add_comment(&app, json!({"ticket_id": ticket_id, "text": "Oops"})).await;
    let kept = add_comment(&app, json!({"ticket_id": ticket_id, "text": "Fine"})).await;

    let resp = app.delete(&format!("/api/comments/{}", id_of(&doomed))).await;

    assert_eq!(ok_json(resp).await, json!({"message": "Comment deleted successfully"}));
    assert_eq!(comments_of(&app, ticket_id).await, vec![kept]);
    let again = app.delete(&format!("/api/comments/{}", id_of(&doomed))).await;
    let body = assert_error(again, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    assert_eq!(body["detail"], "Comment not found");
}

// ---------------------------------------------------------------------------------------------
// Comments and their ticket
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn comments_never_change_the_tickets_version_or_history() {
    let app = spawn_app().await;
    let ticket = app.create_ticket(1, "Quiet").await;
    let ticket_id = id_of(&ticket);
    let history_before = app.get_json(&format!("/api/history/tickets/{ticket_id}/history")).await;

    let comment = add_comment(&app, json!({"ticket_id": ticket_id, "text": "one"})).await;
    ok_json(edit(&app, id_of(&comment), "two").await).await;
    ok_json(app.delete(&format!("/api/comments/{}", id_of(&comment))).await).await;

    let after = app.get_json(&format!("/api/tickets/{ticket_id}")).await;
    assert_eq!(after, ticket, "version and updated_at unchanged");
    let history_after = app.get_json(&format!("/api/history/tickets/{ticket_id}/history")).await;
    assert_eq!(history_after, history_before);
}

#[tokio::test]
async fn a_blank_or_overlong_x_username_is_ignored() {
    let app = spawn_app().await;
    let ticket_id = ticket(&app).await;
    let body = json!({"ticket_id": ticket_id, "text": "Who?"});

    for header in ["   ".to_owned(), "u".repeat(101)] {
        let resp = app
            .request(Method::POST, "/api/comments/")
            .header("X-Username", header)
            .json(&body)
            .send()
            .await
            .expect("POST");

        assert_eq!(resp.status(), StatusCode::CREATED);
        assert_eq!(resp.json::<Value>().await.expect("comment")["author"], "anonymous");
    }
}

#[tokio::test]
async fn an_edited_comment_keeps_its_place_in_the_list() {
    let app = spawn_app().await;
    let ticket_id = ticket(&app).await;
    let first = add_comment(&app, json!({"ticket_id": ticket_id, "text": "one"})).await;
    let second = add_comment(&app, json!({"ticket_id": ticket_id, "text": "two"})).await;

    let edited = ok_json(edit(&app, id_of(&first), "one, revised").await).await;

    assert_eq!(comments_of(&app, ticket_id).await, vec![edited, second]);
}
