//! JWT access and refresh tokens: HS256 only, no leeway, `typ` checked against the use.
//!
//! The signing secret is `auth.jwt_secret` when configured, else `<data dir>/jwt_secret`, created
//! once with 64 random bytes (hex) and mode 0600 so that tokens survive restarts.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::domain::role::Role;

/// What a token is for; a token of one kind never works as the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
}

/// Claims of both token kinds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id, as a decimal string.
    pub sub: String,
    pub username: String,
    /// Informational: the role is read from the database on every request.
    pub role: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    pub typ: TokenKind,
    /// The refresh family shared by a login and all its rotations.
    pub fam: String,
}

impl Claims {
    pub fn user_id(&self) -> Option<i64> {
        self.sub.parse().ok()
    }
}

/// Who a token is issued to.
pub struct Subject<'a> {
    pub id: i64,
    pub username: &'a str,
    pub role: Role,
}

/// Signing and verification keys plus token lifetimes.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl JwtKeys {
    pub fn new(secret: &[u8], access_ttl: Duration, refresh_ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl,
            refresh_ttl,
        }
    }

    /// Issue a token of `kind` for `subject` in refresh family `fam`.
    pub fn issue(
        &self,
        subject: &Subject<'_>,
        kind: TokenKind,
        fam: &str,
    ) -> Result<(String, Claims), jsonwebtoken::errors::Error> {
        let now = chrono::Utc::now().timestamp();
        let ttl = match kind {
            TokenKind::Access => self.access_ttl,
            TokenKind::Refresh => self.refresh_ttl,
        };
        let claims = Claims {
            sub: subject.id.to_string(),
            username: subject.username.to_owned(),
            role: subject.role.as_str().to_owned(),
            iat: now,
            nbf: now,
            exp: now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
            jti: uuid::Uuid::new_v4().to_string(),
            typ: kind,
            fam: fam.to_owned(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, claims))
    }

    /// Verify signature, algorithm, `exp`/`nbf` and that the token is of `kind`.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Option<Claims> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        (data.claims.typ == kind).then_some(data.claims)
    }
}

/// The configured secret, or the persisted one (created on first use).
pub fn load_or_create_secret(configured: &str, data_dir: &Path) -> std::io::Result<Vec<u8>> {
    if !configured.is_empty() {
        return Ok(configured.as_bytes().to_vec());
    }
    let path = data_dir.join("jwt_secret");
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 32 => return Ok(text.trim().as_bytes().to_vec()),
        Ok(_) => return Err(std::io::Error::other(format!("{} holds fewer than 32 bytes", path.display()))),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        Err(_) => {}
    }
    let mut bytes = [0u8; 64];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    let secret = hex::encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path)?;
    file.write_all(secret.as_bytes())?;
    file.sync_all()?;
    Ok(secret.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &[u8]) -> JwtKeys {
        JwtKeys::new(secret, Duration::from_secs(1800), Duration::from_secs(604_800))
    }

    #[test]
    fn tokens_verify_only_for_their_kind_and_key() {
        let k = keys(&[7u8; 32]);
        let subject = Subject { id: 3, username: "alice", role: Role::Agent };
        let (access, claims) = k.issue(&subject, TokenKind::Access, "fam").expect("issue");
        assert_eq!(claims.exp - claims.iat, 1800);
        assert!(k.verify(&access, TokenKind::Access).is_some());
        assert!(k.verify(&access, TokenKind::Refresh).is_none());
        assert!(keys(&[8u8; 32]).verify(&access, TokenKind::Access).is_none());
    }

    #[test]
    fn a_token_whose_header_names_another_algorithm_is_refused() {
        let k = keys(&[7u8; 32]);
        let subject = Subject { id: 3, username: "alice", role: Role::Agent };
        let (access, _) = k.issue(&subject, TokenKind::Access, "fam").expect("issue");
        let mut parts: Vec<&str> = access.split('.').collect();
        // {"alg":"HS512","typ":"JWT"}, the same claims and signature.
        parts[0] = "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9";
        assert!(k.verify(&parts.join("."), TokenKind::Access).is_none());
    }

    #[test]
    fn signatures_match_the_published_hs256_example() {
        // The HS256 example of jwt.io, secret "your-256-bit-secret".
        let message = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
                       eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ";
        let signature = "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        let secret = b"your-256-bit-secret";
        let signed =
            jsonwebtoken::crypto::sign(message.as_bytes(), &EncodingKey::from_secret(secret), Algorithm::HS256);
        assert_eq!(signed.expect("sign"), signature);
        let verify = |key: &[u8]| {
            jsonwebtoken::crypto::verify(
                signature,
                message.as_bytes(),
                &DecodingKey::from_secret(key),
                Algorithm::HS256,
            )
        };
        assert!(verify(secret).expect("verify"));
        assert!(!verify(b"another-secret").expect("verify"));
    }

    #[test]
    fn the_generated_secret_is_persisted_with_mode_0600() {
        let dir = tempfile::tempdir().expect("dir");
        let first = load_or_create_secret("", dir.path()).expect("create");
        assert_eq!(first.len(), 128);
        assert_eq!(load_or_create_secret("", dir.path()).expect("read"), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("jwt_secret")).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
