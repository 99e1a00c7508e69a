//! Output formats of `firebreak scan`, and the neutralising of hostile log values.

mod support;

use serde_json::json;
use support::*;

fn hostile_dir() -> tempfile::TempDir {
    let dir = tempdir();
    let mut rec = stop_logging_record("e-hostile");
    rec["userAgent"] = json!("=HYPERLINK(\"http://evil\")");
    rec["userIdentity"]["arn"] = json!("arn:aws:iam::111122223333:user/\u{1b}]0;owned\u{7}\u{1b}[2Jmallory");
    std::fs::write(dir.path().join("hostile.json"), json!({"Records": [rec]}).to_string()).unwrap();
    dir
}

#[test]
fn jsonl_findings_have_the_required_fields() {
    let dir = hostile_dir();
    let out = run(&["scan", dir.path().to_str().unwrap(), "--format", "jsonl", "--no-progress"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let findings = json_lines(&out);
    assert!(!findings.is_empty());
    for f in &findings {
        for key in ["rule_id", "rule_title", "rule_author", "level", "event_id", "event_time", "event_source",
                    "event_name", "principal_arn", "access_key_id", "source_ip", "account_id", "region", "tags"] {
            assert!(f.get(key).is_some(), "finding lacks {key}: {f}");
        }
        assert!(!f["rule_author"].as_str().unwrap_or("").is_empty());
        assert_eq!(f["access_key_id"], "AKIAEXAMPLEKEY000001");
        assert_eq!(f["event_name"], "StopLogging");
    }
}

#[test]
fn table_neutralises_terminal_escapes() {
    let dir = hostile_dir();
    let out = run(&["scan", dir.path().to_str().unwrap(), "--no-progress", "--color", "always"]);
    let text = stdout(&out);
    assert!(text.contains("StopLogging"), "{text}");
    // Our own colour codes are allowed; the log's OSC title sequence and screen clear are not.
    assert!(!text.contains("\u{1b}]0;"), "OSC escape leaked: {text:?}");
    assert!(!text.contains("\u{1b}[2J"), "CSI clear-screen leaked: {text:?}");
    assert!(!text.contains('\u{7}'), "BEL leaked");
}

#[test]
fn csv_neutralises_formulas() {
    let dir = hostile_dir();
    let out = run(&["scan", dir.path().to_str().unwrap(), "--format", "csv", "--no-progress"]);
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let headers = reader.headers().unwrap().clone();
    let ua = headers.iter().position(|h| h == "user_agent").expect("user_agent column");
    let author = headers.iter().position(|h| h == "rule_author").expect("rule_author column");
    let mut rows = 0;
    for row in reader.records() {
        let row = row.unwrap();
        assert!(row[ua].starts_with("'="), "formula not neutralised: {:?}", &row[ua]);
        assert!(!row[author].is_empty());
        rows += 1;
    }
    assert!(rows > 0);
}

#[test]
fn ocsf_asff_and_timesketch_shapes() {
    let dir = hostile_dir();
    let p = dir.path().to_str().unwrap();
    let ocsf = json_lines(&run(&["scan", p, "--format", "ocsf", "--no-progress"]));
    assert!(!ocsf.is_empty());
    for f in &ocsf {
        assert_eq!(f["class_uid"], 2004);
        assert_eq!(f["category_uid"], 2);
        assert!(f["finding_info"]["analytic"]["uid"].is_string());
        assert!(f["unmapped"]["rule_author"].is_string());
    }
    let asff = json_lines(&run(&["scan", p, "--format", "asff", "--no-progress"]));
    assert_eq!(asff.len(), 1, "one batch");
    let items = asff[0]["Findings"].as_array().unwrap();
    assert!(!items.is_empty() && items.len() <= 100);
    for f in items {
        for key in ["SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "Types", "CreatedAt",
                    "UpdatedAt", "Severity", "Title", "Description", "Resources"] {
            assert!(f.get(key).is_some(), "ASFF lacks {key}");
        }
        assert_eq!(f["AwsAccountId"], "111122223333");
    }
    let ts = json_lines(&run(&["scan", p, "--format", "timesketch", "--no-progress"]));
    for f in &ts {
        assert!(f["message"].as_str().unwrap().contains("StopLogging"));
        assert!(f["datetime"].as_str().unwrap().starts_with("2026-10-01T10:00:00"));
        assert_eq!(f["timestamp_desc"], "Event Time");
        assert_eq!(f["eventName"], "StopLogging", "the event's own fields are carried");
    }
}

#[test]
fn output_file_and_min_level() {
    let dir = hostile_dir();
    let out_file = dir.path().join("findings.jsonl");
    let p = dir.path().join("hostile.json");
    let out = run(&["scan", p.to_str().unwrap(), "--format", "jsonl", "--output", out_file.to_str().unwrap(), "--no-progress"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(&out_file).unwrap();
    assert!(text.lines().count() >= 1);
    let crit = run(&["scan", p.to_str().unwrap(), "--format", "jsonl", "--min-level", "critical", "--no-progress"]);
    for f in json_lines(&crit) {
        assert_eq!(f["level"], "critical");
    }
}
