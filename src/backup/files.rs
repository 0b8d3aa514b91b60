//! File plumbing shared by backups and restores: temporary files that delete themselves, gzip in
//! and out, fsync of files and directories, and publishing a file under a name that must not exist.
//! Everything here blocks: callers run it on a blocking thread.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use super::{BackupError, StopSignal};

const CHUNK: usize = 256 * 1024;

/// A temporary file, deleted when dropped (after success it has already been renamed away, so
/// the delete finds nothing). Dropping it is what cleans up after an error or a cancelled backup.
#[derive(Debug)]
pub(crate) struct TempFile(PathBuf);

impl TempFile {
    /// A hidden name in `dir` derived from `base`, unique per call; nothing is created yet.
    pub(crate) fn beside(dir: &Path, base: &str, purpose: &str) -> TempFile {
        TempFile(dir.join(format!(".{base}.{}.{purpose}", uuid::Uuid::new_v4().simple())))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        match fs::remove_file(&self.0) {
            Ok(()) => tracing::debug!(path = %self.0.display(), "removed temporary file"),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(path = %self.0.display(), error = %e, "cannot remove temporary file"),
        }
    }
}

/// An I/O error with what was being done and to which path.
pub(crate) fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> BackupError {
    let path = path.display().to_string();
    move |source| BackupError::Io { action, path, source }
}

/// gzip `src` into the new file `dst` (fsynced), checking `stop` between chunks.
pub(crate) fn gzip(src: &Path, dst: &Path, stop: &StopSignal) -> Result<(), BackupError> {
    let mut input = File::open(src).map_err(io_error("open", src))?;
    let out = OpenOptions::new().write(true).create_new(true).open(dst).map_err(io_error("create", dst))?;
    let mut encoder = GzEncoder::new(BufWriter::new(out), Compression::default());
    let mut buf = vec![0u8; CHUNK];
    loop {
        if stop.is_set() {
            return Err(BackupError::Cancelled);
        }
        let n = input.read(&mut buf).map_err(io_error("read", src))?;
        if n == 0 {
            break;
        }
        encoder.write_all(&buf[..n]).map_err(io_error("write", dst))?;
    }
    let out =
        encoder.finish().and_then(|w| w.into_inner().map_err(|e| e.into_error())).map_err(io_error("write", dst))?;
    out.sync_all().map_err(io_error("fsync", dst))
}

/// Copy `src` into the new file `dst` (fsynced), un-gzipping it when `gzipped`.
pub(crate) fn copy_in(src: &Path, dst: &Path, gzipped: bool) -> Result<(), BackupError> {
    let input = BufReader::new(File::open(src).map_err(io_error("open", src))?);
    let mut reader: Box<dyn Read> = if gzipped { Box::new(GzDecoder::new(input)) } else { Box::new(input) };
    let out = OpenOptions::new().write(true).create_new(true).open(dst).map_err(io_error("create", dst))?;
    let mut writer = BufWriter::new(out);
    io::copy(&mut reader, &mut writer).map_err(io_error(if gzipped { "decompress" } else { "copy" }, src))?;
    let out = writer.into_inner().map_err(|e| e.into_error()).map_err(io_error("write", dst))?;
    out.sync_all().map_err(io_error("fsync", dst))
}

/// Write `bytes` to the new file `path` and fsync it.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path).map_err(io_error("create", path))?;
    file.write_all(bytes).map_err(io_error("write", path))?;
    file.sync_all().map_err(io_error("fsync", path))
}

/// fsync a file that is already complete.
pub(crate) fn sync_file(path: &Path) -> Result<u64, BackupError> {
    let file = File::open(path).map_err(io_error("open", path))?;
    file.sync_all().map_err(io_error("fsync", path))?;
    Ok(file.metadata().map_err(io_error("stat", path))?.len())
}

/// fsync a directory, so the names created or renamed in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_error("fsync directory", dir))
}

/// Give the complete, fsynced file `tmp` the name `out`, which must not exist: `link(2)` fails
/// with `EEXIST` instead of replacing (a plain rename would silently overwrite), so publishing is
/// atomic and never clobbers. The temporary name is then removed and the directory fsynced.
pub(crate) fn publish_new(tmp: &Path, out: &Path) -> Result<(), BackupError> {
    fs::hard_link(tmp, out).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            BackupError::Exists(out.display().to_string())
        } else {
            io_error("link", out)(e)
        }
    })?;
    fs::remove_file(tmp).map_err(io_error("remove", tmp))?;
    sync_dir(parent_dir(out))
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_round_trips_and_publish_refuses_an_existing_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        let src = dir.path().join("src");
        fs::write(&src, b"hello backup".repeat(1000)).expect("write");
        let gz = TempFile::beside(dir.path(), "out.gz", "partial");
        gzip(&src, gz.path(), &StopSignal::never()).expect("gzip");
        let out = dir.path().join("out.gz");
        publish_new(gz.path(), &out).expect("publish");
        assert!(!gz.path().exists(), "the temporary name is gone");
        let back = dir.path().join("back");
        copy_in(&out, &back, true).expect("gunzip");
        assert_eq!(fs::read(&back).expect("read"), fs::read(&src).expect("read"));

        let again = TempFile::beside(dir.path(), "out.gz", "partial");
        fs::write(again.path(), b"other").expect("write");
        assert!(matches!(publish_new(again.path(), &out), Err(BackupError::Exists(_))));
        copy_in(&out, &back.with_extension("2"), true).expect("the published file is unchanged");
    }

    #[test]
    fn a_stopped_gzip_gives_up_and_its_temp_file_is_removed_on_drop() {
        let dir = tempfile::tempdir().expect("temp dir");
        let src = dir.path().join("src");
        fs::write(&src, b"x").expect("write");
        let (stop_tx, stop) = StopSignal::new();
        stop_tx.send_replace(true);
        let tmp = TempFile::beside(dir.path(), "a", "partial");
        let path = tmp.path().to_path_buf();
        assert!(matches!(gzip(&src, &path, &stop), Err(BackupError::Cancelled)));
        assert!(path.exists());
        drop(tmp);
        assert!(!path.exists());
    }
}
