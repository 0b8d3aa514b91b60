//! Command line: `agent-kanban [--config-dir DIR] [serve|migrate|check-config]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::{Server, StartError, lock_data_dir};
use crate::config::Config;
use crate::db;

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
}

/// Run `serve` until a shutdown signal; exit 1 on a fatal error.
pub async fn serve(config: Config) -> ExitCode {
    let server = match Server::start(config).await {
        Ok(s) => s,
        Err(e) => return fatal(&e),
    };
    crate::shutdown::signal().await;
    tracing::info!("shutdown signal received; draining");
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
