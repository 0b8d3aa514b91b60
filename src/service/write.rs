//! Shared plumbing of write handlers: the reply type every write returns, and the
//! `Idempotency-Key` wrapper that stores a 2xx reply in the same transaction as its write and
//! replays it for a retried request.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::SqliteConnection;

use crate::auth::Caller;
use crate::db::idempotency::{self, KeyedRequest, StoredResponse};
use crate::db::writer::WriteCtx;
use crate::domain::time::{format_ts, now_string};
use crate::error::{ApiError, ApiResult};
use crate::extract::KeyedRoute;
use crate::state::AppState;

/// A JSON reply with the optional `ETag` (entity version) and `Location` headers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    /// The serialised JSON body: serialised once, stored as is for idempotent replays.
    pub body: String,
    pub etag: Option<String>,
    pub location: Option<String>,
    pub replayed: bool,
}

impl Reply {
    pub fn ok(body: impl Serialize) -> ApiResult<Self> {
        Self::with_status(StatusCode::OK, body)
    }

    pub fn with_status(status: StatusCode, body: impl Serialize) -> ApiResult<Self> {
        let body = serde_json::to_string(&body).map_err(ApiError::internal)?;
        Ok(Reply { status, body, etag: None, location: None, replayed: false })
    }

    /// `201 Created` with `Location`.
    pub fn created(body: impl Serialize, location: String) -> ApiResult<Self> {
        let mut reply = Self::with_status(StatusCode::CREATED, body)?;
        reply.location = Some(location);
        Ok(reply)
    }

    /// Add `ETag: "<version>"`.
    pub fn versioned(mut self, version: i64) -> Self {
        self.etag = Some(format!("\"{version}\""));
        self
    }

    /// A message body such as `{"message":"Board deleted successfully"}`.
    pub fn message(text: &str) -> ApiResult<Self> {
        Self::ok(json!({ "message": text }))
    }

    fn to_stored(&self, request_hash: String) -> ApiResult<StoredResponse> {
        let mut headers = serde_json::Map::new();
        if let Some(etag) = &self.etag {
            headers.insert("ETag".into(), Value::String(etag.clone()));
        }
        if let Some(location) = &self.location {
            headers.insert("Location".into(), Value::String(location.clone()));
        }
        Ok(StoredResponse {
            request_hash,
            status: i64::from(self.status.as_u16()),
            response_body: self.body.clone(),
            response_headers: Value::Object(headers).to_string(),
        })
    }

    fn from_stored(stored: &StoredResponse) -> ApiResult<Self> {
        let status = u16::try_from(stored.status)
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok())
            .ok_or_else(|| ApiError::internal("stored idempotent status is invalid"))?;
        let body = stored.response_body.clone();
        let headers: Value = serde_json::from_str(&stored.response_headers).map_err(ApiError::internal)?;
        let text = |name: &str| headers.get(name).and_then(Value::as_str).map(str::to_owned);
        Ok(Reply { status, body, etag: text("ETag"), location: text("Location"), replayed: true })
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut headers = HeaderMap::new();
        let mut set = |name: header::HeaderName, value: &str| {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(name, v);
            }
        };
        if let Some(etag) = &self.etag {
            set(header::ETAG, etag);
        }
        if let Some(location) = &self.location {
            set(header::LOCATION, location);
        }
        if self.replayed {
            set(header::HeaderName::from_static("idempotency-replayed"), "true");
        }
        set(header::CONTENT_TYPE, "application/json");
        (self.status, headers, self.body).into_response()
    }
}

/// Hex SHA-256 over method, path and the raw body bytes.
fn request_hash(route: &KeyedRoute, raw_body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(route.method.as_bytes());
    h.update([0]);
    h.update(route.path.as_bytes());
    h.update([0]);
    h.update(raw_body);
    hex::encode(h.finalize())
}

/// A request made idempotent by its `Idempotency-Key`.
pub struct Keyed {
    principal: String,
    route: KeyedRoute,
    hash: String,
}

impl Keyed {
    pub fn new(caller: &Caller, route: Option<KeyedRoute>, raw_body: &[u8]) -> Option<Self> {
        route.map(|route| Keyed { principal: caller.principal(), hash: request_hash(&route, raw_body), route })
    }

    fn replay(&self, stored: &StoredResponse) -> ApiResult<Reply> {
        if stored.request_hash == self.hash { Reply::from_stored(stored) } else { Err(ApiError::IdempotencyKeyReused) }
    }
}

/// Run a write through the writer. With a key: a stored response is replayed (nothing is written,
/// nothing published); otherwise the write runs and its 2xx reply is stored in the same transaction.
pub async fn run_write<F>(state: &AppState, keyed: Option<Keyed>, write: F) -> ApiResult<Reply>
where
    F: for<'c> FnOnce(&'c mut SqliteConnection, &'c mut WriteCtx) -> BoxFuture<'c, ApiResult<Reply>> + Send + 'static,
{
    let Some(keyed) = keyed else { return state.writer.run(write).await };
    // Fast path: a replay needs no writer round trip.
    if let Some(stored) = idempotency::find(&state.db, &keyed.principal, &keyed.route.key, &now_string()).await? {
        return keyed.replay(&stored);
    }
    let ttl = chrono::Duration::hours(i64::from(state.config.idempotency.ttl_hours));
    state
        .writer
        .run(move |conn, ctx| {
            Box::pin(async move {
                // Checked again inside the transaction: concurrent duplicates are serialised here.
                if let Some(stored) =
                    idempotency::find(&mut *conn, &keyed.principal, &keyed.route.key, &ctx.now).await?
                {
                    return keyed.replay(&stored);
                }
                let reply = write(conn, ctx).await?;
                let req = KeyedRequest {
                    principal: &keyed.principal,
                    key: &keyed.route.key,
                    method: &keyed.route.method,
                    path: &keyed.route.path,
                    request_hash: &keyed.hash,
                };
                let expires = format_ts(Utc::now() + ttl);
                idempotency::store(conn, &req, &reply.to_stored(keyed.hash.clone())?, &ctx.now, &expires).await?;
                Ok(reply)
            })
        })
        .await
}
