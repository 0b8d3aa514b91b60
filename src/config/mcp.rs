//! The `[mcp]` section: the Model Context Protocol endpoint at `/mcp`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpConfig {
    /// Serve MCP (Streamable HTTP) at `/mcp`; when false the path answers 404 like any unknown route.
    pub enabled: bool,
}
