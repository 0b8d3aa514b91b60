//! The `[bulk]` section: how many tickets one bulk request may name.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkConfig {
    /// Largest number of items in one `POST /api/bulk/tickets/*` request.
    pub max_batch_size: usize,
}
