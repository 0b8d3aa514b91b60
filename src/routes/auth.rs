//! Accounts (`/api/auth`): register, login, refresh, logout and the own account. User
//! administration (`/api/auth/users`) is `users.rs`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::auth::extractor::OptionalUser;
use crate::auth::jwt::{JwtKeys, Subject, TokenKind};
use crate::config::DefaultRole;
use crate::db;
use crate::db::tokens::NewRefresh;
use crate::db::users::{NewUser, UserChange};
use crate::domain::role::Role;
use crate::domain::time::format_unix;
use crate::domain::user::{AccountUpdate, Login, Registration, User, UserRow};
use crate::domain::validation::FieldReader;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::JsonBody;
use crate::routes::schemas::Message;
use crate::service::write::Reply;
use crate::state::AppState;

/// `POST /api/auth/register` (rate class register).
pub fn register_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(register))
}

/// `login` and `refresh` (rate class login).
pub fn login_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(refresh))
}

/// Logout and the own account (rate class general).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(logout)).routes(routes!(get_me, update_me))
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct RegisterRequest {
    /// 3..50 of `[a-z0-9_-]` (lowercased).
    username: String,
    email: String,
    /// 8..128 characters with an uppercase letter, a lowercase letter and a digit.
    password: String,
    /// Honoured only for an admin caller.
    role: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct LoginRequest {
    #[schema(min_length = 1, pattern = r"\S")]
    username: String,
    #[schema(min_length = 1)]
    password: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct RefreshRequest {
    #[schema(min_length = 1, pattern = r"\S")]
    refresh_token: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct UpdateMeRequest {
    email: Option<String>,
    password: Option<String>,
    current_password: Option<String>,
}

/// An access and refresh token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub refresh_expires_in: u64,
}

/// The role a new account gets when none is chosen (shared with the admin's user creation).
pub(crate) fn default_role(role: DefaultRole) -> Role {
    match role {
        DefaultRole::Viewer => Role::Viewer,
        DefaultRole::Agent => Role::Agent,
        DefaultRole::Pm => Role::Pm,
    }
}

/// Create an account: the first user ever becomes admin; a `role` is honoured only for an admin.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = User), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    OptionalUser(admin): OptionalUser,
    body: JsonBody,
) -> ApiResult<Reply> {
    if !state.config.auth.registration_enabled {
        return Err(ApiError::Refused { code: "REGISTRATION_DISABLED", message: "Registration is disabled".into() });
    }
    let reg = Registration::parse(&body.value).map_err(ApiError::Validation)?;
    let requested = reg.role.filter(|_| admin.as_ref().is_some_and(|a| a.role == Role::Admin));
    let fallback = requested.unwrap_or_else(|| default_role(state.config.auth.default_role));
    let hash = state.auth.passwords.hash(reg.password).await?;
    let user = state
        .writer
        .run(move |conn, ctx| {
            Box::pin(async move {
                // Decided inside the transaction: two concurrent first registrations cannot both
                // become admin.
                let role = if db::users::none_exist(conn).await? { Role::Admin } else { fallback };
                let new =
                    NewUser { username: &reg.username, email: &reg.email, password_hash: &hash, role: role.as_str() };
                db::users::insert(conn, new, &ctx.now).await
            })
        })
        .await?;
    Reply::with_status(StatusCode::CREATED, User::from(&user))
}

/// Issue a new pair in refresh family `fam` and store the refresh token.
async fn issue_pair(
    conn: &mut sqlx::SqliteConnection,
    keys: &JwtKeys,
    user: &UserRow,
    fam: &str,
    now: &str,
) -> ApiResult<TokenPair> {
    let subject = Subject { id: user.id, username: &user.username, role: user.role() };
    let (access, _) = keys.issue(&subject, TokenKind::Access, fam).map_err(ApiError::internal)?;
    let (refresh, claims) = keys.issue(&subject, TokenKind::Refresh, fam).map_err(ApiError::internal)?;
    let expires = format_unix(claims.exp);
    let new = NewRefresh { user_id: user.id, family_id: fam, token: &refresh, expires_at: &expires };
    db::tokens::insert(conn, new, now).await?;
    Ok(TokenPair {
        access_token: access,
        refresh_token: refresh,
        token_type: "bearer",
        expires_in: keys.access_ttl.as_secs(),
        refresh_expires_in: keys.refresh_ttl.as_secs(),
    })
}

/// Exchange a username and password for tokens (starts a new refresh family).
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(State(state): State<AppState>, body: JsonBody) -> ApiResult<axum::Json<TokenPair>> {
    let creds = Login::parse(&body.value).map_err(ApiError::Validation)?;
    let user = db::users::by_username(&state.db, &creds.username).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    if !state.auth.passwords.verify(creds.password, hash).await? {
        return Err(ApiError::AuthFailed {
            code: "INVALID_CREDENTIALS",
            message: "Incorrect username or password".into(),
        });
    }
    let user = user.ok_or_else(|| ApiError::internal("verified password without a user"))?;
    if !user.is_active {
        return Err(ApiError::Refused { code: "ACCOUNT_INACTIVE", message: "Account is inactive".into() });
    }
    let keys = state.auth.keys.clone();
    let pair = state
        .writer
        .run(move |conn, ctx| {
            Box::pin(async move {
                db::users::set_last_login(conn, user.id, &ctx.now).await?;
                let fam = uuid::Uuid::new_v4().to_string();
                issue_pair(conn, &keys, &user, &fam, &ctx.now).await
            })
        })
        .await?;
    Ok(axum::Json(pair))
}

fn invalid_refresh() -> ApiError {
    ApiError::AuthFailed { code: "INVALID_TOKEN", message: "Invalid or expired refresh token".into() }
}

/// What a refresh attempt found; a reuse must commit its revocation, so it is not an `Err`.
enum Refreshed {
    Pair(TokenPair),
    Rejected,
}

/// Rotate a refresh token: a new pair in the same family. Reusing a rotated token revokes the family.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn refresh(State(state): State<AppState>, body: JsonBody) -> ApiResult<axum::Json<TokenPair>> {
    let token = parse_refresh_token(&body.value)?;
    let claims = state.auth.keys.verify(&token, TokenKind::Refresh).ok_or_else(invalid_refresh)?;
    let keys = state.auth.keys.clone();
    let outcome = state
        .writer
        .run(move |conn, ctx| {
            Box::pin(async move {
                let Some(row) = db::tokens::find(conn, &token).await? else { return Ok(Refreshed::Rejected) };
                if row.used_at.is_some() {
                    tracing::warn!(user_id = row.user_id, "refresh token reuse detected; revoking its family");
                    db::tokens::revoke_family(conn, &row.family_id, &ctx.now).await?;
                    return Ok(Refreshed::Rejected);
                }
                if row.revoked_at.is_some() || row.expires_at <= ctx.now || row.family_id != claims.fam {
                    return Ok(Refreshed::Rejected);
                }
                let Some(user) = db::users::by_id(&mut *conn, row.user_id).await?.filter(|u| u.is_active) else {
                    return Ok(Refreshed::Rejected);
                };
                db::tokens::mark_used(conn, row.id, &ctx.now).await?;
                Ok(Refreshed::Pair(issue_pair(conn, &keys, &user, &row.family_id, &ctx.now).await?))
            })
        })
        .await?;
    match outcome {
        Refreshed::Pair(pair) => Ok(axum::Json(pair)),
        Refreshed::Rejected => Err(invalid_refresh()),
    }
}

fn parse_refresh_token(body: &Value) -> ApiResult<String> {
    let mut r = FieldReader::body(body).map_err(ApiError::Validation)?;
    let token = r.required_string("refresh_token");
    if token.as_deref() == Some("") {
        r.push("refresh_token", "string_too_short", "must not be blank");
    }
    match token {
        Some(t) => r.finish(t).map_err(ApiError::Validation),
        None => Err(ApiError::Validation(r.errors)),
    }
}

/// Log out: the access token is denylisted until it expires and its refresh family is revoked.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", security(("bearerAuth" = [])),
    responses((status = 200, body = Message), (status = 401, body = ErrorBody)))]
async fn logout(State(state): State<AppState>, caller: Caller) -> ApiResult<Reply> {
    let user = caller.require_user()?.clone();
    state
        .writer
        .run(move |conn, ctx| {
            Box::pin(async move {
                let expires = format_unix(user.claims.exp);
                db::tokens::deny_access(conn, &user.claims.jti, user.id, &expires).await?;
                db::tokens::revoke_family(conn, &user.claims.fam, &ctx.now).await
            })
        })
        .await?;
    Reply::message("Successfully logged out")
}

/// The caller's account.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth", security(("bearerAuth" = [])),
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
async fn get_me(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<User>> {
    let me = caller.require_user()?;
    Ok(axum::Json(User::from(&db::users::get(&state.db, me.id).await?)))
}

/// Change the caller's email and/or password (the password needs `current_password`).
#[utoipa::path(put, path = "/api/auth/me", tag = "auth", security(("bearerAuth" = [])), request_body = UpdateMeRequest,
    responses((status = 200, body = User), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_me(State(state): State<AppState>, caller: Caller, body: JsonBody) -> ApiResult<axum::Json<User>> {
    let me = caller.require_user()?.id;
    let upd = AccountUpdate::parse(&body.value).map_err(ApiError::Validation)?;
    if upd.touches_is_active {
        return Err(ApiError::Forbidden("Use PUT /api/auth/users/{user_id} to change is_active".into()));
    }
    let new_hash = match (upd.password, upd.current_password) {
        (Some(password), Some(current)) => {
            let stored = db::users::get(&state.db, me).await?.password_hash;
            if !state.auth.passwords.verify(current, Some(stored)).await? {
                return Err(ApiError::Forbidden("Current password is incorrect".into()));
            }
            Some(state.auth.passwords.hash(password).await?)
        }
        _ => None,
    };
    let email = upd.email;
    let user = state
        .writer
        .run(move |conn, ctx| {
            Box::pin(async move {
                let row = db::users::get(&mut *conn, me).await?;
                let email = email.filter(|e| *e != row.email);
                if email.is_none() && new_hash.is_none() {
                    return Ok(row);
                }
                let change =
                    UserChange { email: email.as_deref(), password_hash: new_hash.as_deref(), ..Default::default() };
                let updated = db::users::update(conn, me, change, &ctx.now).await?;
                if new_hash.is_some() {
                    db::tokens::revoke_user(conn, me, &ctx.now).await?;
                }
                Ok(updated)
            })
        })
        .await?;
    Ok(axum::Json(User::from(&user)))
}
