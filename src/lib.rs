//! agent-kanban: a kanban board server (boards, tickets, comments, history) over a JSON REST API,
//! stored in SQLite with a single group-committing writer.
//!
//! Crate map:
//! - [`config`]: typed configuration (defaults, `local.toml`, `KANBAN__*` overrides).
//! - [`app`]: the router and its layers; server start and graceful stop.
//! - [`serve`]: the accept loop: connection cap, header-read and keep-alive idle timeouts.
//! - [`routes`]: one module per resource; thin handlers.
//! - [`domain`]: plain types, roles and input rules (no axum, no sqlx).
//! - [`db`]: every SQL statement; the read pool and the writer task.
//! - [`auth`]: the caller extractor, tokens and password hashing.
//! - [`error`]: the one error type and JSON error body.
//! - [`ws`]: the realtime hub and WebSocket sessions.
//! - [`stats`]: statistics, flow metrics and history analytics as pure functions.
//! - [`ops`]: the background resource sampler, memory leak detection and health reports.
//! - [`alloc`]: the C allocator's process-wide settings.
//! - [`metrics`]: the Prometheus registry of one server and the `/metrics` exposition.
//! - [`backup`]: online backups, scheduled backups with rotation, and restore.

pub mod alloc;
pub mod app;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod extract;
pub mod jobs;
pub mod mcp;
pub mod metrics;
pub mod ops;
pub mod ratelimit;
pub mod routes;
pub mod serve;
pub mod service;
pub mod shutdown;
pub mod state;
pub mod stats;
pub mod telemetry;
pub mod ws;

pub use app::{Server, StartError};
pub use db::writer::WriterPause;
