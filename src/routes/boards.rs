//! Boards (`/api/boards`): list, default board, get, create, update, delete, columns, tickets.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::db;
use crate::domain::board::{Board, BoardUpdate, ColumnEdit, NewBoard};
use crate::domain::role::Role;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{BoardId, IdempotencyKey, IfMatchHeader, JsonBody};
use crate::routes::schemas::{
    BoardTickets, ColumnsRequest, ColumnsResult, CreateBoardRequest, Message, UpdateBoardRequest, board_tickets_body,
};
use crate::service::write::{Keyed, Reply, run_write};
use crate::state::AppState;

/// `POST /api/boards/` (rate class board_create).
pub fn create_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_board))
}

/// Every other board route (rate class general).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_boards))
        .routes(routes!(get_default_board))
        .routes(routes!(get_default_board_tickets))
        .routes(routes!(get_board, update_board, delete_board))
        .routes(routes!(get_board_columns, update_board_columns))
        .routes(routes!(get_board_tickets))
}

fn board_reply(board: Board) -> ApiResult<Reply> {
    let version = board.version;
    Ok(Reply::ok(board)?.versioned(version))
}

/// List every board, ordered by id.
#[utoipa::path(get, path = "/api/boards", tag = "boards", security(("bearerAuth" = ["viewer"])),
    responses((status = 200, body = Vec<Board>), (status = 401, body = ErrorBody)))]
async fn list_boards(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Vec<Board>>> {
    caller.require(Role::Viewer)?;
    Ok(axum::Json(db::boards::list(&state.db).await?))
}

/// The board with the lowest id.
#[utoipa::path(get, path = "/api/boards/default", tag = "boards", security(("bearerAuth" = ["viewer"])),
    responses((status = 200, body = Board), (status = 404, body = ErrorBody)))]
async fn get_default_board(State(state): State<AppState>, caller: Caller) -> ApiResult<Reply> {
    caller.require(Role::Viewer)?;
    board_reply(db::boards::first(&state.db).await?)
}

/// The tickets of the board with the lowest id.
#[utoipa::path(get, path = "/api/boards/default/tickets", tag = "boards", security(("bearerAuth" = ["viewer"])),
    responses((status = 200, body = BoardTickets), (status = 404, body = ErrorBody)))]
async fn get_default_board_tickets(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    caller.require(Role::Viewer)?;
    let board = db::boards::first(&state.db).await?;
    board_tickets(&state, board).await
}

/// One board.
#[utoipa::path(get, path = "/api/boards/{board_id}", tag = "boards", security(("bearerAuth" = ["viewer"])), params(("board_id" = i64, Path)),
    responses((status = 200, body = Board), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_board(State(state): State<AppState>, caller: Caller, BoardId(id): BoardId) -> ApiResult<Reply> {
    caller.require(Role::Viewer)?;
    board_reply(db::boards::get(&state.db, id).await?)
}

/// Create a board (pm). Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/api/boards", tag = "boards", security(("bearerAuth" = ["pm"])), request_body = CreateBoardRequest,
    responses((status = 201, body = Board), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_board(
    State(state): State<AppState>,
    caller: Caller,
    IdempotencyKey(key): IdempotencyKey,
    body: JsonBody,
) -> ApiResult<Reply> {
    caller.require(Role::Pm)?;
    let new = NewBoard::parse(&body.value).map_err(ApiError::Validation)?;
    let keyed = Keyed::new(&caller, key, &body.raw);
    run_write(&state, keyed, move |conn, ctx| {
        Box::pin(async move {
            let board = db::boards::create(conn, ctx, new).await?;
            let (id, version) = (board.id, board.version);
            Ok(Reply::created(board, format!("/api/boards/{id}"))?.versioned(version))
        })
    })
    .await
}

/// Update name, description and/or columns (pm); honours `If-Match`.
#[utoipa::path(put, path = "/api/boards/{board_id}", tag = "boards", security(("bearerAuth" = ["pm"])), params(("board_id" = i64, Path)),
    request_body = UpdateBoardRequest,
    responses((status = 200, body = Board), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_board(
    State(state): State<AppState>,
    caller: Caller,
    BoardId(id): BoardId,
    IfMatchHeader(if_match): IfMatchHeader,
    body: JsonBody,
) -> ApiResult<Reply> {
    caller.require(Role::Pm)?;
    let update = BoardUpdate::parse(&body.value).map_err(ApiError::Validation)?;
    let actor = caller.changed_by(None);
    run_write(&state, None, move |conn, ctx| {
        Box::pin(async move {
            let w = db::boards::BoardWrite { board_id: id, if_match: if_match.as_ref(), actor: &actor };
            board_reply(db::boards::update(conn, ctx, w, update).await?)
        })
    })
    .await
}

/// Delete a board with its tickets, comments and history (pm); honours `If-Match`.
#[utoipa::path(delete, path = "/api/boards/{board_id}", tag = "boards", security(("bearerAuth" = ["pm"])), params(("board_id" = i64, Path)),
    responses((status = 200, body = Message), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody)))]
async fn delete_board(
    State(state): State<AppState>,
    caller: Caller,
    BoardId(id): BoardId,
    IfMatchHeader(if_match): IfMatchHeader,
) -> ApiResult<Reply> {
    caller.require(Role::Pm)?;
    let actor = caller.changed_by(None);
    run_write(&state, None, move |conn, ctx| {
        Box::pin(async move {
            let w = db::boards::BoardWrite { board_id: id, if_match: if_match.as_ref(), actor: &actor };
            db::boards::delete(conn, ctx, w).await?;
            Reply::message("Board deleted successfully")
        })
    })
    .await
}

/// The board's column names in order.
#[utoipa::path(get, path = "/api/boards/{board_id}/columns", tag = "boards", security(("bearerAuth" = ["viewer"])), params(("board_id" = i64, Path)),
    responses((status = 200, body = Vec<String>), (status = 404, body = ErrorBody)))]
async fn get_board_columns(
    State(state): State<AppState>,
    caller: Caller,
    BoardId(id): BoardId,
) -> ApiResult<axum::Json<Vec<String>>> {
    caller.require(Role::Viewer)?;
    Ok(axum::Json(db::boards::get(&state.db, id).await?.columns))
}

/// Replace the column list (bare array or object form), with renames and ticket migration (pm).
#[utoipa::path(put, path = "/api/boards/{board_id}/columns", tag = "boards", security(("bearerAuth" = ["pm"])), params(("board_id" = i64, Path)),
    request_body = ColumnsRequest,
    responses((status = 200, body = ColumnsResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_board_columns(
    State(state): State<AppState>,
    caller: Caller,
    BoardId(id): BoardId,
    IfMatchHeader(if_match): IfMatchHeader,
    body: JsonBody,
) -> ApiResult<Reply> {
    caller.require(Role::Pm)?;
    let edit = ColumnEdit::parse(&body.value).map_err(ApiError::Validation)?;
    let actor = caller.changed_by(None);
    run_write(&state, None, move |conn, ctx| {
        Box::pin(async move {
            let w = db::boards::BoardWrite { board_id: id, if_match: if_match.as_ref(), actor: &actor };
            let out = db::boards::update_columns(conn, ctx, w, edit).await?;
            let version = out.board.version;
            let result = ColumnsResult {
                message: "Columns updated successfully".into(),
                columns: out.board.columns,
                renamed_tickets: out.renamed_tickets,
                moved_tickets: out.moved_tickets,
            };
            Ok(Reply::with_status(StatusCode::OK, result)?.versioned(version))
        })
    })
    .await
}

/// The board's tickets with `time_in_column` in milliseconds.
#[utoipa::path(get, path = "/api/boards/{board_id}/tickets", tag = "boards", security(("bearerAuth" = ["viewer"])), params(("board_id" = i64, Path)),
    responses((status = 200, body = BoardTickets), (status = 404, body = ErrorBody)))]
async fn get_board_tickets(State(state): State<AppState>, caller: Caller, BoardId(id): BoardId) -> ApiResult<Response> {
    caller.require(Role::Viewer)?;
    let board = db::boards::get(&state.db, id).await?;
    board_tickets(&state, board).await
}

async fn board_tickets(state: &AppState, board: Board) -> ApiResult<Response> {
    let now_ms = Utc::now().timestamp_millis();
    db::tickets::board_list_json(&state.db, board.id, now_ms, |tickets, total| {
        board_tickets_body(board.id, &board.name, tickets, total)
    })
    .await
}
