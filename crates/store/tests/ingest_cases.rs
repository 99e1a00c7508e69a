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
    let records: Vec<String> = (0..400)
        .map(|i| record(&format!("t-{i:04}"), i, "CreateUser"))
        .collect();
    let whole = gzip(format!(r#"{{"Records":[{}]}}"#, records.join(",")).as_bytes());
    let cut = &whole[..whole.len() * 6 / 10];
    std::fs::write(input.join("damaged.json.gz"), cut).expect("write");
    let good: Vec<String> = (0..10)
        .map(|i| record(&format!("g-{i}"), i, "GetUser"))
        .collect();
    std::fs::write(input.join("good.jsonl"), good.join("\n")).expect("write");

    let store = new_case(tmp.path(), "damage");
    let rules = no_rules();
    let report = ingest(
        &store,
        vec![IngestInput::Path(input)],
        &IngestOptions {
            threads: 2,
            ..IngestOptions::new(&rules)
        },
    )
    .expect("ingest goes on after damage");
    assert_eq!(report.damaged_inputs, 1);
    let error = report
        .errors
        .iter()
        .find(|e| e.kind == ReadErrorKind::TruncatedGzip)
        .expect("truncated gzip reported");
    assert!(error.file.ends_with("damaged.json.gz"), "{error}");
    assert!(error.to_string().contains("damaged.json.gz"));
    let ids = stored_ids(&store);
    let damaged_rows = ids
        .iter()
        .flatten()
        .filter(|id| id.starts_with("t-"))
        .count();
    assert!(
        damaged_rows > 0 && damaged_rows < 400,
        "{damaged_rows} good records before the damage"
    );
    // They are the first records of the file, in order.
    let mut damaged_ids: Vec<&String> = ids
        .iter()
        .flatten()
        .filter(|id| id.starts_with("t-"))
        .collect();
    damaged_ids.sort();
    assert_eq!(damaged_ids.first().map(|s| s.as_str()), Some("t-0000"));
    assert_eq!(
        damaged_ids.last().map(|s| s.as_str()),
        Some(format!("t-{:04}", damaged_rows - 1).as_str())
    );
    assert_eq!(
        ids.iter()
            .flatten()
            .filter(|id| id.starts_with("g-"))
            .count(),
        10
    );
    // The manifest notes the input's error.
    let lines = manifest(&store);
    let line = lines
        .iter()
        .find(|l| {
            l["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("damaged.json.gz"))
        })
        .expect("input line");
    assert_eq!(line["errors"], 1);
    assert!(line["first_error"]
        .as_str()
        .unwrap_or("")
        .contains("truncated gzip"));
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
    let truth_ids: std::collections::HashSet<String> = sim
        .truth
        .iter()
        .flat_map(|t| t.event_ids.iter().cloned())
        .collect();
    assert!(!truth_ids.is_empty());

    let store = new_case(tmp.path(), "root");
    let rules = builtin_rules();
    let report = ingest(
        &store,
        vec![IngestInput::Path(sim_dir)],
        &IngestOptions {
            threads: 2,
            part_rows: 1000,
            ..IngestOptions::new(&rules)
        },
    )
    .expect("ingest");
    assert_eq!(report.events_stored, sim.events);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let findings = stored_findings(&store);
    assert_eq!(findings.len() as u64, report.findings_stored());
    let root_findings: Vec<_> = findings
        .iter()
        .filter(|(_, id, kind)| {
            kind == "event" && id.as_ref().is_some_and(|id| truth_ids.contains(id))
        })
        .collect();
    assert!(
        !root_findings.is_empty(),
        "planted root events raise findings: {findings:?}"
    );
    assert!(
        root_findings
            .iter()
            .any(|(title, _, _)| title.to_lowercase().contains("root")),
        "{root_findings:?}"
    );
    assert!(
        report.findings_by_level[3] + report.findings_by_level[4] > 0,
        "high or critical findings"
    );
    // Every event finding's event is stored.
    let stored: std::collections::HashSet<String> =
        stored_ids(&store).into_iter().flatten().collect();
    for (_, id, kind) in &findings {
        if kind == "event" {
            assert!(
                id.as_ref().is_some_and(|id| stored.contains(id)),
                "finding for {id:?} has its event"
            );
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
                expected.insert(
                    format!("account={account}/region={region}/day={day}"),
                    count as u64,
                );
                n += 1;
            }
        }
    }
    lines.push(
        r#"{"eventID":"odd","eventTime":"yesterday","eventName":"X","awsRegion":"../../etc"}"#
            .to_string(),
    );
    expected.insert(
        format!("account={HIVE_NULL_PARTITION}/region=..%2F..%2Fetc/day={HIVE_NULL_PARTITION}"),
        1,
    );
    std::fs::write(input.join("events.jsonl"), lines.join("\n")).expect("write");
    let store = new_case(tmp.path(), "hive");
    let rules = builtin_rules();
    ingest(
        &store,
        vec![IngestInput::Path(input)],
        &IngestOptions {
            threads: 1,
            part_rows: 10,
            ..IngestOptions::new(&rules)
        },
    )
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
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            assert!(
                name.starts_with("part-") && name.ends_with(".parquet"),
                "{name}"
            );
            for batch in parts::read_all(&path).expect("read export file") {
                assert_eq!(batch.schema(), hive_schema());
                // `raw` and `source` are dropped; `awsregion` stays (Athena-style queries use it).
                assert!(
                    batch.column_by_name("raw").is_none()
                        && batch.column_by_name("source").is_none()
                );
                assert!(batch.column_by_name("awsregion").is_some());
                let ids = batch
                    .column_by_name("eventid")
                    .expect("eventid")
                    .as_string::<i32>();
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

#[test]
fn many_small_inputs_share_batches_and_keep_their_own_counts() {
    // 60 small files: their rows travel to the writer together, yet each input's
    // stored/duplicate counts and manifest line are its own.
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    for f in 0..60u32 {
        // File f holds events f-0..f-4; every third file also repeats an event of file 0.
        let mut records: Vec<String> = (0..5)
            .map(|i| record(&format!("e{f:02}-{i}"), f * 5 + i, "GetUser"))
            .collect();
        if f % 3 == 2 {
            records.push(record("e00-0", 0, "GetUser"));
        }
        std::fs::write(input.join(format!("f{f:02}.jsonl")), records.join("\n")).expect("write");
    }
    let store = new_case(tmp.path(), "small");
    let rules = no_rules();
    for threads in [1, 2] {
        let report = ingest(
            &store,
            vec![IngestInput::Path(input.clone())],
            &IngestOptions {
                threads,
                part_rows: 7,
                ..IngestOptions::new(&rules)
            },
        )
        .expect("ingest");
        assert_eq!(report.files, 60);
        assert_eq!(report.events_read, 300 + 20);
        let first_run = threads == 1;
        assert_eq!(report.events_stored, if first_run { 300 } else { 0 });
        assert_eq!(report.duplicates_skipped, if first_run { 20 } else { 320 });
        let per_input: u64 = report.inputs.iter().map(|i| i.stored + i.duplicates).sum();
        assert_eq!(per_input, 320);
        for summary in &report.inputs {
            assert_eq!(
                summary.stored + summary.duplicates,
                summary.records,
                "{summary:?}"
            );
            if !first_run {
                assert_eq!(summary.stored, 0, "{summary:?}");
            }
        }
        if first_run {
            // Files without a repeat stored all 5 of theirs (only f00 or a repeating file
            // can hold a duplicate, depending on which worker met e00-0 first).
            let plain = report
                .inputs
                .iter()
                .filter(|i| i.stored == 5 && i.duplicates == 0)
                .count();
            assert!(plain >= 39, "{plain} inputs stored all their events");
        }
    }
    assert_eq!(stored_ids(&store).len(), 300);
    // One manifest line per input and run, with counts matching the report's.
    let lines = manifest(&store);
    let input_lines: Vec<_> = lines.iter().filter(|l| l["kind"] == "input").collect();
    assert_eq!(input_lines.len(), 120);
    let stored: u64 = input_lines
        .iter()
        .map(|l| l["stored"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(stored, 300);
}

#[test]
fn parts_encoded_in_parallel_are_committed_in_cut_order() {
    // Six workers give three encoder threads; three-row parts make them finish out of
    // order. The committer must still commit every part, in the order cut.
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    for f in 0..40u32 {
        let records: Vec<String> = (0..5)
            .map(|i| record(&format!("p{f:02}-{i}"), f * 5 + i, "ListBuckets"))
            .collect();
        std::fs::write(input.join(format!("f{f:02}.jsonl")), records.join("\n")).expect("write");
    }
    let store = new_case(tmp.path(), "parallel");
    let rules = no_rules();
    let report = ingest(
        &store,
        vec![IngestInput::Path(input.clone())],
        &IngestOptions {
            threads: 6,
            part_rows: 3,
            ..IngestOptions::new(&rules)
        },
    )
    .expect("ingest");
    assert_eq!((report.files, report.events_stored), (40, 200));
    assert_eq!(stored_ids(&store).len(), 200);
    let lines = manifest(&store);
    let parts: Vec<String> = lines
        .iter()
        .filter(|l| l["kind"] == "part")
        .map(|l| l["part"].as_str().expect("part name").to_string())
        .collect();
    assert!(parts.len() >= 67, "{} parts", parts.len());
    assert_eq!(parts.len() as u64, report.parts_written);
    let mut sorted = parts.clone();
    sorted.sort();
    assert_eq!(parts, sorted, "parts committed in the order they were cut");
    let rows: u64 = lines
        .iter()
        .filter(|l| l["kind"] == "part")
        .map(|l| l["events"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(rows, 200);
    for name in &parts {
        assert!(store.events_dir().join(name).is_file(), "{name} committed");
    }
    // No temporary file is left behind.
    let leftovers = std::fs::read_dir(store.events_dir())
        .expect("events dir")
        .flatten()
        .filter(|e| {
            !e.file_name().to_string_lossy().ends_with(".parquet")
                || e.file_name().to_string_lossy().starts_with('.')
        })
        .count();
    assert_eq!(leftovers, 0);
}
