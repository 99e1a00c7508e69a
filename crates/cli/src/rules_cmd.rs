//! `firebreak rules list|check`, and the rule-loading options shared with `scan`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use firebreak_detect::{LoadReport, RuleKind, RuleLoader, RuleOutcome, RuleSet};
use firebreak_events::sanitize::{for_csv_cell, for_terminal};

use crate::output::ListingArgs;

/// Where rules come from: the built-in pack and any `--rules` folders or files.
#[derive(Debug, Clone, Args)]
pub struct RuleSourceArgs {
    /// A Sigma rule file or folder (recursively); may be repeated.
    #[arg(long = "rules", short = 'r')]
    pub rules: Vec<PathBuf>,
    /// Do not load firebreak's built-in rule pack.
    #[arg(long)]
    pub no_builtin: bool,
}

/// `firebreak rules ...`
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules that load: id, title, level, author, source file.
    List {
        #[command(flatten)]
        source: RuleSourceArgs,
        #[command(flatten)]
        listing: ListingArgs,
    },
    /// Check every rule: ok, skipped (not for CloudTrail) or why it cannot be used.
    Check {
        #[command(flatten)]
        source: RuleSourceArgs,
        #[command(flatten)]
        listing: ListingArgs,
    },
    /// Compile the single-event rules into SQL over Athena's `cloudtrail` table, for
    /// Athena (Trino), Spark SQL or DuckDB; rules that cannot be expressed are listed
    /// with the reason.
    Sql {
        /// The SQL dialect: athena, spark or duckdb.
        #[arg(long, default_value = "athena")]
        dialect: String,
        /// The table name to query.
        #[arg(long, default_value = "cloudtrail")]
        table: String,
        /// Print one query returning (rule_id, eventid) for every match of every rule,
        /// instead of one commented query per rule.
        #[arg(long)]
        matches_query: bool,
        #[command(flatten)]
        source: RuleSourceArgs,
        /// Write to this file instead of standard output.
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
}

/// Loads the rules the arguments name; returns the compiled set and the per-rule report.
pub fn load_rules_with_report(source: &RuleSourceArgs) -> anyhow::Result<(RuleSet, LoadReport)> {
    let mut loader = RuleLoader::new(Default::default());
    if !source.no_builtin {
        loader.add_builtin();
    }
    for path in &source.rules {
        if !path.exists() {
            anyhow::bail!("rules path {} does not exist", path.display());
        }
        loader.add_path(path);
    }
    Ok(loader.finish())
}

/// Loads the rules for a scan; with `verbose`, says on stderr how many could not be used.
pub fn load_rules(source: &RuleSourceArgs, verbose: bool) -> anyhow::Result<RuleSet> {
    let (set, report) = load_rules_with_report(source)?;
    let errors = report.rules.iter().filter(|r| matches!(r.outcome, RuleOutcome::Error(_))).count();
    if verbose && errors > 0 {
        eprintln!("firebreak: {errors} rule(s) could not be used; `firebreak rules check` says why");
    }
    if set.rules().is_empty() {
        anyhow::bail!("no usable rules: pass --rules DIR or drop --no-builtin");
    }
    Ok(set)
}

/// Runs a `rules` subcommand.
pub fn run(cmd: RulesCommand) -> anyhow::Result<i32> {
    match cmd {
        RulesCommand::List { source, listing } => {
            let (set, _) = load_rules_with_report(&source)?;
            let rows: Vec<[String; 6]> = set
                .rules()
                .iter()
                .map(|m| {
                    [
                        m.id.clone(),
                        m.title.clone(),
                        m.level.to_string(),
                        m.author.clone().unwrap_or_default(),
                        match m.kind { RuleKind::Single => "single", RuleKind::Correlation(_) => "correlation" }.to_string(),
                        m.origin.clone(),
                    ]
                })
                .collect();
            write_rows(&listing, &["id", "title", "level", "author", "kind", "source"], &rows)?;
            Ok(0)
        }
        RulesCommand::Sql { dialect, table, matches_query, source, output } => {
            let dialect: firebreak_detect::SqlDialect =
                dialect.parse().map_err(|e| anyhow::anyhow!("--dialect: {e}"))?;
            let (set, _) = load_rules_with_report(&source)?;
            let (compiled, skipped) = firebreak_detect::compile_rules(&set, dialect);
            let text = if matches_query {
                firebreak_detect::matches_query(&compiled, &table)
            } else {
                firebreak_detect::render_script(&compiled, &skipped, dialect, &table)
            };
            match output {
                Some(path) => std::fs::write(&path, text.as_bytes())
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?,
                None => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(text.as_bytes())?;
                    out.flush()?;
                }
            }
            eprintln!("{} rule(s) compiled to {} SQL, {} skipped", compiled.len(), dialect.as_str(), skipped.len());
            Ok(0)
        }
        RulesCommand::Check { source, listing } => {
            let (_, report) = load_rules_with_report(&source)?;
            let rows: Vec<[String; 5]> = report
                .rules
                .iter()
                .map(|r| {
                    let (status, reason) = outcome_text(&r.outcome);
                    [status.to_string(), r.id.clone(), r.title.clone(), r.origin.clone(), reason]
                })
                .collect();
            write_rows(&listing, &["status", "id", "title", "source", "reason"], &rows)?;
            let bad = report.rules.iter().filter(|r| matches!(r.outcome, RuleOutcome::Error(_))).count();
            eprintln!("{} ok, {} skipped (not CloudTrail), {bad} unusable", report.ok_count(), report.skipped_count());
            Ok(if bad > 0 { 1 } else { 0 })
        }
    }
}

/// Writes rows as a table, JSON lines or CSV.
pub fn write_rows<const N: usize>(listing: &ListingArgs, header: &[&str], rows: &[[String; N]]) -> anyhow::Result<()> {
    let mut out = listing.open()?;
    match listing.format.as_str() {
        "jsonl" | "json" => {
            for row in rows {
                let obj: serde_json::Map<String, serde_json::Value> =
                    header.iter().zip(row.iter()).map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone()))).collect();
                serde_json::to_writer(&mut out, &obj)?;
                out.write_all(b"\n")?;
            }
        }
        "csv" => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(header)?;
            for row in rows {
                w.write_record(row.iter().map(|c| for_csv_cell(c).into_owned()))?;
            }
            w.flush()?;
        }
        "table" => {
            let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
            let clean: Vec<Vec<String>> =
                rows.iter().map(|r| r.iter().map(|c| for_terminal(c).into_owned()).collect()).collect();
            for row in &clean {
                for (w, c) in widths.iter_mut().zip(row) {
                    *w = (*w).max(c.chars().count()).min(60);
                }
            }
            let line = |cells: &[String]| -> String {
                let mut s = String::new();
                for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
                    let text: String = c.chars().take(*w).collect();
                    if i + 1 == cells.len() {
                        s.push_str(&text);
                    } else {
                        s.push_str(&format!("{text:<w$}  ", w = *w));
                    }
                }
                s.trim_end().to_string()
            };
            writeln!(out, "{}", line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>()))?;
            for row in &clean {
                writeln!(out, "{}", line(row))?;
            }
        }
        other => anyhow::bail!("unknown format '{other}' (expected table, jsonl or csv)"),
    }
    out.flush()?;
    Ok(())
}

/// A rule outcome as a status word and a reason.
fn outcome_text(outcome: &RuleOutcome) -> (&'static str, String) {
    match outcome {
        RuleOutcome::Ok(_) => ("ok", String::new()),
        RuleOutcome::Skipped(reason) => ("skipped", reason.clone()),
        RuleOutcome::Error(err) => ("error", err.to_string()),
    }
}
