//! Our own extractors, so that every bad input becomes the standard error body: JSON bodies
//! (415/413/422), path ids (422 `int_parsing`), query strings, `If-Match` and `Idempotency-Key`.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde_json::Value;

use crate::domain::precondition::IfMatch;
use crate::domain::time::{format_ts, parse_rfc3339};
use crate::domain::validation::{FieldError, int_within, is_idempotency_key, text_within};
use crate::error::{ApiError, ApiResult};

/// A JSON body: the parsed value plus the raw bytes (hashed for idempotency).
pub struct JsonBody {
    pub value: Value,
    pub raw: Bytes,
}

/// A body that may be empty (claim, release): `None` when empty, whatever the content type, or
/// when it is the JSON `null` (the OpenAPI document describes such a body as nullable).
pub struct OptionalJsonBody {
    pub value: Option<Value>,
    pub raw: Bytes,
}

/// `application/json`, optionally with `charset=utf-8` (case-insensitive, the value may be quoted),
/// and nothing else: other media types (`application/vnd.api+json`), other charsets and other
/// parameters are refused with 415.
fn is_json(parts_ct: Option<&str>) -> bool {
    let Some(ct) = parts_ct else { return false };
    let mut parts = ct.split(';');
    let mime = parts.next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        return false;
    }
    parts.all(|param| {
        let param = param.trim();
        if param.is_empty() {
            return true;
        }
        let Some((name, value)) = param.split_once('=') else { return false };
        let value = value.trim();
        let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
        name.trim().eq_ignore_ascii_case("charset") && value.eq_ignore_ascii_case("utf-8")
    })
}

async fn read_bytes<S: Send + Sync>(req: Request, state: &S) -> ApiResult<Bytes> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else if caused_by_timeout(&rejection) {
            ApiError::RequestTimeout
        } else {
            ApiError::BadRequest("Could not read the request body".into())
        }
    })
}

/// Whether the body read failed because the request-body deadline (tower-http's
/// `RequestBodyDeadlineLayer`, see `app.rs`) expired.
fn caused_by_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

fn parse_json(raw: &[u8]) -> ApiResult<Value> {
    let invalid = |e: serde_json::Error| ApiError::field("body", "json_invalid", format!("Invalid JSON: {e}"));
    let mut de = serde_json::Deserializer::from_slice(raw);
    let StrictValue(value) = serde::Deserialize::deserialize(&mut de).map_err(invalid)?;
    de.end().map_err(invalid)?;
    Ok(value)
}

/// A JSON value whose objects must not repeat a key (serde_json would silently keep the last).
struct StrictValue(Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate key '{key}'")));
            }
            let StrictValue(v) = map.next_value()?;
            object.insert(key, v);
        }
        Ok(Value::Object(object))
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<Self> {
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let raw = read_bytes(req, state).await?;
        let empty_without_type = ct.is_none() && raw.is_empty();
        if !(is_json(ct.as_deref()) || empty_without_type) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let value = parse_json(&raw)?;
        Ok(JsonBody { value, raw })
    }
}

impl<S: Send + Sync> FromRequest<S> for OptionalJsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<Self> {
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let raw = read_bytes(req, state).await?;
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody { value: None, raw });
        }
        if !is_json(ct.as_deref()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let value = parse_json(&raw)?;
        Ok(OptionalJsonBody { value: Some(value).filter(|v| !v.is_null()), raw })
    }
}

/// Path ids: positive base-10 integers, else 422 on `path.<name>` / `int_parsing`.
macro_rules! path_id {
    ($name:ident, $param:literal) => {
        #[doc = concat!("The `{", $param, "}` path segment as an integer.")]
        #[derive(Debug, Clone, Copy)]
        pub struct $name(pub i64);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
                let params = RawPathParams::from_request_parts(parts, state)
                    .await
                    .map_err(|_| ApiError::internal("path parameters unavailable"))?;
                let raw = params.iter().find(|(k, _)| *k == $param).map(|(_, v)| v.to_owned());
                parse_path_id(raw.as_deref(), $param).map($name)
            }
        }
    };
}

fn parse_path_id(raw: Option<&str>, name: &str) -> ApiResult<i64> {
    let raw = raw.ok_or_else(|| ApiError::internal(format!("route has no {{{name}}} segment")))?;
    match raw.parse::<i64>() {
        Ok(n) if raw.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(ApiError::field(
            format!("path.{name}"),
            "int_parsing",
            "Input should be a valid integer, unable to parse string as an integer",
        )),
    }
}

path_id!(BoardId, "board_id");
path_id!(TicketId, "ticket_id");
path_id!(CommentId, "comment_id");
path_id!(UserId, "user_id");

/// The query string as ordered pairs, with typed accessors that produce `query.<name>` errors.
#[derive(Debug, Default)]
pub struct QueryParams(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> ApiResult<Self> {
        let query = parts.uri.query().unwrap_or("");
        let pairs = form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        Ok(QueryParams(pairs))
    }
}

impl QueryParams {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn err(name: &str, kind: &'static str, message: impl Into<String>) -> FieldError {
        FieldError::new(format!("query.{name}"), kind, message)
    }

    /// An optional integer within `min..=max`.
    pub fn int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, FieldError> {
        let Some(raw) = self.get(name) else { return Ok(None) };
        let n: i64 =
            raw.trim().parse().map_err(|_| Self::err(name, "int_parsing", "Input should be a valid integer"))?;
        int_within(format!("query.{name}"), n, min, max).map(Some)
    }

    /// An optional string of `min..=max` characters (not trimmed).
    pub fn text(&self, name: &str, min: usize, max: usize) -> Result<Option<String>, FieldError> {
        let Some(raw) = self.get(name) else { return Ok(None) };
        text_within(format!("query.{name}"), raw, min, max)?;
        Ok(Some(raw.to_owned()))
    }

    /// An optional RFC 3339 timestamp, converted to the canonical UTC text.
    pub fn datetime(&self, name: &str) -> Result<Option<String>, FieldError> {
        let Some(raw) = self.get(name) else { return Ok(None) };
        parse_rfc3339(raw)
            .map(|t| Some(format_ts(t)))
            .ok_or_else(|| Self::err(name, "invalid_datetime", "Input should be an RFC 3339 timestamp"))
    }
}

/// The `If-Match` header, when sent.
pub struct IfMatchHeader(pub Option<IfMatch>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatchHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> ApiResult<Self> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else { return Ok(IfMatchHeader(None)) };
        let text = value
            .to_str()
            .map_err(|_| ApiError::field("header.if-match", "invalid_value", "If-Match is not valid text"))?;
        Ok(IfMatchHeader(Some(IfMatch::parse(text))))
    }
}

/// The `Idempotency-Key` header (1..255 printable ASCII), with the request's method and path.
pub struct IdempotencyKey(pub Option<KeyedRoute>);

/// What a keyed request is replayed against.
#[derive(Debug, Clone)]
pub struct KeyedRoute {
    pub key: String,
    pub method: String,
    /// Path without trailing slash, plus the query string.
    pub path: String,
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> ApiResult<Self> {
        let Some(value) = parts.headers.get("idempotency-key") else { return Ok(IdempotencyKey(None)) };
        let bytes = value.as_bytes();
        if !is_idempotency_key(bytes) {
            return Err(ApiError::field(
                "header.idempotency-key",
                "invalid_value",
                "Idempotency-Key must be 1..255 printable ASCII characters",
            ));
        }
        let key = String::from_utf8_lossy(bytes).into_owned();
        let path = match parts.uri.query() {
            Some(q) => format!("{}?{q}", parts.uri.path()),
            None => parts.uri.path().to_owned(),
        };
        Ok(IdempotencyKey(Some(KeyedRoute { key, method: parts.method.to_string(), path })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_ids_must_be_plain_digits() {
        assert_eq!(parse_path_id(Some("42"), "id").expect("ok"), 42);
        for bad in ["abc", "-1", "+1", "1.0", " 1", ""] {
            let err = parse_path_id(Some(bad), "ticket_id").expect_err(bad);
            assert!(
                matches!(err, ApiError::Validation(e) if e[0].field == "path.ticket_id" && e[0].kind == "int_parsing")
            );
        }
    }

    #[test]
    fn json_content_types_are_recognised() {
        assert!(is_json(Some("application/json")));
        assert!(is_json(Some("application/json; charset=utf-8")));
        assert!(is_json(Some("Application/JSON;charset=\"UTF-8\"")));
        assert!(!is_json(Some("application/json; charset=latin1")));
        assert!(!is_json(Some("application/vnd.api+json")));
        assert!(!is_json(Some("application/json; profile=x")));
        assert!(!is_json(Some("text/plain")));
        assert!(!is_json(None));
    }

    #[test]
    fn repeated_keys_are_invalid_json_at_any_depth() {
        assert!(parse_json(br#"{"a":1,"b":[{"c":2}]}"#).is_ok());
        for bad in [&br#"{"a":1,"a":2}"#[..], br#"{"x":{"a":1,"a":1}}"#, br#"[{"k":1,"k":1}]"#] {
            let err = parse_json(bad).expect_err("duplicate key");
            assert!(
                matches!(&err, ApiError::Validation(e) if e[0].kind == "json_invalid" && e[0].message.contains("duplicate key"))
            );
        }
        assert!(parse_json(b"{} x").is_err(), "trailing characters");
    }

    #[test]
    fn query_accessors_validate() {
        let q = QueryParams(vec![("page".into(), "0".into()), ("t".into(), "2026-01-01T01:00:00+01:00".into())]);
        assert_eq!(q.int("page", 1, 10).expect_err("range").kind, "out_of_range");
        assert_eq!(q.datetime("t").expect("valid").as_deref(), Some("2026-01-01T00:00:00.000Z"));
        assert_eq!(q.int("missing", 1, 10).expect("absent"), None);
    }
}
