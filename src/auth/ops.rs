//! The ops role (`auth.md` §7): who may call the operator routes (`/health/detailed`,
//! `/health/memory`, `/api/health/`, `/metrics`, `/ws/stats`, `/api/statistics/statistics/health`).
//!
//! With `ops.token` empty these routes are public. Otherwise the caller presents
//! `Authorization: Bearer <ops.token>` (compared in constant time) or a valid admin access token
//! (role read from the database, like [`super::Caller`]); anything else is 401. A token that does
//! not verify counts as absent, never as its own error.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::extractor::{bearer_token, verify_bearer};
use crate::domain::role::Role;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Admission to an ops route.
#[derive(Debug, Clone, Copy)]
pub struct OpsAccess {
    /// The caller presented a valid admin access token (admins see connection detail in `/ws/stats`).
    pub admin: bool,
}

/// Constant-time equality of a presented token and the configured one. Both are hashed first, so
/// neither the comparison time nor an early length mismatch tells anything about the secret.
pub fn token_matches(presented: &str, expected: &str) -> bool {
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    bool::from(a.ct_eq(&b))
}

/// Whether `token` is a valid access token of an active admin (an invalid token is just "no").
async fn is_admin_token(state: &AppState, token: &str) -> ApiResult<bool> {
    match verify_bearer(state, token).await {
        Ok(user) => Ok(user.role == Role::Admin),
        Err(ApiError::Unauthorized(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

impl FromRequestParts<AppState> for OpsAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        // A malformed header counts as no header.
        let token = bearer_token(&parts.headers).ok().flatten();
        let ops_token = state.config.ops.token.expose();
        if !ops_token.is_empty() && token.is_some_and(|t| token_matches(t, ops_token)) {
            return Ok(OpsAccess { admin: false });
        }
        let admin = match token {
            Some(t) => is_admin_token(state, t).await?,
            None => false,
        };
        if admin || ops_token.is_empty() {
            return Ok(OpsAccess { admin });
        }
        Err(ApiError::Unauthorized("Ops token or admin token required".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_matches() {
        let expected = "ops-token-0123456789";
        assert!(token_matches("ops-token-0123456789", expected));
        assert!(!token_matches("ops-token-012345678", expected));
        assert!(!token_matches("ops-token-0123456789x", expected));
        assert!(!token_matches("", expected));
    }
}
