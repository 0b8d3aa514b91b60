//! The built-in web board's asset routes: content types, security policy, caching and
//! revalidation, compression, the 404 body for unknown assets, and the browser redirect at `/`.

use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT, ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH, LOCATION,
};

use agent_kanban::config::AnonymousRole;

use crate::helpers::{assert_error, spawn_app, spawn_app_with};

fn header(resp: &reqwest::Response, name: reqwest::header::HeaderName) -> &str {
    resp.headers().get(&name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("{name} missing"))
}

#[tokio::test]
async fn the_board_page_is_served_at_app_with_and_without_a_trailing_slash() {
    let app = spawn_app().await;
    for path in ["/app/", "/app"] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&resp, CONTENT_TYPE), "text/html; charset=utf-8");
        let body = resp.text().await.expect("body");
        assert!(body.contains("<script type=\"module\" src=\"/app/js/main.js\"></script>"), "{body}");
    }
}

#[tokio::test]
async fn assets_carry_their_content_types() {
    let app = spawn_app().await;
    for (path, kind) in [
        ("/app/js/main.js", "text/javascript; charset=utf-8"),
        ("/app/js/api.js", "text/javascript; charset=utf-8"),
        ("/app/css/app.css", "text/css; charset=utf-8"),
        ("/app/icon.svg", "image/svg+xml"),
    ] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&resp, CONTENT_TYPE), kind, "{path}");
        assert_eq!(header(&resp, reqwest::header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    }
}

#[tokio::test]
async fn the_page_forbids_inline_code_other_origins_and_framing() {
    let app = spawn_app().await;
    let resp = app.get("/app/").await;
    let csp = header(&resp, CONTENT_SECURITY_POLICY).to_owned();
    let host = app.base.trim_start_matches("http://");
    for directive in [
        "default-src 'self'".to_owned(),
        "script-src 'self';".to_owned(),
        "style-src 'self';".to_owned(),
        format!("connect-src 'self' ws://{host} wss://{host};"),
        "frame-ancestors 'none'".to_owned(),
    ] {
        assert!(csp.contains(&directive), "{directive} not in {csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval") && !csp.contains('*'), "{csp}");
    let body = resp.text().await.expect("body");
    assert!(!body.contains("<script>") && !body.contains("style="), "the page has no inline script or style");
}

#[tokio::test]
async fn a_current_copy_is_revalidated_with_304() {
    let app = spawn_app().await;
    let first = app.get("/app/js/main.js").await;
    assert_eq!(header(&first, CACHE_CONTROL), "no-cache");
    let etag = header(&first, ETAG).to_owned();
    assert!(etag.starts_with("W/\""), "{etag}");

    let again =
        app.request(reqwest::Method::GET, "/app/js/main.js").header(IF_NONE_MATCH, &etag).send().await.expect("GET");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&again, ETAG), etag);
    assert!(again.bytes().await.expect("body").is_empty());

    let stale = app
        .request(reqwest::Method::GET, "/app/js/main.js")
        .header(IF_NONE_MATCH, "W/\"0\"")
        .send()
        .await
        .expect("GET");
    assert_eq!(stale.status(), StatusCode::OK);
}

#[tokio::test]
async fn assets_are_compressed_when_the_client_accepts_it() {
    let app = spawn_app().await;
    for encoding in ["gzip", "br"] {
        let resp = app
            .request(reqwest::Method::GET, "/app/js/main.js")
            .header(ACCEPT_ENCODING, encoding)
            .send()
            .await
            .expect("GET");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(header(&resp, CONTENT_ENCODING), encoding);
    }
    let plain = app.get("/app/js/main.js").await;
    assert!(plain.headers().get(CONTENT_ENCODING).is_none());
}

#[tokio::test]
async fn an_unknown_asset_is_the_standard_404() {
    let app = spawn_app().await;
    for path in ["/app/nope.js", "/app/js/", "/app/../Cargo.toml"] {
        let resp = app.get(path).await;
        let body = assert_error(resp, StatusCode::NOT_FOUND, "NOT_FOUND").await;
        assert_eq!(body["detail"], "Not Found", "{path}");
    }
}

#[tokio::test]
async fn a_browser_asking_for_the_root_is_sent_to_the_board() {
    let app = spawn_app().await;
    let resp = app
        .request(reqwest::Method::GET, "/")
        .header(ACCEPT, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&resp, LOCATION), "/app/");
}

#[tokio::test]
async fn the_root_still_answers_json_clients() {
    let app = spawn_app().await;
    for accept in [None, Some("application/json"), Some("*/*")] {
        let mut req = app.request(reqwest::Method::GET, "/");
        if let Some(a) = accept {
            req = req.header(ACCEPT, a);
        }
        let resp = req.send().await.expect("GET");
        assert_eq!(resp.status(), StatusCode::OK, "{accept:?}");
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(body["message"], "Agent Kanban Board API");
    }
}

#[tokio::test]
async fn the_asset_routes_stay_out_of_the_openapi_document() {
    let app = spawn_app().await;
    let doc = app.get_json("/openapi.json").await;
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.keys().all(|p| !p.starts_with("/app")), "{:?}", paths.keys().collect::<Vec<_>>());
}

#[tokio::test]
async fn the_status_route_names_the_anonymous_role_for_the_sign_in_page() {
    for (setting, expected) in [
        (AnonymousRole::None, serde_json::Value::Null),
        (AnonymousRole::Viewer, serde_json::json!("viewer")),
        (AnonymousRole::Agent, serde_json::json!("agent")),
        (AnonymousRole::Pm, serde_json::json!("pm")),
    ] {
        let app = spawn_app_with(|cfg| cfg.auth.anonymous_role = setting).await;

        let body = app.get_json("/api/status").await;

        assert_eq!(body["anonymous_role"], expected, "{setting:?}: {body}");
    }
}

#[tokio::test]
async fn the_documented_status_carries_the_anonymous_role() {
    let app = spawn_app().await;

    let doc = app.get_json("/openapi.json").await;

    let schema = &doc["components"]["schemas"]["StatusInfo"];
    assert!(schema["properties"]["anonymous_role"].is_object(), "{schema}");
}
