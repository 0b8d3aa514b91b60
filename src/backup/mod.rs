//! Backups and restore of the SQLite database (`ops.md` §7).
//!
//! A backup is `VACUUM INTO` a temporary file on a connection opened for it (the writer keeps
//! committing; the copy is one consistent snapshot), then gzip when compressing, fsync, and an
//! atomic publish under the final name, which must not exist yet, together with its SHA-256
//! sidecar `<name>.sha256` ([`checksum`]). The temporary files are deleted on every failure and
//! when the server stops mid-backup ([`StopSignal`]).
//!
//! - [`schedule`]: the scheduled backups of a running server, their names and rotation.
//! - [`restore`]: `agent-kanban restore FILE`, which verifies the sidecar.
//!
//! This module never goes through the writer and never touches the live database file other than
//! reading it; SQL statements live in `db::backup`.

pub mod checksum;
mod files;
pub mod restore;
pub mod schedule;

use std::path::Path;
use std::time::Duration;

use sqlx::Connection;
use tokio::sync::watch;

use crate::config::DatabaseConfig;
use crate::db;
use files::{TempFile, io_error, parent_dir};

/// Why a backup failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists; a backup never overwrites a file")]
    Exists(String),
    #[error("database {0} does not exist")]
    NoDatabase(String),
    #[error("cannot {action} {path}: {source}")]
    Io { action: &'static str, path: String, source: std::io::Error },
    #[error("cannot read the database for the backup: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("the backup was cancelled (the server is stopping)")]
    Cancelled,
    #[error("the backup task ended unexpectedly: {0}")]
    Task(String),
}

/// Set once when the owner stops; a running backup sees it between steps (and SQLite's progress
/// handler sees it inside `VACUUM INTO`), gives up and deletes its temporary files.
#[derive(Debug, Clone)]
pub struct StopSignal(watch::Receiver<bool>);

impl StopSignal {
    /// A signal and the sender that sets it (`send_replace(true)`).
    pub fn new() -> (watch::Sender<bool>, StopSignal) {
        let (tx, rx) = watch::channel(false);
        (tx, StopSignal(rx))
    }

    /// A signal that is never set.
    pub fn never() -> StopSignal {
        StopSignal::new().1
    }

    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the signal is set (never, when its sender is gone without setting it).
    pub async fn wait(&mut self) {
        if self.0.wait_for(|set| *set).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// One backup to take.
#[derive(Debug, Clone, Copy)]
pub struct BackupRequest<'a> {
    /// The live database (its path and busy timeout).
    pub database: &'a DatabaseConfig,
    /// The file to create; it must not exist.
    pub out: &'a Path,
    pub compress: bool,
}

/// Take an online backup with its SHA-256 sidecar; returns the size of the backup written.
#[tracing::instrument(skip_all, fields(out = %req.out.display(), compress = req.compress))]
pub async fn create(req: BackupRequest<'_>, stop: &StopSignal) -> Result<u64, BackupError> {
    for taken in [req.out.to_path_buf(), checksum::sidecar_of(req.out)] {
        if taken.symlink_metadata().is_ok() {
            return Err(BackupError::Exists(taken.display().to_string()));
        }
    }
    if !req.database.path.exists() {
        return Err(BackupError::NoDatabase(req.database.path.display().to_string()));
    }
    let dir = parent_dir(req.out).to_path_buf();
    let base = req.out.file_name().map_or_else(|| "backup".into(), |n| n.to_string_lossy().into_owned());
    // Both temporary names are hidden and end in a purpose, so rotation never mistakes them for
    // backups; both are deleted when dropped, whatever happens below.
    let snapshot = TempFile::beside(&dir, &base, "snapshot");
    vacuum_into(req.database, snapshot.path(), stop).await?;
    let partial = if req.compress {
        let gz = TempFile::beside(&dir, &base, "partial");
        let (from, to, stop) = (snapshot.path().to_path_buf(), gz.path().to_path_buf(), stop.clone());
        blocking(move || files::gzip(&from, &to, &stop)).await?;
        drop(snapshot);
        gz
    } else {
        snapshot
    };
    if stop.is_set() {
        return Err(BackupError::Cancelled);
    }
    let (from, to) = (partial.path().to_path_buf(), req.out.to_path_buf());
    let size = blocking(move || publish_with_sidecar(&from, &to)).await?;
    drop(partial);
    tracing::info!(bytes = size, "backup written");
    Ok(size)
}

/// fsync and hash the complete file `tmp`, then publish it as `out` and its sidecar beside it. A
/// sidecar that cannot be published takes the backup with it: a backup never lacks its checksum.
fn publish_with_sidecar(tmp: &Path, out: &Path) -> Result<u64, BackupError> {
    let size = files::sync_file(tmp)?;
    let hex = checksum::sha256_hex(tmp)?;
    let name = out.file_name().map_or_else(|| "backup".into(), |n| n.to_string_lossy().into_owned());
    let sidecar = TempFile::beside(parent_dir(out), &name, "sha256");
    files::write_new(sidecar.path(), checksum::sidecar_line(&hex, &name).as_bytes())?;
    files::publish_new(tmp, out)?;
    if let Err(e) = files::publish_new(sidecar.path(), &checksum::sidecar_of(out)) {
        let _ = std::fs::remove_file(out);
        return Err(e);
    }
    Ok(size)
}

/// `VACUUM INTO target` on a connection of its own, interrupted when `stop` is set.
async fn vacuum_into(database: &DatabaseConfig, target: &Path, stop: &StopSignal) -> Result<(), BackupError> {
    let target_str = target.to_str().ok_or_else(|| BackupError::Io {
        action: "use",
        path: target.display().to_string(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path is not valid UTF-8"),
    })?;
    let mut conn = db::backup::open_file(&database.path, Duration::from_millis(database.busy_timeout_ms)).await?;
    let watched = stop.clone();
    // SQLite calls this every ~1000 VM instructions; `false` interrupts the statement.
    conn.lock_handle().await?.set_progress_handler(1000, move || !watched.is_set());
    let result = db::backup::vacuum_into(&mut conn, target_str).await;
    let _ = conn.close().await;
    match result {
        Err(_) if stop.is_set() => Err(BackupError::Cancelled),
        other => other.map_err(BackupError::from),
    }
}

/// Run blocking file work on a blocking thread, always to completion (never detached), so a
/// temporary file is never written after its owner deleted it.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BackupError> + Send + 'static,
) -> Result<T, BackupError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| BackupError::Task(e.to_string()))?
}

/// Whether `path` names a gzip file (it ends with `.gz`).
pub fn is_gz(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// Make sure `dir` exists.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), BackupError> {
    std::fs::create_dir_all(dir).map_err(io_error("create directory", dir))
}
