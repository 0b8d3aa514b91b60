//! The accept loop: how many connections the server holds and how long a slow or idle client may
//! keep one. It owns TCP accepting, the per-connection hyper server and graceful shutdown; it knows
//! nothing about routes (the application service is handed in).
//!
//! `axum::serve` has no knob for any of this, so the loop is written out with hyper's
//! `http1::Builder`. HTTP/1 only: `axum::serve` also sniffs for cleartext HTTP/2 (prior knowledge),
//! but that sniffing waits for the first bytes with no timeout at all, so a connection that never
//! sends anything would escape the header-read timeout; no client of this server speaks cleartext
//! HTTP/2 (browsers use HTTP/2 only over TLS, and the reverse proxy talks HTTP/1.1 to us).
//! - **Connection cap**: a permit of a [`Semaphore`] is taken *before* `accept`, so beyond
//!   `server.max_connections` new connections wait in the kernel's listen backlog and never cost a
//!   file descriptor. A permit is held until the connection ends or is upgraded to a WebSocket (from
//!   then on `realtime.max_connections` caps it).
//! - **Header-read timeout**: hyper's `http1::Builder::header_read_timeout`. Its timer starts
//!   whenever the connection waits for a request head — on a fresh connection and between
//!   keep-alive requests too — so it closes slowloris clients and silent connections alike.
//! - **Keep-alive idle timeout**: hyper has none of its own; a watchdog per connection asks hyper to
//!   close gracefully once no request has been in flight for `server.keep_alive_idle_seconds`.
//!   Graceful means a request in progress always finishes first.
//! - **Half-closed clients**: `half_close(true)`, so a client that sends its whole request and then
//!   shuts down its sending side (`shutdown(SHUT_WR)`) still gets the response; without it hyper
//!   takes the end of input for an abandoned request and cancels it, though its write may commit.
//!   The cost: a client that vanishes mid-request is noticed only when its response is written.
//! - **Early refusals** keep the connection answerable ([`early`]): the unread rest of a refused
//!   request's body is discarded, or the response says `Connection: close`.
//! - The request-body deadline (408) is a layer of the router (`app/router.rs`), not part of this loop.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower::{Service, ServiceExt};

mod early;

/// The connection limits of `[server]`.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub keep_alive_idle: Duration,
}

/// Open HTTP connections (not counting upgraded WebSockets); shared with the server handle.
#[derive(Debug, Clone, Default)]
pub struct OpenConnections(Arc<AtomicUsize>);

impl OpenConnections {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// Serve `app` on `listener` until `shutdown` resolves, then stop accepting, ask every open
/// connection to finish its current request and close, and return once they all have.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: ConnectionLimits,
    open: OpenConnections,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).half_close(true);
    let builder = Arc::new(builder);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = accept(&listener, &permits) => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer, permit) = accepted;
        let conn = Conn { builder: builder.clone(), app: app.clone(), peer, limits, open: open.clone() };
        tokio::spawn(conn.run(stream, permit, stop_rx.clone()));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a permit until it ends: holding them all means all have ended.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
    Ok(())
}

/// Wait for a free connection slot, then for a connection.
async fn accept(listener: &TcpListener, permits: &Arc<Semaphore>) -> (TcpStream, SocketAddr, OwnedSemaphorePermit) {
    // The semaphore is never closed, so acquiring cannot fail.
    let Ok(permit) = permits.clone().acquire_owned().await else {
        unreachable!("the permit semaphore is never closed")
    };
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                return (stream, peer, permit);
            }
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                // Out of descriptors or similar: wait instead of spinning (as `axum::serve` does).
                tracing::error!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}

/// One accepted connection.
struct Conn<S> {
    builder: Arc<http1::Builder>,
    app: S,
    peer: SocketAddr,
    limits: ConnectionLimits,
    open: OpenConnections,
}

impl<S> Conn<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    async fn run(self, stream: TcpStream, permit: OwnedSemaphorePermit, mut stop: watch::Receiver<bool>) {
        self.open.0.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity::new());
        let service = service(self.app, self.peer, activity.clone());
        let conn = self.builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
        tokio::pin!(conn);
        let idle = activity.idle_for(self.limits.keep_alive_idle);
        tokio::pin!(idle);
        let mut closing = false;
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, peer = %self.peer, "connection ended with an error");
                    }
                    break;
                }
                () = &mut idle, if !closing => {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
                _ = stop.wait_for(|stop| *stop), if !closing => {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
        self.open.0.fetch_sub(1, Ordering::Relaxed);
        drop(permit);
    }
}

/// The hyper service of one connection: the application, with `ConnectInfo<SocketAddr>` in every
/// request (the rate limiter and the WebSocket client key read it), in-flight tracking, and the
/// unread rest of an early-refused request's body settled ([`early`]).
fn service<S>(
    app: S,
    peer: SocketAddr,
    activity: Arc<Activity>,
) -> impl hyper::service::Service<Request<Incoming>, Response = Response, Error = Infallible, Future: Send> + Clone
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let busy = InFlight::start(activity.clone());
        let app = app.clone();
        async move {
            let (req, unread) = early::lend(req);
            let Ok(mut resp) = app.oneshot(req.map(Body::new)).await;
            match unread.settle(&mut resp) {
                // The connection stays busy (not idle) while the rest is discarded.
                Some(rest) => drop(tokio::spawn(async move {
                    early::discard(rest).await;
                    drop(busy);
                })),
                None => drop(busy),
            }
            Ok(resp)
        }
    })
}

/// When the connection last became idle (no request in flight).
struct Activity {
    state: Mutex<(usize, Instant)>,
}

impl Activity {
    fn new() -> Self {
        Activity { state: Mutex::new((0, Instant::now())) }
    }

    /// `Some(since)` when no request is in flight. The lock is never held across an await.
    fn idle_since(&self) -> Option<Instant> {
        let state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        (state.0 == 0).then_some(state.1)
    }

    fn update(&self, f: impl FnOnce(&mut (usize, Instant))) {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut state);
    }

    /// Resolves once no request has been in flight for `limit`.
    async fn idle_for(&self, limit: Duration) {
        let mut deadline = Instant::now() + limit;
        loop {
            tokio::time::sleep_until(deadline).await;
            match self.idle_since() {
                Some(since) if since + limit <= Instant::now() => return,
                Some(since) => deadline = since + limit,
                None => deadline = Instant::now() + limit,
            }
        }
    }
}

/// A request in flight; dropping it (also when the request is cancelled) marks its end.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.update(|s| s.0 += 1);
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.update(|s| {
            s.0 = s.0.saturating_sub(1);
            s.1 = Instant::now();
        });
    }
}
