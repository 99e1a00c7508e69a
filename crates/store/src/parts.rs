//! Writing and reading part files: Parquet with zstd, statistics, ~64k-row row
//! groups, dictionary encoding (except for the columns where every value differs),
//! rows sorted by `event_ts`.

use std::fs::File;
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{SchemaRef, TimestampMillisecondType};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::error::{Result, StoreError};
use crate::schema::col;

/// Rows per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 64 * 1024;

/// Rows gathered into sorted order at a time while writing a part.
const SORT_SLICE_ROWS: usize = 8 * 1024;

/// Columns whose values are (nearly) all different: dictionary encoding only costs there.
const NO_DICTIONARY: [&str; 5] = [
    col::RAW,
    col::EVENT_ID,
    col::REQUEST_ID,
    col::RESPONSE_ELEMENTS,
    col::EVENT_TS,
];

/// The writer settings of every part file.
pub fn writer_properties() -> WriterProperties {
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default()))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_dictionary_enabled(true)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("firebreak {}", env!("CARGO_PKG_VERSION")));
    for c in NO_DICTIONARY {
        props = props.set_column_dictionary_enabled(ColumnPath::from(c), false);
    }
    // Statistics of the whole-record text are never used for pruning.
    props =
        props.set_column_statistics_enabled(ColumnPath::from(col::RAW), EnabledStatistics::None);
    props.build()
}

/// The `event_ts` values of a batch (`i64::MIN` for NULL, so those sort first).
fn timestamps(batch: &RecordBatch, ts_column: &str) -> Vec<i64> {
    let Some(array) = batch.column_by_name(ts_column) else {
        return vec![i64::MIN; batch.num_rows()];
    };
    match array.as_primitive_opt::<TimestampMillisecondType>() {
        Some(ts) => (0..ts.len())
            .map(|i| if ts.is_null(i) { i64::MIN } else { ts.value(i) })
            .collect(),
        None => vec![i64::MIN; batch.num_rows()],
    }
}

/// Writes `batches` (all of `schema`) to a new file at `path`, rows sorted by the
/// timestamp column `ts_column` (stable: rows with equal times keep their order), and
/// syncs it to disk. Returns the file's size in bytes.
pub fn write_sorted(
    path: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    ts_column: &str,
) -> Result<u64> {
    let mut order: Vec<(i64, usize, usize)> =
        Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    for (b, batch) in batches.iter().enumerate() {
        for (r, ts) in timestamps(batch, ts_column).into_iter().enumerate() {
            order.push((ts, b, r));
        }
    }
    order.sort_by_key(|&(ts, b, r)| (ts, b, r));
    let file = File::create(path).map_err(|e| StoreError::io(path, e))?;
    let mut writer = ArrowWriter::try_new(&file, schema.clone(), Some(writer_properties()))
        .map_err(|e| StoreError::parquet(path, e))?;
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    // Gathered in small slices: the writer still cuts ROW_GROUP_ROWS-row groups, but only
    // one slice of sorted copies is alive at a time (and its memory is reused).
    for chunk in order.chunks(SORT_SLICE_ROWS) {
        let indices: Vec<(usize, usize)> = chunk.iter().map(|&(_, b, r)| (b, r)).collect();
        let sorted = arrow::compute::interleave_record_batch(&refs, &indices)
            .map_err(|e| StoreError::arrow(format!("sorting rows for {}", path.display()), e))?;
        writer
            .write(&sorted)
            .map_err(|e| StoreError::parquet(path, e))?;
    }
    writer.close().map_err(|e| StoreError::parquet(path, e))?;
    file.sync_all().map_err(|e| StoreError::io(path, e))?;
    let len = file.metadata().map_err(|e| StoreError::io(path, e))?.len();
    Ok(len)
}

/// Reads the named top-level columns of a part file, as batches whose columns are in
/// the order of `columns`.
pub fn read_columns(path: &Path, columns: &[&str]) -> Result<Vec<RecordBatch>> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| StoreError::parquet(path, e))?;
    let mut roots = Vec::with_capacity(columns.len());
    for name in columns {
        let index = builder
            .schema()
            .index_of(name)
            .map_err(|_| StoreError::BadPart {
                path: path.to_path_buf(),
                message: format!("no column '{name}'"),
            })?;
        roots.push(index);
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(64 * 1024)
        .build()
        .map_err(|e| StoreError::parquet(path, e))?;
    // The reader returns the columns in file order: put them in the order asked for.
    reader
        .map(|b| {
            let batch =
                b.map_err(|e| StoreError::arrow(format!("reading {}", path.display()), e))?;
            let order: Vec<usize> = columns
                .iter()
                .filter_map(|name| batch.schema().index_of(name).ok())
                .collect();
            batch
                .project(&order)
                .map_err(|e| StoreError::arrow(format!("reading {}", path.display()), e))
        })
        .collect()
}

/// Reads every row of a part file.
pub fn read_all(path: &Path) -> Result<Vec<RecordBatch>> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.with_batch_size(64 * 1024).build())
        .map_err(|e| StoreError::parquet(path, e))?;
    reader
        .map(|b| b.map_err(|e| StoreError::arrow(format!("reading {}", path.display()), e)))
        .collect()
}
