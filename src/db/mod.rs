//! Storage: opening the database, migrations, the read-only pool and the single writer.
//!
//! Every SQL statement of the server lives in this module tree. Functions take a connection or
//! pool and return domain types; sqlx errors end here (as `ApiError::Internal`) and "not found"
//! becomes `ApiError::NotFound`, so handlers never see sqlx.

pub mod backup;
pub mod boards;
pub mod bulk;
pub mod comments;
pub mod events;
pub mod health;
pub mod history;
pub mod housekeeping;
pub mod idempotency;
pub mod pinning;
pub mod sessions;
pub mod stats;
pub mod tickets;
pub mod tokens;
pub mod users;
pub mod writer;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};

use crate::config::{DatabaseConfig, Synchronous};
use crate::domain::columns::DEFAULT_COLUMNS;
use crate::domain::time::now_string;

/// Migrations embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open database {path}: {source}")]
    Connect { path: String, source: sqlx::Error },
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database check failed: {0}")]
    Check(String),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

fn base_options(cfg: &DatabaseConfig) -> Result<SqliteConnectOptions, OpenError> {
    let path = cfg.path.to_string_lossy().into_owned();
    let opts = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
        .map_err(|source| OpenError::Connect { path, source })?
        .foreign_keys(true)
        .busy_timeout(Duration::from_millis(cfg.busy_timeout_ms));
    Ok(opts)
}

/// Open the only read-write connection: WAL, the configured `synchronous`, foreign keys on.
pub async fn open_writer(cfg: &DatabaseConfig) -> Result<SqliteConnection, OpenError> {
    let sync = match cfg.synchronous {
        Synchronous::Full => SqliteSynchronous::Full,
        Synchronous::Normal => SqliteSynchronous::Normal,
    };
    let opts = base_options(cfg)?.create_if_missing(true).journal_mode(SqliteJournalMode::Wal).synchronous(sync);
    let path = cfg.path.display().to_string();
    // Opened from a thread bound to the writer's CPU, so the connection's SQLite thread is too.
    let cpu = pinning::writer_cpu(cfg.pin_writer);
    let connected = pinning::run_on_own_thread("kanban-writer-open", cpu, move || async move {
        SqliteConnection::connect_with(&opts).await
    })
    .await
    .map_err(|e| OpenError::Check(format!("cannot start the writer's thread: {e}")))?;
    connected.map_err(|source| OpenError::Connect { path, source })
}

/// Open the read-only pool (`query_only = ON`); the database must already exist.
pub async fn open_read_pool(cfg: &DatabaseConfig) -> Result<SqlitePool, OpenError> {
    // A negative cache_size is in KiB. Eight connections at SQLite's default 2 MiB each held most
    // of the memory a loaded server gained; reads miss into the OS file cache instead.
    let cache = format!("-{}", cfg.read_cache_kib);
    let opts = base_options(cfg)?.pragma("query_only", "ON").pragma("cache_size", cache);
    SqlitePoolOptions::new()
        .max_connections(cfg.read_pool_size)
        .min_connections(1)
        .test_before_acquire(false)
        .connect_with(opts)
        .await
        .map_err(|source| OpenError::Connect { path: cfg.path.display().to_string(), source })
}

/// Apply pending migrations; returns whether the database was brand new (no migration applied
/// before this call).
pub async fn migrate(conn: &mut SqliteConnection) -> Result<bool, OpenError> {
    let has_table: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
            .fetch_one(&mut *conn)
            .await?;
    let applied: i64 = if has_table > 0 {
        sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations").fetch_one(&mut *conn).await?
    } else {
        0
    };
    MIGRATOR.run(&mut *conn).await?;
    Ok(applied == 0)
}

/// `PRAGMA quick_check` must answer `ok`; otherwise the error carries every line it reported.
pub async fn quick_check(conn: &mut SqliteConnection) -> Result<(), OpenError> {
    // A page too broken to read makes the pragma itself fail (SQLITE_CORRUPT): that is a finding too.
    let lines: Vec<String> = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| OpenError::Check(format!("quick_check failed: {e}")))?;
    if lines == ["ok"] { Ok(()) } else { Err(OpenError::Check(format!("quick_check reported: {}", lines.join("; ")))) }
}

/// Insert the welcome board of a brand-new database (no event is logged).
pub async fn seed_default_board(conn: &mut SqliteConnection) -> Result<(), OpenError> {
    let now = now_string();
    let columns = serde_json::to_string(&DEFAULT_COLUMNS).map_err(|e| OpenError::Check(e.to_string()))?;
    sqlx::query(
        "INSERT INTO boards (name, description, columns, version, event_seq, created_at, updated_at)
         VALUES ('My First Board', 'Welcome to your kanban board!', ?, 1, 0, ?, ?)",
    )
    .bind(columns)
    .bind(&now)
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Create the parent directory of the database file when missing.
pub fn ensure_parent_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir),
        _ => Ok(()),
    }
}

/// Cap the database at its current size plus `extra_pages` pages (`PRAGMA max_page_count`, which
/// lasts as long as the connection), or lift the cap with `None`; returns the cap in force. Lets
/// tests reproduce `SQLITE_FULL` without filling a disk.
pub async fn limit_page_count(conn: &mut SqliteConnection, extra_pages: Option<u32>) -> Result<i64, sqlx::Error> {
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(&mut *conn).await?;
    let cap = extra_pages.map_or(i64::from(u32::MAX - 1), |extra| pages + i64::from(extra));
    // The pragma takes no bound parameter; `cap` is an integer we computed.
    let sql = sqlx::AssertSqlSafe(format!("PRAGMA max_page_count = {cap}"));
    sqlx::query_scalar(sql).fetch_one(&mut *conn).await
}
