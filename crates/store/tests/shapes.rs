//! Every input shape is ingested: JSON lines, S3 delivery gzip, EventBridge,
//! lookup-events, CloudTrail Lake (export and query results), objects in memory.

mod common;

use common::*;
use firebreak_store::{ingest, IngestInput, IngestOptions};

fn s3_delivery(records: &[String]) -> Vec<u8> {
    gzip(format!(r#"{{"Records":[{}]}}"#, records.join(",")).as_bytes())
}

#[test]
fn every_input_shape_is_stored() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in");
    std::fs::create_dir_all(input.join("nested")).expect("mkdir");
    // S3 delivery, gzip.
    let s3: Vec<String> = (0..5)
        .map(|i| record(&format!("s3-{i}"), i, "CreateUser"))
        .collect();
    std::fs::write(
        input.join("nested/111122223333_CloudTrail_eu-west-1_x.json.gz"),
        s3_delivery(&s3),
    )
    .expect("write");
    // JSON lines.
    let lines: Vec<String> = (0..4)
        .map(|i| record(&format!("jl-{i}"), 10 + i, "GetUser"))
        .collect();
    std::fs::write(input.join("lines.jsonl"), lines.join("\n")).expect("write");
    // EventBridge envelopes (gzip JSON lines).
    let eb: Vec<String> = (0..3)
        .map(|i| {
            format!(
                r#"{{"version":"0","id":"x{i}","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","account":"111122223333","time":"2026-10-01T01:00:00Z","region":"eu-west-1","resources":[],"detail":{}}}"#,
                record(&format!("eb-{i}"), 20 + i, "DeleteUser")
            )
        })
        .collect();
    std::fs::write(
        input.join("eventbridge.jsonl.gz"),
        gzip(eb.join("\n").as_bytes()),
    )
    .expect("write");
    // lookup-events output: the record is a JSON string.
    let lookup: Vec<String> = (0..2)
        .map(|i| {
            let rec = record(&format!("lk-{i}"), 30 + i, "ListUsers");
            format!(
                r#"{{"EventId":"lk-{i}","EventName":"ListUsers","CloudTrailEvent":{}}}"#,
                serde_json::Value::String(rec)
            )
        })
        .collect();
    std::fs::write(
        input.join("lookup.json"),
        format!(r#"{{"Events":[{}]}}"#, lookup.join(",")),
    )
    .expect("write");
    // CloudTrail Lake query results: columns as one-key objects, nested values as JSON text.
    let lake = r#"{"QueryStatus":"FINISHED","QueryResultRows":[[{"eventID":"lake-0"},{"eventName":"CreateRole"},{"eventTime":"2026-10-01 01:00:40.000"},{"userIdentity":"{\"type\":\"IAMUser\",\"arn\":\"arn:aws:iam::111122223333:user/lake\"}"},{"awsRegion":"eu-west-1"}]]}"#;
    std::fs::write(input.join("lake_results.json"), lake).expect("write");
    // CloudTrail Lake export: JSON lines whose nested values are JSON text.
    let export = r#"{"eventID":"lx-0","eventName":"AttachUserPolicy","eventTime":"2026-10-01T01:00:50Z","userIdentity":"{\"type\":\"IAMUser\",\"userName\":\"exported\"}","requestParameters":"{\"policyArn\":\"arn:aws:iam::aws:policy/AdministratorAccess\"}","resources":"[{\"ARN\":\"arn:aws:iam::111122223333:user/x\"}]"}"#;
    std::fs::write(
        input.join("lake_export.jsonl"),
        format!("{export}\n{export}\n"),
    )
    .expect("write");

    let store = new_case(tmp.path(), "shapes");
    let rules = no_rules();
    let opts = IngestOptions {
        threads: 3,
        part_rows: 7,
        ..IngestOptions::new(&rules)
    };
    let object_records: Vec<String> = (0..3)
        .map(|i| record(&format!("obj-{i}"), 40 + i, "PutObject"))
        .collect();
    let inputs = vec![
        IngestInput::Path(input.clone()),
        IngestInput::Object {
            name: "s3://bucket/AWSLogs/o.json.gz".into(),
            bytes: s3_delivery(&object_records),
        },
        IngestInput::Object {
            name: "s3://bucket/plain.jsonl".into(),
            bytes: record("obj-plain", 50, "GetObject").into_bytes(),
        },
    ];
    let report = ingest(&store, inputs, &opts).expect("ingest");
    assert!(report.errors.is_empty(), "errors: {:?}", report.errors);
    // 5 + 4 + 3 + 2 + 1 + 2 (one duplicate) + 3 + 1
    assert_eq!(report.files, 8);
    assert_eq!(report.events_read, 21);
    assert_eq!(report.events_stored, 20);
    assert_eq!(report.duplicates_skipped, 1);
    assert_eq!(report.parts_written, 3, "20 rows in parts of 7");
    let counts = id_counts(&store);
    assert_eq!(counts.len(), 20);
    assert!(counts.values().all(|&n| n == 1));
    for id in [
        "s3-4",
        "jl-0",
        "eb-2",
        "lk-1",
        "lake-0",
        "lx-0",
        "obj-2",
        "obj-plain",
    ] {
        assert!(counts.contains_key(&Some(id.to_string())), "{id} stored");
    }
    let shapes: std::collections::BTreeSet<String> = report
        .inputs
        .iter()
        .filter_map(|i| i.shape.clone())
        .collect();
    for shape in [
        "S3 delivery object",
        "JSON lines",
        "EventBridge envelopes",
        "lookup-events output",
        "CloudTrail Lake query results",
    ] {
        assert!(shapes.contains(shape), "{shape} in {shapes:?}");
    }
    // Sources name the input; objects keep their given name.
    let sources: std::collections::BTreeSet<String> = read_text_column(&store, "source")
        .into_iter()
        .flatten()
        .collect();
    assert!(sources.contains("s3://bucket/AWSLogs/o.json.gz"));
    assert!(sources.iter().any(|s| s.ends_with("lookup.json")));
    // Lake's JSON-text nesting is stored as structure.
    let users = read_user_names(&store);
    assert!(users.contains(&Some("exported".to_string())));
    let params = read_text_column(&store, "requestparameters");
    assert!(params.contains(&Some(
        r#"{"policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}"#.to_string()
    )));
    // The manifest records each part and each input.
    let lines = manifest(&store);
    assert_eq!(lines.iter().filter(|l| l["kind"] == "part").count(), 3);
    assert_eq!(lines.iter().filter(|l| l["kind"] == "input").count(), 8);
    assert_eq!(
        lines.last().map(|l| l["kind"].clone()),
        Some(serde_json::json!("run"))
    );
    let stored_per_input: u64 = lines
        .iter()
        .filter(|l| l["kind"] == "input")
        .map(|l| l["stored"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(stored_per_input, 20);
}

fn read_text_column(store: &firebreak_store::CaseStore, name: &str) -> Vec<Option<String>> {
    use arrow::array::{Array, AsArray};
    let mut out = Vec::new();
    for path in store.event_files().expect("parts") {
        for batch in firebreak_store::parts::read_columns(&path, &[name]).expect("read") {
            let a = batch.column(0).as_string::<i32>();
            out.extend((0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i).to_string())));
        }
    }
    out
}

fn read_user_names(store: &firebreak_store::CaseStore) -> Vec<Option<String>> {
    use arrow::array::{Array, AsArray};
    let mut out = Vec::new();
    for path in store.event_files().expect("parts") {
        for batch in firebreak_store::parts::read_columns(&path, &["useridentity"]).expect("read") {
            let s = batch.column(0).as_struct();
            let names = s
                .column_by_name("username")
                .expect("username")
                .as_string::<i32>();
            out.extend(
                (0..names.len()).map(|i| names.is_valid(i).then(|| names.value(i).to_string())),
            );
        }
    }
    out
}

#[test]
fn the_same_folder_twice_stores_each_event_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    let a: Vec<String> = (0..50)
        .map(|i| record(&format!("a-{i}"), i, "CreateUser"))
        .collect();
    // The second file repeats half of the first (same ids, other shape) and has a
    // record without eventID twice.
    let no_id = r#"{"eventName":"NoId","eventTime":"2026-10-01T02:00:00Z"}"#;
    let mut b: Vec<String> = (25..60)
        .map(|i| record(&format!("a-{i}"), i, "CreateUser"))
        .collect();
    b.push(no_id.to_string());
    b.push(no_id.to_string());
    std::fs::write(input.join("a.json.gz"), s3_delivery(&a)).expect("write");
    std::fs::write(input.join("b.jsonl"), b.join("\n")).expect("write");

    let store = new_case(tmp.path(), "dedup");
    let rules = builtin_rules();
    let opts = IngestOptions {
        threads: 2,
        part_rows: 16,
        ..IngestOptions::new(&rules)
    };
    let first =
        ingest(&store, vec![IngestInput::Path(input.clone())], &opts).expect("first ingest");
    assert_eq!(first.events_read, 87);
    assert_eq!(first.events_stored, 61, "60 ids and one record without id");
    assert_eq!(first.duplicates_skipped, 26);
    let rows_after_first = stored_ids(&store).len();
    assert_eq!(rows_after_first, 61);
    let findings_after_first = stored_findings(&store).len();

    let second =
        ingest(&store, vec![IngestInput::Path(input.clone())], &opts).expect("second ingest");
    assert_eq!(second.events_read, 87);
    assert_eq!(second.events_stored, 0);
    assert_eq!(second.duplicates_skipped, 87);
    assert_eq!(second.parts_written, 0);
    assert_eq!(stored_ids(&store).len(), rows_after_first);
    assert_eq!(
        stored_findings(&store).len(),
        findings_after_first,
        "no finding stored twice"
    );
    let counts = id_counts(&store);
    assert!(counts.values().all(|&n| n == 1), "no id stored twice");
    assert_eq!(counts.get(&None), Some(&1));
}
