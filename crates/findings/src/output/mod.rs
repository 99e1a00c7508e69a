//! Writers for findings: `table` for a person, `jsonl` and `csv` for tools, `ocsf`
//! (OCSF Detection Finding), `asff` (Security Hub `BatchImportFindings` batches) and
//! `timesketch` (JSON lines Timesketch imports as is).

mod csv_out;
mod json;
mod table;

use std::io::Write;
use std::str::FromStr;

use crate::Finding;

pub use json::{asff_finding, finding_json, ocsf_finding, timesketch_line, FindingRecord};
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
    let mut writer = FindingWriter::new(format, out, table.clone())?;
    for f in findings {
        writer.write(f)?;
    }
    writer.finish()?;
    Ok(())
}

/// Whether `format` writes one self-contained line (or CSV row) per finding, which
/// [`encode_line`] can produce on any thread.
pub fn is_line_format(format: OutputFormat) -> bool {
    matches!(format, OutputFormat::Jsonl | OutputFormat::Csv | OutputFormat::Ocsf | OutputFormat::Timesketch)
}

/// Appends one finding's line (JSON lines formats) or row (CSV) to `buf`. Does nothing
/// for the table and ASFF, which the [`FindingWriter`] assembles itself.
pub fn encode_line(format: OutputFormat, f: &Finding, buf: &mut Vec<u8>) -> Result<(), OutputError> {
    match format {
        OutputFormat::Jsonl => {
            serde_json::to_writer(&mut *buf, &FindingRecord::new(f))?;
            buf.push(b'\n');
        }
        OutputFormat::Csv => buf.extend_from_slice(&csv_out::row(f)?),
        OutputFormat::Ocsf => {
            serde_json::to_writer(&mut *buf, &ocsf_finding(f))?;
            buf.push(b'\n');
        }
        OutputFormat::Timesketch => {
            serde_json::to_writer(&mut *buf, &timesketch_line(f))?;
            buf.push(b'\n');
        }
        OutputFormat::Table | OutputFormat::Asff => {}
    }
    Ok(())
}

/// Writes findings one at a time, in bounded memory: the line formats are written as
/// they come, ASFF in batches of 100, and the table keeps per rule only its count and the
/// rows it will show.
pub struct FindingWriter<W: Write> {
    format: OutputFormat,
    out: W,
    asff_batch: Vec<serde_json::Value>,
    table: table::TableAccumulator,
    written: u64,
}

impl<W: Write> FindingWriter<W> {
    /// Starts writing `format` to `out` (CSV writes its header now).
    pub fn new(format: OutputFormat, out: W, table: TableOptions) -> Result<Self, OutputError> {
        let mut w = FindingWriter { format, out, asff_batch: Vec::new(), table: table::TableAccumulator::new(table), written: 0 };
        if format == OutputFormat::Csv {
            let header = csv_out::header()?;
            w.out.write_all(&header)?;
        }
        Ok(w)
    }

    /// Writes (or, for the table, records) one finding.
    pub fn write(&mut self, f: &Finding) -> Result<(), OutputError> {
        self.written += 1;
        match self.format {
            OutputFormat::Table => self.table.push(f),
            OutputFormat::Jsonl | OutputFormat::Csv | OutputFormat::Ocsf | OutputFormat::Timesketch => {
                let mut buf = Vec::new();
                encode_line(self.format, f, &mut buf)?;
                self.out.write_all(&buf)?;
            }
            OutputFormat::Asff => {
                self.asff_batch.push(asff_finding(f));
                if self.asff_batch.len() == 100 {
                    self.write_asff_batch()?;
                }
            }
        }
        Ok(())
    }

    /// Writes findings already encoded by [`encode_line`] (`count` of them), so that
    /// encoding can happen on the threads that found them.
    pub fn write_encoded(&mut self, bytes: &[u8], count: u64) -> Result<(), OutputError> {
        self.written += count;
        self.out.write_all(bytes)?;
        Ok(())
    }

    fn write_asff_batch(&mut self) -> Result<(), OutputError> {
        let items = std::mem::take(&mut self.asff_batch);
        serde_json::to_writer(&mut self.out, &serde_json::json!({ "Findings": items }))?;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    /// The format being written.
    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// How many findings were written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Finishes the output (the table is written now) and flushes it.
    pub fn finish(mut self) -> Result<W, OutputError> {
        if !self.asff_batch.is_empty() {
            self.write_asff_batch()?;
        }
        if self.format == OutputFormat::Table {
            self.table.write(&mut self.out)?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}
