//! Writers for findings: `table` for a person, `jsonl` and `csv` for tools, `ocsf`
//! (OCSF Detection Finding), `asff` (Security Hub `BatchImportFindings` batches) and
//! `timesketch` (JSON lines Timesketch imports as is).

mod csv_out;
mod json;
mod table;

use std::io::Write;
use std::str::FromStr;

use crate::Finding;

pub use json::{asff_finding, finding_json, ocsf_finding, timesketch_line};
pub use table::TableOptions;

/// The output formats of finding-listing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Grouped by rule, coloured by level, with a summary line.
    Table,
    /// One JSON object per finding per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
    /// OCSF Detection Finding (class 2004), one per line.
    Ocsf,
    /// AWS Security Finding Format, as `{"Findings":[...]}` batches of up to 100 per line,
    /// each line usable as `BatchImportFindings` input.
    Asff,
    /// JSON lines with `message`, `datetime` and `timestamp_desc`, for Timesketch.
    Timesketch,
}

impl OutputFormat {
    /// Every format's name, for help texts.
    pub const NAMES: &'static [&'static str] = &["table", "jsonl", "csv", "ocsf", "asff", "timesketch"];

    /// Whether the format carries the whole event (so findings must keep it).
    pub fn needs_raw_event(self) -> bool {
        matches!(self, OutputFormat::Timesketch | OutputFormat::Ocsf)
    }
}

impl FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "table" => OutputFormat::Table,
            "jsonl" | "json" => OutputFormat::Jsonl,
            "csv" => OutputFormat::Csv,
            "ocsf" => OutputFormat::Ocsf,
            "asff" => OutputFormat::Asff,
            "timesketch" => OutputFormat::Timesketch,
            other => return Err(format!("unknown format '{other}' (expected one of: {})", Self::NAMES.join(", "))),
        })
    }
}

/// A failure to write findings.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The destination could not be written.
    #[error("cannot write findings: {0}")]
    Io(#[from] std::io::Error),
    /// A finding could not be serialised.
    #[error("cannot serialise a finding: {0}")]
    Json(#[from] serde_json::Error),
    /// A CSV row could not be written.
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// Writes `findings` (already in their final order) in `format`.
pub fn write_findings<W: Write>(
    findings: &[Finding],
    format: OutputFormat,
    out: &mut W,
    table: &TableOptions,
) -> Result<(), OutputError> {
    match format {
        OutputFormat::Table => table::write_table(findings, out, table)?,
        OutputFormat::Jsonl => {
            for f in findings {
                serde_json::to_writer(&mut *out, &finding_json(f))?;
                out.write_all(b"\n")?;
            }
        }
        OutputFormat::Csv => csv_out::write_csv(findings, out)?,
        OutputFormat::Ocsf => {
            for f in findings {
                serde_json::to_writer(&mut *out, &ocsf_finding(f))?;
                out.write_all(b"\n")?;
            }
        }
        OutputFormat::Asff => {
            for batch in findings.chunks(100) {
                let items: Vec<_> = batch.iter().map(asff_finding).collect();
                serde_json::to_writer(&mut *out, &serde_json::json!({ "Findings": items }))?;
                out.write_all(b"\n")?;
            }
        }
        OutputFormat::Timesketch => {
            for f in findings {
                serde_json::to_writer(&mut *out, &timesketch_line(f))?;
                out.write_all(b"\n")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
