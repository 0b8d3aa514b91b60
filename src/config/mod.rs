//! Typed configuration: the embedded defaults (`config/default.toml`), an optional `local.toml`,
//! then `KANBAN__SECTION__KEY` environment overrides, validated before anything else runs.
//!
//! Every key must exist in the defaults file, so an unknown key anywhere is an error that names it.
//! This module reads files and the environment only when asked (`Config::load`); tests build a
//! `Config` from `Config::default()` and adjust fields directly.
//!
//! This file owns loading and the checks on the merged values (choices, quotas, ranges); each
//! section's struct and its typed checks live in a submodule, re-exported here so callers name
//! them `crate::config::…`.

mod auth;
mod backup;
mod bulk;
mod database;
mod layers;
mod logging;
mod mcp;
mod ops;
mod realtime;
mod secret;
mod server;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use layers::{merge_env, merge_file, one_line};

pub use auth::{AnonymousRole, AuthConfig, DefaultRole};
pub use backup::BackupConfig;
pub use bulk::BulkConfig;
pub use database::{DatabaseConfig, IdempotencyConfig, Synchronous};
pub use logging::{LogFormat, LoggingConfig};
pub use mcp::McpConfig;
pub use ops::OpsConfig;
pub use realtime::{EventsConfig, RealtimeConfig};
pub use secret::Secret;
pub use server::{CorsConfig, Quota, RateLimitConfig, ServerConfig};

/// The committed defaults, embedded so the binary runs without any file on disk.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// A configuration problem, displayed as one line naming the key.
#[derive(Debug, thiserror::Error)]
#[error("config error: {key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { key: key.into(), message: message.into() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub rate_limit: RateLimitConfig,
    pub cors: CorsConfig,
    pub idempotency: IdempotencyConfig,
    pub bulk: BulkConfig,
    pub realtime: RealtimeConfig,
    pub events: EventsConfig,
    pub logging: LoggingConfig,
    pub ops: OpsConfig,
    pub backup: BackupConfig,
    pub mcp: McpConfig,
}

/// Keys whose value is one of a fixed set of strings (checked before deserialising so the
/// error names the key and the choices).
const CHOICES: &[(&str, &[&str])] = &[
    ("database.synchronous", &["FULL", "NORMAL"]),
    ("auth.anonymous_role", &["none", "viewer", "agent", "pm"]),
    ("auth.default_role", &["viewer", "agent", "pm"]),
    ("logging.format", &["pretty", "json"]),
];

/// Keys holding a rate-limit quota.
const QUOTAS: &[&str] =
    &["rate_limit.register", "rate_limit.login", "rate_limit.board_create", "rate_limit.general", "rate_limit.bulk"];

/// Integer keys and their inclusive ranges.
const RANGES: &[(&str, i64, i64)] = &[
    ("server.port", 1, 65535),
    ("server.body_limit_bytes", 1024, i64::MAX),
    ("server.shutdown_grace_seconds", 1, 300),
    ("server.max_connections", 1, 100_000),
    ("server.header_read_timeout_seconds", 1, 300),
    ("server.request_body_timeout_seconds", 1, 3600),
    ("server.keep_alive_idle_seconds", 1, 3600),
    ("database.busy_timeout_ms", 0, 60_000),
    ("database.read_pool_size", 1, 64),
    ("database.read_cache_kib", 64, 65_536),
    ("database.writer_queue_capacity", 16, 65_536),
    ("database.writer_max_batch", 1, 1024),
    ("database.writer_queue_wait_ms", 1, 60_000),
    ("auth.anonymous_session_idle_days", 1, 365),
    ("auth.access_token_ttl_minutes", 1, 1440),
    ("auth.refresh_token_ttl_days", 1, 90),
    ("auth.max_concurrent_hashes", 1, 64),
    ("idempotency.ttl_hours", 1, 168),
    ("bulk.max_batch_size", 1, 1000),
    ("realtime.heartbeat_interval_seconds", 1, 300),
    ("realtime.missed_heartbeats_before_close", 1, 10),
    ("realtime.max_message_bytes", 1024, 1_048_576),
    ("realtime.max_connections", 1, i64::MAX),
    ("realtime.max_connections_per_client", 1, i64::MAX),
    ("realtime.send_queue_capacity", 16, i64::MAX),
    ("realtime.board_channel_capacity", 16, i64::MAX),
    ("realtime.send_timeout_seconds", 1, 120),
    ("realtime.max_replay", 1, 1_000_000),
    ("realtime.replay_page_size", 1, 10_000),
    ("realtime.max_client_messages_per_second", 1, 10_000),
    ("events.retention_days", 1, 365),
    ("events.max_per_board", 100, i64::MAX),
    ("events.purge_interval_minutes", 1, 1440),
    ("ops.memory_threshold_mb", 1, i64::MAX),
    ("ops.memory_sample_interval_seconds", 1, 3600),
    ("ops.memory_samples_kept", 10, 10_000),
    ("ops.memory_release_interval_seconds", 0, 3600),
    ("ops.min_free_disk_mb", 0, i64::MAX),
    ("ops.housekeeping_interval_seconds", 1, 86_400),
    ("backup.interval_hours", 1, 720),
    ("backup.keep", 1, 100),
    ("mcp.max_sessions", 1, 100_000),
    ("mcp.session_idle_seconds", 1, 86_400),
];

impl Default for Config {
    fn default() -> Self {
        let table: Table = DEFAULT_TOML.parse().expect("embedded config/default.toml is valid TOML");
        build(table).expect("embedded config/default.toml passes validation")
    }
}

impl Config {
    /// Load defaults, then `<config_dir>/local.toml` when present, then `KANBAN__*` variables.
    pub fn load(config_dir: &Path) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(config_dir, &vars)
    }

    /// [`Config::load`] with an explicit environment, so tests need not touch the process env.
    pub fn load_from(config_dir: &Path, vars: &[(String, String)]) -> Result<Config, ConfigError> {
        let mut table: Table = DEFAULT_TOML.parse().map_err(|e| ConfigError::new("default.toml", format!("{e}")))?;
        let local = config_dir.join("local.toml");
        if local.exists() {
            let text = std::fs::read_to_string(&local)
                .map_err(|e| ConfigError::new("local.toml", format!("cannot read {}: {e}", local.display())))?;
            let overlay: Table = text.parse().map_err(|e| ConfigError::new("local.toml", one_line(&e)))?;
            merge_file(&mut table, overlay)?;
        }
        for (name, value) in vars {
            if let Some(rest) = name.strip_prefix("KANBAN__") {
                merge_env(&mut table, rest, value)?;
            }
        }
        build(table)
    }

    /// The address to bind.
    pub fn listen_addr(&self) -> String {
        server::format_host_port(&self.server.host, self.server.port)
    }

    /// The data directory: the parent of the database file.
    pub fn data_dir(&self) -> PathBuf {
        match self.database.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// The backup directory: `backup.dir`, or `<data dir>/backups` when it is empty.
    pub fn backup_dir(&self) -> PathBuf {
        self.backup.resolved_dir(&self.data_dir())
    }

    /// The effective configuration as TOML, with secrets shown as `"***"`.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot render configuration: {e}\n"))
    }
}

fn lookup<'a>(table: &'a Table, dotted: &str) -> Option<&'a Value> {
    let (sec, key) = dotted.split_once('.')?;
    table.get(sec)?.as_table()?.get(key)
}

/// Check choices and ranges on the merged table, then deserialise and run cross-field checks.
fn build(table: Table) -> Result<Config, ConfigError> {
    for (key, choices) in CHOICES {
        if let Some(v) = lookup(&table, key).and_then(Value::as_str)
            && !choices.contains(&v)
        {
            return Err(ConfigError::new(*key, format!("must be one of {}, got {v:?}", choices.join(", "))));
        }
    }
    for key in QUOTAS {
        if let Some(v) = lookup(&table, key).and_then(Value::as_str)
            && let Err(message) = v.parse::<Quota>()
        {
            return Err(ConfigError::new(*key, message));
        }
    }
    for (key, min, max) in RANGES {
        if let Some(v) = lookup(&table, key).and_then(Value::as_integer)
            && !(*min..=*max).contains(&v)
        {
            let range = if *max == i64::MAX { format!(">= {min}") } else { format!("{min}..{max}") };
            return Err(ConfigError::new(*key, format!("must be {range}, got {v}")));
        }
    }
    let config: Config = Value::Table(table).try_into().map_err(|e| ConfigError::new("config", one_line(&e)))?;
    validate(&config)?;
    Ok(config)
}

/// The typed checks of each section, in a fixed order so the first problem reported is stable.
fn validate(config: &Config) -> Result<(), ConfigError> {
    config.server.check_host()?;
    config.database.check()?;
    config.cors.check()?;
    config.auth.check()?;
    config.server.check_trusted_proxies()?;
    config.logging.check()?;
    config.ops.check()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(local: Option<&str>, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().expect("temp dir");
        if let Some(text) = local {
            std::fs::write(dir.path().join("local.toml"), text).expect("write local.toml");
        }
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::load_from(dir.path(), &vars)
    }

    #[test]
    fn defaults_match_the_spec() {
        let c = Config::default();
        assert_eq!(c.listen_addr(), "127.0.0.1:18000");
        assert_eq!(c.database.path, PathBuf::from("./data/kanban.db"));
        assert_eq!(c.data_dir(), PathBuf::from("./data"));
        assert_eq!(c.database.synchronous, Synchronous::Full);
        assert_eq!(c.database.writer_queue_wait_ms, 5000);
        assert_eq!(c.auth.anonymous_role, AnonymousRole::None);
        assert!(c.backup.enabled && c.backup.compress);
        assert_eq!((c.backup.interval_hours, c.backup.keep), (24, 3));
        assert_eq!(c.backup_dir(), PathBuf::from("./data/backups"));
    }

    #[test]
    fn local_file_and_environment_override_in_order() {
        let c = load(
            Some("[server]\nport = 9000\n[auth]\nanonymous_role = \"pm\"\n"),
            &[
                ("KANBAN__SERVER__PORT", "9100"),
                ("KANBAN__CORS__ALLOWED_ORIGINS", "http://a.example, http://b.example"),
            ],
        )
        .expect("valid");
        assert_eq!(c.server.port, 9100);
        assert_eq!(c.auth.anonymous_role, AnonymousRole::Pm);
        assert_eq!(c.cors.allowed_origins, vec!["http://a.example", "http://b.example"]);
    }

    #[test]
    fn secrets_are_redacted_and_quotas_parse() {
        let c = load(None, &[("KANBAN__AUTH__JWT_SECRET", "0123456789abcdef0123456789abcdef")]).expect("valid");
        let shown = c.to_redacted_toml();
        assert!(shown.contains("jwt_secret = \"***\""));
        assert!(!shown.contains("0123456789abcdef"));
        assert!(!format!("{c:?}").contains("0123456789abcdef"));
        assert_eq!(c.rate_limit.login.describe(), "10 per 1 minute");
        assert_eq!(c.rate_limit.register.period.as_secs(), 3600);
        assert_eq!(c.server.trusted_networks().expect("empty list"), vec![]);
    }

    #[test]
    fn the_ops_token_is_a_secret() {
        let c = load(None, &[("KANBAN__OPS__TOKEN", "ops-token-0123456789")]).expect("valid");
        assert_eq!(c.ops.token.expose(), "ops-token-0123456789");
        assert!(c.to_redacted_toml().contains("token = \"***\""));
        assert!(!c.to_redacted_toml().contains("ops-token-0123456789"));
        assert!(!format!("{c:?}").contains("ops-token-0123456789"));
        assert_eq!(Config::default().ops.min_free_disk_mb, 100);
    }

    #[test]
    fn invalid_values_name_their_key() {
        type Case<'a> = (Option<&'a str>, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            (Some("[server]\nnope = 1\n"), &[], "server.nope"),
            (Some("[server]\nport = \"x\"\n"), &[], "server.port"),
            (None, &[("KANBAN__SERVER__PORT", "0")], "server.port"),
            (None, &[("KANBAN__SERVER__PORT", "abc")], "server.port"),
            (None, &[("KANBAN__AUTH__ANONYMOUS_ROLE", "admin")], "auth.anonymous_role"),
            (None, &[("KANBAN__DATABASE__SYNCHRONOUS", "OFF")], "database.synchronous"),
            (None, &[("KANBAN__DATABASE__READ_POOL_SIZE", "65")], "database.read_pool_size"),
            (None, &[("KANBAN__CORS__ALLOWED_ORIGINS", "*")], "cors.allowed_origins"),
            (None, &[("KANBAN__SERVER__BOGUS", "1")], "server.bogus"),
            (None, &[("KANBAN__AUTH__JWT_SECRET", "short")], "auth.jwt_secret"),
            (None, &[("KANBAN__AUTH__DEFAULT_ROLE", "admin")], "auth.default_role"),
            (None, &[("KANBAN__RATE_LIMIT__LOGIN", "0/minute")], "rate_limit.login"),
            (None, &[("KANBAN__RATE_LIMIT__LOGIN", "10/day")], "rate_limit.login"),
            (None, &[("KANBAN__SERVER__TRUSTED_PROXIES", "10.0.0.0/8,nope")], "server.trusted_proxies"),
            (None, &[("KANBAN__OPS__TOKEN", "too-short")], "ops.token"),
            (None, &[("KANBAN__OPS__MEMORY_SAMPLES_KEPT", "9")], "ops.memory_samples_kept"),
            (None, &[("KANBAN__OPS__HOUSEKEEPING_INTERVAL_SECONDS", "0")], "ops.housekeeping_interval_seconds"),
            (None, &[("KANBAN__OPS__MEMORY_SAMPLE_INTERVAL_SECONDS", "0")], "ops.memory_sample_interval_seconds"),
            (None, &[("KANBAN__OPS__MEMORY_THRESHOLD_MB", "0")], "ops.memory_threshold_mb"),
            (None, &[("KANBAN__OPS__MEMORY_RELEASE_INTERVAL_SECONDS", "3601")], "ops.memory_release_interval_seconds"),
            (None, &[("KANBAN__OPS__MEMORY_RELEASE_INTERVAL_SECONDS", "29")], "ops.memory_release_interval_seconds"),
            (None, &[("KANBAN__BACKUP__KEEP", "0")], "backup.keep"),
            (None, &[("KANBAN__REALTIME__MAX_REPLAY", "0")], "realtime.max_replay"),
            (None, &[("KANBAN__REALTIME__REPLAY_PAGE_SIZE", "0")], "realtime.replay_page_size"),
            (
                None,
                &[("KANBAN__REALTIME__MAX_CLIENT_MESSAGES_PER_SECOND", "0")],
                "realtime.max_client_messages_per_second",
            ),
            (None, &[("KANBAN__BACKUP__INTERVAL_HOURS", "721")], "backup.interval_hours"),
        ];
        for (local, vars, key) in cases {
            let err = load(*local, vars).expect_err("must be rejected");
            assert_eq!(err.key, *key, "{err}");
            assert!(err.to_string().starts_with(&format!("config error: {key}: ")));
        }
    }
}
