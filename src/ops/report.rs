//! The resource reports of `/health/detailed` and `/health/memory` (`ops.md` §1), built from a
//! sampler [`Snapshot`] and the connection counts: plain data in, response types out.

use serde::Serialize;
use utoipa::ToSchema;

use super::memory::{self, gib, mib};
use super::sampler::{DiskUsage, Sample, Snapshot};
use crate::domain::time::now_string;

/// CPU usage above this is reported as `high_cpu`.
const HIGH_CPU_PERCENT: f64 = 80.0;
/// Disk usage above this is reported as `low_disk_space`.
const LOW_DISK_USED_PERCENT: f64 = 90.0;

/// Open connections at the time of the request.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Connections {
    /// Open HTTP connections (upgraded WebSockets not included).
    pub http: usize,
    /// Open WebSockets.
    pub websocket: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessMemory {
    pub rss_mb: f64,
    pub vms_mb: f64,
    /// RSS as a share of the system's memory.
    pub percent: f64,
    pub num_threads: Option<usize>,
    /// Null where the platform cannot count them.
    pub num_fds: Option<usize>,
    /// Highest RSS among the retained samples.
    pub max_rss_mb: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SystemMemory {
    pub total_mb: f64,
    pub available_mb: f64,
    pub used_percent: f64,
}

/// `memory_info`: the newest sample's memory figures (MB = 1024² bytes, 2 decimals).
#[derive(Debug, Serialize, ToSchema)]
pub struct MemoryInfo {
    /// When the sample was taken.
    pub timestamp: String,
    pub process: ProcessMemory,
    pub system: SystemMemory,
    pub connections: Connections,
}

/// The data directory's filesystem (GB = 1024³ bytes, 2 decimals).
#[derive(Debug, Serialize, ToSchema)]
pub struct DiskReport {
    pub total_gb: f64,
    pub used_gb: f64,
    pub free_gb: f64,
    pub percent: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Issue {
    /// `high_memory`, `high_cpu` or `low_disk_space`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub message: String,
}

/// `GET /health/detailed`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DetailedHealth {
    /// `healthy`, `warning` (issues present) or `error` (no sample yet, or sampling failed).
    pub status: &'static str,
    pub timestamp: String,
    /// Whole-system CPU usage over the last sampling interval.
    pub cpu_percent: Option<f64>,
    pub memory: Option<MemoryInfo>,
    pub disk: Option<DiskReport>,
    /// Open HTTP connections + open WebSockets.
    pub network_connections: usize,
    /// Present only when non-empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issues: Option<Vec<Issue>>,
    /// Why sampling failed (present with status `error` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Leak detection over the newest 10 RSS samples; the verdict fields are null before 10 exist.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeakReport {
    pub detected: Option<bool>,
    pub growth_mb: Option<f64>,
    /// Samples the verdict looks at (at most 10).
    pub readings: usize,
    pub increasing_trend: Option<bool>,
    pub current_mb: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemoryStatisticsReport {
    pub min_mb: f64,
    pub max_mb: f64,
    pub avg_mb: f64,
    pub latest_mb: f64,
}

/// `GET /health/memory`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemoryReport {
    pub current: Option<MemoryInfo>,
    pub leak_detection: LeakReport,
    /// Samples retained.
    pub history_count: usize,
    pub threshold_mb: u64,
    /// Whether the sampler is running.
    pub monitoring: bool,
    /// Absent when there are no samples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statistics: Option<MemoryStatisticsReport>,
}

pub fn disk_report(d: &DiskUsage) -> DiskReport {
    DiskReport { total_gb: gib(d.total), used_gb: gib(d.used), free_gb: gib(d.free), percent: d.percent() }
}

fn system_used_percent(s: &Sample) -> f64 {
    let used = s.system_total_bytes.saturating_sub(s.system_available_bytes);
    memory::percent(used as f64, s.system_total_bytes as f64)
}

fn memory_info(s: &Sample, max_rss_mb: f64, connections: Connections) -> MemoryInfo {
    MemoryInfo {
        timestamp: s.timestamp.clone(),
        process: ProcessMemory {
            rss_mb: mib(s.rss_bytes),
            vms_mb: mib(s.vms_bytes),
            percent: memory::percent(s.rss_bytes as f64, s.system_total_bytes as f64),
            num_threads: s.threads,
            num_fds: s.fds,
            max_rss_mb,
        },
        system: SystemMemory {
            total_mb: mib(s.system_total_bytes),
            available_mb: mib(s.system_available_bytes),
            used_percent: system_used_percent(s),
        },
        connections,
    }
}

/// `memory_info` of the newest sample, if any.
pub fn current_memory(snapshot: &Snapshot, connections: Connections) -> Option<MemoryInfo> {
    let max = snapshot.rss_mb.iter().copied().fold(0.0, f64::max);
    snapshot.latest().map(|s| memory_info(s, max, connections))
}

fn issues(s: &Sample, threshold_mb: u64) -> Vec<Issue> {
    let mut out = Vec::new();
    let rss = mib(s.rss_bytes);
    if rss > threshold_mb as f64 {
        let message = format!("Process memory {rss} MB exceeds the threshold of {threshold_mb} MB");
        out.push(Issue { kind: "high_memory", message });
    }
    if s.system_cpu_percent > HIGH_CPU_PERCENT {
        out.push(Issue { kind: "high_cpu", message: format!("CPU usage is {}%", s.system_cpu_percent) });
    }
    let disk = s.disk.percent();
    if disk > LOW_DISK_USED_PERCENT {
        out.push(Issue { kind: "low_disk_space", message: format!("Disk usage is {disk}%") });
    }
    out
}

/// `/health/detailed` from a snapshot.
pub fn detailed(snapshot: &Snapshot, connections: Connections, threshold_mb: u64) -> DetailedHealth {
    let latest = snapshot.latest();
    let issues = latest.map(|s| issues(s, threshold_mb)).filter(|i| !i.is_empty());
    let error = match (latest, &snapshot.last_error) {
        (_, Some(e)) => Some(e.clone()),
        (None, None) => Some("no resource sample is available yet".to_owned()),
        (Some(_), None) => None,
    };
    let status = match (&error, &issues) {
        (Some(_), _) => "error",
        (None, Some(_)) => "warning",
        (None, None) => "healthy",
    };
    DetailedHealth {
        status,
        timestamp: now_string(),
        cpu_percent: latest.map(|s| s.system_cpu_percent),
        memory: current_memory(snapshot, connections),
        disk: latest.map(|s| disk_report(&s.disk)),
        network_connections: connections.http + connections.websocket,
        issues,
        error,
    }
}

/// `/health/memory` from a snapshot.
pub fn memory_report(snapshot: &Snapshot, connections: Connections, threshold_mb: u64) -> MemoryReport {
    let rss = &snapshot.rss_mb;
    let leak = memory::detect_leak(rss);
    MemoryReport {
        current: current_memory(snapshot, connections),
        leak_detection: LeakReport {
            detected: leak.map(|l| l.detected),
            growth_mb: leak.map(|l| l.growth_mb),
            readings: rss.len().min(memory::LEAK_WINDOW),
            increasing_trend: leak.map(|l| l.increasing_trend),
            current_mb: rss.last().copied(),
        },
        history_count: rss.len(),
        threshold_mb,
        monitoring: snapshot.monitoring,
        statistics: memory::statistics(rss).map(|s| MemoryStatisticsReport {
            min_mb: s.min_mb,
            max_mb: s.max_mb,
            avg_mb: s.avg_mb,
            latest_mb: s.latest_mb,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1024 * 1024;

    fn sample(rss_mb: u64, cpu: f64, disk_used: u64, disk_free: u64) -> Sample {
        Sample {
            timestamp: "2026-01-01T00:00:00.000Z".into(),
            rss_bytes: rss_mb * MB,
            vms_bytes: 4 * rss_mb * MB,
            process_cpu_percent: 1.0,
            threads: Some(8),
            fds: None,
            system_total_bytes: 1000 * MB,
            system_available_bytes: 600 * MB,
            system_cpu_percent: cpu,
            cpu_count: 2,
            disk: DiskUsage { total: disk_used + disk_free, used: disk_used, free: disk_free },
        }
    }

    fn snap(samples: Vec<Sample>, last_error: Option<&str>) -> Snapshot {
        Snapshot::of(&samples, last_error.map(str::to_owned), true)
    }

    const CONNS: Connections = Connections { http: 2, websocket: 3 };

    #[test]
    fn a_quiet_process_is_healthy_without_issues() {
        let d = detailed(&snap(vec![sample(50, 3.0, 40, 60)], None), CONNS, 200);
        assert_eq!((d.status, d.network_connections), ("healthy", 5));
        assert!(d.issues.is_none() && d.error.is_none());
        let m = d.memory.expect("memory");
        assert_eq!((m.process.rss_mb, m.process.percent, m.system.used_percent), (50.0, 5.0, 40.0));
        assert_eq!(d.disk.expect("disk").percent, 40.0);
    }

    #[test]
    fn thresholds_raise_issues_and_a_warning() {
        let d = detailed(&snap(vec![sample(250, 95.0, 95, 5)], None), CONNS, 200);
        assert_eq!(d.status, "warning");
        let kinds: Vec<&str> = d.issues.expect("issues").iter().map(|i| i.kind).collect();
        assert_eq!(kinds, ["high_memory", "high_cpu", "low_disk_space"]);
    }

    #[test]
    fn no_sample_or_a_failed_sample_is_an_error() {
        let none = detailed(&snap(vec![], None), CONNS, 200);
        assert_eq!(none.status, "error");
        assert!(none.memory.is_none() && none.cpu_percent.is_none());
        let failed = detailed(&snap(vec![sample(50, 3.0, 40, 60)], Some("statvfs failed")), CONNS, 200);
        assert_eq!((failed.status, failed.error.as_deref()), ("error", Some("statvfs failed")));
    }

    #[test]
    fn the_memory_report_has_a_verdict_from_ten_samples() {
        let few = memory_report(&snap((0..9).map(|i| sample(40 + i, 1.0, 1, 1)).collect(), None), CONNS, 200);
        assert_eq!((few.leak_detection.detected, few.leak_detection.readings, few.history_count), (None, 9, 9));
        let ten = memory_report(&snap((0..12).map(|i| sample(40 + i, 1.0, 1, 1)).collect(), None), CONNS, 200);
        let l = &ten.leak_detection;
        assert_eq!((l.detected, l.growth_mb, l.readings, l.current_mb), (Some(true), Some(9.0), 10, Some(51.0)));
        let stats = ten.statistics.expect("statistics");
        assert_eq!((stats.min_mb, stats.max_mb, stats.avg_mb), (40.0, 51.0, 45.5));
        assert_eq!(ten.current.expect("current").process.max_rss_mb, 51.0);
        assert!(memory_report(&snap(vec![], None), CONNS, 200).statistics.is_none());
    }
}
