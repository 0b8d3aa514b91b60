//! Who is calling: roles and the request extractor that resolves them.

pub mod extractor;

pub use extractor::{AuthUser, Caller, Role};
