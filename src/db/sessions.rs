//! `anon_sessions`: anonymous username sessions.

use sqlx::{SqliteConnection, SqlitePool};

use crate::domain::session::AnonSession;
use crate::error::ApiResult;

/// The username and `last_activity` of a session active since `active_since`.
pub async fn find_active(pool: &SqlitePool, id: &str, active_since: &str) -> ApiResult<Option<(String, String)>> {
    let row = sqlx::query_as("SELECT username, last_activity FROM anon_sessions WHERE id = ? AND last_activity >= ?")
        .bind(id)
        .bind(active_since)
        .fetch_optional(pool)
        .await?;
    Ok(row)
}

pub async fn create(conn: &mut SqliteConnection, id: &str, username: &str, now: &str) -> ApiResult<AnonSession> {
    sqlx::query("INSERT INTO anon_sessions (id, username, created_at, last_activity) VALUES (?, ?, ?, ?)")
        .bind(id)
        .bind(username)
        .bind(now)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(AnonSession { username: username.to_owned(), session_id: id.to_owned(), created_at: now.to_owned() })
}

/// Refresh `last_activity` (and optionally rename) of a live session; `None` when it is gone.
pub async fn touch(
    conn: &mut SqliteConnection,
    id: &str,
    rename: Option<&str>,
    active_since: &str,
    now: &str,
) -> ApiResult<Option<AnonSession>> {
    let row = sqlx::query_as::<_, AnonSession>(
        "UPDATE anon_sessions SET last_activity = ?1, username = coalesce(?2, username)
         WHERE id = ?3 AND last_activity >= ?4
         RETURNING id AS session_id, username, created_at",
    )
    .bind(now)
    .bind(rename)
    .bind(id)
    .bind(active_since)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row)
}

pub async fn delete(conn: &mut SqliteConnection, id: &str) -> ApiResult<()> {
    sqlx::query("DELETE FROM anon_sessions WHERE id = ?").bind(id).execute(&mut *conn).await?;
    Ok(())
}
