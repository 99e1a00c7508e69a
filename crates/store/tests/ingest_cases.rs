//! Damaged input, findings of a simulated case, Hive export.

mod common;

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray};
use common::*;
use firebreak_events::ReadErrorKind;
use firebreak_store::export::{hive_schema, HIVE_NULL_PARTITION};
use firebreak_store::{export_hive, ingest, parts, IngestInput, IngestOptions};

#[test]
fn truncated_gzip_keeps_the_events_before_the_damage_and_names_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    let records: Vec<String> = (0..400).map(|i| record(&format!("t-{i:04}"), i, "CreateUser")).collect();
    let whole = gzip(format!(r#"{{"Records":[{}]}}"#, records.join(",")).as_bytes());
    let cut = &whole[..whole.len() * 6 / 10];
    std::fs::write(input.join("damaged.json.gz"), cut).expect("write");
    let good: Vec<String> = (0..10).map(|i| record(&format!("g-{i}"), i, "GetUser")).collect();
    std::fs::write(input.join("good.jsonl"), good.join("\n")).expect("write");

    let store = new_case(tmp.path(), "damage");
    let rules = no_rules();
    let report = ingest(&store, vec![IngestInput::Path(input)], &IngestOptions { threads: 2, ..IngestOptions::new(&rules) })
        .expect("ingest goes on after damage");
    assert_eq!(report.damaged_inputs, 1);
    let error = report.errors.iter().find(|e| e.kind == ReadErrorKind::TruncatedGzip).expect("truncated gzip reported");
    assert!(error.file.ends_with("damaged.json.gz"), "{error}");
    assert!(error.to_string().contains("damaged.json.gz"));
    let ids = stored_ids(&store);
    let damaged_rows = ids.iter().flatten().filter(|id| id.starts_with("t-")).count();
    assert!(damaged_rows > 0 && damaged_rows < 400, "{damaged_rows} good records before the damage");
    // They are the first records of the file, in order.
    let mut damaged_ids: Vec<&String> = ids.iter().flatten().filter(|id| id.starts_with("t-")).collect();
    damaged_ids.sort();
    assert_eq!(damaged_ids.first().map(|s| s.as_str()), Some("t-0000"));
    assert_eq!(damaged_ids.last().map(|s| s.as_str()), Some(format!("t-{:04}", damaged_rows - 1).as_str()));
    assert_eq!(ids.iter().flatten().filter(|id| id.starts_with("g-")).count(), 10);
    // The manifest notes the input's error.
    let lines = manifest(&store);
    let line = lines.iter().find(|l| l["name"].as_str().is_some_and(|n| n.ends_with("damaged.json.gz"))).expect("input line");
    assert_eq!(line["errors"], 1);
    assert!(line["first_error"].as_str().unwrap_or("").contains("truncated gzip"));
}

#[test]
fn findings_are_stored_for_a_simulated_root_activity_case() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let sim_dir = tmp.path().join("sim");
    let cfg = firebreak_simulate::SimConfig {
        out_dir: sim_dir.clone(),
        events: 3000,
        scenarios: firebreak_simulate::ScenarioSelection::List(vec!["root-activity".into()]),
        seed: 7,
        days: 1,
        accounts: 1,
        ..Default::default()
    };
    let sim = firebreak_simulate::generate(&cfg).expect("simulate");
    let truth_ids: std::collections::HashSet<String> = sim.truth.iter().flat_map(|t| t.event_ids.iter().cloned()).collect();
    assert!(!truth_ids.is_empty());

    let store = new_case(tmp.path(), "root");
    let rules = builtin_rules();
    let report = ingest(&store, vec![IngestInput::Path(sim_dir)], &IngestOptions { threads: 2, part_rows: 1000, ..IngestOptions::new(&rules) })
        .expect("ingest");
    assert_eq!(report.events_stored, sim.events);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let findings = stored_findings(&store);
    assert_eq!(findings.len() as u64, report.findings_stored());
    let root_findings: Vec<_> = findings
        .iter()
        .filter(|(_, id, kind)| kind == "event" && id.as_ref().is_some_and(|id| truth_ids.contains(id)))
        .collect();
    assert!(!root_findings.is_empty(), "planted root events raise findings: {findings:?}");
    assert!(root_findings.iter().any(|(title, _, _)| title.to_lowercase().contains("root")), "{root_findings:?}");
    assert!(report.findings_by_level[3] + report.findings_by_level[4] > 0, "high or critical findings");
    // Every event finding's event is stored.
    let stored: std::collections::HashSet<String> = stored_ids(&store).into_iter().flatten().collect();
    for (_, id, kind) in &findings {
        if kind == "event" {
            assert!(id.as_ref().is_some_and(|id| stored.contains(id)), "finding for {id:?} has its event");
        }
    }
    // A findings part only exists with its events part.
    for path in store.finding_files().expect("findings") {
        let name = path.file_name().expect("name");
        assert!(store.events_dir().join(name).exists());
    }
}

#[test]
fn hive_export_partitions_by_account_region_and_day() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    let mut lines = Vec::new();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    let mut n = 0;
    for account in ["111122223333", "444455556666"] {
        for region in ["eu-west-1", "us-east-1"] {
            for day in ["2026-10-01", "2026-10-02"] {
                let count = 1 + (n % 3);
                for i in 0..count {
                    lines.push(format!(
                        r#"{{"eventID":"{account}-{region}-{day}-{i}","eventTime":"{day}T0{i}:00:00Z","eventName":"X","awsRegion":"{region}","recipientAccountId":"{account}"}}"#
                    ));
                }
                expected.insert(format!("account={account}/region={region}/day={day}"), count as u64);
                n += 1;
            }
        }
    }
    lines.push(r#"{"eventID":"odd","eventTime":"yesterday","eventName":"X","awsRegion":"../../etc"}"#.to_string());
    expected.insert(format!("account={HIVE_NULL_PARTITION}/region=..%2F..%2Fetc/day={HIVE_NULL_PARTITION}"), 1);
    std::fs::write(input.join("events.jsonl"), lines.join("\n")).expect("write");
    let store = new_case(tmp.path(), "hive");
    let rules = builtin_rules();
    ingest(&store, vec![IngestInput::Path(input)], &IngestOptions { threads: 1, part_rows: 10, ..IngestOptions::new(&rules) })
        .expect("ingest");
    let total = stored_ids(&store).len() as u64;

    let out = tmp.path().join("export");
    let report = export_hive(&store, &out).expect("export");
    assert_eq!(report.rows, total);
    assert_eq!(report.partitions, expected);
    // The files on disk agree with the report, and hold the export columns.
    let mut on_disk: BTreeMap<String, u64> = BTreeMap::new();
    for key in expected.keys() {
        let dir = out.join(key);
        assert!(dir.is_dir(), "{} exists", dir.display());
        for entry in std::fs::read_dir(&dir).expect("read partition") {
            let path = entry.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            assert!(name.starts_with("part-") && name.ends_with(".parquet"), "{name}");
            for batch in parts::read_all(&path).expect("read export file") {
                assert_eq!(batch.schema(), hive_schema());
                assert!(batch.column_by_name("raw").is_none() && batch.column_by_name("awsregion").is_none());
                let ids = batch.column_by_name("eventid").expect("eventid").as_string::<i32>();
                if key.contains("region=eu-west-1") {
                    assert!((0..ids.len()).all(|i| ids.value(i).contains("eu-west-1")));
                }
                *on_disk.entry(key.clone()).or_default() += batch.num_rows() as u64;
            }
        }
    }
    assert_eq!(on_disk, expected);
    assert!(!out.join("..").join("etc").exists() || out.join("..").join("etc").read_dir().is_err());
    // A second export into the same (now full) folder is refused.
    assert!(export_hive(&store, &out).is_err());
}
