//! Roles: the ordered set of what a caller may do, and the mapping from the anonymous-access
//! setting. Plain data only; resolving who a request's caller is belongs to `auth`.

use crate::config::AnonymousRole;

/// Roles, lowest first, so `>=` means "at least".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Agent,
    Pm,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Agent => "agent",
            Role::Pm => "pm",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "agent" => Some(Role::Agent),
            "pm" => Some(Role::Pm),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The role anonymous callers get, if any.
    pub fn for_anonymous(setting: AnonymousRole) -> Option<Role> {
        match setting {
            AnonymousRole::None => None,
            AnonymousRole::Viewer => Some(Role::Viewer),
            AnonymousRole::Agent => Some(Role::Agent),
            AnonymousRole::Pm => Some(Role::Pm),
        }
    }
}
