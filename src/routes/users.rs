//! User administration (`/api/auth/users`, admin only): list, create with a role, change role or
//! active flag, delete.
//! The last active admin can be neither demoted, deactivated nor deleted.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::db;
use crate::db::users::{NewUser, UserChange};
use crate::domain::role::Role;
use crate::domain::user::{Registration, User, UserAdminUpdate, UserRow};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, UserId};
use crate::routes::schemas::Message;
use crate::service::write::Reply;
use crate::state::AppState;

/// The user administration routes (rate class general).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_users, create_user)).routes(routes!(update_user, delete_user))
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct CreateUserRequest {
    /// 3..50 of `[a-z0-9_-]` (lowercased).
    username: String,
    email: String,
    /// 8..128 characters with an uppercase letter, a lowercase letter and a digit.
    password: String,
    /// One of admin, pm, agent, viewer; absent or null means `auth.default_role`.
    role: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct UpdateUserRequest {
    role: Option<String>,
    is_active: Option<bool>,
}

/// Every user, ordered by id (admin).
#[utoipa::path(get, path = "/api/auth/users", tag = "auth", security(("bearerAuth" = ["admin"])),
    responses((status = 200, body = Vec<User>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_users(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Vec<User>>> {
    caller.require(Role::Admin)?;
    Ok(axum::Json(db::users::list(&state.db).await?.iter().map(User::from).collect()))
}

/// Create an account with a role (admin), whether or not self-registration is enabled. The body
/// follows the registration rules; a missing `role` means `auth.default_role`.
#[utoipa::path(post, path = "/api/auth/users", tag = "auth", security(("bearerAuth" = ["admin"])),
    request_body = CreateUserRequest,
    responses((status = 201, body = User), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_user(State(state): State<AppState>, caller: Caller, body: JsonBody) -> ApiResult<Reply> {
    caller.require(Role::Admin)?;
    let reg = Registration::parse(&body.value).map_err(ApiError::Validation)?;
    let role = reg.role.unwrap_or_else(|| super::auth::default_role(state.config.auth.default_role));
    let hash = state.auth.passwords.hash(reg.password).await?;
    let user = state
        .writer
        .run(move |conn, ctx| {
            Box::pin(async move {
                let new =
                    NewUser { username: &reg.username, email: &reg.email, password_hash: &hash, role: role.as_str() };
                db::users::insert(conn, new, &ctx.now).await
            })
        })
        .await?;
    Reply::with_status(StatusCode::CREATED, User::from(&user))
}

fn last_admin() -> ApiError {
    ApiError::Conflict {
        code: "LAST_ADMIN",
        message: "The last active admin cannot be demoted, deactivated or deleted".into(),
    }
}

/// Whether `row` is an active admin and the only one.
async fn is_last_admin(conn: &mut sqlx::SqliteConnection, row: &UserRow) -> ApiResult<bool> {
    Ok(row.role == "admin" && row.is_active && db::users::active_admins(conn).await? <= 1)
}

/// Change a user's role or active flag (admin). Deactivation revokes their refresh tokens.
#[utoipa::path(put, path = "/api/auth/users/{user_id}", tag = "auth", security(("bearerAuth" = ["admin"])),
    params(("user_id" = i64, Path)), request_body = UpdateUserRequest,
    responses((status = 200, body = User), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    UserId(id): UserId,
    body: JsonBody,
) -> ApiResult<axum::Json<User>> {
    caller.require(Role::Admin)?;
    let upd = UserAdminUpdate::parse(&body.value).map_err(ApiError::Validation)?;
    let user = state
        .writer
        .run(move |conn, ctx| {
            Box::pin(async move {
                let row = db::users::get(&mut *conn, id).await?;
                let role = upd.role.map(Role::as_str).filter(|r| *r != row.role);
                let is_active = upd.is_active.filter(|a| *a != row.is_active);
                if role.is_none() && is_active.is_none() {
                    return Ok(row);
                }
                let loses_admin = role.is_some() || is_active == Some(false);
                if loses_admin && is_last_admin(conn, &row).await? {
                    return Err(last_admin());
                }
                let updated =
                    db::users::update(conn, id, UserChange { role, is_active, ..Default::default() }, &ctx.now).await?;
                if is_active == Some(false) {
                    db::tokens::revoke_user(conn, id, &ctx.now).await?;
                }
                Ok(updated)
            })
        })
        .await?;
    if !user.is_active {
        state.hub.close_user(user.id);
    }
    Ok(axum::Json(User::from(&user)))
}

/// Delete a user (admin); their refresh tokens cascade and their access tokens stop working.
#[utoipa::path(delete, path = "/api/auth/users/{user_id}", tag = "auth", security(("bearerAuth" = ["admin"])),
    params(("user_id" = i64, Path)),
    responses((status = 200, body = Message), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_user(State(state): State<AppState>, caller: Caller, UserId(id): UserId) -> ApiResult<Reply> {
    caller.require(Role::Admin)?;
    state
        .writer
        .run(move |conn, _ctx| {
            Box::pin(async move {
                let row = db::users::get(&mut *conn, id).await?;
                if is_last_admin(conn, &row).await? {
                    return Err(last_admin());
                }
                db::users::delete(conn, id).await
            })
        })
        .await?;
    state.hub.close_user(id);
    Reply::message("User deleted successfully")
}
