//! The investigation commands end to end on a simulated case: `case new`, `ingest`
//! (de-duplication, re-runs), `timeline`, `summary`, `resources`, `query`, `anomalies`,
//! `export` read back by DuckDB, and `case status`. Answers are checked against the
//! simulator's ground truth and against counts made independently from the raw JSON.
#![cfg(feature = "investigate")]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use serde_json::Value;
use support::{json_lines, run, stderr, stdout};

/// A simulated corpus (JSON lines, every scenario) ingested into a case, shared by the
/// tests of this file (they only read it).
struct Sim {
    logs: PathBuf,
    case: PathBuf,
    truth: Vec<Value>,
    events: Vec<Value>,
}

fn sim() -> &'static Sim {
    static SIM: OnceLock<Sim> = OnceLock::new();
    SIM.get_or_init(|| {
        let root = tempfile::tempdir().expect("tempdir").keep();
        let logs = root.join("logs");
        let truth_path = root.join("truth.jsonl");
        let out = run(&[
            "simulate", "--out", p(&logs), "--events", "6000", "--seed", "11", "--days", "5", "--format", "jsonl",
            "--truth", p(&truth_path),
        ]);
        assert!(out.status.success(), "simulate failed: {}", stderr(&out));
        let case = root.join("case");
        let out = run(&["case", "new", "sim", "--dir", p(&case)]);
        assert!(out.status.success(), "case new failed: {}", stderr(&out));
        let out = run(&["ingest", "--case", p(&case), p(&logs)]);
        assert!(out.status.success(), "ingest failed: {}", stderr(&out));
        let truth = read_json_lines(&truth_path);
        let events = read_events(&logs);
        Sim { logs, case, truth, events }
    })
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn read_json_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("read json lines")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("valid json line"))
        .collect()
}

/// Every event the simulator wrote, read independently of firebreak's readers.
fn read_events(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).expect("read file");
            let text = if path.extension().is_some_and(|e| e == "gz") {
                use std::io::Read;
                let mut s = String::new();
                flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_string(&mut s).expect("gunzip");
                s
            } else {
                String::from_utf8(bytes).expect("utf-8")
            };
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                out.push(serde_json::from_str(line).expect("event json"));
            }
        }
    }
    out
}

fn truth_of<'a>(sim: &'a Sim, scenario: &str) -> &'a Value {
    sim.truth.iter().find(|t| t["scenario"] == scenario).unwrap_or_else(|| panic!("scenario {scenario} in truth"))
}

fn case_cmd(args: &[&str]) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--case", p(&sim().case)]);
    run(&all)
}

fn ids(rows: &[Value], column: &str) -> BTreeSet<String> {
    rows.iter().filter_map(|r| r[column].as_str().map(str::to_string)).collect()
}

#[test]
fn ingest_stores_each_event_once_and_a_rerun_adds_nothing() {
    let sim = sim();
    let distinct: BTreeSet<&str> = sim.events.iter().filter_map(|e| e["eventID"].as_str()).collect();
    let out = case_cmd(&["query", "SELECT count(*) AS n, count(DISTINCT eventid) AS d FROM cloudtrail", "--format", "jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = json_lines(&out);
    assert_eq!(rows[0]["n"].as_str(), Some(distinct.len().to_string().as_str()), "{rows:?}");
    assert_eq!(rows[0]["d"], rows[0]["n"]);

    // A second case: ingest twice, and a third time with the logs copied twice over.
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("again");
    let first = run(&["ingest", "--case", p(&case), p(&sim.logs), "--json"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let report: Value = serde_json::from_str(stdout(&first).trim()).unwrap();
    assert_eq!(report["events_stored"].as_u64(), Some(distinct.len() as u64));
    let second = run(&["ingest", "--case", p(&case), p(&sim.logs), p(&sim.logs), "--json"]);
    assert!(second.status.success(), "{}", stderr(&second));
    let report: Value = serde_json::from_str(stdout(&second).trim()).unwrap();
    assert_eq!(report["events_stored"].as_u64(), Some(0), "{report}");
    assert_eq!(report["duplicates_skipped"].as_u64(), Some(2 * distinct.len() as u64), "{report}");
    let out = run(&["query", "--case", p(&case), "SELECT count(*) AS n FROM cloudtrail", "--format", "jsonl"]);
    assert_eq!(json_lines(&out)[0]["n"].as_str(), Some(distinct.len().to_string().as_str()));
}

#[test]
fn findings_are_stored_beside_the_events() {
    let sim = sim();
    // Every planted scenario has at least one finding on one of its events.
    let out = case_cmd(&["query", "SELECT DISTINCT event_id FROM findings WHERE event_id IS NOT NULL", "--format", "jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let flagged = ids(&json_lines(&out), "event_id");
    for t in &sim.truth {
        let planted: BTreeSet<String> =
            t["event_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        assert!(!planted.is_disjoint(&flagged), "no stored finding for scenario {}", t["scenario"]);
    }
}

#[test]
fn timeline_of_an_access_key_is_exactly_its_events_in_time_order() {
    let sim = sim();
    let key = truth_of(sim, "iam-credential-compromise")["access_key_id"].as_str().unwrap();
    let expected: BTreeSet<String> = sim
        .events
        .iter()
        .filter(|e| e["userIdentity"]["accessKeyId"] == key)
        .map(|e| e["eventID"].as_str().unwrap().to_string())
        .collect();
    assert!(!expected.is_empty());
    let out = case_cmd(&["timeline", "--access-key", key, "--format", "jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = json_lines(&out);
    assert_eq!(ids(&rows, "eventid"), expected);
    assert_eq!(rows.len(), expected.len(), "no duplicates");
    let times: Vec<&str> = rows.iter().map(|r| r["eventtime"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "time order");
    // Every planted event of the scenario that used the key is there.
    let planted: BTreeSet<String> = truth_of(sim, "iam-credential-compromise")["event_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .filter(|id| sim.events.iter().any(|e| e["eventID"] == id.as_str() && e["userIdentity"]["accessKeyId"] == key))
        .collect();
    assert!(planted.is_subset(&ids(&rows, "eventid")));

    // A window narrows it.
    let first = truth_of(sim, "iam-credential-compromise")["first"].as_str().unwrap();
    let out = case_cmd(&["timeline", "--access-key", key, "--since", first, "--format", "jsonl"]);
    let narrowed = json_lines(&out);
    assert!(narrowed.iter().all(|r| r["eventtime"].as_str().unwrap() >= first));
    assert!(narrowed.len() <= rows.len());
}

#[test]
fn summary_counts_match_an_independent_count() {
    let sim = sim();
    let out = case_cmd(&["summary", "--top", "0", "--format", "jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = json_lines(&out);
    let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_ip: BTreeMap<String, u64> = BTreeMap::new();
    for e in &sim.events {
        *by_name.entry(e["eventName"].as_str().unwrap().to_string()).or_default() += 1;
        if let Some(ip) = e["sourceIPAddress"].as_str() {
            *by_ip.entry(ip.to_string()).or_default() += 1;
        }
    }
    let got = |dimension: &str| -> BTreeMap<String, u64> {
        rows.iter()
            .filter(|r| r["dimension"] == dimension)
            .map(|r| (r["value"].as_str().unwrap().to_string(), r["count"].as_str().unwrap().parse().unwrap()))
            .collect()
    };
    assert_eq!(got("eventname"), by_name);
    assert_eq!(got("sourceipaddress"), by_ip);
    let ip = truth_of(sim, "s3-exposure")["source_ip"].as_str().unwrap();
    assert!(got("sourceipaddress").contains_key(ip));
}

#[test]
fn resources_created_by_the_root_user_include_the_backdoor_user() {
    let sim = sim();
    let root = truth_of(sim, "root-activity");
    let created_users: BTreeSet<String> = sim
        .events
        .iter()
        .filter(|e| e["eventName"] == "CreateUser" && e["userIdentity"]["type"] == "Root" && e["errorCode"].is_null())
        .filter_map(|e| e["requestParameters"]["userName"].as_str().map(str::to_string))
        .collect();
    assert!(!created_users.is_empty(), "the scenario creates a user");
    let out = case_cmd(&["resources", "--created", "--by", "root", "--format", "jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = json_lines(&out);
    let resources: BTreeSet<String> = rows.iter().filter_map(|r| r["resource"].as_str().map(str::to_string)).collect();
    for user in &created_users {
        assert!(resources.iter().any(|r| r == user || r.ends_with(&format!("/{user}"))), "{user} not in {resources:?}");
    }
    assert!(rows.iter().all(|r| r["change"] == "created"), "{rows:?}");
    let _ = root;
    // Deleted resources of the ransomware or tampering scenarios are listed as deleted.
    let out = case_cmd(&["resources", "--deleted", "--format", "jsonl"]);
    let deleted = json_lines(&out);
    let trail_deleted = sim.events.iter().any(|e| e["eventName"] == "DeleteTrail" && e["errorCode"].is_null());
    if trail_deleted {
        assert!(deleted.iter().any(|r| r["eventname"] == "DeleteTrail"), "{deleted:?}");
    }
}

#[test]
fn sql_answers_match_and_bad_sql_is_an_error_not_a_crash() {
    let sim = sim();
    let expected = sim.events.iter().filter(|e| e["eventSource"] == "iam.amazonaws.com" && !e["errorCode"].is_null()).count();
    let out = case_cmd(&[
        "query",
        "SELECT count(*) AS n FROM cloudtrail WHERE eventsource = 'iam.amazonaws.com' AND errorcode IS NOT NULL",
        "--format",
        "jsonl",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json_lines(&out)[0]["n"].as_str(), Some(expected.to_string().as_str()));
    // Athena-style nested field access.
    let arn = truth_of(sim, "iam-credential-compromise")["principal_arn"].as_str().unwrap();
    let out = case_cmd(&[
        "query",
        &format!("SELECT count(*) AS n FROM cloudtrail WHERE useridentity.arn = '{arn}'"),
        "--format",
        "jsonl",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let by_arn = sim.events.iter().filter(|e| e["userIdentity"]["arn"] == arn).count();
    assert_eq!(json_lines(&out)[0]["n"].as_str(), Some(by_arn.to_string().as_str()));

    let out = case_cmd(&["query", "SELEC nonsense FROM"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("firebreak: error:") && !err.contains("panicked"), "{err}");
    let out = case_cmd(&["query", "SELECT no_such_column FROM cloudtrail"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no_such_column"), "{}", stderr(&out));
}

#[test]
fn anomalies_name_the_new_ip_and_user_agent_of_the_compromised_key() {
    let sim = sim();
    let t = truth_of(sim, "iam-credential-compromise");
    let (arn, ip, first) =
        (t["principal_arn"].as_str().unwrap(), t["source_ip"].as_str().unwrap(), t["first"].as_str().unwrap());
    let out = case_cmd(&["anomalies", "--principal", arn, "--since", first, "--format", "jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = json_lines(&out);
    assert!(
        rows.iter().any(|r| r["kind"] == "new_source_ip" && r["value"] == ip),
        "the attacker's IP {ip} is not reported as new: {rows:?}"
    );
    assert!(rows.iter().any(|r| r["kind"] == "new_user_agent"), "{rows:?}");
    assert!(rows.iter().all(|r| r["compared_with"].as_str().is_some_and(|c| !c.is_empty())));
}

fn python_has(module: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var_os("CI").is_some() {
        panic!("python module {module} is required under CI (scripts/test.sh installs it)");
    }
    ok
}

#[test]
fn export_is_hive_partitioned_parquet_that_duckdb_reads() {
    let sim = sim();
    if !python_has("duckdb") {
        eprintln!("skipping: python duckdb is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    let out = case_cmd(&["export", "--parquet", p(&export)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let script = format!(
        "import duckdb, json\n\
         rows = duckdb.sql(\"SELECT account, region, count(*) FROM read_parquet('{}/account=*/**/*.parquet', hive_partitioning=true) GROUP BY ALL\").fetchall()\n\
         print(json.dumps([[str(a), str(r), int(n)] for a, r, n in rows]))",
        p(&export)
    );
    let py = std::process::Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(py.status.success(), "{}", String::from_utf8_lossy(&py.stderr));
    let groups: Vec<(String, String, u64)> = serde_json::from_slice(&py.stdout).unwrap();
    let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
    for e in &sim.events {
        let key = (e["recipientAccountId"].as_str().unwrap_or("").to_string(), e["awsRegion"].as_str().unwrap_or("").to_string());
        *expected.entry(key).or_default() += 1;
    }
    let got: BTreeMap<(String, String), u64> = groups.into_iter().map(|(a, r, n)| ((a, r), n)).collect();
    assert_eq!(got, expected);
    // The layout is account=/region=/day=.
    let some_file = walk(&export).into_iter().find(|f| f.extension().is_some_and(|e| e == "parquet")).unwrap();
    let rel = some_file.strip_prefix(&export).unwrap().to_string_lossy().into_owned();
    let parts: Vec<&str> = rel.split('/').collect();
    assert!(parts[0].starts_with("account=") && parts[1].starts_with("region=") && parts[2].starts_with("day="), "{rel}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn case_status_reports_events_and_findings() {
    let sim = sim();
    let out = case_cmd(&["case", "status", "--format", "jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let status: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let distinct: BTreeSet<&str> = sim.events.iter().filter_map(|e| e["eventID"].as_str()).collect();
    assert_eq!(status["events"].as_u64(), Some(distinct.len() as u64));
    let findings: u64 = ["critical", "high", "medium", "low", "informational"]
        .iter()
        .map(|l| status["findings"][l].as_u64().unwrap())
        .sum();
    assert!(findings > 0);
    let table = case_cmd(&["case", "status"]);
    assert!(stdout(&table).contains("findings"), "{}", stdout(&table));
}

#[test]
fn a_case_is_found_by_name_under_firebreak_home() {
    let home = tempfile::tempdir().unwrap();
    let sim = sim();
    let mut cmd = support::firebreak();
    let out = cmd.env("FIREBREAK_HOME", home.path()).args(["case", "new", "acme-2026-11"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(home.path().join("cases/acme-2026-11/case.json").is_file());
    let out = support::firebreak()
        .env("FIREBREAK_HOME", home.path())
        .args(["ingest", "--case", "acme-2026-11", p(&sim.logs.join("does-not-exist"))])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a missing input is an error: {}", stderr(&out));
    let out = support::firebreak().env("FIREBREAK_HOME", home.path()).args(["summary", "--case", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    // Creating it twice is refused.
    let out = support::firebreak().env("FIREBREAK_HOME", home.path()).args(["case", "new", "acme-2026-11"]).output().unwrap();
    assert!(!out.status.success());
}
