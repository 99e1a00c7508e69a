//! Each condition form, positive and negative, and condition errors.

mod common;

use common::{check, load, rule, rule_error};
use serde_json::json;

const TWO: &str = "sel_a:\n    a: '1'\nsel_b:\n    b: '1'\n";

#[test]
fn and_or_not_parentheses() {
    check(
        &format!("{TWO}condition: sel_a and sel_b"),
        &[json!({"a": "1", "b": "1"})],
        &[json!({"a": "1"}), json!({"b": "1"})],
    );
    check(
        &format!("{TWO}condition: sel_a or sel_b"),
        &[json!({"a": "1"}), json!({"b": "1"})],
        &[json!({"a": "2"})],
    );
    check(
        &format!("{TWO}condition: sel_a and not sel_b"),
        &[json!({"a": "1"})],
        &[json!({"a": "1", "b": "1"})],
    );
    check(
        &format!("{TWO}condition: not sel_a"),
        &[json!({"a": "2"}), json!({})],
        &[json!({"a": "1"})],
    );
    // Precedence: not > and > or, parentheses override.
    let three = format!("{TWO}sel_c:\n    c: '1'\n");
    check(
        &format!("{three}condition: sel_a or sel_b and sel_c"),
        &[json!({"a": "1"}), json!({"b": "1", "c": "1"})],
        &[json!({"b": "1"})],
    );
    check(
        &format!("{three}condition: (sel_a or sel_b) and sel_c"),
        &[json!({"a": "1", "c": "1"})],
        &[json!({"a": "1"})],
    );
    check(
        &format!("{three}condition: not (sel_a or sel_b)"),
        &[json!({"c": "1"})],
        &[json!({"b": "1"})],
    );
    check(
        &format!("{three}condition: sel_a AND NOT sel_b"),
        &[json!({"a": "1"})],
        &[json!({"a": "1", "b": "1"})],
    );
}

#[test]
fn one_of_all_of_any_of_n_of() {
    let three = format!("{TWO}filter:\n    c: '1'\n");
    check(
        &format!("{three}condition: 1 of sel_*"),
        &[json!({"a": "1"}), json!({"b": "1"})],
        &[json!({"c": "1"})],
    );
    check(
        &format!("{three}condition: any of sel_*"),
        &[json!({"b": "1"})],
        &[json!({"c": "1"})],
    );
    check(
        &format!("{three}condition: all of sel_*"),
        &[json!({"a": "1", "b": "1"})],
        &[json!({"a": "1", "c": "1"})],
    );
    check(
        &format!("{three}condition: 2 of them"),
        &[json!({"a": "1", "c": "1"})],
        &[json!({"a": "1"})],
    );
    check(
        &format!("{three}condition: 1 of them"),
        &[json!({"c": "1"})],
        &[json!({})],
    );
    check(
        &format!("{three}condition: all of them"),
        &[json!({"a": "1", "b": "1", "c": "1"})],
        &[json!({"a": "1", "b": "1"})],
    );
    check(
        &format!("{three}condition: sel_a and not 1 of filter*"),
        &[json!({"a": "1"})],
        &[json!({"a": "1", "c": "1"})],
    );
}

#[test]
fn underscore_identifiers_are_not_in_them() {
    let det = "sel:\n    a: '1'\n_helper:\n    z: '1'\ncondition: all of them";
    check(det, &[json!({"a": "1"})], &[json!({"z": "1"})]);
}

#[test]
fn list_of_conditions_is_or() {
    check(
        &format!("{TWO}condition:\n    - sel_a\n    - sel_b"),
        &[json!({"a": "1"}), json!({"b": "1"})],
        &[json!({})],
    );
}

#[test]
fn list_of_maps_is_or_and_map_is_and() {
    check(
        "sel:\n    - a: '1'\n      b: '1'\n    - c: '1'\ncondition: sel",
        &[json!({"a": "1", "b": "1"}), json!({"c": "1"})],
        &[json!({"a": "1"}), json!({"b": "1"})],
    );
}

#[test]
fn condition_errors_are_clear() {
    assert!(rule_error("sel:\n    a: 1\ncondition: sel and missing")
        .contains("unknown search identifier 'missing'"));
    assert!(rule_error("sel:\n    a: 1\ncondition: 1 of filter_*")
        .contains("matches no search identifier"));
    assert!(rule_error("sel:\n    a: 1\ncondition: (sel").contains("missing ')'"));
    assert!(rule_error("sel:\n    a: 1\ncondition: sel or").contains("unexpected end"));
    assert!(rule_error("sel:\n    a: 1\n").contains("missing 'detection.condition'"));
    let agg = rule_error("sel:\n    a: 1\ncondition: sel | count() by sourceIPAddress > 5");
    assert!(
        agg.contains("deprecated Sigma v1 aggregation") && agg.contains("correlation rule"),
        "{agg}"
    );
    let near = rule_error("sel:\n    a: 1\nsel2:\n    b: 1\ncondition: sel | near sel2");
    assert!(near.contains("deprecated Sigma v1 aggregation"), "{near}");
    let tf = rule_error("sel:\n    a: 1\ntimeframe: 5m\ncondition: sel");
    assert!(tf.contains("timeframe"), "{tf}");
}

#[test]
fn errors_name_the_file_and_document() {
    let text = "title: good\nlogsource:\n    product: aws\ndetection:\n    s:\n        a: 1\n    condition: s\n---\ntitle: bad\ndetection:\n    s:\n        a: 1\n    condition: nope\n";
    let (set, report) = load(text);
    assert_eq!(set.rules().len(), 1);
    let errors: Vec<String> = report.errors().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("test.yml (document 2): condition:"),
        "{}",
        errors[0]
    );
}

#[test]
fn index_narrows_candidates_but_keeps_results() {
    // A rule with eventName is indexed; one with no name requirement is tested always.
    let set = rule("sel:\n    eventName:\n        - CreateUser\n        - DeleteUser\n    userAgent|contains: console\ncondition: sel");
    assert_eq!(set.index_stats(), (2, 0));
    let mut out = Vec::new();
    set.match_event(
        &json!({"eventName": "createuser", "userAgent": "Console"}),
        &mut out,
    );
    assert_eq!(out, vec![0]);
    let set = rule("sel:\n    eventName: CreateUser\nfilter:\n    eventName: DeleteUser\ncondition: sel or not filter");
    assert_eq!(set.index_stats(), (0, 1));
    // Prefixes and event sources are indexed too.
    let set = rule("sel:\n    eventName|startswith: UpdateFunctionCode\ncondition: sel");
    assert_eq!(set.index_stats(), (1, 0));
    let mut out = Vec::new();
    set.match_event(
        &json!({"eventName": "UpdateFunctionCode20150331v2"}),
        &mut out,
    );
    assert_eq!(out, vec![0]);
    let set = rule("sel:\n    eventSource: q.amazonaws.com\ncondition: sel");
    assert_eq!(set.index_stats(), (1, 0));
    assert!(common::fires(
        &set,
        &json!({"eventSource": "Q.amazonaws.com", "eventName": "Chat"})
    ));
    assert!(!common::fires(
        &set,
        &json!({"eventSource": "s3.amazonaws.com", "eventName": "Chat"})
    ));
    // A rule whose two keys both match an event is reported once.
    let set =
        rule("sel:\n    eventName:\n        - 'Update*'\n        - 'UpdateTrail'\ncondition: sel");
    let mut out = Vec::new();
    set.match_event(&json!({"eventName": "UpdateTrail"}), &mut out);
    assert_eq!(out, vec![0]);
}

#[test]
fn repeated_presence_tests_share_one_answer_per_event() {
    // Two rules asking about the same fields (the per-event memo must not leak
    // answers between fields or between events).
    let text = "title: a\nlogsource: {product: aws}\ndetection:\n    sel: {eventName: X}\n    err: {errorCode|exists: true}\n    msg: {errorMessage: null}\n    condition: sel and not err and msg\n---\ntitle: b\nlogsource: {product: aws}\ndetection:\n    sel: {eventName: X}\n    err: {errorCode|exists: true}\n    condition: sel and err\n";
    let (set, _) = load(text);
    let run = |e: serde_json::Value| {
        let mut out = Vec::new();
        set.match_event(&e, &mut out);
        let direct: Vec<usize> = (0..2).filter(|&r| set.rule_matches(r, &e)).collect();
        assert_eq!(out, direct);
        out
    };
    assert_eq!(run(json!({"eventName": "X"})), vec![0]);
    assert_eq!(
        run(json!({"eventName": "X", "errorCode": "AccessDenied"})),
        vec![1]
    );
    assert_eq!(
        run(json!({"eventName": "X", "errorMessage": "m"})),
        Vec::<usize>::new()
    );
    assert_eq!(
        run(json!({"eventName": "X", "errorCode": null, "errorMessage": null})),
        vec![1]
    );
}
