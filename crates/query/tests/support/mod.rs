//! A simulated case shared by the tests: `firebreak-simulate` writes CloudTrail as
//! gzip'd JSON lines, the case store ingests it, and the tests read the same JSON
//! themselves to compute the expected answers independently.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use firebreak_evidence::CaseLocation;
use firebreak_simulate::{generate, OutputFormat, ScenarioSelection, SimConfig, TruthEntry};
use firebreak_store::CaseStore;
use serde_json::Value;

/// A case built from a simulated corpus, with the raw records and the ground truth.
pub struct SimCase {
    /// Keeps the folder alive.
    pub _dir: tempfile::TempDir,
    /// The case folder.
    pub case_dir: PathBuf,
    /// Every simulated record as parsed JSON.
    pub records: Vec<Value>,
    /// What was planted.
    pub truth: Vec<TruthEntry>,
}

impl SimCase {
    /// Opens the case store.
    pub fn store(&self) -> CaseStore {
        CaseStore::open(&self.case_dir).expect("open simulated case")
    }

    /// The truth entry of `scenario`.
    pub fn truth(&self, scenario: &str) -> &TruthEntry {
        self.truth
            .iter()
            .find(|t| t.scenario == scenario)
            .unwrap_or_else(|| panic!("scenario {scenario} not planted"))
    }
}

/// The string at `path` (`["userIdentity", "arn"]`) of a record.
pub fn get<'v>(record: &'v Value, path: &[&str]) -> Option<&'v str> {
    let mut v = record;
    for key in path {
        v = v.get(key)?;
    }
    v.as_str()
}

/// Reads every record of the gzip'd JSON-lines files under `dir`.
pub fn read_records(dir: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".jsonl.gz"))
        .collect();
    files.sort();
    let mut records = Vec::new();
    for file in files {
        let reader = BufReader::new(flate2::read::MultiGzDecoder::new(
            std::fs::File::open(&file).expect("open part"),
        ));
        for line in reader.lines() {
            let line = line.expect("read line");
            if line.trim().is_empty() {
                continue;
            }
            records.push(serde_json::from_str(&line).expect("simulated JSON"));
        }
    }
    records
}

/// Simulates `events` records over `days` days with `scenarios`, and ingests them into a
/// new case.
pub fn build_case(events: u64, days: u32, scenarios: ScenarioSelection, seed: u64) -> SimCase {
    let dir = tempfile::tempdir().expect("temp dir");
    let corpus = dir.path().join("corpus");
    let cfg = SimConfig {
        out_dir: corpus.clone(),
        events,
        scenarios,
        seed,
        format: OutputFormat::JsonLines,
        days,
        accounts: 2,
        ..SimConfig::default()
    };
    let report = generate(&cfg).expect("simulate");
    let case_dir = dir.path().join("case");
    let store = CaseStore::create(&CaseLocation {
        name: "sim".to_string(),
        dir: case_dir.clone(),
    })
    .expect("create case");
    let ingested = ingest_into(&store, &corpus);
    let records = read_records(&corpus);
    assert_eq!(records.len() as u64, report.events);
    assert_eq!(ingested.events_stored, report.events);
    SimCase {
        _dir: dir,
        case_dir,
        records,
        truth: report.truth,
    }
}

/// Ingests the corpus folder into the case with the built-in rules (so the
/// `findings` table has rows too), and checks nothing was lost.
fn ingest_into(store: &CaseStore, corpus: &Path) -> firebreak_store::IngestReport {
    let mut loader = firebreak_detect::RuleLoader::new(firebreak_detect::Limits::default());
    loader.add_builtin();
    let (rules, _) = loader.finish();
    let report = firebreak_store::ingest(
        store,
        [firebreak_store::IngestInput::Path(corpus.to_path_buf())],
        &firebreak_store::IngestOptions::new(&rules),
    )
    .expect("ingest");
    assert!(
        report.errors.is_empty(),
        "ingest errors: {:?}",
        report.errors
    );
    report
}

/// The shared case: 30 000 events over 4 days, every scenario planted.
pub fn sim_case() -> &'static SimCase {
    static CASE: OnceLock<SimCase> = OnceLock::new();
    CASE.get_or_init(|| build_case(30_000, 4, ScenarioSelection::All, 11))
}
