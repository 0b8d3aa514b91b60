//! Scheduled backups of a running server: every `backup.interval_hours` after start (when
//! `backup.enabled`) a backup named `kanban-YYYYMMDDTHHMMSSZ.db.gz` (`.db` uncompressed) is
//! written to the backup directory with its `.sha256` sidecar, then files of that pattern beyond
//! the newest `backup.keep` are deleted with their sidecars. Nothing else in the directory is
//! ever touched. A failure is logged at `error`;
//! the next interval simply tries again.

use std::collections::HashSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot, watch};

use super::{BackupError, BackupRequest, StopSignal, blocking, ensure_dir, io_error};
use crate::config::{BackupConfig, DatabaseConfig};

const PREFIX: &str = "kanban-";
/// A backup's checksum file is its name plus this ([`super::checksum::sidecar_of`]).
const SIDECAR_SUFFIX: &str = ".sha256";
/// `YYYYMMDDTHHMMSSZ`
const STAMP_LEN: usize = 16;

/// How long [`Scheduler::stop`] waits for a running backup to notice the stop and clean up.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// The name of a scheduled backup taken at `at`.
pub fn file_name(at: DateTime<Utc>, compress: bool) -> String {
    format!("{PREFIX}{}{}", at.format("%Y%m%dT%H%M%SZ"), if compress { ".db.gz" } else { ".db" })
}

/// The timestamp of a scheduled backup's name (`kanban-YYYYMMDDTHHMMSSZ.db` or `.db.gz`), else
/// `None`: the only names rotation may delete.
pub fn stamp_of(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(PREFIX)?;
    let stamp = rest.get(..STAMP_LEN)?;
    if !matches!(&rest[STAMP_LEN..], ".db" | ".db.gz") {
        return None;
    }
    let shape_ok = stamp.bytes().enumerate().all(|(i, b)| match i {
        8 => b == b'T',
        15 => b == b'Z',
        _ => b.is_ascii_digit(),
    });
    shape_ok.then_some(stamp)
}

/// What rotation finds in a backup directory.
#[derive(Default)]
struct Listing {
    /// Scheduled backups as (stamp, name).
    backups: Vec<(String, String)>,
    /// The names of their sidecars (also of sidecars whose backup is gone).
    sidecars: Vec<String>,
}

/// The scheduled backups in `dir` and their sidecars.
fn list_scheduled(dir: &Path) -> Result<Listing, BackupError> {
    let mut found = Listing::default();
    for entry in std::fs::read_dir(dir).map_err(io_error("list", dir))? {
        let entry = entry.map_err(io_error("list", dir))?;
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        let Some(name) = entry.file_name().to_str().filter(|_| is_file).map(str::to_owned) else { continue };
        if let Some(stamp) = stamp_of(&name) {
            found.backups.push((stamp.to_owned(), name));
        } else if name.strip_suffix(SIDECAR_SUFFIX).is_some_and(|b| stamp_of(b).is_some()) {
            found.sidecars.push(name);
        }
    }
    Ok(found)
}

/// Delete scheduled backups in `dir` beyond the newest `keep` (by the time in their names), with
/// their SHA-256 sidecars; returns the deleted paths.
pub fn rotate(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, BackupError> {
    let Listing { mut backups, sidecars } = list_scheduled(dir)?;
    // Newest first; the name breaks ties between a `.db` and a `.db.gz` of the same second.
    backups.sort_by(|a, b| b.cmp(a));
    let kept: HashSet<String> = backups.iter().take(keep).map(|(_, name)| name.clone()).collect();
    let orphaned = sidecars.into_iter().filter(|s| !kept.contains(s.trim_end_matches(SIDECAR_SUFFIX)));
    let doomed = backups.into_iter().skip(keep).map(|(_, name)| name).chain(orphaned);
    let mut removed = Vec::new();
    for name in doomed {
        let path = dir.join(name);
        std::fs::remove_file(&path).map_err(io_error("remove", &path))?;
        removed.push(path);
    }
    Ok(removed)
}

/// What a scheduled backup needs to know.
#[derive(Debug, Clone)]
pub struct ScheduleSettings {
    pub database: DatabaseConfig,
    pub backup: BackupConfig,
    /// The resolved backup directory.
    pub dir: PathBuf,
}

/// Take one scheduled backup now and rotate; returns the new file.
pub async fn run_once(settings: &ScheduleSettings, stop: &StopSignal) -> Result<PathBuf, BackupError> {
    ensure_dir(&settings.dir)?;
    let out = settings.dir.join(file_name(Utc::now(), settings.backup.compress));
    let req = BackupRequest { database: &settings.database, out: &out, compress: settings.backup.compress };
    super::create(req, stop).await?;
    let (dir, keep) = (settings.dir.clone(), settings.backup.keep);
    let removed = blocking(move || rotate(&dir, keep)).await?;
    if !removed.is_empty() {
        tracing::info!(removed = removed.len(), "old backups and their checksum files rotated out");
    }
    Ok(out)
}

type Reply = oneshot::Sender<Result<PathBuf, BackupError>>;

/// The scheduled-backup job of a running server.
pub struct Scheduler {
    stop: watch::Sender<bool>,
    trigger: mpsc::Sender<Reply>,
    join: tokio::task::JoinHandle<()>,
}

impl Scheduler {
    /// Start the job. Backups run on their own timer only when `backup.enabled`; the job always
    /// accepts [`Scheduler::run_now`].
    pub fn spawn(settings: ScheduleSettings) -> Scheduler {
        let (stop, signal) = StopSignal::new();
        let (trigger, triggers) = mpsc::channel(4);
        let join = tokio::spawn(run(settings, triggers, signal));
        Scheduler { stop, trigger, join }
    }

    /// Ask the job for a backup now. The returned future does not borrow the scheduler: it
    /// resolves with the new file, or `Cancelled` when the server stops first.
    pub fn run_now(&self) -> impl Future<Output = Result<PathBuf, BackupError>> + Send + 'static {
        let trigger = self.trigger.clone();
        async move {
            let (tx, rx) = oneshot::channel();
            trigger.send(tx).await.map_err(|_| BackupError::Cancelled)?;
            rx.await.map_err(|_| BackupError::Cancelled)?
        }
    }

    /// Stop the job: a running backup gives up and deletes its temporary files.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        let mut join = self.join;
        if tokio::time::timeout(STOP_WAIT, &mut join).await.is_err() {
            tracing::warn!("the backup job did not stop in time; aborting it");
            join.abort();
        }
    }
}

async fn run(settings: ScheduleSettings, mut triggers: mpsc::Receiver<Reply>, mut stop: StopSignal) {
    let every = Duration::from_secs(settings.backup.interval_hours * 3600);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let reply = tokio::select! {
            () = stop.wait() => return,
            _ = ticker.tick(), if settings.backup.enabled => None,
            Some(reply) = triggers.recv() => Some(reply),
        };
        let result = run_once(&settings, &stop).await;
        match &result {
            Ok(path) => tracing::info!(path = %path.display(), "scheduled backup written"),
            Err(BackupError::Cancelled) => tracing::info!("scheduled backup cancelled by shutdown"),
            Err(e) => tracing::error!(error = %e, "scheduled backup failed; retrying at the next interval"),
        }
        if let Some(reply) = reply {
            let _ = reply.send(result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_utc_time_and_the_extension() {
        let at = DateTime::parse_from_rfc3339("2026-03-04T05:06:07Z").expect("time").with_timezone(&Utc);
        assert_eq!(file_name(at, true), "kanban-20260304T050607Z.db.gz");
        assert_eq!(file_name(at, false), "kanban-20260304T050607Z.db");
        assert_eq!(stamp_of(&file_name(at, true)), Some("20260304T050607Z"));
    }

    #[test]
    fn only_the_exact_pattern_counts_as_a_scheduled_backup() {
        for name in ["kanban-20260304T050607Z.db", "kanban-20260304T050607Z.db.gz"] {
            assert!(stamp_of(name).is_some(), "{name}");
        }
        for name in [
            "kanban.db",
            "kanban-latest.db.gz",
            "kanban-20260304T050607Z.db.gz.bak",
            "kanban-20260304T050607Z.sql",
            "kanban-2026030XT050607Z.db",
            "kanban-20260304 050607Z.db",
            "kanban-20260304T050607.db.gz",
            ".kanban-20260304T050607Z.db.gz.1234.partial",
            "my-kanban-20260304T050607Z.db",
        ] {
            assert!(stamp_of(name).is_none(), "{name}");
        }
    }

    #[test]
    fn rotation_keeps_the_newest_and_leaves_other_files_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let names = [
            "kanban-20260101T000000Z.db.gz",
            "kanban-20260101T000000Z.db.gz.sha256",
            "kanban-20260301T000000Z.db",
            "kanban-20260301T000000Z.db.sha256",
            "kanban-20251201T000000Z.db.gz.sha256",
            "kanban-20260201T000000Z.db.gz",
            "kanban-20260401T000000Z.db.gz",
            "notes.txt",
            "kanban-manual.db.gz",
        ];
        for n in names {
            std::fs::write(dir.path().join(n), n).expect("write");
        }
        let removed = rotate(dir.path(), 2).expect("rotate");
        assert_eq!(removed.len(), 4, "two backups, one's sidecar and an orphaned sidecar: {removed:?}");
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "kanban-20260301T000000Z.db",
                "kanban-20260301T000000Z.db.sha256",
                "kanban-20260401T000000Z.db.gz",
                "kanban-manual.db.gz",
                "notes.txt"
            ]
        );
    }
}
