//! The `[database]` and `[idempotency]` sections: the SQLite file, its pools and writer queue, and
//! how long stored idempotency records are replayed; with their typed checks.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub path: PathBuf,
    pub synchronous: Synchronous,
    pub busy_timeout_ms: u64,
    pub read_pool_size: u32,
    pub read_cache_kib: u32,
    pub writer_queue_capacity: usize,
    pub writer_max_batch: usize,
    pub writer_queue_wait_ms: u64,
    pub pin_writer: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Synchronous {
    #[serde(rename = "FULL")]
    Full,
    #[serde(rename = "NORMAL")]
    Normal,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdempotencyConfig {
    pub ttl_hours: u32,
}

impl DatabaseConfig {
    /// The database path must not be empty.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.path.as_os_str().is_empty() {
            return Err(ConfigError::new("database.path", "must not be empty"));
        }
        Ok(())
    }
}
