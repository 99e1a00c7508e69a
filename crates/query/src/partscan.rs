//! Direct, parallel reads of the case's event parts for `summary`.
//!
//! `summary` aggregates the whole case by eight text columns. Through SQL that is one
//! hash aggregation over every combination of the eight, or eight aggregations, both of
//! which turn millions of dictionary-encoded cells back into strings. Here each Parquet row
//! group is read with its text columns kept as dictionaries (the writer dictionary-encodes
//! them), events are counted per dictionary key, and strings are only touched once per
//! distinct value and batch. Row groups are read in parallel, one thread per core, and
//! skipped outright when their `event_ts` statistics fall outside the time window.

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, DictionaryArray, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Int32Type, Int64Type, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::file::statistics::Statistics;

use crate::error::{QueryError, Result};
use crate::summary::SummaryDimension;

/// Counts of one value: events, failed events, earliest and latest `event_ts` (ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) count: u64,
    pub(crate) errors: u64,
    pub(crate) first: Option<i64>,
    pub(crate) last: Option<i64>,
}

impl Tally {
    fn add_event(&mut self, error: bool, ts: Option<i64>) {
        self.count += 1;
        self.errors += u64::from(error);
        if let Some(ts) = ts {
            self.first = Some(self.first.map_or(ts, |f| f.min(ts)));
            self.last = Some(self.last.map_or(ts, |l| l.max(ts)));
        }
    }

    pub(crate) fn merge(&mut self, other: &Tally) {
        self.count += other.count;
        self.errors += other.errors;
        self.first = match (self.first, other.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last = match (self.last, other.last) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

/// Which events to count.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventSelection {
    /// The principal filter's value, trimmed (see `exprs::principal_filter` for its
    /// meaning).
    pub(crate) principal: Option<String>,
    /// Inclusive lower bound on `event_ts` (ms).
    pub(crate) since: Option<i64>,
    /// Inclusive upper bound on `event_ts` (ms).
    pub(crate) until: Option<i64>,
}

/// The counts per dimension and value, and over all selected events.
#[derive(Debug, Default)]
pub(crate) struct DimensionTallies {
    pub(crate) total: Tally,
    pub(crate) values: HashMap<SummaryDimension, HashMap<String, Tally>>,
}

impl DimensionTallies {
    fn merge(&mut self, other: DimensionTallies) {
        self.total.merge(&other.total);
        for (dimension, values) in other.values {
            let mine = self.values.entry(dimension).or_default();
            for (value, tally) in values {
                match mine.get_mut(&value) {
                    Some(t) => t.merge(&tally),
                    None => {
                        mine.insert(value, tally);
                    }
                }
            }
        }
    }

    fn add_values(&mut self, dimension: SummaryDimension, column: &TextColumn, tallies: &[Tally]) {
        let map = self.values.entry(dimension).or_default();
        for (key, tally) in tallies.iter().enumerate() {
            if tally.count == 0 {
                continue;
            }
            let value = column.dictionary_value(key);
            match map.get_mut(value) {
                Some(t) => t.merge(tally),
                None => {
                    map.insert(value.to_string(), *tally);
                }
            }
        }
    }
}

// Leaf columns read, by their dotted Parquet path.
const TS: &str = "event_ts";
const ERROR_CODE: &str = "errorcode";
const ARN: &str = "useridentity.arn";
const INVOKED_BY: &str = "useridentity.invokedby";
const PRINCIPAL_ID: &str = "useridentity.principalid";
const ACCESS_KEY: &str = "useridentity.accesskeyid";
const IDENTITY_TYPE: &str = "useridentity.type";
const USER_NAME: &str = "useridentity.username";
const ISSUER_ARN: &str = "useridentity.sessioncontext.sessionissuer.arn";
const ISSUER_USER_NAME: &str = "useridentity.sessioncontext.sessionissuer.username";

/// The plain text columns of the summary, by dimension.
const PLAIN_DIMENSIONS: [(SummaryDimension, &str); 6] = [
    (SummaryDimension::AccessKey, ACCESS_KEY),
    (SummaryDimension::SourceIp, "sourceipaddress"),
    (SummaryDimension::UserAgent, "useragent"),
    (SummaryDimension::Region, "awsregion"),
    (SummaryDimension::Service, "eventsource"),
    (SummaryDimension::EventName, "eventname"),
];

/// Counts the selected events of the part files `files` per summary dimension and value.
pub(crate) fn tally_dimensions(
    files: &[PathBuf],
    selection: &EventSelection,
    what: &str,
) -> Result<DimensionTallies> {
    // Footers first (one thread: they are small), then the row groups in parallel.
    let mut units = Vec::new();
    let mut metadata = Vec::with_capacity(files.len());
    for (index, path) in files.iter().enumerate() {
        let meta = load_metadata(path, what)?;
        let ts_leaf = leaf_index(&meta, TS);
        for (rg, group) in meta.metadata().row_groups().iter().enumerate() {
            if let Some(leaf) = ts_leaf {
                if !window_may_overlap(group.column(leaf).statistics(), selection) {
                    continue;
                }
            }
            units.push((index, rg));
        }
        metadata.push(meta);
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 16)
        .min(units.len().max(1));
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<QueryError>> = Mutex::new(None);
    let results: Vec<DimensionTallies> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = DimensionTallies::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&(file, rg)) = units.get(i) else {
                            break;
                        };
                        if failure.lock().map(|f| f.is_some()).unwrap_or(true) {
                            break;
                        }
                        let outcome = tally_row_group(
                            &files[file],
                            &metadata[file],
                            rg,
                            selection,
                            &mut mine,
                            what,
                        );
                        if let Err(e) = outcome {
                            if let Ok(mut slot) = failure.lock() {
                                slot.get_or_insert(e);
                            }
                            break;
                        }
                    }
                    mine
                })
            })
            .collect();
        workers.into_iter().filter_map(|w| w.join().ok()).collect()
    });
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    if results.len() != threads {
        return Err(QueryError::exec(what, "a summary worker thread panicked"));
    }
    let mut all = DimensionTallies::default();
    for part in results {
        all.merge(part);
    }
    Ok(all)
}

/// The part's footer, with every text column read as a dictionary.
fn load_metadata(path: &PathBuf, what: &str) -> Result<ArrowReaderMetadata> {
    let file =
        File::open(path).map_err(|e| QueryError::exec(what, format!("{}: {e}", path.display())))?;
    let plain = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
        .map_err(|e| QueryError::exec(what, format!("{}: {e}", path.display())))?;
    let hinted = Arc::new(Schema::new_with_metadata(
        dictionary_fields(plain.schema().fields()),
        plain.schema().metadata().clone(),
    ));
    ArrowReaderMetadata::try_new(
        plain.metadata().clone(),
        ArrowReaderOptions::new().with_schema(hinted),
    )
    .map_err(|e| QueryError::exec(what, format!("{}: {e}", path.display())))
}

/// `fields` with every text type (at any depth) turned into `Dictionary(Int32, Utf8)`.
fn dictionary_fields(fields: &Fields) -> Fields {
    fields
        .iter()
        .map(|f| {
            Arc::new(
                f.as_ref()
                    .clone()
                    .with_data_type(dictionary_type(f.data_type())),
            )
        })
        .collect::<Vec<Arc<Field>>>()
        .into()
}

fn dictionary_type(data_type: &DataType) -> DataType {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
        }
        DataType::Struct(children) => DataType::Struct(dictionary_fields(children)),
        other => other.clone(),
    }
}

/// The leaf index of the column at dotted `path`, if the part has it.
fn leaf_index(meta: &ArrowReaderMetadata, path: &str) -> Option<usize> {
    meta.metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|c| c.path().string() == path)
}

/// Whether a row group whose `event_ts` has these statistics can hold selected events.
fn window_may_overlap(stats: Option<&Statistics>, selection: &EventSelection) -> bool {
    let Some(Statistics::Int64(s)) = stats else {
        return true;
    };
    if let (Some(since), Some(max)) = (selection.since, s.max_opt()) {
        if *max < since {
            return false;
        }
    }
    if let (Some(until), Some(min)) = (selection.until, s.min_opt()) {
        if *min > until {
            return false;
        }
    }
    true
}

fn tally_row_group(
    path: &PathBuf,
    meta: &ArrowReaderMetadata,
    rg: usize,
    selection: &EventSelection,
    into: &mut DimensionTallies,
    what: &str,
) -> Result<()> {
    let describe = |e: &dyn std::fmt::Display| {
        QueryError::exec(what, format!("{} (row group {rg}): {e}", path.display()))
    };
    let mut wanted = vec![TS, ERROR_CODE, ARN, INVOKED_BY, PRINCIPAL_ID];
    wanted.extend(PLAIN_DIMENSIONS.iter().map(|(_, p)| *p));
    if selection.principal.is_some() {
        wanted.extend([IDENTITY_TYPE, USER_NAME, ISSUER_ARN, ISSUER_USER_NAME]);
    }
    let leaves: Vec<usize> = wanted.iter().filter_map(|p| leaf_index(meta, p)).collect();
    let mask = ProjectionMask::leaves(meta.metadata().file_metadata().schema_descr(), leaves);
    let file = File::open(path).map_err(|e| describe(&e))?;
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta.clone())
        .with_row_groups(vec![rg])
        .with_projection(mask)
        .with_batch_size(64 * 1024)
        .build()
        .map_err(|e| describe(&e))?;
    for batch in reader {
        let batch = batch.map_err(|e| describe(&e))?;
        tally_batch(&batch, selection, into).map_err(|e| describe(&e))?;
    }
    Ok(())
}

/// A text column of one batch: dictionary keys per row (`None` when null) over values.
struct TextColumn {
    keys: Vec<Option<usize>>,
    values: ArrayRef,
}

impl TextColumn {
    /// The column at dotted `path` of `batch`; all-null when the batch lacks it.
    fn new(batch: &RecordBatch, path: &str) -> std::result::Result<TextColumn, String> {
        let rows = batch.num_rows();
        let Some(array) = lookup(batch, path) else {
            return Ok(TextColumn {
                keys: vec![None; rows],
                values: Arc::new(datafusion::arrow::array::StringArray::from(
                    Vec::<&str>::new(),
                )),
            });
        };
        let dict: &DictionaryArray<Int32Type> = array
            .as_dictionary_opt::<Int32Type>()
            .ok_or_else(|| format!("column {path} is {}, not a dictionary", array.data_type()))?;
        let values = dict.values().clone();
        if values.as_string_opt::<i32>().is_none() {
            return Err(format!(
                "column {path} has {} values, not text",
                values.data_type()
            ));
        }
        let key_values = dict.keys();
        let limit = values.len();
        let keys = (0..rows)
            .map(|row| {
                if array.is_null(row) {
                    None
                } else {
                    let k = key_values.value(row);
                    usize::try_from(k).ok().filter(|k| *k < limit)
                }
            })
            .collect();
        Ok(TextColumn { keys, values })
    }

    fn dictionary_len(&self) -> usize {
        self.values.len()
    }

    fn dictionary_value(&self, key: usize) -> &str {
        let strings = self.values.as_string::<i32>();
        if key < strings.len() && !strings.is_null(key) {
            strings.value(key)
        } else {
            ""
        }
    }

    /// Per dictionary value: does it equal `wanted`?
    fn matches(&self, wanted: &str) -> Vec<bool> {
        (0..self.dictionary_len())
            .map(|k| self.dictionary_value(k) == wanted)
            .collect()
    }

    fn row_matches(&self, row: usize, table: &[bool]) -> bool {
        self.keys[row].is_some_and(|k| table[k])
    }
}

/// The (possibly nested) column at dotted `path`, with the nulls of its parents applied.
fn lookup(batch: &RecordBatch, path: &str) -> Option<ArrayRef> {
    let mut parts = path.split('.');
    let mut current = batch.column_by_name(parts.next()?)?.clone();
    for part in parts {
        let parent: &StructArray = current.as_struct_opt()?;
        let child = parent.column_by_name(part)?.clone();
        current = match parent.nulls() {
            Some(parent_nulls) if parent_nulls.null_count() > 0 => {
                let combined =
                    datafusion::arrow::buffer::NullBuffer::union(Some(parent_nulls), child.nulls());
                let data = child
                    .to_data()
                    .into_builder()
                    .nulls(combined)
                    .build()
                    .ok()?;
                datafusion::arrow::array::make_array(data)
            }
            _ => child,
        };
    }
    Some(current)
}

fn tally_batch(
    batch: &RecordBatch,
    selection: &EventSelection,
    into: &mut DimensionTallies,
) -> std::result::Result<(), String> {
    let rows = batch.num_rows();
    let ts: Vec<Option<i64>> = match lookup(batch, TS) {
        Some(array) => {
            let ints = datafusion::arrow::compute::cast(&array, &DataType::Int64)
                .map_err(|e| e.to_string())?;
            let ints = ints.as_primitive::<Int64Type>();
            (0..rows)
                .map(|r| (!ints.is_null(r)).then(|| ints.value(r)))
                .collect()
        }
        None => vec![None; rows],
    };
    let errors = lookup(batch, ERROR_CODE);
    let failed = |row: usize| errors.as_ref().is_some_and(|e| e.is_valid(row));

    // The rows selected.
    let mut selected: Vec<bool> = (0..rows)
        .map(|row| {
            let within_since = selection
                .since
                .is_none_or(|s| ts[row].is_some_and(|t| t >= s));
            let within_until = selection
                .until
                .is_none_or(|u| ts[row].is_some_and(|t| t <= u));
            within_since && within_until
        })
        .collect();
    let arn = TextColumn::new(batch, ARN)?;
    let invoked_by = TextColumn::new(batch, INVOKED_BY)?;
    let principal_id = TextColumn::new(batch, PRINCIPAL_ID)?;
    if let Some(who) = selection.principal.as_deref() {
        if who.eq_ignore_ascii_case("root") {
            let kind = TextColumn::new(batch, IDENTITY_TYPE)?;
            let is_root = kind.matches("Root");
            for (row, keep) in selected.iter_mut().enumerate() {
                *keep = *keep && kind.row_matches(row, &is_root);
            }
        } else {
            let user = TextColumn::new(batch, USER_NAME)?;
            let issuer_arn = TextColumn::new(batch, ISSUER_ARN)?;
            let issuer_user = TextColumn::new(batch, ISSUER_USER_NAME)?;
            let columns = [
                &arn,
                &user,
                &issuer_arn,
                &issuer_user,
                &invoked_by,
                &principal_id,
            ];
            let tables: Vec<Vec<bool>> = columns.iter().map(|c| c.matches(who)).collect();
            for (row, keep) in selected.iter_mut().enumerate() {
                *keep = *keep
                    && columns
                        .iter()
                        .zip(&tables)
                        .any(|(c, t)| c.row_matches(row, t));
            }
        }
    }

    for (row, keep) in selected.iter().enumerate() {
        if *keep {
            into.total.add_event(failed(row), ts[row]);
        }
    }

    // The principal: the ARN, else the invoking service, else the principal id.
    let mut by_arn = vec![Tally::default(); arn.dictionary_len()];
    let mut by_invoker = vec![Tally::default(); invoked_by.dictionary_len()];
    let mut by_id = vec![Tally::default(); principal_id.dictionary_len()];
    for row in (0..rows).filter(|r| selected[*r]) {
        let slot = if let Some(k) = arn.keys[row] {
            &mut by_arn[k]
        } else if let Some(k) = invoked_by.keys[row] {
            &mut by_invoker[k]
        } else if let Some(k) = principal_id.keys[row] {
            &mut by_id[k]
        } else {
            continue;
        };
        slot.add_event(failed(row), ts[row]);
    }
    into.add_values(SummaryDimension::Principal, &arn, &by_arn);
    into.add_values(SummaryDimension::Principal, &invoked_by, &by_invoker);
    into.add_values(SummaryDimension::Principal, &principal_id, &by_id);

    let mut dimensions: Vec<(SummaryDimension, &str)> = PLAIN_DIMENSIONS.to_vec();
    dimensions.push((SummaryDimension::ErrorCode, ERROR_CODE));
    for (dimension, path) in dimensions {
        let column = TextColumn::new(batch, path)?;
        let mut tallies = vec![Tally::default(); column.dictionary_len()];
        for row in (0..rows).filter(|r| selected[*r]) {
            if let Some(k) = column.keys[row] {
                tallies[k].add_event(failed(row), ts[row]);
            }
        }
        into.add_values(dimension, &column, &tallies);
    }
    Ok(())
}
