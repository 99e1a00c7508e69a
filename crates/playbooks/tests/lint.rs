//! Schema and lint errors, each with the line it points at.

use firebreak_playbooks::{has_errors, lint, parse_playbook, Catalogue, Issue, Limits, Severity};

const MINIMAL: &str = include_str!("data/minimal.yaml");

fn catalogue() -> Catalogue {
    Catalogue::builtin()
}

/// 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("'{needle}' not in text"));
    text[..at].matches('\n').count() + 1
}

fn replace(from: &str, to: &str) -> String {
    assert!(MINIMAL.contains(from), "fixture lacks '{from}'");
    MINIMAL.replacen(from, to, 1)
}

fn lint_text(text: &str) -> Vec<Issue> {
    let loaded = parse_playbook("test.yaml", text, &Limits::default())
        .unwrap_or_else(|e| panic!("parse failed: {e}"));
    lint(&loaded, &catalogue())
}

/// Asserts exactly the errors expected: one error whose message contains `message`, at `line`.
fn assert_error(text: &str, message: &str, line: usize) {
    let issues = lint_text(text);
    let errors: Vec<&Issue> = issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .collect();
    assert!(
        errors
            .iter()
            .any(|i| i.message.contains(message) && i.line == Some(line)),
        "expected error '{message}' at line {line}, got:\n{}",
        issues
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn parse_error(text: &str) -> Issue {
    match parse_playbook("bad.yaml", text, &Limits::default()) {
        Ok(_) => panic!("expected a parse error"),
        Err(issue) => issue,
    }
}

#[test]
fn minimal_example_is_clean() {
    let issues = lint_text(MINIMAL);
    assert!(issues.is_empty(), "{issues:#?}");
}

#[test]
fn unknown_action_is_reported_on_its_line() {
    let text = replace("action: contain access-key", "action: contain access-keys");
    assert_error(
        &text,
        "unknown action 'contain access-keys'",
        line_of(&text, "action: contain access-keys"),
    );
}

#[test]
fn undeclared_fact_reference() {
    let text = replace("access_key: ${access_key_id}", "access_key: ${leaked_key}");
    assert_error(
        &text,
        "'leaked_key' is not a declared fact",
        line_of(&text, "access_key: ${leaked_key}"),
    );
}

#[test]
fn reference_to_a_later_step() {
    let text = replace(
        "access_key: ${access_key_id}",
        "access_key: ${steps.deactivate.status}",
    );
    assert_error(
        &text,
        "does not come before",
        line_of(&text, "access_key: ${steps.deactivate"),
    );
}

#[test]
fn reference_to_an_unknown_output() {
    let text = replace(
        "user: ${steps.key-timeline.principal}",
        "user: ${steps.key-timeline.owner}",
    );
    assert_error(
        &text,
        "has no output 'owner'",
        line_of(&text, "user: ${steps.key-timeline.owner}"),
    );
}

#[test]
fn unterminated_reference() {
    let text = replace(
        "user: ${steps.key-timeline.principal}",
        "user: ${steps.key-timeline.principal",
    );
    assert_error(&text, "unterminated", line_of(&text, "user: ${steps"));
}

#[test]
fn rule_selector_matching_nothing() {
    let text = replace("tag: attack.t1078", "tag: attack.t9999");
    assert_error(
        &text,
        "no rule matches tag 'attack.t9999'",
        line_of(&text, "tag: attack.t9999"),
    );
}

#[test]
fn rule_selector_by_tag_prefix_and_origin_match() {
    // attack.t1078 matches rules tagged attack.t1078.004; an origin folder matches its rules.
    let text = replace("tag: attack.t1078", "origin: aws/root/");
    assert!(lint_text(&text).is_empty());
    let text = replace("tag: attack.t1078", "id: no-such-rule");
    assert_error(
        &text,
        "no rule matches id 'no-such-rule'",
        line_of(&text, "id: no-such-rule"),
    );
}

#[test]
fn unknown_query_and_output_column() {
    let text = replace("query: timeline", "query: timelines");
    assert_error(
        &text,
        "unknown query 'timelines'",
        line_of(&text, "query: timelines"),
    );
    let text = replace("outputs: [principal]", "outputs: [colour]");
    assert_error(
        &text,
        "has no column 'colour'",
        line_of(&text, "outputs: [colour]"),
    );
}

#[test]
fn missing_required_parameter_points_at_the_step() {
    let text = replace("        action: eradicate access-key\n        params:\n          access_key_id: ${access_key_id}\n", "        action: eradicate access-key\n");
    assert_error(
        &text,
        "needs parameter 'access_key_id'",
        line_of(&text, "- id: delete-key"),
    );
}

#[test]
fn unknown_parameter_and_bad_flag() {
    let text = replace("user: ${steps.key-timeline.principal}", "username: bob");
    assert_error(
        &text,
        "has no parameter 'username'",
        line_of(&text, "username: bob"),
    );
    let text = replace(
        "user: ${steps.key-timeline.principal}",
        "revoke_sessions: yes please",
    );
    assert_error(
        &text,
        "is a flag",
        line_of(&text, "revoke_sessions: yes please"),
    );
}

#[test]
fn timeline_needs_a_pivot() {
    let text = replace("access_key: ${access_key_id}", "since: ${access_key_id}");
    assert_error(
        &text,
        "needs one of: access_key",
        line_of(&text, "- id: key-timeline"),
    );
}

#[test]
fn sql_must_be_a_select_over_cloudtrail() {
    let text = replace(
        "sql: SELECT sourceipaddress, count(*) FROM cloudtrail",
        "sql: DELETE FROM cloudtrail; SELECT sourceipaddress, count(*) FROM cloudtrail",
    );
    let line = line_of(&text, "sql: DELETE");
    assert_error(&text, "single SELECT", line);
    assert_error(&text, "single statement", line);
    let text = replace("FROM cloudtrail WHERE", "FROM users WHERE");
    assert_error(
        &text,
        "read from table cloudtrail",
        line_of(&text, "sql: SELECT"),
    );
}

#[test]
fn phases_out_of_order() {
    let text = MINIMAL.replacen("phase: recovery", "phase: preparation_placeholder", 1);
    let text = text.replacen("phase: containment_and_eradication", "phase: recovery", 1);
    let text = text.replacen(
        "phase: preparation_placeholder",
        "phase: containment_and_eradication",
        1,
    );
    let issues = lint_text(&text);
    let line = line_of(&text, "phase: containment_and_eradication");
    assert!(
        issues
            .iter()
            .any(|i| i.message.contains("comes after recovery") && i.line == Some(line)),
        "{issues:#?}"
    );
}

#[test]
fn duplicate_step_id() {
    let text = replace("- id: new-key", "- id: deactivate");
    assert_error(
        &text,
        "step id 'deactivate' is used twice",
        line_of(&text, "- id: deactivate\n        kind: manual"),
    );
}

#[test]
fn decision_may_only_choose_later_steps() {
    let text = replace("then: [deactivate]", "then: [run-rules]");
    assert_error(
        &text,
        "comes before the decision",
        line_of(&text, "then: [run-rules]"),
    );
    let text = replace("otherwise: [delete-key]", "otherwise: [remove-key]");
    assert_error(
        &text,
        "no step 'remove-key'",
        line_of(&text, "otherwise: [remove-key]"),
    );
}

#[test]
fn decision_on_a_closed_fact_with_an_impossible_value() {
    let text = replace("equals: production", "equals: prod");
    assert_error(
        &text,
        "takes production, development, never 'prod'",
        line_of(&text, "equals: prod"),
    );
}

#[test]
fn condition_needs_exactly_one_test() {
    let text = replace(
        "equals: production",
        "equals: production\n              exists: true",
    );
    assert_error(
        &text,
        "needs exactly one test",
        line_of(&text, "fact: account_environment"),
    );
}

#[test]
fn keys_that_do_not_belong_to_the_kind() {
    let text = replace(
        "        who: Platform team\n  - phase: detection",
        "        who: Platform team\n        query: summary\n  - phase: detection",
    );
    assert_error(
        &text,
        "'query' does not belong in a manual step",
        line_of(&text, "query: summary"),
    );
}

#[test]
fn manual_step_needs_who() {
    let text = replace(
        "        title: Review how the key leaked\n        who: Security operations\n",
        "        title: Review how the key leaked\n",
    );
    assert_error(&text, "must say who", line_of(&text, "- id: review"));
}

#[test]
fn metadata_checks() {
    let text = replace("last_approved: 2026-11-01", "last_approved: last tuesday");
    assert_error(&text, "not a date", line_of(&text, "last_approved:"));
    let text = replace("id: leaked-key", "id: Leaked Key");
    assert_error(&text, "must be lowercase", 1);
    let text = replace("ttps: [attack.t1078.004]", "ttps: [T1078]");
    assert_error(
        &text,
        "not an ATT&CK technique tag",
        line_of(&text, "ttps: [T1078]"),
    );
}

#[test]
fn missing_lessons_is_only_a_warning() {
    let text = replace("lessons_learned:\n  - How did the key leak?\n", "");
    let issues = lint_text(&text);
    assert!(!has_errors(&issues));
    assert!(issues
        .iter()
        .any(|i| i.severity == Severity::Warning && i.message.contains("lessons")));
}

// ---- structure errors: refused at parse time, with the line ----

#[test]
fn unknown_key_is_refused_with_its_line() {
    let text = replace(
        "        title: Know who owns each key",
        "        tittle: Know who owns each key",
    );
    let issue = parse_error(&text);
    assert!(issue.message.contains("unknown field `tittle`"), "{issue}");
    assert_eq!(issue.line, Some(line_of(&text, "tittle:")), "{issue}");
    assert!(issue.to_string().starts_with("bad.yaml:"), "{issue}");
}

#[test]
fn unknown_step_kind_and_wrong_type() {
    let text = replace("kind: manual", "kind: meeting");
    let issue = parse_error(&text);
    assert!(issue.message.contains("meeting"), "{issue}");
    assert_eq!(issue.line, Some(line_of(&text, "kind: meeting")), "{issue}");
    let text = replace("teams: [Security operations]", "teams: {a: b}");
    let issue = parse_error(&text);
    assert_eq!(issue.line, Some(line_of(&text, "teams:")), "{issue}");
}

#[test]
fn missing_required_key() {
    let text = replace("approver: Head of security\n", "");
    let issue = parse_error(&text);
    assert!(
        issue.message.contains("missing field `approver`"),
        "{issue}"
    );
}

#[test]
fn syntax_error_has_a_line() {
    let text = replace("  - phase: recovery", "  - phase: [recovery");
    let issue = parse_error(&text);
    assert!(issue.message.starts_with("invalid YAML"), "{issue}");
    assert!(issue.line.is_some(), "{issue}");
}

#[test]
fn alias_bomb_is_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    text.push_str("id: *a8\n");
    let issue = parse_error(&text);
    assert!(
        issue.message.contains("YAML nodes") || issue.message.contains("repetition"),
        "{issue}"
    );
}

#[test]
fn deep_nesting_size_and_documents_are_refused() {
    let deep = format!("id: {}x{}\n", "[".repeat(200), "]".repeat(200));
    let issue = parse_error(&deep);
    assert!(
        issue.message.contains("deeper") || issue.message.contains("recursion"),
        "{issue}"
    );
    let limits = Limits {
        max_file_bytes: 100,
        ..Limits::default()
    };
    let issue = parse_playbook("big.yaml", MINIMAL, &limits)
        .err()
        .map(|e| e.message)
        .unwrap_or_default();
    assert!(issue.contains("over the limit"), "{issue}");
    let issue = parse_error(&format!("{MINIMAL}\n---\n{MINIMAL}"));
    assert!(
        issue.message.contains("exactly one YAML document"),
        "{issue}"
    );
    let issue = parse_error("# nothing\n");
    assert!(issue.message.contains("empty"), "{issue}");
}

#[test]
fn readme_example_is_complete_and_clean() {
    let readme = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../playbooks/README.md"
    ))
    .expect("playbooks/README.md");
    let after = readme
        .split("## A complete example")
        .nth(1)
        .expect("example section");
    let body = after
        .split("```yaml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("yaml block");
    let issues = lint_text(body);
    assert!(issues.is_empty(), "{issues:#?}");
    assert_eq!(body, MINIMAL, "the README example is the tested fixture");
}
