use super::*;
use crate::domain::columns::DEFAULT_COLUMNS;

fn ticket(id: i64, board_id: i64, column: &str) -> Ticket {
    Ticket {
        id,
        board_id,
        title: format!("T{id}"),
        description: None,
        acceptance_criteria: None,
        priority: "1.0".into(),
        assignee: None,
        current_column: column.into(),
        created_at: "a".into(),
        updated_at: "a".into(),
        column_entered_at: "a".into(),
        version: 3,
    }
}

fn stored(tickets: Vec<(Ticket, &[&str])>) -> HashMap<i64, Stored> {
    tickets
        .into_iter()
        .map(|(t, cols)| (t.id, Stored { columns: cols.iter().map(|c| c.to_string()).collect(), ticket: t }))
        .collect()
}

fn kinds(errors: Vec<FieldError>) -> Vec<(String, &'static str)> {
    errors.into_iter().map(|e| (e.field, e.kind)).collect()
}

#[test]
fn move_bodies_are_validated() {
    let ok = parse_move(&json!({"ticket_ids": [4, 7], "target_column": "Done"}), 100).expect("valid");
    assert_eq!(ok.ticket_ids(), [4, 7]);
    let e = |v: Value, max| kinds(parse_move(&v, max).expect_err("rejected"));
    assert_eq!(
        e(json!({"ticket_ids": [], "target_column": "Done"}), 100),
        [("body.ticket_ids".into(), "too_few_items")]
    );
    assert_eq!(
        e(json!({"ticket_ids": [1, 2, 3], "target_column": "Done"}), 2),
        [("body.ticket_ids".into(), "too_many_items")]
    );
    assert_eq!(
        e(json!({"ticket_ids": [1, 2, 1], "target_column": "Done"}), 100),
        [("body.ticket_ids.2".into(), "duplicate")]
    );
    assert_eq!(
        e(json!({"ticket_ids": [1, "2"], "target_column": "Done"}), 100),
        [("body.ticket_ids.1".into(), "invalid_type")]
    );
    assert_eq!(e(json!({"ticket_ids": [1]}), 100), [("body.target_column".into(), "missing")]);
    assert_eq!(
        e(json!({"ticket_ids": [1], "target_column": " "}), 100),
        [("body.target_column".into(), "string_too_short")]
    );
    assert_eq!(e(json!({"target_column": "Done"}), 100), [("body.ticket_ids".into(), "missing")]);
}

#[test]
fn priorities_may_be_strings_or_numbers_kept_as_written() {
    let ok = parse_priority(&json!({"updates": [{"ticket_id": 4, "priority": " 2.0 "}, {"ticket_id": 7, "priority": 2.5}, {"ticket_id": 8, "priority": 1.0}]}), 100)
        .expect("valid");
    let values: Vec<&str> = ok.items.iter().map(|(_, p)| p.as_deref().unwrap_or("")).collect();
    assert_eq!(values, ["2.0", "2.5", "1.0"]);
    let e = |v: Value| kinds(parse_priority(&v, 100).expect_err("rejected"));
    assert_eq!(
        e(json!({"updates": [{"ticket_id": 4, "priority": true}]})),
        [("body.updates.0.priority".into(), "invalid_type")]
    );
    assert_eq!(e(json!({"updates": [{"priority": "1"}]})), [("body.updates.0.ticket_id".into(), "missing")]);
    assert_eq!(
        e(json!({"updates": [{"ticket_id": 4, "priority": "1"}, {"ticket_id": 4, "priority": "2"}]})),
        [("body.updates.1".into(), "duplicate")]
    );
    assert_eq!(e(json!({"updates": []})), [("body.updates".into(), "too_few_items")]);
}

#[test]
fn assign_requires_the_key_and_blank_unassigns() {
    let ok = parse_assign(&json!({"ticket_ids": [4], "assignee": ""}), 100).expect("valid");
    assert_eq!(ok.items, [(4, None)]);
    let bob = parse_assign(&json!({"ticket_ids": [4], "assignee": " bob "}), 100).expect("valid");
    assert_eq!(bob.items, [(4, Some("bob".into()))]);
    let e = kinds(parse_assign(&json!({"ticket_ids": [4]}), 100).expect_err("rejected"));
    assert_eq!(e, [("body.assignee".to_string(), "missing")]);
}

#[test]
fn a_mixed_move_plans_per_item_results_in_request_order() {
    let cols: &[&str] = &DEFAULT_COLUMNS;
    let found = stored(vec![
        (ticket(4, 1, "In Progress"), cols),
        (ticket(7, 1, "Done"), cols),
        (ticket(8, 2, "Todo"), &["Todo", "Doing"]),
        (ticket(9, 3, "A"), &["A", "DONE"]),
    ]);
    let req = parse_move(&json!({"ticket_ids": [4, 7, 99, 8, 9], "target_column": "done"}), 100).expect("valid");
    let plan = plan(&req, &found, "now");
    let r = &plan.results;
    assert_eq!(
        (r[0].success, r[0].changed, r[0].old.as_deref(), r[0].new.as_deref()),
        (true, true, Some("In Progress"), Some("Done"))
    );
    assert_eq!((r[1].success, r[1].changed, r[1].new.as_deref()), (true, false, Some("Done")));
    assert_eq!((r[2].success, r[2].error.as_deref(), r[2].board_id), (false, Some("Ticket not found"), None));
    assert_eq!(r[3].error.as_deref(), Some("Column 'done' is not a column of board 2"));
    assert_eq!((r[4].new.as_deref(), r[4].changed), (Some("DONE"), true), "the board's own spelling");
    let changed: Vec<(i64, i64, &str, &str)> = plan
        .changed
        .iter()
        .map(|(t, _)| (t.id, t.version, t.column_entered_at.as_str(), t.current_column.as_str()))
        .collect();
    assert_eq!(changed, [(4, 4, "now", "Done"), (9, 4, "now", "DONE")]);
    assert_eq!(plan.changed[0].1.field, "column");

    let events = bulk_events(BulkKind::Move, &plan.changed, "alice", "now");
    assert_eq!(events.iter().map(|e| e.board_id).collect::<Vec<_>>(), [1, 3], "one event per changed board");
    let update = &events[0].data["updates"][0];
    assert_eq!(events[0].data["count"], 1);
    assert_eq!(update["type"], "bulk_move");
    assert_eq!(update["ticket_ids"], json!([4]));
    assert_eq!(update["target_column"], "Done");
    assert_eq!(
        update["tickets"],
        json!([{"id": 4, "current_column": "Done", "column_entered_at": "now", "version": 4}])
    );
    assert_eq!(events[1].data["updates"][0]["target_column"], "DONE");
}

#[test]
fn unchanged_values_plan_no_change_and_no_event() {
    let mut t = ticket(4, 1, "Done");
    t.assignee = Some("bob".into());
    let found = stored(vec![(t, &DEFAULT_COLUMNS)]);
    let req = parse_assign(&json!({"ticket_ids": [4], "assignee": "bob"}), 100).expect("valid");
    let plan = plan(&req, &found, "now");
    assert!(plan.results[0].success && !plan.results[0].changed);
    assert!(bulk_events(BulkKind::Assign, &plan.changed, "x", "now").is_empty());
    let unassign = parse_assign(&json!({"ticket_ids": [4], "assignee": null}), 100).expect("valid");
    let p = super::plan(&unassign, &found, "now");
    let e = bulk_events(BulkKind::Assign, &p.changed, "x", "now");
    assert_eq!(e[0].data["updates"][0]["assignee"], Value::Null);
    assert_eq!(e[0].data["updates"][0]["tickets"][0], json!({"id": 4, "assignee": null, "version": 4}));
}
