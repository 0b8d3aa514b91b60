//! The `Secret` setting type: holds a value that logs, `Debug` output and `check-config` must
//! never show. It does not decide which settings are secret; the section structs do.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret setting: `Debug` and `Serialize` show `"***"` (empty stays empty), so neither logs nor
/// `check-config` can reveal it; [`Secret::expose`] is the only way to read it.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn shown(&self) -> &'static str {
        if self.0.is_empty() { "" } else { "***" }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.shown())
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.shown())
    }
}
