//! Deterministic simulated CloudTrail with planted attack scenarios and ground truth.
//!
//! [`generate`] writes a corpus of realistic CloudTrail records for a few simulated
//! accounts: routine activity of principals with stable habits (CI deployments, SSO
//! developers in office hours, nightly backups, a monitoring poller, an S3 application,
//! AWS services), including look-alike activity that must not be mistaken for an
//! attack, interleaved with planted attack scenarios ([`scenario_names`]). Each planted
//! scenario instance is described by one [`TruthEntry`] listing the exact event ids.
//!
//! The output depends only on the [`SimConfig`]: the same configuration (seed included)
//! gives byte-identical files. Nothing reads the wall clock, `thread_rng` or hash-map
//! order; every generation unit (one account, region and five-minute window) draws from
//! its own generator derived from the master seed, so units can be built in parallel.
//!
//! ```no_run
//! use firebreak_simulate::{generate, SimConfig};
//!
//! let cfg = SimConfig {
//!     out_dir: "corpus".into(),
//!     events: 1_000_000,
//!     seed: 7,
//!     truth_path: Some("truth.jsonl".into()),
//!     ..SimConfig::default()
//! };
//! let report = generate(&cfg)?;
//! println!("{report}");
//! # Ok::<(), firebreak_simulate::SimError>(())
//! ```
//!
//! Notes on fidelity: file names carry the start of their five-minute window (CloudTrail
//! uses the delivery time, a few minutes later); the bucket-level public access block calls
//! are logged as `PutBucketPublicAccessBlock` / `DeleteBucketPublicAccessBlock`, as real
//! CloudTrail does; gzip uses a fast level (1) so that large corpora generate quickly.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod ids;
mod output;
mod record;
mod routine;
mod scenarios;
mod world;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use output::OutputFormat;

/// Length of one delivery window (and generation unit), in seconds.
pub const WINDOW_SECONDS: i64 = 300;

/// Most records written to one S3 delivery object; busier windows are split into
/// several objects with the same timestamp, as CloudTrail does.
pub const MAX_RECORDS_PER_FILE: usize = 400;

/// Events per part file in the `JsonLines` and `EventBridge` formats (parts are cut
/// at a window boundary once they reach this size).
pub const EVENTS_PER_PART: u64 = 100_000;

/// Which planted scenarios to generate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ScenarioSelection {
    /// Every scenario of [`scenario_names`].
    #[default]
    All,
    /// The named scenarios (an empty list plants none: routine traffic only).
    List(Vec<String>),
}

impl ScenarioSelection {
    /// The selected scenario names in canonical order, or an error naming the first
    /// unknown one.
    pub fn resolve(&self) -> Result<Vec<&'static str>, SimError> {
        let known = scenario_names();
        match self {
            ScenarioSelection::All => Ok(known.iter().map(|(name, _)| *name).collect()),
            ScenarioSelection::List(names) => {
                for name in names {
                    if !known.iter().any(|(known_name, _)| known_name == name) {
                        return Err(SimError::UnknownScenario {
                            name: name.clone(),
                            known: known.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
                        });
                    }
                }
                Ok(known
                    .iter()
                    .map(|(name, _)| *name)
                    .filter(|name| names.iter().any(|wanted| wanted == name))
                    .collect())
            }
        }
    }
}

impl FromStr for ScenarioSelection {
    type Err = SimError;

    /// `all`, `none`, or a comma-separated list of scenario names.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("all") {
            return Ok(ScenarioSelection::All);
        }
        if trimmed.eq_ignore_ascii_case("none") || trimmed.is_empty() {
            return Ok(ScenarioSelection::List(Vec::new()));
        }
        let selection = ScenarioSelection::List(
            trimmed
                .split(',')
                .map(|name| name.trim().to_string())
                .filter(|name| !name.is_empty())
                .collect(),
        );
        selection.resolve()?;
        Ok(selection)
    }
}

/// What to generate and where.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Directory the corpus is written into (created if missing).
    pub out_dir: PathBuf,
    /// Total number of records; routine traffic fills whatever the scenarios leave.
    pub events: u64,
    /// Planted scenarios.
    pub scenarios: ScenarioSelection,
    /// Master seed: same seed and configuration give byte-identical output.
    pub seed: u64,
    /// Output layout.
    pub format: OutputFormat,
    /// Start of the simulated period (a fixed default, never "now").
    pub start: jiff::Timestamp,
    /// Length of the simulated period in days (at least 1).
    pub days: u32,
    /// Number of simulated AWS accounts (1 to 64).
    pub accounts: u32,
    /// Where to write the ground truth (JSON lines); `None` writes no truth file (the
    /// truth is still returned in [`SimReport::truth`]).
    pub truth_path: Option<PathBuf>,
}

/// The default start of the simulated period: 2026-10-01T00:00:00Z.
pub const DEFAULT_START_SECONDS: i64 = 1_790_812_800;

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            out_dir: PathBuf::from("sim-out"),
            events: 100_000,
            scenarios: ScenarioSelection::All,
            seed: 1,
            format: OutputFormat::S3Delivery,
            start: jiff::Timestamp::from_second(DEFAULT_START_SECONDS)
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            days: 3,
            accounts: 3,
            truth_path: None,
        }
    }
}

/// One planted scenario instance, as written to the truth file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthEntry {
    /// Scenario name (see [`scenario_names`]).
    pub scenario: String,
    /// Account the attack happened in.
    pub account: String,
    /// Main region of the attack.
    pub region: String,
    /// ARN of the attacker's principal.
    pub principal_arn: String,
    /// Access key the attacker used.
    pub access_key_id: String,
    /// Attacker's source IP.
    pub source_ip: String,
    /// Attacker's user agent.
    pub user_agent: String,
    /// `eventID` of every record the scenario planted, in time order.
    pub event_ids: Vec<String>,
    /// `eventTime` of the first planted record.
    pub first: String,
    /// `eventTime` of the last planted record.
    pub last: String,
    /// What happened.
    pub description: String,
    /// What a detection should say about it.
    pub expected: String,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SimReport {
    /// Event files written (truth file excluded).
    pub files: u64,
    /// Records written.
    pub events: u64,
    /// Of which routine traffic.
    pub routine_events: u64,
    /// Compressed bytes written (truth file excluded).
    pub bytes: u64,
    /// Bytes of JSON before compression (records plus framing).
    pub uncompressed_bytes: u64,
    /// Records planted per scenario name.
    pub scenario_events: BTreeMap<String, u64>,
    /// The ground truth, one entry per planted scenario instance.
    pub truth: Vec<TruthEntry>,
    /// Where the truth was written, if it was.
    pub truth_path: Option<PathBuf>,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A scenario name that does not exist.
    #[error("unknown scenario `{name}` (known: {known})")]
    UnknownScenario {
        /// The name given.
        name: String,
        /// The known names.
        known: String,
    },
    /// An output format name that does not exist.
    #[error("unknown output format `{0}` (known: s3, jsonl, eventbridge)")]
    UnknownFormat(String),
    /// A configuration value out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// Writing a file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Serialising a record failed.
    #[error("cannot serialise {what}: {source}")]
    Serialize {
        /// What was being serialised.
        what: String,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// A worker thread panicked (a bug, reported instead of propagated).
    #[error("generation worker failed: {0}")]
    Worker(String),
}

/// The scenarios [`generate`] can plant: name and one-line description.
pub fn scenario_names() -> &'static [(&'static str, &'static str)] {
    scenarios::SCENARIOS
}

impl fmt::Display for SimReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} events ({} routine, {} planted in {} scenarios) in {} files, {} bytes compressed, {} bytes of JSON",
            self.events,
            self.routine_events,
            self.events - self.routine_events,
            self.truth.len(),
            self.files,
            self.bytes,
            self.uncompressed_bytes
        )
    }
}

/// Generates the corpus described by `cfg`.
pub fn generate(cfg: &SimConfig) -> Result<SimReport, SimError> {
    if cfg.days == 0 || cfg.days > 366 {
        return Err(SimError::InvalidConfig(format!(
            "days must be 1..=366, got {}",
            cfg.days
        )));
    }
    if cfg.accounts == 0 || cfg.accounts > 64 {
        return Err(SimError::InvalidConfig(format!(
            "accounts must be 1..=64, got {}",
            cfg.accounts
        )));
    }
    let start = cfg.start.as_second();
    if start.rem_euclid(60) != 0 {
        return Err(SimError::InvalidConfig(format!(
            "start must be a whole minute, got {}",
            cfg.start
        )));
    }
    let names = cfg.scenarios.resolve()?;
    let world = world::World::build(cfg.seed, cfg.accounts);
    let end = start + i64::from(cfg.days) * 86_400;
    let planted = scenarios::plant_all(&world, cfg.seed, start, end, &names);
    let planted_count: u64 = planted.iter().map(|p| p.events.len() as u64).sum();
    let routine_total = cfg.events.saturating_sub(planted_count);
    let plan = output::Plan::new(&world, cfg.seed, start, cfg.days, routine_total, planted);
    let mut report = output::write(cfg, &world, plan)?;
    report.routine_events = routine_total;
    if let Some(path) = &cfg.truth_path {
        output::write_truth(path, &report.truth)?;
        report.truth_path = Some(path.clone());
    }
    Ok(report)
}
