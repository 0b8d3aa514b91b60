//! Boards: the response shape and the parsing of create / update / column-update bodies.

use serde::Serialize;
use serde_json::Value;

use super::columns::DEFAULT_COLUMNS;
use super::validation::{FieldError, FieldReader, Patch, parse_columns};

/// A board as every board route returns it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Board {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub columns: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Live number of tickets on the board.
    pub ticket_count: i64,
    pub version: i64,
}

/// A validated `POST /api/boards/` body.
#[derive(Debug)]
pub struct NewBoard {
    pub name: String,
    pub description: Option<String>,
    pub columns: Vec<String>,
}

/// A validated column change (either PUT route).
#[derive(Debug, Default)]
pub struct ColumnEdit {
    pub columns: Vec<String>,
    pub renames: Vec<(String, String)>,
    pub move_tickets_to: Option<String>,
}

/// A validated `PUT /api/boards/{id}` body.
#[derive(Debug, Default)]
pub struct BoardUpdate {
    pub name: Patch<String>,
    pub description: Patch<Option<String>>,
    pub columns: Option<ColumnEdit>,
}

impl NewBoard {
    pub fn parse(body: &Value) -> Result<Self, Vec<FieldError>> {
        let mut r = FieldReader::body(body)?;
        let name = r.required_trimmed("name", 1, 100);
        let description = match r.patch_text("description", 20_000) {
            Patch::Set(d) => d,
            Patch::Absent => None,
        };
        let columns = match r.raw("columns") {
            None | Some(Value::Null) => Some(DEFAULT_COLUMNS.iter().map(|c| c.to_string()).collect()),
            Some(_) => match r.columns("columns") {
                Patch::Set(c) => Some(c),
                Patch::Absent => None,
            },
        };
        match (name, columns) {
            (Some(name), Some(columns)) => r.finish(NewBoard { name, description, columns }),
            _ => Err(r.errors),
        }
    }
}

impl BoardUpdate {
    pub fn parse(body: &Value) -> Result<Self, Vec<FieldError>> {
        let mut r = FieldReader::body(body)?;
        let name = r.patch_trimmed("name", 1, 100);
        let description = r.patch_text("description", 20_000);
        let columns = r.columns("columns");
        let edit = read_column_extras(&mut r);
        let columns = match (columns, edit) {
            (Patch::Set(columns), Some((renames, move_tickets_to))) => {
                Some(ColumnEdit { columns, renames, move_tickets_to })
            }
            (Patch::Absent, Some((renames, target)))
                if !r.has("columns") && (!renames.is_empty() || target.is_some()) =>
            {
                let which = if renames.is_empty() { "move_tickets_to" } else { "renames" };
                r.push(which, "missing", format!("{which} requires columns"));
                None
            }
            _ => None,
        };
        r.finish(BoardUpdate { name, description, columns })
    }
}

impl ColumnEdit {
    /// `PUT /api/boards/{id}/columns`: a bare array (reference form) or an object.
    pub fn parse(body: &Value) -> Result<Self, Vec<FieldError>> {
        if body.is_array() {
            let columns = parse_columns(body, "body").map_err(|e| vec![e])?;
            return Ok(ColumnEdit { columns, ..Default::default() });
        }
        let mut r = FieldReader::body(body)?;
        let columns = match r.raw("columns") {
            None => {
                r.push("columns", "missing", "Field required");
                None
            }
            Some(_) => match r.columns("columns") {
                Patch::Set(c) => Some(c),
                Patch::Absent => None,
            },
        };
        let extras = read_column_extras(&mut r);
        match (columns, extras) {
            (Some(columns), Some((renames, move_tickets_to))) => {
                r.finish(ColumnEdit { columns, renames, move_tickets_to })
            }
            _ => Err(r.errors),
        }
    }
}

/// `renames` (object of strings) and `move_tickets_to` (string or null).
/// `renames` in request order and the optional `move_tickets_to`.
type ColumnExtras = (Vec<(String, String)>, Option<String>);

fn read_column_extras(r: &mut FieldReader<'_>) -> Option<ColumnExtras> {
    let mut ok = true;
    let renames = match r.raw("renames") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => {
            let mut out = Vec::new();
            for (k, v) in map {
                match v.as_str() {
                    Some(s) => out.push((k.clone(), s.to_owned())),
                    None => {
                        r.push("renames", "invalid_type", "renames values must be strings");
                        ok = false;
                    }
                }
            }
            out
        }
        Some(_) => {
            r.push("renames", "invalid_type", "renames must be an object of old name to new name");
            ok = false;
            Vec::new()
        }
    };
    let target = match r.raw("move_tickets_to") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            r.push("move_tickets_to", "invalid_type", "Input should be a valid string");
            ok = false;
            None
        }
    };
    ok.then_some((renames, target))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn new_board_defaults_its_columns() {
        let b = NewBoard::parse(&json!({"name": " Sprint ", "columns": null})).expect("valid");
        assert_eq!(b.name, "Sprint");
        assert_eq!(b.columns.len(), 5);
    }

    #[test]
    fn renames_without_columns_are_rejected() {
        let e = BoardUpdate::parse(&json!({"renames": {"A": "B"}})).expect_err("rejected");
        assert_eq!(e[0].field, "body.renames");
    }

    #[test]
    fn column_edit_accepts_both_forms() {
        assert_eq!(ColumnEdit::parse(&json!(["A"])).expect("array").columns, ["A"]);
        let e = ColumnEdit::parse(&json!({"columns": ["A"], "renames": {"X": "A"}, "move_tickets_to": "A"}))
            .expect("object");
        assert_eq!(e.renames, vec![("X".to_string(), "A".to_string())]);
        assert_eq!(e.move_tickets_to.as_deref(), Some("A"));
        assert_eq!(ColumnEdit::parse(&json!([])).expect_err("empty")[0].kind, "too_few_items");
    }
}
