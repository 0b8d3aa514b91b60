//! Anonymous username sessions (`/api/users/session`): labels stored in the database. Starting one
//! needs the role every read needs (viewer): with `auth.anonymous_role = "none"` a caller without a
//! token is refused, so rows cannot be created by nobody in particular. Reading, renaming and
//! ending the session named by the request stay public: they create nothing.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::auth::extractor::{session_active_since, session_id};
use crate::db;
use crate::domain::role::Role;
use crate::domain::session::{AnonSession, parse_session_username};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::JsonBody;
use crate::routes::schemas::{Message, SessionRequest};
use crate::service::write::Reply;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_session, get_session, rename_session, delete_session))
}

fn no_session() -> ApiError {
    ApiError::NotFound("No active session found".into())
}

fn cookie(state: &AppState, value: &str, max_age: i64) -> String {
    let secure = if state.config.auth.cookie_secure { "; Secure" } else { "" };
    format!("session_id={value}; HttpOnly; SameSite=Lax; Max-Age={max_age}; Path=/{secure}")
}

fn with_cookie(reply: Reply, cookie: String) -> Response {
    let mut resp = reply.into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// Start a session under a display name (viewer: anonymous callers need `auth.anonymous_role`);
/// sets the `session_id` cookie.
#[utoipa::path(post, path = "/api/users/session", tag = "sessions", request_body = SessionRequest,
    security(("bearerAuth" = ["viewer"])),
    responses((status = 200, body = AnonSession), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_session(State(state): State<AppState>, caller: Caller, body: JsonBody) -> ApiResult<Response> {
    caller.require(Role::Viewer)?;
    let username = parse_session_username(&body.value).map_err(ApiError::Validation)?;
    let id = uuid::Uuid::new_v4().to_string();
    let session = state
        .writer
        .run(move |conn, ctx| Box::pin(async move { db::sessions::create(conn, &id, &username, &ctx.now).await }))
        .await?;
    let cookie = cookie(&state, &session.session_id, 604_800);
    Ok(with_cookie(Reply::ok(session)?, cookie))
}

async fn touch(state: &AppState, headers: &HeaderMap, rename: Option<String>) -> ApiResult<AnonSession> {
    let id = session_id(headers).ok_or_else(no_session)?;
    let since = session_active_since(state.config.auth.anonymous_session_idle_days);
    let session = state
        .writer
        .run(move |conn, ctx| {
            Box::pin(async move { db::sessions::touch(conn, &id, rename.as_deref(), &since, &ctx.now).await })
        })
        .await?;
    session.ok_or_else(no_session)
}

/// The current session (cookie `session_id` or header `X-Session-Id`); refreshes its activity.
#[utoipa::path(get, path = "/api/users/session", tag = "sessions",
    responses((status = 200, body = AnonSession), (status = 404, body = ErrorBody)))]
async fn get_session(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<axum::Json<AnonSession>> {
    Ok(axum::Json(touch(&state, &headers, None).await?))
}

/// Change the current session's display name.
#[utoipa::path(put, path = "/api/users/session", tag = "sessions", request_body = SessionRequest,
    responses((status = 200, body = AnonSession), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn rename_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: JsonBody,
) -> ApiResult<axum::Json<AnonSession>> {
    let username = parse_session_username(&body.value).map_err(ApiError::Validation)?;
    Ok(axum::Json(touch(&state, &headers, Some(username)).await?))
}

/// End the current session (always 200) and clear the cookie.
#[utoipa::path(delete, path = "/api/users/session", tag = "sessions", responses((status = 200, body = Message)))]
async fn delete_session(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(id) = session_id(&headers) {
        state.writer.run(move |conn, _ctx| Box::pin(async move { db::sessions::delete(conn, &id).await })).await?;
    }
    Ok(with_cookie(Reply::message("Session deleted successfully")?, cookie(&state, "", 0)))
}
