//! Column classes (`statistics.md` §1): `done`, `not_started` or `in_progress`, and whether a
//! column is `blocked`. Names are compared trimmed and case-insensitively, as whole words.

use std::collections::HashMap;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ColumnClass {
    NotStarted,
    InProgress,
    Done,
}

fn norm(name: &str) -> String {
    name.trim().to_lowercase()
}

/// The class of column `name` on a board with `columns`. A name not on the board matches neither
/// the first- nor the last-column rule, so it is classified by the word lists alone.
pub fn classify(name: &str, columns: &[String]) -> ColumnClass {
    let x = norm(name);
    let is = |c: Option<&String>| c.is_some_and(|c| norm(c) == x);
    if matches!(x.as_str(), "done" | "completed" | "closed") || is(columns.last()) {
        ColumnClass::Done
    } else if matches!(x.as_str(), "not started" | "backlog" | "todo" | "new") || is(columns.first()) {
        ColumnClass::NotStarted
    } else {
        ColumnClass::InProgress
    }
}

/// A `blocked` column (also `in_progress`).
pub fn is_blocked(name: &str) -> bool {
    norm(name) == "blocked"
}

/// The board's columns plus every historical column name met in timelines, each with its class,
/// addressed by index: board columns keep their board position (`0..board_len`).
#[derive(Debug, Clone)]
pub struct ColumnSet {
    board: Vec<String>,
    names: Vec<String>,
    classes: Vec<ColumnClass>,
    index: HashMap<String, usize>,
}

impl ColumnSet {
    pub fn new(board_columns: &[String]) -> Self {
        let mut set =
            ColumnSet { board: board_columns.to_vec(), names: Vec::new(), classes: Vec::new(), index: HashMap::new() };
        for c in board_columns {
            set.intern(c);
        }
        set
    }

    /// The index of the exact name `name`, adding it (classified) when new.
    pub fn intern(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len();
        self.names.push(name.to_owned());
        self.classes.push(classify(name, &self.board));
        self.index.insert(name.to_owned(), i);
        i
    }

    /// The index of `name` if it was seen.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub fn class(&self, i: usize) -> ColumnClass {
        self.classes[i]
    }

    pub fn name(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// Number of board columns (indexes below it are on the board).
    pub fn board_len(&self) -> usize {
        self.board.len()
    }

    pub fn board_columns(&self) -> &[String] {
        &self.board
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::columns::DEFAULT_COLUMNS;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_default_board_classes_follow_the_spec() {
        let c = cols(&DEFAULT_COLUMNS);
        let classes: Vec<ColumnClass> = c.iter().map(|n| classify(n, &c)).collect();
        use ColumnClass::*;
        assert_eq!(classes, [NotStarted, InProgress, InProgress, InProgress, Done]);
        assert!(is_blocked(" BLOCKED "));
        assert!(!is_blocked("Blocked by QA"));
    }

    #[test]
    fn words_are_whole_and_first_last_positions_count() {
        let c = cols(&["Ideas", "Undone", "Shipping"]);
        assert_eq!(classify("Ideas", &c), ColumnClass::NotStarted, "first column");
        assert_eq!(classify("Undone", &c), ColumnClass::InProgress, "no substring match");
        assert_eq!(classify("Shipping", &c), ColumnClass::Done, "last column");
        assert_eq!(classify(" closed ", &c), ColumnClass::Done, "historical name by word");
        assert_eq!(classify("Backlog", &c), ColumnClass::NotStarted);
        assert_eq!(classify("Gone", &c), ColumnClass::InProgress, "historical name, no position rule");
    }

    #[test]
    fn done_wins_over_not_started_on_a_one_column_board() {
        let c = cols(&["Only"]);
        assert_eq!(classify("Only", &c), ColumnClass::Done);
        assert_eq!(classify("todo", &cols(&["todo", "done"])), ColumnClass::NotStarted);
    }

    #[test]
    fn a_column_set_keeps_board_positions_and_interns_history() {
        let mut set = ColumnSet::new(&cols(&["A", "B", "C"]));
        assert_eq!(set.find("B"), Some(1));
        let old = set.intern("Done");
        assert_eq!((old, set.board_len(), set.class(old)), (3, 3, ColumnClass::Done));
        assert_eq!(set.intern("Done"), 3);
        assert_eq!(set.class(0), ColumnClass::NotStarted);
        assert_eq!(set.name(2), "C");
    }
}
