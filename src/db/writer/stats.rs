//! The writer's counters: batches, commands, time spent inside commands, and every SQL statement
//! the write connection starts, counted by SQLite itself (its statement trace), so the figure
//! includes each statement of a multi-statement query and every trigger program.
//!
//! It also keeps the writer's two histograms, commands per committed transaction and COMMIT
//! latency (`kanban_db_writer_batch_size`, `kanban_db_writer_commit_seconds`), observed by the
//! writer task and read by the metrics exposition at scrape time.
//!
//! The statement and trigger counts (and the statement recording of the query-plan test) need the
//! cargo feature `statement-stats`, which the tests and the benchmark enable and a shipped build
//! does not: without it they stay 0. With it, this is the only place that calls SQLite's C API
//! directly; it installs and removes one trace callback and owns nothing else.

use std::collections::BTreeSet;
#[cfg(feature = "statement-stats")]
use std::ffi::{c_int, c_uint, c_void};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::core::Collector;
use prometheus::proto::MetricFamily;
use prometheus::{Histogram, HistogramOpts};
use sqlx::SqliteConnection;

/// Batch sizes up to `database.writer_max_batch`'s ceiling (1024).
const BATCH_SIZE_BUCKETS: [f64; 11] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0];
/// COMMIT latency: a WAL append is sub-millisecond, an fsync on slow storage tens of milliseconds.
const COMMIT_SECONDS_BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// The writer's histograms (fixed buckets, lock-free observations).
pub(super) struct Histograms {
    batch_size: Histogram,
    commit_seconds: Histogram,
}

impl Default for Histograms {
    fn default() -> Self {
        let histogram = |name: &str, help: &str, buckets: &[f64]| {
            Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))
                .expect("a constant name and increasing constant buckets make a valid histogram")
        };
        Histograms {
            batch_size: histogram(
                "kanban_db_writer_batch_size",
                "Commands per committed transaction",
                &BATCH_SIZE_BUCKETS,
            ),
            commit_seconds: histogram("kanban_db_writer_commit_seconds", "COMMIT latency", &COMMIT_SECONDS_BUCKETS),
        }
    }
}

/// Running totals, shared by the writer task and its handles.
#[derive(Default)]
pub(super) struct Counters {
    batches: AtomicU64,
    commands: AtomicU64,
    command_nanos: AtomicU64,
    max_batch: AtomicU64,
    statements: AtomicU64,
    trigger_runs: AtomicU64,
    /// When set, the distinct text of every top-level statement is kept (the query-plan test
    /// replays them through `EXPLAIN QUERY PLAN`); off in normal operation.
    recording: AtomicBool,
    recorded: Mutex<BTreeSet<String>>,
    /// Inside a storage-full episode: from the first write refused with `SQLITE_FULL` until the
    /// next write that commits. Logged once at each edge, not per request.
    storage_full: AtomicBool,
    histograms: Histograms,
}

/// What the writer has done since start (totals; a reader takes differences between two
/// snapshots for per-command figures over an interval).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriterStats {
    /// Committed transactions.
    pub batches: u64,
    /// Commands run (committed or rolled back to their savepoint).
    pub commands: u64,
    /// Time spent inside commands (their SQL and their Rust).
    pub command_seconds: f64,
    /// The largest batch committed so far.
    pub max_batch_size: u64,
    /// SQL statements started on the write connection, transaction control included (0 without
    /// the `statement-stats` feature).
    pub statements: u64,
    /// Trigger programs run (maintained counts and sequence numbers; 0 without `statement-stats`).
    pub trigger_runs: u64,
}

impl Counters {
    /// Record a command's final outcome (after commit) for the storage-full episode log; returns
    /// `Some(true)` when an episode starts and `Some(false)` when it ends (each logged once).
    pub(super) fn note_outcome(&self, storage_full: bool, ok: bool) -> Option<bool> {
        if storage_full && !self.storage_full.swap(true, Ordering::Relaxed) {
            tracing::error!(
                "database storage is full (SQLITE_FULL): writes are refused with 507 STORAGE_FULL and roll back \
                 completely until space is freed on the filesystem holding the database"
            );
            Some(true)
        } else if ok && self.storage_full.swap(false, Ordering::Relaxed) {
            tracing::info!("database storage available again: writes are committing");
            Some(false)
        } else {
            None
        }
    }

    pub(super) fn command_done(&self, took: Duration) {
        self.commands.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.command_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// A batch of `size` commands committed; its COMMIT took `commit`.
    pub(super) fn batch_committed(&self, size: usize, commit: Duration) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.max_batch.fetch_max(size as u64, Ordering::Relaxed);
        self.histograms.batch_size.observe(size as f64);
        self.histograms.commit_seconds.observe(commit.as_secs_f64());
    }

    /// The batch-size and commit-latency histograms as metric families.
    pub(super) fn histograms(&self) -> Vec<MetricFamily> {
        let mut out = self.histograms.batch_size.collect();
        out.extend(self.histograms.commit_seconds.collect());
        out
    }

    pub(super) fn record_sql(&self, on: bool) {
        self.recording.store(on, Ordering::Relaxed);
    }

    pub(super) fn recorded_sql(&self) -> Vec<String> {
        self.recorded.lock().map(|set| set.iter().cloned().collect()).unwrap_or_default()
    }

    #[cfg(feature = "statement-stats")]
    fn statement(&self, text: &[u8]) {
        self.statements.fetch_add(1, Ordering::Relaxed);
        if self.recording.load(Ordering::Relaxed)
            && let Ok(mut set) = self.recorded.lock()
        {
            set.insert(String::from_utf8_lossy(text).trim().to_owned());
        }
    }

    pub(super) fn snapshot(&self) -> WriterStats {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        WriterStats {
            batches: load(&self.batches),
            commands: load(&self.commands),
            command_seconds: load(&self.command_nanos) as f64 / 1e9,
            max_batch_size: load(&self.max_batch),
            statements: load(&self.statements),
            trigger_runs: load(&self.trigger_runs),
        }
    }
}

/// SQLite's `SQLITE_TRACE_STMT` event code (sqlite3.h).
#[cfg(feature = "statement-stats")]
const SQLITE_TRACE_STMT: c_uint = 1;

/// Called by SQLite at the start of every statement and trigger program of the write connection.
#[cfg(feature = "statement-stats")]
unsafe extern "C" fn on_statement(_event: c_uint, ctx: *mut c_void, _stmt: *mut c_void, sql: *mut c_void) -> c_int {
    // SAFETY: `ctx` is the pointer `install` obtained from `Arc::into_raw`; that reference is only
    // released by `remove`, after SQLite has been told to stop calling us.
    let counters = unsafe { &*(ctx as *const Counters) };
    if sql.is_null() {
        return 0;
    }
    // SAFETY: for SQLITE_TRACE_STMT the last argument is the statement's NUL-terminated text.
    // A trigger program is reported as "-- TRIGGER <name>" followed by each of its statements
    // as "-- <sql>"; top-level statements are reported with their own text.
    let text = unsafe { std::ffi::CStr::from_ptr(sql as *const std::ffi::c_char) }.to_bytes();
    if text.starts_with(b"-- TRIGGER ") {
        counters.trigger_runs.fetch_add(1, Ordering::Relaxed);
    } else if !text.starts_with(b"--") {
        counters.statement(text);
    }
    0
}

/// Start counting the statements of `conn` into `counters`; returns whether it was installed.
#[cfg(feature = "statement-stats")]
pub(super) async fn install(conn: &mut SqliteConnection, counters: &Arc<Counters>) -> bool {
    let Ok(mut handle) = conn.lock_handle().await else { return false };
    let ctx = Arc::into_raw(counters.clone()) as *mut c_void;
    // SAFETY: the handle is locked (no statement runs concurrently) and `ctx` stays valid until
    // `remove` unregisters the callback.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_trace_v2(handle.as_raw_handle().as_ptr(), SQLITE_TRACE_STMT, Some(on_statement), ctx)
    };
    if rc != 0 {
        // SAFETY: SQLite did not take the pointer, so this is the only reference from into_raw.
        drop(unsafe { Arc::from_raw(ctx as *const Counters) });
        tracing::warn!(rc, "cannot install the writer's statement counter");
    }
    rc == 0
}

/// Without the `statement-stats` feature nothing is counted: never installed.
#[cfg(not(feature = "statement-stats"))]
pub(super) async fn install(_conn: &mut SqliteConnection, _counters: &Arc<Counters>) -> bool {
    false
}

/// Stop counting and release the reference a successful `install` handed to SQLite.
#[cfg(feature = "statement-stats")]
pub(super) async fn remove(conn: &mut SqliteConnection, counters: &Arc<Counters>) {
    let Ok(mut handle) = conn.lock_handle().await else { return };
    // SAFETY: unregistering takes effect at once; the handle is locked, so no callback is running.
    let rc =
        unsafe { libsqlite3_sys::sqlite3_trace_v2(handle.as_raw_handle().as_ptr(), 0, None, std::ptr::null_mut()) };
    if rc == 0 {
        // SAFETY: balances the `Arc::into_raw` in `install`; SQLite no longer holds the pointer.
        drop(unsafe { Arc::from_raw(Arc::as_ptr(counters)) });
    }
}

/// Without the `statement-stats` feature there is nothing to remove.
#[cfg(not(feature = "statement-stats"))]
pub(super) async fn remove(_conn: &mut SqliteConnection, _counters: &Arc<Counters>) {}
