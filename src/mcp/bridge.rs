//! The stdio bridge (`agent-kanban mcp --url URL [--token T]`): for MCP clients that only speak
//! stdio, relay JSON-RPC messages between stdin/stdout and a running server's `/mcp` endpoint. It
//! never opens the database: every call is served (and authorized) by that server.
//!
//! Built with the default cargo feature `stdio-bridge`; `https://` URLs go over rustls (aws-lc-rs)
//! with the platform's root certificates.

use rmcp::transport::streamable_http_client::{StreamableHttpClientTransportConfig, StreamableHttpError};
use rmcp::transport::{IntoTransport, StreamableHttpClientTransport, Transport};
use rmcp::{RoleClient, RoleServer};

/// What the bridge says when the server refuses the token it was given.
pub const BAD_TOKEN: &str = "invalid or expired token";
/// What the bridge says when the server wants a token and none was given.
pub const TOKEN_REQUIRED: &str = "the server requires a token: pass --token or set KANBAN_MCP_TOKEN";

/// Relay until stdin closes or the server ends the session.
pub async fn run(url: &str, token: Option<String>) -> Result<(), String> {
    let has_token = token.is_some();
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
    if let Some(token) = token {
        config = config.auth_header(token);
    }
    let mut http = StreamableHttpClientTransport::from_config(config);
    let mut stdio = IntoTransport::<RoleServer, std::io::Error, _>::into_transport(rmcp::transport::stdio());
    loop {
        tokio::select! {
            from_client = stdio.receive() => match from_client {
                Some(message) => Transport::<RoleClient>::send(&mut http, message)
                    .await
                    .map_err(|e| describe(&e, has_token))?,
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

/// The relay's error for a person: a 401 names the token problem, anything else is rmcp's text
/// followed by its causes (e.g. the TLS certificate error behind "error sending request").
fn describe(error: &StreamableHttpError<reqwest::Error>, has_token: bool) -> String {
    let unauthorized = match error {
        StreamableHttpError::AuthRequired(_) => true,
        StreamableHttpError::Client(e) => e.status() == Some(reqwest::StatusCode::UNAUTHORIZED),
        _ => false,
    };
    match (unauthorized, has_token) {
        (true, true) => BAD_TOKEN.to_owned(),
        (true, false) => TOKEN_REQUIRED.to_owned(),
        // rmcp's `Client` variant does not name reqwest's error as its source.
        (false, _) => match error {
            StreamableHttpError::Client(e) => with_causes(e),
            _ => with_causes(error),
        },
    }
}

fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let more = e.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = e.source();
    }
    text
}
