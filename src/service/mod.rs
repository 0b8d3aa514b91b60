//! Use cases shared by the two front doors, REST (`routes/`) and MCP (`mcp/`): parse the input
//! with the domain rules, authorize the caller, run one writer command (with idempotency) and
//! return the reply. Neither front door imports the other; both call these functions.

pub mod bulk;
pub mod statistics;
pub mod tickets;
pub mod write;
