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
