//! Field-level input rules (`api.md` 1.2, 1.6) and a reader that applies them to a JSON object,
//! collecting every problem as a `FieldError` with the spec's `field` / `type` vocabulary.

use serde::Serialize;
use serde_json::{Map, Value};

/// One entry of `error.validation_errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

impl FieldError {
    pub fn new(field: impl Into<String>, kind: &'static str, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into(), kind }
    }
}

/// A field of an update body: absent (leave unchanged) or given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    #[default]
    Absent,
    Set(T),
}

impl<T> Patch<T> {
    pub fn is_set(&self) -> bool {
        matches!(self, Patch::Set(_))
    }
}

pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Limits that more than one front door checks (REST query strings and MCP tool arguments), named
/// once so the two cannot drift.
pub mod limits {
    /// `assignee` and `agent_id`, in bodies, queries and tool arguments.
    pub const NAME: usize = 100;
    /// A ticket's `priority`.
    pub const PRIORITY: usize = 32;
    /// The ticket list's text search `q`.
    pub const SEARCH: usize = 200;
    /// The ticket list's `column` filter.
    pub const COLUMN_FILTER: usize = 100;
}

/// A text of `min..=max` characters, checked as given (no trimming): a query-string value or a
/// tool's filter argument. `field` is the error path (`query.assignee`, `arguments.assignee`).
pub fn text_within(field: impl Into<String>, s: &str, min: usize, max: usize) -> Result<(), FieldError> {
    let n = char_len(s);
    if n < min {
        Err(FieldError::new(field, "string_too_short", format!("must have at least {min} characters")))
    } else if n > max {
        Err(FieldError::new(field, "string_too_long", format!("must have at most {max} characters")))
    } else {
        Ok(())
    }
}

/// An idempotency key (`Idempotency-Key` header, MCP `idempotency_key`): 1..255 printable ASCII.
pub fn is_idempotency_key(key: &[u8]) -> bool {
    !key.is_empty() && key.len() <= 255 && key.iter().all(|c| (0x20..0x7f).contains(c))
}

/// An integer within `min..=max`; `field` is the error path.
pub fn int_within(field: impl Into<String>, n: i64, min: i64, max: i64) -> Result<i64, FieldError> {
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(FieldError::new(field, "out_of_range", format!("must be between {min} and {max}")))
    }
}

/// Reads typed fields out of a JSON object body, recording problems instead of failing fast.
pub struct FieldReader<'a> {
    obj: &'a Map<String, Value>,
    prefix: &'static str,
    pub errors: Vec<FieldError>,
}

impl<'a> FieldReader<'a> {
    /// A reader over a request body; a non-object body is a `body` / `invalid_type` error.
    pub fn body(value: &'a Value) -> Result<Self, Vec<FieldError>> {
        match value {
            Value::Object(obj) => Ok(Self { obj, prefix: "body", errors: Vec::new() }),
            _ => Err(vec![FieldError::new("body", "invalid_type", "Input should be a JSON object")]),
        }
    }

    pub fn path(&self, name: &str) -> String {
        format!("{}.{name}", self.prefix)
    }

    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.obj.contains_key(name)
    }

    pub fn push(&mut self, name: &str, kind: &'static str, message: impl Into<String>) {
        let field = self.path(name);
        self.errors.push(FieldError::new(field, kind, message));
    }

    /// Finish: `Ok(value)` when no problem was recorded.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.errors.is_empty() { Ok(value) } else { Err(self.errors) }
    }

    fn string_value(&mut self, name: &str) -> Option<&'a str> {
        match self.obj.get(name) {
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.push(name, "invalid_type", "Input should be a valid string");
                None
            }
            None => None,
        }
    }

    fn check_len(&mut self, name: &str, s: &str, min: usize, max: usize) -> bool {
        let n = char_len(s);
        if n < min {
            let msg =
                if min == 1 { "must not be blank".to_owned() } else { format!("must have at least {min} characters") };
            self.push(name, "string_too_short", msg);
            false
        } else if n > max {
            self.push(name, "string_too_long", format!("must have at most {max} characters"));
            false
        } else {
            true
        }
    }

    /// A required field's value: absent → `missing`, null → `null_not_allowed` (both recorded).
    pub fn present(&mut self, name: &str) -> Option<&'a Value> {
        match self.obj.get(name) {
            None => {
                self.push(name, "missing", "Field required");
                None
            }
            Some(Value::Null) => {
                self.push(name, "null_not_allowed", "must not be null");
                None
            }
            Some(v) => Some(v),
        }
    }

    /// A required string, verbatim (no trimming, no length rule).
    pub fn required_string(&mut self, name: &str) -> Option<String> {
        self.present(name)?;
        self.string_value(name).map(str::to_owned)
    }

    /// A required, trimmed string of `min..=max` characters.
    pub fn required_trimmed(&mut self, name: &str, min: usize, max: usize) -> Option<String> {
        self.present(name)?;
        self.present_trimmed(name, min, max)
    }

    /// An optional, non-nullable, trimmed string for update bodies (null is rejected).
    pub fn patch_trimmed(&mut self, name: &str, min: usize, max: usize) -> Patch<String> {
        match self.obj.get(name) {
            None => Patch::Absent,
            Some(Value::Null) => {
                self.push(name, "null_not_allowed", "must not be null");
                Patch::Absent
            }
            Some(_) => self.present_trimmed(name, min, max).map_or(Patch::Absent, Patch::Set),
        }
    }

    fn present_trimmed(&mut self, name: &str, min: usize, max: usize) -> Option<String> {
        let s = self.string_value(name)?.trim();
        self.check_len(name, s, min, max).then(|| s.to_owned())
    }

    /// Long text (`description`, `acceptance_criteria`): string or null, at most `max`
    /// characters, blank stored as null, otherwise stored verbatim.
    pub fn patch_text(&mut self, name: &str, max: usize) -> Patch<Option<String>> {
        match self.obj.get(name) {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Set(None),
            Some(_) => match self.string_value(name) {
                Some(s) if s.trim().is_empty() => Patch::Set(None),
                Some(s) if self.check_len(name, s, 0, max) => Patch::Set(Some(s.to_owned())),
                _ => Patch::Absent,
            },
        }
    }

    /// A trimmed name-like value (`assignee`, `agent_id`): string or null, at most `max`,
    /// empty → null.
    pub fn patch_name(&mut self, name: &str, max: usize) -> Patch<Option<String>> {
        match self.obj.get(name) {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Set(None),
            Some(_) => match self.string_value(name).map(str::trim) {
                Some("") => Patch::Set(None),
                Some(s) if self.check_len(name, s, 0, max) => Patch::Set(Some(s.to_owned())),
                _ => Patch::Absent,
            },
        }
    }

    /// An attribution field (`author`, `created_by`, `changed_by`, `moved_by`): null or empty
    /// means absent.
    pub fn attribution(&mut self, name: &str) -> Option<String> {
        match self.patch_name(name, 100) {
            Patch::Set(v) => v,
            Patch::Absent => None,
        }
    }

    /// A required JSON integer (numeric strings and floats are `invalid_type`).
    pub fn required_int(&mut self, name: &str) -> Option<i64> {
        let n = self.present(name)?.as_i64();
        if n.is_none() {
            self.push(name, "invalid_type", "Input should be a valid integer");
        }
        n
    }

    /// A required string that is not blank, stored untrimmed (comment `text`).
    pub fn required_untrimmed(&mut self, name: &str, max: usize) -> Option<String> {
        let s = self.required_string(name)?;
        if s.trim().is_empty() {
            self.push(name, "string_too_short", "must not be blank");
            return None;
        }
        self.check_len(name, &s, 1, max).then_some(s)
    }

    /// An optional list of column names (1..50 names, each trimmed 1..50, unique ignoring case).
    pub fn columns(&mut self, name: &str) -> Patch<Vec<String>> {
        match self.obj.get(name) {
            None => Patch::Absent,
            Some(Value::Null) => {
                self.push(name, "null_not_allowed", "must not be null");
                Patch::Absent
            }
            Some(value) => match parse_columns(value, &self.path(name)) {
                Ok(cols) => Patch::Set(cols),
                Err(e) => {
                    self.errors.push(e);
                    Patch::Absent
                }
            },
        }
    }
}

/// Validate a column list given as a JSON value; `field` is the error path (`body.columns`).
pub fn parse_columns(value: &Value, field: &str) -> Result<Vec<String>, FieldError> {
    let Value::Array(items) = value else {
        return Err(FieldError::new(field, "invalid_type", "Input should be a valid list"));
    };
    if items.is_empty() {
        return Err(FieldError::new(field, "too_few_items", "must contain at least 1 column"));
    }
    if items.len() > 50 {
        return Err(FieldError::new(field, "too_many_items", "must contain at most 50 columns"));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_field = format!("{field}.{i}");
        let Value::String(s) = item else {
            return Err(FieldError::new(item_field, "invalid_type", "Input should be a valid string"));
        };
        let name = s.trim();
        match char_len(name) {
            0 => return Err(FieldError::new(item_field, "string_too_short", "must not be blank")),
            n if n > 50 => {
                return Err(FieldError::new(item_field, "string_too_long", "must have at most 50 characters"));
            }
            _ => {}
        }
        let lower = name.to_lowercase();
        if out.iter().any(|c| c.to_lowercase() == lower) {
            return Err(FieldError::new(item_field, "duplicate", format!("duplicate column '{name}'")));
        }
        out.push(name.to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn required_fields_distinguish_missing_null_and_wrong_type() {
        let body = json!({"n": null, "s": 5, "i": "1"});
        let mut r = FieldReader::body(&body).expect("object");
        assert!(r.required_trimmed("absent", 1, 10).is_none());
        assert!(r.required_trimmed("n", 1, 10).is_none());
        assert!(r.required_trimmed("s", 1, 10).is_none());
        assert!(r.required_int("i").is_none());
        let kinds: Vec<_> = r.errors.iter().map(|e| (e.field.as_str(), e.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("body.absent", "missing"),
                ("body.n", "null_not_allowed"),
                ("body.s", "invalid_type"),
                ("body.i", "invalid_type")
            ]
        );
    }

    #[test]
    fn text_fields_trim_and_blank_becomes_null() {
        let body = json!({"title": "  hi  ", "d": "   ", "a": " bob "});
        let mut r = FieldReader::body(&body).expect("object");
        assert_eq!(r.required_trimmed("title", 1, 200).as_deref(), Some("hi"));
        assert_eq!(r.patch_text("d", 20_000), Patch::Set(None));
        assert_eq!(r.patch_name("a", 100), Patch::Set(Some("bob".into())));
        assert!(r.errors.is_empty());
    }

    #[test]
    fn lengths_count_unicode_scalar_values() {
        let body = json!({"t": "é".repeat(200), "u": "é".repeat(201)});
        let mut r = FieldReader::body(&body).expect("object");
        assert!(r.required_trimmed("t", 1, 200).is_some());
        assert!(r.required_trimmed("u", 1, 200).is_none());
        assert_eq!(r.errors[0].kind, "string_too_long");
    }

    #[test]
    fn column_lists_are_validated() {
        assert_eq!(parse_columns(&json!([" A ", "b"]), "body.columns").expect("valid"), ["A", "b"]);
        assert_eq!(parse_columns(&json!([]), "c").expect_err("empty").kind, "too_few_items");
        assert_eq!(parse_columns(&json!(vec!["x"; 51]), "c").expect_err("long").kind, "too_many_items");
        let dup = parse_columns(&json!(["Done", "done"]), "c").expect_err("dup");
        assert_eq!((dup.field.as_str(), dup.kind), ("c.1", "duplicate"));
        assert_eq!(parse_columns(&json!(["ok", " "]), "c").expect_err("blank").field, "c.1");
    }

    #[test]
    fn shared_text_and_int_rules_name_the_field_and_the_bound() {
        let long = text_within("arguments.agent_id", &"a".repeat(101), 0, limits::NAME).expect_err("too long");
        assert_eq!(
            (long.field.as_str(), long.kind, long.message.as_str()),
            ("arguments.agent_id", "string_too_long", "must have at most 100 characters")
        );
        assert_eq!(text_within("q", "", 1, 5).expect_err("empty").kind, "string_too_short");
        assert!(text_within("q", "é".repeat(5).as_str(), 1, 5).is_ok());
        assert_eq!(int_within("query.board_id", 0, 1, 9).expect_err("zero").message, "must be between 1 and 9");
        assert_eq!(int_within("query.board_id", 9, 1, 9), Ok(9));
    }

    #[test]
    fn non_object_body_is_invalid_type() {
        let err = FieldReader::body(&json!([1])).err().expect("rejected");
        assert_eq!((err[0].field.as_str(), err[0].kind), ("body", "invalid_type"));
    }
}
