//! `ingest`: read CloudTrail inputs into a case, crash-safe and de-duplicating, running
//! the detection rules on every event on the way.
//!
//! Worker threads read, parse, match and build Arrow batches, one input per worker at a
//! time; one writer thread de-duplicates by event identity (`eventID`, or the record's
//! bytes when it has none) and cuts the parts; encoder threads sort, encode and write the
//! parts (under temporary names) while the writer fills the next, and one committer
//! thread commits them in the order they were cut. A part is committed by renames:
//! findings part written under `.tmp-`, events part written under `.tmp-`, events part
//! renamed, findings part renamed; then a manifest line is appended to `ingest.jsonl`.
//! After a kill at any point, [`CaseStore::recover`] (run first by every ingest) cleans
//! up, and a re-run stores each event exactly once because the events already committed
//! are skipped as duplicates.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use crossbeam_channel::{Receiver, Sender};
use firebreak_detect::{CorrelationHit, RuleIdx, RuleSet};
use firebreak_events::{
    read_file, read_stream, CloudTrailEvent, ErrorLocation, FileReport, InputFile, ReadError,
    ReadErrorKind, Record,
};
use firebreak_findings::{EventSummary, Finding, FindingKind, RuleInfo};
use serde_json::json;

use crate::batch::{correlation_json, EventBatchBuilder, FindingBatchBuilder};
use crate::case::{self, CaseStore, Recovery, TMP_PREFIX};
use crate::dedup::{event_key, KeyMap};
use crate::error::{Result, StoreError};
use crate::parts;
use crate::schema::{self, col, finding_col};
use crate::securitylake;

/// Rows per batch sent from a worker to the writer.
const BATCH_ROWS: usize = 4096;
/// Raw record bytes per batch sent from a worker to the writer.
const BATCH_BYTES: usize = 8 * 1024 * 1024;
/// Default rows per part file: one Parquet row group. Each part in flight (the one
/// filling, the ones encoding) is held in memory, so this bounds the ingest's memory.
pub const DEFAULT_PART_ROWS: usize = parts::ROW_GROUP_ROWS;

/// What the caller is told after each input.
#[derive(Debug, Clone, Copy)]
pub struct IngestProgress<'p> {
    /// The input just finished.
    pub input: &'p str,
    /// Its size (bytes as stored).
    pub bytes: u64,
    /// Records read from it.
    pub records: u64,
}

/// How to ingest.
#[derive(Clone, Copy)]
pub struct IngestOptions<'a> {
    /// The rules run on every event (findings are stored with the events).
    pub rules: &'a RuleSet,
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Rows per part file (default [`DEFAULT_PART_ROWS`]).
    pub part_rows: usize,
    /// Called after each input (from worker threads).
    pub progress: Option<&'a (dyn Fn(&IngestProgress<'_>) + Sync)>,
}

impl<'a> IngestOptions<'a> {
    /// Options with one thread per core and the default part size.
    pub fn new(rules: &'a RuleSet) -> Self {
        IngestOptions {
            rules,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            part_rows: DEFAULT_PART_ROWS,
            progress: None,
        }
    }
}

/// One input to ingest.
#[derive(Debug, Clone)]
pub enum IngestInput {
    /// A file or folder (walked with [`firebreak_events::discover_inputs`]).
    Path(PathBuf),
    /// An object already in memory (e.g. downloaded from S3); `name` (e.g.
    /// `s3://bucket/key`) is stored as the events' `source`.
    Object {
        /// The object's name.
        name: String,
        /// Its content (any CloudTrail shape, gzip or not, or Security Lake Parquet).
        bytes: Vec<u8>,
    },
}

/// What one input gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputSummary {
    /// The input's name (as stored in `source`).
    pub name: String,
    /// Its size in bytes (as stored, compressed for gzip).
    pub size: u64,
    /// The shape recognised (`S3 delivery object`, `Security Lake OCSF Parquet`...).
    pub shape: Option<String>,
    /// Records read.
    pub records: u64,
    /// New events stored.
    pub stored: u64,
    /// Events skipped because the case already had them (or this run saw them first).
    pub duplicates: u64,
    /// Problems met reading it.
    pub errors: u64,
}

/// What an ingest did.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    /// This run's id (in the part file names and the manifest).
    pub run_id: String,
    /// Inputs read.
    pub files: u64,
    /// Records read.
    pub events_read: u64,
    /// New events stored.
    pub events_stored: u64,
    /// Events skipped as duplicates (same `eventID`, or same bytes without one).
    pub duplicates_skipped: u64,
    /// Findings stored, by level (informational, low, medium, high, critical).
    pub findings_by_level: [u64; 5],
    /// Of which correlation findings.
    pub correlation_findings: u64,
    /// Inputs with at least one problem other than an informational one (input not
    /// CloudTrail, or empty).
    pub damaged_inputs: u64,
    /// Every problem met (file and record/offset), in no particular order across inputs.
    pub errors: Vec<ReadError>,
    /// Part files committed (events parts; each may have a findings part).
    pub parts_written: u64,
    /// Bytes read from the inputs (as stored, compressed for gzip).
    pub bytes_read: u64,
    /// Bytes of JSON decoded from the inputs (uncompressed; for Security Lake, the
    /// Parquet file's size).
    pub bytes_decoded: u64,
    /// Bytes of Parquet written.
    pub bytes_written: u64,
    /// What was cleaned up from an interrupted earlier run.
    pub recovery: Recovery,
    /// Per input, in completion order.
    pub inputs: Vec<InputSummary>,
}

impl IngestReport {
    /// Findings stored, all levels.
    pub fn findings_stored(&self) -> u64 {
        self.findings_by_level.iter().sum()
    }
}

/// A unit of reading work.
enum Job {
    File(InputFile),
    Object { name: String, bytes: Vec<u8> },
}

/// Hands out jobs to workers, expanding folders lazily.
struct JobQueue<I> {
    inputs: I,
    pending: VecDeque<Job>,
    discover_errors: Vec<ReadError>,
    next_id: usize,
}

impl<I: Iterator<Item = IngestInput>> JobQueue<I> {
    fn next(&mut self) -> Option<(usize, Job)> {
        loop {
            if let Some(job) = self.pending.pop_front() {
                let id = self.next_id;
                self.next_id += 1;
                return Some((id, job));
            }
            match self.inputs.next()? {
                IngestInput::Object { name, bytes } => {
                    self.pending.push_back(Job::Object { name, bytes })
                }
                IngestInput::Path(path) => {
                    let (files, errors) =
                        firebreak_events::discover_inputs(std::slice::from_ref(&path));
                    self.discover_errors.extend(errors);
                    self.pending.extend(files.into_iter().map(Job::File));
                }
            }
        }
    }
}

/// A batch of events (from one or more inputs), with what the writer needs to
/// de-duplicate it.
struct Unit {
    /// The inputs its rows came from, in row order: (input, rows).
    inputs: Vec<(usize, usize)>,
    events: RecordBatch,
    /// One key per row.
    keys: Vec<u128>,
    /// Findings and the row of their event.
    findings: Vec<(u32, Finding)>,
    /// Correlation hits and the row of their event.
    hits: Vec<(u32, CorrelationHit)>,
}

/// An input is finished (every unit holding its rows was sent before this).
struct InputDone {
    input: usize,
    summary: InputSummary,
    bytes_read: u64,
    bytes_decoded: u64,
    errors: Vec<ReadError>,
}

enum ToWriter {
    Unit(Unit),
    Done(InputDone),
}

/// The rule descriptions findings carry (as `firebreak scan` builds them).
pub fn rule_infos(rules: &RuleSet) -> Vec<Arc<RuleInfo>> {
    firebreak_findings::rule_infos(rules)
}

/// What every worker shares.
struct WorkerContext<'a> {
    rules: &'a RuleSet,
    infos: &'a [Arc<RuleInfo>],
    tx: Sender<ToWriter>,
    fatal: &'a Mutex<Option<StoreError>>,
    progress: Option<&'a (dyn Fn(&IngestProgress<'_>) + Sync)>,
}

/// One worker's state while reading an input.
struct Worker<'a> {
    ctx: &'a WorkerContext<'a>,
    builder: EventBatchBuilder,
    findings: Vec<(u32, Finding)>,
    hits: Vec<(u32, CorrelationHit)>,
    rule_hits: Vec<RuleIdx>,
    correlation_buf: Vec<CorrelationHit>,
    /// The inputs of the rows in `builder`, in row order: (input, rows).
    inputs: Vec<(usize, usize)>,
    /// Inputs read to the end whose last rows are still in `builder`: sent to the writer
    /// after the unit holding those rows. Many small inputs thus share one unit.
    finished: Vec<InputDone>,
    parse_errors: Vec<ReadError>,
    stopped: bool,
}

/// The keys of a finished batch, from its `eventid` and `raw` columns (exactly as a
/// later run computes them from the stored part).
fn batch_keys(batch: &RecordBatch) -> Vec<u128> {
    let ids = batch
        .column_by_name(col::EVENT_ID)
        .and_then(|a| a.as_string_opt::<i32>());
    let raws = batch
        .column_by_name(col::RAW)
        .and_then(|a| a.as_string_opt::<i32>());
    (0..batch.num_rows())
        .map(|i| {
            let id = ids.filter(|a| a.is_valid(i)).map(|a| a.value(i));
            let raw = raws
                .filter(|a| a.is_valid(i))
                .map(|a| a.value(i))
                .unwrap_or_default();
            event_key(id, raw.as_bytes())
        })
        .collect()
}

impl<'a> Worker<'a> {
    fn new(ctx: &'a WorkerContext<'a>) -> Self {
        Worker {
            ctx,
            builder: EventBatchBuilder::new(),
            findings: Vec::new(),
            hits: Vec::new(),
            rule_hits: Vec::new(),
            correlation_buf: Vec::new(),
            inputs: Vec::new(),
            finished: Vec::new(),
            parse_errors: Vec::new(),
            stopped: false,
        }
    }

    /// Matches and appends one event.
    fn event(&mut self, input: usize, event: &CloudTrailEvent<'_>, source: &str, index: u64) {
        let row = self.builder.len() as u32;
        match self.inputs.last_mut() {
            Some((last, rows)) if *last == input => *rows += 1,
            _ => self.inputs.push((input, 1)),
        }
        self.rule_hits.clear();
        self.ctx.rules.match_event(event, &mut self.rule_hits);
        for &idx in &self.rule_hits {
            let Some(info) = self.ctx.infos.get(idx) else {
                continue;
            };
            self.findings.push((
                row,
                Finding {
                    kind: FindingKind::Event,
                    rule: Arc::clone(info),
                    event: EventSummary::from_cloudtrail(event),
                    correlation: None,
                    input: Some(source.to_string()),
                    record_index: Some(index),
                    raw_event: None,
                },
            ));
        }
        self.correlation_buf.clear();
        self.ctx
            .rules
            .correlation_hits(event, &mut self.correlation_buf);
        self.hits
            .extend(self.correlation_buf.drain(..).map(|h| (row, h)));
        self.builder.append(event, source);
        if self.builder.len() >= BATCH_ROWS || self.builder.raw_bytes() >= BATCH_BYTES {
            self.flush();
        }
    }

    /// Parses one delivered record and handles it.
    fn record(
        &mut self,
        input: usize,
        name: &str,
        source: &str,
        record: &Record<'_>,
    ) -> ControlFlow<()> {
        match record.event() {
            Ok(event) => self.event(input, &event, source, record.index),
            Err(err) => self
                .parse_errors
                .push(ReadError::for_record(name, record, &err)),
        }
        if self.stopped {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    /// Sends what was built so far to the writer, then the inputs it finished.
    fn flush(&mut self) {
        if self.stopped {
            return;
        }
        if !self.builder.is_empty() {
            self.send_unit();
        }
        for done in std::mem::take(&mut self.finished) {
            if self.stopped || self.ctx.tx.send(ToWriter::Done(done)).is_err() {
                self.stopped = true;
                return;
            }
        }
    }

    /// Sends the rows built so far to the writer.
    fn send_unit(&mut self) {
        match self.builder.finish() {
            Ok(events) => {
                let unit = Unit {
                    inputs: std::mem::take(&mut self.inputs),
                    keys: batch_keys(&events),
                    events,
                    findings: std::mem::take(&mut self.findings),
                    hits: std::mem::take(&mut self.hits),
                };
                if self.ctx.tx.send(ToWriter::Unit(unit)).is_err() {
                    self.stopped = true;
                }
            }
            Err(e) => {
                self.stopped = true;
                if let Ok(mut fatal) = self.ctx.fatal.lock() {
                    fatal.get_or_insert(e);
                }
            }
        }
    }

    /// Reads one input; its rows may wait in the builder for the next inputs' rows (see
    /// [`Worker::flush`], which the caller runs when there is no input left).
    fn run(&mut self, input: usize, job: Job) {
        self.parse_errors.clear();
        let (summary, (bytes_read, bytes_decoded), mut errors) = match job {
            Job::File(file) => self.read_input_file(input, &file),
            Job::Object { name, bytes } => self.read_object(input, &name, &bytes),
        };
        errors.append(&mut self.parse_errors);
        if let Some(progress) = self.ctx.progress {
            progress(&IngestProgress {
                input: &summary.name,
                bytes: summary.size,
                records: summary.records,
            });
        }
        let done = InputDone {
            input,
            summary: InputSummary {
                errors: errors.len() as u64,
                ..summary
            },
            bytes_read,
            bytes_decoded,
            errors,
        };
        if self.builder.is_empty() {
            // Every row of it is already sent (or it had none).
            self.finished.push(done);
            self.flush();
        } else {
            self.finished.push(done);
        }
    }

    fn read_input_file(
        &mut self,
        input: usize,
        file: &InputFile,
    ) -> (InputSummary, (u64, u64), Vec<ReadError>) {
        let name = file.display_name();
        if !file.is_stdin() && starts_with_parquet_magic(&file.path) {
            return match File::open(&file.path) {
                Ok(f) => self.read_security_lake(input, &name, f, file.len),
                Err(e) => (
                    InputSummary {
                        name: name.clone(),
                        size: file.len,
                        ..Default::default()
                    },
                    (0, 0),
                    vec![ReadError::new(
                        name,
                        ErrorLocation::File,
                        ReadErrorKind::Io,
                        e.to_string(),
                    )],
                ),
            };
        }
        let mut sink = |record: Record<'_>| self.record(input, &name, &name, &record);
        let report = read_file(file, &mut sink);
        let size = if file.is_stdin() {
            report.bytes_read
        } else {
            file.len
        };
        read_outcome(name, size, report)
    }

    fn read_object(
        &mut self,
        input: usize,
        name: &str,
        bytes: &[u8],
    ) -> (InputSummary, (u64, u64), Vec<ReadError>) {
        if bytes.starts_with(securitylake::PARQUET_MAGIC) {
            return self.read_security_lake(
                input,
                name,
                bytes::Bytes::copy_from_slice(bytes),
                bytes.len() as u64,
            );
        }
        let mut sink = |record: Record<'_>| self.record(input, name, name, &record);
        let report = read_stream(name, bytes, &mut sink);
        read_outcome(name.to_string(), bytes.len() as u64, report)
    }

    fn read_security_lake<R: parquet::file::reader::ChunkReader + 'static>(
        &mut self,
        input: usize,
        name: &str,
        reader: R,
        size: u64,
    ) -> (InputSummary, (u64, u64), Vec<ReadError>) {
        let source = format!("securitylake:{name}");
        let mut records = 0u64;
        let mut sink = |index: u64, json: &[u8]| {
            records += 1;
            match CloudTrailEvent::parse(json) {
                Ok(event) => self.event(input, &event, &source, index),
                Err(err) => self.parse_errors.push(ReadError::new(
                    name,
                    ErrorLocation::Record {
                        index,
                        byte_offset: 0,
                    },
                    ReadErrorKind::InvalidJson,
                    err.to_string(),
                )),
            }
            if self.stopped {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let errors = securitylake::read_records(name, reader, &mut sink);
        let summary = InputSummary {
            name: source.clone(),
            size,
            shape: Some(securitylake::SHAPE_NAME.to_string()),
            records,
            ..Default::default()
        };
        (summary, (size, size), errors)
    }
}

/// What a worker reports of a JSON input of `size` bytes (as stored) that the reader
/// read: its summary, (bytes read, bytes decoded), and the problems met.
fn read_outcome(
    name: String,
    size: u64,
    report: FileReport,
) -> (InputSummary, (u64, u64), Vec<ReadError>) {
    let summary = InputSummary {
        name,
        size,
        shape: report.shape.map(|s| s.to_string()),
        records: report.records,
        ..Default::default()
    };
    (
        summary,
        (report.bytes_read, report.bytes_decoded),
        report.errors,
    )
}

/// Whether a file starts with `PAR1` (Parquet: Security Lake).
fn starts_with_parquet_magic(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *securitylake::PARQUET_MAGIC
}

/// Key states in the writer's map.
const EARLIER_RUN: u8 = 0;
const MET_THIS_RUN: u8 = 1;

/// The writer thread's state: de-duplication and the part being filled.
struct Writer<'s> {
    store: &'s CaseStore,
    run: String,
    part_rows: usize,
    seen: KeyMap<u8>,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    findings: FindingBatchBuilder,
    pending_by_level: [u64; 5],
    hits: Vec<(u128, CorrelationHit)>,
    per_input: HashMap<usize, (u64, u64)>,
    done: Vec<InputDone>,
    /// Where cut parts go (the encoder threads).
    parts: Sender<PartJob>,
    /// Parts cut so far (every job, written or not).
    next_seq: u64,
    /// Part files named so far.
    next_part: u32,
    /// `events_stored`, `duplicates_skipped` and `correlation_findings`.
    report: IngestReport,
}

/// A part cut by the writer: its events and findings (either may be empty), and the
/// inputs whose every event is in this part or an earlier one.
struct PartJob {
    /// Order of the cut (the committer commits in this order).
    seq: u64,
    /// The part file's name (`None` when there is nothing to write).
    name: Option<String>,
    events: Vec<RecordBatch>,
    event_rows: usize,
    findings: Option<RecordBatch>,
    finding_rows: usize,
    by_level: [u64; 5],
    done: Vec<InputDone>,
}

/// A part written under its temporary names, for the committer.
struct EncodedPart {
    seq: u64,
    name: Option<String>,
    event_rows: usize,
    finding_rows: usize,
    events_bytes: u64,
    findings_bytes: u64,
    by_level: [u64; 5],
    done: Vec<InputDone>,
}

/// The committer thread's state: commits the encoded parts in the order they were cut,
/// and writes the manifest.
struct Committer<'s> {
    store: &'s CaseStore,
    run: String,
    manifest: File,
    /// Everything but the writer's counters.
    report: IngestReport,
}

/// Writes a part's findings and events under their temporary names (the encoder
/// threads' work: sorting, Parquet encoding, compression).
fn encode_part(store: &CaseStore, job: PartJob) -> Result<EncodedPart> {
    let (mut events_bytes, mut findings_bytes) = (0, 0);
    if let Some(name) = &job.name {
        if let Some(batch) = &job.findings {
            let tmp = store.findings_dir().join(format!("{TMP_PREFIX}{name}"));
            findings_bytes = parts::write_sorted(
                &tmp,
                &schema::findings_schema(),
                std::slice::from_ref(batch),
                finding_col::EVENT_TS,
            )?;
        }
        let tmp = store.events_dir().join(format!("{TMP_PREFIX}{name}"));
        events_bytes = parts::write_sorted(
            &tmp,
            &schema::cloudtrail_schema(),
            &job.events,
            col::EVENT_TS,
        )?;
    }
    Ok(EncodedPart {
        seq: job.seq,
        name: job.name,
        event_rows: job.event_rows,
        finding_rows: job.finding_rows,
        events_bytes,
        findings_bytes,
        by_level: job.by_level,
        done: job.done,
    })
}

fn level_index(level: firebreak_detect::Level) -> usize {
    (level as usize).min(4)
}

impl<'s> Writer<'s> {
    fn unit(&mut self, unit: Unit) -> Result<()> {
        let rows = unit.events.num_rows();
        let mut keep = Vec::with_capacity(rows);
        let mut hits_allowed = Vec::with_capacity(rows);
        let (mut stored, mut dups) = (0u64, 0u64);
        // The input of each row, from the unit's (input, rows) runs.
        let mut runs = unit
            .inputs
            .iter()
            .flat_map(|&(input, n)| std::iter::repeat_n(input, n));
        for &key in &unit.keys {
            let input = runs.next().unwrap_or(usize::MAX);
            let (kept, allowed) = match self.seen.get_mut(&key) {
                None => {
                    self.seen.insert(key, MET_THIS_RUN);
                    (true, true)
                }
                Some(state) if *state == EARLIER_RUN => {
                    *state = MET_THIS_RUN;
                    (false, true)
                }
                Some(_) => (false, false),
            };
            let counts = self.per_input.entry(input).or_default();
            if kept {
                stored += 1;
                counts.0 += 1;
            } else {
                dups += 1;
                counts.1 += 1;
            }
            keep.push(kept);
            hits_allowed.push(allowed);
        }
        self.report.events_stored += stored;
        self.report.duplicates_skipped += dups;
        for (row, hit) in unit.hits {
            let row = row as usize;
            if hits_allowed.get(row).copied().unwrap_or(false) {
                if let Some(&key) = unit.keys.get(row) {
                    self.hits.push((key, hit));
                }
            }
        }
        if stored == 0 {
            return Ok(());
        }
        // New row numbers of the kept rows.
        let mut new_row = vec![u32::MAX; rows];
        let mut n = 0u32;
        for (i, &k) in keep.iter().enumerate() {
            if k {
                new_row[i] = n;
                n += 1;
            }
        }
        let events = if stored as usize == rows {
            unit.events
        } else {
            arrow::compute::filter_record_batch(&unit.events, &BooleanArray::from(keep))
                .map_err(|e| StoreError::arrow("dropping duplicate events", e))?
        };
        let mut findings: Vec<(u32, Finding)> = unit
            .findings
            .into_iter()
            .filter_map(|(row, f)| {
                new_row
                    .get(row as usize)
                    .filter(|&&r| r != u32::MAX)
                    .map(|&r| (r, f))
            })
            .collect();
        findings.sort_by_key(|(r, _)| *r);
        let mut findings = findings.into_iter().peekable();
        let mut offset = 0usize;
        let total = events.num_rows();
        while offset < total {
            let take = (self.part_rows - self.pending_rows).min(total - offset);
            self.pending.push(events.slice(offset, take));
            self.pending_rows += take;
            while let Some((_, f)) = findings.next_if(|(r, _)| (*r as usize) < offset + take) {
                self.pending_by_level[level_index(f.rule.level)] += 1;
                self.findings.append(&f);
            }
            offset += take;
            if self.pending_rows >= self.part_rows {
                self.commit()?;
            }
        }
        Ok(())
    }

    /// Cuts the pending events and findings as one part and hands it to the committer,
    /// with the inputs now complete.
    fn commit(&mut self) -> Result<()> {
        let finding_rows = self.findings.len();
        let findings = if finding_rows > 0 {
            Some(self.findings.finish()?)
        } else {
            None
        };
        let mut done = std::mem::take(&mut self.done);
        for d in &mut done {
            let (stored, dups) = self.per_input.remove(&d.input).unwrap_or_default();
            d.summary.stored = stored;
            d.summary.duplicates = dups;
        }
        let name = (self.pending_rows > 0 || finding_rows > 0).then(|| {
            self.next_part += 1;
            case::part_file_name(&self.run, self.next_part - 1)
        });
        self.next_seq += 1;
        let job = PartJob {
            seq: self.next_seq - 1,
            name,
            events: std::mem::take(&mut self.pending),
            event_rows: std::mem::take(&mut self.pending_rows),
            findings,
            finding_rows,
            by_level: std::mem::take(&mut self.pending_by_level),
            done,
        };
        self.parts
            .send(job)
            .map_err(|_| StoreError::Thread("the part encoders stopped".into()))
    }

    /// Evaluates the correlations over this run's events, drops windows already stored
    /// by an earlier run, and commits the rest with the last part.
    fn finish(&mut self, rules: &RuleSet, infos: &[Arc<RuleInfo>]) -> Result<()> {
        let hits: Vec<CorrelationHit> = std::mem::take(&mut self.hits)
            .into_iter()
            .map(|(_, h)| h)
            .collect();
        if !hits.is_empty() {
            let stored = stored_correlations(self.store)?;
            for finding in correlation_findings(rules, infos, hits) {
                let Some(text) = correlation_json(&finding) else {
                    continue;
                };
                if stored.contains(&(finding.rule.id.clone(), text)) {
                    continue;
                }
                self.pending_by_level[level_index(finding.rule.level)] += 1;
                self.report.correlation_findings += 1;
                self.findings.append(&finding);
            }
        }
        self.commit()
    }
}

impl<'s> Committer<'s> {
    /// Appends a manifest line (made durable by [`Self::sync_manifest`]).
    fn manifest_line(&mut self, value: serde_json::Value) -> Result<()> {
        let mut line = value.to_string();
        line.push('\n');
        let path = self.store.manifest_path();
        self.manifest
            .write_all(line.as_bytes())
            .map_err(|e| StoreError::io(path, e))
    }

    fn sync_manifest(&mut self) -> Result<()> {
        let path = self.store.manifest_path();
        self.manifest
            .sync_data()
            .map_err(|e| StoreError::io(path, e))
    }

    /// Commits the encoded parts in the order they were cut (they arrive in any order);
    /// stops at the first failure, an encoder's included (the encoders' next send then
    /// fails, then the writer's, and the ingest stops).
    fn run(mut self, encoded: Receiver<Result<EncodedPart>>) -> Result<IngestReport> {
        let mut waiting: std::collections::BTreeMap<u64, EncodedPart> =
            std::collections::BTreeMap::new();
        let mut next = 0u64;
        for part in encoded.iter() {
            let part = part?;
            waiting.insert(part.seq, part);
            while let Some(part) = waiting.remove(&next) {
                self.commit(part)?;
                next += 1;
            }
        }
        if !waiting.is_empty() {
            return Err(StoreError::Thread(
                "a part was lost between the encoders and the committer".into(),
            ));
        }
        Ok(self.report)
    }

    /// Commits one encoded part by renames (an events part is written even when empty,
    /// so a findings part always has its events part), then records the inputs it
    /// completes.
    fn commit(&mut self, part: EncodedPart) -> Result<()> {
        let Some(name) = part.name else {
            self.flush_done_inputs(part.done)?;
            return self.sync_manifest();
        };
        let events_dir = self.store.events_dir();
        let findings_dir = self.store.findings_dir();
        let events_part = events_dir.join(&name);
        let events_tmp = events_dir.join(format!("{TMP_PREFIX}{name}"));
        std::fs::rename(&events_tmp, &events_part).map_err(|e| StoreError::io(&events_part, e))?;
        case::sync_dir(&events_dir);
        if part.finding_rows > 0 {
            let findings_part = findings_dir.join(&name);
            let findings_tmp = findings_dir.join(format!("{TMP_PREFIX}{name}"));
            std::fs::rename(&findings_tmp, &findings_part)
                .map_err(|e| StoreError::io(&findings_part, e))?;
            case::sync_dir(&findings_dir);
        }
        for (total, n) in self.report.findings_by_level.iter_mut().zip(part.by_level) {
            *total += n;
        }
        self.report.parts_written += 1;
        self.report.bytes_written += part.events_bytes + part.findings_bytes;
        self.manifest_line(json!({
            "kind": "part",
            "run": self.run,
            "time": now(),
            "part": name,
            "events": part.event_rows,
            "findings": part.finding_rows,
            "events_bytes": part.events_bytes,
            "findings_bytes": part.findings_bytes,
        }))?;
        self.flush_done_inputs(part.done)?;
        self.sync_manifest()
    }

    /// Records the inputs whose every event is now committed.
    fn flush_done_inputs(&mut self, done: Vec<InputDone>) -> Result<()> {
        for mut done in done {
            let s = &done.summary;
            self.manifest_line(json!({
                "kind": "input",
                "run": self.run,
                "time": now(),
                "name": s.name,
                "size": s.size,
                "shape": s.shape,
                "records": s.records,
                "stored": s.stored,
                "duplicates": s.duplicates,
                "errors": s.errors,
                "first_error": done.errors.first().map(|e| e.to_string()),
            }))?;
            self.report.files += 1;
            self.report.events_read += s.records;
            self.report.bytes_read += done.bytes_read;
            self.report.bytes_decoded += done.bytes_decoded;
            if done.errors.iter().any(|e| !e.kind.is_informational()) {
                self.report.damaged_inputs += 1;
            }
            self.report.inputs.push(done.summary);
            self.report.errors.append(&mut done.errors);
        }
        Ok(())
    }
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `(rule_id, correlation JSON)` of the correlation findings already in the case.
fn stored_correlations(store: &CaseStore) -> Result<std::collections::HashSet<(String, String)>> {
    let mut out = std::collections::HashSet::new();
    for path in store.finding_files()? {
        for batch in parts::read_columns(&path, &[finding_col::RULE_ID, finding_col::CORRELATION])?
        {
            let (Some(ids), Some(windows)) = (
                batch.column(0).as_string_opt::<i32>(),
                batch.column(1).as_string_opt::<i32>(),
            ) else {
                return Err(StoreError::BadPart {
                    path,
                    message: "rule_id/correlation columns are not text".into(),
                });
            };
            for i in 0..batch.num_rows() {
                if ids.is_valid(i) && windows.is_valid(i) {
                    out.insert((ids.value(i).to_string(), windows.value(i).to_string()));
                }
            }
        }
    }
    Ok(out)
}

/// Turns correlation matches into findings (as `firebreak scan` does).
fn correlation_findings(
    rules: &RuleSet,
    infos: &[Arc<RuleInfo>],
    hits: Vec<CorrelationHit>,
) -> Vec<Finding> {
    rules
        .evaluate_correlations(hits)
        .into_iter()
        .filter_map(|m| {
            Some(firebreak_findings::correlation_finding(
                infos.get(m.rule)?,
                m,
            ))
        })
        .collect()
}

/// Loads the keys of every event already in the case.
fn load_keys(store: &CaseStore) -> Result<KeyMap<u8>> {
    let mut keys = Vec::new();
    for path in store.event_files()? {
        crate::dedup::keys_of_part(&path, &mut keys)?;
    }
    // Room for the stored keys and as many new ones before the map grows.
    let mut map = KeyMap::with_capacity(keys.len() + keys.len() / 2);
    for k in keys {
        map.insert(k, EARLIER_RUN);
    }
    Ok(map)
}

fn run_writer(
    mut writer: Writer<'_>,
    rx: Receiver<ToWriter>,
    rules: &RuleSet,
    infos: &[Arc<RuleInfo>],
) -> Result<IngestReport> {
    // On failure, returning drops the receiver: the workers' sends fail and they stop.
    for message in rx.iter() {
        match message {
            ToWriter::Unit(unit) => writer.unit(unit)?,
            ToWriter::Done(done) => writer.done.push(done),
        }
    }
    writer.finish(rules, infos)?;
    Ok(writer.report)
}

/// Runs the writer with `encoders` encoder threads and the committer beside it, and
/// merges the reports; a failure of the encoders or committer is the one reported.
#[allow(clippy::too_many_arguments)]
fn write_and_commit(
    writer: Writer<'_>,
    committer: Committer<'_>,
    parts: Receiver<PartJob>,
    encoders: usize,
    rx: Receiver<ToWriter>,
    rules: &RuleSet,
    infos: &[Arc<RuleInfo>],
) -> Result<IngestReport> {
    let store = writer.store;
    let (encoded_tx, encoded_rx) = crossbeam_channel::unbounded::<Result<EncodedPart>>();
    std::thread::scope(|scope| {
        let committer = scope.spawn(move || committer.run(encoded_rx));
        for _ in 0..encoders.max(1) {
            let (parts, encoded_tx) = (parts.clone(), encoded_tx.clone());
            scope.spawn(move || {
                for job in parts.iter() {
                    let outcome = encode_part(store, job);
                    let failed = outcome.is_err();
                    if encoded_tx.send(outcome).is_err() || failed {
                        break;
                    }
                }
            });
        }
        drop((parts, encoded_tx));
        // The writer (and its part sender) is gone when run_writer returns, so the
        // encoders drain what was cut and stop, and then the committer.
        let written = run_writer(writer, rx, rules, infos);
        let committed = committer
            .join()
            .unwrap_or_else(|_| Err(StoreError::Thread("the part committer panicked".into())));
        let (written, mut report) = match (written, committed) {
            (_, Err(e)) | (Err(e), Ok(_)) => return Err(e),
            (Ok(w), Ok(c)) => (w, c),
        };
        report.run_id = written.run_id;
        report.recovery = written.recovery;
        report.events_stored = written.events_stored;
        report.duplicates_skipped = written.duplicates_skipped;
        report.correlation_findings = written.correlation_findings;
        Ok(report)
    })
}

/// Ingests `inputs` into `store`: see the [module documentation](self).
///
/// Damaged inputs are reported in [`IngestReport::errors`] and do not stop the ingest;
/// an error is returned only when the case itself cannot be read or written (what was
/// committed before stays committed, and a re-run completes the rest).
pub fn ingest<I>(store: &CaseStore, inputs: I, opts: &IngestOptions<'_>) -> Result<IngestReport>
where
    I: IntoIterator<Item = IngestInput>,
    I::IntoIter: Send,
{
    let recovery = store.recover()?;
    let run = case::new_run_id();
    let manifest_path = store.manifest_path();
    let manifest = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&manifest_path)
        .map_err(|e| StoreError::io(&manifest_path, e))?;
    let seen = load_keys(store)?;
    let infos = rule_infos(opts.rules);
    // A rendezvous channel: the writer fills the next part while the encoders write the
    // last ones, and no more than that is held in memory.
    let (parts_tx, parts_rx) = crossbeam_channel::bounded::<PartJob>(0);
    let mut committer = Committer {
        store,
        run: run.clone(),
        manifest,
        report: IngestReport::default(),
    };
    committer.manifest_line(json!({
        "kind": "start",
        "run": run,
        "time": now(),
        "firebreak_version": env!("CARGO_PKG_VERSION"),
        "stored_events": seen.len(),
        "recovered": {
            "deleted_tmp": recovery.deleted_tmp.len(),
            "deleted_orphan_findings": recovery.deleted_orphan_findings.len(),
            "completed_findings": recovery.completed_findings.len(),
        },
    }))?;
    let writer = Writer {
        store,
        part_rows: opts.part_rows.max(1),
        seen,
        pending: Vec::new(),
        pending_rows: 0,
        findings: FindingBatchBuilder::new(),
        pending_by_level: [0; 5],
        hits: Vec::new(),
        per_input: HashMap::new(),
        done: Vec::new(),
        parts: parts_tx,
        next_seq: 0,
        next_part: 0,
        run: run.clone(),
        report: IngestReport {
            run_id: run.clone(),
            recovery: recovery.clone(),
            ..Default::default()
        },
    };

    let threads = opts.threads.max(1);
    // One encoder per two workers: measured on 2 cores, a second encoder did not make
    // the ingest faster (the cores are busy either way) and held one more part in memory.
    let encoders = (threads / 2).max(1);
    let queue = Mutex::new(JobQueue {
        inputs: inputs.into_iter(),
        pending: VecDeque::new(),
        discover_errors: Vec::new(),
        next_id: 0,
    });
    let fatal: Mutex<Option<StoreError>> = Mutex::new(None);
    let (tx, rx) = crossbeam_channel::bounded::<ToWriter>(threads * 2);
    let writer_result = std::thread::scope(|scope| {
        let infos_ref = &infos;
        let writer_thread = scope.spawn(move || {
            write_and_commit(
                writer, committer, parts_rx, encoders, rx, opts.rules, infos_ref,
            )
        });
        let ctx = WorkerContext {
            rules: opts.rules,
            infos: &infos,
            tx,
            fatal: &fatal,
            progress: opts.progress,
        };
        std::thread::scope(|inner| {
            for _ in 0..threads {
                let (ctx, queue) = (&ctx, &queue);
                inner.spawn(move || {
                    let mut worker = Worker::new(ctx);
                    while !worker.stopped {
                        let next = match queue.lock() {
                            Ok(mut q) => q.next(),
                            Err(_) => None,
                        };
                        let Some((id, job)) = next else { break };
                        worker.run(id, job);
                    }
                    worker.flush();
                });
            }
        });
        drop(ctx);
        writer_thread
            .join()
            .unwrap_or_else(|_| Err(StoreError::Thread("the writer thread panicked".into())))
    });
    if let Some(e) = fatal.into_inner().ok().flatten() {
        return Err(e);
    }
    let mut report = writer_result?;
    let discover_errors = queue
        .into_inner()
        .map(|q| q.discover_errors)
        .unwrap_or_default();
    report.damaged_inputs += discover_errors.len() as u64;
    report.errors.extend(discover_errors);
    let mut manifest = OpenOptions::new()
        .append(true)
        .open(&manifest_path)
        .map_err(|e| StoreError::io(&manifest_path, e))?;
    let line = json!({
        "kind": "run",
        "run": report.run_id,
        "time": now(),
        "status": "complete",
        "files": report.files,
        "events_read": report.events_read,
        "events_stored": report.events_stored,
        "duplicates_skipped": report.duplicates_skipped,
        "findings": report.findings_stored(),
        "parts": report.parts_written,
        "damaged_inputs": report.damaged_inputs,
    });
    manifest
        .write_all(format!("{line}\n").as_bytes())
        .and_then(|()| manifest.sync_data())
        .map_err(|e| StoreError::io(&manifest_path, e))?;
    Ok(report)
}
