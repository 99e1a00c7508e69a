//! `firebreak playbook list|show|lint`: the shipped playbooks and the user's own.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use firebreak_events::sanitize::for_terminal;
use firebreak_playbooks::{
    has_errors, lint, load_file, render_markdown, Catalogue, Issue, Library, Limits,
    LoadedPlaybook, StepKind,
};

use crate::output::ListingArgs;
use crate::rules_cmd::{load_rules_with_report, write_rows, RuleSourceArgs};

/// Where playbooks come from: the shipped ones and any `--playbooks` folders or files.
#[derive(Debug, Clone, Args)]
pub struct PlaybookSourceArgs {
    /// A folder of playbooks (`*.yaml`, `*.yml`) or one playbook file; may be repeated.
    /// A playbook with the id of a shipped one replaces it.
    #[arg(long = "playbooks", short = 'p')]
    pub playbooks: Vec<PathBuf>,
    /// Do not load the shipped playbooks.
    #[arg(long)]
    pub no_builtin_playbooks: bool,
}

/// `firebreak playbook ...`
#[derive(Debug, Subcommand)]
pub enum PlaybookCommand {
    /// List playbooks: id, title, category, TTPs, phases, steps.
    List {
        #[command(flatten)]
        source: PlaybookSourceArgs,
        #[command(flatten)]
        listing: ListingArgs,
    },
    /// Show a playbook (by id or file) as a readable Markdown document.
    Show {
        /// Playbook id (`amazon-q`) or path to a playbook file.
        playbook: String,
        #[command(flatten)]
        source: PlaybookSourceArgs,
        /// Write to this file instead of standard output.
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
    /// Run a playbook over a case, step by step; resumes where an earlier run stopped.
    #[cfg(feature = "investigate")]
    Run(crate::playbook_run::RunArgs),
    /// Check playbooks (files or ids; all loaded ones when none is given): errors with
    /// line numbers; exit 1 when any playbook has errors.
    Lint {
        /// Playbook files or ids.
        targets: Vec<String>,
        #[command(flatten)]
        source: PlaybookSourceArgs,
        /// Rules that `detect` steps may reference, besides the built-in pack.
        #[command(flatten)]
        rules: RuleSourceArgs,
        /// Also fail (exit 1) on warnings.
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        listing: ListingArgs,
    },
}

pub fn load_library(source: &PlaybookSourceArgs) -> anyhow::Result<Library> {
    for path in &source.playbooks {
        if !path.exists() {
            anyhow::bail!("playbooks path {} does not exist", path.display());
        }
    }
    Ok(Library::load(
        !source.no_builtin_playbooks,
        &source.playbooks,
        &Limits::default(),
    ))
}

fn report_load_issues(library: &Library) {
    for issue in &library.issues {
        eprintln!("firebreak: {}", for_terminal(&issue.to_string()));
    }
}

/// A playbook named by id, or a file path.
fn find(library: &Library, spec: &str) -> Result<LoadedPlaybook, Issue> {
    if let Some(found) = library.get(spec) {
        return Ok(found.clone());
    }
    let path = Path::new(spec);
    if !path.exists() {
        return Err(Issue {
            file: spec.to_owned(),
            line: None,
            path: String::new(),
            severity: firebreak_playbooks::Severity::Error,
            message: "no playbook with this id, and no such file".to_owned(),
        });
    }
    load_file(path, &Limits::default())
}

/// The playbook to run: by id or file, refused when lint finds errors in it.
#[cfg(feature = "investigate")]
pub fn find_playbook(library: &Library, spec: &str, catalogue: &Catalogue) -> anyhow::Result<LoadedPlaybook> {
    let loaded = find(library, spec).map_err(|issue| anyhow::anyhow!("{}", for_terminal(&issue.to_string())))?;
    let issues = lint(&loaded, catalogue);
    if has_errors(&issues) {
        for issue in &issues {
            eprintln!("firebreak: {}", for_terminal(&issue.to_string()));
        }
        anyhow::bail!("playbook {spec} has errors (see `firebreak playbook lint {spec}`)");
    }
    Ok(loaded)
}

fn kinds_text(loaded: &LoadedPlaybook) -> String {
    let kinds = [
        StepKind::Manual,
        StepKind::Detect,
        StepKind::Query,
        StepKind::Question,
        StepKind::Action,
        StepKind::Decision,
    ];
    kinds
        .iter()
        .map(|k| (k, loaded.playbook.count_kind(*k)))
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{} {n}", k.key()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs a `playbook` subcommand.
pub fn run(cmd: PlaybookCommand) -> anyhow::Result<i32> {
    match cmd {
        PlaybookCommand::List { source, listing } => {
            let library = load_library(&source)?;
            report_load_issues(&library);
            let rows: Vec<[String; 8]> = library
                .playbooks
                .iter()
                .map(|l| {
                    let pb = &l.playbook;
                    [
                        pb.id.clone(),
                        pb.title.clone(),
                        pb.classification.category.clone(),
                        pb.classification.ttps.join(" "),
                        pb.phases.len().to_string(),
                        pb.steps().count().to_string(),
                        kinds_text(l),
                        l.origin.clone(),
                    ]
                })
                .collect();
            write_rows(
                &listing,
                &[
                    "id", "title", "category", "ttps", "phases", "steps", "kinds", "source",
                ],
                &rows,
            )?;
            Ok(if library.issues.is_empty() { 0 } else { 1 })
        }
        PlaybookCommand::Show {
            playbook,
            source,
            output,
        } => {
            let library = load_library(&source)?;
            let loaded = match find(&library, &playbook) {
                Ok(loaded) => loaded,
                Err(issue) if Path::new(&playbook).exists() => anyhow::bail!("{issue}"),
                Err(_) => {
                    let ids: Vec<&str> = library
                        .playbooks
                        .iter()
                        .map(|p| p.playbook.id.as_str())
                        .collect();
                    anyhow::bail!("no playbook '{playbook}' (known: {})", ids.join(", "));
                }
            };
            let text = render_markdown(&loaded.playbook);
            match output {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => {
                    let mut out = std::io::stdout().lock();
                    for line in text.lines() {
                        writeln!(out, "{}", for_terminal(line))?;
                    }
                    out.flush()?;
                }
            }
            Ok(0)
        }
        #[cfg(feature = "investigate")]
        PlaybookCommand::Run(_) => anyhow::bail!("internal error: `playbook run` is dispatched by main"),
        PlaybookCommand::Lint {
            targets,
            source,
            rules,
            strict,
            listing,
        } => {
            let library = load_library(&source)?;
            let (rule_set, _) = load_rules_with_report(&rules)?;
            let catalogue = Catalogue::from_rules(rule_set.rules());
            let mut issues: Vec<Issue> = Vec::new();
            let mut checked = 0usize;
            if targets.is_empty() {
                issues.extend(library.issues.iter().cloned());
                for loaded in &library.playbooks {
                    checked += 1;
                    issues.extend(lint(loaded, &catalogue));
                }
            } else {
                for target in &targets {
                    checked += 1;
                    match find(&library, target) {
                        Ok(loaded) => issues.extend(lint(&loaded, &catalogue)),
                        Err(issue) => issues.push(issue),
                    }
                }
            }
            if listing.format == "table" {
                let mut out = listing.open()?;
                for issue in &issues {
                    writeln!(out, "{}", for_terminal(&issue.to_string()))?;
                }
                out.flush()?;
            } else {
                let rows: Vec<[String; 5]> = issues
                    .iter()
                    .map(|i| {
                        [
                            i.file.clone(),
                            i.line.map(|l| l.to_string()).unwrap_or_default(),
                            i.severity.as_str().to_string(),
                            i.path.clone(),
                            i.message.clone(),
                        ]
                    })
                    .collect();
                write_rows(
                    &listing,
                    &["file", "line", "severity", "path", "message"],
                    &rows,
                )?;
            }
            let errors = issues
                .iter()
                .filter(|i| i.severity == firebreak_playbooks::Severity::Error)
                .count();
            let warnings = issues.len() - errors;
            eprintln!("{checked} playbook(s) checked: {errors} error(s), {warnings} warning(s)");
            Ok(if has_errors(&issues) || (strict && warnings > 0) {
                1
            } else {
                0
            })
        }
    }
}
