//! Micro-benchmark of `RuleSet::match_event` over a synthetic CloudTrail event mix.
//!
//! `cargo run --release -p firebreak-detect --example match_bench [EVENTS] [RULE_DIR...]`
//!
//! Loads the built-in pack plus the given rule directories (default: the SigmaHQ and
//! Suzaku corpora next to the repository), builds a deterministic mix of events (most
//! with common read-only event names that few rules target, some that rules do target)
//! and reports match_event calls per second on one thread.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Instant;

use firebreak_detect::{Limits, RuleLoader};
use firebreak_events::{CloudTrailEvent, EventFields, FieldValue};
use serde_json::{json, Value};

/// A JSON event with its `eventName` extracted once, as a real reader would borrow it.
struct BenchEvent {
    value: Value,
    name: Option<String>,
}

thread_local! {
    static LOOKUPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

impl EventFields for BenchEvent {
    fn visit_field(&self, path: &[&str], visit: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
        LOOKUPS.with(|c| c.set(c.get() + 1));
        self.value.visit_field(path, visit)
    }
    fn raw_json(&self) -> Cow<'_, str> {
        self.value.raw_json()
    }
    fn event_name(&self) -> Option<Cow<'_, str>> {
        self.name.as_deref().map(Cow::Borrowed)
    }
}

/// CPU seconds used by this thread so far (Linux `/proc`; `None` elsewhere). Rates
/// per CPU second stay meaningful on a machine shared with other work.
fn thread_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Runs `pass` `passes` times and prints calls per wall second and per CPU second.
fn measure(label: &str, calls_per_pass: usize, passes: usize, mut pass: impl FnMut() -> usize) {
    let cpu0 = thread_cpu_secs();
    let t = Instant::now();
    let mut hits = 0;
    for _ in 0..passes {
        hits += pass();
    }
    let wall = t.elapsed().as_secs_f64();
    let calls = (calls_per_pass * passes) as f64;
    let cpu = match (cpu0, thread_cpu_secs()) {
        (Some(a), Some(b)) if b > a => format!(", {:.0} calls per CPU second", calls / (b - a)),
        _ => String::new(),
    };
    println!(
        "{label}: {:.0} calls/s wall{cpu} ({calls} calls, {hits} rule hits)",
        calls / wall
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let mut dirs: Vec<PathBuf> = args.iter().skip(1).map(PathBuf::from).collect();
    if dirs.is_empty() {
        let corpus = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus"
        ));
        dirs.push(corpus.join("sigma-aws/rules"));
        dirs.push(corpus.join("suzaku-rules"));
    }
    let mut loader = RuleLoader::new(Limits::default());
    loader.add_builtin();
    for d in &dirs {
        loader.add_path(d);
    }
    let t = Instant::now();
    let (rules, report) = loader.finish();
    let (names, unindexed) = rules.index_stats();
    println!(
        "loaded {} rules ({} refused, {} skipped) in {:.2?}; index: {names} event names, {unindexed} always-tested rules",
        report.ok_count(),
        report.errors().count(),
        report.skipped_count(),
        t.elapsed()
    );

    if std::env::var_os("BENCH_VERBOSE").is_some() {
        for &r in rules.always_tested() {
            println!(
                "  always tested: {} ({})",
                rules.rules()[r].title,
                rules.rules()[r].origin
            );
        }
    }
    // Deterministic mix: 80% common noise, 20% names that rules target.
    let noise = [
        "GetObject",
        "PutObject",
        "Decrypt",
        "AssumeRole",
        "DescribeInstances",
        "GetCallerIdentity",
        "ListBuckets",
        "Invoke",
        "GenerateDataKey",
        "HeadObject",
    ];
    let hot = [
        "ConsoleLogin",
        "CreateAccessKey",
        "StopLogging",
        "DeleteBucket",
        "AuthorizeSecurityGroupIngress",
        "PutBucketVersioning",
        "CreateUser",
        "UpdateLoginProfile",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let events: Vec<BenchEvent> = (0..count)
        .map(|i| {
            let r = next();
            let name = if r % 5 == 0 { hot[(r / 5) as usize % hot.len()] } else { noise[(r / 5) as usize % noise.len()] };
            let value = json!({
                "eventVersion": "1.09",
                "userIdentity": {"type": if r % 7 == 0 { "Root" } else { "AssumedRole" }, "arn": format!("arn:aws:sts::111122223333:assumed-role/app/{}", r % 100),
                                 "accessKeyId": "ASIAEXAMPLE", "sessionContext": {"sessionIssuer": {"type": "Role"}}},
                "eventTime": "2024-07-30T12:00:00Z",
                "eventSource": "s3.amazonaws.com",
                "eventName": name,
                "awsRegion": "us-east-1",
                "sourceIPAddress": format!("203.0.113.{}", r % 250),
                "userAgent": "aws-sdk-go-v2/1.30.3",
                "errorCode": if r % 11 == 0 { Value::from("AccessDenied") } else { Value::Null },
                "requestParameters": {"bucketName": "prod", "key": format!("k{i}")},
                "responseElements": null,
                "eventID": format!("{i}"),
                "eventType": "AwsApiCall",
            });
            BenchEvent { value, name: Some(name.to_string()) }
        })
        .collect();

    let mut out = Vec::new();
    // Warm-up, then timed passes.
    for e in events.iter().take(10_000) {
        out.clear();
        rules.match_event(e, &mut out);
    }
    let passes: usize = std::env::var("BENCH_PASSES")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3);
    LOOKUPS.with(|c| c.set(0));
    measure(
        "match_event on serde_json::Value",
        events.len(),
        passes,
        || {
            let mut fired = 0;
            for e in &events {
                out.clear();
                rules.match_event(e, &mut out);
                fired += out.len();
            }
            fired
        },
    );
    let lookups = LOOKUPS.with(|c| c.get());
    println!(
        "  ({:.1} field lookups per event)",
        lookups as f64 / (events.len() * passes) as f64
    );

    // The same events through the real reader's event type (fields decoded lazily
    // from the raw record bytes).
    let raws: Vec<Vec<u8>> = events
        .iter()
        .map(|e| e.value.to_string().into_bytes())
        .collect();
    let parsed: Vec<CloudTrailEvent<'_>> = raws
        .iter()
        .filter_map(|r| CloudTrailEvent::parse(r).ok())
        .collect();
    measure(
        "match_event on CloudTrailEvent",
        parsed.len(),
        passes,
        || {
            let mut fired = 0;
            for e in &parsed {
                out.clear();
                rules.match_event(e, &mut out);
                fired += out.len();
            }
            fired
        },
    );
}
