//! `firebreak rules list` and `rules check`.

mod support;

use support::*;

#[test]
fn list_shows_builtin_and_sigmahq_rules_with_authors() {
    let sigma = corpus().join("sigma-aws/rules");
    let out = run(&["rules", "list", "--rules", sigma.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = json_lines(&out);
    let from_sigma = rows.iter().filter(|r| r["source"].as_str().unwrap_or("").contains("sigma-aws")).count();
    assert_eq!(from_sigma, 57, "all 57 SigmaHQ AWS rules load");
    assert!(rows.iter().any(|r| r["source"].as_str().unwrap_or("").starts_with("builtin:")), "built-in pack loads");
    assert!(rows.iter().all(|r| !r["author"].as_str().unwrap_or("").is_empty()), "every rule shows its author");
    let none = run(&["rules", "list", "--no-builtin", "--rules", sigma.to_str().unwrap(), "--format", "csv"]);
    let text = stdout(&none);
    assert_eq!(text.lines().count(), 58, "header + 57 rows");
}

#[test]
fn check_explains_unusable_rules() {
    let unsupported = corpus().join("sigma-aws/unsupported");
    let out = run(&["rules", "check", "--no-builtin", "--rules", unsupported.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(1), "unusable rules give exit 1");
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 8);
    for r in &rows {
        assert_ne!(r["status"], "ok");
        assert!(!r["reason"].as_str().unwrap_or("").is_empty(), "a reason: {r}");
    }
}

#[test]
fn check_of_hostile_rule_is_refused_with_a_message() {
    let dir = tempdir();
    let mut bomb = String::from("title: bomb\nlogsource: {product: aws, service: cloudtrail}\n");
    bomb.push_str("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
    for (i, prev) in ["a", "b", "c", "d", "e", "f", "g", "h"].iter().enumerate() {
        let name = ["b", "c", "d", "e", "f", "g", "h", "i"][i];
        bomb.push_str(&format!("{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
    }
    bomb.push_str("detection:\n  sel:\n    eventName: x\n  condition: sel\n");
    std::fs::write(dir.path().join("bomb.yml"), bomb).unwrap();
    let out = run(&["rules", "check", "--no-builtin", "--rules", dir.path().to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "error");
}
