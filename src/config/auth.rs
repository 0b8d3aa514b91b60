//! The `[auth]` section: token lifetimes and signing secret, registration, password hashing and
//! anonymous access; with its typed checks.

use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::secret::Secret;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub jwt_secret: Secret,
    pub access_token_ttl_minutes: u64,
    pub refresh_token_ttl_days: u64,
    pub default_role: DefaultRole,
    pub registration_enabled: bool,
    pub max_concurrent_hashes: usize,
    pub anonymous_role: AnonymousRole,
    pub cookie_secure: bool,
    pub anonymous_session_idle_days: u32,
}

/// What a caller without a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnonymousRole {
    None,
    Viewer,
    Agent,
    Pm,
}

/// The role of self-registered users (never admin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultRole {
    Viewer,
    Agent,
    Pm,
}

impl AuthConfig {
    /// A configured signing secret needs at least 32 bytes; empty means one is generated at start.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        let secret = self.jwt_secret.expose();
        if !secret.is_empty() && secret.len() < 32 {
            return Err(ConfigError::new("auth.jwt_secret", "must be at least 32 bytes"));
        }
        Ok(())
    }
}
