//! `firebreak scan` over every input shape, and over damaged input.

mod support;

use serde_json::json;
use support::*;

fn event_ids(out: &std::process::Output) -> Vec<String> {
    let mut ids: Vec<String> = json_lines(out).iter().filter_map(|f| f["event_id"].as_str().map(String::from)).collect();
    ids.sort();
    ids.dedup();
    ids
}

fn scan_jsonl(path: &std::path::Path) -> std::process::Output {
    run(&["scan", path.to_str().unwrap(), "--format", "jsonl", "--no-progress"])
}

#[test]
fn every_shape_is_read_by_content() {
    let dir = tempdir();
    let rec = |id: &str| stop_logging_record(id);
    let d = dir.path();
    // S3 delivery object, gzip, with a misleading name.
    write_gz(&d.join("delivery.txt"), json!({"Records": [rec("e-s3-1"), rec("e-s3-2")]}).to_string().as_bytes());
    // Bare array.
    std::fs::write(d.join("array.json"), json!([rec("e-arr-1")]).to_string()).unwrap();
    // One record per file.
    std::fs::write(d.join("single.json"), rec("e-single-1").to_string()).unwrap();
    // JSON lines, gzip.
    let lines = format!("{}\n{}\n", rec("e-jl-1"), rec("e-jl-2"));
    write_gz(&d.join("lines.jsonl.gz"), lines.as_bytes());
    // EventBridge envelope.
    let eb = json!({"version": "0", "id": "x", "detail-type": "AWS API Call via CloudTrail", "source": "aws.cloudtrail",
                    "account": "111122223333", "time": "2026-10-01T10:00:00Z", "region": "us-east-1", "resources": [],
                    "detail": rec("e-eb-1")});
    std::fs::write(d.join("eventbridge.json"), format!("{eb}\n")).unwrap();
    // lookup-events output: the record is a JSON string.
    let le = json!({"Events": [{"EventId": "e-le-1", "EventName": "StopLogging", "CloudTrailEvent": rec("e-le-1").to_string()}]});
    std::fs::write(d.join("lookup.json"), le.to_string()).unwrap();
    // CloudTrail Lake query results: rows of single-key objects.
    let r = rec("e-lake-1");
    let row: Vec<serde_json::Value> = r.as_object().unwrap().iter()
        .map(|(k, v)| json!({ k.clone(): if v.is_object() { json!(v.to_string()) } else { v.clone() } }))
        .collect();
    std::fs::write(d.join("lake.json"), json!({"QueryStatus": "FINISHED", "QueryResultRows": [row]}).to_string()).unwrap();

    let out = scan_jsonl(d);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let ids = event_ids(&out);
    for want in ["e-s3-1", "e-s3-2", "e-arr-1", "e-single-1", "e-jl-1", "e-jl-2", "e-eb-1", "e-le-1", "e-lake-1"] {
        assert!(ids.contains(&want.to_string()), "no finding for {want}; got {ids:?}");
    }
    assert!(stderr(&out).contains("9 events"), "summary: {}", stderr(&out));
}

#[test]
fn stdin_is_read() {
    let data = json!({"Records": [stop_logging_record("e-stdin-1")]}).to_string();
    let out = run_with_stdin(&["scan", "-", "--format", "jsonl", "--no-progress"], data.as_bytes());
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(event_ids(&out), vec!["e-stdin-1".to_string()]);
}

#[test]
fn truncated_gzip_keeps_the_records_before_the_damage_and_the_other_files() {
    let dir = tempdir();
    let records: Vec<_> = (0..400).map(|i| stop_logging_record(&format!("e-trunc-{i:04}"))).collect();
    let gz_path = dir.path().join("cut.json.gz");
    write_gz(&gz_path, json!({"Records": records}).to_string().as_bytes());
    let bytes = std::fs::read(&gz_path).unwrap();
    std::fs::write(&gz_path, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(dir.path().join("fine.json"), json!({"Records": [stop_logging_record("e-fine")]}).to_string()).unwrap();

    let out = scan_jsonl(dir.path());
    assert_eq!(out.status.code(), Some(1), "damaged input must give exit 1; stderr: {}", stderr(&out));
    let ids = event_ids(&out);
    assert!(ids.contains(&"e-fine".to_string()));
    let recovered = ids.iter().filter(|i| i.starts_with("e-trunc-")).count();
    assert!(recovered > 50 && recovered < 400, "records before the cut are scanned: {recovered}");
    let err = stderr(&out);
    assert!(err.contains("cut.json.gz"), "the error names the file: {err}");
    assert!(err.contains("1 damaged"), "the summary counts it: {err}");
}

#[test]
fn invalid_json_line_is_reported_and_the_rest_scanned() {
    let dir = tempdir();
    let text = format!("{}\n{{\"eventName\": broken\n{}\n", stop_logging_record("e-a"), stop_logging_record("e-b"));
    std::fs::write(dir.path().join("mixed.jsonl"), text).unwrap();
    let out = scan_jsonl(dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(event_ids(&out), vec!["e-a".to_string(), "e-b".to_string()]);
    let err = stderr(&out);
    assert!(err.contains("mixed.jsonl") && (err.contains("line 2") || err.contains("record 1")), "{err}");
}

#[test]
fn aws_fixtures_with_a_bad_file_are_scanned() {
    let dir = corpus().join("aws-cloudtrail-processing-library");
    let out = run(&["scan", dir.to_str().unwrap(), "--format", "jsonl", "--no-progress"]);
    // The bad-JSON fixture and the SQS bodies are reported; the rest is read.
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("SerializerTestFileBadJsonFormat"), "{err}");
}

#[test]
fn stratus_logs_are_all_read() {
    let dir = corpus().join("stratus/docs/detonation-logs");
    let out = run(&["scan", dir.to_str().unwrap(), "--format", "jsonl", "--no-progress"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("310 events"), "{}", stderr(&out));
}

#[test]
fn missing_path_is_an_error_naming_it() {
    let out = run(&["scan", "/nonexistent/firebreak-logs", "--no-progress"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("/nonexistent/firebreak-logs"), "{}", stderr(&out));
}
