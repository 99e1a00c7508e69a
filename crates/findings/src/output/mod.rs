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
            FindingRecord::new(f).write_json(buf)?;
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

/// Appends the `jsonl` line of the event finding `rule` raises on `event` (record
/// `record_index` of `input`) to `buf`: the same bytes as [`encode_line`] with
/// [`OutputFormat::Jsonl`] of the [`Finding`] built from them, without building it.
pub fn encode_event_jsonl(
    rule: &crate::RuleInfo,
    event: &firebreak_events::CloudTrailEvent<'_>,
    input: &str,
    record_index: u64,
    buf: &mut Vec<u8>,
) -> Result<(), OutputError> {
    FindingRecord::for_event(rule, event, input, record_index).write_json(buf)?;
    buf.push(b'\n');
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use firebreak_events::CloudTrailEvent;

    use super::*;
    use crate::{EventSummary, FindingKind, Level, RuleInfo};

    fn rule() -> RuleInfo {
        RuleInfo {
            id: "0b3c5a1e-rule".into(),
            title: "A \"quoted\" title".into(),
            author: "someone".into(),
            level: Level::High,
            description: "d".into(),
            tags: vec!["attack.t1078".into()],
            origin: "rules/x.yml".into(),
        }
    }

    #[test]
    fn borrowed_event_line_equals_the_finding_line() {
        let events: [&[u8]; 3] = [
            br#"{"eventVersion":"1.08","eventID":"e-1","eventTime":"2024-01-02T03:04:05Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","awsRegion":"eu-west-1","sourceIPAddress":"1.2.3.4","userAgent":"Truffle\"Hog\u00e9","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a","accessKeyId":"AKIA","accountId":"111"},"errorCode":"AccessDenied"}"#,
            br#"{"eventName":"ConsoleLogin","recipientAccountId":"222","userIdentity":{"type":"Root","accountId":"111"}}"#,
            br#"{"eventTime":"not a time"}"#,
        ];
        let info = Arc::new(rule());
        for (i, raw) in events.iter().enumerate() {
            let event = CloudTrailEvent::parse(raw).unwrap();
            let finding = Finding {
                kind: FindingKind::Event,
                rule: Arc::clone(&info),
                event: EventSummary::from_cloudtrail(&event),
                correlation: None,
                input: Some("logs/a b.json.gz".into()),
                record_index: Some(i as u64 + 7),
                raw_event: None,
            };
            let mut owned = Vec::new();
            encode_line(OutputFormat::Jsonl, &finding, &mut owned).unwrap();
            let mut borrowed = Vec::new();
            encode_event_jsonl(&info, &event, "logs/a b.json.gz", i as u64 + 7, &mut borrowed).unwrap();
            assert_eq!(String::from_utf8_lossy(&borrowed), String::from_utf8_lossy(&owned));
            let parsed: serde_json::Value = serde_json::from_slice(&owned).unwrap();
            assert_eq!(parsed["finding_id"], serde_json::json!(finding.stable_id()));
        }
    }

    #[test]
    fn direct_json_equals_serde_json_for_hostile_text() {
        let mut nasty: String = (0u8..0x80).map(char::from).collect();
        nasty.push_str("é😀\u{7f}\u{2028}\"\\end");
        let texts = [String::new(), "plain".to_string(), nasty.clone(), "x".repeat(40) + "\"", "\u{1}".into()];
        for (i, text) in texts.iter().enumerate() {
            let mut info = rule();
            info.title = text.clone();
            info.tags = vec![text.clone(), "b".into()];
            if i == 0 {
                info.tags.clear();
            }
            let finding = Finding {
                kind: FindingKind::Event,
                rule: Arc::new(info),
                event: EventSummary {
                    event_id: Some(text.clone()),
                    user_agent: Some(nasty.clone()),
                    region: (i % 2 == 0).then(|| text.clone()),
                    ..Default::default()
                },
                correlation: None,
                input: (i != 1).then(|| text.clone()),
                record_index: [None, Some(0), Some(9), Some(10), Some(u64::MAX)][i],
                raw_event: None,
            };
            let record = FindingRecord::new(&finding);
            let mut direct = Vec::new();
            record.write_json(&mut direct).unwrap();
            let via_serde = serde_json::to_vec(&record).unwrap();
            assert_eq!(String::from_utf8_lossy(&direct), String::from_utf8_lossy(&via_serde));
            let parsed: serde_json::Value = serde_json::from_slice(&direct).unwrap();
            assert_eq!(parsed["event_id"], serde_json::json!(text));
        }
    }

    #[test]
    fn stable_id_is_the_fnv_hash_of_the_owned_fields() {
        use std::hash::{Hash, Hasher};
        struct Fnv(u64);
        impl Hasher for Fnv {
            fn finish(&self) -> u64 {
                self.0
            }
            fn write(&mut self, bytes: &[u8]) {
                for b in bytes {
                    self.0 ^= u64::from(*b);
                    self.0 = self.0.wrapping_mul(0x100_0000_01b3);
                }
            }
        }
        for event_id in [None, Some("e-1".to_string()), Some(String::new())] {
            let finding = Finding {
                kind: FindingKind::Event,
                rule: Arc::new(rule()),
                event: EventSummary { event_id: event_id.clone(), ..Default::default() },
                correlation: None,
                input: None,
                record_index: None,
                raw_event: None,
            };
            let mut h = Fnv(0xcbf2_9ce4_8422_2325);
            finding.rule.id.hash(&mut h);
            event_id.hash(&mut h);
            assert_eq!(finding.stable_id(), format!("{:016x}", h.finish()));
        }
    }
}
