//! Background jobs that run as writer commands.

use std::time::Duration;

use chrono::Utc;

use crate::config::EventsConfig;
use crate::db;
use crate::db::writer::WriterHandle;
use crate::domain::time::format_ts;
use crate::error::ApiResult;

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
