//! Field lookups on `CloudTrailEvent` (served from the key table built during the
//! head pass) agree with a full `serde_json` parse: on every record of the corpus,
//! through both the reader (`Record::event`) and `CloudTrailEvent::parse`, and on odd
//! records (repeated keys, escaped keys, nested arrays, more top-level keys than the
//! table holds).
mod common;

use std::ops::ControlFlow;

use common::{aws_lib, corpus, sample_record};
use firebreak_events::{read_file, read_stream, CloudTrailEvent, EventFields, FieldValue};
use serde_json::Value;

/// One visited value, comparable across implementations: numbers, objects and
/// arrays are compared as parsed JSON (the raw text may be spelled differently).
#[derive(Debug, PartialEq)]
enum Seen {
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
    Object(Value),
    Array(Value),
}

fn seen(v: &FieldValue<'_>) -> Seen {
    let json =
        |text: &str| serde_json::from_str::<Value>(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    match v {
        FieldValue::Null => Seen::Null,
        FieldValue::Bool(b) => Seen::Bool(*b),
        FieldValue::Number(n) => Seen::Number(n.parse().unwrap_or_else(|e| panic!("{n}: {e}"))),
        FieldValue::Str(s) => Seen::Str(s.to_string()),
        FieldValue::Object(o) => Seen::Object(json(o)),
        FieldValue::Array(a) => Seen::Array(json(a)),
    }
}

fn visit_all(e: &dyn EventFields, path: &[&str]) -> (bool, Vec<Seen>) {
    let mut out = Vec::new();
    let stopped = e.visit_field(path, &mut |v| {
        out.push(seen(v));
        false
    });
    (stopped, out)
}

/// Every key path in `v` (keys of objects met through arrays included), down to
/// `depth` segments, plus absent paths under each object.
fn all_paths(v: &Value, prefix: &mut Vec<String>, depth: usize, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(map) => {
            let mut missing = prefix.clone();
            missing.push("noSuchKeyAnywhere".into());
            out.push(missing);
            if depth == 0 {
                return;
            }
            for (k, child) in map {
                prefix.push(k.clone());
                out.push(prefix.clone());
                all_paths(child, prefix, depth - 1, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for item in items {
                all_paths(item, prefix, depth, out);
            }
        }
        _ => {}
    }
}

/// Checks every path of `raw` on `event` against `serde_json`; returns the number of
/// paths checked.
fn check_against_serde(event: &CloudTrailEvent<'_>, raw: &str) -> usize {
    let reference: Value = serde_json::from_str(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
    let mut paths = Vec::new();
    all_paths(&reference, &mut Vec::new(), 5, &mut paths);
    paths.sort();
    paths.dedup();
    for path in &paths {
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        let ours = visit_all(event, &path);
        let theirs = visit_all(&reference, &path);
        assert_eq!(ours, theirs, "path {path:?} of {raw}");
    }
    // The whole event, and early stops.
    assert_eq!(visit_all(event, &[]), visit_all(&reference, &[]), "{raw}");
    for path in &paths {
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        let mut calls = 0;
        let stopped = event.visit_field(&path, &mut |_| {
            calls += 1;
            true
        });
        assert_eq!(stopped, calls == 1, "path {path:?}");
    }
    paths.len()
}

/// Every record of `bytes` (as read by the reader) checked both ways.
fn check_input(name: &str, bytes: &[u8]) -> (u64, usize) {
    let mut records = 0;
    let mut paths = 0;
    read_stream(name, bytes, &mut |r| {
        let text = std::str::from_utf8(r.bytes).expect("UTF-8 records");
        if let Ok(event) = r.event() {
            paths += check_against_serde(&event, text);
        }
        if let Ok(event) = CloudTrailEvent::parse(r.bytes) {
            paths += check_against_serde(&event, text);
            records += 1;
        }
        ControlFlow::Continue(())
    });
    (records, paths)
}

#[test]
fn every_corpus_record_agrees_with_serde_json() {
    let (files, errors) =
        firebreak_events::discover_inputs(&[corpus("stratus/docs/detonation-logs"), aws_lib("")]);
    assert!(errors.is_empty(), "{errors:?}");
    let mut records = 0;
    let mut paths = 0;
    for file in &files {
        read_file(file, &mut |r| {
            let text = std::str::from_utf8(r.bytes).expect("UTF-8 records");
            if serde_json::from_str::<Value>(text).is_err() {
                return ControlFlow::Continue(());
            }
            if let Ok(event) = r.event() {
                paths += check_against_serde(&event, text);
            }
            if let Ok(event) = CloudTrailEvent::parse(r.bytes) {
                paths += check_against_serde(&event, text);
                records += 1;
            }
            ControlFlow::Continue(())
        });
    }
    // 310 Stratus records plus the AWS library's.
    assert!(records > 310, "{records} records");
    assert!(
        paths > 20 * records as usize,
        "{paths} paths for {records} records"
    );
}

#[test]
fn every_delivery_shape_agrees_with_serde_json() {
    // Our fixtures cover EventBridge, lookup-events, CloudTrail Lake, JSON lines...:
    // records cut out of an envelope keep head spans relative to their own bytes.
    let dir = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data"));
    let (files, errors) = firebreak_events::discover_inputs(&[dir]);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(files.len() >= 8, "{files:?}");
    let mut records = 0;
    for file in &files {
        let bytes = std::fs::read(&file.path).expect("fixture");
        records += check_input(&file.path.display().to_string(), &bytes).0;
    }
    assert!(records >= 20, "{records} records");
}

#[test]
fn sample_records_agree_with_serde_json() {
    let body: Vec<String> = (0..20).map(sample_record).collect();
    let lines = body.join("\n");
    let (records, paths) = check_input("lines.jsonl", lines.as_bytes());
    assert_eq!(records, 20);
    assert!(paths > 20 * 40);
    let object = format!("{{\"Records\":[{}]}}", body.join(","));
    assert_eq!(check_input("s3.json", object.as_bytes()).0, 20);
}

#[test]
fn odd_records_agree_with_serde_json() {
    let many_keys: String = {
        let mut members: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{{\"v\":{i}}}")).collect();
        // Repeated beyond the table's capacity: the last one counts.
        members.push("\"k1\":\"late\"".into());
        members.push("\"eventName\":\"AfterMany\"".into());
        members.push("\"requestParameters\":{\"bucketName\":\"deep\"}".into());
        format!("{{{}}}", members.join(","))
    };
    let inputs = [
        // Repeated keys, top level and nested: serde_json keeps the last.
        r#"{"requestParameters":{"a":1},"eventName":"X","requestParameters":{"a":2,"a":[3,4]}}"#,
        r#"{"additionalEventData":"first","additionalEventData":null}"#,
        // Escaped keys, at the top and inside.
        r#"{"re\u0071uestParameters":{"b\"k":"v","plain":"\u00e9t\u00e9"},"x\\y":1}"#,
        r#"{"\u0065ventName":"Escaped","userIdentity":{"\u0074ype":"IAMUser","arn":"a"}}"#,
        // `userIdentity.invokedBy` is located by the head pass: repeated, escaped,
        // of another type, absent.
        r#"{"userIdentity":{"type":"AWSService","invokedBy":"ec2.amazonaws.com","invokedBy":"second"}}"#,
        r#"{"userIdentity":{"invoked\u0042y":"escaped.amazonaws.com","sessionContext":{"x":1}}}"#,
        r#"{"userIdentity":{"invokedBy":{"service":"s3"},"arn":null}}"#,
        r#"{"userIdentity":{"type":"Root"},"invokedBy":"top-level only"}"#,
        // Nested arrays, fanned out along the path.
        r#"{"resources":[[{"ARN":"x"}],{"ARN":["y","z",["w"]]},[],{}],"list":[[1,2],[true,null]]}"#,
        r#"{"requestParameters":{"items":[{"k":{"v":"1"}},{"k":[{"v":"2"},{"v":{"deep":"3"}}]}]}}"#,
        // Strings holding brackets and quotes; whitespace everywhere.
        "{ \"requestParameters\" : { \"policy\" : \"{\\\"a\\\": [\\\"}\\\"]}\" , \"n\" : -1.5e3 } ,\n\t\"e\" : [ ] , \"o\" : { } }",
        // Head fields of unexpected types are looked up in the record.
        r#"{"eventSource":{"nested":["a",{"b":"c"}]},"userIdentity":"text","readOnly":"true"}"#,
        r#"{"userIdentity":[{"type":"inArray"},{"type":"second"}]}"#,
        // Long strings (crossed with memchr) with escapes far in.
        &format!(r#"{{"requestParameters":{{"doc":"{}\"end\\\\","k":"v"}}}}"#, "x".repeat(3000)),
        &many_keys,
    ];
    for raw in inputs {
        let event = CloudTrailEvent::parse(raw.as_bytes()).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert!(check_against_serde(&event, raw) > 0);
        // The reader's path (head located while splitting) too.
        check_input("odd.jsonl", raw.as_bytes());
    }
    let event = CloudTrailEvent::parse(many_keys.as_bytes()).unwrap();
    assert_eq!(event.event_name(), Some("AfterMany"));
    assert_eq!(
        visit_all(&event, &["k1"]).1,
        [Seen::Str("late".into())],
        "a key repeated beyond the table's capacity"
    );
    assert_eq!(visit_all(&event, &["k39", "v"]).1, [Seen::Number(39.0)]);
    assert_eq!(
        visit_all(&event, &["requestParameters", "bucketName"]).1,
        [Seen::Str("deep".into())]
    );
}

#[test]
fn lookups_answer_exact_values() {
    let raw = br#"{"eventName":"PutBucketPolicy","requestParameters":{"bucketName":"prod","policy":{"Statement":[{"Effect":"Allow","Principal":"*"},{"Effect":"Deny","Principal":{"AWS":["arn:a","arn:b"]}}]}},"responseElements":null}"#;
    let e = CloudTrailEvent::parse(raw).unwrap();
    let strings = |path: &[&str]| -> Vec<String> {
        visit_all(&e, path)
            .1
            .into_iter()
            .filter_map(|s| match s {
                Seen::Str(s) => Some(s),
                _ => None,
            })
            .collect()
    };
    assert_eq!(strings(&["requestParameters", "bucketName"]), ["prod"]);
    assert_eq!(
        strings(&["requestParameters", "policy", "Statement", "Effect"]),
        ["Allow", "Deny"]
    );
    assert_eq!(
        strings(&[
            "requestParameters",
            "policy",
            "Statement",
            "Principal",
            "AWS"
        ]),
        ["arn:a", "arn:b"]
    );
    assert_eq!(visit_all(&e, &["responseElements"]).1, [Seen::Null]);
    assert_eq!(visit_all(&e, &["responseElements", "x"]), (false, vec![]));
    assert_eq!(
        visit_all(&e, &["requestParameters", "bucketName", "x"]),
        (false, vec![])
    );
    assert_eq!(visit_all(&e, &["nope"]), (false, vec![]));

    let service = CloudTrailEvent::parse(
        br#"{"userIdentity":{"type":"AWSService","invokedBy":"cloudtrail.amazonaws.com"},"eventName":"X"}"#,
    )
    .unwrap();
    assert_eq!(
        visit_all(&service, &["userIdentity", "invokedBy"]),
        (false, vec![Seen::Str("cloudtrail.amazonaws.com".into())])
    );
    let user =
        CloudTrailEvent::parse(br#"{"userIdentity":{"type":"IAMUser"},"invokedBy":"x"}"#).unwrap();
    assert_eq!(
        visit_all(&user, &["userIdentity", "invokedBy"]),
        (false, vec![])
    );
}
