//! The closed-loop load generator: C workers, each issuing its next request as soon as the previous
//! one is answered, until a deadline or until a shared op count is used up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;

use crate::api::Outcome;

/// Safety bound for a phase that stops by op count.
const MAX_PHASE: Duration = Duration::from_secs(600);

/// When a phase stops.
#[derive(Clone, Copy)]
pub enum Until {
    /// Start no request after this long (requests in flight still finish).
    Elapsed(Duration),
    /// Issue this many requests in total, shared by all workers.
    Ops(u64),
}

/// Which request a worker is about to issue.
#[derive(Clone, Copy)]
pub struct Slot {
    /// 0..C; a worker's requests are sequential, so per-worker state needs no locking.
    pub worker: usize,
    /// Unique across the phase, in issue order.
    pub seq: u64,
}

/// One request of a scenario, built from its slot.
pub type Op = Arc<dyn Fn(Slot) -> BoxFuture<'static, Outcome> + Send + Sync>;

/// What a phase measured. Latencies are of successful requests, sorted, in milliseconds.
#[derive(Default)]
pub struct LoadResult {
    pub concurrency: usize,
    pub latencies_ms: Vec<f64>,
    pub errors: u64,
    pub seconds: f64,
    pub bytes: u64,
    /// The earliest failure of the phase and when it happened.
    pub first_error: Option<(Instant, String)>,
}

impl LoadResult {
    /// Successful requests.
    pub fn ops(&self) -> u64 {
        self.latencies_ms.len() as u64
    }
}

/// Run `op` from `concurrency` workers until `until`, on the current multi-threaded runtime.
pub async fn run(concurrency: usize, until: Until, op: Op) -> LoadResult {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let (deadline, limit) = match until {
        Until::Elapsed(d) => (start + d, u64::MAX),
        Until::Ops(n) => (start + MAX_PHASE, n),
    };
    let workers: Vec<_> =
        (0..concurrency).map(|worker| tokio::spawn(work(worker, op.clone(), next.clone(), deadline, limit))).collect();
    let mut total = LoadResult { concurrency, ..LoadResult::default() };
    for w in workers {
        match w.await {
            Ok(part) => merge(&mut total, part),
            Err(e) => {
                total.errors += 1;
                total.first_error.get_or_insert_with(|| (Instant::now(), format!("worker panicked: {e}")));
            }
        }
    }
    total.seconds = start.elapsed().as_secs_f64();
    total.latencies_ms.sort_by(|a, b| a.total_cmp(b));
    total
}

async fn work(worker: usize, op: Op, next: Arc<AtomicU64>, deadline: Instant, limit: u64) -> LoadResult {
    let mut mine = LoadResult::default();
    while Instant::now() < deadline {
        let seq = next.fetch_add(1, Ordering::Relaxed);
        if seq >= limit {
            break;
        }
        let started = Instant::now();
        match op(Slot { worker, seq }).await {
            Ok(bytes) => {
                mine.latencies_ms.push(started.elapsed().as_secs_f64() * 1000.0);
                mine.bytes += bytes as u64;
            }
            Err(e) => {
                mine.errors += 1;
                mine.first_error.get_or_insert((started, e));
            }
        }
    }
    mine
}

fn merge(total: &mut LoadResult, mut part: LoadResult) {
    total.latencies_ms.append(&mut part.latencies_ms);
    total.errors += part.errors;
    total.bytes += part.bytes;
    if let Some(theirs) = part.first_error {
        match &total.first_error {
            Some(ours) if ours.0 <= theirs.0 => {}
            _ => total.first_error = Some(theirs),
        }
    }
}
