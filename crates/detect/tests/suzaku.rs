//! The whole Suzaku rule corpus loads, and its five correlation rules work on
//! synthetic event sequences (positive; below threshold; outside the timespan;
//! different group).

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use firebreak_detect::{CorrelationMatch, Limits, RuleKind, RuleLoader, RuleOutcome, RuleSet};
use serde_json::{json, Value};

fn suzaku_dir() -> PathBuf {
    common::corpus().join("suzaku-rules")
}

fn count_files(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            n += count_files(&p);
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            n += 1;
        }
    }
    n
}

#[test]
fn whole_suzaku_corpus_loads() {
    assert_eq!(count_files(&suzaku_dir()), 793);
    let mut loader = RuleLoader::new(Limits::default());
    loader.add_path(&suzaku_dir());
    let (set, report) = loader.finish();
    let files: std::collections::BTreeSet<&str> =
        report.rules.iter().map(|r| r.origin.as_str()).collect();
    assert_eq!(files.len(), 793, "every file is reported");
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for r in &report.rules {
        match &r.outcome {
            RuleOutcome::Ok(_) => {}
            RuleOutcome::Skipped(why) => {
                *reasons.entry(format!("skipped: {why}")).or_default() += 1
            }
            RuleOutcome::Error(e) => {
                *reasons.entry(format!("error: {}", e.problem)).or_default() += 1
            }
        }
    }
    eprintln!(
        "suzaku: {} documents, {} loaded, {} skipped, {} refused; reasons: {reasons:#?}",
        report.rules.len(),
        report.ok_count(),
        report.skipped_count(),
        report.errors().count()
    );
    assert_eq!(report.errors().count(), 0, "{reasons:#?}");
    assert_eq!(report.ok_count(), set.rules().len());
    let correlations = set
        .rules()
        .iter()
        .filter(|r| matches!(r.kind, RuleKind::Correlation(_)))
        .count();
    assert_eq!(correlations, 5);
}

fn load_corr(file: &str) -> RuleSet {
    let path = suzaku_dir().join("suzaku/aws/cloudtrail").join(file);
    let mut loader = RuleLoader::new(Limits::default());
    loader.add_path(&path);
    let (set, report) = loader.finish();
    assert_eq!(report.errors().count(), 0, "{:?}", report);
    set
}

fn at(minute: f64) -> String {
    let ms = (minute * 60_000.0) as i64;
    let secs = ms / 1000;
    format!(
        "2024-07-30T10:{:02}:{:02}.{:03}Z",
        secs / 60,
        secs % 60,
        ms % 1000
    )
}

fn run(set: &RuleSet, events: &[Value]) -> (Vec<usize>, Vec<CorrelationMatch>) {
    let mut fired = Vec::new();
    let mut hits = Vec::new();
    // Feed in reverse (out of time order) and split across two "threads" to show order
    // does not matter.
    let (a, b) = events.split_at(events.len() / 2);
    let mut hits_b = Vec::new();
    for e in b.iter().rev() {
        set.scan_event(e, &mut fired, &mut hits_b);
    }
    for e in a.iter().rev() {
        set.scan_event(e, &mut fired, &mut hits);
    }
    hits.extend(hits_b);
    (fired, set.evaluate_correlations(hits))
}

fn failed_login(min: f64, ip: &str, id: usize) -> Value {
    json!({"eventTime": at(min), "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
           "sourceIPAddress": ip, "eventID": format!("e{id}"),
           "responseElements": {"ConsoleLogin": "Failure"}, "errorMessage": "Failed authentication"})
}

#[test]
fn many_failed_logins_event_count() {
    let set = load_corr("aws_cloudtrail_many_failed_logins.yml");
    let corr = set
        .rules()
        .iter()
        .position(|r| matches!(r.kind, RuleKind::Correlation(_)))
        .unwrap();
    // Positive: 3 failures from one IP within 5 minutes.
    let ev: Vec<Value> = (0..3)
        .map(|i| failed_login(i as f64, "198.51.100.1", i))
        .collect();
    let (fired, found) = run(&set, &ev);
    assert!(
        fired.is_empty(),
        "generate: false keeps the base rule silent"
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rule, corr);
    assert_eq!(found[0].count, 3);
    assert_eq!(
        found[0].group,
        vec![("sourceIPAddress".to_string(), "198.51.100.1".to_string())]
    );
    assert_eq!(found[0].event_ids, vec!["e0", "e1", "e2"]);
    assert_eq!(found[0].last_ms - found[0].first_ms, 120_000);
    // Below threshold.
    assert!(run(&set, &ev[..2]).1.is_empty());
    // Outside the timespan: 0, 3, 6 minutes never have 3 within 5 minutes.
    let spread: Vec<Value> = (0..3)
        .map(|i| failed_login(i as f64 * 3.0, "198.51.100.1", i))
        .collect();
    assert!(run(&set, &spread).1.is_empty());
    // Different groups: 2 + 1 from two IPs.
    let mixed = vec![
        failed_login(0.0, "198.51.100.1", 0),
        failed_login(1.0, "198.51.100.1", 1),
        failed_login(2.0, "198.51.100.2", 2),
    ];
    assert!(run(&set, &mixed).1.is_empty());
    // Successful logins do not count.
    let mut ok = ev.clone();
    ok[2]["responseElements"]["ConsoleLogin"] = json!("Success");
    assert!(run(&set, &ok).1.is_empty());
    // Two separate bursts give two windows.
    let mut two = ev.clone();
    two.extend((0..3).map(|i| failed_login(30.0 + i as f64, "198.51.100.1", 10 + i)));
    assert_eq!(run(&set, &two).1.len(), 2);
}

fn denied(min: f64, ip: &str, key: &str, id: usize) -> Value {
    json!({"eventTime": at(min), "eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances",
           "sourceIPAddress": ip, "eventID": format!("d{id}"), "errorCode": "Client.UnauthorizedOperation",
           "userIdentity": {"type": "IAMUser", "accessKeyId": key}})
}

#[test]
fn many_access_denied_groups_by_ip_and_key() {
    let set = load_corr("aws_cloudtrail_many_access_denied.yml");
    let ev: Vec<Value> = (0..10)
        .map(|i| denied(i as f64 * 0.5, "203.0.113.5", "AKIA1", i))
        .collect();
    let found = run(&set, &ev).1;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].count, 10);
    assert_eq!(
        found[0].group,
        vec![
            ("sourceIPAddress".into(), "203.0.113.5".into()),
            ("userIdentity.accessKeyId".into(), "AKIA1".into())
        ]
    );
    assert!(run(&set, &ev[..9]).1.is_empty(), "below threshold");
    let mut other_key = ev.clone();
    other_key[9] = denied(4.5, "203.0.113.5", "AKIA2", 9);
    assert!(run(&set, &other_key).1.is_empty(), "different group");
    let slow: Vec<Value> = (0..10)
        .map(|i| denied(i as f64 * 2.0, "203.0.113.5", "AKIA1", i))
        .collect();
    assert!(run(&set, &slow).1.is_empty(), "outside the timespan");
}

fn recon(sec: f64, arn: &str, name: &str, id: usize) -> Value {
    json!({"eventTime": at(sec / 60.0), "eventSource": "iam.amazonaws.com", "eventName": name,
           "eventID": format!("r{id}"), "userIdentity": {"arn": arn}})
}

#[test]
fn many_recon_events_value_count() {
    let set = load_corr("aws_cloudtrail_many_recon_events.yml");
    let arn = "arn:aws:iam::1:user/eve";
    let ev = vec![
        recon(0.0, arn, "ListUsers", 0),
        recon(10.0, arn, "ListRoles", 1),
        recon(20.0, arn, "GetUser", 2),
    ];
    let found = run(&set, &ev).1;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].count, 3, "three distinct event names");
    // The same name three times is one distinct value.
    let same = vec![
        recon(0.0, arn, "ListUsers", 0),
        recon(10.0, arn, "ListUsers", 1),
        recon(20.0, arn, "ListUsers", 2),
    ];
    assert!(run(&set, &same).1.is_empty());
    // Outside the 1 minute timespan.
    let slow = vec![
        recon(0.0, arn, "ListUsers", 0),
        recon(40.0, arn, "ListRoles", 1),
        recon(80.0, arn, "GetUser", 2),
    ];
    assert!(run(&set, &slow).1.is_empty());
    // Different principals.
    let split = vec![
        recon(0.0, arn, "ListUsers", 0),
        recon(10.0, arn, "ListRoles", 1),
        recon(20.0, "arn:aws:iam::1:user/bob", "GetUser", 2),
    ];
    assert!(run(&set, &split).1.is_empty());
}

fn call(min: f64, source: &str, name: &str, ip: &str, id: &str, error: bool) -> Value {
    let mut v = json!({"eventTime": at(min), "eventSource": source, "eventName": name, "sourceIPAddress": ip,
                       "eventID": id, "userIdentity": {"type": "IAMUser", "accessKeyId": "AKIA1"}});
    if error {
        v["errorCode"] = json!("AccessDenied");
    }
    v
}

#[test]
fn iam_persistence_chain_temporal_ordered() {
    let set = load_corr("aws_cloudtrail_iam_persistence_chain.yml");
    let ip = "192.0.2.7";
    let ev = vec![
        call(0.0, "iam.amazonaws.com", "CreateUser", ip, "u1", false),
        call(2.0, "iam.amazonaws.com", "CreateAccessKey", ip, "k1", false),
    ];
    let found = run(&set, &ev).1;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].event_ids, vec!["u1", "k1"]);
    // Wrong order.
    let reversed = vec![
        call(0.0, "iam.amazonaws.com", "CreateAccessKey", ip, "k1", false),
        call(2.0, "iam.amazonaws.com", "CreateUser", ip, "u1", false),
    ];
    assert!(run(&set, &reversed).1.is_empty());
    // Failed CreateAccessKey (errorCode present) does not count.
    let failed = vec![
        call(0.0, "iam.amazonaws.com", "CreateUser", ip, "u1", false),
        call(2.0, "iam.amazonaws.com", "CreateAccessKey", ip, "k1", true),
    ];
    assert!(run(&set, &failed).1.is_empty());
    // Outside the 10 minute timespan.
    let late = vec![
        call(0.0, "iam.amazonaws.com", "CreateUser", ip, "u1", false),
        call(
            11.0,
            "iam.amazonaws.com",
            "CreateAccessKey",
            ip,
            "k1",
            false,
        ),
    ];
    assert!(run(&set, &late).1.is_empty());
    // Different source IPs.
    let split = vec![
        call(0.0, "iam.amazonaws.com", "CreateUser", ip, "u1", false),
        call(
            2.0,
            "iam.amazonaws.com",
            "CreateAccessKey",
            "192.0.2.8",
            "k1",
            false,
        ),
    ];
    assert!(run(&set, &split).1.is_empty());
}

#[test]
fn s3_enum_after_getcalleridentity() {
    let set = load_corr("aws_cloudtrail_s3_enum_after_getcalleridentity.yml");
    let ip = "192.0.2.9";
    let ev = vec![
        call(
            0.0,
            "sts.amazonaws.com",
            "GetCallerIdentity",
            ip,
            "g1",
            false,
        ),
        call(1.0, "s3.amazonaws.com", "ListBuckets", ip, "l1", false),
    ];
    let (fired, found) = run(&set, &ev);
    assert!(fired.is_empty());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].count, 2);
    let late = vec![
        call(
            0.0,
            "sts.amazonaws.com",
            "GetCallerIdentity",
            ip,
            "g1",
            false,
        ),
        call(6.0, "s3.amazonaws.com", "ListBuckets", ip, "l1", false),
    ];
    assert!(run(&set, &late).1.is_empty(), "outside 5 minutes");
    let only_one = vec![call(
        1.0,
        "s3.amazonaws.com",
        "ListBuckets",
        ip,
        "l1",
        false,
    )];
    assert!(run(&set, &only_one).1.is_empty());
    let split = vec![
        call(
            0.0,
            "sts.amazonaws.com",
            "GetCallerIdentity",
            ip,
            "g1",
            false,
        ),
        call(
            1.0,
            "s3.amazonaws.com",
            "ListBuckets",
            "192.0.2.10",
            "l1",
            false,
        ),
    ];
    assert!(run(&set, &split).1.is_empty(), "different group");
}

#[test]
fn generate_true_keeps_base_findings_and_references_by_name() {
    let text = r#"
title: burst
correlation:
    type: event_count
    rules: [base_rule]
    group-by: [sourceIPAddress]
    timespan: 1m
    condition: {gt: 1}
    generate: true
---
title: Base
name: base_rule
logsource: {product: aws, service: cloudtrail}
detection:
    sel: {eventName: GetObject}
    condition: sel
"#;
    let (set, report) = common::load(text);
    assert_eq!(report.errors().count(), 0, "{report:?}");
    let ev = vec![
        json!({"eventName": "GetObject", "eventTime": at(0.0), "sourceIPAddress": "a", "eventID": "1"}),
        json!({"eventName": "GetObject", "eventTime": at(0.5), "sourceIPAddress": "a", "eventID": "2"}),
    ];
    let (fired, found) = run(&set, &ev);
    assert_eq!(fired.len(), 2, "base rule still generates findings");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].count, 2);
}

#[test]
fn correlation_errors_are_clear() {
    let missing = "title: c\ncorrelation:\n    type: event_count\n    rules: [nope]\n    timespan: 1m\n    condition: {gte: 2}\n";
    let (_, report) = common::load(missing);
    let e = report.errors().next().unwrap().to_string();
    assert!(e.contains("referenced rule 'nope' not found"), "{e}");
    let bad_span = "title: c\ncorrelation:\n    type: event_count\n    rules: [x]\n    timespan: 10y\n    condition: {gte: 2}\n";
    let e = common::load(bad_span)
        .1
        .errors()
        .next()
        .unwrap()
        .to_string();
    assert!(e.contains("bad timespan '10y'"), "{e}");
    let no_field = "title: c\ncorrelation:\n    type: value_count\n    rules: [x]\n    timespan: 1m\n    condition: {gte: 2}\n";
    let e = common::load(no_field)
        .1
        .errors()
        .next()
        .unwrap()
        .to_string();
    assert!(e.contains("condition.field"), "{e}");
}
