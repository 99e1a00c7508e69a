//! Arrow batches to [`Table`]s, and typed column access for the pivots.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Schema, TimeUnit};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use firebreak_store::table::Table;

use crate::error::{QueryError, Result};

/// Turns DataFusion's name of a result column into the one a reader expects:
/// `cloudtrail.useridentity[arn]` becomes `useridentity.arn`.
pub(crate) fn display_column_name(name: &str) -> String {
    let mut out = name.to_string();
    for prefix in ["cloudtrail.", "findings."] {
        if let Some(rest) = out.strip_prefix(prefix) {
            out = rest.to_string();
            break;
        }
    }
    if out.contains('[') && out.ends_with(']') && !out.contains('(') {
        out = out.replace("][", ".").replace('[', ".").replace(']', "");
    }
    out
}

/// Formats every cell of `batches` as text (null stays `None`).
pub(crate) fn batches_to_table(
    schema: &Schema,
    batches: &[RecordBatch],
) -> Result<Table, ArrowError> {
    let mut table = Table::new(
        schema
            .fields()
            .iter()
            .map(|f| display_column_name(f.name())),
    );
    let options = FormatOptions::default().with_null("");
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|column| ArrayFormatter::try_new(column.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            let mut cells = Vec::with_capacity(formatters.len());
            for (column, formatter) in batch.columns().iter().zip(&formatters) {
                if column.is_null(row) {
                    cells.push(None);
                } else {
                    cells.push(Some(formatter.value(row).try_to_string()?));
                }
            }
            table.push_row(cells);
        }
    }
    Ok(table)
}

/// A column of a pivot's result batch, by name.
fn column<'b>(batch: &'b RecordBatch, name: &str, what: &str) -> Result<&'b ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| QueryError::exec(what, format!("result has no column {name}")))
}

/// A text column (any string type) as a plain `StringArray`.
pub(crate) fn text(batch: &RecordBatch, name: &str, what: &str) -> Result<StringArray> {
    let array = column(batch, name, what)?;
    let utf8 = cast(array, &DataType::Utf8).map_err(|e| QueryError::exec(what, e))?;
    Ok(utf8.as_string::<i32>().clone())
}

/// An integer column (a count) as `Int64Array`.
pub(crate) fn int64(batch: &RecordBatch, name: &str, what: &str) -> Result<Int64Array> {
    let array = column(batch, name, what)?;
    let ints = cast(array, &DataType::Int64).map_err(|e| QueryError::exec(what, e))?;
    Ok(ints
        .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
        .clone())
}

/// A timestamp column as milliseconds since the epoch.
pub(crate) fn millis(batch: &RecordBatch, name: &str, what: &str) -> Result<Int64Array> {
    let array = column(batch, name, what)?;
    let ms = cast(array, &DataType::Timestamp(TimeUnit::Millisecond, None))
        .and_then(|a| cast(&a, &DataType::Int64))
        .map_err(|e| QueryError::exec(what, e))?;
    Ok(ms
        .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
        .clone())
}

/// The value of a text column at `row`, `None` when null.
pub(crate) fn cell(array: &StringArray, row: usize) -> Option<&str> {
    if array.is_null(row) {
        None
    } else {
        Some(array.value(row))
    }
}

/// The value of an integer column at `row`, `None` when null.
pub(crate) fn int_cell(array: &Int64Array, row: usize) -> Option<i64> {
    if array.is_null(row) {
        None
    } else {
        Some(array.value(row))
    }
}

/// Milliseconds since the epoch as RFC 3339 (`2026-10-01T01:57:10Z`).
pub(crate) fn format_millis(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.to_string(),
        Err(_) => ms.to_string(),
    }
}

/// The `resources` column (List<Struct{arn, accountid, type}>) of a result batch,
/// readable row by row as `(arn, type)` pairs.
pub(crate) struct ResourceLists {
    offsets: Vec<usize>,
    arns: StringArray,
    types: Option<StringArray>,
    nulls: Vec<bool>,
}

impl ResourceLists {
    /// Reads column `name` of `batch`.
    pub(crate) fn new(batch: &RecordBatch, name: &str, what: &str) -> Result<ResourceLists> {
        let array = column(batch, name, what)?;
        let list = array
            .as_list_opt::<i32>()
            .ok_or_else(|| QueryError::exec(what, format!("column {name} is not a list")))?;
        let items = list.values().as_struct_opt().ok_or_else(|| {
            QueryError::exec(what, format!("column {name} is not a list of structs"))
        })?;
        let arns = match items.column_by_name("arn") {
            Some(a) => cast(a, &DataType::Utf8)
                .map_err(|e| QueryError::exec(what, e))?
                .as_string::<i32>()
                .clone(),
            None => return Err(QueryError::exec(what, format!("{name} items have no arn"))),
        };
        let types = match items.column_by_name("type") {
            Some(a) => Some(
                cast(a, &DataType::Utf8)
                    .map_err(|e| QueryError::exec(what, e))?
                    .as_string::<i32>()
                    .clone(),
            ),
            None => None,
        };
        let offsets = list
            .value_offsets()
            .iter()
            .map(|o| (*o).max(0) as usize)
            .collect();
        let nulls = (0..list.len()).map(|row| list.is_null(row)).collect();
        Ok(ResourceLists {
            offsets,
            arns,
            types,
            nulls,
        })
    }

    /// The `(arn, type)` pairs of `row` (items without an ARN are skipped).
    pub(crate) fn row(&self, row: usize) -> Vec<(String, Option<String>)> {
        if self.nulls.get(row).copied().unwrap_or(true) {
            return Vec::new();
        }
        let (Some(start), Some(end)) = (self.offsets.get(row), self.offsets.get(row + 1)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in *start..(*end).min(self.arns.len()) {
            if let Some(arn) = cell(&self.arns, item) {
                let resource_type = self
                    .types
                    .as_ref()
                    .and_then(|t| cell(t, item))
                    .map(str::to_string);
                out.push((arn.to_string(), resource_type));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_access_names_are_dotted() {
        assert_eq!(
            display_column_name("cloudtrail.useridentity[arn]"),
            "useridentity.arn"
        );
        assert_eq!(
            display_column_name("cloudtrail.useridentity[sessioncontext][sessionissuer][arn]"),
            "useridentity.sessioncontext.sessionissuer.arn"
        );
        assert_eq!(display_column_name("count(*)"), "count(*)");
        assert_eq!(display_column_name("calls"), "calls");
    }

    #[test]
    fn millis_format_as_rfc3339() {
        assert_eq!(format_millis(1_790_812_800_000), "2026-10-01T00:00:00Z");
        assert_eq!(format_millis(1_790_812_800_250), "2026-10-01T00:00:00.25Z");
    }
}
