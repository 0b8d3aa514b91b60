//! Column names: matching a reference against a board's columns (`api.md` 1.7) and planning a
//! column-list change (renames, removals, ticket migration) without touching storage.

use std::collections::HashMap;

use super::validation::FieldError;

/// The columns of a board created without `columns`.
pub const DEFAULT_COLUMNS: [&str; 5] = ["Not Started", "In Progress", "Blocked", "Ready for QC", "Done"];

/// A column's snake id: lowercased, every run of whitespace replaced by `_`.
pub fn snake_id(name: &str) -> String {
    name.to_lowercase().split_whitespace().collect::<Vec<_>>().join("_")
}

/// Resolve a column reference to the board's spelling: a case-insensitive name match wins over a
/// snake-id match of another column.
pub fn resolve<'a>(columns: &'a [String], reference: &str) -> Option<&'a str> {
    let wanted = reference.trim().to_lowercase();
    if wanted.is_empty() {
        return None;
    }
    columns
        .iter()
        .find(|c| c.to_lowercase() == wanted)
        .or_else(|| columns.iter().find(|c| snake_id(c) == wanted))
        .map(String::as_str)
}

/// The 422 message for an unknown column.
pub fn invalid_column_message(reference: &str, board_id: i64, columns: &[String]) -> String {
    format!("'{}' is not a column of board {board_id}; valid columns: {}", reference.trim(), columns.join(", "))
}

/// What a column-list change does to the board's tickets.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ColumnPlan {
    /// `(old spelling, new spelling)`: tickets keep their place, only the name changes.
    pub renames: Vec<(String, String)>,
    /// `(removed column, target)`: tickets move like a single move.
    pub moves: Vec<(String, String)>,
}

/// Why a column change is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum PlanError {
    Invalid(FieldError),
    /// Removed columns that still hold tickets, with their counts.
    NotEmpty(String),
}

/// Inputs of [`plan_column_change`].
pub struct ColumnChange<'a> {
    pub old: &'a [String],
    pub new: &'a [String],
    /// Requested renames in request order, `(old reference, new reference)`.
    pub renames: &'a [(String, String)],
    pub move_tickets_to: Option<&'a str>,
    /// Tickets per old column (board spelling).
    pub counts: &'a HashMap<String, i64>,
}

/// Plan a change of `old` to `new` following `api.md` "Column changes".
pub fn plan_column_change(change: &ColumnChange<'_>) -> Result<ColumnPlan, PlanError> {
    let invalid = |field: &str, msg: String| PlanError::Invalid(FieldError::new(field, "invalid_column", msg));
    let mut rename_map: HashMap<&str, &str> = HashMap::new();
    for (from, to) in change.renames {
        let old = resolve(change.old, from)
            .ok_or_else(|| invalid("body.renames", format!("'{from}' is not a current column")))?;
        let new = resolve(change.new, to)
            .ok_or_else(|| invalid("body.renames", format!("'{to}' is not in the new column list")))?;
        rename_map.insert(old, new);
    }
    let target = match change.move_tickets_to {
        Some(t) => Some(
            resolve(change.new, t)
                .ok_or_else(|| invalid("body.move_tickets_to", format!("'{t}' is not in the new column list")))?,
        ),
        None => None,
    };
    let mut plan = ColumnPlan::default();
    let mut stranded = Vec::new();
    for o in change.old {
        let kept = rename_map.get(o.as_str()).copied().or_else(|| {
            let lower = o.to_lowercase();
            change.new.iter().find(|n| n.to_lowercase() == lower).map(String::as_str)
        });
        let count = change.counts.get(o).copied().unwrap_or(0);
        match (kept, target) {
            (Some(new), _) if new != o => plan.renames.push((o.clone(), new.to_owned())),
            (Some(_), _) => {}
            (None, _) if count == 0 => {}
            (None, Some(t)) => plan.moves.push((o.clone(), t.to_owned())),
            (None, None) => stranded.push(format!("{o} ({count})")),
        }
    }
    if stranded.is_empty() {
        Ok(plan)
    } else {
        Err(PlanError::NotEmpty(format!("Columns still hold tickets: {}", stranded.join(", "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn resolves_names_and_snake_ids_to_board_spelling() {
        let c = cols(&DEFAULT_COLUMNS);
        assert_eq!(resolve(&c, " ready for qc "), Some("Ready for QC"));
        assert_eq!(resolve(&c, "ready_for_qc"), Some("Ready for QC"));
        assert_eq!(resolve(&c, "IN_PROGRESS"), Some("In Progress"));
        assert_eq!(resolve(&c, "Nowhere"), None);
        assert_eq!(resolve(&c, ""), None);
    }

    #[test]
    fn a_name_match_wins_over_another_columns_snake_id() {
        let c = cols(&["a b", "a_b"]);
        assert_eq!(resolve(&c, "a_b"), Some("a_b"));
    }

    fn plan(
        old: &[&str],
        new: &[&str],
        renames: &[(&str, &str)],
        target: Option<&str>,
        counts: &[(&str, i64)],
    ) -> Result<ColumnPlan, PlanError> {
        let (old, new) = (cols(old), cols(new));
        let renames: Vec<(String, String)> = renames.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        let counts: HashMap<String, i64> = counts.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        plan_column_change(&ColumnChange {
            old: &old,
            new: &new,
            renames: &renames,
            move_tickets_to: target,
            counts: &counts,
        })
    }

    #[test]
    fn removing_a_column_with_tickets_needs_a_target() {
        let err = plan(&["A", "B", "C"], &["A"], &[], None, &[("B", 2), ("C", 1)]).expect_err("refused");
        assert_eq!(err, PlanError::NotEmpty("Columns still hold tickets: B (2), C (1)".into()));
        let ok = plan(&["A", "B"], &["A"], &[], Some("a"), &[("B", 2)]).expect("planned");
        assert_eq!(ok.moves, vec![("B".to_string(), "A".to_string())]);
    }

    #[test]
    fn empty_columns_can_be_removed_and_case_changes_are_renames() {
        let ok = plan(&["A", "b", "C"], &["A", "B"], &[], None, &[("A", 1), ("b", 1)]).expect("planned");
        assert_eq!(ok.renames, vec![("b".to_string(), "B".to_string())]);
        assert!(ok.moves.is_empty());
    }

    #[test]
    fn explicit_renames_merge_and_are_checked() {
        let ok = plan(&["A", "B"], &["Z"], &[("A", "Z"), ("b", "z")], None, &[("A", 1), ("B", 1)]).expect("planned");
        assert_eq!(ok.renames.len(), 2);
        let bad = plan(&["A"], &["Z"], &[("Q", "Z")], None, &[]).expect_err("unknown key");
        assert!(matches!(bad, PlanError::Invalid(e) if e.field == "body.renames"));
        let bad = plan(&["A"], &["Z"], &[], Some("Nope"), &[]).expect_err("bad target");
        assert!(matches!(bad, PlanError::Invalid(e) if e.field == "body.move_tickets_to"));
    }
}
