//! `users`: accounts. Uniqueness violations become `USERNAME_TAKEN` / `EMAIL_TAKEN` here.

use sqlx::{SqliteConnection, SqliteExecutor};

use crate::domain::user::UserRow;
use crate::error::{ApiError, ApiResult};

const COLUMNS: &str = "id, username, email, password_hash, role, is_active, created_at, updated_at, last_login";

pub async fn by_id<'e, E: SqliteExecutor<'e>>(executor: E, id: i64) -> ApiResult<Option<UserRow>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM users WHERE id = ?"));
    Ok(sqlx::query_as::<_, UserRow>(sql).bind(id).fetch_optional(executor).await?)
}

pub async fn by_username<'e, E: SqliteExecutor<'e>>(executor: E, username: &str) -> ApiResult<Option<UserRow>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM users WHERE username = ?"));
    Ok(sqlx::query_as::<_, UserRow>(sql).bind(username).fetch_optional(executor).await?)
}

/// One user, or 404 "User not found".
pub async fn get<'e, E: SqliteExecutor<'e>>(executor: E, id: i64) -> ApiResult<UserRow> {
    by_id(executor, id).await?.ok_or_else(|| ApiError::not_found("User"))
}

pub async fn list<'e, E: SqliteExecutor<'e>>(executor: E) -> ApiResult<Vec<UserRow>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM users ORDER BY id"));
    Ok(sqlx::query_as::<_, UserRow>(sql).fetch_all(executor).await?)
}

/// Whether no account exists yet (the first registration becomes admin). Reads the largest id,
/// which SQLite answers from the end of the table instead of counting it.
pub async fn none_exist(conn: &mut SqliteConnection) -> ApiResult<bool> {
    let max: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM users").fetch_one(&mut *conn).await?;
    Ok(max.is_none())
}

pub async fn active_admins(conn: &mut SqliteConnection) -> ApiResult<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'admin' AND is_active = 1")
        .fetch_one(&mut *conn)
        .await?)
}

fn unique_violation(e: sqlx::Error) -> ApiError {
    let message = e.as_database_error().map(|d| d.message().to_owned()).unwrap_or_default();
    if message.contains("users.username") {
        ApiError::Conflict { code: "USERNAME_TAKEN", message: "Username already registered".into() }
    } else if message.contains("users.email") {
        ApiError::Conflict { code: "EMAIL_TAKEN", message: "Email already registered".into() }
    } else {
        ApiError::from(e)
    }
}

/// A user to insert.
pub struct NewUser<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
}

pub async fn insert(conn: &mut SqliteConnection, new: NewUser<'_>, now: &str) -> ApiResult<UserRow> {
    let sql = sqlx::AssertSqlSafe(format!(
        "INSERT INTO users (username, email, password_hash, role, is_active, created_at, updated_at)
         VALUES (?, ?, ?, ?, 1, ?, ?) RETURNING {COLUMNS}"
    ));
    sqlx::query_as::<_, UserRow>(sql)
        .bind(new.username)
        .bind(new.email)
        .bind(new.password_hash)
        .bind(new.role)
        .bind(now)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(unique_violation)
}

/// Fields of a user change; `None` leaves a field as it is.
#[derive(Default)]
pub struct UserChange<'a> {
    pub email: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub role: Option<&'a str>,
    pub is_active: Option<bool>,
}

/// Apply a change and bump `updated_at` (callers only pass real changes).
pub async fn update(conn: &mut SqliteConnection, id: i64, change: UserChange<'_>, now: &str) -> ApiResult<UserRow> {
    let sql = sqlx::AssertSqlSafe(format!(
        "UPDATE users SET email = coalesce(?, email), password_hash = coalesce(?, password_hash),
                role = coalesce(?, role), is_active = coalesce(?, is_active), updated_at = ?
         WHERE id = ? RETURNING {COLUMNS}"
    ));
    sqlx::query_as::<_, UserRow>(sql)
        .bind(change.email)
        .bind(change.password_hash)
        .bind(change.role)
        .bind(change.is_active)
        .bind(now)
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .map_err(unique_violation)
}

pub async fn set_last_login(conn: &mut SqliteConnection, id: i64, now: &str) -> ApiResult<()> {
    sqlx::query("UPDATE users SET last_login = ? WHERE id = ?").bind(now).bind(id).execute(&mut *conn).await?;
    Ok(())
}

pub async fn delete(conn: &mut SqliteConnection, id: i64) -> ApiResult<()> {
    sqlx::query("DELETE FROM users WHERE id = ?").bind(id).execute(&mut *conn).await?;
    Ok(())
}
