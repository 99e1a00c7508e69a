//! `firebreak scan`: read CloudTrail from files, folders or stdin, match the rules on
//! every event in parallel, evaluate correlations, and write the findings.

use std::io::{IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use firebreak_detect::{CorrelationHit, Level, RuleIdx, RuleSet};
use firebreak_events::{read_file, read_stream, CloudTrailEvent, FileReport, InputFile, InputShape, ReadError, Record};
use firebreak_findings::{
    write_findings, CorrelationWindow, EventSummary, Finding, FindingKind, OutputFormat, RuleInfo, TableOptions,
};

use crate::output::ListingArgs;
use crate::rules_cmd::{load_rules, RuleSourceArgs};

/// Arguments of `firebreak scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or folders to scan (folders recursively); `-` reads standard input.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub rules: RuleSourceArgs,
    #[command(flatten)]
    pub listing: ListingArgs,
    /// Only report findings at this level or above.
    #[arg(long, default_value = "informational")]
    pub min_level: Level,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j')]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// No summary on standard error.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// In table output, rows shown per rule (0: all).
    #[arg(long, default_value_t = 20)]
    pub max_rows: usize,
}

/// What a scan read and found, for the summary and the exit status.
#[derive(Debug, Default)]
pub struct ScanSummary {
    /// Inputs read.
    pub files: u64,
    /// Records (events) read.
    pub events: u64,
    /// Bytes read from disk (compressed).
    pub bytes_read: u64,
    /// Bytes of JSON decoded.
    pub bytes_decoded: u64,
    /// Every damaged input or record.
    pub errors: Vec<ReadError>,
    /// Inputs with at least one error.
    pub damaged_inputs: u64,
}

#[derive(Default)]
struct WorkerOutput {
    findings: Vec<Finding>,
    correlation_hits: Vec<CorrelationHit>,
    reports: Vec<FileReport>,
    parse_errors: Vec<ReadError>,
}

fn rule_infos(rules: &RuleSet) -> Vec<RuleInfo> {
    rules
        .rules()
        .iter()
        .map(|m| RuleInfo {
            id: m.id.clone(),
            title: m.title.clone(),
            author: m.author.clone().unwrap_or_else(|| "unknown".into()),
            level: m.level,
            description: m.description.clone().unwrap_or_default(),
            tags: m.tags.clone(),
            origin: m.origin.clone(),
        })
        .collect()
}

/// Scans every input with `rules`, calling nothing but the readers and the engine.
/// Returns the findings in a deterministic order and the read summary.
pub fn scan_inputs(
    inputs: &[PathBuf],
    rules: &RuleSet,
    threads: usize,
    keep_raw: bool,
    min_level: Level,
    progress: Option<&indicatif::ProgressBar>,
) -> (Vec<Finding>, ScanSummary) {
    let infos = rule_infos(rules);
    let (files, discover_errors) = firebreak_events::discover_inputs(inputs);
    let mut summary = ScanSummary { errors: discover_errors, ..Default::default() };
    summary.damaged_inputs = summary.errors.len() as u64;
    if let Some(pb) = progress {
        pb.set_length(files.iter().map(|f| f.len).sum());
    }

    // Large inputs (and stdin) are split into record batches that every thread works on;
    // the other files are shared out whole, one per thread at a time.
    let (big, small): (Vec<&InputFile>, Vec<&InputFile>) =
        files.iter().partition(|f| threads > 1 && (f.is_stdin() || f.len >= BIG_INPUT_BYTES));
    let ctx = MatchContext { rules, infos: &infos, keep_raw, min_level };
    let mut outputs: Vec<WorkerOutput> = Vec::new();
    for file in big {
        let (report, outs) = scan_batched(file, &ctx, threads);
        if let Some(pb) = progress {
            pb.inc(file.len);
        }
        let mut first = WorkerOutput::default();
        first.reports.push(report);
        outputs.push(first);
        outputs.extend(outs);
    }
    let next = AtomicUsize::new(0);
    let pool: Mutex<Vec<WorkerOutput>> = Mutex::new(Vec::new());
    let workers = threads.max(1).min(small.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut matcher = Matcher::new(&ctx);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = small.get(i) else { break };
                    let report = scan_one(file, &mut matcher);
                    if let Some(pb) = progress {
                        pb.inc(file.len);
                    }
                    matcher.out.reports.push(report);
                }
                if let Ok(mut all) = pool.lock() {
                    all.push(matcher.out);
                }
            });
        }
    });
    outputs.extend(pool.into_inner().unwrap_or_default());

    let mut findings = Vec::new();
    let mut correlation_hits = Vec::new();
    for out in outputs {
        findings.extend(out.findings);
        correlation_hits.extend(out.correlation_hits);
        let damaged_by_parse: std::collections::BTreeSet<String> = out.parse_errors.iter().map(|e| e.file.clone()).collect();
        for report in out.reports {
            summary.files += 1;
            summary.events += report.records;
            summary.bytes_read += report.bytes_read;
            summary.bytes_decoded += report.bytes_decoded;
            if !report.errors.is_empty() || damaged_by_parse.contains(&report.name) {
                summary.damaged_inputs += 1;
            }
            summary.errors.extend(report.errors);
        }
        summary.errors.extend(out.parse_errors);
    }
    findings.extend(correlation_findings(rules, &infos, correlation_hits, min_level));
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    (findings, summary)
}

/// Inputs at least this large are scanned by all threads together, in record batches.
const BIG_INPUT_BYTES: u64 = 64 * 1024 * 1024;
/// Records per batch handed to a worker.
const BATCH_RECORDS: usize = 2048;

/// What every worker needs to turn records into findings.
struct MatchContext<'a> {
    rules: &'a RuleSet,
    infos: &'a [RuleInfo],
    keep_raw: bool,
    min_level: Level,
}

/// One worker's matching state and results.
struct Matcher<'a> {
    ctx: &'a MatchContext<'a>,
    hits: Vec<RuleIdx>,
    chits: Vec<CorrelationHit>,
    out: WorkerOutput,
}

impl<'a> Matcher<'a> {
    fn new(ctx: &'a MatchContext<'a>) -> Self {
        Matcher { ctx, hits: Vec::new(), chits: Vec::new(), out: WorkerOutput::default() }
    }

    /// Matches one parsed event.
    fn event(&mut self, name: &str, index: u64, raw: &[u8], event: &CloudTrailEvent<'_>) {
        let ctx = self.ctx;
        self.hits.clear();
        ctx.rules.match_event(event, &mut self.hits);
        for &idx in &self.hits {
            let Some(info) = ctx.infos.get(idx) else { continue };
            if info.level < ctx.min_level {
                continue;
            }
            self.out.findings.push(Finding {
                kind: FindingKind::Event,
                rule: info.clone(),
                event: EventSummary::from_event(event),
                correlation: None,
                input: Some(name.to_string()),
                record_index: Some(index),
                raw_event: ctx.keep_raw.then(|| String::from_utf8_lossy(raw).into_owned()),
            });
        }
        self.chits.clear();
        ctx.rules.correlation_hits(event, &mut self.chits);
        for hit in self.chits.drain(..) {
            self.out.correlation_hits.push(hit);
        }
    }
}

fn scan_one(file: &InputFile, matcher: &mut Matcher<'_>) -> FileReport {
    let name = file.display_name();
    let mut sink = |record: Record<'_>| {
        match record.event() {
            Ok(event) => matcher.event(&name, record.index, record.bytes, &event),
            Err(err) => matcher.out.parse_errors.push(ReadError::for_record(&name, &record, &err)),
        }
        ControlFlow::Continue(())
    };
    if file.is_stdin() {
        read_stream("-", std::io::stdin().lock(), &mut sink)
    } else {
        read_file(file, &mut sink)
    }
}

/// A batch of records copied out of the reader: their bytes end to end, with each
/// record's end offset, index and decoded byte offset.
#[derive(Default)]
struct RecordBatch {
    bytes: Vec<u8>,
    records: Vec<(usize, u64, u64)>,
    shape: Option<InputShape>,
}

/// Scans one large input with every thread: this thread reads and batches records,
/// the workers parse and match them. Memory stays bounded by the channel's capacity.
fn scan_batched(file: &InputFile, ctx: &MatchContext<'_>, threads: usize) -> (FileReport, Vec<WorkerOutput>) {
    let name = file.display_name();
    let (tx, rx) = crossbeam_channel::bounded::<RecordBatch>(threads * 2);
    let pool: Mutex<Vec<WorkerOutput>> = Mutex::new(Vec::new());
    let report = std::thread::scope(|scope| {
        for _ in 0..threads {
            let rx = rx.clone();
            let name = &name;
            let pool = &pool;
            scope.spawn(move || {
                let mut matcher = Matcher::new(ctx);
                for batch in rx.iter() {
                    let mut start = 0;
                    for &(end, index, byte_offset) in &batch.records {
                        let raw = &batch.bytes[start..end];
                        start = end;
                        match CloudTrailEvent::parse(raw) {
                            Ok(event) => matcher.event(name, index, raw, &event),
                            Err(err) => matcher.out.parse_errors.push(ReadError::new(
                                name.as_str(),
                                firebreak_events::ErrorLocation::Record { index, byte_offset },
                                firebreak_events::ReadErrorKind::InvalidJson,
                                err.to_string(),
                            )),
                        }
                    }
                    let _ = batch.shape;
                }
                if let Ok(mut all) = pool.lock() {
                    all.push(matcher.out);
                }
            });
        }
        drop(rx);
        let mut batch = RecordBatch::default();
        let mut sink = |record: Record<'_>| {
            batch.bytes.extend_from_slice(record.bytes);
            batch.records.push((batch.bytes.len(), record.index, record.byte_offset));
            batch.shape = Some(record.shape);
            if batch.records.len() >= BATCH_RECORDS {
                let full = std::mem::take(&mut batch);
                if tx.send(full).is_err() {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        };
        let report = if file.is_stdin() {
            read_stream("-", std::io::stdin().lock(), &mut sink)
        } else {
            read_file(file, &mut sink)
        };
        if !batch.records.is_empty() {
            let _ = tx.send(batch);
        }
        drop(tx);
        report
    });
    (report, pool.into_inner().unwrap_or_default())
}

fn correlation_findings(
    rules: &RuleSet,
    infos: &[RuleInfo],
    hits: Vec<CorrelationHit>,
    min_level: Level,
) -> Vec<Finding> {
    rules
        .evaluate_correlations(hits)
        .into_iter()
        .filter_map(|m| {
            let info = infos.get(m.rule)?;
            if info.level < min_level {
                return None;
            }
            let mut event = EventSummary { event_time_ms: Some(m.first_ms), ..Default::default() };
            event.event_time = jiff::Timestamp::from_millisecond(m.first_ms).ok().map(|t| t.to_string());
            event.event_id = m.event_ids.first().cloned();
            for (field, value) in &m.group {
                match field.as_str() {
                    "userIdentity.arn" => event.principal_arn = Some(value.clone()),
                    "userIdentity.accessKeyId" => event.access_key_id = Some(value.clone()),
                    "sourceIPAddress" => event.source_ip = Some(value.clone()),
                    "recipientAccountId" | "userIdentity.accountId" => event.account_id = Some(value.clone()),
                    "awsRegion" => event.region = Some(value.clone()),
                    "eventName" => event.event_name = Some(value.clone()),
                    "eventSource" => event.event_source = Some(value.clone()),
                    _ => {}
                }
            }
            Some(Finding {
                kind: FindingKind::Correlation,
                rule: info.clone(),
                event,
                correlation: Some(CorrelationWindow {
                    group: m.group,
                    count: m.count,
                    first_ms: m.first_ms,
                    last_ms: m.last_ms,
                    event_ids: m.event_ids,
                }),
                input: None,
                record_index: None,
                raw_event: None,
            })
        })
        .collect()
}

/// Runs `firebreak scan`; the exit code is 1 when any input was damaged.
pub fn run(args: ScanArgs) -> anyhow::Result<i32> {
    let format: OutputFormat = args.listing.format.parse().map_err(anyhow::Error::msg)?;
    let started = Instant::now();
    let rules = load_rules(&args.rules, !args.quiet)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let progress = (!args.no_progress && !args.quiet && std::io::stderr().is_terminal()).then(|| {
        let pb = indicatif::ProgressBar::new(0);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb.enable_steady_tick(Duration::from_millis(200));
        pb
    });
    let scan_started = Instant::now();
    let (findings, summary) =
        scan_inputs(&args.inputs, &rules, threads, format.needs_raw_event(), args.min_level, progress.as_ref());
    let scan_elapsed = scan_started.elapsed();
    if let Some(pb) = &progress {
        pb.finish_and_clear();
    }
    let mut out = args.listing.open()?;
    let table = TableOptions { color: args.listing.color(), max_rows_per_rule: args.max_rows };
    write_findings(&findings, format, &mut out, &table).context("writing findings")?;
    out.flush()?;
    drop(out);
    if !args.quiet {
        print_summary(&summary, &findings, scan_elapsed, started.elapsed());
    }
    Ok(if summary.damaged_inputs > 0 || !summary.errors.is_empty() { 1 } else { 0 })
}

fn print_summary(summary: &ScanSummary, findings: &[Finding], scan: Duration, total: Duration) {
    let mut err = std::io::stderr().lock();
    const SHOWN: usize = 20;
    for e in summary.errors.iter().take(SHOWN) {
        let _ = writeln!(err, "firebreak: damaged input: {}", firebreak_events::sanitize::for_terminal(&e.to_string()));
    }
    if summary.errors.len() > SHOWN {
        let _ = writeln!(err, "firebreak: ... and {} more input errors", summary.errors.len() - SHOWN);
    }
    let mut by_level = [0u64; 5];
    for f in findings {
        by_level[f.rule.level as usize] += 1;
    }
    let secs = scan.as_secs_f64().max(1e-9);
    let _ = writeln!(
        err,
        "scanned {} input{} ({} damaged), {} events, {:.1} MB read, {:.1} MB JSON in {:.2}s: {:.0} events/s, {:.0} MB/s; \
         findings: {} critical, {} high, {} medium, {} low, {} informational (total {:.2}s)",
        summary.files,
        if summary.files == 1 { "" } else { "s" },
        summary.damaged_inputs,
        summary.events,
        summary.bytes_read as f64 / 1e6,
        summary.bytes_decoded as f64 / 1e6,
        secs,
        summary.events as f64 / secs,
        summary.bytes_decoded as f64 / 1e6 / secs,
        by_level[4],
        by_level[3],
        by_level[2],
        by_level[1],
        by_level[0],
        total.as_secs_f64(),
    );
}
