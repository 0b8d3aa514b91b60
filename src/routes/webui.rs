//! The built-in web board: the files under `web/`, embedded in the binary at build time and served
//! under `/app/` (plain HTML, CSS and ES modules; no Node toolchain at build or run time).
//!
//! Every asset answer carries its content type, a weak `ETag` (answered with 304 on a matching
//! `If-None-Match`), `Cache-Control: no-cache` (the file names carry no content hash, so a browser
//! revalidates, which costs a 304) and a strict `Content-Security-Policy`; bodies are compressed
//! (gzip or brotli) when the client accepts it. An unknown asset is the standard 404 error body.
//! These routes are kept out of the OpenAPI document: they are not part of the JSON API.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;
use tower_http::compression::CompressionLayer;

use crate::error::ApiError;
use crate::state::AppState;

/// The `web/` directory, read by the compiler (debug builds too: the binary never reads it at run time).
#[derive(RustEmbed)]
#[folder = "web/"]
struct Assets;

/// `/app` (and `/app/`, which the trailing-slash layer trims to `/app`) is the page; `/app/{*path}`
/// its assets.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/app", get(|headers: HeaderMap| async move { asset("index.html", &headers) }))
        .route(
            "/app/{*path}",
            get(|Path(path): Path<String>, headers: HeaderMap| async move { asset(&path, &headers) }),
        )
        .layer(CompressionLayer::new().gzip(true).br(true))
}

/// The answer for the embedded file `path`: 200 with the body, 304 when the client's copy is
/// current, or the standard 404 when there is no such file.
fn asset(path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = Assets::get(path) else {
        return with_security_headers(ApiError::RouteNotFound.into_response(), headers);
    };
    let etag = etag_for(&file.metadata.sha256_hash());
    let mut resp = if if_none_match_matches(headers.get(header::IF_NONE_MATCH), &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut resp = file.data.into_owned().into_response();
        let mime = content_type(path).unwrap_or_else(|| file.metadata.mimetype());
        if let Ok(v) = HeaderValue::from_str(mime) {
            resp.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        resp
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    with_security_headers(resp, headers)
}

/// Content types for the files the board is made of, with their charset; other files fall back to
/// the type guessed from their extension.
fn content_type(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.').map(|(_, e)| e)?;
    Some(match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "txt" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

/// A weak validator from the file's content hash: weak, because the compression layer may send
/// the same content in another encoding under the same tag.
fn etag_for(sha256: &[u8; 32]) -> String {
    format!("W/\"{}\"", hex::encode(&sha256[..16]))
}

/// Weak comparison (RFC 9110 §13.1.2) of a comma-separated `If-None-Match` against `etag`.
fn if_none_match_matches(header: Option<&HeaderValue>, etag: &str) -> bool {
    let Some(value) = header.and_then(|v| v.to_str().ok()) else { return false };
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let ours = opaque(etag);
    value.split(',').any(|t| t.trim() == "*" || opaque(t) == ours)
}

/// The policy: only this origin's scripts, styles, images and connections (WebSocket included),
/// no inline code, no framing.
fn content_security_policy(host: Option<&str>) -> String {
    let sockets = host.map(|h| format!(" ws://{h} wss://{h}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; \
         connect-src 'self'{sockets}; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// A `Host` header fit to be echoed into the policy (host names, IPv4/IPv6 literals and a port).
fn safe_host(headers: &HeaderMap) -> Option<&str> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let ok = !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    ok.then_some(host)
}

fn with_security_headers(mut resp: Response, req: &HeaderMap) -> Response {
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_security_policy(safe_host(req))) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_star() {
        let tag = "W/\"abc\"";
        let hv = |s: &'static str| HeaderValue::from_static(s);
        assert!(if_none_match_matches(Some(&hv("\"abc\"")), tag));
        assert!(if_none_match_matches(Some(&hv("\"x\", W/\"abc\"")), tag));
        assert!(if_none_match_matches(Some(&hv("*")), tag));
        assert!(!if_none_match_matches(Some(&hv("\"abd\"")), tag));
        assert!(!if_none_match_matches(None, tag));
    }

    #[test]
    fn an_unsafe_host_is_not_echoed_into_the_policy() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("evil.example; script-src *"));
        assert_eq!(safe_host(&headers), None);
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:18000"));
        assert_eq!(safe_host(&headers), Some("127.0.0.1:18000"));
    }

    #[test]
    fn every_embedded_file_has_a_known_content_type() {
        for path in Assets::iter() {
            assert!(content_type(&path).is_some(), "{path} has no explicit content type");
        }
    }
}
