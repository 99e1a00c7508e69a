//! Golden-output tests: the exact table a person sees for a small fixture, and the exact
//! set of (rule, event) findings on the Stratus Red Team detonation logs. Run with
//! `FIREBREAK_BLESS=1` to rewrite the golden files after an intended change, and review the
//! diff.

mod support;

use std::path::Path;

use support::*;

fn check_golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("FIREBREAK_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {}; run with FIREBREAK_BLESS=1", path.display()));
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(10)
            .map(|(i, (a, b))| format!("line {}:\n  expected: {a}\n  actual:   {b}", i + 1))
            .collect();
        panic!(
            "{name} differs from the golden file ({} vs {} lines):\n{}",
            expected.lines().count(),
            actual.lines().count(),
            diff.join("\n")
        );
    }
}

#[test]
fn table_output_of_a_small_fixture() {
    let dir = tempdir();
    let mut second = stop_logging_record("e-golden-2");
    second["eventTime"] = serde_json::json!("2026-10-01T10:05:00Z");
    second["eventName"] = serde_json::json!("DeleteTrail");
    let records = serde_json::json!({"Records": [stop_logging_record("e-golden-1"), second]});
    std::fs::write(dir.path().join("trail.json"), records.to_string()).unwrap();
    let out = run(&["scan", dir.path().join("trail.json").to_str().unwrap(), "--no-progress", "--color", "never"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    check_golden("table_small.txt", &stdout(&out));
}

#[test]
fn findings_on_the_stratus_logs() {
    let dir = corpus().join("stratus/docs/detonation-logs");
    let out = run(&["scan", dir.to_str().unwrap(), "--format", "jsonl", "--no-progress"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut lines: Vec<String> = json_lines(&out)
        .iter()
        .map(|f| {
            let input = f["input"].as_str().unwrap_or("-");
            let file = Path::new(input).file_name().and_then(|n| n.to_str()).unwrap_or("-").to_string();
            format!(
                "{}\t{}\t{}\t{}\t{}",
                file,
                f["event_name"].as_str().unwrap_or("-"),
                f["level"].as_str().unwrap_or("-"),
                f["rule_title"].as_str().unwrap_or("-"),
                f["event_id"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    lines.sort();
    lines.dedup();
    check_golden("stratus_builtin.tsv", &(lines.join("\n") + "\n"));
}
