//! `refresh_tokens` (stored as SHA-256 hashes, rotated, reuse-detected) and the access-token
//! denylist `revoked_access_tokens`.

use sha2::{Digest, Sha256};
use sqlx::{SqliteConnection, SqliteExecutor};

use crate::error::ApiResult;

/// Lowercase hex SHA-256 of the full token string: what is stored instead of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A stored refresh token.
#[derive(Debug, sqlx::FromRow)]
pub struct RefreshRow {
    pub id: i64,
    pub user_id: i64,
    pub family_id: String,
    pub expires_at: String,
    pub used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A refresh token to store.
pub struct NewRefresh<'a> {
    pub user_id: i64,
    pub family_id: &'a str,
    pub token: &'a str,
    pub expires_at: &'a str,
}

pub async fn insert(conn: &mut SqliteConnection, new: NewRefresh<'_>, now: &str) -> ApiResult<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (user_id, family_id, token_hash, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(new.user_id)
    .bind(new.family_id)
    .bind(token_hash(new.token))
    .bind(now)
    .bind(new.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn find(conn: &mut SqliteConnection, token: &str) -> ApiResult<Option<RefreshRow>> {
    let row = sqlx::query_as::<_, RefreshRow>(
        "SELECT id, user_id, family_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = ?",
    )
    .bind(token_hash(token))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row)
}

pub async fn mark_used(conn: &mut SqliteConnection, id: i64, now: &str) -> ApiResult<()> {
    sqlx::query("UPDATE refresh_tokens SET used_at = ? WHERE id = ?").bind(now).bind(id).execute(&mut *conn).await?;
    Ok(())
}

pub async fn revoke_family(conn: &mut SqliteConnection, family_id: &str, now: &str) -> ApiResult<()> {
    sqlx::query("UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE family_id = ?")
        .bind(now)
        .bind(family_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn revoke_user(conn: &mut SqliteConnection, user_id: i64, now: &str) -> ApiResult<()> {
    sqlx::query("UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE user_id = ?")
        .bind(now)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Denylist an access token's `jti` until `expires_at`.
pub async fn deny_access(conn: &mut SqliteConnection, jti: &str, user_id: i64, expires_at: &str) -> ApiResult<()> {
    sqlx::query("INSERT OR IGNORE INTO revoked_access_tokens (jti, user_id, expires_at) VALUES (?, ?, ?)")
        .bind(jti)
        .bind(user_id)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn is_denied<'e, E: SqliteExecutor<'e>>(executor: E, jti: &str) -> ApiResult<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM revoked_access_tokens WHERE jti = ?")
        .bind(jti)
        .fetch_optional(executor)
        .await?;
    Ok(found.is_some())
}
