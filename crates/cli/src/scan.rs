//! `firebreak scan`: read CloudTrail from files, folders or stdin, match the rules on
//! every event in parallel, evaluate correlations, and write the findings.

use std::io::{IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use firebreak_detect::{CorrelationHit, Level, RuleIdx, RuleSet};
use firebreak_events::{read_file, read_stream, CloudTrailEvent, FileReport, InputFile, ReadError, Record};
use firebreak_findings::{
    encode_event_jsonl, encode_line, is_line_format, EventSummary, Finding, FindingKind, FindingWriter, OutputFormat,
    RuleInfo, TableOptions,
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
    /// Findings written, by level (informational .. critical).
    pub findings_by_level: [u64; 5],
}

/// What one worker read: per-input reports, parse errors and correlation hits.
#[derive(Default)]
struct WorkerOutput {
    correlation_hits: Vec<CorrelationHit>,
    reports: Vec<FileReport>,
    parse_errors: Vec<ReadError>,
}

/// Findings of one unit of work (an input, or a batch of a large input), tagged with the
/// unit's sequence number so the writer can put them back in input order. Line formats
/// arrive already encoded (encoding runs on the worker threads).
#[derive(Default)]
struct UnitFindings {
    findings: Vec<Finding>,
    encoded: Vec<u8>,
    encoded_count: u64,
    by_level: [u64; 5],
}

type FindingBatch = (u64, UnitFindings);

fn rule_infos(rules: &RuleSet) -> Vec<Arc<RuleInfo>> {
    firebreak_findings::rule_infos(rules)
}

/// Inputs at least this large are scanned by all threads together, in record batches.
const BIG_INPUT_BYTES: u64 = 64 * 1024 * 1024;
/// Records per batch handed to a worker.
const BATCH_RECORDS: usize = 2048;

/// What every worker needs to turn records into findings.
struct MatchContext<'a> {
    rules: &'a RuleSet,
    infos: &'a [Arc<RuleInfo>],
    keep_raw: bool,
    min_level: Level,
    format: OutputFormat,
}

/// One worker's matching state.
struct Matcher<'a> {
    ctx: &'a MatchContext<'a>,
    hits: Vec<RuleIdx>,
    chits: Vec<CorrelationHit>,
    findings: UnitFindings,
    out: WorkerOutput,
}

impl<'a> Matcher<'a> {
    fn new(ctx: &'a MatchContext<'a>) -> Self {
        Matcher { ctx, hits: Vec::new(), chits: Vec::new(), findings: UnitFindings::default(), out: WorkerOutput::default() }
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
            if ctx.format == OutputFormat::Jsonl {
                // The line straight from the event: no owned copy of its fields.
                let unit = &mut self.findings;
                let mark = unit.encoded.len();
                if encode_event_jsonl(info, event, name, index, &mut unit.encoded).is_ok() {
                    unit.by_level[info.level as usize] += 1;
                    unit.encoded_count += 1;
                    continue;
                }
                unit.encoded.truncate(mark);
            }
            let finding = Finding {
                kind: FindingKind::Event,
                rule: Arc::clone(info),
                event: EventSummary::from_cloudtrail(event),
                correlation: None,
                input: Some(name.to_string()),
                record_index: Some(index),
                raw_event: ctx.keep_raw.then(|| String::from_utf8_lossy(raw).into_owned()),
            };
            let unit = &mut self.findings;
            unit.by_level[info.level as usize] += 1;
            if is_line_format(ctx.format) && encode_line(ctx.format, &finding, &mut unit.encoded).is_ok() {
                unit.encoded_count += 1;
            } else {
                unit.findings.push(finding);
            }
        }
        self.chits.clear();
        ctx.rules.correlation_hits(event, &mut self.chits);
        self.out.correlation_hits.append(&mut self.chits);
    }
}

/// Scans every input with `rules` and hands each finding to `writer`, in input order
/// (inputs in the order they were found, records in file order), then the correlation
/// findings. Memory stays bounded: findings are written as they come.
#[allow(clippy::too_many_arguments)]
pub fn scan_inputs<W: Write + Send>(
    inputs: &[PathBuf],
    objects: Option<crossbeam_channel::Receiver<NamedObject>>,
    rules: &RuleSet,
    threads: usize,
    keep_raw: bool,
    min_level: Level,
    progress: Option<&indicatif::ProgressBar>,
    writer: FindingWriter<W>,
) -> (ScanSummary, Result<FindingWriter<W>, firebreak_findings::OutputError>) {
    let infos = rule_infos(rules);
    // Rules whose findings would be dropped are not tested at all.
    let filtered;
    let rules = if min_level > Level::Informational {
        let mut kept = rules.clone();
        kept.drop_findings_below(min_level);
        filtered = kept;
        &filtered
    } else {
        rules
    };
    let (files, discover_errors) = firebreak_events::discover_inputs(inputs);
    let mut summary = ScanSummary { damaged_inputs: discover_errors.len() as u64, errors: discover_errors, ..Default::default() };
    if let Some(pb) = progress {
        pb.set_length(files.iter().map(|f| f.len).sum());
    }
    let threads = threads.max(1);
    // Large inputs (and stdin) are split into record batches that every thread works on;
    // the other files are shared out whole, one per thread at a time.
    let (big, small): (Vec<&InputFile>, Vec<&InputFile>) =
        files.iter().partition(|f| threads > 1 && (f.is_stdin() || f.len >= BIG_INPUT_BYTES));
    let ctx = MatchContext { rules, infos: &infos, keep_raw, min_level, format: writer.format() };
    let (tx, rx) = crossbeam_channel::bounded::<FindingBatch>(threads * 4);
    let mut outputs: Vec<WorkerOutput> = Vec::new();
    let mut by_level = [0u64; 5];

    let written = std::thread::scope(|scope| {
        // The writer puts findings back in input order as units finish.
        let by_level = &mut by_level;
        let writer_thread = scope.spawn(move || {
            let mut writer = writer;
            let mut failed: Option<firebreak_findings::OutputError> = None;
            let mut pending: BTreeMap<u64, UnitFindings> = BTreeMap::new();
            let mut next = 0u64;
            let mut emit = |unit: UnitFindings, writer: &mut FindingWriter<W>, failed: &mut Option<_>| {
                for (total, n) in by_level.iter_mut().zip(unit.by_level) {
                    *total += n;
                }
                if failed.is_some() {
                    return;
                }
                let result = writer
                    .write_encoded(&unit.encoded, unit.encoded_count)
                    .and_then(|()| unit.findings.iter().try_for_each(|f| writer.write(f)));
                if let Err(e) = result {
                    *failed = Some(e);
                }
            };
            for (seq, batch) in rx.iter() {
                pending.insert(seq, batch);
                while let Some(batch) = pending.remove(&next) {
                    emit(batch, &mut writer, &mut failed);
                    next += 1;
                }
            }
            for (_, batch) in std::mem::take(&mut pending) {
                emit(batch, &mut writer, &mut failed);
            }
            match failed {
                Some(e) => Err(e),
                None => Ok(writer),
            }
        });

        let mut seq = 0u64;
        for file in &big {
            let (report, outs) = scan_batched(file, &ctx, threads, &tx, &mut seq);
            if let Some(pb) = progress {
                pb.inc(file.len);
            }
            outputs.push(WorkerOutput { reports: vec![report], ..Default::default() });
            outputs.extend(outs);
        }
        let base = seq;
        let next = AtomicUsize::new(0);
        let pool: Mutex<Vec<WorkerOutput>> = Mutex::new(Vec::new());
        // Objects (from S3) come after the files, numbered in the order they are taken.
        let object_queue = objects.map(|rx| Mutex::new((rx, base + small.len() as u64)));
        let workers = if object_queue.is_some() { threads } else { threads.min(small.len().max(1)) };
        std::thread::scope(|inner| {
            for _ in 0..workers {
                let tx = tx.clone();
                let (next, pool, small, ctx, object_queue) = (&next, &pool, &small, &ctx, &object_queue);
                inner.spawn(move || {
                    let mut matcher = Matcher::new(ctx);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(file) = small.get(i) else { break };
                        let report = scan_one(file, &mut matcher);
                        if let Some(pb) = progress {
                            pb.inc(file.len);
                        }
                        matcher.out.reports.push(report);
                        let _ = tx.send((base + i as u64, std::mem::take(&mut matcher.findings)));
                    }
                    while let Some(queue) = object_queue {
                        let taken = match queue.lock() {
                            Ok(mut guard) => match guard.0.recv() {
                                Ok(object) => {
                                    let seq = guard.1;
                                    guard.1 += 1;
                                    Some((seq, object))
                                }
                                Err(_) => None,
                            },
                            Err(_) => None,
                        };
                        let Some((seq, (name, bytes))) = taken else { break };
                        let report = scan_object(&name, &bytes, &mut matcher);
                        if let Some(pb) = progress {
                            pb.inc(bytes.len() as u64);
                        }
                        matcher.out.reports.push(report);
                        let _ = tx.send((seq, std::mem::take(&mut matcher.findings)));
                    }
                    if let Ok(mut all) = pool.lock() {
                        all.push(matcher.out);
                    }
                });
            }
        });
        outputs.extend(pool.into_inner().unwrap_or_default());
        drop(tx);
        writer_thread.join().unwrap_or_else(|_| {
            Err(firebreak_findings::OutputError::Io(std::io::Error::other("the finding writer stopped unexpectedly")))
        })
    });

    let mut correlation_hits = Vec::new();
    for out in outputs {
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
    let written = written.and_then(|mut w| {
        for f in correlation_findings(rules, &infos, correlation_hits, min_level) {
            by_level[f.rule.level as usize] += 1;
            w.write(&f)?;
        }
        Ok(w)
    });
    summary.findings_by_level = by_level;
    (summary, written)
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

/// An object read from S3: its `s3://bucket/key` name and its bytes.
pub type NamedObject = (String, Vec<u8>);

fn scan_object(name: &str, bytes: &[u8], matcher: &mut Matcher<'_>) -> FileReport {
    let mut sink = |record: Record<'_>| {
        match record.event() {
            Ok(event) => matcher.event(name, record.index, record.bytes, &event),
            Err(err) => matcher.out.parse_errors.push(ReadError::for_record(name, &record, &err)),
        }
        ControlFlow::Continue(())
    };
    read_stream(name, bytes, &mut sink)
}

/// A batch of records copied out of the reader: their bytes end to end, with each
/// record's end offset, index and decoded byte offset.
#[derive(Default)]
struct RecordBatch {
    seq: u64,
    bytes: Vec<u8>,
    records: Vec<(usize, u64, u64)>,
}

/// Scans one large input with every thread: this thread reads and batches records,
/// the workers parse and match them. Memory stays bounded by the channels' capacity.
fn scan_batched(
    file: &InputFile,
    ctx: &MatchContext<'_>,
    threads: usize,
    findings: &crossbeam_channel::Sender<FindingBatch>,
    seq: &mut u64,
) -> (FileReport, Vec<WorkerOutput>) {
    let name = file.display_name();
    let (tx, rx) = crossbeam_channel::bounded::<RecordBatch>(threads * 2);
    let pool: Mutex<Vec<WorkerOutput>> = Mutex::new(Vec::new());
    let report = std::thread::scope(|scope| {
        for _ in 0..threads {
            let rx = rx.clone();
            let findings = findings.clone();
            let (name, pool) = (&name, &pool);
            scope.spawn(move || {
                let mut matcher = Matcher::new(ctx);
                for batch in rx.iter() {
                    let mut start = 0;
                    for &(end, index, byte_offset) in &batch.records {
                        let raw = batch.bytes.get(start..end).unwrap_or_default();
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
                    let _ = findings.send((batch.seq, std::mem::take(&mut matcher.findings)));
                }
                if let Ok(mut all) = pool.lock() {
                    all.push(matcher.out);
                }
            });
        }
        drop(rx);
        let mut batch = RecordBatch { seq: *seq, ..Default::default() };
        let mut sink = |record: Record<'_>| {
            batch.bytes.extend_from_slice(record.bytes);
            batch.records.push((batch.bytes.len(), record.index, record.byte_offset));
            if batch.records.len() >= BATCH_RECORDS {
                *seq += 1;
                let full = std::mem::replace(&mut batch, RecordBatch { seq: *seq, ..Default::default() });
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
        // The last batch is always sent (perhaps empty) so the sequence has no gap.
        let _ = tx.send(batch);
        *seq += 1;
        drop(tx);
        report
    });
    (report, pool.into_inner().unwrap_or_default())
}

fn correlation_findings(
    rules: &RuleSet,
    infos: &[Arc<RuleInfo>],
    hits: Vec<CorrelationHit>,
    min_level: Level,
) -> Vec<Finding> {
    rules
        .evaluate_correlations(hits)
        .into_iter()
        .filter_map(|m| {
            let info = infos.get(m.rule)?;
            (info.level >= min_level).then(|| firebreak_findings::correlation_finding(info, m))
        })
        .collect()
}

/// Runs `firebreak scan`; the exit code is 1 when any input was damaged.
pub fn run(args: ScanArgs, aws: &crate::AwsArgs) -> anyhow::Result<i32> {
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
    let table = TableOptions { color: args.listing.color(), max_rows_per_rule: args.max_rows };
    let writer = FindingWriter::new(format, args.listing.open()?, table).context("writing findings")?;
    let scan_started = Instant::now();
    let (urls, paths): (Vec<PathBuf>, Vec<PathBuf>) =
        args.inputs.iter().cloned().partition(|p| p.to_str().is_some_and(|s| s.starts_with("s3://")));
    let keep_raw = format.needs_raw_event();
    let (summary, writer) = if urls.is_empty() {
        let _ = aws;
        scan_inputs(&paths, None, &rules, threads, keep_raw, args.min_level, progress.as_ref(), writer)
    } else {
        scan_with_s3(&paths, &urls, aws, &rules, threads, keep_raw, args.min_level, progress.as_ref(), writer)?
    };
    if let Some(pb) = &progress {
        pb.finish_and_clear();
    }
    writer.and_then(|w| w.finish()).context("writing findings")?;
    let scan_elapsed = scan_started.elapsed();
    if !args.quiet {
        print_summary(&summary, scan_elapsed, started.elapsed());
    }
    Ok(if summary.damaged_inputs > 0 || !summary.errors.is_empty() { 1 } else { 0 })
}

/// Scans local inputs and S3 prefixes together: the objects are downloaded in parallel
/// (bounded) while the workers match them.
#[cfg(feature = "aws")]
#[allow(clippy::too_many_arguments)]
fn scan_with_s3<W: Write + Send>(
    paths: &[PathBuf],
    urls: &[PathBuf],
    aws: &crate::AwsArgs,
    rules: &RuleSet,
    threads: usize,
    keep_raw: bool,
    min_level: Level,
    progress: Option<&indicatif::ProgressBar>,
    writer: FindingWriter<W>,
) -> anyhow::Result<(ScanSummary, Result<FindingWriter<W>, firebreak_findings::OutputError>)> {
    let texts: Vec<String> = urls.iter().map(|u| u.to_string_lossy().into_owned()).collect();
    let refs: Vec<&String> = texts.iter().collect();
    let parsed = crate::s3_input::parse_urls(&refs)?;
    let session = crate::s3_input::connect(aws)?;
    let (tx, rx) = crossbeam_channel::bounded::<NamedObject>(threads.max(1) * 2);
    Ok(std::thread::scope(|scope| {
        let (session, parsed) = (&session, &parsed);
        let producer = scope.spawn(move || crate::s3_input::produce(session, parsed, 16, tx));
        let (mut summary, writer) = scan_inputs(paths, Some(rx), rules, threads, keep_raw, min_level, progress, writer);
        let problems = producer.join().map(|(_, n)| n).unwrap_or(1);
        summary.damaged_inputs += problems;
        (summary, writer)
    }))
}

/// Without the AWS SDK, `s3://` inputs are refused.
#[cfg(not(feature = "aws"))]
#[allow(clippy::too_many_arguments)]
fn scan_with_s3<W: Write + Send>(
    _paths: &[PathBuf],
    urls: &[PathBuf],
    _aws: &crate::AwsArgs,
    _rules: &RuleSet,
    _threads: usize,
    _keep_raw: bool,
    _min_level: Level,
    _progress: Option<&indicatif::ProgressBar>,
    _writer: FindingWriter<W>,
) -> anyhow::Result<(ScanSummary, Result<FindingWriter<W>, firebreak_findings::OutputError>)> {
    let first = urls.first().map(|u| u.display().to_string()).unwrap_or_default();
    anyhow::bail!("{first}: this firebreak was built without AWS support (the `aws` feature)")
}

fn print_summary(summary: &ScanSummary, scan: Duration, total: Duration) {
    let mut err = std::io::stderr().lock();
    const SHOWN: usize = 20;
    for e in summary.errors.iter().take(SHOWN) {
        let _ = writeln!(err, "firebreak: damaged input: {}", firebreak_events::sanitize::for_terminal(&e.to_string()));
    }
    if summary.errors.len() > SHOWN {
        let _ = writeln!(err, "firebreak: ... and {} more input errors", summary.errors.len() - SHOWN);
    }
    let by_level = summary.findings_by_level;
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
