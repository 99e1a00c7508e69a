//! The investigation commands over a case: `case new`, `ingest`, `summary`, `timeline`,
//! `resources`, `query`, `anomalies` and `export`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use firebreak_evidence::{CaseEnv, CaseLocation};
use firebreak_query::{
    anomalies_to_table, AnomalyOptions, CaseQuery, ChangeFilter, ResourceFilter, SummaryFilter, Table, TimelineFilter,
    DEFAULT_BASELINE_DAYS,
};
use firebreak_store::{CaseStore, IngestInput, IngestOptions, IngestReport};

use crate::output::{write_cells, ListingArgs};
use crate::rules_cmd::{load_rules, RuleSourceArgs};

/// Resolves a `--case` value (a name under `$FIREBREAK_HOME/cases`, or a folder).
pub fn locate_case(spec: Option<&str>) -> anyhow::Result<CaseLocation> {
    let spec = spec.context("--case is required (a case name or the path of a case folder)")?;
    Ok(CaseLocation::resolve(spec, &CaseEnv::from_process())?)
}

/// Opens an existing case store.
pub fn open_case(spec: Option<&str>) -> anyhow::Result<CaseStore> {
    let location = locate_case(spec)?;
    if !location.dir.is_dir() {
        anyhow::bail!(
            "case {} does not exist ({}); create it with `firebreak case new {}`",
            location.name,
            location.dir.display(),
            location.name
        );
    }
    CaseStore::open(&location.dir).with_context(|| format!("opening case {}", location.dir.display()))
}

fn open_query(spec: Option<&str>) -> anyhow::Result<CaseQuery> {
    let store = open_case(spec)?;
    let query = CaseQuery::open(&store).with_context(|| format!("reading case {}", store.dir().display()))?;
    for skipped in query.skipped_parts() {
        eprintln!("firebreak: warning: {skipped:?}");
    }
    Ok(query)
}

fn parse_time(flag: &str, value: Option<&str>) -> anyhow::Result<Option<jiff::Timestamp>> {
    value
        .map(|v| {
            firebreak_query::parse_time("", flag, v)
                .with_context(|| format!("--{flag} {v:?}: expected an RFC 3339 time such as 2026-10-01T00:00:00Z"))
        })
        .transpose()
}

/// `firebreak case ...`
#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Create a case: a folder holding the events, findings, action log and evidence.
    New {
        /// The case name (letters, digits, `-`, `_`, `.`).
        name: String,
        /// Create the case folder here instead of under `$FIREBREAK_HOME/cases/NAME`.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Where a case stands: playbook phase, steps done and open, events, findings,
    /// actions and evidence.
    Status {
        /// The case (name or folder); or give `--case`.
        case_name: Option<String>,
        #[command(flatten)]
        listing: ListingArgs,
    },
}

/// Runs `firebreak case ...`.
pub fn run_case(cmd: CaseCommand, case: Option<&str>) -> anyhow::Result<i32> {
    match cmd {
        CaseCommand::New { name, dir } => {
            let location = match dir {
                Some(dir) => CaseLocation { name: name.clone(), dir },
                None => CaseLocation::resolve(&name, &CaseEnv::from_process())?,
            };
            let store = CaseStore::create(&location).with_context(|| format!("creating case {}", location.dir.display()))?;
            println!("case {} created at {}", location.name, store.dir().display());
            Ok(0)
        }
        CaseCommand::Status { case_name, listing } => {
            crate::case_status::run(case_name.as_deref().or(case), &listing)
        }
    }
}

/// `firebreak ingest`
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files, folders, `-` for stdin, or `s3://bucket/prefix`.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub rules: RuleSourceArgs,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j')]
    pub threads: Option<usize>,
    /// Rows per Parquet part file.
    #[arg(long, default_value_t = firebreak_store::ingest::DEFAULT_PART_ROWS, hide = true)]
    pub part_rows: usize,
    /// Parallel S3 downloads.
    #[arg(long, default_value_t = 16)]
    pub s3_concurrency: usize,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs `firebreak ingest`.
pub fn run_ingest(args: IngestArgs, case: Option<&str>, aws: &crate::AwsArgs) -> anyhow::Result<i32> {
    let location = locate_case(case)?;
    let store = CaseStore::open_or_create(&location).with_context(|| format!("opening case {}", location.dir.display()))?;
    let rules = load_rules(&args.rules, true)?;
    let mut options = IngestOptions::new(&rules);
    if let Some(n) = args.threads {
        options.threads = n.max(1);
    }
    options.part_rows = args.part_rows.max(1);
    let (local, remote): (Vec<&String>, Vec<&String>) = args.inputs.iter().partition(|i| !i.starts_with("s3://"));
    let mut inputs: Vec<IngestInput> = Vec::new();
    for path in local {
        let p = PathBuf::from(path);
        if path != "-" && !p.exists() {
            anyhow::bail!("input {path} does not exist");
        }
        inputs.push(IngestInput::Path(p));
    }
    let started = std::time::Instant::now();
    let report = if remote.is_empty() {
        firebreak_store::ingest(&store, inputs, &options).context("ingest failed")?
    } else {
        crate::s3_input::ingest_with_s3(&store, inputs, &remote, &options, aws, args.s3_concurrency)?
    };
    print_ingest_report(&report, started.elapsed(), args.json)?;
    Ok(if report.damaged_inputs > 0 { 1 } else { 0 })
}

fn print_ingest_report(report: &IngestReport, took: std::time::Duration, json: bool) -> anyhow::Result<()> {
    use firebreak_events::sanitize::for_terminal;
    let secs = took.as_secs_f64().max(1e-9);
    if json {
        let value = serde_json::json!({
            "run_id": report.run_id,
            "files": report.files,
            "events_read": report.events_read,
            "events_stored": report.events_stored,
            "duplicates_skipped": report.duplicates_skipped,
            "findings_stored": report.findings_stored(),
            "findings_by_level": {
                "informational": report.findings_by_level[0], "low": report.findings_by_level[1],
                "medium": report.findings_by_level[2], "high": report.findings_by_level[3],
                "critical": report.findings_by_level[4],
            },
            "damaged_inputs": report.damaged_inputs,
            "errors": report.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            "parts_written": report.parts_written,
            "bytes_read": report.bytes_read,
            "bytes_written": report.bytes_written,
            "seconds": secs,
        });
        println!("{value}");
        return Ok(());
    }
    for err in &report.errors {
        eprintln!("firebreak: damaged input: {}", for_terminal(&err.to_string()));
    }
    let l = report.findings_by_level;
    eprintln!(
        "ingested {} input(s): {} events read, {} stored, {} duplicates skipped; findings: {} critical, {} high, {} medium, {} low, {} informational; {} damaged input(s); {:.1}s, {:.0} events/s",
        report.files,
        report.events_read,
        report.events_stored,
        report.duplicates_skipped,
        l[4],
        l[3],
        l[2],
        l[1],
        l[0],
        report.damaged_inputs,
        secs,
        report.events_read as f64 / secs
    );
    Ok(())
}

/// `--since` / `--until`, shared by the pivots.
#[derive(Debug, Clone, Args)]
pub struct WindowArgs {
    /// Only events at or after this time (RFC 3339).
    #[arg(long)]
    pub since: Option<String>,
    /// Only events at or before this time (RFC 3339).
    #[arg(long)]
    pub until: Option<String>,
}

/// `firebreak summary`
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// Only this principal (ARN, user or role name, or `root`).
    #[arg(long)]
    pub principal: Option<String>,
    /// Keep only the most frequent values of each dimension.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub listing: ListingArgs,
}

/// `firebreak timeline`
#[derive(Debug, Args)]
pub struct TimelineArgs {
    /// Events of this access key.
    #[arg(long)]
    pub access_key: Option<String>,
    /// Events of this principal (ARN, user or role name, or `root`).
    #[arg(long)]
    pub principal: Option<String>,
    /// Events from this source IP address.
    #[arg(long)]
    pub ip: Option<String>,
    /// Events naming this resource (ARN or name).
    #[arg(long)]
    pub resource: Option<String>,
    /// Events of this API call.
    #[arg(long)]
    pub event_name: Option<String>,
    /// Events of this service (`s3.amazonaws.com`).
    #[arg(long)]
    pub event_source: Option<String>,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub listing: ListingArgs,
}

/// `firebreak resources`
#[derive(Debug, Args)]
pub struct ResourcesArgs {
    /// Only resources created.
    #[arg(long)]
    pub created: bool,
    /// Only resources deleted.
    #[arg(long)]
    pub deleted: bool,
    /// Only resources modified.
    #[arg(long)]
    pub modified: bool,
    /// Only changes made by this principal.
    #[arg(long = "by")]
    pub by: Option<String>,
    /// Only this service (`iam.amazonaws.com`).
    #[arg(long)]
    pub event_source: Option<String>,
    /// Also list calls that failed.
    #[arg(long)]
    pub include_failed: bool,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub listing: ListingArgs,
}

/// `firebreak query`
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// A SELECT over the tables `cloudtrail` (Athena's column names) and `findings`.
    pub sql: String,
    #[command(flatten)]
    pub listing: ListingArgs,
}

/// `firebreak anomalies`
#[derive(Debug, Args)]
pub struct AnomaliesArgs {
    /// Only this principal.
    #[arg(long)]
    pub principal: Option<String>,
    /// Days before `--since` that make the baseline.
    #[arg(long, default_value_t = DEFAULT_BASELINE_DAYS)]
    pub baseline_days: u32,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub listing: ListingArgs,
}

/// `firebreak export`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write the events as Hive-partitioned Parquet (account=/region=/day=) into DIR.
    #[arg(long, value_name = "DIR")]
    pub parquet: PathBuf,
}

fn print_table(listing: &ListingArgs, table: &Table) -> anyhow::Result<()> {
    write_cells(listing, &table.columns, &table.rows)
}

/// Runs `firebreak summary`.
pub fn run_summary(args: SummaryArgs, case: Option<&str>) -> anyhow::Result<i32> {
    let query = open_query(case)?;
    let filter = SummaryFilter {
        principal: args.principal,
        since: parse_time("since", args.window.since.as_deref())?,
        until: parse_time("until", args.window.until.as_deref())?,
        top: (args.top > 0).then_some(args.top),
    };
    let summary = query.summary(&filter).context("summary failed")?;
    if args.listing.format == "table" {
        eprintln!(
            "{} events, {} failed, from {} to {}",
            summary.events,
            summary.errors,
            summary.first_seen.as_deref().unwrap_or("-"),
            summary.last_seen.as_deref().unwrap_or("-")
        );
    }
    print_table(&args.listing, &summary.to_table())?;
    Ok(0)
}

/// Runs `firebreak timeline`.
pub fn run_timeline(args: TimelineArgs, case: Option<&str>) -> anyhow::Result<i32> {
    let filter = TimelineFilter {
        access_key: args.access_key,
        principal: args.principal,
        ip: args.ip,
        resource: args.resource,
        event_name: args.event_name,
        event_source: args.event_source,
        since: parse_time("since", args.window.since.as_deref())?,
        until: parse_time("until", args.window.until.as_deref())?,
    };
    let query = open_query(case)?;
    let table = query.timeline(&filter).context("timeline failed")?;
    print_table(&args.listing, &table)?;
    Ok(0)
}

/// Runs `firebreak resources`.
pub fn run_resources(args: ResourcesArgs, case: Option<&str>) -> anyhow::Result<i32> {
    let change = match (args.created, args.deleted, args.modified) {
        (true, false, false) => ChangeFilter::Created,
        (false, true, false) => ChangeFilter::Deleted,
        (false, false, true) => ChangeFilter::Modified,
        (false, false, false) => ChangeFilter::Any,
        _ => anyhow::bail!("give at most one of --created, --deleted and --modified"),
    };
    let filter = ResourceFilter {
        change,
        principal: args.by,
        event_source: args.event_source,
        since: parse_time("since", args.window.since.as_deref())?,
        until: parse_time("until", args.window.until.as_deref())?,
        include_failed: args.include_failed,
    };
    let query = open_query(case)?;
    let table = query.resources(&filter).context("resources failed")?;
    print_table(&args.listing, &table)?;
    Ok(0)
}

/// Runs `firebreak query`.
pub fn run_query(args: QueryArgs, case: Option<&str>) -> anyhow::Result<i32> {
    let query = open_query(case)?;
    let table = query.sql(&args.sql).context("the query failed")?;
    print_table(&args.listing, &table)?;
    Ok(0)
}

/// Runs `firebreak anomalies`.
pub fn run_anomalies(args: AnomaliesArgs, case: Option<&str>) -> anyhow::Result<i32> {
    let opts = AnomalyOptions {
        principal: args.principal,
        since: parse_time("since", args.window.since.as_deref())?,
        until: parse_time("until", args.window.until.as_deref())?,
        baseline_days: args.baseline_days,
    };
    let query = open_query(case)?;
    let found = query.anomalies(&opts).context("anomalies failed")?;
    print_table(&args.listing, &anomalies_to_table(&found))?;
    Ok(0)
}

/// Runs `firebreak export`.
pub fn run_export(args: ExportArgs, case: Option<&str>) -> anyhow::Result<i32> {
    let store = open_case(case)?;
    let report = firebreak_store::export_hive(&store, &args.parquet)
        .with_context(|| format!("exporting to {}", args.parquet.display()))?;
    eprintln!(
        "exported {} events into {} partition(s) ({} files, {:.1} MB) and {} findings to {}",
        report.rows,
        report.partitions.len(),
        report.files,
        report.bytes as f64 / 1e6,
        report.findings,
        args.parquet.display()
    );
    Ok(0)
}
