//! The SHA-256 sidecar of a backup: `<file>.sha256`, one line in `sha256sum`'s format
//! (`<64 hex digits>  <file name>\n`), so `sha256sum -c` checks a backup from its directory as
//! well as `restore` does. `integrity_check` sees only a database's structure; the checksum also
//! catches a changed byte inside a row. Everything here blocks: callers run it on a blocking thread.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::BackupError;
use super::files::io_error;

/// The sidecar of `backup`: its name with `.sha256` appended.
pub fn sidecar_of(backup: &Path) -> PathBuf {
    let mut name = backup.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

/// The SHA-256 of the file at `path`, as lowercase hex.
pub fn sha256_hex(path: &Path) -> Result<String, BackupError> {
    let mut file = File::open(path).map_err(io_error("open", path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(io_error("read", path))?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// The sidecar's line for a file named `name` with digest `hex`.
pub fn sidecar_line(hex: &str, name: &str) -> String {
    format!("{hex}  {name}\n")
}

/// The digest a sidecar's text records: its first field, when that is 64 hex digits (the name
/// after it is not checked, so a renamed backup with a renamed sidecar still verifies).
pub fn recorded_digest(text: &str) -> Option<String> {
    let first = text.split_whitespace().next()?;
    (first.len() == 64 && first.bytes().all(|b| b.is_ascii_hexdigit())).then(|| first.to_ascii_lowercase())
}

/// How a backup compares with its sidecar.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Matches,
    /// No `<file>.sha256` beside it.
    NoSidecar,
    /// The sidecar exists but holds no digest.
    Unreadable,
    Differs {
        recorded: String,
        actual: String,
    },
}

/// Compare `backup` with its sidecar.
pub fn verify(backup: &Path) -> Result<Verdict, BackupError> {
    let sidecar = sidecar_of(backup);
    let text = match std::fs::read_to_string(&sidecar) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Verdict::NoSidecar),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => return Ok(Verdict::Unreadable),
        Err(e) => return Err(io_error("read", &sidecar)(e)),
    };
    let Some(recorded) = recorded_digest(&text) else { return Ok(Verdict::Unreadable) };
    let actual = sha256_hex(backup)?;
    Ok(if actual == recorded { Verdict::Matches } else { Verdict::Differs { recorded, actual } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sidecar_is_sha256sums_format_and_verifies_its_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let backup = dir.path().join("b.db");
        std::fs::write(&backup, b"abc").expect("write");
        let hex = sha256_hex(&backup).expect("hash");
        // The SHA-256 of "abc" (FIPS 180-2, appendix B.1).
        assert_eq!(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(sidecar_line(&hex, "b.db"), format!("{hex}  b.db\n"));
        assert_eq!(sidecar_of(&backup), dir.path().join("b.db.sha256"));
        assert_eq!(verify(&backup).expect("verify"), Verdict::NoSidecar);
        std::fs::write(sidecar_of(&backup), sidecar_line(&hex, "b.db")).expect("write sidecar");
        assert_eq!(verify(&backup).expect("verify"), Verdict::Matches);
        std::fs::write(&backup, b"abd").expect("change a byte");
        assert!(matches!(verify(&backup).expect("verify"), Verdict::Differs { .. }));
        std::fs::write(sidecar_of(&backup), "not a digest\n").expect("write sidecar");
        assert_eq!(verify(&backup).expect("verify"), Verdict::Unreadable);
    }

    #[test]
    fn a_recorded_digest_is_the_first_field_of_64_hex_digits() {
        let hex = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
        assert_eq!(recorded_digest(&format!("{hex} *renamed.db.gz\n")), Some(hex.to_ascii_lowercase()));
        assert_eq!(recorded_digest(""), None);
        assert_eq!(recorded_digest(&hex[1..]), None);
        assert_eq!(recorded_digest(&hex.replace('B', "g")), None);
    }
}
