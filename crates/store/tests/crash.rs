//! Crash safety: an ingest killed with SIGKILL half way, then re-run (killed again, then
//! completed), stores every event exactly once.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use firebreak_store::{ingest, CaseStore, IngestInput, IngestOptions};

const CHILD_ENV: &str = "FIREBREAK_STORE_TEST_CRASH_CHILD";
const PART_ROWS: usize = 150;

/// In the child process: ingest the input into the case (the parent kills it).
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let Some((case_dir, input)) = spec.split_once('\n') else {
        panic!("bad child spec")
    };
    let store = CaseStore::open(case_dir).expect("open case");
    let rules = builtin_rules();
    let opts = IngestOptions {
        threads: 2,
        part_rows: PART_ROWS,
        ..IngestOptions::new(&rules)
    };
    ingest(&store, vec![IngestInput::Path(input.into())], &opts).expect("child ingest");
    std::process::exit(0);
}

fn committed_parts(store: &CaseStore) -> usize {
    store.event_files().map(|f| f.len()).unwrap_or(0)
}

/// Runs the child ingest and kills it once `more` new parts are committed. Returns
/// whether it was killed (rather than finishing first).
fn run_and_kill(store: &CaseStore, input: &Path, more: usize) -> bool {
    let before = committed_parts(store);
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(
            CHILD_ENV,
            format!("{}\n{}", store.dir().display(), input.display()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "child failed: {status}");
            return false;
        }
        if committed_parts(store) >= before + more {
            child.kill().expect("SIGKILL");
            let status = child.wait().expect("reap");
            return !status.success();
        }
        assert!(Instant::now() < deadline, "child took too long");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn killed_ingest_resumes_and_stores_every_event_exactly_once() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let sim_dir = tmp.path().join("sim");
    let cfg = firebreak_simulate::SimConfig {
        out_dir: sim_dir.clone(),
        events: 12_000,
        seed: 11,
        days: 1,
        accounts: 2,
        ..Default::default()
    };
    let sim = firebreak_simulate::generate(&cfg).expect("simulate");
    let store = new_case(tmp.path(), "crash");

    let first_killed = run_and_kill(&store, &sim_dir, 3);
    let after_first = stored_ids(&store).len();
    let second_killed = run_and_kill(&store, &sim_dir, 2);
    let after_second = stored_ids(&store).len();
    assert!(first_killed, "the first run was killed half way");
    assert!(
        after_first > 0 && (after_first as u64) < sim.events,
        "{after_first} of {} stored before the kill",
        sim.events
    );
    assert!(second_killed, "the second run was killed half way too");
    assert!(after_second > after_first);

    // The final run completes in this process.
    let rules = builtin_rules();
    let opts = IngestOptions {
        threads: 2,
        part_rows: PART_ROWS,
        ..IngestOptions::new(&rules)
    };
    let report = ingest(&store, vec![IngestInput::Path(sim_dir)], &opts).expect("resume");
    assert_eq!(report.events_read, sim.events);
    assert_eq!(report.events_stored + report.duplicates_skipped, sim.events);
    assert_eq!(
        report.duplicates_skipped as usize, after_second,
        "the events committed before are skipped"
    );

    let counts = id_counts(&store);
    assert_eq!(counts.len() as u64, sim.events, "every event stored");
    assert!(counts.keys().all(Option::is_some));
    let twice: Vec<_> = counts.iter().filter(|(_, &n)| n > 1).collect();
    assert!(
        twice.is_empty(),
        "ids stored twice: {:?}",
        &twice[..twice.len().min(5)]
    );
    assert_eq!(stored_ids(&store).len() as u64, sim.events);

    // No event finding twice, and each one's event is stored.
    let findings = stored_findings(&store);
    let mut event_findings = std::collections::HashSet::new();
    for (title, id, kind) in &findings {
        if kind == "event" {
            assert!(
                event_findings.insert((title.clone(), id.clone())),
                "finding stored twice: {title} {id:?}"
            );
            assert!(counts.contains_key(id));
        }
    }
    assert!(!event_findings.is_empty());
    // No leftovers: no temporary file, no findings part without its events part.
    for dir in [store.events_dir(), store.findings_dir()] {
        for entry in std::fs::read_dir(&dir).expect("list") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            assert!(!name.starts_with(".tmp-"), "{name} left behind");
        }
    }
    for path in store.finding_files().expect("findings") {
        assert!(store
            .events_dir()
            .join(path.file_name().expect("name"))
            .exists());
    }
    let runs = manifest(&store)
        .iter()
        .filter(|l| l["kind"] == "start")
        .count();
    assert_eq!(runs, 3, "three runs recorded in the manifest");
}
