//! `CaseStore::recover` after a kill at each point of a commit, and case creation rules.

mod common;

use common::*;
use firebreak_evidence::CaseLocation;
use firebreak_store::{CaseStore, StoreError};

#[test]
fn recover_cleans_up_each_interrupted_commit_state() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = new_case(tmp.path(), "recover");
    let events = store.events_dir();
    let findings = store.findings_dir();
    let w = |p: std::path::PathBuf| std::fs::write(p, b"x").expect("write");
    // Killed while writing the events part: both temporary files go.
    w(events.join(".tmp-part-r-00000.parquet"));
    w(findings.join(".tmp-part-r-00000.parquet"));
    // Killed between the events rename and the findings rename: the findings complete.
    w(events.join("part-r-00001.parquet"));
    w(findings.join(".tmp-part-r-00001.parquet"));
    // A findings part whose events part is gone: deleted.
    w(findings.join("part-r-00002.parquet"));
    // A committed pair: untouched.
    w(events.join("part-r-00003.parquet"));
    w(findings.join("part-r-00003.parquet"));

    let report = store.recover().expect("recover");
    assert_eq!(report.deleted_tmp.len(), 2);
    assert_eq!(
        report.completed_findings,
        vec![findings.join("part-r-00001.parquet")]
    );
    assert_eq!(
        report.deleted_orphan_findings,
        vec![findings.join("part-r-00002.parquet")]
    );
    let names = |files: Vec<std::path::PathBuf>| -> Vec<String> {
        files
            .iter()
            .map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    };
    assert_eq!(
        names(store.event_files().expect("events")),
        ["part-r-00001.parquet", "part-r-00003.parquet"]
    );
    assert_eq!(
        names(store.finding_files().expect("findings")),
        ["part-r-00001.parquet", "part-r-00003.parquet"]
    );
    assert!(store.recover().expect("second recover").is_clean());
}

#[test]
fn create_refuses_an_existing_case_and_open_reads_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let location = CaseLocation {
        name: "c1".into(),
        dir: tmp.path().join("c1"),
    };
    let created = CaseStore::create(&location).expect("create");
    assert_eq!(created.info().name, "c1");
    assert!(matches!(
        CaseStore::create(&location),
        Err(StoreError::CaseExists { .. })
    ));
    let opened = CaseStore::open(&location.dir).expect("open");
    assert_eq!(opened.info(), created.info());
    let text = std::fs::read_to_string(location.dir.join("case.json")).expect("case.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(json["name"], "c1");
    assert!(json["created"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(json["facts"], serde_json::json!({}));

    // A folder holding other files is not taken over; one holding only what other
    // firebreak commands write (the action log) is.
    let busy = CaseLocation {
        name: "busy".into(),
        dir: tmp.path().join("busy"),
    };
    std::fs::create_dir_all(&busy.dir).expect("mkdir");
    std::fs::write(busy.dir.join("notes.txt"), "x").expect("write");
    assert!(matches!(
        CaseStore::create(&busy),
        Err(StoreError::CaseExists { .. })
    ));
    let adopted = CaseLocation {
        name: "adopted".into(),
        dir: tmp.path().join("adopted"),
    };
    std::fs::create_dir_all(&adopted.dir).expect("mkdir");
    std::fs::write(adopted.dir.join("actions.jsonl"), "").expect("write");
    CaseStore::create(&adopted).expect("adopt a folder with only an action log");
    assert!(matches!(
        CaseStore::open(tmp.path().join("nothing")),
        Err(StoreError::NotACase { .. })
    ));
    let mut store = CaseStore::open_or_create(&adopted).expect("open_or_create");
    store
        .set_fact("incident", serde_json::json!("INC-1"))
        .expect("set fact");
    assert_eq!(
        CaseStore::open(&adopted.dir).expect("reopen").info().facts["incident"],
        "INC-1"
    );
}
