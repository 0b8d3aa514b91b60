//! `agent-kanban restore FILE` (`ops.md` §7): verify a backup and install it as the database.
//!
//! The server must be stopped: the data-directory lock is taken for the whole restore, so it
//! fails while a server holds it and no server can start halfway through. FILE must match the
//! SHA-256 recorded in its sidecar `FILE.sha256` (written with every backup); a FILE without one is
//! refused unless the caller skips the check ([`Checksum::Skipped`], `--no-verify`). FILE is copied
//! (un-gzipped when it ends in `.gz`) to a temporary file beside the database and checked there;
//! until every check passed nothing of the current database has been touched. Then the current
//! database and its `-wal`/`-shm` are renamed to `<path>.pre-restore-YYYYMMDDTHHMMSSZ` and the
//! verified copy is renamed into place. FILE itself is never modified.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use sqlx::Connection;

use super::checksum::{self, Verdict};
use super::files::{self, TempFile, parent_dir};
use super::{BackupError, blocking, is_gz};
use crate::app::{StartError, lock_data_dir};
use crate::config::Config;
use crate::db;

/// Why a restore changed nothing (or, for `Install`, could not finish).
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(transparent)]
    Lock(#[from] StartError),
    #[error("{file} does not exist")]
    Missing { file: String },
    #[error("{file} is not a usable backup: {reason}; nothing was changed")]
    Rejected { file: String, reason: String },
    #[error(transparent)]
    Files(#[from] BackupError),
    #[error("cannot install the restored database: {0}")]
    Install(String),
}

/// What a successful restore did.
#[derive(Debug)]
pub struct Restored {
    /// The database now in place.
    pub database: PathBuf,
    /// Where the previous database went (`None` when there was none).
    pub previous: Option<PathBuf>,
}

/// Whether `restore` compares the backup with its SHA-256 sidecar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// The sidecar must exist and match (the default).
    Required,
    /// No comparison; `integrity_check` and the migration check still run.
    Skipped,
}

/// Verify `file` and install it as `config.database.path`.
pub async fn restore(config: &Config, file: &Path, sum: Checksum) -> Result<Restored, RestoreError> {
    let _lock = lock_data_dir(config)?;
    if !file.is_file() {
        return Err(RestoreError::Missing { file: file.display().to_string() });
    }
    if sum == Checksum::Required {
        check_sidecar(file).await?;
    }
    let target = config.database.path.clone();
    let base = target.file_name().map_or_else(|| "kanban.db".into(), |n| n.to_string_lossy().into_owned());
    let staged = TempFile::beside(parent_dir(&target), &base, "restore");
    let (from, to, gz) = (file.to_path_buf(), staged.path().to_path_buf(), is_gz(file));
    blocking(move || files::copy_in(&from, &to, gz)).await.map_err(|e| reject(file, e.to_string()))?;
    let busy = Duration::from_millis(config.database.busy_timeout_ms);
    if let Some(reason) = verify(staged.path(), busy).await {
        return Err(reject(file, reason));
    }
    let staged_path = staged.path().to_path_buf();
    let installed = tokio::task::spawn_blocking(move || install(&staged_path, &target))
        .await
        .map_err(|e| RestoreError::Install(e.to_string()))??;
    drop(staged);
    Ok(installed)
}

/// Refuse `file` unless it matches the digest in its sidecar.
async fn check_sidecar(file: &Path) -> Result<(), RestoreError> {
    let owned = file.to_path_buf();
    let verdict = blocking(move || checksum::verify(&owned)).await.map_err(|e| reject(file, e.to_string()))?;
    let sidecar = checksum::sidecar_of(file).display().to_string();
    let reason = match verdict {
        Verdict::Matches => return Ok(()),
        Verdict::NoSidecar => format!(
            "its checksum file {sidecar} is missing (every backup is written with one); to rely on \
             integrity_check alone, restore with --no-verify"
        ),
        Verdict::Unreadable => format!("its checksum file {sidecar} holds no SHA-256 digest"),
        Verdict::Differs { recorded, actual } => format!(
            "its SHA-256 is {actual}, not the {recorded} recorded in {sidecar}: the file changed after the backup \
             was written"
        ),
    };
    Err(reject(file, reason))
}

fn reject(file: &Path, reason: String) -> RestoreError {
    RestoreError::Rejected { file: file.display().to_string(), reason }
}

/// `None` when the copy at `path` passes `integrity_check` and records only our migrations.
async fn verify(path: &Path, busy: Duration) -> Option<String> {
    let result = async {
        let mut conn = db::backup::open_file(path, busy).await?;
        let lines = db::backup::integrity_check(&mut conn).await?;
        let problem = if lines != ["ok"] {
            Some(format!("integrity_check reported: {}", lines.join("; ")))
        } else {
            db::backup::migration_problem(&mut conn).await?
        };
        conn.close().await?;
        Ok::<_, sqlx::Error>(problem)
    }
    .await;
    // A checked file may leave its own WAL files behind; they belong to the temporary copy.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(path, suffix));
    }
    match result {
        Ok(problem) => problem,
        Err(e) => Some(format!("cannot read it as SQLite: {e}")),
    }
}

/// `path` with `suffix` appended to its file name (`kanban.db` + `-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Move the current database (and its WAL files) aside, then the verified copy into place. A
/// failure in between puts the moved files back.
fn install(staged: &Path, target: &Path) -> Result<Restored, RestoreError> {
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let aside = with_suffix(target, &format!(".pre-restore-{stamp}"));
    let moves: Vec<(PathBuf, PathBuf)> = ["", "-wal", "-shm"]
        .iter()
        .map(|s| (with_suffix(target, s), with_suffix(&aside, s)))
        .filter(|(from, _)| from.exists())
        .collect();
    if let Some((_, to)) = moves.iter().find(|(_, to)| to.exists()) {
        return Err(RestoreError::Install(format!("{} already exists; try again in a second", to.display())));
    }
    let mut done: Vec<&(PathBuf, PathBuf)> = Vec::new();
    for pair in &moves {
        if let Err(e) = std::fs::rename(&pair.0, &pair.1) {
            undo(&done);
            return Err(RestoreError::Install(format!("cannot rename {}: {e}", pair.0.display())));
        }
        done.push(pair);
    }
    if let Err(e) = std::fs::rename(staged, target) {
        undo(&done);
        return Err(RestoreError::Install(format!("cannot move the verified copy into place: {e}")));
    }
    files::sync_dir(parent_dir(target))?;
    let previous = moves.iter().any(|(from, _)| from == target).then_some(aside);
    Ok(Restored { database: target.to_path_buf(), previous })
}

fn undo(done: &[&(PathBuf, PathBuf)]) {
    for (from, to) in done.iter().rev() {
        if let Err(e) = std::fs::rename(to, from) {
            tracing::error!(error = %e, from = %to.display(), "cannot move a file back after a failed restore");
        }
    }
}
