//! `export_hive`: the case's events as a Hive-partitioned Parquet layout that Athena,
//! Spark and DuckDB read as is:
//!
//! ```text
//! <out>/account=<recipientaccountid>/region=<awsregion>/day=<YYYY-MM-DD>/part-<n>.parquet
//! <out>/_findings/part-<n>.parquet
//! ```
//!
//! The files hold every `cloudtrail` column except `raw` and `source`; the partition
//! values (`account`, `region`, `day`) are in the folder names. A missing value (no account, no region, an `eventtime` that does not
//! parse) is written as `__HIVE_DEFAULT_PARTITION__`, which Hive, Athena and Spark read
//! as NULL. Characters other than `A-Z a-z 0-9 . _ -` in a value are escaped as `%XX`
//! (Hive's escaping), so a hostile `awsRegion` cannot leave the folder. `<n>` is the
//! index of the case part the rows came from. The findings are copied as they are to
//! `_findings/` (a folder that Hive-style readers of `<out>` skip because of its `_`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use arrow::datatypes::{Schema, SchemaRef, TimestampMillisecondType};

use crate::case::{self, CaseStore, TMP_PREFIX};
use crate::error::{Result, StoreError};
use crate::parts;
use crate::schema::{cloudtrail_schema, col, findings_schema};

/// Hive's name for a NULL partition value.
pub const HIVE_NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// The folder holding the exported findings.
pub const FINDINGS_EXPORT_DIR: &str = "_findings";

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Event rows written.
    pub rows: u64,
    /// Files written (events and findings).
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Rows per partition folder (`account=.../region=.../day=...`).
    pub partitions: BTreeMap<String, u64>,
    /// Finding rows written to `_findings/`.
    pub findings: u64,
}

/// The columns of the exported event files.
pub fn hive_schema() -> SchemaRef {
    // `recipientaccountid` and `awsregion` stay in the files: queries written for Athena's
    // CloudTrail table (and the SQL of `rules sql`) use them; the partition columns have
    // other names (`account`, `region`, `day`), so the two never clash.
    let dropped = [col::RAW, col::SOURCE];
    let fields: Vec<_> = cloudtrail_schema()
        .fields()
        .iter()
        .filter(|f| !dropped.contains(&f.name().as_str()))
        .cloned()
        .collect();
    Arc::new(Schema::new(fields))
}

/// Escapes a partition value the way Hive does (`%XX` for anything outside
/// `A-Z a-z 0-9 . _ -`); empty and missing values become [`HIVE_NULL_PARTITION`].
pub fn partition_value(value: Option<&str>) -> String {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return HIVE_NULL_PARTITION.to_string();
    };
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out == "." || out == ".." {
        out = out.replace('.', "%2E");
    }
    out
}

fn text_at(batch: &RecordBatch, name: &str, row: usize) -> Option<String> {
    let a = batch.column_by_name(name)?.as_string_opt::<i32>()?;
    a.is_valid(row).then(|| a.value(row).to_string())
}

fn day_at(batch: &RecordBatch, row: usize) -> Option<String> {
    let ts = batch
        .column_by_name(col::EVENT_TS)?
        .as_primitive_opt::<TimestampMillisecondType>()?;
    if ts.is_null(row) {
        return None;
    }
    let t = jiff::Timestamp::from_millisecond(ts.value(row)).ok()?;
    Some(t.strftime("%Y-%m-%d").to_string())
}

/// Writes `batches` to `path` through a temporary name.
fn write_file(path: &Path, schema: &SchemaRef, batches: &[RecordBatch], ts: &str) -> Result<u64> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!("{TMP_PREFIX}{name}"));
    let bytes = parts::write_sorted(&tmp, schema, batches, ts)?;
    std::fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e))?;
    Ok(bytes)
}

/// Exports the case's events (and findings) to `out_dir`, which must be empty or not
/// exist yet.
pub fn export_hive(store: &CaseStore, out_dir: &Path) -> Result<ExportReport> {
    match std::fs::read_dir(out_dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(StoreError::BadCaseFile {
                    path: out_dir.to_path_buf(),
                    message: "the export folder is not empty".into(),
                });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(out_dir).map_err(|e| StoreError::io(out_dir, e))?
        }
        Err(e) => return Err(StoreError::io(out_dir, e)),
    }
    let schema = hive_schema();
    let keep: Vec<usize> = schema
        .fields()
        .iter()
        .filter_map(|f| cloudtrail_schema().index_of(f.name()).ok())
        .collect();
    let mut report = ExportReport::default();
    for (n, path) in store.event_files()?.iter().enumerate() {
        let mut groups: BTreeMap<String, Vec<RecordBatch>> = BTreeMap::new();
        for batch in parts::read_all(path)? {
            if batch.schema().fields().len() != cloudtrail_schema().fields().len() {
                return Err(StoreError::BadPart {
                    path: path.clone(),
                    message: "not the cloudtrail schema".into(),
                });
            }
            let mut rows_by_key: BTreeMap<String, Vec<u32>> = BTreeMap::new();
            for row in 0..batch.num_rows() {
                let key = format!(
                    "account={}/region={}/day={}",
                    partition_value(text_at(&batch, col::RECIPIENT_ACCOUNT_ID, row).as_deref()),
                    partition_value(text_at(&batch, col::AWS_REGION, row).as_deref()),
                    partition_value(day_at(&batch, row).as_deref()),
                );
                rows_by_key.entry(key).or_default().push(row as u32);
            }
            let projected = batch
                .project(&keep)
                .map_err(|e| StoreError::arrow("projecting export columns", e))?;
            let projected = RecordBatch::try_new(schema.clone(), projected.columns().to_vec())
                .map_err(|e| StoreError::arrow("projecting export columns", e))?;
            for (key, rows) in rows_by_key {
                let indices = UInt32Array::from(rows);
                let taken = arrow::compute::take_record_batch(&projected, &indices)
                    .map_err(|e| StoreError::arrow("grouping rows by partition", e))?;
                groups.entry(key).or_default().push(taken);
            }
        }
        for (key, batches) in groups {
            let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
            let file = out_dir.join(&key).join(format!("part-{n:05}.parquet"));
            report.bytes += write_file(&file, &schema, &batches, col::EVENT_TS)?;
            report.files += 1;
            report.rows += rows;
            *report.partitions.entry(key).or_default() += rows;
        }
    }
    for (n, path) in store.finding_files()?.iter().enumerate() {
        let batches = parts::read_all(path)?;
        let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
        let file: PathBuf = out_dir
            .join(FINDINGS_EXPORT_DIR)
            .join(format!("part-{n:05}.parquet"));
        report.bytes += write_file(
            &file,
            &findings_schema(),
            &batches,
            crate::schema::finding_col::EVENT_TS,
        )?;
        report.files += 1;
        report.findings += rows;
    }
    case::sync_dir(out_dir);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_values_are_escaped_and_nulls_named() {
        assert_eq!(partition_value(Some("eu-west-1")), "eu-west-1");
        assert_eq!(partition_value(Some("111122223333")), "111122223333");
        assert_eq!(partition_value(None), HIVE_NULL_PARTITION);
        assert_eq!(partition_value(Some("")), HIVE_NULL_PARTITION);
        assert_eq!(partition_value(Some("a/b=c d")), "a%2Fb%3Dc%20d");
        assert_eq!(partition_value(Some("..")), "%2E%2E");
        assert_eq!(partition_value(Some("é")), "%C3%A9");
    }
}
