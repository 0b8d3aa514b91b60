//! The sessions behind `/mcp`: rmcp's in-memory `LocalSessionManager`, bounded in number and in
//! idle time. Each session holds one permit of `mcp.max_sessions` from its creation until rmcp
//! closes it, which happens on `DELETE /mcp`, on shutdown, or when the session received nothing for
//! `mcp.session_idle_seconds` (rmcp's keep-alive ends the session's worker, its handler and state
//! are dropped, then rmcp calls `close_session`, which returns the permit). Only bookkeeping here:
//! who may open a session is decided before rmcp sees the request (`guard` in `mod.rs`).

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::Stream;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::WorkerTransport;
use rmcp::transport::streamable_http_server::SessionId;
use rmcp::transport::streamable_http_server::SessionManager;
use rmcp::transport::streamable_http_server::session::ServerSseMessage;
use rmcp::transport::streamable_http_server::session::local::{
    LocalSessionManager, LocalSessionManagerError, LocalSessionWorker,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::McpConfig;

tokio::task_local! {
    /// Set by `create_session` when the cap refused a session, for the request that asked for it
    /// (rmcp turns the refusal into a plain 500; `guard` answers 503 instead).
    static REFUSED: Cell<bool>;
}

/// Run `request` (the rest of an `/mcp` request), noting whether the session cap refused it.
pub async fn watch_refusal<F: Future>(request: F) -> (F::Output, bool) {
    REFUSED
        .scope(Cell::new(false), async move {
            let out = request.await;
            (out, REFUSED.with(Cell::get))
        })
        .await
}

#[derive(Debug, thiserror::Error)]
pub enum SessionsError {
    #[error("the MCP session limit is reached")]
    Full,
    #[error(transparent)]
    Local(#[from] LocalSessionManagerError),
}

/// rmcp's local session manager with a cap on open sessions and an idle timeout.
pub struct Sessions {
    inner: LocalSessionManager,
    slots: Arc<Semaphore>,
    /// Each open session's permit; dropping it frees the slot.
    held: Mutex<HashMap<SessionId, OwnedSemaphorePermit>>,
}

impl Sessions {
    pub fn new(config: &McpConfig) -> Self {
        let mut inner = LocalSessionManager::default();
        inner.session_config.keep_alive = Some(config.session_idle());
        Sessions { inner, slots: Arc::new(Semaphore::new(config.max_sessions)), held: Mutex::default() }
    }

    /// Whether every slot is taken (a new session would be refused).
    pub fn is_full(&self) -> bool {
        self.slots.available_permits() == 0
    }

    /// Whether session `id` is open.
    pub async fn is_open(&self, id: &str) -> bool {
        self.inner.sessions.read().await.contains_key(id)
    }

    fn release(&self, id: &SessionId) {
        // A poisoned map only means another thread panicked mid-insert; the permits are still ours.
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        held.remove(id);
    }
}

/// `restore_session` keeps the trait's default (not supported): a restore would create a session
/// outside the cap, and this server keeps no external session store to restore from.
impl SessionManager for Sessions {
    type Error = SessionsError;
    type Transport = WorkerTransport<LocalSessionWorker>;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let Ok(permit) = self.slots.clone().try_acquire_owned() else {
            let _ = REFUSED.try_with(|refused| refused.set(true));
            return Err(SessionsError::Full);
        };
        let (id, transport) = self.inner.create_session().await?;
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        held.insert(id.clone(), permit);
        Ok((id, transport))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        Ok(self.inner.initialize_session(id, message).await?)
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        Ok(self.inner.has_session(id).await?)
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        let closed = self.inner.close_session(id).await;
        self.release(id);
        Ok(closed?)
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.inner.create_stream(id, message).await?)
    }

    async fn accept_message(&self, id: &SessionId, message: ClientJsonRpcMessage) -> Result<(), Self::Error> {
        Ok(self.inner.accept_message(id, message).await?)
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.inner.create_standalone_stream(id).await?)
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.inner.resume(id, last_event_id).await?)
    }
}
