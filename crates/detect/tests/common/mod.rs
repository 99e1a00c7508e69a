//! Shared helpers for the detection engine's integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use firebreak_detect::{Limits, LoadReport, RuleLoader, RuleOutcome, RuleSet};
use serde_json::Value;

/// The third-party corpus (`../shared/corpus` next to the repository).
pub fn corpus() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ))
}

/// Loads YAML text and returns the set and report.
pub fn load(text: &str) -> (RuleSet, LoadReport) {
    let mut loader = RuleLoader::new(Limits::default());
    loader.add_yaml("test.yml", text);
    loader.finish()
}

/// Builds a rule around a `detection:` body (indented by 4 spaces in the result) and
/// panics with the load error if it does not load.
pub fn rule(detection: &str) -> RuleSet {
    let mut text = String::from("title: test rule\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n");
    for line in detection.lines() {
        text.push_str("    ");
        text.push_str(line);
        text.push('\n');
    }
    let (set, report) = load(&text);
    let errors: Vec<String> = report.errors().map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "rule failed to load: {errors:?}\n{text}");
    assert_eq!(set.rules().len(), 1, "{:?}", report);
    set
}

/// The load error of a rule built around a `detection:` body.
pub fn rule_error(detection: &str) -> String {
    let mut text = String::from("title: bad rule\nlogsource:\n    product: aws\ndetection:\n");
    for line in detection.lines() {
        text.push_str("    ");
        text.push_str(line);
        text.push('\n');
    }
    let (_, report) = load(&text);
    match &report.rules.first().map(|r| &r.outcome) {
        Some(RuleOutcome::Error(e)) => e.to_string(),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// Whether the single rule of `set` fires on `event`.
pub fn fires(set: &RuleSet, event: &Value) -> bool {
    let mut out = Vec::new();
    set.match_event(event, &mut out);
    !out.is_empty()
}

/// Asserts that the rule fires on every positive event and on no negative one.
pub fn check(detection: &str, positives: &[Value], negatives: &[Value]) {
    let set = rule(detection);
    for e in positives {
        assert!(fires(&set, e), "should fire:\n{detection}\non {e}");
    }
    for e in negatives {
        assert!(!fires(&set, e), "should NOT fire:\n{detection}\non {e}");
    }
}
