//! User accounts: the response shape, the password rules and the parsing of registration and
//! account-update bodies.

use serde::Serialize;
use serde_json::Value;

use super::role::Role;
use super::validation::{FieldError, FieldReader, Patch};

/// A stored user (without its password hash).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub is_active: bool,
    pub created_at: String,
    pub updated_at: String,
    pub last_login: Option<String>,
}

/// A user as the API returns it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub role: String,
    pub is_active: bool,
    /// `role == "admin"`, kept for shape compatibility.
    pub is_superuser: bool,
    pub created_at: String,
    pub updated_at: String,
    pub last_login: Option<String>,
}

impl From<&UserRow> for User {
    fn from(r: &UserRow) -> Self {
        User {
            id: r.id,
            username: r.username.clone(),
            email: r.email.clone(),
            role: r.role.clone(),
            is_active: r.is_active,
            is_superuser: r.role == "admin",
            created_at: r.created_at.clone(),
            updated_at: r.updated_at.clone(),
            last_login: r.last_login.clone(),
        }
    }
}

impl UserRow {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Viewer)
    }
}

/// Usernames that label system actions and can never be registered.
const RESERVED: [&str; 2] = ["anonymous", "system"];

/// Trimmed, lowercased, 3..50 of `[a-z0-9_-]`, not reserved.
pub fn normalise_username(r: &mut FieldReader<'_>, name: &str) -> Option<String> {
    let raw = r.required_trimmed(name, 3, 50)?.to_lowercase();
    if !raw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-') {
        r.push(name, "invalid_value", "may contain only a-z, 0-9, '_' and '-'");
        return None;
    }
    if RESERVED.contains(&raw.as_str()) {
        r.push(name, "invalid_value", format!("'{raw}' is reserved"));
        return None;
    }
    Some(raw)
}

/// Trimmed, lowercased, ≤ 254, one `@`, non-empty local part, dotted domain, no whitespace.
pub fn normalise_email(r: &mut FieldReader<'_>, name: &str, email: &str) -> Option<String> {
    let e = email.trim().to_lowercase();
    let valid = e.chars().count() <= 254
        && !e.chars().any(char::is_whitespace)
        && e.matches('@').count() == 1
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        });
    if valid {
        Some(e)
    } else {
        r.push(name, "invalid_value", "is not a valid email address");
        None
    }
}

/// Check the password rules; each violated rule is its own error on `field`.
pub fn check_password_rules(password: &str, field: &str) -> Vec<FieldError> {
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

/// A validated registration body.
#[derive(Debug)]
pub struct Registration {
    pub username: String,
    pub email: String,
    pub password: String,
    pub role: Option<Role>,
}

fn role_field(r: &mut FieldReader<'_>) -> Option<Role> {
    match r.raw("role") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let role = Role::parse(s);
            if role.is_none() {
                r.push("role", "invalid_value", "must be one of admin, pm, agent, viewer");
            }
            role
        }
        Some(_) => {
            r.push("role", "invalid_type", "Input should be a valid string");
            None
        }
    }
}

impl Registration {
    pub fn parse(body: &Value) -> Result<Self, Vec<FieldError>> {
        let mut r = FieldReader::body(body)?;
        let username = normalise_username(&mut r, "username");
        let email = match r.required_trimmed("email", 1, 254) {
            Some(e) => normalise_email(&mut r, "email", &e),
            None => None,
        };
        let password = r.required_string("password");
        if let Some(p) = &password {
            let path = r.path("password");
            r.errors.extend(check_password_rules(p, &path));
        }
        let role = role_field(&mut r);
        match (username, email, password) {
            (Some(username), Some(email), Some(password)) => r.finish(Registration { username, email, password, role }),
            _ => Err(r.errors),
        }
    }
}

/// A validated login body.
pub struct Login {
    pub username: String,
    pub password: String,
}

impl Login {
    pub fn parse(body: &Value) -> Result<Self, Vec<FieldError>> {
        let mut r = FieldReader::body(body)?;
        let username = r.required_trimmed("username", 1, 254).map(|u| u.to_lowercase());
        let password = r.required_string("password");
        match (username, password) {
            (Some(username), Some(password)) => r.finish(Login { username, password }),
            _ => Err(r.errors),
        }
    }
}

/// A validated `PUT /api/auth/me` body.
#[derive(Debug, Default)]
pub struct AccountUpdate {
    pub email: Option<String>,
    pub password: Option<String>,
    pub current_password: Option<String>,
    /// `is_active` was sent (refused with 403: admins use the users route).
    pub touches_is_active: bool,
}

impl AccountUpdate {
    pub fn parse(body: &Value) -> Result<Self, Vec<FieldError>> {
        let mut r = FieldReader::body(body)?;
        let email = match r.patch_trimmed("email", 1, 254) {
            Patch::Set(e) => normalise_email(&mut r, "email", &e),
            Patch::Absent => None,
        };
        let password = r.has("password").then(|| r.required_string("password")).flatten();
        if let Some(p) = &password {
            let path = r.path("password");
            r.errors.extend(check_password_rules(p, &path));
            if !r.has("current_password") {
                r.push("current_password", "missing", "current_password is required to change the password");
            }
        }
        let current_password = r.has("current_password").then(|| r.required_string("current_password")).flatten();
        let touches_is_active = r.has("is_active");
        r.finish(AccountUpdate { email, password, current_password, touches_is_active })
    }
}

/// A validated `PUT /api/auth/users/{id}` body.
#[derive(Debug, Default)]
pub struct UserAdminUpdate {
    pub role: Option<Role>,
    pub is_active: Option<bool>,
}

impl UserAdminUpdate {
    pub fn parse(body: &Value) -> Result<Self, Vec<FieldError>> {
        let mut r = FieldReader::body(body)?;
        let role = role_field(&mut r);
        let is_active = match r.raw("is_active") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                r.push("is_active", "invalid_type", "Input should be a valid boolean");
                None
            }
        };
        r.finish(UserAdminUpdate { role, is_active })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn registration_normalises_and_checks_fields() {
        let ok =
            Registration::parse(&json!({"username": " Alice_1 ", "email": " A@Example.COM ", "password": "Secret123"}))
                .expect("valid");
        assert_eq!((ok.username.as_str(), ok.email.as_str()), ("alice_1", "a@example.com"));
        let bad =
            Registration::parse(&json!({"username": "system", "email": "a@b", "password": "weak"})).expect_err("bad");
        let fields: Vec<_> = bad.iter().map(|e| e.field.as_str()).collect();
        assert!(
            fields.contains(&"body.username") && fields.contains(&"body.email") && fields.contains(&"body.password")
        );
    }

    #[test]
    fn each_broken_rule_is_reported() {
        assert!(check_password_rules("Passw0rdé", "body.password").is_empty());
        assert_eq!(check_password_rules("short", "p").len(), 3);
        assert_eq!(check_password_rules("alllowercase1", "p").len(), 1);
        assert_eq!(check_password_rules(&"Aa1".repeat(43), "p").len(), 1);
    }

    #[test]
    fn a_password_change_needs_the_current_password() {
        let e = AccountUpdate::parse(&json!({"password": "Secret123"})).expect_err("missing");
        assert!(e.iter().any(|e| e.field == "body.current_password" && e.kind == "missing"));
    }
}
