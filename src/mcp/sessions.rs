//! The sessions behind `/mcp`: rmcp's in-memory `LocalSessionManager`, bounded in number and in
//! idle time. Each session holds one permit of `mcp.max_sessions` from its creation until it is
//! closed: by `DELETE /mcp`, at shutdown, or once no client request has reached it for
//! `mcp.session_idle_seconds` (`expire_idle`). Closing ends the session's worker, so its handler,
//! state clone and subscription relays are dropped, and returns the permit. Only bookkeeping
//! here: who may open a session is decided before rmcp sees the request (`guard` in `mod.rs`).

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

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
use tokio_util::sync::CancellationToken;

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
    /// A std mutex, never held across an `.await`.
    open: Mutex<HashMap<SessionId, Open>>,
    idle: Duration,
}

/// An open session's slot (dropping it frees the slot) and the time of its last client request.
struct Open {
    _slot: OwnedSemaphorePermit,
    seen: Instant,
}

impl Sessions {
    pub fn new(config: &McpConfig) -> Self {
        let idle = config.session_idle();
        let mut inner = LocalSessionManager::default();
        // rmcp's own keep-alive, kept as a backstop: it ends a worker that saw no traffic at all.
        inner.session_config.keep_alive = Some(idle);
        let slots = Arc::new(Semaphore::new(config.max_sessions));
        Sessions { inner, slots, open: Mutex::default(), idle }
    }

    /// Whether every slot is taken (a new session would be refused).
    pub fn is_full(&self) -> bool {
        self.slots.available_permits() == 0
    }

    /// Whether session `id` is open.
    pub async fn is_open(&self, id: &str) -> bool {
        self.inner.sessions.read().await.contains_key(id)
    }

    /// Close, until `stop` is cancelled, every session no client request has reached for
    /// `mcp.session_idle_seconds`. rmcp's keep-alive alone is not enough: it counts the server's
    /// own notifications as activity, so a session subscribed to a busy board would outlive its
    /// departed client for as long as the board stays busy.
    pub fn expire_idle(self: &Arc<Self>, stop: CancellationToken) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let sessions = Arc::downgrade(self);
        let period = (self.idle / 4).max(Duration::from_millis(100));
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let Some(sessions) = sessions.upgrade() else { return };
                for id in sessions.idle_ids() {
                    if let Err(e) = sessions.close_session(&id).await {
                        tracing::warn!(error = %e, "could not close an idle MCP session");
                    }
                }
            }
        });
    }

    fn idle_ids(&self) -> Vec<SessionId> {
        let now = Instant::now();
        self.open_map()
            .iter()
            .filter(|(_, o)| now.duration_since(o.seen) >= self.idle)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// A client request reached session `id`.
    fn touch(&self, id: &SessionId) {
        if let Some(open) = self.open_map().get_mut(id) {
            open.seen = Instant::now();
        }
    }

    fn open_map(&self) -> MutexGuard<'_, HashMap<SessionId, Open>> {
        // Poisoned only if a thread panicked mid-insert; the map itself is still consistent.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
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
        self.open_map().insert(id.clone(), Open { _slot: permit, seen: Instant::now() });
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
        self.open_map().remove(id);
        Ok(closed?)
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        Ok(self.inner.create_stream(id, message).await?)
    }

    async fn accept_message(&self, id: &SessionId, message: ClientJsonRpcMessage) -> Result<(), Self::Error> {
        self.touch(id);
        Ok(self.inner.accept_message(id, message).await?)
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        Ok(self.inner.create_standalone_stream(id).await?)
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.touch(id);
        Ok(self.inner.resume(id, last_event_id).await?)
    }
}
