//! Who is calling: the request extractor that resolves a caller and its role, tokens and passwords.

pub mod extractor;
pub mod jwt;
pub mod ops;
pub mod password;

pub use extractor::{AuthUser, Caller};
pub use ops::OpsAccess;

use std::sync::Arc;

/// What authentication needs at request time: token keys and the password hasher.
#[derive(Clone)]
pub struct AuthContext {
    pub keys: Arc<jwt::JwtKeys>,
    pub passwords: password::PasswordHasherPool,
}
