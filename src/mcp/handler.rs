//! One MCP session's handler: capabilities, `tools/*` and `resources/*`, each call's caller
//! resolved from that call's HTTP request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
    ServerCapabilities, ServerConfig, SubscribeRequestParams, Tool, UnsubscribeRequestParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::Value;

use super::catalog;
use super::resources;
use super::tools::{self, Call};
use crate::auth::Caller;
use crate::auth::extractor::{bearer_token, resolve_caller};
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The MCP server of one session.
#[derive(Clone)]
pub struct KanbanMcp {
    state: AppState,
    subscriptions: Arc<Subscriptions>,
}

/// The session's resource subscriptions: URI → the task relaying that board's commits.
#[derive(Default)]
pub(super) struct Subscriptions(pub(super) Mutex<HashMap<String, tokio::task::AbortHandle>>);

impl Drop for Subscriptions {
    /// A closed session stops its relays.
    fn drop(&mut self) {
        if let Ok(map) = self.0.lock() {
            map.values().for_each(tokio::task::AbortHandle::abort);
        }
    }
}

impl KanbanMcp {
    pub fn new(state: AppState) -> Self {
        KanbanMcp { state, subscriptions: Arc::default() }
    }

    /// The caller of this request, resolved like a REST request from its HTTP headers (and its
    /// client address, which scopes an anonymous caller's idempotency keys).
    async fn caller(&self, ctx: &RequestContext<RoleServer>) -> ApiResult<Caller> {
        let parts = ctx.extensions.get::<axum::http::request::Parts>();
        let headers = parts.map(|p| p.headers.clone()).unwrap_or_default();
        let token = bearer_token(&headers)?;
        let caller = resolve_caller(&self.state, &headers, token).await?;
        Ok(match parts {
            Some(parts) => caller.seen_from(&self.state, parts),
            None => caller,
        })
    }

    /// An error as a tool result carrying REST's error body; a version conflict adds the current task.
    async fn tool_error(&self, e: ApiError, args: Option<&rmcp::model::JsonObject>) -> CallToolResult {
        let error_id = uuid::Uuid::new_v4().to_string();
        if let ApiError::Internal(cause) = &e {
            tracing::error!(%error_id, cause = %cause, "MCP tool call failed");
        }
        let mut body = serde_json::to_value(e.body(error_id)).unwrap_or(Value::Null);
        let task_id = args.and_then(|a| a.get("task_id")).and_then(Value::as_i64);
        if let (ApiError::PreconditionFailed(_), Some(id)) = (&e, task_id)
            && let Ok(current) = db::tickets::get(&self.state.db, id).await
        {
            body["current_task"] = serde_json::to_value(current).unwrap_or(Value::Null);
        }
        CallToolResult::structured_error(body)
    }
}

/// A failure outside any tool (listing, reading a resource) as a JSON-RPC error.
pub(super) fn protocol_error(e: ApiError) -> McpError {
    match e {
        ApiError::Internal(cause) => {
            tracing::error!(cause = %cause, "MCP request failed");
            McpError::internal_error("An unexpected error occurred", None)
        }
        ApiError::NotFound(m) => McpError::resource_not_found(m, None),
        other => McpError::invalid_params(other.public_message(), Some(serde_json::json!({ "code": other.code() }))),
    }
}

#[allow(deprecated)] // resources/subscribe: the session-based protocol versions this server speaks
impl ServerHandler for KanbanMcp {
    fn get_info(&self) -> ServerConfig {
        let capabilities =
            ServerCapabilities::builder().enable_tools().enable_resources().enable_resources_subscribe().build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("agent-kanban", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Kanban boards for agents: list_boards, then get_board_state or list_tasks; claim_task before work, \
                 move_task as it progresses, add_comment to report. Subscribe to kanban://boards/{id} for changes.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let caller = self.caller(&context).await.map_err(protocol_error)?;
        Ok(ListToolsResult::with_all_items(catalog::visible(&caller)))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        catalog::find(name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let args = request.arguments.as_ref();
        let caller = match self.caller(&context).await {
            Ok(c) => c,
            Err(e) => return Ok(self.tool_error(e, args).await.into()),
        };
        let call = Call { state: &self.state, caller: &caller, name: &request.name, args };
        match tools::call(call).await {
            None => Err(McpError::invalid_params(format!("Unknown tool: {}", request.name), None)),
            Some(Ok(value)) => Ok(CallToolResult::structured(value).into()),
            Some(Err(e)) => Ok(self.tool_error(e, args).await.into()),
        }
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let caller = self.caller(&context).await.map_err(protocol_error)?;
        resources::list(&self.state, &caller).await.map_err(protocol_error)
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(resources::templates())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let caller = self.caller(&context).await.map_err(protocol_error)?;
        Ok(resources::read(&self.state, &caller, &request.uri).await.map_err(protocol_error)?.into())
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let caller = self.caller(&context).await.map_err(protocol_error)?;
        let sub = resources::Subscribe { state: &self.state, caller: &caller, uri: &request.uri, peer: context.peer };
        resources::subscribe(sub, &self.subscriptions).await.map_err(protocol_error)
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        resources::unsubscribe(&self.subscriptions, &request.uri);
        Ok(())
    }
}
