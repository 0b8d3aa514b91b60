//! Realtime: the per-board broadcast hub, one task per WebSocket connection, and the JSON frames
//! of the protocol (`realtime.md`).

pub mod conn;
mod forwarder;
pub mod hub;
pub mod protocol;
mod rate;
pub mod session;

pub use hub::Hub;
