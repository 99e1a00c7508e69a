//! Times the pivots on a large simulated case (5 million events by default).
//!
//! ```text
//! cargo run --profile bench-fast -p firebreak-query --example pivot_bench -- [--events N] [--dir DIR]
//! ```
//!
//! The case is built once in `DIR` (default `target/pivot-bench-<N>`): `simulate` writes
//! the CloudTrail as JSON lines with every scenario planted, the case store ingests it,
//! and later runs reuse it. Then each pivot runs a few times and the best and median
//! wall-clock times are printed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use firebreak_query::{AnomalyOptions, CaseQuery, ResourceFilter, SummaryFilter, TimelineFilter};
use firebreak_simulate::{OutputFormat, ScenarioSelection, SimConfig, TruthEntry};
use firebreak_store::CaseStore;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut events: u64 = 5_000_000;
    let mut dir: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--events" => events = args.next().ok_or("--events needs a number")?.parse()?,
            "--dir" => dir = Some(args.next().ok_or("--dir needs a path")?.into()),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let dir = dir.unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target")
            .join(format!("pivot-bench-{events}"))
    });
    let case_dir = dir.join("case");
    let truth_path = dir.join("truth.jsonl");
    if !case_dir.join("case.json").exists() {
        build(&dir, &case_dir, &truth_path, events)?;
    }
    let truth: Vec<TruthEntry> = std::fs::read_to_string(&truth_path)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let compromise = truth
        .iter()
        .find(|t| t.scenario == "iam-credential-compromise")
        .ok_or("no iam-credential-compromise in the truth file")?;
    let store = CaseStore::open(&case_dir)?;

    let started = Instant::now();
    let q = CaseQuery::open(&store)?;
    println!(
        "open: {:?} ({} event parts)",
        started.elapsed(),
        q.event_parts()
    );
    let rows = q.sql("SELECT count(*) AS n FROM cloudtrail")?;
    println!(
        "events in case: {}",
        rows.rows[0][0].as_deref().unwrap_or("?")
    );

    time("timeline --access-key", || {
        q.timeline(&TimelineFilter {
            access_key: Some(compromise.access_key_id.clone()),
            ..TimelineFilter::default()
        })
        .map(|t| t.len())
    });
    time("timeline --principal", || {
        q.timeline(&TimelineFilter {
            principal: Some(compromise.principal_arn.clone()),
            ..TimelineFilter::default()
        })
        .map(|t| t.len())
    });
    time("timeline --ip", || {
        q.timeline(&TimelineFilter {
            ip: Some(compromise.source_ip.clone()),
            ..TimelineFilter::default()
        })
        .map(|t| t.len())
    });
    time("summary (whole case)", || {
        q.summary(&SummaryFilter::default())
            .map(|s| s.to_table().len())
    });
    time("summary --principal", || {
        q.summary(&SummaryFilter {
            principal: Some(compromise.principal_arn.clone()),
            ..SummaryFilter::default()
        })
        .map(|s| s.to_table().len())
    });
    time("resources --change any", || {
        q.resources(&ResourceFilter::default()).map(|t| t.len())
    });
    time("anomalies (last 24h)", || {
        q.anomalies(&AnomalyOptions::default()).map(|a| a.len())
    });
    time("sql group by eventname", || {
        q.sql("SELECT eventname, count(*) FROM cloudtrail GROUP BY 1")
            .map(|t| t.len())
    });
    // One-shot: what a CLI invocation pays (open + pivot).
    time("open + timeline --access-key", || {
        CaseQuery::open(&store)?
            .timeline(&TimelineFilter {
                access_key: Some(compromise.access_key_id.clone()),
                ..TimelineFilter::default()
            })
            .map(|t| t.len())
    });
    Ok(())
}

fn time(label: &str, mut run: impl FnMut() -> firebreak_query::Result<usize>) {
    let mut times: Vec<Duration> = Vec::new();
    let mut rows = 0;
    for _ in 0..5 {
        let started = Instant::now();
        match run() {
            Ok(n) => rows = n,
            Err(e) => {
                println!("{label:32} failed: {e}");
                return;
            }
        }
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "{label:32} best {:>8.1} ms  median {:>8.1} ms  ({rows} rows)",
        times[0].as_secs_f64() * 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3
    );
}

fn build(
    dir: &Path,
    case_dir: &Path,
    truth_path: &Path,
    events: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let corpus = dir.join("corpus");
    let started = Instant::now();
    let cfg = SimConfig {
        out_dir: corpus.clone(),
        events,
        scenarios: ScenarioSelection::All,
        seed: 5,
        format: OutputFormat::JsonLines,
        days: 7,
        accounts: 3,
        truth_path: Some(truth_path.to_path_buf()),
        ..SimConfig::default()
    };
    let report = firebreak_simulate::generate(&cfg)?;
    println!("simulated {report} in {:?}", started.elapsed());
    let started = Instant::now();
    let store = CaseStore::create(&firebreak_evidence::CaseLocation {
        name: "pivot-bench".to_string(),
        dir: case_dir.to_path_buf(),
    })?;
    ingest(&store, &corpus)?;
    println!("ingested in {:?}", started.elapsed());
    Ok(())
}

/// Ingests the corpus with the built-in rules.
fn ingest(store: &CaseStore, corpus: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut loader = firebreak_detect::RuleLoader::new(firebreak_detect::Limits::default());
    loader.add_builtin();
    let (rules, _) = loader.finish();
    let report = firebreak_store::ingest(
        store,
        [firebreak_store::IngestInput::Path(corpus.to_path_buf())],
        &firebreak_store::IngestOptions::new(&rules),
    )?;
    println!(
        "stored {} events in {} parts, {} problems",
        report.events_stored,
        report.parts_written,
        report.errors.len()
    );
    Ok(())
}
