//! Per-client rate limiting with tower_governor: one GCRA limiter per class (`auth.md` §8), keyed
//! by `user:<id>` for a request whose bearer token verifies, else by the client IP (honouring
//! `X-Forwarded-For` only from trusted proxies). 429s use the standard error body.
//!
//! A limiter keeps state for every key it has seen; [`Limiters`] holds every class's limiter so the
//! housekeeping job can drop the keys whose quota has fully replenished (`retain_recent`), which
//! would otherwise grow with every distinct client address.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, Request, Response};
use axum::response::IntoResponse;
use ipnet::IpNet;
use tower_governor::GovernorError;
use tower_governor::governor::{GovernorConfigBuilder, SharedRateLimiter};
use tower_governor::key_extractor::KeyExtractor;

use crate::auth::extractor::bearer_token;
use crate::auth::jwt::{JwtKeys, TokenKind};
use crate::config::Quota;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// Networks whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<Vec<IpNet>>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(Arc::new(nets))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client IP: the peer, unless it is trusted, then the rightmost untrusted
    /// `X-Forwarded-For` hop (the leftmost when every hop is trusted).
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let Some(value) = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) else { return peer };
        let hops: Option<Vec<IpAddr>> = value.split(',').map(|h| h.trim().parse().ok()).collect();
        match hops {
            Some(hops) if !hops.is_empty() => {
                hops.iter().rev().find(|ip| !self.trusts(**ip)).copied().unwrap_or(hops[0])
            }
            _ => peer,
        }
    }
}

/// The peer address of a request (set by `into_make_service_with_connect_info`).
pub fn peer_ip<T>(req: &Request<T>) -> Option<IpAddr> {
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// Rate-limit key: `user:<sub>` for a verifying access token (no database lookup), else `ip:<addr>`.
#[derive(Clone)]
pub struct ClientKey {
    keys: Arc<JwtKeys>,
    proxies: TrustedProxies,
}

impl ClientKey {
    pub fn new(keys: Arc<JwtKeys>, proxies: TrustedProxies) -> Self {
        Self { keys, proxies }
    }
}

impl KeyExtractor for ClientKey {
    type Key = String;

    fn extract<T>(&self, req: &Request<T>) -> Result<String, GovernorError> {
        let bearer = bearer_token(req.headers()).ok().flatten();
        if let Some(claims) = bearer.and_then(|t| self.keys.verify(t, TokenKind::Access)) {
            return Ok(format!("user:{}", claims.sub));
        }
        let peer = peer_ip(req).ok_or(GovernorError::UnableToExtractKey)?;
        Ok(format!("ip:{}", self.proxies.client_ip(peer, req.headers())))
    }
}

/// A rate-limit class: every request to the routes it is layered onto counts against it.
pub struct Class {
    pub name: &'static str,
    pub quota: Quota,
}

/// The 429 body, with `Retry-After` and the `X-RateLimit-*` headers.
fn too_many(class: &'static str, quota: Quota, err: GovernorError) -> Response<Body> {
    let wait = match err {
        GovernorError::TooManyRequests { wait_time, .. } => wait_time.max(1),
        other => return ApiError::internal(format!("rate limiter: {other}")).into_response(),
    };
    tracing::info!(class, retry_after = wait, "rate limit exceeded");
    let mut resp = ApiError::RateLimited(quota.describe()).into_response();
    let h = resp.headers_mut();
    h.insert("retry-after", HeaderValue::from(wait));
    h.insert("x-ratelimit-limit", HeaderValue::from(quota.count));
    h.insert("x-ratelimit-remaining", HeaderValue::from(0));
    h.insert("x-ratelimit-reset", HeaderValue::from(wait));
    resp
}

type Middleware = governor::middleware::StateInformationMiddleware;

/// The governor layer of one class.
pub type ClassLayer = tower_governor::GovernorLayer<ClientKey, Middleware, Body>;

/// The keyed limiter of one class.
type Limiter = SharedRateLimiter<String, Middleware>;

/// Every class's limiter, registered when its layer is built: pruned by the housekeeping job and
/// counted by `kanban_rate_limiter_keys{class}`.
#[derive(Clone, Default)]
pub struct Limiters(Arc<Mutex<Vec<(&'static str, Limiter)>>>);

impl Limiters {
    fn register(&self, class: &'static str, limiter: Limiter) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push((class, limiter));
    }

    /// A snapshot of the list, so no lock is held while a limiter walks its keys.
    fn all(&self) -> Vec<(&'static str, Limiter)> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Forget every key whose quota has fully replenished (its state is that of a key never
    /// seen), and give the freed capacity back; returns the keys left, over all classes.
    pub fn prune(&self) -> usize {
        self.all()
            .iter()
            .map(|(_, limiter)| {
                limiter.retain_recent();
                limiter.shrink_to_fit();
                limiter.len()
            })
            .sum()
    }

    /// The number of keys each class's limiter holds now.
    pub fn key_counts(&self) -> Vec<(&'static str, usize)> {
        self.all().iter().map(|(class, limiter)| (*class, limiter.len())).collect()
    }
}

/// Build the governor layer of `class` and register its limiter in `limiters`; its 429s count in
/// `kanban_rate_limited_total{class}`.
pub fn layer(class: &Class, key: ClientKey, metrics: &Metrics, limiters: &Limiters) -> ClassLayer {
    let (name, quota) = (class.name, class.quota);
    metrics.declare_rate_limit_class(name);
    let metrics = metrics.clone();
    let config = GovernorConfigBuilder::default()
        .period(quota.interval().max(Duration::from_nanos(1)))
        .burst_size(quota.count)
        .key_extractor(key)
        .use_headers()
        .finish()
        .expect("a quota with count >= 1 and a non-zero period is a valid governor config");
    limiters.register(name, config.limiter().clone());
    tower_governor::GovernorLayer::new(config).error_handler(move |e| {
        if matches!(e, GovernorError::TooManyRequests { .. }) {
            metrics.rate_limited(name);
        }
        too_many(name, quota, e)
    })
}

/// `X-RateLimit-Reset` on a limited, allowed response: 0 while requests remain, else the whole
/// seconds (rounded up) until the next one is allowed.
pub fn reset_header(resp: &mut Response<Body>, interval: Duration) {
    let h = resp.headers_mut();
    if h.contains_key("x-ratelimit-reset") {
        return;
    }
    let Some(remaining) = h.get("x-ratelimit-remaining").and_then(|v| v.to_str().ok()?.parse::<u64>().ok()) else {
        return;
    };
    let reset = if remaining > 0 { 0 } else { interval.as_secs_f64().ceil() as u64 };
    h.insert("x-ratelimit-reset", HeaderValue::from(reset));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|s| s.parse().expect("net")).collect())
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().expect("header"));
        h
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let p = proxies(&["10.0.0.0/8"]);
        let peer: IpAddr = "192.0.2.1".parse().expect("ip");
        assert_eq!(p.client_ip(peer, &xff("203.0.113.9")), peer);
    }

    #[test]
    fn trusted_hops_are_skipped_from_the_right() {
        let p = proxies(&["10.0.0.0/8"]);
        let peer: IpAddr = "10.0.0.2".parse().expect("ip");
        assert_eq!(p.client_ip(peer, &xff("1.1.1.1, 203.0.113.9, 10.0.0.7")).to_string(), "203.0.113.9");
        assert_eq!(p.client_ip(peer, &xff("10.0.0.9, 10.0.0.7")).to_string(), "10.0.0.9");
        assert_eq!(p.client_ip(peer, &xff("garbage")), peer);
    }
}
