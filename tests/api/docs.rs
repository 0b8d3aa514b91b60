//! The API explorer at `/docs` and the completeness of `/openapi.json` (ops.md §3, api.md §13).

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{assert_error, spawn_app};

/// Every route of api.md's route index, as (method, path) with paths as the OpenAPI document
/// spells them (one trailing slash trimmed: the server routes both forms).
const ROUTE_INDEX: &[(&str, &str)] = &[
    // root and service (10)
    ("GET", "/"),
    ("GET", "/api/status"),
    ("GET", "/health"),
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("GET", "/health/detailed"),
    ("GET", "/health/memory"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    // auth and admin users (9)
    ("POST", "/api/auth/register"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/refresh"),
    ("POST", "/api/auth/logout"),
    ("GET", "/api/auth/me"),
    ("PUT", "/api/auth/me"),
    ("GET", "/api/auth/users"),
    ("PUT", "/api/auth/users/{user_id}"),
    ("DELETE", "/api/auth/users/{user_id}"),
    // boards (10)
    ("GET", "/api/boards"),
    ("GET", "/api/boards/default"),
    ("GET", "/api/boards/default/tickets"),
    ("GET", "/api/boards/{board_id}"),
    ("POST", "/api/boards"),
    ("PUT", "/api/boards/{board_id}"),
    ("DELETE", "/api/boards/{board_id}"),
    ("GET", "/api/boards/{board_id}/columns"),
    ("PUT", "/api/boards/{board_id}/columns"),
    ("GET", "/api/boards/{board_id}/tickets"),
    // tickets (8)
    ("GET", "/api/tickets"),
    ("GET", "/api/tickets/{ticket_id}"),
    ("POST", "/api/tickets"),
    ("PUT", "/api/tickets/{ticket_id}"),
    ("POST", "/api/tickets/{ticket_id}/move"),
    ("POST", "/api/tickets/{ticket_id}/claim"),
    ("POST", "/api/tickets/{ticket_id}/release"),
    ("DELETE", "/api/tickets/{ticket_id}"),
    // comments (4)
    ("GET", "/api/comments/ticket/{ticket_id}"),
    ("POST", "/api/comments"),
    ("PUT", "/api/comments/{comment_id}"),
    ("DELETE", "/api/comments/{comment_id}"),
    // history (4)
    ("GET", "/api/history/tickets/{ticket_id}/history"),
    ("GET", "/api/history/tickets/{ticket_id}/transitions"),
    ("GET", "/api/history/boards/{board_id}/activity"),
    ("GET", "/api/history/stats"),
    // statistics (12)
    ("GET", "/api/statistics/boards/{board_id}/statistics"),
    ("GET", "/api/statistics/tickets/{ticket_id}/statistics"),
    ("GET", "/api/statistics/boards/{board_id}/performance"),
    ("GET", "/api/statistics/boards/{board_id}/flow"),
    ("GET", "/api/statistics/boards/{board_id}/tickets/colors"),
    ("GET", "/api/statistics/boards/{board_id}/tickets/colors/realtime"),
    ("GET", "/api/statistics/boards/{board_id}/column/{column_name}/statistics"),
    ("GET", "/api/statistics/boards/{board_id}/drag-drop/metrics"),
    ("GET", "/api/statistics/drag-drop/metrics/all"),
    ("POST", "/api/statistics/drag-drop/metrics/clear"),
    ("POST", "/api/statistics/statistics/cache/clear"),
    ("GET", "/api/statistics/statistics/health"),
    // bulk (4)
    ("POST", "/api/bulk/tickets/move"),
    ("POST", "/api/bulk/tickets/priority"),
    ("POST", "/api/bulk/tickets/assign"),
    ("GET", "/api/bulk/operations/status"),
    // anonymous sessions (4)
    ("POST", "/api/users/session"),
    ("GET", "/api/users/session"),
    ("PUT", "/api/users/session"),
    ("DELETE", "/api/users/session"),
    // health under /api (2)
    ("GET", "/api/health"),
    ("GET", "/api/health/simple"),
    // WebSocket routes (1 + 3)
    ("GET", "/ws/connect"),
    ("GET", "/ws/stats"),
    ("POST", "/ws/cleanup"),
    ("POST", "/ws/broadcast"),
];

/// The (method, path) pairs the OpenAPI document lists, trailing slashes trimmed.
fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths object") {
        let path = if path.len() > 1 { path.trim_end_matches('/') } else { path.as_str() };
        for method in item.as_object().expect("path item").keys() {
            if ["get", "put", "post", "delete", "patch", "head", "options"].contains(&method.as_str()) {
                ops.insert((method.to_uppercase(), path.to_owned()));
            }
        }
    }
    ops
}

#[tokio::test]
async fn every_route_of_the_route_index_is_in_the_openapi_document() {
    let app = spawn_app().await;

    let doc = app.get_json("/openapi.json").await;

    let documented = documented_operations(&doc);
    let missing: Vec<_> =
        ROUTE_INDEX.iter().filter(|(m, p)| !documented.contains(&((*m).to_owned(), (*p).to_owned()))).collect();
    assert!(missing.is_empty(), "routes of the route index missing from /openapi.json: {missing:?}");
    assert_eq!(ROUTE_INDEX.len(), 10 + 9 + 10 + 8 + 4 + 4 + 12 + 4 + 4 + 2 + 4, "the index's own count");
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer", "bearerAuth in {schemes}");
    assert_eq!(schemes["opsToken"]["scheme"], "bearer", "opsToken in {schemes}");
}

/// The converse: every documented operation is served by the router (never the fallback 404 or
/// a 405), so the document cannot describe a route that does not exist.
#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = spawn_app().await;
    let doc = app.get_json("/openapi.json").await;

    for (method, path) in documented_operations(&doc) {
        // Unknown ids keep DELETE and friends from changing anything the next request needs.
        let concrete: String =
            path.split('/').map(|seg| if seg.starts_with('{') { "987654" } else { seg }).collect::<Vec<_>>().join("/");
        let method = Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut req = app.request(method.clone(), &concrete);
        if method == Method::POST || method == Method::PUT {
            req = req.json(&json!({}));
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {concrete} is documented but not routed");
        if status == StatusCode::NOT_FOUND {
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            assert_ne!(body["detail"], "Not Found", "{method} {concrete} fell through to the fallback: {body}");
        }
    }
}

#[tokio::test]
async fn docs_redirects_to_the_explorer_which_loads_only_same_origin_assets() {
    let app = spawn_app().await;
    // The test client does not follow redirects.
    let redirect = app.get("/docs").await;
    assert_eq!(redirect.status(), StatusCode::SEE_OTHER);
    assert_eq!(redirect.headers()["location"], "/docs/");

    let page = app.get("/docs/").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("text/html")));
    let csp = page.headers()["content-security-policy"].to_str().expect("CSP").to_owned();
    assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"), "CSP {csp}");
    let html = page.text().await.expect("HTML");
    let links = attribute_values(&html, &["src=\"", "href=\""]);
    assert!(links.len() >= 4, "the page links its scripts and styles: {links:?}");
    for link in &links {
        assert!(!link.contains("//"), "{link} would load from another origin");
        let asset = app.get(&format!("/docs/{}", link.trim_start_matches("./"))).await;
        assert_eq!(asset.status(), StatusCode::OK, "{link}");
    }
    let initializer = app.get("/docs/swagger-initializer.js").await.text().await.expect("script");
    assert!(initializer.contains("\"/openapi.json\""), "the explorer reads this server's document: {initializer}");
    assert!(initializer.contains("\"validatorUrl\": \"none\""), "no call to a public validator: {initializer}");
    assert!(!initializer.contains("http://") && !initializer.contains("https://"), "{initializer}");
    let script = app.get("/docs/swagger-ui-bundle.js").await;
    assert!(script.headers()["content-type"].to_str().is_ok_and(|t| t.contains("javascript")));
}

#[tokio::test]
async fn an_unknown_explorer_asset_is_a_404_in_the_standard_body() {
    let app = spawn_app().await;

    assert_error(app.get("/docs/no-such-file.js").await, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

/// The values of the given attributes (`src="`, `href="`) in an HTML text.
fn attribute_values(html: &str, attrs: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for attr in attrs {
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            if let Some(end) = rest.find('"') {
                out.push(rest[..end].to_owned());
                rest = &rest[end..];
            }
        }
    }
    out
}
