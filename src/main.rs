//! `agent-kanban`: parse the command line, load configuration, start logging, dispatch.

use std::process::ExitCode;

use agent_kanban::cli::{self, Cli, Command};
use agent_kanban::config::Config;
use clap::Parser;

fn main() -> ExitCode {
    agent_kanban::alloc::tune();
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(&cli.config_dir) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::CheckConfig => {
            print!("{}", config.to_redacted_toml());
            ExitCode::SUCCESS
        }
        Command::CreateAdmin(args) => cli::create_admin(config, args).await,
        Command::Backup(args) => cli::backup(config, args).await,
        Command::Restore(args) => cli::restore(config, args).await,
        // Stdout carries the protocol: no logging set up.
        #[cfg(feature = "stdio-bridge")]
        Command::Mcp(args) => cli::mcp_bridge(args).await,
        Command::Migrate => {
            agent_kanban::telemetry::init(&config.logging);
            cli::migrate(config).await
        }
        Command::Serve => {
            agent_kanban::telemetry::init(&config.logging);
            cli::serve(config).await
        }
    }
}
