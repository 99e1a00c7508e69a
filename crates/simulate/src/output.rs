//! Planning the corpus (which records go in which window, account and region) and
//! writing it in the three delivery formats.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use flate2::write::GzEncoder;
use flate2::Compression;
use serde::Serialize;

use crate::ids::{self, Civil};
use crate::record::{eventbridge_source, Event, Record};
use crate::routine;
use crate::scenarios::Planted;
use crate::world::World;
use crate::{
    SimConfig, SimError, SimReport, TruthEntry, EVENTS_PER_PART, MAX_RECORDS_PER_FILE,
    WINDOW_SECONDS,
};

/// gzip level of every output file (CloudTrail's own objects are ordinary gzip).
const GZIP_LEVEL: u32 = 1;

/// How the corpus is laid out on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// The S3 layout CloudTrail delivers:
    /// `AWSLogs/<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<16 alnum>.json.gz`,
    /// each a gzip of `{"Records":[...]}` for one account, region and five-minute
    /// window (the name's timestamp is the window start).
    #[default]
    S3Delivery,
    /// `part-NNNNN.jsonl.gz`: gzip'd JSON lines, one record per line, about
    /// [`EVENTS_PER_PART`](crate::EVENTS_PER_PART) records per part.
    JsonLines,
    /// `eventbridge-NNNNN.jsonl.gz`: gzip'd JSON lines of EventBridge envelopes
    /// (`AWS API Call via CloudTrail`, `AWS Console Sign In via CloudTrail`).
    EventBridge,
}

impl FromStr for OutputFormat {
    type Err = SimError;

    /// `s3` / `s3-delivery`, `jsonl` / `json-lines`, `eventbridge` / `eb`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "s3" | "s3-delivery" | "s3delivery" => Ok(OutputFormat::S3Delivery),
            "jsonl" | "json-lines" | "jsonlines" => Ok(OutputFormat::JsonLines),
            "eventbridge" | "event-bridge" | "eb" => Ok(OutputFormat::EventBridge),
            _ => Err(SimError::UnknownFormat(text.to_string())),
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OutputFormat::S3Delivery => "s3",
            OutputFormat::JsonLines => "jsonl",
            OutputFormat::EventBridge => "eventbridge",
        })
    }
}

/// One generation unit: an account, a region and a five-minute window.
#[derive(Debug)]
pub(crate) struct Task {
    /// Window index from the start of the period.
    pub window: u32,
    /// Account index.
    pub account: usize,
    /// Region.
    pub region: &'static str,
    /// Routine records to generate.
    pub routine: u64,
    /// Planted records that fall in this unit.
    pub planted: Vec<Event>,
}

impl Task {
    fn total(&self) -> u64 {
        self.routine + self.planted.len() as u64
    }
}

/// The whole corpus, planned.
pub(crate) struct Plan {
    seed: u64,
    start: i64,
    tasks: Vec<Task>,
    truth: Vec<TruthEntry>,
    scenario_events: BTreeMap<String, u64>,
}

/// Routine activity over the day (UTC hour), in percent of the busiest hour.
const HOUR_WEIGHTS: [u64; 24] = [
    45, 42, 48, 46, 40, 40, 45, 60, 80, 95, 100, 100, 96, 98, 100, 97, 90, 80, 65, 55, 50, 48, 46,
    45,
];

impl Plan {
    /// Spreads `routine_total` records over every account, region and window
    /// (weighted by account size, region and time of day) and files the planted
    /// records into their units.
    pub fn new(
        world: &World,
        seed: u64,
        start: i64,
        days: u32,
        routine_total: u64,
        planted: Vec<Planted>,
    ) -> Plan {
        let windows = u32::try_from(i64::from(days) * 86_400 / WINDOW_SECONDS).unwrap_or(u32::MAX);
        let mut slots: Vec<(u32, usize, &'static str, u64)> = Vec::new();
        for window in 0..windows {
            let window_start = start + i64::from(window) * WINDOW_SECONDS;
            let civil = Civil::from_unix(window_start);
            let weekend = Civil::weekday_of(window_start) >= 5;
            let hour_weight = HOUR_WEIGHTS[civil.hour as usize % 24];
            for (account_index, account) in world.accounts.iter().enumerate() {
                for (region_index, region) in account.regions.iter().enumerate() {
                    let region_weight = if region_index == 0 { 6 } else { 4 };
                    let weight =
                        account.weight * region_weight * hour_weight * if weekend { 1 } else { 2 };
                    slots.push((window, account_index, region, weight));
                }
            }
        }
        let counts = largest_remainder(routine_total, slots.iter().map(|s| s.3));
        let mut tasks: BTreeMap<(u32, usize, &'static str), Task> = BTreeMap::new();
        for ((window, account, region, _), count) in slots.into_iter().zip(counts) {
            if count > 0 {
                tasks.insert(
                    (window, account, region),
                    Task {
                        window,
                        account,
                        region,
                        routine: count,
                        planted: Vec::new(),
                    },
                );
            }
        }
        let mut truth = Vec::new();
        let mut scenario_events = BTreeMap::new();
        for plant in planted {
            scenario_events.insert(plant.truth.scenario.clone(), plant.events.len() as u64);
            truth.push(plant.truth);
            for event in plant.events {
                let window = u32::try_from((event.time - start).div_euclid(WINDOW_SECONDS))
                    .unwrap_or(0)
                    .min(windows.saturating_sub(1));
                let region = event.record.aws_region;
                tasks
                    .entry((window, event.account, region))
                    .or_insert_with(|| Task {
                        window,
                        account: event.account,
                        region,
                        routine: 0,
                        planted: Vec::new(),
                    })
                    .planted
                    .push(event);
            }
        }
        Plan {
            seed,
            start,
            tasks: tasks.into_values().collect(),
            truth,
            scenario_events,
        }
    }
}

/// Splits `total` proportionally to `weights`, exactly (largest remainder method).
fn largest_remainder(total: u64, weights: impl Iterator<Item = u64>) -> Vec<u64> {
    let weights: Vec<u64> = weights.collect();
    let sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let mut counts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut assigned: u64 = 0;
    for (index, &weight) in weights.iter().enumerate() {
        let share = u128::from(total) * u128::from(weight);
        let count = u64::try_from(share / sum).unwrap_or(u64::MAX);
        assigned += count;
        counts.push(count);
        remainders.push((share % sum, index));
    }
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, index) in remainders
        .iter()
        .take(usize::try_from(total - assigned).unwrap_or(usize::MAX))
    {
        counts[index] += 1;
    }
    counts
}

/// Counters one worker accumulates.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    files: u64,
    events: u64,
    bytes: u64,
    uncompressed: u64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.files += other.files;
        self.events += other.events;
        self.bytes += other.bytes;
        self.uncompressed += other.uncompressed;
    }
}

/// The records of one unit, routine and planted interleaved in time order.
fn unit_events(world: &World, seed: u64, start: i64, task: &Task) -> Vec<Event> {
    let window_start = start + i64::from(task.window) * WINDOW_SECONDS;
    let mut rng = ids::rng_for(
        seed,
        &[
            ids::label("routine"),
            u64::from(task.window),
            task.account as u64,
            ids::label(task.region),
        ],
    );
    let mut events = routine::generate(
        world,
        seed,
        &mut rng,
        task.account,
        task.region,
        window_start,
        task.routine,
    );
    events.extend(task.planted.iter().cloned());
    events.sort_by_key(|event| event.time);
    events
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SimError + '_ {
    move |source| SimError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn serialize_error(what: &str) -> impl FnOnce(serde_json::Error) -> SimError + '_ {
    move |source| SimError::Serialize {
        what: what.to_string(),
        source,
    }
}

/// Runs `job` over `0..count` on a few threads; results are combined in index order.
fn run_parallel<T: Send>(
    count: usize,
    job: impl Fn(usize) -> Result<T, SimError> + Sync,
) -> Result<Vec<T>, SimError> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
        .min(count.max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<T, SimError>)>> = Mutex::new(Vec::with_capacity(count));
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for _ in 0..workers {
            handles.push(scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= count {
                    break;
                }
                let result = job(index);
                let failed = result.is_err();
                if let Ok(mut guard) = results.lock() {
                    guard.push((index, result));
                }
                if failed {
                    // Stop handing out work; other workers finish their current unit.
                    next.store(count, Ordering::Relaxed);
                    break;
                }
            }));
        }
        for handle in handles {
            if handle.join().is_err() {
                if let Ok(mut guard) = results.lock() {
                    guard.push((
                        usize::MAX,
                        Err(SimError::Worker("a generation thread panicked".into())),
                    ));
                }
            }
        }
    });
    let mut results = results
        .into_inner()
        .map_err(|_| SimError::Worker("result lock poisoned".into()))?;
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// Writes the planned corpus in `cfg.format` under `cfg.out_dir`.
pub(crate) fn write(cfg: &SimConfig, world: &World, plan: Plan) -> Result<SimReport, SimError> {
    fs::create_dir_all(&cfg.out_dir).map_err(io_error(&cfg.out_dir))?;
    let tallies = match cfg.format {
        OutputFormat::S3Delivery => run_parallel(plan.tasks.len(), |index| {
            write_s3_unit(cfg, world, &plan, &plan.tasks[index])
        })?,
        OutputFormat::JsonLines | OutputFormat::EventBridge => {
            let parts = split_parts(&plan.tasks);
            run_parallel(parts.len(), |index| {
                write_part(cfg, world, &plan, index, &plan.tasks[parts[index].clone()])
            })?
        }
    };
    let mut total = Tally::default();
    for tally in tallies {
        total.add(tally);
    }
    Ok(SimReport {
        files: total.files,
        events: total.events,
        routine_events: 0,
        bytes: total.bytes,
        uncompressed_bytes: total.uncompressed,
        scenario_events: plan.scenario_events,
        truth: plan.truth,
        truth_path: None,
    })
}

/// Groups consecutive units into parts of about [`EVENTS_PER_PART`] records.
fn split_parts(tasks: &[Task]) -> Vec<std::ops::Range<usize>> {
    let mut parts = Vec::new();
    let mut begin = 0;
    let mut in_part = 0;
    for (index, task) in tasks.iter().enumerate() {
        in_part += task.total();
        if in_part >= EVENTS_PER_PART {
            parts.push(begin..index + 1);
            begin = index + 1;
            in_part = 0;
        }
    }
    if begin < tasks.len() || parts.is_empty() {
        parts.push(begin..tasks.len());
    }
    parts
}

fn gzip(bytes: &[u8], path: &Path) -> Result<Vec<u8>, SimError> {
    let mut encoder = GzEncoder::new(
        Vec::with_capacity(bytes.len() / 6),
        Compression::new(GZIP_LEVEL),
    );
    encoder.write_all(bytes).map_err(io_error(path))?;
    encoder.finish().map_err(io_error(path))
}

/// Writes the S3 delivery objects of one unit.
fn write_s3_unit(
    cfg: &SimConfig,
    world: &World,
    plan: &Plan,
    task: &Task,
) -> Result<Tally, SimError> {
    let events = unit_events(world, plan.seed, plan.start, task);
    let mut tally = Tally::default();
    if events.is_empty() {
        return Ok(tally);
    }
    let account = &world.accounts[task.account].id;
    let window_start = plan.start + i64::from(task.window) * WINDOW_SECONDS;
    let civil = Civil::from_unix(window_start);
    let dir = cfg
        .out_dir
        .join("AWSLogs")
        .join(account)
        .join("CloudTrail")
        .join(task.region)
        .join(format!("{:04}", civil.year))
        .join(format!("{:02}", civil.month))
        .join(format!("{:02}", civil.day));
    fs::create_dir_all(&dir).map_err(io_error(&dir))?;
    let mut name_rng = ids::rng_for(
        plan.seed,
        &[
            ids::label("object"),
            u64::from(task.window),
            task.account as u64,
            ids::label(task.region),
        ],
    );
    let file_count = events.len().div_ceil(MAX_RECORDS_PER_FILE);
    let per_file = events.len().div_ceil(file_count);
    let mut json = Vec::with_capacity(per_file * 1400 + 64);
    for chunk in events.chunks(per_file) {
        let name = format!(
            "{account}_CloudTrail_{}_{}_{}.json.gz",
            task.region,
            ids::object_time(window_start),
            ids::alnum(&mut name_rng, 16)
        );
        let path = dir.join(name);
        json.clear();
        json.extend_from_slice(b"{\"Records\":[");
        for (index, event) in chunk.iter().enumerate() {
            if index > 0 {
                json.push(b',');
            }
            serde_json::to_writer(&mut json, &event.record)
                .map_err(serialize_error(&event.record.event_id))?;
        }
        json.extend_from_slice(b"]}");
        let compressed = gzip(&json, &path)?;
        fs::write(&path, &compressed).map_err(io_error(&path))?;
        tally.files += 1;
        tally.events += chunk.len() as u64;
        tally.bytes += compressed.len() as u64;
        tally.uncompressed += json.len() as u64;
    }
    Ok(tally)
}

/// An EventBridge envelope around one record.
#[derive(Serialize)]
struct Envelope<'a> {
    version: &'static str,
    id: String,
    #[serde(rename = "detail-type")]
    detail_type: &'static str,
    source: String,
    account: &'a str,
    time: &'a str,
    region: &'static str,
    resources: [&'static str; 0],
    detail: &'a Record,
}

/// Counts bytes passing through to the gzip writer.
struct CountingWriter<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.count += written as u64;
        Ok(written)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes one JSON-lines part (plain records or EventBridge envelopes).
fn write_part(
    cfg: &SimConfig,
    world: &World,
    plan: &Plan,
    part: usize,
    tasks: &[Task],
) -> Result<Tally, SimError> {
    let eventbridge = cfg.format == OutputFormat::EventBridge;
    let path = cfg.out_dir.join(format!(
        "{}-{part:05}.jsonl.gz",
        if eventbridge { "eventbridge" } else { "part" }
    ));
    let file = File::create(&path).map_err(io_error(&path))?;
    let counter = CountingWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        count: 0,
    };
    let mut encoder = GzEncoder::new(counter, Compression::new(GZIP_LEVEL));
    let mut tally = Tally {
        files: 1,
        ..Tally::default()
    };
    let mut line = Vec::with_capacity(4096);
    for task in tasks {
        let events = unit_events(world, plan.seed, plan.start, task);
        let mut envelope_rng = ids::rng_for(
            plan.seed,
            &[
                ids::label("envelope"),
                u64::from(task.window),
                task.account as u64,
                ids::label(task.region),
            ],
        );
        for event in &events {
            line.clear();
            let record = &event.record;
            if eventbridge {
                let envelope = Envelope {
                    version: "0",
                    id: ids::uuid(&mut envelope_rng),
                    detail_type: if record.event_type == "AwsConsoleSignIn" {
                        "AWS Console Sign In via CloudTrail"
                    } else if record.event_type == "AwsServiceEvent" {
                        "AWS Service Event via CloudTrail"
                    } else {
                        "AWS API Call via CloudTrail"
                    },
                    source: eventbridge_source(record.event_source),
                    account: &record.recipient_account_id,
                    time: &record.event_time,
                    region: record.aws_region,
                    resources: [],
                    detail: record,
                };
                serde_json::to_writer(&mut line, &envelope)
                    .map_err(serialize_error(&record.event_id))?;
            } else {
                serde_json::to_writer(&mut line, record)
                    .map_err(serialize_error(&record.event_id))?;
            }
            line.push(b'\n');
            encoder.write_all(&line).map_err(io_error(&path))?;
            tally.events += 1;
            tally.uncompressed += line.len() as u64;
        }
    }
    let mut counter = encoder.finish().map_err(io_error(&path))?;
    counter.flush().map_err(io_error(&path))?;
    tally.bytes = counter.count;
    Ok(tally)
}

/// Writes the truth entries as JSON lines to `path`.
pub(crate) fn write_truth(path: &Path, truth: &[TruthEntry]) -> Result<(), SimError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io_error(parent))?;
    }
    let mut text = Vec::new();
    for entry in truth {
        serde_json::to_writer(&mut text, entry).map_err(serialize_error(&entry.scenario))?;
        text.push(b'\n');
    }
    fs::write(path, text).map_err(io_error(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_remainder_is_exact_and_proportional() {
        let counts = largest_remainder(1000, [1, 2, 3, 4].into_iter());
        assert_eq!(counts.iter().sum::<u64>(), 1000);
        assert_eq!(counts, vec![100, 200, 300, 400]);
        let counts = largest_remainder(10, [1, 1, 1].into_iter());
        assert_eq!(counts, vec![4, 3, 3]);
        assert_eq!(largest_remainder(5, [0, 0].into_iter()), vec![0, 0]);
    }
}
