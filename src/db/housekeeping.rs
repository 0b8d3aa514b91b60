//! Deleting rows that have outlived their use: idempotency records, denylisted access tokens,
//! refresh tokens and anonymous sessions. One call deletes at most one bounded batch, chosen
//! through the index on the kind's cutoff column, so a single statement never holds the writer for
//! long; the caller (`jobs::Housekeeping`) decides the cutoffs and loops.

use sqlx::SqliteConnection;

use crate::error::ApiResult;

/// What the housekeeping job deletes, each by one cutoff timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Expired {
    /// `idempotency_keys` whose `expires_at` is at or before the cutoff (a replay needs
    /// `expires_at > now`, so these can never be replayed again).
    IdempotencyKeys,
    /// `revoked_access_tokens` whose token expired before the cutoff.
    RevokedAccessTokens,
    /// `refresh_tokens` that expired, or were revoked, before the cutoff.
    RefreshTokens,
    /// `anon_sessions` whose `last_activity` is before the cutoff.
    AnonSessions,
}

impl Expired {
    /// Every kind, in the order the job deletes them.
    pub const ALL: [Expired; 4] =
        [Expired::IdempotencyKeys, Expired::RevokedAccessTokens, Expired::RefreshTokens, Expired::AnonSessions];

    /// The `kind` label of `kanban_housekeeping_deleted_total` (the table's name).
    pub fn label(self) -> &'static str {
        match self {
            Expired::IdempotencyKeys => "idempotency_keys",
            Expired::RevokedAccessTokens => "revoked_access_tokens",
            Expired::RefreshTokens => "refresh_tokens",
            Expired::AnonSessions => "anon_sessions",
        }
    }

    /// One batch: the rowids are picked through the cutoff column's index, `LIMIT ?2` of them.
    fn sql(self) -> &'static str {
        match self {
            Expired::IdempotencyKeys => {
                "DELETE FROM idempotency_keys WHERE rowid IN
                   (SELECT rowid FROM idempotency_keys WHERE expires_at <= ?1 LIMIT ?2)"
            }
            Expired::RevokedAccessTokens => {
                "DELETE FROM revoked_access_tokens WHERE rowid IN
                   (SELECT rowid FROM revoked_access_tokens WHERE expires_at < ?1 LIMIT ?2)"
            }
            Expired::RefreshTokens => {
                "DELETE FROM refresh_tokens WHERE rowid IN
                   (SELECT rowid FROM refresh_tokens WHERE expires_at < ?1 OR revoked_at < ?1 LIMIT ?2)"
            }
            Expired::AnonSessions => {
                "DELETE FROM anon_sessions WHERE rowid IN
                   (SELECT rowid FROM anon_sessions WHERE last_activity < ?1 LIMIT ?2)"
            }
        }
    }
}

/// Delete at most `limit` rows of `kind` past `cutoff` (a canonical UTC timestamp); returns how
/// many were deleted.
pub async fn delete_batch(conn: &mut SqliteConnection, kind: Expired, cutoff: &str, limit: u32) -> ApiResult<u64> {
    let done = sqlx::query(kind.sql()).bind(cutoff).bind(i64::from(limit)).execute(&mut *conn).await?;
    Ok(done.rows_affected())
}
