//! Passwords: the spec's rules, and argon2id hashing / verification off the async runtime behind a
//! semaphore (each hash costs ~19 MiB and tens of milliseconds of CPU).

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::domain::validation::FieldError;
use crate::error::{ApiError, ApiResult};

/// Check the password rules; each violated rule is its own error on `field`.
pub fn check_rules(password: &str, field: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut rule = |ok: bool, message: &str| {
        if !ok {
            errors.push(FieldError::new(field, "invalid_value", message));
        }
    };
    let n = password.chars().count();
    rule((8..=128).contains(&n), "must be 8 to 128 characters long");
    rule(password.chars().any(char::is_uppercase), "must contain an uppercase letter");
    rule(password.chars().any(char::is_lowercase), "must contain a lowercase letter");
    rule(password.chars().any(|c| c.is_ascii_digit()), "must contain a digit");
    errors
}

/// Hashes and verifies passwords on blocking threads, at most `permits` at a time.
#[derive(Clone)]
pub struct PasswordHasherPool {
    permits: Arc<Semaphore>,
    /// A real hash of a random password: unknown usernames are verified against it so both login
    /// failures cost the same.
    dummy_hash: Arc<String>,
}

/// Hash on the current thread (blocking: call it from a blocking thread).
pub fn hash_blocking(password: &str) -> ApiResult<String> {
    Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(ApiError::internal)
}

fn verify_now(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

impl PasswordHasherPool {
    /// Build the pool (hashes the dummy password once, off the runtime).
    pub async fn new(permits: usize) -> ApiResult<Self> {
        let random = uuid::Uuid::new_v4().to_string();
        let dummy = tokio::task::spawn_blocking(move || hash_blocking(&random)).await.map_err(ApiError::internal)??;
        Ok(Self { permits: Arc::new(Semaphore::new(permits.max(1))), dummy_hash: Arc::new(dummy) })
    }

    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(f).await.map_err(ApiError::internal)
    }

    /// An argon2id PHC string for `password`.
    pub async fn hash(&self, password: String) -> ApiResult<String> {
        self.blocking(move || hash_blocking(&password)).await?
    }

    /// Whether `password` matches `hash`; with `None` (unknown user) the dummy hash is checked
    /// and the answer is always false.
    pub async fn verify(&self, password: String, hash: Option<String>) -> ApiResult<bool> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let ok = self.blocking(move || verify_now(&password, &hash)).await?;
        Ok(ok && known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_broken_rule_is_reported() {
        assert!(check_rules("Passw0rdé", "body.password").is_empty());
        assert_eq!(check_rules("short", "p").len(), 3);
        assert_eq!(check_rules("alllowercase1", "p").len(), 1);
        assert_eq!(check_rules(&"Aa1".repeat(43), "p").len(), 1);
    }

    #[test]
    fn hashes_verify_and_use_argon2id() {
        let h = hash_blocking("Secret123").expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_now("Secret123", &h));
        assert!(!verify_now("Secret124", &h));
        assert!(!verify_now("Secret123", "not a hash"));
    }
}
