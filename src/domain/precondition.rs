//! `If-Match` preconditions against an entity's `version` (`api.md` 1.9).

use crate::error::{ApiError, ApiResult};

/// A parsed `If-Match` header: a list of entity tags, or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch(Vec<String>);

impl IfMatch {
    pub fn parse(header: &str) -> Self {
        Self(header.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
    }

    /// Whether any listed value is `*`, `"v"`, `W/"v"` or the bare integer `v`.
    pub fn matches(&self, version: i64) -> bool {
        let v = version.to_string();
        self.0.iter().any(|tag| {
            let tag = tag.strip_prefix("W/").unwrap_or(tag);
            tag == "*" || tag.trim_matches('"') == v
        })
    }
}

/// Check an optional precondition: 412 with the current version on mismatch.
pub fn check(if_match: Option<&IfMatch>, version: i64) -> ApiResult<()> {
    match if_match {
        Some(m) if !m.matches(version) => Err(ApiError::PreconditionFailed(version)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_spelling_of_the_version() {
        for h in ["\"4\"", "W/\"4\"", "4", "*", "\"1\", \"4\""] {
            assert!(IfMatch::parse(h).matches(4), "{h}");
        }
        assert!(!IfMatch::parse("\"3\"").matches(4));
        assert!(!IfMatch::parse("").matches(4));
    }
}
