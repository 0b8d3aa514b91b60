//! The `[ops]` section: the ops token that guards the operator routes, the environment label
//! shown by `/api/health/`, the resource sampler's interval and history, and the thresholds the
//! health reports apply; with its typed check.

use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::secret::Secret;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsConfig {
    /// Bearer token for the ops routes; empty: they are public.
    pub token: Secret,
    /// Free text shown in `/api/health/` (`server.environment`).
    pub environment: String,
    /// Process RSS above this many MiB is reported (`high_memory`) and logged once.
    pub memory_threshold_mb: u64,
    /// Seconds between two resource samples.
    pub memory_sample_interval_seconds: u64,
    /// Resource samples kept (the leak detection reads the newest 10).
    pub memory_samples_kept: usize,
    /// Seconds between two checks of the allocator's free memory, returned to the system when it
    /// passes a few MiB; 0: never, else at least [`MIN_MEMORY_RELEASE_INTERVAL_SECONDS`].
    pub memory_release_interval_seconds: u64,
    /// `/health/ready` fails its disk check below this many free MiB on the data directory's filesystem.
    pub min_free_disk_mb: u64,
    /// Seconds between two housekeeping passes (`jobs::Housekeeping`): expired rows deleted, rate
    /// limiters pruned.
    pub housekeeping_interval_seconds: u64,
}

/// The shortest period of the memory release: `malloc_trim` walks every arena under its lock.
pub const MIN_MEMORY_RELEASE_INTERVAL_SECONDS: u64 = 30;

impl OpsConfig {
    /// A configured ops token needs at least 16 characters; empty means the ops routes are public.
    /// The memory release runs never (0) or at most every 30 s.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        let token = self.token.expose();
        if !token.is_empty() && token.chars().count() < 16 {
            return Err(ConfigError::new("ops.token", "must be empty or at least 16 characters"));
        }
        let release = self.memory_release_interval_seconds;
        if release != 0 && release < MIN_MEMORY_RELEASE_INTERVAL_SECONDS {
            return Err(ConfigError::new(
                "ops.memory_release_interval_seconds",
                format!("must be 0 (never) or at least {MIN_MEMORY_RELEASE_INTERVAL_SECONDS}"),
            ));
        }
        Ok(())
    }
}
