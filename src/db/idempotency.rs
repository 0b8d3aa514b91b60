//! Stored responses for `Idempotency-Key` replays. Records are written in the same transaction as
//! the write they describe, so a replay never exists without its write.

use sqlx::SqliteConnection;

use crate::error::ApiResult;

/// A stored 2xx response.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredResponse {
    pub request_hash: String,
    pub status: i64,
    pub response_body: String,
    /// JSON object with `ETag` / `Location` when present.
    pub response_headers: String,
}

/// The live (unexpired) record of `(principal, key)`.
pub async fn find<'e, E>(executor: E, principal: &str, key: &str, now: &str) -> ApiResult<Option<StoredResponse>>
where
    E: sqlx::SqliteExecutor<'e>,
{
    let row = sqlx::query_as::<_, StoredResponse>(
        "SELECT request_hash, status, response_body, response_headers FROM idempotency_keys
         WHERE principal = ? AND key = ? AND expires_at > ?",
    )
    .bind(principal)
    .bind(key)
    .bind(now)
    .fetch_optional(executor)
    .await?;
    Ok(row)
}

/// What identifies a request for replay purposes.
pub struct KeyedRequest<'a> {
    pub principal: &'a str,
    pub key: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub request_hash: &'a str,
}

/// Store a response; an expired record with the same key is replaced.
pub async fn store(
    conn: &mut SqliteConnection,
    req: &KeyedRequest<'_>,
    stored: &StoredResponse,
    now: &str,
    expires_at: &str,
) -> ApiResult<()> {
    sqlx::query(
        "INSERT OR REPLACE INTO idempotency_keys
           (principal, key, method, path, request_hash, status, response_body, response_headers, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(req.principal)
    .bind(req.key)
    .bind(req.method)
    .bind(req.path)
    .bind(req.request_hash)
    .bind(stored.status)
    .bind(&stored.response_body)
    .bind(&stored.response_headers)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
