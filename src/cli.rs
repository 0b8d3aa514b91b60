//! Command line: `agent-kanban [--config-dir DIR] [serve|migrate|backup|restore|check-config|create-admin|mcp]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::{Server, StartError, lock_data_dir};
use crate::backup::restore::Checksum;
use crate::backup::{self, BackupRequest, StopSignal};
use crate::config::Config;
use crate::db;
use crate::db::users::NewUser;
use crate::domain::time::now_string;
use crate::domain::user::Registration;
use crate::shutdown::Signals;

#[derive(Debug, Parser)]
#[command(name = "agent-kanban", version, about = "Kanban board server: REST API over SQLite")]
pub struct Cli {
    /// Directory holding `local.toml`.
    #[arg(long, env = "KANBAN_CONFIG_DIR", default_value = "./config", global = true)]
    pub config_dir: PathBuf,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server until SIGTERM/SIGINT (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Validate the configuration and print the effective values (secrets redacted).
    CheckConfig,
    /// Create an admin account (for headless set-up or with registration disabled).
    CreateAdmin(CreateAdmin),
    /// Write an online, consistent copy of the database (works while the server runs).
    Backup(BackupArgs),
    /// Verify a backup and install it as the database (the server must be stopped).
    Restore(RestoreArgs),
    /// Relay MCP over stdio to a running server's `/mcp` endpoint (for stdio-only MCP clients).
    #[cfg(feature = "stdio-bridge")]
    Mcp(McpBridge),
}

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The file to create (gzip when it ends in `.gz`), with its SHA-256 in `FILE.sha256`; neither
    /// may exist.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A backup written by `backup` or the scheduled backups (`.db` or `.db.gz`), with its SHA-256
    /// sidecar `FILE.sha256` beside it.
    pub file: PathBuf,
    /// Skip comparing FILE with `FILE.sha256` (for a backup without one); integrity_check and the
    /// migration check still run.
    #[arg(long)]
    pub no_verify: bool,
}

#[cfg(feature = "stdio-bridge")]
#[derive(Debug, clap::Args)]
pub struct McpBridge {
    /// The server's MCP endpoint, e.g. `http://127.0.0.1:18000/mcp` (`https://` works too).
    #[arg(long)]
    pub url: String,
    /// An access token, sent as `Authorization: Bearer <token>` (default: the anonymous role).
    #[arg(long, env = "KANBAN_MCP_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// Run the stdio bridge; exit 1 when the relay fails.
#[cfg(feature = "stdio-bridge")]
pub async fn mcp_bridge(args: McpBridge) -> ExitCode {
    match crate::mcp::bridge::run(&args.url, args.token).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct CreateAdmin {
    #[arg(long, env = "KANBAN_ADMIN_USERNAME")]
    pub username: String,
    #[arg(long, env = "KANBAN_ADMIN_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// Defaults to `<username>@example.invalid`.
    #[arg(long, env = "KANBAN_ADMIN_EMAIL")]
    pub email: Option<String>,
}

/// Create an admin with the registration rules; exit 1 when the user exists or a rule fails.
pub async fn create_admin(config: Config, args: CreateAdmin) -> ExitCode {
    let email = args.email.unwrap_or_else(|| format!("{}@example.invalid", args.username.trim().to_lowercase()));
    let body = serde_json::json!({"username": args.username, "email": email, "password": args.password});
    let reg = match Registration::parse(&body) {
        Ok(r) => r,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {}: {}", e.field.trim_start_matches("body."), e.message);
            }
            return ExitCode::from(1);
        }
    };
    let result = async {
        db::ensure_parent_dir(&config.database.path).map_err(|e| format!("cannot create the data directory: {e}"))?;
        let mut conn = db::open_writer(&config.database).await.map_err(|e| e.to_string())?;
        db::migrate(&mut conn).await.map_err(|e| e.to_string())?;
        let password = reg.password.clone();
        let hash = tokio::task::spawn_blocking(move || crate::auth::password::hash_blocking(&password))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let new = NewUser { username: &reg.username, email: &reg.email, password_hash: &hash, role: "admin" };
        db::users::insert(&mut conn, new, &now_string()).await.map_err(|e| e.to_string())
    }
    .await;
    match result {
        Ok(user) => {
            println!("created admin {} (id {})", user.username, user.id);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Run `serve` until a shutdown signal; exit 1 on a fatal error, or at once on a second signal.
pub async fn serve(config: Config) -> ExitCode {
    // Listening before start, so a signal during start-up is not lost (nor kills the process).
    let mut signals = match Signals::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot listen for shutdown signals: {e}");
            return ExitCode::from(1);
        }
    };
    let server = match Server::start(config).await {
        Ok(s) => s,
        Err(e) => return fatal(&e),
    };
    signals.recv().await;
    tracing::info!("shutdown signal received; draining");
    tokio::spawn(async move {
        signals.recv().await;
        tracing::error!("second shutdown signal received; exiting immediately");
        eprintln!("error: second shutdown signal received; exiting immediately");
        std::process::exit(1);
    });
    match server.stop().await {
        Ok(()) => {
            tracing::info!("stopped cleanly");
            ExitCode::SUCCESS
        }
        Err(e) => fatal(&e),
    }
}

fn fatal(e: &StartError) -> ExitCode {
    tracing::error!(error = %e, "fatal");
    eprintln!("error: {e}");
    ExitCode::from(1)
}

/// Apply pending migrations, printing each newly applied version.
pub async fn migrate(config: Config) -> ExitCode {
    let result = async {
        let _lock = lock_data_dir(&config)?;
        let mut conn = db::open_writer(&config.database).await?;
        let before = applied_versions(&mut conn).await.unwrap_or_default();
        db::migrate(&mut conn).await?;
        let after = applied_versions(&mut conn).await.map_err(db::OpenError::from)?;
        Ok::<_, StartError>(after.into_iter().filter(|v| !before.contains(v)).collect::<Vec<_>>())
    }
    .await;
    match result {
        Ok(applied) => {
            for v in &applied {
                println!("applied {v}");
            }
            if applied.is_empty() {
                println!("database is up to date");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fatal(&e),
    }
}

async fn applied_versions(conn: &mut sqlx::SqliteConnection) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = 1 ORDER BY version").fetch_all(conn).await
}

/// `backup --out FILE`: an online backup, gzip when FILE ends in `.gz`; exit 1 when FILE exists
/// or the backup fails (a signal meanwhile cancels it and removes its temporary file).
pub async fn backup(config: Config, args: BackupArgs) -> ExitCode {
    let (stop_tx, stop) = StopSignal::new();
    let mut signals = Signals::new().ok();
    let watcher = tokio::spawn(async move {
        if let Some(s) = signals.as_mut() {
            s.recv().await;
            stop_tx.send_replace(true);
        }
    });
    let req = BackupRequest { database: &config.database, out: &args.out, compress: backup::is_gz(&args.out) };
    let result = backup::create(req, &stop).await;
    watcher.abort();
    match result {
        Ok(bytes) => {
            let sidecar = backup::checksum::sidecar_of(&args.out);
            println!("backup written to {} ({bytes} bytes), its SHA-256 to {}", args.out.display(), sidecar.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `restore FILE`: verify FILE and install it (`ops.md` §7); exit 1, changing nothing, when the
/// server runs or FILE fails a check.
pub async fn restore(config: Config, args: RestoreArgs) -> ExitCode {
    let sum = if args.no_verify { Checksum::Skipped } else { Checksum::Required };
    if args.no_verify {
        eprintln!("warning: --no-verify: {} is not compared with a SHA-256 checksum", args.file.display());
    }
    match backup::restore::restore(&config, &args.file, sum).await {
        Ok(done) => {
            println!("restored {} into {}", args.file.display(), done.database.display());
            if let Some(previous) = done.previous {
                println!("the previous database was moved to {}", previous.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
