//! The API test suite: one binary, every test against a real server on 127.0.0.1:0.

mod helpers;

mod board_lists;
mod boards;
mod bulk;
mod comments;
mod conventions;
mod docs;
mod edge;
mod hardening;
mod health;
mod history;
mod housekeeping;
mod logging;
mod mcp;
mod mcp_bounds;
mod metrics;
mod query_plans;
mod sessions;
mod statistics;
mod storage;
mod tickets;

mod access;
mod auth;
mod realtime;
mod realtime_bounds;

mod backup;
mod binary;
mod lifecycle;
mod users_admin;
mod webui;
