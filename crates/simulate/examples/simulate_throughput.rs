//! Measures generation throughput: `cargo run --release -p firebreak-simulate --example
//! simulate_throughput -- <out-dir> [events] [s3|jsonl|eventbridge]`; the truth goes to
//! `<out-dir>.truth.jsonl`.

use std::time::Instant;

use firebreak_simulate::{generate, SimConfig, SimError};

fn main() -> Result<(), SimError> {
    let mut args = std::env::args().skip(1);
    let out_dir = args.next().unwrap_or_else(|| "sim-throughput".to_string());
    let events = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let format = match args.next() {
        Some(name) => name.parse()?,
        None => Default::default(),
    };
    let truth_path = Some(format!("{out_dir}.truth.jsonl").into());
    let cfg = SimConfig {
        out_dir: out_dir.into(),
        events,
        format,
        truth_path,
        ..SimConfig::default()
    };
    let started = Instant::now();
    let report = generate(&cfg)?;
    let elapsed = started.elapsed().as_secs_f64();
    println!("{report}");
    println!(
        "{:.2}s: {:.0} events/s, {:.1} MB/s of JSON, {:.1} MB/s written, average record {} bytes",
        elapsed,
        report.events as f64 / elapsed,
        report.uncompressed_bytes as f64 / elapsed / 1e6,
        report.bytes as f64 / elapsed / 1e6,
        report.uncompressed_bytes / report.events.max(1)
    );
    Ok(())
}
