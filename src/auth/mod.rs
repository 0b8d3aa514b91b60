//! Who is calling: roles and the request extractor that resolves them.

pub mod extractor;
pub mod jwt;
pub mod password;

pub use extractor::{AuthUser, Caller, Role};

use std::sync::Arc;

/// What authentication needs at request time: token keys and the password hasher.
#[derive(Clone)]
pub struct AuthContext {
    pub keys: Arc<jwt::JwtKeys>,
    pub passwords: password::PasswordHasherPool,
}
