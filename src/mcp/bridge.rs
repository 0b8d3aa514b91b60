//! The stdio bridge (`agent-kanban mcp --url URL [--token T]`): for MCP clients that only speak
//! stdio, relay JSON-RPC messages between stdin/stdout and a running server's `/mcp` endpoint. It
//! never opens the database: every call is served (and authorized) by that server.

use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{IntoTransport, StreamableHttpClientTransport, Transport};
use rmcp::{RoleClient, RoleServer};

/// Relay until stdin closes or the server ends the session.
pub async fn run(url: &str, token: Option<String>) -> Result<(), String> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
    if let Some(token) = token {
        config = config.auth_header(token);
    }
    let mut http = StreamableHttpClientTransport::from_config(config);
    let mut stdio = IntoTransport::<RoleServer, std::io::Error, _>::into_transport(rmcp::transport::stdio());
    loop {
        tokio::select! {
            from_client = stdio.receive() => match from_client {
                Some(message) => Transport::<RoleClient>::send(&mut http, message).await.map_err(|e| e.to_string())?,
                None => break,
            },
            from_server = Transport::<RoleClient>::receive(&mut http) => match from_server {
                Some(message) => stdio.send(message).await.map_err(|e| e.to_string())?,
                None => break,
            },
        }
    }
    let _ = Transport::<RoleClient>::close(&mut http).await;
    Ok(())
}
