//! The single writer: one task owns the only read-write connection and commits queued commands
//! together (group commit).
//!
//! Handlers send a command over a bounded channel and await its reply. The task drains up to
//! `writer_max_batch` commands, opens one `BEGIN IMMEDIATE` transaction, runs each command inside
//! its own savepoint (a failing command rolls back only its savepoint), commits once, hands the
//! batch's events to the publisher in commit order, and only then answers every caller. Because the
//! task, not the handler, drives the command, a client that disconnects cannot cancel a write or
//! its publication.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use sqlx::{Connection, SqliteConnection};
use tokio::sync::{mpsc, oneshot, watch};

use crate::db::pinning::run_on_own_thread;
use crate::domain::event::BoardEvent;
use crate::domain::time::now_string;
use crate::error::{ApiError, ApiResult};

mod stats;

use stats::Counters;
pub use stats::WriterStats;

/// Where committed events go (the realtime hub). `publish` is called by the writer task after
/// each commit, in commit order, and must never wait.
pub trait EventSink: Send + Sync + 'static {
    fn publish(&self, events: Vec<BoardEvent>);
}

/// Per-command context: the command's single clock reading and the events it appended.
pub struct WriteCtx {
    /// One timestamp for every row, history row and event this command writes.
    pub now: String,
    pub events: Vec<BoardEvent>,
}

type Finish = Box<dyn FnOnce(Option<ApiError>) + Send>;
type RunFn =
    Box<dyn for<'c> FnOnce(&'c mut SqliteConnection, &'c mut WriteCtx) -> BoxFuture<'c, (bool, Finish)> + Send>;

struct Command {
    run: RunFn,
}

/// Cheap, cloneable access to the writer.
#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<Command>,
    queue_wait: Duration,
    stats: Arc<Counters>,
}

/// Settings of [`spawn`].
pub struct WriterOptions {
    pub queue_capacity: usize,
    pub max_batch: usize,
    pub queue_wait: Duration,
    /// The CPU the writer's thread is bound to (`db::pinning`); `None`: unbound.
    pub cpu: Option<usize>,
}

/// The running writer task; [`WriterTask::shutdown`] drains the queue, checkpoints and stops it.
pub struct WriterTask {
    stop: watch::Sender<bool>,
    join: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl WriterTask {
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        match self.join.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "writer thread failed"),
            Err(e) => tracing::error!(error = %e, "writer task panicked"),
        }
    }
}

/// Start the writer on `conn`, on a thread of its own (bound to `opts.cpu`, see `db::pinning`);
/// committed events go to `sink`.
pub fn spawn(conn: SqliteConnection, opts: WriterOptions, sink: Arc<dyn EventSink>) -> (WriterHandle, WriterTask) {
    let (tx, rx) = mpsc::channel(opts.queue_capacity);
    let (stop, stop_rx) = watch::channel(false);
    let stats = Arc::new(Counters::default());
    let handle = WriterHandle { tx, queue_wait: opts.queue_wait, stats: stats.clone() };
    let worker = Worker { conn, rx, max_batch: opts.max_batch.max(1), stats, sink };
    let join = tokio::spawn(run_on_own_thread("kanban-writer", opts.cpu, move || worker.run(stop_rx)));
    (handle, WriterTask { stop, join })
}

impl WriterHandle {
    /// Run `f` inside the next batch and return its result once the batch has committed.
    pub async fn run<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection, &'c mut WriteCtx) -> BoxFuture<'c, ApiResult<T>> + Send + 'static,
    {
        let (reply_tx, reply_rx) = oneshot::channel::<ApiResult<T>>();
        let stats = self.stats.clone();
        let run: RunFn = Box::new(move |conn, ctx| {
            Box::pin(async move {
                let result = f(conn, ctx).await;
                let ok = result.is_ok();
                let finish: Finish = Box::new(move |commit_error| {
                    let reply = match (result, commit_error) {
                        (Ok(_), Some(e)) => Err(e),
                        (result, _) => result,
                    };
                    let _ = stats.note_outcome(matches!(reply, Err(ApiError::StorageFull)), reply.is_ok());
                    let _ = reply_tx.send(reply);
                });
                (ok, finish)
            })
        });
        self.send(Command { run }).await?;
        reply_rx.await.map_err(|_| ApiError::internal("writer dropped the command"))?
    }

    async fn send(&self, cmd: Command) -> ApiResult<()> {
        match self.tx.send_timeout(cmd, self.queue_wait).await {
            Ok(()) => Ok(()),
            Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
                Err(ApiError::ServiceUnavailable("The server is busy; retry shortly".into()))
            }
            Err(mpsc::error::SendTimeoutError::Closed(_)) => {
                Err(ApiError::ServiceUnavailable("The server is shutting down".into()))
            }
        }
    }

    /// Commands waiting in the queue.
    pub fn queue_depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Number of transactions committed since start.
    pub fn committed_batches(&self) -> u64 {
        self.stats.snapshot().batches
    }

    /// Batches, commands, time per command and statements per command since start.
    pub fn stats(&self) -> WriterStats {
        self.stats.snapshot()
    }

    /// The batch-size and commit-latency histograms (`kanban_db_writer_batch_size`,
    /// `kanban_db_writer_commit_seconds`), for the metrics exposition.
    pub fn histograms(&self) -> Vec<prometheus::proto::MetricFamily> {
        self.stats.histograms()
    }

    /// Start or stop keeping the text of every distinct statement the writer runs (for the
    /// query-plan test).
    pub fn record_sql(&self, on: bool) {
        self.stats.record_sql(on);
    }

    /// The distinct statements kept since recording started.
    pub fn recorded_sql(&self) -> Vec<String> {
        self.stats.recorded_sql()
    }

    /// Hold the writer inside a batch until the returned latch is released, so that commands sent
    /// meanwhile queue up and are committed together. Used by the group-commit tests.
    pub async fn pause(&self) -> ApiResult<WriterPause> {
        let (started_tx, started_rx) = oneshot::channel::<()>();
        let (release_tx, release_rx) = oneshot::channel::<()>();
        let handle = self.clone();
        let done = tokio::spawn(async move {
            handle
                .run(move |_conn, _ctx| {
                    Box::pin(async move {
                        let _ = started_tx.send(());
                        let _ = release_rx.await;
                        Ok(())
                    })
                })
                .await
        });
        started_rx.await.map_err(|_| ApiError::internal("writer did not start the pause"))?;
        Ok(WriterPause { release: Some(release_tx), handle: self.clone(), done })
    }
}

/// A held writer; see [`WriterHandle::pause`]. Dropping it releases the writer.
pub struct WriterPause {
    release: Option<oneshot::Sender<()>>,
    handle: WriterHandle,
    done: tokio::task::JoinHandle<ApiResult<()>>,
}

impl WriterPause {
    /// Wait (up to 10 s) until at least `n` commands are queued behind the pause.
    pub async fn wait_queued(&self, n: usize) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.handle.queue_depth() < n {
            if tokio::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        true
    }

    /// Let the writer continue; returns once the pause's own batch has committed.
    pub async fn release(mut self) {
        if let Some(tx) = self.release.take() {
            let _ = tx.send(());
        }
        let done = std::mem::replace(&mut self.done, tokio::spawn(async { Ok(()) }));
        let _ = done.await;
    }
}

impl Drop for WriterPause {
    fn drop(&mut self) {
        if let Some(tx) = self.release.take() {
            let _ = tx.send(());
        }
    }
}

struct Worker {
    conn: SqliteConnection,
    rx: mpsc::Receiver<Command>,
    max_batch: usize,
    stats: Arc<Counters>,
    sink: Arc<dyn EventSink>,
}

impl Worker {
    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let traced = stats::install(&mut self.conn, &self.stats).await;
        loop {
            let first = tokio::select! {
                cmd = self.rx.recv() => cmd,
                _ = stop.changed() => None,
            };
            let Some(first) = first else { break };
            self.run_batch(first).await;
        }
        // Shutdown: commit whatever is already queued, then checkpoint the WAL.
        self.rx.close();
        while let Some(cmd) = self.rx.recv().await {
            self.run_batch(cmd).await;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut self.conn).await {
            tracing::warn!(error = %e, "WAL checkpoint at shutdown failed");
        }
        if traced {
            stats::remove(&mut self.conn, &self.stats).await;
        }
        // Closed, not dropped: a dropped sqlx connection closes later on its own thread, and the
        // files of a stopped server must be settled when `shutdown` returns.
        if let Err(e) = self.conn.close().await {
            tracing::warn!(error = %e, "closing the write connection failed");
        }
    }

    async fn run_batch(&mut self, first: Command) {
        let mut batch = vec![first];
        while batch.len() < self.max_batch {
            match self.rx.try_recv() {
                Ok(cmd) => batch.push(cmd),
                Err(_) => break,
            }
        }
        let mut finishes: Vec<Finish> = Vec::with_capacity(batch.len());
        let mut events: Vec<BoardEvent> = Vec::new();
        let size = batch.len();
        let outcome = self.execute(batch, &mut finishes, &mut events).await;
        match outcome {
            Ok(commit) => {
                self.stats.batch_committed(size, commit);
                // Publish before answering: a client that has its response and then subscribes
                // can never be handed an event of a write it already saw complete.
                if !events.is_empty() {
                    self.sink.publish(events);
                }
                for finish in finishes {
                    finish(None);
                }
            }
            Err(e) => {
                // Storage full is logged once per episode (by `Counters::note_outcome`), not per batch.
                let full = crate::error::is_storage_full(&e);
                if !full {
                    tracing::error!(error = %e, "write batch failed; every command in it was rolled back");
                }
                let _ = sqlx::query("ROLLBACK").execute(&mut self.conn).await;
                for finish in finishes {
                    finish(Some(if full { ApiError::StorageFull } else { ApiError::internal(&e) }));
                }
            }
        }
    }

    /// Run the batch in one transaction; returns how long its COMMIT took. A statement error
    /// outside a command's own code (BEGIN, SAVEPOINT, COMMIT) fails the whole batch.
    async fn execute(
        &mut self,
        batch: Vec<Command>,
        finishes: &mut Vec<Finish>,
        events: &mut Vec<BoardEvent>,
    ) -> Result<Duration, sqlx::Error> {
        // If BEGIN fails the commands are dropped unexecuted: their callers get a 500 and nothing
        // was applied. Each boundary between commands is one round trip to SQLite (release or roll
        // back the previous savepoint, open the next), because a round trip costs more here than
        // the statements themselves.
        sqlx::query("BEGIN IMMEDIATE; SAVEPOINT cmd").execute(&mut self.conn).await?;
        let mut previous_ok: Option<bool> = None;
        for cmd in batch {
            if let Some(ok) = previous_ok {
                sqlx::query(boundary(ok)).execute(&mut self.conn).await?;
            }
            let ok = self.run_command(cmd, finishes, events).await;
            previous_ok = Some(ok);
        }
        let commit = if previous_ok == Some(false) { "ROLLBACK TO cmd; COMMIT" } else { "COMMIT" };
        let committing = Instant::now();
        sqlx::query(commit).execute(&mut self.conn).await?;
        Ok(committing.elapsed())
    }

    /// Run one command inside the open savepoint; returns whether it succeeded (its events are
    /// kept only then).
    async fn run_command(&mut self, cmd: Command, finishes: &mut Vec<Finish>, events: &mut Vec<BoardEvent>) -> bool {
        let started = Instant::now();
        let mut ctx = WriteCtx { now: now_string(), events: Vec::new() };
        // A panicking command fails alone (its caller sees the dropped reply as a 500) instead
        // of taking the writer, and every later write, down with it.
        let ran = AssertUnwindSafe((cmd.run)(&mut self.conn, &mut ctx)).catch_unwind().await;
        let ok = match ran {
            Ok((ok, finish)) => {
                finishes.push(finish);
                ok
            }
            Err(_) => {
                tracing::error!("a write command panicked; its savepoint is rolled back");
                false
            }
        };
        if ok {
            events.append(&mut ctx.events);
        }
        self.stats.command_done(started.elapsed());
        ok
    }
}

/// The statements between two commands: keep (release) or undo (roll back to) the previous
/// command's savepoint, then open the next one.
fn boundary(previous_ok: bool) -> &'static str {
    if previous_ok { "RELEASE cmd; SAVEPOINT cmd" } else { "ROLLBACK TO cmd; RELEASE cmd; SAVEPOINT cmd" }
}

#[cfg(test)]
mod tests;
