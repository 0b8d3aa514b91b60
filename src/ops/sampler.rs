//! The background resource sampler (`ops.md` §6): a thread of its own that samples this process
//! (RSS, VMS, CPU, threads, open descriptors), system memory and CPU, and the data directory's
//! filesystem every `ops.memory_sample_interval_seconds`, keeping the newest
//! `ops.memory_samples_kept` samples. It logs a warning when RSS first exceeds
//! `ops.memory_threshold_mb` and when a leak is first detected.
//!
//! sysinfo and `statvfs` block, so they never run on the async runtime: request handlers only
//! read the samples kept here ([`Sampler::snapshot`]).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::Duration;

use sysinfo::{CpuRefreshKind, MemoryRefreshKind, Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use super::memory::{self, mib};
use crate::domain::time::now_string;

/// Filesystem usage of the data directory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiskUsage {
    pub total: u64,
    pub used: u64,
    /// Available to this (unprivileged) process: `f_bavail`.
    pub free: u64,
}

impl DiskUsage {
    /// Used share of the space usable by this process (`used / (used + free)`), in percent.
    pub fn percent(&self) -> f64 {
        memory::percent(self.used as f64, (self.used + self.free) as f64)
    }
}

/// One reading of the process, the system and the data directory's filesystem.
#[derive(Debug, Clone)]
pub struct Sample {
    /// RFC 3339 UTC with milliseconds.
    pub timestamp: String,
    pub rss_bytes: u64,
    pub vms_bytes: u64,
    /// This process's CPU usage since the previous sample (100 = one core).
    pub process_cpu_percent: f64,
    /// `None` where the platform cannot count them.
    pub threads: Option<usize>,
    /// Open file descriptors; `None` where the platform cannot count them.
    pub fds: Option<usize>,
    pub system_total_bytes: u64,
    pub system_available_bytes: u64,
    /// Whole-system CPU usage since the previous sample, 0..100.
    pub system_cpu_percent: f64,
    pub cpu_count: usize,
    pub disk: DiskUsage,
}

/// What the sampler needs from the configuration.
#[derive(Debug, Clone)]
pub struct SamplerSettings {
    pub interval: Duration,
    pub kept: usize,
    pub threshold_mb: u64,
    /// The directory whose filesystem is measured (the data directory).
    pub data_dir: PathBuf,
}

/// The retained samples as a request sees them: the newest in full, the rest as RSS only (a
/// request copies a few bytes per sample, not every sample).
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub latest: Option<Sample>,
    /// RSS of every retained sample in MiB, oldest first.
    pub rss_mb: Vec<f64>,
    /// Why the latest sampling attempt failed, if it did.
    pub last_error: Option<String>,
    /// Whether the sampler thread is running.
    pub monitoring: bool,
}

impl Snapshot {
    /// A snapshot of `samples` (oldest first).
    pub fn of(samples: &[Sample], last_error: Option<String>, monitoring: bool) -> Snapshot {
        Snapshot {
            latest: samples.last().cloned(),
            rss_mb: samples.iter().map(|s| mib(s.rss_bytes)).collect(),
            last_error,
            monitoring,
        }
    }

    pub fn latest(&self) -> Option<&Sample> {
        self.latest.as_ref()
    }
}

#[derive(Default)]
struct History {
    samples: VecDeque<Sample>,
    last_error: Option<String>,
}

struct Shared {
    history: Mutex<History>,
    running: AtomicBool,
}

/// Read access to the samples; cheap to clone.
#[derive(Clone)]
pub struct Sampler {
    shared: Arc<Shared>,
}

/// The running sampler thread; it stops when this is stopped or dropped.
pub struct SamplerTask {
    stop: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl SamplerTask {
    /// Stop the thread and wait for it (at most the end of a sample in progress).
    pub async fn stop(self) {
        drop(self.stop);
        let thread = self.thread;
        if tokio::task::spawn_blocking(move || thread.join()).await.is_err() {
            tracing::warn!("the resource sampler thread did not stop cleanly");
        }
    }
}

fn lock(m: &Mutex<History>) -> MutexGuard<'_, History> {
    // A panic while holding this lock cannot leave the history inconsistent (push/pop only).
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Sampler {
    /// Start the sampler thread and return once its first sample has been taken (or has failed),
    /// so that the health routes have a reading from the first request on.
    pub async fn start(settings: SamplerSettings) -> std::io::Result<(Sampler, SamplerTask)> {
        let shared = Arc::new(Shared { history: Mutex::default(), running: AtomicBool::new(true) });
        let (stop, stop_rx) = mpsc::channel::<()>();
        let (first_tx, first_rx) = tokio::sync::oneshot::channel::<()>();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("kanban-sampler".into())
            .spawn(move || run(&thread_shared, &settings, &stop_rx, first_tx))?;
        let _ = first_rx.await;
        Ok((Sampler { shared }, SamplerTask { stop, thread }))
    }

    /// The newest sample, if any (what `/metrics` reports as the process figures).
    pub fn latest(&self) -> Option<Sample> {
        lock(&self.shared.history).samples.back().cloned()
    }

    /// A copy of the retained samples (request handlers call only this).
    pub fn snapshot(&self) -> Snapshot {
        let h = lock(&self.shared.history);
        Snapshot {
            latest: h.samples.back().cloned(),
            rss_mb: h.samples.iter().map(|s| mib(s.rss_bytes)).collect(),
            last_error: h.last_error.clone(),
            monitoring: self.shared.running.load(Ordering::Relaxed),
        }
    }
}

/// The thread body: sample, record, wait one interval (or stop), repeat.
fn run(
    shared: &Shared,
    settings: &SamplerSettings,
    stop: &mpsc::Receiver<()>,
    first: tokio::sync::oneshot::Sender<()>,
) {
    let mut probe = Probe::new(settings.data_dir.clone());
    let mut alerts = Alerts::default();
    let mut first = Some(first);
    loop {
        let reading = probe.as_mut().map_err(|e| e.clone()).and_then(Probe::sample);
        record(shared, settings, &mut alerts, reading);
        if let Some(first) = first.take() {
            let _ = first.send(());
        }
        // Any message, or the handle being dropped, ends the loop.
        if !matches!(stop.recv_timeout(settings.interval), Err(mpsc::RecvTimeoutError::Timeout)) {
            break;
        }
    }
    shared.running.store(false, Ordering::Relaxed);
}

/// Which warnings have been logged, so each is logged when its condition starts, not every sample.
#[derive(Default)]
struct Alerts {
    high_memory: bool,
    leak: bool,
    failing: bool,
}

fn record(shared: &Shared, settings: &SamplerSettings, alerts: &mut Alerts, reading: Result<Sample, String>) {
    let sample = match reading {
        Ok(sample) => sample,
        Err(e) => {
            if !alerts.failing {
                tracing::warn!(error = %e, "resource sampling failed");
            }
            alerts.failing = true;
            lock(&shared.history).last_error = Some(e);
            return;
        }
    };
    alerts.failing = false;
    let rss_mb = mib(sample.rss_bytes);
    let history: Vec<f64> = {
        let mut h = lock(&shared.history);
        h.last_error = None;
        h.samples.push_back(sample);
        while h.samples.len() > settings.kept {
            h.samples.pop_front();
        }
        h.samples.iter().map(|s| mib(s.rss_bytes)).collect()
    };
    let high = rss_mb > settings.threshold_mb as f64;
    if high && !alerts.high_memory {
        tracing::warn!(rss_mb, threshold_mb = settings.threshold_mb, "process memory exceeds the threshold");
    }
    alerts.high_memory = high;
    let leak = memory::detect_leak(&history).is_some_and(|l| l.detected);
    if leak && !alerts.leak {
        let growth_mb = memory::detect_leak(&history).map_or(0.0, |l| l.growth_mb);
        tracing::warn!(rss_mb, growth_mb, "possible memory leak: RSS rose steadily over the last 10 samples");
    }
    alerts.leak = leak;
}

/// sysinfo's view of this process and the system, refreshed on each sample.
struct Probe {
    system: System,
    pid: Pid,
    data_dir: PathBuf,
}

impl Probe {
    fn new(data_dir: PathBuf) -> Result<Probe, String> {
        let system = System::new().map_err(|e| format!("cannot read system information: {e}"))?;
        let pid = sysinfo::get_current_pid().map_err(|e| format!("cannot find the own process: {e}"))?;
        Ok(Probe { system, pid, data_dir })
    }

    fn sample(&mut self) -> Result<Sample, String> {
        let sys = &mut self.system;
        sys.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        sys.refresh_cpu_specifics(CpuRefreshKind::nothing().with_usage());
        let kind = ProcessRefreshKind::nothing().with_memory().with_cpu().with_tasks();
        sys.refresh_processes_specifics(ProcessesToUpdate::Some(&[self.pid]), true, kind);
        let process = sys.process(self.pid).ok_or("the own process is not visible")?;
        let disk = disk_usage(&self.data_dir)?;
        Ok(Sample {
            timestamp: now_string(),
            rss_bytes: process.memory(),
            vms_bytes: process.virtual_memory(),
            process_cpu_percent: memory::round2(f64::from(process.cpu_usage())),
            threads: process.tasks().map(|t| t.len()),
            fds: process.open_files(),
            system_total_bytes: sys.total_memory(),
            system_available_bytes: sys.available_memory(),
            system_cpu_percent: memory::round2(f64::from(sys.global_cpu_usage())),
            cpu_count: sys.cpus().len(),
            disk,
        })
    }
}

/// `statvfs` of `dir`'s filesystem.
pub fn disk_usage(dir: &std::path::Path) -> Result<DiskUsage, String> {
    let st = rustix::fs::statvfs(dir).map_err(|e| format!("cannot read disk usage of {}: {e}", dir.display()))?;
    let block = st.f_frsize;
    Ok(DiskUsage {
        total: st.f_blocks.saturating_mul(block),
        used: st.f_blocks.saturating_sub(st.f_bfree).saturating_mul(block),
        free: st.f_bavail.saturating_mul(block),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_directory_filesystem_has_a_size() {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = disk_usage(dir.path()).expect("statvfs");
        assert!(d.total > 0 && d.used <= d.total && d.free <= d.total);
        assert!((0.0..=100.0).contains(&d.percent()));
        assert!(disk_usage(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn a_probe_reads_this_process() {
        let dir = tempfile::tempdir().expect("temp dir");
        let s = Probe::new(dir.path().to_path_buf()).and_then(|mut p| p.sample()).expect("sample");
        assert!(s.rss_bytes > 0 && s.vms_bytes >= s.rss_bytes);
        assert!(s.system_total_bytes >= s.system_available_bytes && s.cpu_count > 0);
        assert!(s.threads.is_some_and(|n| n >= 1), "threads on Linux: {:?}", s.threads);
        assert!(s.fds.is_some_and(|n| n >= 3), "fds on Linux: {:?}", s.fds);
    }
}
