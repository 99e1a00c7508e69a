//! `firebreak simulate`: deterministic CloudTrail with planted attack scenarios.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

/// Arguments of `firebreak simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Folder to write the logs into (created when missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Number of events to generate (routine activity fills what the scenarios leave).
    #[arg(long, default_value_t = 100_000)]
    pub events: u64,
    /// Scenarios to plant: `all`, `none`, or a comma-separated list (see --list-scenarios).
    #[arg(long, default_value = "all")]
    pub scenarios: String,
    /// Seed: the same seed and options give byte-identical output.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Ground-truth file (JSON lines, one per planted scenario).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Layout: s3 (AWSLogs/... .json.gz, the default), jsonl or eventbridge.
    #[arg(long, default_value = "s3")]
    pub format: String,
    /// First moment of the simulated period (RFC 3339).
    #[arg(long, default_value = "2026-10-01T00:00:00Z")]
    pub start: String,
    /// Length of the simulated period in days.
    #[arg(long, default_value_t = 3)]
    pub days: u32,
    /// Number of AWS accounts.
    #[arg(long, default_value_t = 3)]
    pub accounts: u32,
    /// List the scenarios and exit.
    #[arg(long)]
    pub list_scenarios: bool,
}

/// Runs `firebreak simulate`.
pub fn run(args: SimulateArgs) -> anyhow::Result<i32> {
    use firebreak_simulate::{generate, scenario_names, OutputFormat, ScenarioSelection, SimConfig};
    if args.list_scenarios {
        for (name, description) in scenario_names() {
            println!("{name:<28} {description}");
        }
        return Ok(0);
    }
    let format = match args.format.as_str() {
        "s3" | "s3-delivery" => OutputFormat::S3Delivery,
        "jsonl" => OutputFormat::JsonLines,
        "eventbridge" => OutputFormat::EventBridge,
        other => anyhow::bail!("unknown simulate format '{other}' (expected s3, jsonl or eventbridge)"),
    };
    let scenarios = match args.scenarios.as_str() {
        "all" => ScenarioSelection::All,
        "none" => ScenarioSelection::List(Vec::new()),
        list => {
            let known: Vec<&str> = scenario_names().iter().map(|(n, _)| *n).collect();
            let chosen: Vec<String> = list.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
            for name in &chosen {
                if !known.contains(&name.as_str()) {
                    anyhow::bail!("unknown scenario '{name}' (known: {})", known.join(", "));
                }
            }
            ScenarioSelection::List(chosen)
        }
    };
    let start: jiff::Timestamp = args.start.parse().with_context(|| format!("--start '{}' is not an RFC 3339 time", args.start))?;
    let cfg = SimConfig {
        out_dir: args.out.clone(),
        events: args.events,
        scenarios,
        seed: args.seed,
        format,
        start,
        days: args.days,
        accounts: args.accounts,
        truth_path: args.truth.clone(),
    };
    let report = generate(&cfg).with_context(|| format!("simulating into {}", args.out.display()))?;
    eprintln!("{report}");
    Ok(0)
}
