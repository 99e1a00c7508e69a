//! Our rules run on a data lake: `rules sql --dialect spark` compiled over the Parquet that
//! `export --parquet` wrote, executed by PySpark in local mode, find exactly the events
//! that `scan` finds with the same rules.
#![cfg(feature = "investigate")]

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use support::{json_lines, run, stderr};

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn pyspark_available() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import pyspark"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var_os("CI").is_some() {
        panic!("pyspark is required under CI (scripts/test.sh installs it)");
    }
    ok
}

#[test]
fn spark_sql_on_the_exported_parquet_finds_exactly_what_scan_finds() {
    if !pyspark_available() {
        eprintln!("skipping: pyspark is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let out = run(&["simulate", "--out", p(&logs), "--events", "4000", "--seed", "5", "--days", "2", "--format", "jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // What scan finds, per (rule, event), for single-event rules.
    let out = run(&["scan", p(&logs), "--format", "jsonl", "--no-progress", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let scanned: BTreeSet<(String, String)> = json_lines(&out)
        .into_iter()
        .filter(|f| f["kind"] == "event")
        .map(|f| (f["rule_id"].as_str().unwrap().to_string(), f["event_id"].as_str().unwrap().to_string()))
        .collect();

    // The rules compiled for Spark, and the ids of those skipped.
    let sql_file = dir.path().join("matches.sql");
    let out = run(&["rules", "sql", "--dialect", "spark", "--matches-query", "--output", p(&sql_file)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let script = run(&["rules", "sql", "--dialect", "spark"]);
    assert!(script.status.success());
    let script = support::stdout(&script);
    // The script names each compiled rule on a `-- id: ...` line.
    let compiled: BTreeSet<String> =
        script.lines().filter_map(|l| l.strip_prefix("-- id: ")).map(|id| id.trim().to_string()).collect();
    assert!(compiled.len() >= 40, "most of our rules compile to Spark SQL: {} did; script:\n{script}", compiled.len());

    let case = dir.path().join("case");
    let out = run(&["ingest", "--case", p(&case), p(&logs)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let export = dir.path().join("lake");
    let out = run(&["export", "--case", p(&case), "--parquet", p(&export)]);
    assert!(out.status.success(), "{}", stderr(&out));

    let result = dir.path().join("spark.jsonl");
    let spark = std::process::Command::new("python3")
        .arg(support::repo().join("scripts/spark_matches.py"))
        .args([p(&export), p(&sql_file), p(&result)])
        .output()
        .expect("python3 runs");
    assert!(
        spark.status.success(),
        "spark failed:\n{}\n{}",
        String::from_utf8_lossy(&spark.stdout),
        String::from_utf8_lossy(&spark.stderr)
    );
    let found: BTreeSet<(String, String)> = std::fs::read_to_string(&result)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["rule_id"].as_str().unwrap().to_string(), v["event_id"].as_str().unwrap().to_string())
        })
        .collect();
    let expected: BTreeSet<(String, String)> = scanned.into_iter().filter(|(rule, _)| compiled.contains(rule)).collect();
    assert!(!expected.is_empty(), "the simulated corpus triggers compiled rules");
    let missing: Vec<_> = expected.difference(&found).take(20).collect();
    let extra: Vec<_> = found.difference(&expected).take(20).collect();
    assert!(missing.is_empty() && extra.is_empty(), "Spark differs from scan:\nmissing {missing:?}\nextra {extra:?}");
}
