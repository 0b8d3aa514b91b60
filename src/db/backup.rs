//! The SQL of backups and restores: a dedicated connection to a database file, `VACUUM INTO`,
//! `PRAGMA integrity_check` and the migrations a file records. File handling (temporary names,
//! gzip, fsync, renames) belongs to `crate::backup`, not here.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

use super::MIGRATOR;

/// Open `path` on a connection of its own: read-write (a `query_only` connection cannot run
/// `VACUUM INTO`), never creating the file, journal mode left as the file has it.
pub async fn open_file(path: &Path, busy_timeout: Duration) -> Result<SqliteConnection, sqlx::Error> {
    let opts = SqliteConnectOptions::new().filename(path).create_if_missing(false).busy_timeout(busy_timeout);
    SqliteConnection::connect_with(&opts).await
}

/// Write a consistent copy of the whole database to `target` (which must not exist). It reads
/// one snapshot, so the writer keeps committing meanwhile.
pub async fn vacuum_into(conn: &mut SqliteConnection, target: &str) -> Result<(), sqlx::Error> {
    sqlx::query("VACUUM INTO ?").bind(target).execute(&mut *conn).await?;
    Ok(())
}

/// The lines of `PRAGMA integrity_check`: exactly `["ok"]` for a sound database.
pub async fn integrity_check(conn: &mut SqliteConnection) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&mut *conn).await
}

/// Why a database's recorded migrations do not fit this binary.
pub async fn migration_problem(conn: &mut SqliteConnection) -> Result<Option<String>, sqlx::Error> {
    let has_table: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
            .fetch_one(&mut *conn)
            .await?;
    if has_table == 0 {
        return Ok(Some("it has no _sqlx_migrations table (not an agent-kanban database)".into()));
    }
    let rows: Vec<(i64, Vec<u8>, bool)> =
        sqlx::query_as("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await?;
    Ok(check_migrations(&rows))
}

/// Every recorded migration must be one of ours, complete and with our checksum; at least one
/// must be recorded (otherwise `serve` would treat the database as new and seed it).
fn check_migrations(rows: &[(i64, Vec<u8>, bool)]) -> Option<String> {
    if rows.is_empty() {
        return Some("it records no applied migration".into());
    }
    for (version, checksum, success) in rows {
        let known = MIGRATOR.iter().find(|m| m.version == *version && !m.migration_type.is_down_migration());
        let problem = match known {
            None => format!("it records migration version {version}, unknown to this binary (written by a newer one?)"),
            Some(_) if !success => format!("migration version {version} did not complete"),
            Some(m) if m.checksum.as_ref() != checksum.as_slice() => {
                format!("migration version {version} has a different checksum than this binary's")
            }
            Some(_) => continue,
        };
        return Some(problem);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours() -> Vec<(i64, Vec<u8>, bool)> {
        MIGRATOR.iter().map(|m| (m.version, m.checksum.to_vec(), true)).collect()
    }

    #[test]
    fn the_binarys_own_migrations_pass() {
        assert_eq!(check_migrations(&ours()), None);
        assert_eq!(check_migrations(&ours()[..1]), None, "an older database is fine: serve migrates it");
    }

    #[test]
    fn unknown_failed_tampered_and_missing_migrations_are_named() {
        let mut unknown = ours();
        unknown.push((99_999_999, vec![0], true));
        assert!(check_migrations(&unknown).is_some_and(|p| p.contains("99999999")));
        let mut failed = ours();
        failed[0].2 = false;
        assert!(check_migrations(&failed).is_some_and(|p| p.contains("did not complete")));
        let mut tampered = ours();
        tampered[0].1 = vec![1, 2, 3];
        assert!(check_migrations(&tampered).is_some_and(|p| p.contains("checksum")));
        assert!(check_migrations(&[]).is_some());
    }
}
