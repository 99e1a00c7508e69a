//! Ingest benchmark: `cargo run --release -p firebreak-store --example ingest_bench --
//! <input dir> <case dir> [threads] [--generate EVENTS] [--no-rules]`.
//!
//! Ingests the input folder into a case (created when the folder does not exist; an
//! existing case is ingested into again, which measures de-duplication) with the
//! built-in rules, and prints events/s, MB/s of JSON and the case's size on disk
//! against the input's. With `--generate N`, a missing input folder is first filled
//! with N simulated events (as `firebreak simulate --seed 7` writes them).

use std::path::{Path, PathBuf};
use std::time::Instant;

use firebreak_evidence::CaseLocation;
use firebreak_store::{ingest, CaseStore, IngestInput, IngestOptions};

fn size_on_disk(path: &Path) -> u64 {
    let Ok(meta) = std::fs::metadata(path) else {
        return 0;
    };
    if meta.is_file() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| size_on_disk(&e.path())).sum())
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut positional = Vec::new();
    let mut generate = None;
    let mut with_rules = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--generate" => {
                generate = Some(
                    args.next()
                        .ok_or("--generate needs a number")?
                        .parse::<u64>()?,
                )
            }
            "--no-rules" => with_rules = false,
            _ => positional.push(arg),
        }
    }
    let [input, case_dir, rest @ ..] = positional.as_slice() else {
        return Err(
            "usage: ingest_bench <input dir> <case dir> [threads] [--generate EVENTS] [--no-rules]"
                .into(),
        );
    };
    let threads = match rest.first() {
        Some(t) => t.parse()?,
        None => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    };
    let input = PathBuf::from(input);
    if let (Some(events), false) = (generate, input.exists()) {
        let cfg = firebreak_simulate::SimConfig {
            out_dir: input.clone(),
            events,
            seed: 7,
            ..Default::default()
        };
        let report = firebreak_simulate::generate(&cfg)?;
        eprintln!("generated {report}");
    }
    let mut loader = firebreak_detect::RuleLoader::new(Default::default());
    if with_rules {
        loader.add_builtin();
    }
    let (rules, _) = loader.finish();
    let case_dir = PathBuf::from(case_dir);
    let name = case_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bench".into());
    // An existing case is ingested into again (measures the de-duplication path).
    let store = CaseStore::open_or_create(&CaseLocation {
        name,
        dir: case_dir.clone(),
    })?;
    let opts = IngestOptions {
        threads,
        ..IngestOptions::new(&rules)
    };
    let started = Instant::now();
    let report = ingest(&store, vec![IngestInput::Path(input.clone())], &opts)?;
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let input_size = size_on_disk(&input);
    let case_size = size_on_disk(&case_dir);
    println!(
        "ingested {} events ({} stored, {} duplicates) from {} files in {:.2}s with {} threads and {} rules",
        report.events_read,
        report.events_stored,
        report.duplicates_skipped,
        report.files,
        secs,
        threads,
        rules.rules().len()
    );
    println!(
        "{:.0} events/s, {:.1} MB/s of JSON ({:.1} MB/s as stored); {} findings; {} parts",
        report.events_read as f64 / secs,
        report.bytes_decoded as f64 / 1e6 / secs,
        report.bytes_read as f64 / 1e6 / secs,
        report.findings_stored(),
        report.parts_written
    );
    println!(
        "input {:.1} MB on disk ({:.1} MB of JSON); case {:.1} MB on disk ({:.2}x the input, {:.2}x the JSON)",
        input_size as f64 / 1e6,
        report.bytes_decoded as f64 / 1e6,
        case_size as f64 / 1e6,
        case_size as f64 / input_size.max(1) as f64,
        case_size as f64 / report.bytes_decoded.max(1) as f64
    );
    if !report.errors.is_empty() {
        println!(
            "{} input errors, first: {}",
            report.errors.len(),
            report.errors[0]
        );
    }
    Ok(())
}
