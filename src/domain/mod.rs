//! Plain types and rules of the product: no axum, no sqlx. Parsing of request bodies into
//! validated commands lives here so it can be unit-tested without a server.

pub mod board;
pub mod bulk;
pub mod columns;
pub mod comment;
pub mod event;
pub mod history;
pub mod precondition;
pub mod role;
pub mod session;
pub mod ticket;
pub mod time;
pub mod user;
pub mod validation;
