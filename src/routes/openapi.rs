//! Completes the generated OpenAPI document with the responses every operation shares, so that
//! each operation lists every status it can return and every response has a description.
//!
//! The handlers' `#[utoipa::path]` annotations list what is specific to a route (404 of a missing
//! entity, 409, 412). What follows from the route's shape is added here, once, by the same rules
//! the server applies (`api.md` 1.2, 1.4, 1.5): a route with a security requirement can answer
//! 401/403, a path id 422 (`int_parsing`) and 404, a query string 422, a JSON body 400/408/413/415/
//! 422, a rate-limited route 429, a write 507, and every route 500/503. A route added later gets
//! the same treatment without touching this file.

use serde_json::{Map, Value, json};

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
    let secured = op.get("security").and_then(Value::as_array).is_some_and(|s| s.iter().any(|r| r != &json!({})));
    if secured {
        out.extend(["401", "403"]);
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

/// Add the shared error responses and a description to every response lacking one.
pub fn complete(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for method in METHODS {
            let Some(op) = item.get_mut(*method).and_then(Value::as_object_mut) else { continue };
            let statuses = shared_statuses(path, method, op);
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
        complete(&mut doc);
        let responses = doc["paths"]["/api/tickets/{ticket_id}"]["put"]["responses"].as_object().expect("responses");
        let codes: Vec<&str> = responses.keys().map(String::as_str).collect();
        assert_eq!(
            codes,
            ["200", "400", "401", "403", "404", "408", "412", "413", "415", "422", "429", "500", "503", "507"]
        );
        assert!(responses.values().all(|r| r["description"].is_string()));
    }

    #[test]
    fn public_reads_outside_the_api_get_only_server_errors() {
        let mut doc = json!({"paths": {"/": {"get": {"responses": {"200": {}}}}}});
        complete(&mut doc);
        let codes: Vec<&String> = doc["paths"]["/"]["get"]["responses"].as_object().expect("map").keys().collect();
        assert_eq!(codes, ["200", "500", "503"]);
    }
}
