//! The housekeeping job: expired idempotency records, denylisted access tokens, refresh tokens
//! past their grace and idle anonymous sessions are deleted in bounded batches and counted in
//! `/metrics`; rate limiters forget clients whose window has passed.
//!
//! Rows expire in days, so the passes that must delete something run through the test hook with a
//! clock set days ahead; the schedule itself is checked with a one-second interval.

use std::time::Duration;

use agent_kanban::config::Quota;
use agent_kanban::db::housekeeping::Expired;
use agent_kanban::jobs::HOUSEKEEPING_BATCH;
use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// The anonymous writes, sessions and tokens one scenario leaves behind.
struct Leftovers {
    /// An access token that was logged out (denylisted until it expires).
    logged_out: String,
    /// An anonymous session id.
    session: String,
}

/// Three keyed board creates, two anonymous sessions, and two logins: one refreshed then logged
/// out (one denylisted access token, two revoked refresh tokens), one left signed in (one live
/// refresh token).
async fn leave_rows_behind(app: &TestApp) -> Leftovers {
    for n in 1..=3 {
        let resp = keyed_board(app, &format!("key-{n}"), &format!("Keyed {n}")).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
    let session = ok(app.post("/api/users/session", &json!({"username": "visitor"})).await).await;
    ok(app.post("/api/users/session", &json!({"username": "other_visitor"})).await).await;
    let account = json!({"username": "keeper", "email": "keeper@example.com", "password": "Correct-Horse-1"});
    assert_eq!(app.post("/api/auth/register", &account).await.status(), StatusCode::CREATED);
    let first = login(app).await;
    login(app).await;
    let refreshed = ok(app.post("/api/auth/refresh", &json!({"refresh_token": first["refresh_token"]})).await).await;
    let logged_out = refreshed["access_token"].as_str().expect("access token").to_owned();
    let resp = app.request(Method::POST, "/api/auth/logout").bearer_auth(&logged_out).send().await.expect("logout");
    assert_eq!(resp.status(), StatusCode::OK);
    Leftovers { logged_out, session: session["session_id"].as_str().expect("session_id").to_owned() }
}

async fn login(app: &TestApp) -> Value {
    ok(app.post("/api/auth/login", &json!({"username": "keeper", "password": "Correct-Horse-1"})).await).await
}

async fn keyed_board(app: &TestApp, key: &str, name: &str) -> reqwest::Response {
    let req = app.request(Method::POST, "/api/boards/").header("Idempotency-Key", key).json(&json!({"name": name}));
    req.send().await.expect("POST /api/boards/")
}

fn replayed(resp: &reqwest::Response) -> bool {
    resp.headers().get("idempotency-replayed").is_some_and(|v| v == "true")
}

async fn session_status(app: &TestApp, session: &str) -> StatusCode {
    let resp = app.request(Method::GET, "/api/users/session").header("X-Session-Id", session).send().await;
    resp.expect("GET session").status()
}

async fn me_status(app: &TestApp, token: &str) -> StatusCode {
    app.request(Method::GET, "/api/auth/me").bearer_auth(token).send().await.expect("GET me").status()
}

fn deleted(purged: &agent_kanban::jobs::Purged, kind: Expired) -> u64 {
    purged.deleted.get(&kind).copied().unwrap_or_else(|| panic!("{kind:?} reported"))
}

/// The value of the sample `series` (name with its labels, as exposed) in `/metrics`, if any.
async fn metric(app: &TestApp, series: &str) -> Option<f64> {
    let text = app.get("/metrics").await.text().await.expect("metrics body");
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Scrape until `series` satisfies `done` (up to 20 s); returns its last value.
async fn metric_until(app: &TestApp, series: &str, done: impl Fn(f64) -> bool) -> f64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let value = metric(app, series).await.unwrap_or(f64::NAN);
        if done(value) {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "{series} stayed at {value}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_pass_now_deletes_nothing_that_is_still_in_use() {
    // Arrange
    let app = spawn_app().await;
    let left = leave_rows_behind(&app).await;

    // Act
    let purged = app.run_housekeeping(Utc::now(), HOUSEKEEPING_BATCH).await;

    // Assert: nothing deleted, and every row still does its job.
    assert!(purged.deleted.values().all(|n| *n == 0), "{purged:?}");
    assert_eq!(purged.deleted.len(), Expired::ALL.len());
    assert!(replayed(&keyed_board(&app, "key-1", "Keyed 1").await), "the stored reply is replayed");
    assert_eq!(session_status(&app, &left.session).await, StatusCode::OK);
    assert_eq!(me_status(&app, &left.logged_out).await, StatusCode::UNAUTHORIZED, "still denylisted");
    assert_eq!(metric(&app, "kanban_housekeeping_deleted_total{kind=\"idempotency_keys\"}").await, Some(0.0));
}

#[tokio::test]
async fn expired_rows_of_every_kind_are_deleted_in_bounded_batches_and_counted() {
    // Arrange
    let app = spawn_app().await;
    let left = leave_rows_behind(&app).await;

    // Act: nine days on, every row has expired (idempotency 24 h, access token 30 min, refresh
    // tokens 7 days + 1 day of grace, sessions idle 7 days); two rows per statement.
    let purged = app.run_housekeeping(Utc::now() + chrono::Duration::days(9), 2).await;

    // Assert
    assert_eq!(deleted(&purged, Expired::IdempotencyKeys), 3);
    assert_eq!(deleted(&purged, Expired::RevokedAccessTokens), 1);
    assert_eq!(deleted(&purged, Expired::RefreshTokens), 3);
    assert_eq!(deleted(&purged, Expired::AnonSessions), 2);
    // 3 rows: 2 + 1; 1: 1; 3: 2 + 1; 2: 2 + an empty batch that ends the loop.
    assert_eq!(purged.batches, 7);
    for (kind, n) in [("idempotency_keys", 3.0), ("revoked_access_tokens", 1.0), ("refresh_tokens", 3.0)] {
        let series = format!("kanban_housekeeping_deleted_total{{kind=\"{kind}\"}}");
        assert_eq!(metric(&app, &series).await, Some(n), "{series}");
    }
    assert_eq!(metric(&app, "kanban_housekeeping_deleted_total{kind=\"anon_sessions\"}").await, Some(2.0));
    assert_eq!(session_status(&app, &left.session).await, StatusCode::NOT_FOUND, "the session row is gone");
    let again = keyed_board(&app, "key-1", "Keyed 1").await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert!(!replayed(&again), "the key's record is gone, so the write runs again");
}

#[tokio::test]
async fn refresh_tokens_outlive_their_expiry_by_a_day_of_grace() {
    // Arrange
    let app = spawn_app().await;
    leave_rows_behind(&app).await;

    // Act: half a day after the live refresh token expires, then two days after.
    let within_grace =
        app.run_housekeeping(Utc::now() + chrono::Duration::hours(7 * 24 + 12), HOUSEKEEPING_BATCH).await;
    let past_grace = app.run_housekeeping(Utc::now() + chrono::Duration::days(9), HOUSEKEEPING_BATCH).await;

    // Assert: the two revoked today go first; the expired one waits out its day.
    assert_eq!(deleted(&within_grace, Expired::RefreshTokens), 2);
    assert_eq!(deleted(&past_grace, Expired::RefreshTokens), 1);
    assert_eq!(deleted(&within_grace, Expired::AnonSessions), 2, "idle for more than 7 days");
}

#[tokio::test]
async fn the_job_runs_every_housekeeping_interval() {
    // Arrange
    let app = spawn_app_with(|cfg| cfg.ops.housekeeping_interval_seconds = 1).await;

    // Act
    let runs = metric_until(&app, "kanban_housekeeping_runs_total", |v| v >= 2.0).await;

    // Assert
    assert!(runs >= 2.0);
    for kind in Expired::ALL {
        let series = format!("kanban_housekeeping_deleted_total{{kind=\"{}\"}}", kind.label());
        assert_eq!(metric(&app, &series).await, Some(0.0), "{series} declared");
    }
}

#[tokio::test]
async fn rate_limiters_forget_clients_once_their_window_has_passed() {
    // Arrange: one request every 2 s per client; five clients behind a trusted proxy.
    let app = spawn_app_with(|cfg| {
        cfg.rate_limit.enabled = true;
        cfg.rate_limit.general = Quota { count: 1, period: Duration::from_secs(2) };
        cfg.server.trusted_proxies = vec!["127.0.0.1".into()];
        cfg.ops.housekeeping_interval_seconds = 1;
    })
    .await;
    let keys = "kanban_rate_limiter_keys{class=\"general\"}";
    for n in 1..=5 {
        let req = app.request(Method::GET, "/api/boards/").header("X-Forwarded-For", format!("198.51.100.{n}"));
        assert_eq!(req.send().await.expect("GET").status(), StatusCode::OK);
    }

    // Act: the keys are kept while their quota replenishes, then pruned.
    let held = metric(&app, keys).await;
    let after = metric_until(&app, keys, |v| v == 0.0).await;

    // Assert
    assert_eq!(held, Some(5.0), "one key per client address");
    assert_eq!(after, 0.0);
    let req = app.request(Method::GET, "/api/boards/").header("X-Forwarded-For", "198.51.100.1");
    assert_eq!(req.send().await.expect("GET").status(), StatusCode::OK, "a forgotten client starts afresh");
}
