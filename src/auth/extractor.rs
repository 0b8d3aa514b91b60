//! The `Caller` extractor: resolves every request to an authenticated user or an anonymous actor
//! (`auth.md` §3, `api.md` 1.11), and checks a route's minimum role.
//!
//! A request carrying `Authorization` must present a valid access token of an existing, active
//! user (401 otherwise, even when anonymous access is on); the role is read from the database on
//! every request, so role changes and deactivation apply at once.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use chrono::Utc;

use super::jwt::{Claims, TokenKind};
use crate::db;
use crate::domain::role::Role;
use crate::domain::time::format_ts;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// An authenticated account.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: i64,
    pub username: String,
    /// The role stored now (the token's `role` claim is informational).
    pub role: Role,
    /// The verified access token's claims (`jti`, `exp` and `fam` serve logout).
    pub claims: Claims,
}

/// The resolved caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: Option<AuthUser>,
    /// Effective role: the user's, else the anonymous role (None: anonymous access is off).
    pub role: Option<Role>,
    /// A real anonymous name: the session's username, else `X-Username`.
    pub anonymous_name: Option<String>,
    /// Whose idempotency keys an anonymous caller shares: `session:<id>` for a live anonymous
    /// session, else `ip:<client address>` (see [`Caller::seen_from`]); `None` for users.
    pub anonymous_scope: Option<String>,
}

impl Caller {
    /// 401 for anonymous callers without the role, 403 for authenticated ones.
    pub fn require(&self, min: Role) -> ApiResult<()> {
        match (self.role, &self.user) {
            (Some(role), _) if role >= min => Ok(()),
            (_, None) => Err(ApiError::Unauthorized("Authentication required".into())),
            (_, Some(_)) => Err(ApiError::Forbidden(format!("Requires role {} or higher", min.as_str()))),
        }
    }

    /// Own-account routes (`any`): an authenticated user; anonymous callers get 401.
    pub fn require_user(&self) -> ApiResult<&AuthUser> {
        self.user.as_ref().ok_or_else(|| ApiError::Unauthorized("Authentication required".into()))
    }

    pub fn has_role(&self, min: Role) -> bool {
        self.role.is_some_and(|r| r >= min)
    }

    /// Scope of idempotency keys: `user:<id>`; for anonymous callers `anon:session:<id>` or
    /// `anon:ip:<address>`, so two anonymous clients reusing a key never see each other's reply.
    /// Plain `anon` only for a caller resolved without its connection (no HTTP request reaches a
    /// keyed write that way).
    pub fn principal(&self) -> String {
        match (&self.user, &self.anonymous_scope) {
            (Some(u), _) => format!("user:{}", u.id),
            (None, Some(scope)) => format!("anon:{scope}"),
            (None, None) => "anon".to_owned(),
        }
    }

    /// An anonymous caller without a live session is scoped by the request's client address (the
    /// peer, or the trusted proxies' `X-Forwarded-For`), as the rate limiter keys it.
    pub fn seen_from(mut self, state: &AppState, parts: &Parts) -> Caller {
        if self.user.is_none() && self.anonymous_scope.is_none() {
            let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
            let client = peer.map(|ip: IpAddr| state.proxies.client_ip(ip, &parts.headers));
            self.anonymous_scope = client.map(|ip| format!("ip:{ip}"));
        }
        self
    }

    pub fn username(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.username.as_str())
    }

    /// The actor name: username, else session username / `X-Username`, else `"anonymous"`.
    pub fn actor_name(&self) -> &str {
        self.username().or(self.anonymous_name.as_deref()).unwrap_or("anonymous")
    }

    /// `changed_by` of history rows: the username; else the body's attribution field; else the
    /// anonymous actor's real name; else `"system"`.
    pub fn changed_by(&self, attribution: Option<&str>) -> String {
        self.username().or(attribution).or(self.anonymous_name.as_deref()).unwrap_or("system").to_owned()
    }
}

/// Verify a bearer access token: signature, expiry and `typ`, not denylisted, and its user exists
/// and is active.
pub async fn verify_bearer(state: &AppState, token: &str) -> ApiResult<AuthUser> {
    let invalid = || ApiError::Unauthorized("Invalid or expired token".into());
    let claims = state.auth.keys.verify(token, TokenKind::Access).ok_or_else(invalid)?;
    let id = claims.user_id().ok_or_else(invalid)?;
    if db::tokens::is_denied(&state.db, &claims.jti).await? {
        return Err(invalid());
    }
    let user = db::users::by_id(&state.db, id).await?.filter(|u| u.is_active).ok_or_else(invalid)?;
    crate::telemetry::note_user(user.id);
    Ok(AuthUser { id: user.id, role: user.role(), username: user.username, claims })
}

/// The bearer token of a request, if an `Authorization` header is present (Err: malformed).
pub fn bearer_token(headers: &HeaderMap) -> ApiResult<Option<&str>> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else { return Ok(None) };
    let malformed = || ApiError::Unauthorized("Invalid authorization header".into());
    let text = value.to_str().map_err(|_| malformed())?;
    match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(Some(token.trim()))
        }
        _ => Err(malformed()),
    }
}

/// On public routes: the user of a valid token, else nobody (a bad token counts as absent).
pub struct OptionalUser(pub Option<AuthUser>);

impl FromRequestParts<AppState> for OptionalUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let Ok(Some(token)) = bearer_token(&parts.headers) else { return Ok(OptionalUser(None)) };
        match verify_bearer(state, token).await {
            Ok(user) => Ok(OptionalUser(Some(user))),
            Err(ApiError::Unauthorized(_)) => Ok(OptionalUser(None)),
            Err(e) => Err(e),
        }
    }
}

/// The anonymous session id: cookie `session_id` wins over header `X-Session-Id`.
pub fn session_id(headers: &HeaderMap) -> Option<String> {
    let from_cookie = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == "session_id")
        .map(|(_, value)| value.trim().to_owned());
    from_cookie
        .or_else(|| headers.get("x-session-id").and_then(|v| v.to_str().ok()).map(|s| s.trim().to_owned()))
        .filter(|s| !s.is_empty())
}

/// The oldest `last_activity` a session may have and still resolve.
pub fn session_active_since(idle_days: u32) -> String {
    format_ts(Utc::now() - chrono::Duration::days(i64::from(idle_days)))
}

/// Keep a used session alive. At most one write a minute per session, sent to the writer without
/// awaiting it: labelling a request must not wait for (or fail with) a bookkeeping write.
fn refresh_session_activity(state: &AppState, id: String, last_activity: &str) {
    let stale = crate::domain::time::parse_rfc3339(last_activity)
        .is_none_or(|t| Utc::now() - t > chrono::Duration::seconds(60));
    if !stale {
        return;
    }
    let writer = state.writer.clone();
    let since = session_active_since(state.config.auth.anonymous_session_idle_days);
    tokio::spawn(async move {
        let touched = writer
            .run(move |conn, ctx| Box::pin(async move { db::sessions::touch(conn, &id, None, &since, &ctx.now).await }))
            .await;
        if let Err(e) = touched {
            tracing::warn!(error = %e, "could not refresh an anonymous session");
        }
    });
}

/// An anonymous caller's name and, with a live session, its idempotency scope.
async fn anonymous_identity(state: &AppState, headers: &HeaderMap) -> ApiResult<(Option<String>, Option<String>)> {
    if let Some(id) = session_id(headers) {
        let since = session_active_since(state.config.auth.anonymous_session_idle_days);
        if let Some((username, last_activity)) = db::sessions::find_active(&state.db, &id, &since).await? {
            let scope = format!("session:{id}");
            refresh_session_activity(state, id, &last_activity);
            return Ok((Some(username), Some(scope)));
        }
    }
    let header = headers.get("x-username").and_then(|v| v.to_str().ok()).map(str::trim);
    Ok((header.filter(|n| (1..=100).contains(&n.chars().count())).map(str::to_owned), None))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Caller> {
        let token = bearer_token(&parts.headers)?;
        Ok(resolve_caller(state, &parts.headers, token).await?.seen_from(state, parts))
    }
}

/// Resolve the caller from a bearer token when one is given (it must verify), else as anonymous
/// (scoped by its session; [`Caller::seen_from`] adds the client address otherwise).
pub async fn resolve_caller(state: &AppState, headers: &HeaderMap, token: Option<&str>) -> ApiResult<Caller> {
    if let Some(token) = token {
        let user = verify_bearer(state, token).await?;
        return Ok(Caller { role: Some(user.role), user: Some(user), anonymous_name: None, anonymous_scope: None });
    }
    let (anonymous_name, anonymous_scope) = anonymous_identity(state, headers).await?;
    let role = Role::for_anonymous(state.config.auth.anonymous_role);
    Ok(Caller { user: None, role, anonymous_name, anonymous_scope })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anon(role: Option<Role>, name: Option<&str>) -> Caller {
        Caller { user: None, role, anonymous_name: name.map(str::to_owned), anonymous_scope: None }
    }

    #[test]
    fn anonymous_without_the_role_gets_401_and_users_403() {
        assert!(matches!(anon(None, None).require(Role::Viewer), Err(ApiError::Unauthorized(_))));
        assert!(matches!(anon(Some(Role::Viewer), None).require(Role::Pm), Err(ApiError::Unauthorized(_))));
        let claims = Claims {
            sub: "1".into(),
            username: "a".into(),
            role: "agent".into(),
            iat: 0,
            nbf: 0,
            exp: 0,
            jti: "j".into(),
            typ: TokenKind::Access,
            fam: "f".into(),
        };
        let user = Caller {
            user: Some(AuthUser { id: 1, username: "a".into(), role: Role::Agent, claims }),
            role: Some(Role::Agent),
            anonymous_name: None,
            anonymous_scope: None,
        };
        assert!(matches!(user.require(Role::Pm), Err(ApiError::Forbidden(m)) if m == "Requires role pm or higher"));
        assert!(user.require(Role::Agent).is_ok());
    }

    #[test]
    fn attribution_prefers_the_user_then_the_body_then_the_anonymous_name() {
        assert_eq!(anon(Some(Role::Pm), None).changed_by(None), "system");
        assert_eq!(anon(Some(Role::Pm), Some("zed")).changed_by(None), "zed");
        assert_eq!(anon(Some(Role::Pm), Some("zed")).changed_by(Some("bob")), "bob");
        assert_eq!(anon(Some(Role::Pm), None).actor_name(), "anonymous");
    }

    #[test]
    fn anonymous_idempotency_scopes_are_per_session_or_address_and_users_keep_theirs() {
        let scoped = |scope: &str| Caller { anonymous_scope: Some(scope.into()), ..anon(Some(Role::Pm), None) };
        assert_eq!(scoped("session:abc").principal(), "anon:session:abc");
        assert_eq!(scoped("ip:192.0.2.7").principal(), "anon:ip:192.0.2.7");
        assert_ne!(scoped("ip:192.0.2.7").principal(), scoped("ip:192.0.2.8").principal());
        assert_eq!(anon(Some(Role::Pm), None).principal(), "anon");
    }

    #[test]
    fn session_cookie_wins_over_header() {
        let mut h = HeaderMap::new();
        h.insert("x-session-id", "hdr".parse().expect("header"));
        assert_eq!(session_id(&h).as_deref(), Some("hdr"));
        h.insert("cookie", "a=1; session_id=ck".parse().expect("header"));
        assert_eq!(session_id(&h).as_deref(), Some("ck"));
    }
}
