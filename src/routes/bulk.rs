//! Bulk operations (`/api/bulk`, `api.md` §9): move, priority and assign many tickets in one
//! writer command, with per-item results in request order; and the status route.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::domain::bulk;
use crate::domain::role::Role;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{IdempotencyKey, JsonBody};
use crate::service::bulk::{AssignResult, BulkMoveResponse, BulkOperationResponse, PriorityResult, run_bulk};
use crate::service::write::{Keyed, Reply};
use crate::state::AppState;

/// The three POST routes (rate class `bulk`).
pub fn write_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(bulk_move)).routes(routes!(bulk_priority)).routes(routes!(bulk_assign))
}

/// The status route (rate class `general`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(bulk_status))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct BulkMoveRequest {
    /// 1..`bulk.max_batch_size` (default 100) distinct ticket ids, possibly on several boards.
    #[schema(min_items = 1, max_items = 100)]
    ticket_ids: Vec<i64>,
    /// Resolved against each ticket's own board (name or snake id).
    #[schema(min_length = 1, pattern = r"\S")]
    target_column: String,
}

/// A bulk priority: a non-blank string of up to 32 characters, or a JSON number.
fn priority_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    let text =
        ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(32)).pattern(Some(r"\S"));
    Schema::OneOf(OneOfBuilder::new().item(text).item(ObjectBuilder::new().schema_type(Type::Number)).build())
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PriorityUpdate {
    ticket_id: i64,
    /// A string (trimmed, 1..32) or a JSON number stored as its literal text.
    #[schema(schema_with = priority_schema)]
    priority: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct BulkPriorityRequest {
    /// 1..`bulk.max_batch_size` (default 100) updates with distinct ticket ids.
    #[schema(min_items = 1, max_items = 100)]
    updates: Vec<PriorityUpdate>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct BulkAssignRequest {
    /// 1..`bulk.max_batch_size` (default 100) distinct ticket ids.
    #[schema(min_items = 1, max_items = 100)]
    ticket_ids: Vec<i64>,
    /// Required key; null or `""` unassigns.
    assignee: Option<String>,
}

fn max_batch(state: &AppState) -> usize {
    state.config.bulk.max_batch_size
}

/// Move many tickets to a column (pm). Honours `Idempotency-Key`; rate class `bulk`.
#[utoipa::path(post, path = "/api/bulk/tickets/move", tag = "bulk", security(("bearerAuth" = ["pm"])),
    request_body = BulkMoveRequest,
    responses((status = 200, description = "Per-item results in request order (200 even when every item fails)", body = BulkMoveResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below pm", body = ErrorBody),
        (status = 422, description = "Invalid body: too_few_items, too_many_items, duplicate, missing or wrong types", body = ErrorBody),
        (status = 429, description = "Bulk rate-limit class exhausted", body = ErrorBody)))]
async fn bulk_move(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: JsonBody,
) -> ApiResult<Reply> {
    caller.require(Role::Pm)?;
    let req = bulk::parse_move(&body.value, max_batch(&state)).map_err(ApiError::Validation)?;
    run_bulk(&state, &caller, Keyed::new(&caller, key.0, &body.raw), req).await
}

/// Set the priority of many tickets (pm). Honours `Idempotency-Key`; rate class `bulk`.
#[utoipa::path(post, path = "/api/bulk/tickets/priority", tag = "bulk", security(("bearerAuth" = ["pm"])),
    request_body = BulkPriorityRequest,
    responses((status = 200, description = "Per-item results in request order", body = BulkOperationResponse<PriorityResult>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below pm", body = ErrorBody),
        (status = 422, description = "Invalid body: too_few_items, too_many_items, duplicate, missing or wrong types", body = ErrorBody),
        (status = 429, description = "Bulk rate-limit class exhausted", body = ErrorBody)))]
async fn bulk_priority(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: JsonBody,
) -> ApiResult<Reply> {
    caller.require(Role::Pm)?;
    let req = bulk::parse_priority(&body.value, max_batch(&state)).map_err(ApiError::Validation)?;
    run_bulk(&state, &caller, Keyed::new(&caller, key.0, &body.raw), req).await
}

/// Assign (or unassign) many tickets (pm), bypassing claim rules. Honours `Idempotency-Key`;
/// rate class `bulk`.
#[utoipa::path(post, path = "/api/bulk/tickets/assign", tag = "bulk", security(("bearerAuth" = ["pm"])),
    request_body = BulkAssignRequest,
    responses((status = 200, description = "Per-item results in request order", body = BulkOperationResponse<AssignResult>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Role below pm", body = ErrorBody),
        (status = 422, description = "Invalid body: too_few_items, too_many_items, duplicate, missing or wrong types", body = ErrorBody),
        (status = 429, description = "Bulk rate-limit class exhausted", body = ErrorBody)))]
async fn bulk_assign(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: JsonBody,
) -> ApiResult<Reply> {
    caller.require(Role::Pm)?;
    let req = bulk::parse_assign(&body.value, max_batch(&state)).map_err(ApiError::Validation)?;
    run_bulk(&state, &caller, Keyed::new(&caller, key.0, &body.raw), req).await
}

#[derive(Serialize, ToSchema)]
pub struct BulkRateLimits {
    pub bulk_move: String,
    pub bulk_priority: String,
    pub bulk_assign: String,
}

#[derive(Serialize, ToSchema)]
pub struct BulkStatus {
    pub status: &'static str,
    /// The configured `rate_limit.bulk` quota of each POST route.
    pub rate_limits: BulkRateLimits,
    pub max_batch_size: usize,
    pub supported_operations: Vec<&'static str>,
    pub cache_integration: bool,
    pub websocket_integration: bool,
}

/// What bulk operations exist and how they are limited (viewer); reflects configuration.
#[utoipa::path(get, path = "/api/bulk/operations/status", tag = "bulk", security(("bearerAuth" = ["viewer"])),
    responses((status = 200, description = "Bulk configuration", body = BulkStatus),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No role", body = ErrorBody)))]
async fn bulk_status(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<BulkStatus>> {
    caller.require(Role::Viewer)?;
    let quota = serde_json::to_value(state.config.rate_limit.bulk)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    Ok(axum::Json(BulkStatus {
        status: "operational",
        rate_limits: BulkRateLimits { bulk_move: quota.clone(), bulk_priority: quota.clone(), bulk_assign: quota },
        max_batch_size: max_batch(&state),
        supported_operations: vec!["bulk_move", "bulk_priority_update", "bulk_assign"],
        cache_integration: false,
        websocket_integration: true,
    }))
}
