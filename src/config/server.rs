//! The `[server]`, `[cors]` and `[rate_limit]` sections: where the server listens, whom it
//! trusts and serves cross-origin, and how often a client may call it; with their typed checks.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    pub body_limit_bytes: usize,
    pub shutdown_grace_seconds: u64,
    pub trusted_proxies: Vec<String>,
    pub max_connections: usize,
    pub header_read_timeout_seconds: u64,
    pub request_body_timeout_seconds: u64,
    pub keep_alive_idle_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub enabled: bool,
    pub register: Quota,
    pub login: Quota,
    pub board_create: Quota,
    pub general: Quota,
    pub bulk: Quota,
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

    /// The host must be an IP address or a hostname.
    pub(super) fn check_host(&self) -> Result<(), ConfigError> {
        if self.host.trim().is_empty() {
            return Err(ConfigError::new("server.host", "must not be empty"));
        }
        if format_host_port(&self.host, self.port).parse::<SocketAddr>().is_err()
            && !self.host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return Err(ConfigError::new("server.host", "must be an IP address or a hostname"));
        }
        Ok(())
    }

    /// Every `trusted_proxies` entry must be an IP address or a CIDR network.
    pub(super) fn check_trusted_proxies(&self) -> Result<(), ConfigError> {
        self.trusted_networks().map_err(|bad| {
            ConfigError::new("server.trusted_proxies", format!("{bad:?} is not an IP address or CIDR"))
        })?;
        Ok(())
    }
}

impl CorsConfig {
    /// Origins are exact `scheme://host[:port]` strings; the `*` wildcard is refused.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        for origin in &self.allowed_origins {
            if origin == "*" {
                return Err(ConfigError::new("cors.allowed_origins", "\"*\" is not allowed; list exact origins"));
            }
            let ok = (origin.starts_with("http://") || origin.starts_with("https://")) && !origin.ends_with('/');
            if !ok {
                return Err(ConfigError::new(
                    "cors.allowed_origins",
                    format!("{origin:?} is not scheme://host[:port]"),
                ));
            }
        }
        Ok(())
    }
}

/// `host:port`, with an IPv6 host in brackets.
pub(super) fn format_host_port(host: &str, port: u16) -> String {
    if host.parse::<std::net::Ipv6Addr>().is_ok() { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}
