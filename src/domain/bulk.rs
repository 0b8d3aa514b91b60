//! Bulk operations (`api.md` §9): parsing of the three bodies, and planning a batch — per item,
//! in request order, whether it fails, stays as it is or changes — from the tickets as stored.
//! Storage applies the plan; nothing here touches it.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::columns::resolve;
use super::event::NewEvent;
use super::history::Change;
use super::ticket::Ticket;
use super::validation::{FieldError, FieldReader, char_len};

/// Which field a bulk request sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkKind {
    Move,
    Priority,
    Assign,
}

impl BulkKind {
    /// The history `field_name` of a change.
    pub fn field(self) -> &'static str {
        match self {
            BulkKind::Move => "column",
            BulkKind::Priority => "priority",
            BulkKind::Assign => "assignee",
        }
    }

    /// The `type` of the `bulk_update` entry.
    fn event_type(self) -> &'static str {
        match self {
            BulkKind::Move => "bulk_move",
            BulkKind::Priority => "bulk_priority",
            BulkKind::Assign => "bulk_assign",
        }
    }
}

/// A validated bulk request: what each ticket should get, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkRequest {
    pub kind: BulkKind,
    /// `(ticket_id, requested value)`; for moves the value is the column reference.
    pub items: Vec<(i64, Option<String>)>,
}

impl BulkRequest {
    pub fn ticket_ids(&self) -> Vec<i64> {
        self.items.iter().map(|(id, _)| *id).collect()
    }
}

fn batch_size(r: &mut FieldReader<'_>, name: &str, len: usize, max: usize) -> bool {
    if len == 0 {
        r.push(name, "too_few_items", "must contain at least 1 item");
        false
    } else if len > max {
        r.push(name, "too_many_items", format!("must contain at most {max} items"));
        false
    } else {
        true
    }
}

fn no_duplicates(r: &mut FieldReader<'_>, name: &str, ids: &[i64]) -> bool {
    let mut seen = std::collections::HashSet::new();
    match ids.iter().position(|id| !seen.insert(*id)) {
        None => true,
        Some(i) => {
            r.push(&format!("{name}.{i}"), "duplicate", format!("ticket {} is listed more than once", ids[i]));
            false
        }
    }
}

/// `ticket_ids`: a list of 1..=max distinct JSON integers.
fn ticket_ids(r: &mut FieldReader<'_>, max: usize) -> Option<Vec<i64>> {
    let items = match r.present("ticket_ids")? {
        Value::Array(items) => items,
        _ => {
            r.push("ticket_ids", "invalid_type", "Input should be a valid list");
            return None;
        }
    };
    if !batch_size(r, "ticket_ids", items.len(), max) {
        return None;
    }
    let mut ids = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item.as_i64() {
            Some(id) => ids.push(id),
            None => {
                r.push(&format!("ticket_ids.{i}"), "invalid_type", "Input should be a valid integer");
                return None;
            }
        }
    }
    no_duplicates(r, "ticket_ids", &ids).then_some(ids)
}

/// `{"ticket_ids": [...], "target_column": str}`.
pub fn parse_move(body: &Value, max: usize) -> Result<BulkRequest, Vec<FieldError>> {
    let mut r = FieldReader::body(body)?;
    let ids = ticket_ids(&mut r, max);
    let target = r.required_string("target_column");
    if target.as_deref().is_some_and(|t| t.trim().is_empty()) {
        r.push("target_column", "string_too_short", "must not be blank");
    }
    match (ids, target) {
        (Some(ids), Some(t)) => r.finish(BulkRequest {
            kind: BulkKind::Move,
            items: ids.into_iter().map(|id| (id, Some(t.clone()))).collect(),
        }),
        _ => Err(r.errors),
    }
}

/// `{"ticket_ids": [...], "assignee": str | null}`: the key is required; `""` or null unassigns.
pub fn parse_assign(body: &Value, max: usize) -> Result<BulkRequest, Vec<FieldError>> {
    let mut r = FieldReader::body(body)?;
    let ids = ticket_ids(&mut r, max);
    if !r.has("assignee") {
        r.push("assignee", "missing", "Field required");
    }
    let assignee = match r.patch_name("assignee", 100) {
        super::validation::Patch::Set(a) => a,
        super::validation::Patch::Absent => None,
    };
    match ids {
        Some(ids) => r.finish(BulkRequest {
            kind: BulkKind::Assign,
            items: ids.into_iter().map(|id| (id, assignee.clone())).collect(),
        }),
        None => Err(r.errors),
    }
}

/// A priority given as a string (trimmed, 1..32) or as a JSON number (its literal text).
fn priority_text(value: Option<&Value>, field: String) -> Result<String, FieldError> {
    let text = match value {
        None => return Err(FieldError::new(field, "missing", "Field required")),
        Some(Value::Null) => return Err(FieldError::new(field, "null_not_allowed", "must not be null")),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(FieldError::new(field, "invalid_type", "Input should be a valid string or number")),
    };
    match char_len(&text) {
        0 => Err(FieldError::new(field, "string_too_short", "must not be blank")),
        n if n > 32 => Err(FieldError::new(field, "string_too_long", "must have at most 32 characters")),
        _ => Ok(text),
    }
}

fn priority_update(i: usize, item: &Value) -> Result<(i64, String), FieldError> {
    let at = |name: &str| format!("body.updates.{i}.{name}");
    let Value::Object(obj) = item else {
        return Err(FieldError::new(format!("body.updates.{i}"), "invalid_type", "Input should be a JSON object"));
    };
    let id = match obj.get("ticket_id") {
        None => return Err(FieldError::new(at("ticket_id"), "missing", "Field required")),
        Some(Value::Null) => return Err(FieldError::new(at("ticket_id"), "null_not_allowed", "must not be null")),
        Some(v) => v
            .as_i64()
            .ok_or_else(|| FieldError::new(at("ticket_id"), "invalid_type", "Input should be a valid integer"))?,
    };
    Ok((id, priority_text(obj.get("priority"), at("priority"))?))
}

/// `{"updates": [{"ticket_id": int, "priority": str | number}, ...]}`.
pub fn parse_priority(body: &Value, max: usize) -> Result<BulkRequest, Vec<FieldError>> {
    let mut r = FieldReader::body(body)?;
    let Some(raw) = r.present("updates") else { return Err(r.errors) };
    let Value::Array(list) = raw else {
        r.push("updates", "invalid_type", "Input should be a valid list");
        return Err(r.errors);
    };
    if !batch_size(&mut r, "updates", list.len(), max) {
        return Err(r.errors);
    }
    let items: Vec<(i64, String)> =
        list.iter().enumerate().map(|(i, v)| priority_update(i, v)).collect::<Result<_, _>>().map_err(|e| vec![e])?;
    let ids: Vec<i64> = items.iter().map(|(id, _)| *id).collect();
    if !no_duplicates(&mut r, "updates", &ids) {
        return Err(r.errors);
    }
    r.finish(BulkRequest { kind: BulkKind::Priority, items: items.into_iter().map(|(id, p)| (id, Some(p))).collect() })
}

/// The outcome of one item, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemResult {
    pub ticket_id: i64,
    /// The ticket's board, when the ticket exists.
    pub board_id: Option<i64>,
    pub success: bool,
    pub changed: bool,
    pub error: Option<String>,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// A ticket as stored, with its board's columns.
#[derive(Debug, Clone)]
pub struct Stored {
    pub ticket: Ticket,
    pub columns: Vec<String>,
}

/// A planned batch: every item's result, and the changed tickets as they will be stored.
#[derive(Debug, Clone, Default)]
pub struct BulkPlan {
    pub results: Vec<ItemResult>,
    /// Changed tickets with their new values applied (version + 1, timestamps = `now`).
    pub changed: Vec<(Ticket, Change)>,
}

fn current_value(kind: BulkKind, t: &Ticket) -> Option<String> {
    match kind {
        BulkKind::Move => Some(t.current_column.clone()),
        BulkKind::Priority => Some(t.priority.clone()),
        BulkKind::Assign => t.assignee.clone(),
    }
}

fn failure(ticket_id: i64, board_id: Option<i64>, error: String) -> ItemResult {
    ItemResult { ticket_id, board_id, success: false, changed: false, error: Some(error), old: None, new: None }
}

/// Plan `req` against the stored tickets (`found`, by id), stamping changes with `now`.
pub fn plan(req: &BulkRequest, found: &HashMap<i64, Stored>, now: &str) -> BulkPlan {
    let mut out = BulkPlan::default();
    for (id, requested) in &req.items {
        let Some(stored) = found.get(id) else {
            out.results.push(failure(*id, None, "Ticket not found".into()));
            continue;
        };
        let t = &stored.ticket;
        let new = match req.kind {
            BulkKind::Move => {
                let reference = requested.as_deref().unwrap_or("");
                match resolve(&stored.columns, reference) {
                    Some(c) => Some(c.to_owned()),
                    None => {
                        let msg = format!("Column '{}' is not a column of board {}", reference.trim(), t.board_id);
                        out.results.push(failure(*id, Some(t.board_id), msg));
                        continue;
                    }
                }
            }
            BulkKind::Priority | BulkKind::Assign => requested.clone(),
        };
        let old = current_value(req.kind, t);
        let changed = old != new;
        if changed {
            out.changed.push((
                applied(req.kind, t, &new, now),
                Change { field: req.kind.field(), old: old.clone(), new: new.clone() },
            ));
        }
        out.results.push(ItemResult {
            ticket_id: *id,
            board_id: Some(t.board_id),
            success: true,
            changed,
            error: None,
            old,
            new,
        });
    }
    out
}

fn applied(kind: BulkKind, t: &Ticket, new: &Option<String>, now: &str) -> Ticket {
    let mut u = t.clone();
    match kind {
        BulkKind::Move => {
            u.current_column = new.clone().unwrap_or_default();
            u.column_entered_at = now.to_owned();
        }
        BulkKind::Priority => u.priority = new.clone().unwrap_or_default(),
        BulkKind::Assign => u.assignee = new.clone(),
    }
    u.version += 1;
    u.updated_at = now.to_owned();
    u
}

/// One `bulk_update` per board with at least one changed ticket, boards in order of their first
/// changed ticket; each lists only that board's changed tickets with their new values.
pub fn bulk_events(kind: BulkKind, changed: &[(Ticket, Change)], changed_by: &str, now: &str) -> Vec<NewEvent> {
    let mut boards: Vec<(i64, Vec<&Ticket>)> = Vec::new();
    for (t, _) in changed {
        match boards.iter_mut().find(|(b, _)| *b == t.board_id) {
            Some((_, list)) => list.push(t),
            None => boards.push((t.board_id, vec![t])),
        }
    }
    boards.into_iter().map(|(board_id, tickets)| bulk_event(kind, board_id, &tickets, changed_by, now)).collect()
}

fn bulk_event(kind: BulkKind, board_id: i64, tickets: &[&Ticket], changed_by: &str, now: &str) -> NewEvent {
    let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
    let per_ticket: Vec<Value> = tickets
        .iter()
        .map(|t| match kind {
            BulkKind::Move => json!({"id": t.id, "current_column": t.current_column, "column_entered_at": t.column_entered_at, "version": t.version}),
            BulkKind::Priority => json!({"id": t.id, "priority": t.priority, "version": t.version}),
            BulkKind::Assign => json!({"id": t.id, "assignee": t.assignee, "version": t.version}),
        })
        .collect();
    let mut update = json!({"type": kind.event_type(), "ticket_ids": ids, "changed_by": changed_by, "timestamp": now});
    match kind {
        // The canonical name on this board (all its changed tickets share it).
        BulkKind::Move => update["target_column"] = json!(tickets[0].current_column),
        BulkKind::Assign => update["assignee"] = json!(tickets[0].assignee),
        BulkKind::Priority => {}
    }
    update["tickets"] = Value::Array(per_ticket);
    NewEvent { board_id, event: "bulk_update", data: json!({"count": 1, "updates": [update]}) }
}

#[cfg(test)]
mod tests;
