//! Passwords: argon2id hashing / verification off the async runtime behind a semaphore (each hash
//! costs ~19 MiB and tens of milliseconds of CPU). The password rules are input rules and live in
//! `domain::user`.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult};

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
    fn hashes_verify_and_use_argon2id() {
        let h = hash_blocking("Secret123").expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_now("Secret123", &h));
        assert!(!verify_now("Secret124", &h));
        assert!(!verify_now("Secret123", "not a hash"));
    }
}
