//! The `[backup]` section: scheduled backups (how often, how many kept, where, compressed or not).
//! Ranges are checked while loading; the directory is resolved against the data directory here.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    /// Take a backup every `interval_hours` after start.
    pub enabled: bool,
    pub interval_hours: u64,
    /// Scheduled backup files kept; older ones are deleted after each success.
    pub keep: usize,
    /// Empty: `<data dir>/backups`.
    pub dir: PathBuf,
    /// gzip the scheduled files (`.db.gz`), else plain `.db`.
    pub compress: bool,
}

impl BackupConfig {
    /// The backup directory: `dir`, or `<data_dir>/backups` when it is empty.
    pub fn resolved_dir(&self, data_dir: &Path) -> PathBuf {
        if self.dir.as_os_str().is_empty() { data_dir.join("backups") } else { self.dir.clone() }
    }
}
