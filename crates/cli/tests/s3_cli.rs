//! `scan` and `ingest` read `s3://bucket/prefix` through the AWS SDK, here from the local
//! moto server: the same findings and the same stored events as from the local files.
#![cfg(all(feature = "aws", feature = "investigate"))]

// The moto harness and session helpers are shared with the firebreak-aws tests.
#[path = "../../aws/tests/common/mod.rs"]
mod common;
mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use firebreak_aws::sdk::s3;
use common::moto::{self, Moto};
use support::{json_lines, stderr, stdout};

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn firebreak(moto: &Moto, account: &str, args: &[&str]) -> Output {
    support::firebreak_on_moto(&moto.url, &moto::responder_role(account), args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run firebreak")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn finding_keys(out: &Output) -> BTreeSet<(String, String)> {
    json_lines(out)
        .into_iter()
        .filter(|f| f["kind"] == "event")
        .map(|f| (f["rule_id"].as_str().unwrap().to_string(), f["event_id"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn scan_and_ingest_read_an_s3_prefix_like_the_local_files() {
    let Some(moto) = Moto::shared() else { return };
    let account = moto::unique_account();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    // The S3 delivery layout: AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz
    let out = support::run(&["simulate", "--out", p(&logs), "--events", "3000", "--seed", "3", "--days", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let session = common::session_in(moto, &account);
    let client = s3::Client::new(session.sdk_config());
    let bucket = format!("trail-{account}");
    let local = files(&logs);
    session.block_on(async {
        client.create_bucket().bucket(&bucket).send().await.unwrap();
        for file in &local {
            let key = file.strip_prefix(&logs).unwrap().to_string_lossy().into_owned();
            let body = std::fs::read(file).unwrap();
            client.put_object().bucket(&bucket).key(&key).body(body.into()).send().await.unwrap();
        }
    });
    let url = format!("s3://{bucket}/AWSLogs/");

    let from_files = support::run(&["scan", p(&logs), "--format", "jsonl", "--no-progress", "-q"]);
    assert!(from_files.status.success(), "{}", stderr(&from_files));
    let from_s3 = firebreak(moto, &account, &["scan", &url, "--format", "jsonl", "--no-progress"]);
    assert!(from_s3.status.success(), "{}", stderr(&from_s3));
    let expected = finding_keys(&from_files);
    assert!(!expected.is_empty());
    assert_eq!(finding_keys(&from_s3), expected, "same findings from S3 as from the files");
    assert!(json_lines(&from_s3).iter().any(|f| f["input"].as_str().is_some_and(|i| i.starts_with("s3://"))));

    let case = dir.path().join("case");
    let out = firebreak(moto, &account, &["ingest", "--case", p(&case), &url, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["files"].as_u64(), Some(local.len() as u64), "{report}");
    assert_eq!(report["events_stored"].as_u64(), Some(3000), "{report}");
    let out = support::run(&["query", "--case", p(&case), "SELECT count(DISTINCT source) AS n FROM cloudtrail WHERE source LIKE 's3://%'", "--format", "jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json_lines(&out)[0]["n"].as_str(), Some(local.len().to_string().as_str()));

    // A bucket that does not exist is an error naming it; the exit status says so.
    let out = firebreak(moto, &account, &["scan", "s3://no-such-bucket-firebreak/x", "--format", "jsonl", "--no-progress"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("no-such-bucket-firebreak"), "{}", stderr(&out));
}
