//! The one error type of the HTTP API and the one JSON error body every non-2xx response carries.
//!
//! Client errors keep a stable `code`; internal errors become a generic 500 whose cause is logged
//! once, with the response's `error_id`, in `into_response`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::time::now_string;
use crate::domain::validation::FieldError;

/// Result of every handler and of every fallible step below it.
pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    #[error("Request validation failed")]
    Validation(Vec<FieldError>),
    /// A 409 with its specific code (`COLUMN_NOT_EMPTY`, `ALREADY_CLAIMED`, ...).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("Version mismatch: current version is {0}")]
    PreconditionFailed(i64),
    #[error("{0}")]
    Unauthorized(String),
    /// A 401 with its specific code (`INVALID_CREDENTIALS`, `INVALID_TOKEN`).
    #[error("{message}")]
    AuthFailed { code: &'static str, message: String },
    #[error("{0}")]
    Forbidden(String),
    /// A 403 with its specific code (`ACCOUNT_INACTIVE`, `REGISTRATION_DISABLED`, ...).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error("Request body too large")]
    PayloadTooLarge,
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    /// The request body did not arrive within `server.request_body_timeout_seconds`.
    #[error("Request body not received in time")]
    RequestTimeout,
    /// SQLite reported `SQLITE_FULL`: the database cannot grow. The write was rolled back.
    #[error(
        "Storage full: the database cannot grow because the disk or filesystem holding it is full; nothing was \
         written. Free disk space, then retry."
    )]
    StorageFull,
    #[error("Not Found")]
    RouteNotFound,
    #[error("Method Not Allowed")]
    MethodNotAllowed,
    #[error("Idempotency-Key was already used for a different request")]
    IdempotencyKeyReused,
    /// A rate-limit class is exhausted; carries "10 per 1 minute".
    #[error("Rate limit exceeded: {0}")]
    RateLimited(String),
    #[error("Too many WebSocket connections for this client")]
    TooManyConnections,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    ServiceUnavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// A single validation problem.
    pub fn field(field: impl Into<String>, kind: &'static str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, kind, message)])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) | Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::Validation(_) | Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::Unauthorized(_) | Self::AuthFailed { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::Refused { .. } => StatusCode::FORBIDDEN,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RateLimited(_) | Self::TooManyConnections => StatusCode::TOO_MANY_REQUESTS,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) | Self::RouteNotFound => "NOT_FOUND",
            Self::Validation(_) => "VALIDATION_ERROR",
            Self::Conflict { code, .. } | Self::AuthFailed { code, .. } | Self::Refused { code, .. } => code,
            Self::PreconditionFailed(_) => "PRECONDITION_FAILED",
            Self::Unauthorized(_) => "UNAUTHORIZED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::RequestTimeout => "REQUEST_TIMEOUT",
            Self::StorageFull => "STORAGE_FULL",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            Self::RateLimited(_) => "RATE_LIMITED",
            Self::TooManyConnections => "TOO_MANY_CONNECTIONS",
            Self::BadRequest(_) => "BAD_REQUEST",
            Self::ServiceUnavailable(_) => "SERVICE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL_ERROR",
        }
    }

    /// The standard error body for this error, under `error_id`.
    pub fn body(&self, error_id: String) -> ErrorBody {
        let message = self.public_message();
        let validation_errors = match self {
            Self::Validation(errors) => Some(errors.clone()),
            _ => None,
        };
        ErrorBody {
            detail: message.clone(),
            error: ErrorInfo {
                code: self.code().to_owned(),
                message,
                error_id,
                timestamp: now_string(),
                validation_errors,
            },
        }
    }

    /// The message clients see (internal causes are replaced by a generic text).
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => "An unexpected error occurred".to_owned(),
            other => other.to_string(),
        }
    }
}

/// `Retry-After` of a 507: freeing disk space takes an operator, so a client waits longer than
/// after a 429 or 503.
const STORAGE_FULL_RETRY_AFTER_SECONDS: u32 = 60;

/// SQLite's primary result code for "database or disk is full".
const SQLITE_FULL: i64 = 13;

/// Whether `e` is SQLite's `SQLITE_FULL` (the disk, the filesystem or `max_page_count` is exhausted).
pub fn is_storage_full(e: &sqlx::Error) -> bool {
    let code = e.as_database_error().and_then(|d| d.code()).and_then(|c| c.parse::<i64>().ok());
    // The code is the extended result code; its low byte is the primary code.
    code.is_some_and(|c| c & 0xff == SQLITE_FULL)
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if is_storage_full(&e) { Self::StorageFull } else { Self::Internal(format!("database: {e}")) }
    }
}

/// The standard error body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Same as `error.message`; the field the reference SPA reads.
    pub detail: String,
    pub error: ErrorInfo,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorInfo {
    pub code: String,
    pub message: String,
    pub error_id: String,
    pub timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_errors: Option<Vec<FieldError>>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error_id = uuid::Uuid::new_v4().to_string();
        let status = self.status();
        if let Self::Internal(cause) = &self {
            tracing::error!(%error_id, cause = %cause, "request failed");
        }
        let body = self.body(error_id);
        let mut resp = (status, axum::Json(body)).into_response();
        let headers = resp.headers_mut();
        match status {
            StatusCode::UNAUTHORIZED => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            StatusCode::INSUFFICIENT_STORAGE => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(STORAGE_FULL_RETRY_AFTER_SECONDS));
            }
            _ => {}
        }
        resp
    }
}
