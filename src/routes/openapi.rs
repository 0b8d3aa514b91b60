//! Completes the generated OpenAPI document with the responses every operation shares, so that
//! each operation lists every status it can return and every response has a description.
//!
//! The handlers' `#[utoipa::path]` annotations list what is specific to a route (404 of a missing
//! entity, 409, 412). What follows from the route's shape is added here, once, by the same rules
//! the server applies (`api.md` 1.2, 1.4, 1.5): a route with a security requirement can answer
//! 401/403, a path id 422 (`int_parsing`) and 404, a query string 422, a JSON body 400/408/413/415/
//! 422, a rate-limited route 429, a write 507, and every route 500/503. A route added later gets
//! the same treatment without touching this file.
//!
//! The document describes the running server: with `auth.anonymous_role` set, an operation the
//! anonymous role may call lists the empty security requirement `{}` as an alternative to its
//! `bearerAuth` requirement, as OpenAPI spells "credentials optional".

use serde_json::{Map, Value, json};

use crate::domain::role::Role;

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];

/// GET routes that write through the writer (the anonymous session refreshes its activity).
const WRITING_GETS: &[&str] = &["/api/users/session"];

/// Routes outside every rate-limit class (`auth.md`: health and status are never limited).
fn rate_limited(path: &str) -> bool {
    path.starts_with("/api/") && path != "/api/status" && !path.starts_with("/api/health")
}

fn description(status: &str) -> &'static str {
    match status {
        "101" => "Switching Protocols: the WebSocket is open",
        "200" => "Success",
        "201" => "Created",
        "204" => "No Content",
        "400" => "The request could not be read (`BAD_REQUEST`)",
        "401" => "Missing, invalid or expired credentials (`UNAUTHORIZED`, `INVALID_CREDENTIALS`, `INVALID_TOKEN`)",
        "403" => "Not allowed: role too low, not the owner, or refused (`FORBIDDEN` and specific codes)",
        "404" => "Not found (`NOT_FOUND`)",
        "408" => "The request body did not arrive in time (`REQUEST_TIMEOUT`)",
        "409" => "Conflicts with the current state (specific code)",
        "412" => "`If-Match` does not match the current version (`PRECONDITION_FAILED`)",
        "413" => "Request body too large (`PAYLOAD_TOO_LARGE`)",
        "415" => "The body is not `application/json` (`UNSUPPORTED_MEDIA_TYPE`)",
        "422" => "Invalid input (`VALIDATION_ERROR` with `validation_errors`, or `IDEMPOTENCY_KEY_REUSED`)",
        "429" => "Rate limit or connection limit exceeded (`RATE_LIMITED`, `TOO_MANY_CONNECTIONS`)",
        "500" => "Unexpected error (`INTERNAL_ERROR`)",
        "503" => "Shutting down, writer queue full or too many connections (`SERVICE_UNAVAILABLE`)",
        "507" => "The database cannot grow: disk or filesystem full, nothing written (`STORAGE_FULL`)",
        _ => "Response",
    }
}

fn error_response(status: &str) -> Value {
    json!({
        "description": description(status),
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } }
    })
}

/// The statuses an operation can return by its shape (see the module documentation).
fn shared_statuses(path: &str, method: &str, op: &Map<String, Value>) -> Vec<&'static str> {
    let mut out = vec!["500", "503"];
    let security = op.get("security").and_then(Value::as_array);
    if security.is_some_and(|s| s.iter().any(|r| r != &json!({}))) {
        out.push("401");
        // The ops role refuses with 401 only (a token that is neither the ops token nor an admin's).
        if !security.is_some_and(|s| s.iter().any(|r| r.get("opsToken").is_some())) {
            out.push("403");
        }
    }
    let params = op.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
    if params.iter().any(|p| p["in"] == "path") {
        out.extend(["404", "422"]);
    }
    if params.iter().any(|p| p["in"] == "query") {
        out.push("422");
    }
    if op.contains_key("requestBody") {
        out.extend(["400", "408", "413", "415", "422"]);
    }
    if rate_limited(path) {
        out.push("429");
    }
    if path.starts_with("/api/") && (method != "get" || WRITING_GETS.contains(&path)) {
        out.push("507");
    }
    out
}

/// Whether the anonymous role meets `op`'s minimum role (named in its `bearerAuth` requirement;
/// an empty role list means "any authenticated user", which anonymous callers are not).
fn anonymous_allowed(op: &Map<String, Value>, anonymous: Option<Role>) -> bool {
    let Some(anonymous) = anonymous else { return false };
    let Some(security) = op.get("security").and_then(Value::as_array) else { return false };
    security.iter().any(|req| {
        req.get("bearerAuth")
            .and_then(Value::as_array)
            .and_then(|roles| roles.first())
            .and_then(Value::as_str)
            .and_then(Role::parse)
            .is_some_and(|min| anonymous >= min)
    })
}

/// Path parameters are ids: positive 64-bit integers.
fn constrain_path_ids(op: &mut Map<String, Value>) {
    let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else { return };
    for p in params.iter_mut().filter(|p| p["in"] == "path") {
        if let Some(schema) = p.get_mut("schema").and_then(Value::as_object_mut)
            && schema.get("type") == Some(&Value::from("integer"))
        {
            schema.entry("minimum").or_insert(Value::from(1));
            schema.entry("maximum").or_insert(Value::from(i64::MAX));
        }
    }
}

/// A board's column list never repeats a name, nor a bulk request a ticket id (utoipa has no
/// `uniqueItems` attribute; the case-insensitive part of the column rule cannot be said in JSON
/// Schema).
fn unique_column_lists(doc: &mut Value) {
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    for schema in schemas.values_mut() {
        if let Some(columns) = schema.pointer_mut("/properties/columns").and_then(Value::as_object_mut) {
            let items_are_names =
                |v: &Value| v.pointer("/items/$ref") == Some(&Value::from("#/components/schemas/ColumnName"));
            if items_are_names(&Value::Object(columns.clone())) {
                columns.insert("uniqueItems".into(), Value::Bool(true));
            }
        }
        // Bulk requests name each ticket once (api.md §9: 422 `duplicate`).
        if let Some(ids) = schema.pointer_mut("/properties/ticket_ids").and_then(Value::as_object_mut) {
            ids.insert("uniqueItems".into(), Value::Bool(true));
        }
    }
}

/// Add the shared error responses and a description to every response lacking one; see the
/// module documentation. `anonymous` is the role of callers without credentials, if any.
pub fn complete(doc: &mut Value, anonymous: Option<Role>) {
    unique_column_lists(doc);
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for method in METHODS {
            let Some(op) = item.get_mut(*method).and_then(Value::as_object_mut) else { continue };
            let statuses = shared_statuses(path, method, op);
            constrain_path_ids(op);
            if anonymous_allowed(op, anonymous)
                && let Some(security) = op.get_mut("security").and_then(Value::as_array_mut)
            {
                security.push(json!({}));
            }
            let responses = op.entry("responses").or_insert_with(|| json!({}));
            let Some(responses) = responses.as_object_mut() else { continue };
            for status in statuses {
                responses.entry(status).or_insert_with(|| error_response(status));
            }
            for (status, response) in responses.iter_mut() {
                if let Some(r) = response.as_object_mut()
                    && !r.contains_key("$ref")
                {
                    r.entry("description").or_insert_with(|| Value::from(description(status)));
                }
            }
            sort_by_status(responses);
        }
    }
}

/// Keep responses in status order (the map preserves insertion order).
fn sort_by_status(responses: &mut Map<String, Value>) {
    let mut entries: Vec<(String, Value)> = std::mem::take(responses).into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    responses.extend(entries);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secured_write_with_a_path_id_and_a_body_gets_every_shared_status() {
        let mut doc = json!({"paths": {"/api/tickets/{ticket_id}": {"put": {
            "security": [{"bearerAuth": ["agent"]}],
            "parameters": [{"name": "ticket_id", "in": "path", "required": true}],
            "requestBody": {"content": {}},
            "responses": {"200": {"content": {}}, "412": {"content": {}}}
        }}}});
        complete(&mut doc, None);
        let responses = doc["paths"]["/api/tickets/{ticket_id}"]["put"]["responses"].as_object().expect("responses");
        let codes: Vec<&str> = responses.keys().map(String::as_str).collect();
        assert_eq!(
            codes,
            ["200", "400", "401", "403", "404", "408", "412", "413", "415", "422", "429", "500", "503", "507"]
        );
        assert!(responses.values().all(|r| r["description"].is_string()));
    }

    #[test]
    fn credentials_are_optional_where_the_anonymous_role_suffices() {
        let op = |role: &str| json!({"security": [{"bearerAuth": [role]}], "responses": {}});
        let mut doc = json!({"paths": {"/a": {"get": op("viewer"), "put": op("admin")}, "/b": {"get": op("pm")}}});
        complete(&mut doc, Some(Role::Pm));
        assert_eq!(doc["paths"]["/a"]["get"]["security"], json!([{"bearerAuth": ["viewer"]}, {}]));
        assert_eq!(doc["paths"]["/a"]["put"]["security"], json!([{"bearerAuth": ["admin"]}]));
        assert_eq!(doc["paths"]["/b"]["get"]["security"], json!([{"bearerAuth": ["pm"]}, {}]));
    }

    #[test]
    fn public_reads_outside_the_api_get_only_server_errors() {
        let mut doc = json!({"paths": {"/": {"get": {"responses": {"200": {}}}}}});
        complete(&mut doc, None);
        let codes: Vec<&String> = doc["paths"]["/"]["get"]["responses"].as_object().expect("map").keys().collect();
        assert_eq!(codes, ["200", "500", "503"]);
    }
}
