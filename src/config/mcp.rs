//! The `[mcp]` section: the Model Context Protocol endpoint at `/mcp` and the bounds on its
//! sessions. Ranges are checked while loading (`config/mod.rs`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpConfig {
    /// Serve MCP (Streamable HTTP) at `/mcp`; when false the path answers 404 like any unknown route.
    pub enabled: bool,
    /// Open sessions at most; an `initialize` beyond them is answered 503 with `Retry-After`.
    pub max_sessions: usize,
    /// A session that receives no request for this long is closed and its memory freed.
    pub session_idle_seconds: u64,
}

impl McpConfig {
    /// `session_idle_seconds` as a duration.
    pub fn session_idle(&self) -> Duration {
        Duration::from_secs(self.session_idle_seconds)
    }
}
