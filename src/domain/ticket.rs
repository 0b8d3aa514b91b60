//! Tickets: response shapes and the parsing of create / update / move / claim bodies.

use serde::Serialize;
use serde_json::Value;

use super::validation::{FieldError, FieldReader, Patch};

/// A ticket as single-ticket routes return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Ticket {
    pub id: i64,
    pub board_id: i64,
    pub title: String,
    pub description: Option<String>,
    pub acceptance_criteria: Option<String>,
    pub priority: String,
    pub assignee: Option<String>,
    pub current_column: String,
    pub created_at: String,
    pub updated_at: String,
    pub column_entered_at: String,
    pub version: i64,
}

impl Ticket {
    /// The ticket after a move to `column` at `now`: the column, its entry time and the update
    /// time change, and the version goes up by one (what the move statement writes).
    pub fn moved_to(&self, column: &str, now: &str) -> Ticket {
        Ticket {
            current_column: column.to_owned(),
            column_entered_at: now.to_owned(),
            updated_at: now.to_owned(),
            version: self.version + 1,
            ..self.clone()
        }
    }
}

/// A ticket in a board's ticket list: every Ticket field plus the time in its column.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BoardTicket {
    #[serde(flatten)]
    pub ticket: Ticket,
    /// Milliseconds since the ticket entered its current column.
    pub time_in_column: i64,
}

/// A validated `POST /api/tickets/` body.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub board_id: i64,
    pub title: String,
    pub description: Option<String>,
    pub acceptance_criteria: Option<String>,
    pub priority: String,
    pub assignee: Option<String>,
    pub current_column: Option<String>,
    pub created_by: Option<String>,
}

/// A validated `PUT /api/tickets/{id}` body.
#[derive(Debug, Clone, Default)]
pub struct TicketUpdate {
    pub title: Patch<String>,
    pub description: Patch<Option<String>>,
    pub acceptance_criteria: Patch<Option<String>>,
    pub priority: Patch<String>,
    pub assignee: Patch<Option<String>>,
    pub changed_by: Option<String>,
    /// Allowed only when equal to the stored column (checked against the board).
    pub current_column: Option<String>,
    /// Allowed only when equal to the stored board.
    pub board_id: Option<i64>,
}

/// A validated move body.
#[derive(Debug, Clone)]
pub struct MoveRequest {
    pub column: String,
    pub moved_by: Option<String>,
}

fn set_or<T>(p: Patch<T>, default: T) -> T {
    match p {
        Patch::Set(v) => v,
        Patch::Absent => default,
    }
}

impl NewTicket {
    pub fn parse(body: &Value) -> Result<Self, Vec<FieldError>> {
        let mut r = FieldReader::body(body)?;
        let board_id = r.required_int("board_id");
        let title = r.required_trimmed("title", 1, 200);
        let description = set_or(r.patch_text("description", 20_000), None);
        let acceptance_criteria = set_or(r.patch_text("acceptance_criteria", 20_000), None);
        // An explicit null priority on create means "the default" (chosen: lenient for clients
        // that serialise every key).
        let priority = match r.raw("priority") {
            None | Some(Value::Null) => "1.0".to_owned(),
            Some(_) => set_or(r.patch_trimmed("priority", 1, 32), String::new()),
        };
        let assignee = set_or(r.patch_name("assignee", 100), None);
        let current_column = match r.raw("current_column") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                r.push("current_column", "invalid_type", "Input should be a valid string");
                None
            }
        };
        let created_by = r.attribution("created_by");
        match (board_id, title) {
            (Some(board_id), Some(title)) => r.finish(NewTicket {
                board_id,
                title,
                description,
                acceptance_criteria,
                priority,
                assignee,
                current_column,
                created_by,
            }),
            _ => Err(r.errors),
        }
    }
}

impl TicketUpdate {
    pub fn parse(body: &Value) -> Result<Self, Vec<FieldError>> {
        let mut r = FieldReader::body(body)?;
        let update = TicketUpdate {
            title: r.patch_trimmed("title", 1, 200),
            description: r.patch_text("description", 20_000),
            acceptance_criteria: r.patch_text("acceptance_criteria", 20_000),
            priority: r.patch_trimmed("priority", 1, 32),
            assignee: r.patch_name("assignee", 100),
            changed_by: r.attribution("changed_by"),
            current_column: match r.raw("current_column") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => {
                    r.push("current_column", "invalid_type", "Input should be a valid string");
                    None
                }
            },
            board_id: match r.raw("board_id") {
                None | Some(Value::Null) => None,
                Some(_) => r.required_int("board_id"),
            },
        };
        r.finish(update)
    }
}

impl MoveRequest {
    pub fn parse(body: &Value) -> Result<Self, Vec<FieldError>> {
        let mut r = FieldReader::body(body)?;
        let column = r.required_string("column");
        let moved_by = r.attribution("moved_by");
        match column {
            Some(column) => r.finish(MoveRequest { column, moved_by }),
            None => Err(r.errors),
        }
    }
}

/// The claimant / releaser named in an optional claim or release body: `agent_id`, else `assignee`.
pub fn parse_agent_body(body: Option<&Value>) -> Result<Option<String>, Vec<FieldError>> {
    let Some(body) = body else { return Ok(None) };
    let mut r = FieldReader::body(body)?;
    let agent = match r.patch_name("agent_id", 100) {
        Patch::Set(Some(a)) => Some(a),
        _ => match r.patch_name("assignee", 100) {
            Patch::Set(a) => a,
            Patch::Absent => None,
        },
    };
    r.finish(agent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn new_ticket_applies_defaults() {
        let t = NewTicket::parse(&json!({"board_id": 1, "title": " T ", "description": "", "priority": null}))
            .expect("valid");
        assert_eq!((t.title.as_str(), t.priority.as_str(), t.description), ("T", "1.0", None));
    }

    #[test]
    fn update_distinguishes_absent_and_null() {
        let u = TicketUpdate::parse(&json!({"assignee": null})).expect("valid");
        assert_eq!(u.assignee, Patch::Set(None));
        assert_eq!(u.title, Patch::Absent);
        let e = TicketUpdate::parse(&json!({"title": null})).expect_err("null title");
        assert_eq!((e[0].field.as_str(), e[0].kind), ("body.title", "null_not_allowed"));
    }

    #[test]
    fn agent_comes_from_agent_id_then_assignee() {
        assert_eq!(parse_agent_body(Some(&json!({"assignee": "bob"}))).expect("ok").as_deref(), Some("bob"));
        assert_eq!(
            parse_agent_body(Some(&json!({"agent_id": "a", "assignee": "b"}))).expect("ok").as_deref(),
            Some("a")
        );
        assert_eq!(parse_agent_body(None).expect("ok"), None);
    }
}
