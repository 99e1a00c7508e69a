//! `firebreak playbook run`: the playbook runner (crate `firebreak-playbooks`) wired to
//! the case store and its queries, the findings stored at ingest, and the respond
//! actions through the AWS SDK.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;
use clap::Args;
use firebreak_events::sanitize::for_terminal;
use firebreak_playbooks::model::{FactDecl, RuleSelector};
use firebreak_playbooks::run::{
    run_playbook, ActionOutcome, BackendError, CaseBackend, DetectOutcome, ManualAnswer, ManualStatus, Operator,
    RuleHits, RunOptions, RunProgress, StepTable, Unattended,
};
use firebreak_playbooks::{Catalogue, Step};
use firebreak_query::{CaseQuery, Table};
use firebreak_store::CaseStore;

use crate::playbook_cmd::{load_library, PlaybookSourceArgs};
use crate::rules_cmd::{load_rules_with_report, RuleSourceArgs};

/// `firebreak playbook run`
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Playbook id (`amazon-q`) or path to a playbook file.
    pub playbook: String,
    #[command(flatten)]
    pub source: PlaybookSourceArgs,
    /// Rules that `detect` steps may select, besides the built-in pack.
    #[command(flatten)]
    pub rules: RuleSourceArgs,
    /// Run every automatic step, ask nothing, and list the manual steps left.
    #[arg(long)]
    pub non_interactive: bool,
    /// Apply the actions (non-interactively: all of them; interactively: each one you
    /// confirm). Without it actions are only planned.
    #[arg(long)]
    pub apply_actions: bool,
    /// A fact for this run, `NAME=VALUE` (e.g. `account_environment=production`); may be repeated.
    #[arg(long = "fact", value_name = "NAME=VALUE")]
    pub facts: Vec<String>,
    /// Who runs the playbook (recorded with every step); default: `$USER`.
    #[arg(long)]
    pub operator: Option<String>,
    /// Act even on resources carrying the protection tag.
    #[arg(long)]
    pub force: bool,
    /// Refuse to act unless the credentials are for this account.
    #[arg(long)]
    pub account: Option<String>,
}

/// Turns a store table into the runner's.
fn step_table(table: Table) -> StepTable {
    StepTable { columns: table.columns, rows: table.rows }
}

/// The timeline filters that may name several values (a step output joined with `,`).
const MULTI_VALUE_PARAMS: &[&str] = &["access_key", "principal", "ip", "resource", "event_name", "event_source"];

/// The case, its queries, its findings and AWS, as the runner sees them.
struct CliBackend {
    query: CaseQuery,
    catalogue: Catalogue,
    actions: ActionBackend,
}

impl CliBackend {
    /// Runs a query once per value when a filter names several (`a,b`), merging the rows
    /// (timeline rows stay in time order; duplicates by event id are dropped).
    fn query_values(&self, name: &str, params: &BTreeMap<String, String>) -> Result<Table, String> {
        let multi = (name != "sql")
            .then(|| {
                params.iter().find(|(k, v)| MULTI_VALUE_PARAMS.contains(&k.as_str()) && v.contains(','))
            })
            .flatten();
        let Some((key, values)) = multi else {
            return self.query.run_named(name, params).map_err(|e| e.to_string());
        };
        let mut merged: Option<Table> = None;
        for value in values.split(',').map(str::trim).filter(|v| !v.is_empty()) {
            let mut one = params.clone();
            one.insert(key.clone(), value.to_string());
            let table = self.query_values(name, &one)?;
            match &mut merged {
                None => merged = Some(table),
                Some(all) => all.rows.extend(table.rows),
            }
        }
        let mut table = merged.unwrap_or_default();
        if name == "timeline" {
            let time = table.column_index("eventtime");
            let id = table.column_index("eventid");
            if let (Some(t), Some(i)) = (time, id) {
                table.rows.sort_by(|a, b| (a.get(t), a.get(i)).cmp(&(b.get(t), b.get(i))));
                table.rows.dedup_by(|a, b| a.get(i) == b.get(i));
            }
        }
        Ok(table)
    }
}

impl CaseBackend for CliBackend {
    fn query(&mut self, name: &str, params: &BTreeMap<String, String>) -> Result<StepTable, BackendError> {
        self.query_values(name, params).map(step_table).map_err(BackendError::Failed)
    }

    fn detect(&mut self, rules: &[RuleSelector]) -> Result<DetectOutcome, BackendError> {
        let mut ids: Vec<String> = rules.iter().flat_map(|s| self.catalogue.select(s)).map(|r| r.id.clone()).collect();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            return Ok(DetectOutcome::default());
        }
        let list = ids.iter().map(|id| format!("'{}'", id.replace('\'', "''"))).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT rule_id, rule_title, level, count(*) AS n FROM findings WHERE rule_id IN ({list}) \
             GROUP BY rule_id, rule_title, level ORDER BY n DESC, rule_id"
        );
        let table = self.query.sql(&sql).map_err(|e| BackendError::Failed(e.to_string()))?;
        let hits = table
            .rows
            .iter()
            .map(|row| {
                let cell = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
                RuleHits { rule_id: cell(0), rule_title: cell(1), level: cell(2), count: cell(3).parse().unwrap_or(0) }
            })
            .collect();
        Ok(DetectOutcome { rules_run: ids.len(), hits })
    }

    fn plan_action(&mut self, action: &str, params: &BTreeMap<String, String>) -> Result<ActionOutcome, BackendError> {
        self.actions.plan(action, params)
    }

    fn apply_action(&mut self, action: &str, params: &BTreeMap<String, String>) -> Result<ActionOutcome, BackendError> {
        self.actions.apply(action, params)
    }
}

/// The respond actions, through the AWS SDK; connects on first use.
struct ActionBackend {
    #[cfg(feature = "aws")]
    aws: crate::respond::GlobalAwsArgs,
    #[cfg(feature = "aws")]
    responder: Option<firebreak_aws::Responder>,
    #[cfg(feature = "aws")]
    case: firebreak_evidence::Case,
    #[cfg(feature = "aws")]
    guard: firebreak_aws::Guardrails,
}

#[cfg(feature = "aws")]
impl ActionBackend {
    fn responder(&mut self) -> Result<&firebreak_aws::Responder, BackendError> {
        if self.responder.is_none() {
            let session = crate::s3_input::connect(&self.aws).map_err(|e| BackendError::Failed(format!("{e:#}")))?;
            self.responder = Some(firebreak_aws::Responder::new(session));
        }
        self.responder.as_ref().ok_or_else(|| BackendError::Failed("no AWS connection".into()))
    }

    fn request(action: &str, params: &BTreeMap<String, String>) -> Result<firebreak_aws::Request, BackendError> {
        use firebreak_aws::Request;
        let text = |k: &str| params.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let need = |k: &str| text(k).ok_or_else(|| BackendError::Failed(format!("{action}: parameter {k} is required")));
        let flag = |k: &str| text(k).is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "1"));
        Ok(match action {
            "contain access-key" => Request::ContainAccessKey {
                access_key_id: need("access_key_id")?,
                user_name: text("user"),
                revoke_sessions: flag("revoke_sessions"),
            },
            "contain instance" => Request::ContainInstance {
                instance_id: need("instance_id")?,
                forensic_account: text("forensic_account"),
                ticket: text("ticket"),
                decrement_capacity: flag("decrement_capacity"),
                quarantine_group_name: text("quarantine_group").unwrap_or_else(|| "firebreak-quarantine".into()),
            },
            "contain role" => Request::ContainRole { role_name: need("role_name")?, revoke_sessions: flag("revoke_sessions") },
            "contain bucket" => Request::ContainBucket { bucket: need("bucket")?, block_public: flag("block_public") },
            "eradicate user" => Request::EradicateUser { user_name: need("user_name")? },
            "eradicate role" => Request::EradicateRole { role_name: need("role_name")? },
            "eradicate policy" => Request::EradicatePolicy { policy_arn: need("policy_arn")? },
            "eradicate access-key" => {
                Request::EradicateAccessKey { access_key_id: need("access_key_id")?, user_name: text("user") }
            }
            "eradicate qbusiness-app" => Request::EradicateQBusinessApp {
                application_id: need("application_id")?,
                with_retrievers: flag("with_retrievers"),
                with_data_sources: flag("with_data_sources"),
                with_plugins: flag("with_plugins"),
            },
            "recover cloudtrail" => Request::RecoverCloudTrail { trail: need("trail")? },
            other => return Err(BackendError::Failed(format!("unknown action {other:?}"))),
        })
    }

    fn plan(&mut self, action: &str, params: &BTreeMap<String, String>) -> Result<ActionOutcome, BackendError> {
        let request = Self::request(action, params)?;
        let guard = self.guard.clone();
        let plan = self.responder()?.plan(&request, &guard).map_err(|e| BackendError::Failed(e.to_string()))?;
        Ok(ActionOutcome {
            summary: format!("{} ({} step{})", plan.command, plan.steps.len(), if plan.steps.len() == 1 { "" } else { "s" }),
            details: firebreak_aws::render::plan_text(&plan).lines().map(str::to_string).collect(),
        })
    }

    fn apply(&mut self, action: &str, params: &BTreeMap<String, String>) -> Result<ActionOutcome, BackendError> {
        let request = Self::request(action, params)?;
        self.responder()?;
        let responder = self.responder.as_ref().ok_or_else(|| BackendError::Failed("no AWS connection".into()))?;
        let plan = responder.plan(&request, &self.guard).map_err(|e| BackendError::Failed(e.to_string()))?;
        let report = responder
            .apply(&plan, &self.case, firebreak_aws::ApplyOptions { continue_without_evidence: false })
            .map_err(|e| BackendError::Failed(e.to_string()))?;
        let details: Vec<String> = firebreak_aws::render::report_text(&report).lines().map(str::to_string).collect();
        if !report.succeeded() {
            return Err(BackendError::Failed(format!("{}: not every step succeeded: {}", plan.command, details.join(" | "))));
        }
        Ok(ActionOutcome { summary: format!("{}: {} change(s) applied", plan.command, report.changed()), details })
    }
}

#[cfg(not(feature = "aws"))]
impl ActionBackend {
    fn plan(&mut self, action: &str, _: &BTreeMap<String, String>) -> Result<ActionOutcome, BackendError> {
        Err(BackendError::Failed(format!("{action}: this firebreak was built without AWS support")))
    }
    fn apply(&mut self, action: &str, params: &BTreeMap<String, String>) -> Result<ActionOutcome, BackendError> {
        self.plan(action, params)
    }
}

/// A person at a terminal: questions on stderr, answers from stdin.
struct Console;

impl Console {
    fn ask(prompt: &str) -> Option<String> {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim().to_string()),
        }
    }
}

impl Operator for Console {
    fn confirm_action(&mut self, step: &Step, plan: &ActionOutcome) -> bool {
        eprintln!("\n  action {}: {}", step.id, for_terminal(&plan.summary));
        for line in &plan.details {
            eprintln!("    {}", for_terminal(line));
        }
        matches!(Console::ask("  apply it? [y/N] ").as_deref(), Some("y" | "Y" | "yes"))
    }

    fn manual_step(&mut self, step: &Step) -> ManualAnswer {
        eprintln!("\n  manual step {}: {}", step.id, for_terminal(&step.title));
        if let Some(who) = &step.who {
            eprintln!("    who: {}", for_terminal(who));
        }
        let status = match Console::ask("  done? [y]es / [n]ot yet / [s]kip: ").as_deref() {
            Some("y" | "Y" | "yes") => ManualStatus::Done,
            Some("s" | "S" | "skip") => ManualStatus::Skip,
            _ => ManualStatus::NotDone,
        };
        let notes = if status == ManualStatus::NotDone { None } else { Console::ask("  notes (enter for none): ").filter(|n| !n.is_empty()) };
        ManualAnswer { status, notes }
    }

    fn answer_question(&mut self, step: &Step, automatic: &str, _evidence: &[StepTable]) -> Option<String> {
        eprintln!("\n  question {}: {}", step.id, for_terminal(step.question.as_deref().unwrap_or(&step.title)));
        eprintln!("  automatic answer: {}", for_terminal(automatic));
        Console::ask("  your answer (enter keeps the automatic one): ").filter(|a| !a.is_empty())
    }

    fn provide_fact(&mut self, name: &str, decl: &FactDecl) -> Option<String> {
        let choices = if decl.values.is_empty() { String::new() } else { format!(" [{}]", decl.values.join("/")) };
        Console::ask(&format!("  fact {name} ({}){choices}: ", for_terminal(&decl.description))).filter(|v| !v.is_empty())
    }
}

fn parse_facts(facts: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    facts
        .iter()
        .map(|f| {
            f.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .filter(|(k, _)| !k.is_empty())
                .with_context(|| format!("--fact {f:?}: expected NAME=VALUE"))
        })
        .collect()
}

fn operator_name(given: Option<String>) -> String {
    given
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("USERNAME").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn show_progress(p: &RunProgress) {
    let place = format!("[{} {}/{}]", p.phase.title(), p.position, p.total);
    match (&p.status, p.from_earlier_run) {
        (None, _) => eprintln!("{place} {} {}: {}", p.kind.key(), p.step_id, for_terminal(&p.title)),
        (Some(status), true) => eprintln!("{place} {} (done earlier: {})", p.step_id, status.as_str()),
        (Some(status), false) => {
            let note = p.note.as_deref().map(|n| format!(": {}", for_terminal(&n.chars().take(300).collect::<String>()))).unwrap_or_default();
            eprintln!("    -> {}{note}", status.as_str());
        }
    }
}

/// Runs `firebreak playbook run`.
pub fn run(args: RunArgs, case: Option<&str>, aws: &crate::AwsArgs) -> anyhow::Result<i32> {
    let store: CaseStore = crate::investigate::open_case(case)?;
    let library = load_library(&args.source)?;
    let (rule_set, _) = load_rules_with_report(&args.rules)?;
    let catalogue = Catalogue::from_rules(rule_set.rules());
    let loaded = crate::playbook_cmd::find_playbook(&library, &args.playbook, &catalogue)?;
    let playbook = loaded.playbook.clone();
    let query = CaseQuery::open(&store).with_context(|| format!("reading case {}", store.dir().display()))?;
    #[cfg(feature = "aws")]
    let actions = {
        let mut aws = aws.clone();
        aws.case = Some(store.dir().display().to_string());
        let case = firebreak_evidence::Case::open_or_create(firebreak_evidence::CaseLocation {
            name: store.info().name.clone(),
            dir: store.dir().to_path_buf(),
        })?;
        let guard = firebreak_aws::Guardrails {
            protected_tag_key: std::env::var("FIREBREAK_PROTECTED_TAG_KEY")
                .unwrap_or_else(|_| firebreak_aws::DEFAULT_PROTECTED_TAG_KEY.to_string()),
            force: args.force,
            expected_account: args.account.clone(),
        };
        ActionBackend { aws, responder: None, case, guard }
    };
    #[cfg(not(feature = "aws"))]
    let actions = {
        let _ = (aws, &args.force, &args.account);
        ActionBackend {}
    };
    let mut backend = CliBackend { query, catalogue, actions };
    let interactive = !args.non_interactive && std::io::stdin().is_terminal();
    if !args.non_interactive && !interactive {
        eprintln!("firebreak: standard input is not a terminal: running non-interactively");
    }
    let opts = RunOptions {
        non_interactive: !interactive,
        apply_actions: args.apply_actions,
        operator: operator_name(args.operator),
        facts: parse_facts(&args.facts)?,
        ..RunOptions::default()
    };
    eprintln!("playbook {} ({}) on case {}", playbook.id, for_terminal(&playbook.title), store.dir().display());
    let mut progress = |p: &RunProgress| show_progress(p);
    let summary = if interactive {
        run_playbook(&playbook, store.dir(), &mut backend, &mut Console, &opts, &mut progress)
    } else {
        run_playbook(&playbook, store.dir(), &mut backend, &mut Unattended, &opts, &mut progress)
    }
    .with_context(|| format!("running playbook {}", playbook.id))?;
    let c = &summary.counts;
    println!(
        "playbook {}: {} done, {} skipped, {} planned, {} open, {} failed (log {})",
        summary.playbook_id,
        c.done,
        c.skipped,
        c.planned,
        c.open,
        c.failed,
        summary.log_path.display()
    );
    if !summary.open.is_empty() {
        println!("left to do:");
        for step in &summary.open {
            let who = step.who.as_deref().map(|w| format!(" ({})", for_terminal(w))).unwrap_or_default();
            let why = step.reason.as_deref().map(|r| format!(": {}", for_terminal(r))).unwrap_or_default();
            println!(
                "  [{}] {} {} {}{who} - {}{why}",
                step.phase.title(),
                step.status.as_str(),
                step.kind.key(),
                step.id,
                for_terminal(&step.title)
            );
        }
    }
    Ok(if c.failed > 0 { 1 } else { 0 })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use firebreak_playbooks::catalogue::QUERIES;
    use firebreak_query::{
        ANOMALY_COLUMNS, NAMED_QUERIES, RESOURCES_COLUMNS, SUMMARY_COLUMNS, TIMELINE_COLUMNS,
    };

    /// The playbook catalogue (what `playbook lint` checks steps against) and the query
    /// crate's `run_named` (what a run executes) describe the same queries in two crates
    /// that do not depend on each other: this keeps them in step.
    #[test]
    fn playbook_catalogue_and_named_queries_agree() {
        let outputs = |name: &str| -> Option<&'static [&'static str]> {
            match name {
                "timeline" => Some(TIMELINE_COLUMNS),
                "summary" => Some(SUMMARY_COLUMNS),
                "resources" => Some(RESOURCES_COLUMNS),
                "anomalies" => Some(ANOMALY_COLUMNS),
                _ => None,
            }
        };
        let named: BTreeSet<&str> = NAMED_QUERIES.iter().map(|q| q.name).collect();
        let listed: BTreeSet<&str> = QUERIES.iter().map(|q| q.name).collect();
        assert_eq!(named, listed, "the same queries in both");
        for spec in QUERIES {
            let query = NAMED_QUERIES.iter().find(|q| q.name == spec.name).expect("named");
            let required: BTreeSet<&str> =
                spec.params.iter().filter(|p| p.required).map(|p| p.name).collect();
            assert_eq!(required, query.required.iter().copied().collect(), "{}: required", spec.name);
            for param in spec.params.iter().filter(|p| !p.required) {
                assert!(query.optional.contains(&param.name), "{}: {} not taken", spec.name, param.name);
            }
            if let Some(columns) = outputs(spec.name) {
                for column in spec.columns {
                    assert!(columns.contains(column), "{}: no column {column}", spec.name);
                }
            } else {
                assert!(spec.columns.is_empty(), "{}: columns of a free query", spec.name);
            }
        }
    }
}
