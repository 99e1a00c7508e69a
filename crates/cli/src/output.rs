//! Where listing commands write: `--output FILE` or standard output, and whether to
//! colour it.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

/// `--format` and `--output`, shared by every command that lists things.
#[derive(Debug, Clone, Args)]
pub struct ListingArgs {
    /// Output format: table, jsonl or csv (scan also takes ocsf, asff, timesketch).
    #[arg(long, short = 'f', default_value = "table")]
    pub format: String,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Colour: auto (when writing to a terminal), always or never.
    #[arg(long, default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub color: String,
}

impl ListingArgs {
    /// Opens the destination.
    pub fn open(&self) -> anyhow::Result<Box<dyn Write + Send>> {
        Ok(match &self.output {
            Some(path) => Box::new(BufWriter::new(
                File::create(path).with_context(|| format!("cannot create output file {}", path.display()))?,
            )),
            None => Box::new(BufWriter::with_capacity(256 * 1024, io::stdout())),
        })
    }

    /// Whether to colour table output.
    pub fn color(&self) -> bool {
        match self.color.as_str() {
            "always" => true,
            "never" => false,
            _ => self.output.is_none() && io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

#[cfg_attr(not(feature = "investigate"), allow(dead_code))]
/// Writes a result table (named columns, optional text cells) as a table, JSON lines or
/// CSV. Cells are log data, so they are neutralised for the terminal (table) and for
/// spreadsheets (CSV); JSON lines keep them as they are, with `null` for an empty cell.
pub fn write_cells(listing: &ListingArgs, columns: &[String], rows: &[Vec<Option<String>>]) -> anyhow::Result<()> {
    use firebreak_events::sanitize::{for_csv_cell, for_terminal};
    let mut out = listing.open()?;
    match listing.format.as_str() {
        "jsonl" | "json" => {
            for row in rows {
                let obj: serde_json::Map<String, serde_json::Value> = columns
                    .iter()
                    .zip(row.iter())
                    .map(|(k, v)| (k.clone(), v.clone().map_or(serde_json::Value::Null, serde_json::Value::String)))
                    .collect();
                serde_json::to_writer(&mut out, &obj)?;
                out.write_all(b"\n")?;
            }
        }
        "csv" => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(columns)?;
            for row in rows {
                w.write_record(row.iter().map(|c| for_csv_cell(c.as_deref().unwrap_or("")).into_owned()))?;
            }
            w.flush()?;
        }
        "table" => {
            const MAX_WIDTH: usize = 60;
            let clean: Vec<Vec<String>> = rows
                .iter()
                .map(|r| r.iter().map(|c| for_terminal(c.as_deref().unwrap_or("")).replace(['\n', '\r', '\t'], " ")).collect())
                .collect();
            let mut widths: Vec<usize> = columns.iter().map(|h| h.chars().count()).collect();
            for row in &clean {
                for (w, c) in widths.iter_mut().zip(row) {
                    *w = (*w).max(c.chars().count()).min(MAX_WIDTH);
                }
            }
            let line = |cells: &[String]| -> String {
                let mut s = String::new();
                for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
                    let count = c.chars().count();
                    let text: String = if count > *w {
                        c.chars().take(w.saturating_sub(1)).chain(std::iter::once('…')).collect()
                    } else {
                        c.clone()
                    };
                    if i + 1 == cells.len() {
                        s.push_str(&text);
                    } else {
                        s.push_str(&format!("{text:<w$}  ", w = *w));
                    }
                }
                s.trim_end().to_string()
            };
            writeln!(out, "{}", line(columns))?;
            for row in &clean {
                writeln!(out, "{}", line(row))?;
            }
        }
        other => anyhow::bail!("unknown format '{other}' (expected table, jsonl or csv)"),
    }
    out.flush()?;
    Ok(())
}
