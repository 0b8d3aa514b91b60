//! Typed configuration: the embedded defaults (`config/default.toml`), an optional `local.toml`,
//! then `KANBAN__SECTION__KEY` environment overrides, validated before anything else runs.
//!
//! Every key must exist in the defaults file, so an unknown key anywhere is an error that names it.
//! This module reads files and the environment only when asked (`Config::load`); tests build a
//! `Config` from `Config::default()` and adjust fields directly.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

/// The committed defaults, embedded so the binary runs without any file on disk.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

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
    pub realtime: RealtimeConfig,
    pub events: EventsConfig,
    pub logging: LoggingConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    pub body_limit_bytes: usize,
    pub shutdown_grace_seconds: u64,
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub path: PathBuf,
    pub synchronous: Synchronous,
    pub busy_timeout_ms: u64,
    pub read_pool_size: u32,
    pub writer_queue_capacity: usize,
    pub writer_max_batch: usize,
    pub writer_queue_wait_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Synchronous {
    #[serde(rename = "FULL")]
    Full,
    #[serde(rename = "NORMAL")]
    Normal,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub jwt_secret: Secret,
    pub access_token_ttl_minutes: u64,
    pub refresh_token_ttl_days: u64,
    pub default_role: DefaultRole,
    pub registration_enabled: bool,
    pub max_concurrent_hashes: usize,
    pub anonymous_role: AnonymousRole,
    pub cookie_secure: bool,
    pub anonymous_session_idle_days: u32,
}

/// What a caller without a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnonymousRole {
    None,
    Viewer,
    Agent,
    Pm,
}

/// A secret setting: `Debug` and `Serialize` show `"***"` (empty stays empty), so neither logs nor
/// `check-config` can reveal it; [`Secret::expose`] is the only way to read it.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn shown(&self) -> &'static str {
        if self.0.is_empty() { "" } else { "***" }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.shown())
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.shown())
    }
}

/// The role of self-registered users (never admin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultRole {
    Viewer,
    Agent,
    Pm,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub enabled: bool,
    pub register: Quota,
    pub login: Quota,
    pub board_create: Quota,
    pub general: Quota,
}

/// A rate-limit quota `N/second|minute|hour`: a burst of N, then one request every period / N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub count: u32,
    pub period: std::time::Duration,
}

impl Quota {
    fn unit(&self) -> &'static str {
        match self.period.as_secs() {
            1 => "second",
            60 => "minute",
            _ => "hour",
        }
    }

    /// The GCRA replenish interval: one more request every period / N.
    pub fn interval(&self) -> std::time::Duration {
        self.period / self.count.max(1)
    }

    /// "10 per 1 minute", as in the 429 message.
    pub fn describe(&self) -> String {
        format!("{} per 1 {}", self.count, self.unit())
    }
}

impl std::str::FromStr for Quota {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not <N>/second|minute|hour with N >= 1");
        let (n, unit) = s.trim().split_once('/').ok_or_else(bad)?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        let secs = match unit.trim() {
            "second" => 1,
            "minute" => 60,
            "hour" => 3600,
            _ => return Err(bad()),
        };
        if count == 0 {
            return Err(bad());
        }
        Ok(Quota { count, period: std::time::Duration::from_secs(secs) })
    }
}

impl Serialize for Quota {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}/{}", self.count, self.unit()))
    }
}

impl<'de> Deserialize<'de> for Quota {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealtimeConfig {
    pub heartbeat_interval_seconds: u64,
    pub missed_heartbeats_before_close: u64,
    pub max_message_bytes: usize,
    pub max_connections: usize,
    pub max_connections_per_client: usize,
    pub send_queue_capacity: usize,
    pub board_channel_capacity: usize,
    pub send_timeout_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    pub retention_days: u32,
    pub max_per_board: i64,
    pub purge_interval_minutes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdempotencyConfig {
    pub ttl_hours: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggingConfig {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
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
const QUOTAS: &[&str] = &["rate_limit.register", "rate_limit.login", "rate_limit.board_create", "rate_limit.general"];

/// Integer keys and their inclusive ranges.
const RANGES: &[(&str, i64, i64)] = &[
    ("server.port", 1, 65535),
    ("server.body_limit_bytes", 1024, i64::MAX),
    ("server.shutdown_grace_seconds", 1, 300),
    ("database.busy_timeout_ms", 0, 60_000),
    ("database.read_pool_size", 1, 64),
    ("database.writer_queue_capacity", 16, 65_536),
    ("database.writer_max_batch", 1, 1024),
    ("database.writer_queue_wait_ms", 1, 60_000),
    ("auth.anonymous_session_idle_days", 1, 365),
    ("auth.access_token_ttl_minutes", 1, 1440),
    ("auth.refresh_token_ttl_days", 1, 90),
    ("auth.max_concurrent_hashes", 1, 64),
    ("idempotency.ttl_hours", 1, 168),
    ("realtime.heartbeat_interval_seconds", 1, 300),
    ("realtime.missed_heartbeats_before_close", 1, 10),
    ("realtime.max_message_bytes", 1024, 1_048_576),
    ("realtime.max_connections", 1, i64::MAX),
    ("realtime.max_connections_per_client", 1, i64::MAX),
    ("realtime.send_queue_capacity", 16, i64::MAX),
    ("realtime.board_channel_capacity", 16, i64::MAX),
    ("realtime.send_timeout_seconds", 1, 120),
    ("events.retention_days", 1, 365),
    ("events.max_per_board", 100, i64::MAX),
    ("events.purge_interval_minutes", 1, 1440),
];

impl ServerConfig {
    /// `trusted_proxies` parsed; a bare IP is a single-address network. Err names the bad entry.
    pub fn trusted_networks(&self) -> Result<Vec<ipnet::IpNet>, String> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                let p = p.trim();
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| p.to_owned())
            })
            .collect()
    }
}

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
        format_host_port(&self.server.host, self.server.port)
    }

    /// The data directory: the parent of the database file.
    pub fn data_dir(&self) -> PathBuf {
        match self.database.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// The effective configuration as TOML, with secrets shown as `"***"`.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot render configuration: {e}\n"))
    }
}

fn format_host_port(host: &str, port: u16) -> String {
    if host.parse::<std::net::Ipv6Addr>().is_ok() { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

fn one_line(e: &impl fmt::Display) -> String {
    e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}

fn section<'a>(table: &'a mut Table, name: &str) -> Result<&'a mut Table, ConfigError> {
    match table.get_mut(name) {
        Some(Value::Table(t)) => Ok(t),
        _ => Err(ConfigError::new(name, "unknown section")),
    }
}

/// Overlay a parsed `local.toml`: every key must exist in the defaults with the same type.
fn merge_file(base: &mut Table, overlay: Table) -> Result<(), ConfigError> {
    for (sec_name, sec_value) in overlay {
        let Value::Table(entries) = sec_value else {
            return Err(ConfigError::new(&sec_name, "expected a [section] table"));
        };
        let target = section(base, &sec_name)?;
        for (key, value) in entries {
            let full = format!("{sec_name}.{key}");
            let Some(current) = target.get(&key) else {
                return Err(ConfigError::new(full, "unknown key"));
            };
            if current.type_str() != value.type_str() {
                return Err(ConfigError::new(
                    full,
                    format!("expected {}, got {}", current.type_str(), value.type_str()),
                ));
            }
            target.insert(key, value);
        }
    }
    Ok(())
}

/// Overlay one `KANBAN__SECTION__KEY` variable, parsed by the type of the default value.
fn merge_env(base: &mut Table, rest: &str, raw: &str) -> Result<(), ConfigError> {
    let env_name = format!("KANBAN__{rest}");
    let Some((sec, key)) = rest.split_once("__") else {
        return Err(ConfigError::new(env_name, "expected KANBAN__<SECTION>__<KEY>"));
    };
    let (sec, key) = (sec.to_ascii_lowercase(), key.to_ascii_lowercase());
    let full = format!("{sec}.{key}");
    let target = section(base, &sec).map_err(|_| ConfigError::new(&full, "unknown key"))?;
    let Some(current) = target.get(&key) else {
        return Err(ConfigError::new(full, "unknown key"));
    };
    let value = match current {
        Value::Integer(_) => Value::Integer(
            raw.trim().parse().map_err(|_| ConfigError::new(&full, format!("expected an integer, got {raw:?}")))?,
        ),
        Value::Boolean(_) => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Value::Boolean(true),
            "false" | "0" => Value::Boolean(false),
            _ => return Err(ConfigError::new(full, format!("expected true or false, got {raw:?}"))),
        },
        Value::Array(_) => Value::Array(
            raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| Value::String(s.to_owned())).collect(),
        ),
        _ => Value::String(raw.to_owned()),
    };
    target.insert(key, value);
    Ok(())
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

fn validate(config: &Config) -> Result<(), ConfigError> {
    if config.server.host.trim().is_empty() {
        return Err(ConfigError::new("server.host", "must not be empty"));
    }
    if format_host_port(&config.server.host, config.server.port).parse::<SocketAddr>().is_err()
        && !config.server.host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(ConfigError::new("server.host", "must be an IP address or a hostname"));
    }
    if config.database.path.as_os_str().is_empty() {
        return Err(ConfigError::new("database.path", "must not be empty"));
    }
    for origin in &config.cors.allowed_origins {
        if origin == "*" {
            return Err(ConfigError::new("cors.allowed_origins", "\"*\" is not allowed; list exact origins"));
        }
        let ok = (origin.starts_with("http://") || origin.starts_with("https://")) && !origin.ends_with('/');
        if !ok {
            return Err(ConfigError::new("cors.allowed_origins", format!("{origin:?} is not scheme://host[:port]")));
        }
    }
    let secret = config.auth.jwt_secret.expose();
    if !secret.is_empty() && secret.len() < 32 {
        return Err(ConfigError::new("auth.jwt_secret", "must be at least 32 bytes"));
    }
    config
        .server
        .trusted_networks()
        .map_err(|bad| ConfigError::new("server.trusted_proxies", format!("{bad:?} is not an IP address or CIDR")))?;
    if tracing_subscriber::EnvFilter::try_new(&config.logging.level).is_err() {
        return Err(ConfigError::new("logging.level", "is not a valid tracing filter"));
    }
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
        ];
        for (local, vars, key) in cases {
            let err = load(*local, vars).expect_err("must be rejected");
            assert_eq!(err.key, *key, "{err}");
            assert!(err.to_string().starts_with(&format!("config error: {key}: ")));
        }
    }
}
