//! `/docs`: the interactive API explorer (Swagger UI), embedded in the binary and served from
//! `/docs/…`, over `/openapi.json`. It loads nothing from another origin: the validator badge
//! (which would call out to a public validator) is switched off, and a strict
//! `Content-Security-Policy` keeps every script, style and fetch on this origin.

use std::sync::{Arc, LazyLock};

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::Config;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Swagger UI renders with inline style attributes and `data:` images; scripts and connections
/// stay on this origin.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; \
                   frame-ancestors 'none'; form-action 'self'";

static CONFIG: LazyLock<Arc<Config<'static>>> =
    LazyLock::new(|| Arc::new(Config::new(["/openapi.json"]).validator_url("none").try_it_out_enabled(true)));

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(docs)).routes(routes!(docs_index)).routes(routes!(docs_file))
}

/// The interactive API explorer: redirects to `/docs/`, where its relative asset links resolve.
#[utoipa::path(get, path = "/docs", tag = "service",
    responses((status = 303, description = "Redirect to `/docs/`", headers(("Location" = String)))))]
async fn docs() -> Redirect {
    Redirect::to("/docs/")
}

/// The API explorer's HTML page (works offline).
#[utoipa::path(get, path = "/docs/", tag = "service",
    responses((status = 200, description = "Swagger UI page", body = String, content_type = "text/html")))]
async fn docs_index() -> ApiResult<Response> {
    serve("index.html")
}

/// A script, style sheet or image of the explorer.
#[utoipa::path(get, path = "/docs/{file}", tag = "service",
    params(("file" = String, Path, description = "Asset name, e.g. `swagger-ui.css`")),
    responses(
        (status = 200, description = "The asset", content(
            (String = "text/javascript"), (String = "text/css"), (String = "text/html"), (String = "image/png"))),
        (status = 404, description = "No such asset", body = crate::error::ErrorBody),
    ))]
async fn docs_file(Path(file): Path<String>) -> ApiResult<Response> {
    serve(&file)
}

fn serve(file: &str) -> ApiResult<Response> {
    let found = utoipa_swagger_ui::serve(file, CONFIG.clone()).map_err(|e| ApiError::internal(e.as_ref()))?;
    let asset = found.ok_or_else(|| ApiError::not_found("Explorer asset"))?;
    let content_type = HeaderValue::from_str(&asset.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let mut resp = asset.bytes.into_owned().into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    Ok(resp)
}
