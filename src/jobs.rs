//! Background jobs that run as writer commands: the event-log purge and housekeeping (expired
//! rows deleted in small batches, rate limiters pruned); and the periodic memory release.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::config::EventsConfig;
use crate::db;
use crate::db::housekeeping::Expired;
use crate::db::writer::WriterHandle;
use crate::domain::time::format_ts;
use crate::error::ApiResult;
use crate::metrics::Metrics;
use crate::ratelimit::Limiters;

/// Event-log retention: events older than `retention_days`, and per board all but the newest
/// `max_per_board`. Sequence numbers live on in `boards.event_seq`, so they never repeat.
pub async fn purge_events(writer: &WriterHandle, cfg: &EventsConfig) -> ApiResult<u64> {
    let older_than = format_ts(Utc::now() - chrono::Duration::days(i64::from(cfg.retention_days)));
    let keep = cfg.max_per_board;
    writer.run(move |conn, _ctx| Box::pin(async move { db::events::purge(conn, &older_than, keep).await })).await
}

/// Run [`purge_events`] every `purge_interval_minutes` (the first run one interval after start).
pub async fn purge_events_periodically(writer: WriterHandle, cfg: EventsConfig) {
    let every = Duration::from_secs(cfg.purge_interval_minutes * 60);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        ticker.tick().await;
        match purge_events(&writer, &cfg).await {
            Ok(n) => tracing::info!(removed = n, "event log purged"),
            Err(e) => tracing::error!(error = %e, "event log purge failed"),
        }
    }
}

/// Every `every`, return the allocator's free memory to the system when it is worth it
/// ([`crate::alloc::release_if_worthwhile`]), on a blocking thread: trimming walks the heap.
pub async fn release_free_memory_periodically(every: Duration) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match tokio::task::spawn_blocking(crate::alloc::release_if_worthwhile).await {
            Ok(true) => tracing::debug!("free memory returned to the system"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "memory release failed"),
        }
    }
}

/// Rows one housekeeping statement deletes at most. Chosen through an index, 200 rows take 2–4 ms
/// of CPU on the writer (an idempotency record carries a whole response body; a refresh token has
/// five indexes to update); 500 took 4–7 ms.
pub const HOUSEKEEPING_BATCH: u32 = 200;

/// How long a refresh token's row outlives its expiry or revocation. Either way the token is
/// refused with or without its row (an expired one by its own `exp`, before the row is read); the
/// day keeps a recent logout or family revocation visible in the database, and a spent token
/// presented again within it is still logged as a reuse.
pub fn refresh_token_grace() -> chrono::Duration {
    chrono::Duration::days(1)
}

/// What one housekeeping pass did.
#[derive(Debug, Clone, Default)]
pub struct Purged {
    /// Rows deleted, by kind (every kind present).
    pub deleted: BTreeMap<Expired, u64>,
    /// Delete statements run (one per batch; a kind with nothing to delete costs one).
    pub batches: u64,
    /// Keys the rate limiters hold after pruning, over all classes.
    pub limiter_keys: usize,
}

/// The housekeeping job: every `ops.housekeeping_interval_seconds`, prune the rate limiters and
/// delete what has expired (`db::housekeeping::Expired`), one bounded batch per writer command so
/// other writes interleave between batches.
#[derive(Clone)]
pub struct Housekeeping {
    writer: WriterHandle,
    limiters: Limiters,
    metrics: Metrics,
    /// `auth.anonymous_session_idle_days`: sessions idle longer are deleted.
    session_idle: chrono::Duration,
}

impl Housekeeping {
    /// The job over these owners; declares `kanban_housekeeping_deleted_total{kind}` at 0.
    pub fn new(writer: WriterHandle, limiters: Limiters, metrics: Metrics, session_idle_days: u32) -> Self {
        Expired::ALL.iter().for_each(|kind| metrics.housekeeping_deleted(kind.label(), 0));
        let session_idle = chrono::Duration::days(i64::from(session_idle_days));
        Housekeeping { writer, limiters, metrics, session_idle }
    }

    /// Rows of `kind` older than the returned time are deleted by a pass at `now`.
    fn cutoff(&self, kind: Expired, now: DateTime<Utc>) -> DateTime<Utc> {
        match kind {
            // A replay needs an unexpired record.
            Expired::IdempotencyKeys => now,
            // Once expired the token's own `exp` refuses it before the denylist is read. `exp` is
            // whole seconds and still valid in its own second, so the row waits a minute more.
            Expired::RevokedAccessTokens => now - chrono::Duration::minutes(1),
            Expired::RefreshTokens => now - refresh_token_grace(),
            Expired::AnonSessions => now - self.session_idle,
        }
    }

    /// One pass as if the clock read `now`, deleting at most `batch_size` rows per statement.
    pub async fn run(&self, now: DateTime<Utc>, batch_size: u32) -> ApiResult<Purged> {
        let mut purged = Purged { limiter_keys: self.limiters.prune(), ..Purged::default() };
        for kind in Expired::ALL {
            let (deleted, batches) = self.delete_expired(kind, format_ts(self.cutoff(kind, now)), batch_size).await?;
            purged.deleted.insert(kind, deleted);
            purged.batches += batches;
        }
        self.metrics.housekeeping_ran();
        Ok(purged)
    }

    /// Delete `kind` past `cutoff` a batch at a time until a batch comes back short; each batch
    /// counts in the metrics as it commits. Returns the rows deleted and the batches run.
    async fn delete_expired(&self, kind: Expired, cutoff: String, batch_size: u32) -> ApiResult<(u64, u64)> {
        let batch_size = batch_size.max(1);
        let (mut deleted, mut batches) = (0, 0);
        loop {
            let cutoff = cutoff.clone();
            let n = self
                .writer
                .run(move |conn, _ctx| {
                    Box::pin(async move { db::housekeeping::delete_batch(conn, kind, &cutoff, batch_size).await })
                })
                .await?;
            self.metrics.housekeeping_deleted(kind.label(), n);
            deleted += n;
            batches += 1;
            if n < u64::from(batch_size) {
                return Ok((deleted, batches));
            }
            // Let the writes that queued behind this batch go first.
            tokio::task::yield_now().await;
        }
    }

    /// Run a pass every `every` (the first one interval after start).
    pub async fn run_periodically(self, every: Duration) {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let started = Instant::now();
            match self.run(Utc::now(), HOUSEKEEPING_BATCH).await {
                Ok(p) => log_pass(&p, started.elapsed()),
                Err(e) => tracing::error!(error = %e, "housekeeping failed"),
            }
        }
    }
}

fn log_pass(p: &Purged, took: Duration) {
    let count = |kind| p.deleted.get(&kind).copied().unwrap_or(0);
    let total: u64 = p.deleted.values().sum();
    let ms = took.as_millis() as u64;
    if total == 0 {
        tracing::debug!(limiter_keys = p.limiter_keys, ms, "housekeeping: nothing expired");
        return;
    }
    tracing::info!(
        idempotency_keys = count(Expired::IdempotencyKeys),
        revoked_access_tokens = count(Expired::RevokedAccessTokens),
        refresh_tokens = count(Expired::RefreshTokens),
        anon_sessions = count(Expired::AnonSessions),
        batches = p.batches,
        limiter_keys = p.limiter_keys,
        ms,
        "housekeeping deleted expired rows"
    );
}
