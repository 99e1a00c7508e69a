//! Running a playbook over a case (`firebreak playbook run`).
//!
//! The runner walks the steps in phase order, runs each through a [`CaseBackend`] (the
//! case's queries and detections, the respond actions) and an [`Operator`] (the person at
//! the keyboard), and appends one record per step attempt to
//! `<case>/playbooks/<playbook-id>/run.jsonl` (see [`record`]), synced after each line.
//!
//! **Resume.** Running again continues where the last run stopped: steps whose last
//! record is `done` or `skipped` are not run again, and their recorded outputs feed
//! substitutions and decisions. Steps left `open`, `planned` (an action not applied) or
//! `failed` are attempted again. An action invocation already applied is never applied
//! twice.
//!
//! **Substitution.** `${fact}` takes the value from [`RunOptions::facts`], else the
//! case's `case.json` `facts`, else a fact an operator supplied in an earlier run.
//! `${steps.<id>.<output>}` takes the output of an earlier completed step. Outputs are
//! lists of values: `count` (rows or findings), `answer`, `choice` (the chosen step ids),
//! `status` (`applied`, `planned`, `declined`, `failed`), `findings` (one line per rule),
//! `done` and `notes` are single values; `rows` is the recorded rows as a JSON array of
//! objects; a declared column output is the column's **distinct non-empty values in
//! first-seen order**. A list is substituted as its values joined with `,` (in `sql`
//! parameters every substituted value has its single quotes doubled). An **action**
//! whose parameters reference a list of several values is planned once per value (at
//! most [`MAX_FAN_OUT`]), e.g. one `eradicate user` per user created by the attacker.
//! A reference that cannot be resolved (unknown fact, earlier step not completed, an
//! output with no value) leaves the step `open` with the reason; interactively the
//! operator is asked for the value first ([`Operator::provide_fact`]) and the value is
//! recorded as a fact.
//!
//! **Decisions.** A step named in some decision's `then` or `otherwise` runs only when a
//! decision chose it; once every decision naming it is settled without choosing it, it
//! is recorded `skipped` with the decision's explanation. A decision testing an output
//! of a step that is not completed stays open until that step completes, and one testing
//! a declared fact nobody gave (other than with `exists`) stays open until it is given
//! (interactively the operator is asked): the runner does not take the `otherwise`
//! branch of "production or not?" because the environment is unknown.

pub mod answer;
pub mod record;
pub mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::decision::{evaluate, Facts};
use crate::lint::references;
use crate::model::{Condition, FactDecl, PhaseName, Playbook, RuleSelector, Step, StepKind};
pub use record::{
    log_path, ActionRecord, AnswerRecord, DecisionRecord, DetectRecord, LogProblem, ManualRecord,
    QueryRecord, RunRecord, StatusCounts, StepRecord, StepStatus,
};
pub use state::{list_runs, PhaseProgress, RunOverview, RunState, StepState};

/// An action whose parameters name more values than this is not planned (the step
/// fails with a message asking to narrow it).
pub const MAX_FAN_OUT: usize = 25;

/// Rows a query returned: column names and text cells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepTable {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, one cell per column (`None`: null).
    pub rows: Vec<Vec<Option<String>>>,
}

impl StepTable {
    /// An empty table with these columns.
    pub fn new(columns: Vec<String>) -> StepTable {
        StepTable {
            columns,
            rows: Vec::new(),
        }
    }

    /// The position of a column: exact name, else case-insensitive, else the last word
    /// of the name (`useridentity.arn` is found as `arn`).
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c == name)
            .or_else(|| {
                self.columns
                    .iter()
                    .position(|c| c.eq_ignore_ascii_case(name))
            })
            .or_else(|| {
                let key = answer::column_key(name);
                self.columns
                    .iter()
                    .position(|c| answer::column_key(c) == key)
            })
    }

    /// The distinct non-empty values of a column, in first-seen order.
    pub fn distinct_values(&self, name: &str) -> Vec<String> {
        let Some(i) = self.column_index(name) else {
            return Vec::new();
        };
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for row in &self.rows {
            if let Some(Some(v)) = row.get(i) {
                let v = v.trim();
                if !v.is_empty() && seen.insert(v.to_string()) {
                    out.push(v.to_string());
                }
            }
        }
        out
    }
}

/// Findings of one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleHits {
    /// Rule id.
    pub rule_id: String,
    /// Rule title.
    pub rule_title: String,
    /// Rule level (`high`).
    pub level: String,
    /// How many findings.
    pub count: u64,
}

/// What a detection over the case found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectOutcome {
    /// How many rules the selectors picked.
    pub rules_run: usize,
    /// Findings per rule (rules without findings may be left out).
    pub hits: Vec<RuleHits>,
}

/// What planning or applying a respond command gave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionOutcome {
    /// One line: what is (or was) done.
    pub summary: String,
    /// The individual API calls or changes.
    #[serde(default)]
    pub details: Vec<String>,
}

/// Why the backend could not do what a step asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// This step failed (a bad query, an API error); the run goes on with the next steps
    /// and the step is tried again on resume.
    #[error("{0}")]
    Failed(String),
    /// The run must stop now (interrupted by the operator, the case became unreadable);
    /// nothing is recorded for the step, which runs again on resume.
    #[error("interrupted: {0}")]
    Interrupted(String),
}

/// What the runner needs from the case and from AWS (the CLI implements it with the case
/// store, the queries, the detection engine and the respond actions).
pub trait CaseBackend {
    /// Runs a catalogue query (`timeline`, `summary`, `resources`, `anomalies`, `sql`).
    fn query(
        &mut self,
        name: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<StepTable, BackendError>;
    /// The findings of the selected rules over the case.
    fn detect(&mut self, rules: &[RuleSelector]) -> Result<DetectOutcome, BackendError>;
    /// Plans a respond command without changing anything.
    fn plan_action(
        &mut self,
        action: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<ActionOutcome, BackendError>;
    /// Applies a respond command.
    fn apply_action(
        &mut self,
        action: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<ActionOutcome, BackendError>;
}

/// The operator's answer to a manual step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManualStatus {
    /// Done.
    Done,
    /// Not done yet: stays open.
    NotDone,
    /// Not applicable: skipped.
    Skip,
}

/// The operator's answer to a manual step, with notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualAnswer {
    /// Done, not done or skipped.
    pub status: ManualStatus,
    /// Notes to record.
    pub notes: Option<String>,
}

/// The person at the keyboard (interactive runs); a scripted one in tests. Not called
/// in non-interactive runs.
pub trait Operator {
    /// Whether to apply a planned action (asked only with `apply_actions`).
    fn confirm_action(&mut self, step: &Step, plan: &ActionOutcome) -> bool;
    /// The outcome of a manual step.
    fn manual_step(&mut self, step: &Step) -> ManualAnswer;
    /// The analyst's answer to a question, or `None` to accept the automatic one
    /// (`automatic`), given the query results.
    fn answer_question(
        &mut self,
        step: &Step,
        automatic: &str,
        evidence: &[StepTable],
    ) -> Option<String>;
    /// The value of a fact nobody gave (or of an output `steps.<id>.<output>` that has
    /// none), or `None` to leave the step open.
    fn provide_fact(&mut self, name: &str, decl: &FactDecl) -> Option<String>;
}

/// An operator that never answers: accepts automatic answers, leaves manual steps open,
/// declines actions, supplies no facts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unattended;

impl Operator for Unattended {
    fn confirm_action(&mut self, _: &Step, _: &ActionOutcome) -> bool {
        false
    }
    fn manual_step(&mut self, _: &Step) -> ManualAnswer {
        ManualAnswer {
            status: ManualStatus::NotDone,
            notes: None,
        }
    }
    fn answer_question(&mut self, _: &Step, _: &str, _: &[StepTable]) -> Option<String> {
        None
    }
    fn provide_fact(&mut self, _: &str, _: &FactDecl) -> Option<String> {
        None
    }
}

/// How to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    /// Nobody at the keyboard: automatic steps only, manual steps left open, the operator
    /// is never asked.
    pub non_interactive: bool,
    /// Actions may be applied (non-interactively: all of them; interactively: those the
    /// operator confirms). Without it actions are only planned.
    pub apply_actions: bool,
    /// Who runs it (recorded with every line).
    pub operator: String,
    /// Facts given for this run; they win over `case.json` and recorded facts.
    pub facts: Facts,
    /// Rows recorded per query (the counts and outputs use every row).
    pub max_recorded_rows: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            non_interactive: true,
            apply_actions: false,
            operator: String::from("unknown"),
            facts: Facts::new(),
            max_recorded_rows: 200,
        }
    }
}

/// Where the run is, for the progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunProgress {
    /// Phase of the step.
    pub phase: PhaseName,
    /// 1-based position of the step in the playbook.
    pub position: usize,
    /// Steps in the playbook.
    pub total: usize,
    /// Step id.
    pub step_id: String,
    /// Step kind.
    pub kind: StepKind,
    /// Step title.
    pub title: String,
    /// `None` when the step starts; its status when it ends.
    pub status: Option<StepStatus>,
    /// Whether the step was already settled by an earlier run (not run again).
    pub from_earlier_run: bool,
    /// Why the step is open, skipped or failed, or its answer.
    pub note: Option<String>,
    /// The step's description with the facts and outputs known so far substituted
    /// (unknown references stay as written), for the operator.
    pub detail: Option<String>,
}

/// A step left to do at the end of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenStep {
    /// Step id.
    pub id: String,
    /// Phase.
    pub phase: PhaseName,
    /// Kind.
    pub kind: StepKind,
    /// Title.
    pub title: String,
    /// Who does it (manual steps).
    pub who: Option<String>,
    /// Open, planned or failed.
    pub status: StepStatus,
    /// Why.
    pub reason: Option<String>,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// The playbook.
    pub playbook_id: String,
    /// The log written.
    pub log_path: PathBuf,
    /// Steps attempted in this run (a record was written), in order.
    pub attempted: Vec<String>,
    /// Every step of the playbook per status at the end.
    pub counts: StatusCounts,
    /// Steps left to do (open, planned, failed), in order.
    pub open: Vec<OpenStep>,
    /// Unreadable lines of the existing log (skipped).
    pub log_problems: Vec<LogProblem>,
}

impl RunSummary {
    /// The manual steps left open.
    pub fn manual_open(&self) -> impl Iterator<Item = &OpenStep> {
        self.open.iter().filter(|s| s.kind == StepKind::Manual)
    }
}

/// Why a run could not go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// The run log or the case folder could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// `case.json` is not valid.
    #[error("{path}: {message}")]
    CaseFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The backend asked to stop at a step; the steps before it are recorded.
    #[error("run interrupted at step {step}: {message}")]
    Interrupted {
        /// The step.
        step: String,
        /// The backend's message.
        message: String,
    },
}

impl RunError {
    pub(crate) fn io(path: &Path, what: &str, error: &std::io::Error) -> RunError {
        RunError::Io {
            path: path.to_path_buf(),
            message: format!("{what}: {error}"),
        }
    }
}

/// Reads the `facts` of `<case>/case.json` as text (numbers and booleans as written,
/// lists joined with `,`, null left out). A missing file gives no facts.
pub fn case_facts(case_dir: &Path) -> Result<Facts, RunError> {
    let path = case_dir.join("case.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Facts::new()),
        Err(e) => return Err(RunError::io(&path, "cannot read", &e)),
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| RunError::CaseFile {
        path: path.clone(),
        message: format!("not valid JSON: {e}"),
    })?;
    let mut facts = Facts::new();
    match value.get("facts") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Object(map)) => {
            for (name, v) in map {
                if let Some(text) = scalar_text(v) {
                    facts.insert(name.clone(), text);
                }
            }
        }
        Some(_) => {
            return Err(RunError::CaseFile {
                path,
                message: "\"facts\" must be an object of name: value".into(),
            })
        }
    }
    Ok(facts)
}

fn scalar_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(scalar_text).collect();
            (!parts.is_empty()).then(|| parts.join(","))
        }
        serde_json::Value::Object(_) => None,
        other => Some(other.to_string()),
    }
}

/// Now, UTC, RFC 3339 with milliseconds (fixed width, so the text sorts by time).
fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Why a reference has no value.
enum Missing {
    Fact(String),
    StepNotDone { step: String, status: String },
    NoValue { step: String, output: String },
    Bad(String),
}

impl Missing {
    fn reason(&self, decls: &BTreeMap<String, FactDecl>) -> String {
        match self {
            Missing::Fact(name) => match decls.get(name) {
                Some(d) => format!(
                    "needs fact {name} ({}): give it with --fact {name}=VALUE or in case.json",
                    d.description
                ),
                None => format!("needs fact {name}"),
            },
            Missing::StepNotDone { step, status } => {
                format!("waits for step {step} ({status})")
            }
            Missing::NoValue { step, output } => {
                format!("step {step} found no value for {output}")
            }
            Missing::Bad(message) => message.clone(),
        }
    }

    fn is_step_wait(&self) -> bool {
        matches!(self, Missing::StepNotDone { .. })
    }
}

/// Everything the run knows while it goes.
struct Ctx<'a> {
    opts: &'a RunOptions,
    decls: BTreeMap<String, FactDecl>,
    /// Facts: recorded, then case.json, then options (later wins).
    facts: BTreeMap<String, String>,
    /// Status of every step (from the log, updated as the run goes).
    status: BTreeMap<String, StepStatus>,
    /// Outputs of completed steps.
    outputs: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Last record of each step.
    last: BTreeMap<String, StepRecord>,
    /// Decisions: step id -> the decisions naming it.
    gates: BTreeMap<String, Vec<String>>,
    log: record::RunLog,
    attempted: Vec<String>,
}

/// Runs (or resumes) a playbook over the case in `case_dir`. Returns what is left to
/// do; an error only when the log cannot be written, `case.json` is invalid, or the
/// backend interrupts the run.
pub fn run_playbook(
    playbook: &Playbook,
    case_dir: &Path,
    backend: &mut dyn CaseBackend,
    operator: &mut dyn Operator,
    opts: &RunOptions,
    progress: &mut dyn FnMut(&RunProgress),
) -> Result<RunSummary, RunError> {
    let path = log_path(case_dir, &playbook.id);
    let previous = RunState::load_file(&path, &playbook.id)?;
    let case = case_facts(case_dir)?;
    let log = record::RunLog::open(&path)?;

    let mut facts: BTreeMap<String, String> = BTreeMap::new();
    let mut status = BTreeMap::new();
    let mut outputs = BTreeMap::new();
    let mut last = BTreeMap::new();
    let mut log_problems = Vec::new();
    if let Some(prev) = previous {
        facts.extend(prev.facts.clone());
        log_problems = prev.problems.clone();
        for s in prev.steps {
            status.insert(s.id.clone(), s.status);
            if s.status == StepStatus::Done {
                outputs.insert(s.id.clone(), s.outputs.clone());
            }
            last.insert(s.id.clone(), s.last);
        }
    }
    facts.extend(case);
    facts.extend(opts.facts.clone());

    let mut gates: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (_, step) in playbook.steps() {
        if step.kind == StepKind::Decision {
            let named = step
                .branches
                .iter()
                .flat_map(|b| b.then.iter())
                .chain(step.otherwise.iter());
            for id in named {
                let deciders = gates.entry(id.clone()).or_default();
                if !deciders.contains(&step.id) {
                    deciders.push(step.id.clone());
                }
            }
        }
    }

    let mut ctx = Ctx {
        opts,
        decls: playbook
            .facts
            .iter()
            .map(|d| (d.name.clone(), d.clone()))
            .collect(),
        facts,
        status,
        outputs,
        last,
        gates,
        log,
        attempted: Vec::new(),
    };
    ctx.log.append(&RunRecord::RunStarted {
        time: now(),
        operator: opts.operator.clone(),
        playbook_id: playbook.id.clone(),
        playbook_version: playbook.version.to_string(),
        non_interactive: opts.non_interactive,
        apply_actions: opts.apply_actions,
    })?;

    let total = playbook.steps().count();
    for (i, (phase, step)) in playbook.steps().enumerate() {
        let mut report = RunProgress {
            phase,
            position: i + 1,
            total,
            step_id: step.id.clone(),
            kind: step.kind,
            title: step.title.clone(),
            status: None,
            from_earlier_run: false,
            note: None,
            detail: step.description.as_deref().map(|d| ctx.render(d)),
        };
        if let Some(settled) = ctx.status.get(&step.id).copied().filter(|s| s.is_settled()) {
            report.status = Some(settled);
            report.from_earlier_run = true;
            report.note = ctx.last.get(&step.id).and_then(|r| r.reason.clone());
            progress(&report);
            continue;
        }
        progress(&report);
        let started = now();
        let mut rec = match ctx.gate(step) {
            Gate::Run => ctx.run_step(phase, step, backend, operator)?,
            Gate::Wait(reason) => ctx.blank(phase, step, StepStatus::Open, Some(reason)),
            Gate::Skip(reason) => ctx.blank(phase, step, StepStatus::Skipped, Some(reason)),
        };
        rec.started = Some(started);
        report.status = Some(rec.status);
        report.note = rec
            .reason
            .clone()
            .or_else(|| rec.answer.as_ref().map(|a| a.text().to_string()));
        ctx.commit(rec)?;
        progress(&report);
    }

    let mut counts = StatusCounts::default();
    let mut open = Vec::new();
    for (phase, step) in playbook.steps() {
        let s = ctx
            .status
            .get(&step.id)
            .copied()
            .unwrap_or(StepStatus::Open);
        counts.add(s);
        if !s.is_settled() {
            open.push(OpenStep {
                id: step.id.clone(),
                phase,
                kind: step.kind,
                title: step.title.clone(),
                who: step.who.clone(),
                status: s,
                reason: ctx.last.get(&step.id).and_then(|r| r.reason.clone()),
            });
        }
    }
    ctx.log.append(&RunRecord::RunFinished {
        time: now(),
        operator: opts.operator.clone(),
        counts,
    })?;
    Ok(RunSummary {
        playbook_id: playbook.id.clone(),
        log_path: ctx.log.path().to_path_buf(),
        attempted: ctx.attempted,
        counts,
        open,
        log_problems,
    })
}

enum Gate {
    Run,
    Wait(String),
    Skip(String),
}

/// A parameter set after substitution, or why it cannot be built.
enum Resolved {
    /// One parameter map per invocation (one unless an action fans out).
    Ready(Vec<BTreeMap<String, String>>),
    /// Missing values: the reason the step stays open.
    Open(String),
    /// The parameters are wrong: the step fails.
    Invalid(String),
}

impl Ctx<'_> {
    fn blank(
        &self,
        phase: PhaseName,
        step: &Step,
        status: StepStatus,
        reason: Option<String>,
    ) -> StepRecord {
        StepRecord {
            time: String::new(),
            started: None,
            operator: self.opts.operator.clone(),
            step: step.id.clone(),
            phase,
            kind: step.kind,
            title: step.title.clone(),
            status,
            reason,
            queries: Vec::new(),
            detect: None,
            answer: None,
            decision: None,
            actions: Vec::new(),
            manual: None,
            outputs: BTreeMap::new(),
        }
    }

    /// Writes the record (an `open` record identical to the last one is not repeated)
    /// and updates the run's state.
    fn commit(&mut self, mut rec: StepRecord) -> Result<(), RunError> {
        let repeat = rec.status == StepStatus::Open
            && self.last.get(&rec.step).is_some_and(|prev| {
                prev.status == StepStatus::Open
                    && prev.reason == rec.reason
                    && prev.outputs == rec.outputs
                    && prev.queries.is_empty()
                    && rec.queries.is_empty()
            });
        self.status.insert(rec.step.clone(), rec.status);
        if rec.status == StepStatus::Done {
            self.outputs.insert(rec.step.clone(), rec.outputs.clone());
        }
        if repeat {
            return Ok(());
        }
        rec.time = now();
        self.log.append(&RunRecord::Step(Box::new(rec.clone())))?;
        self.attempted.push(rec.step.clone());
        self.last.insert(rec.step.clone(), rec);
        Ok(())
    }

    fn gate(&self, step: &Step) -> Gate {
        let Some(deciders) = self.gates.get(&step.id) else {
            return Gate::Run;
        };
        let mut waiting = Vec::new();
        let mut why_not = Vec::new();
        for d in deciders {
            let status = self.status.get(d).copied();
            let decision = self.last.get(d).and_then(|r| r.decision.as_ref());
            match (status, decision) {
                (Some(StepStatus::Done), Some(dec)) => {
                    if dec.chosen.contains(&step.id) {
                        return Gate::Run;
                    }
                    why_not.push(format!(
                        "decision {d} chose other steps: {}",
                        dec.explanation
                    ));
                }
                (Some(StepStatus::Skipped), _) => {
                    why_not.push(format!("decision {d} was skipped"));
                }
                _ => waiting.push(d.clone()),
            }
        }
        if !waiting.is_empty() {
            return Gate::Wait(format!("waits for decision {}", waiting.join(", ")));
        }
        Gate::Skip(format!("not chosen: {}", why_not.join("; ")))
    }

    /// The values of a reference (`fact` or `steps.<id>.<output>`).
    fn lookup(&self, reference: &str) -> Result<Vec<String>, Missing> {
        if let Some(rest) = reference.strip_prefix("steps.") {
            let Some((id, output)) = rest.split_once('.') else {
                return Err(Missing::Bad(format!(
                    "reference '{reference}' must be steps.<id>.<output>"
                )));
            };
            if let Some(values) = self.outputs.get(id).and_then(|o| o.get(output)) {
                if !values.is_empty() {
                    return Ok(values.clone());
                }
            }
            if let Some(v) = self.facts.get(reference) {
                return Ok(vec![v.clone()]);
            }
            return match self.status.get(id) {
                Some(StepStatus::Done) => Err(Missing::NoValue {
                    step: id.to_string(),
                    output: output.to_string(),
                }),
                Some(s) => Err(Missing::StepNotDone {
                    step: id.to_string(),
                    status: s.as_str().to_string(),
                }),
                None => Err(Missing::StepNotDone {
                    step: id.to_string(),
                    status: "not run".to_string(),
                }),
            };
        }
        match self.facts.get(reference) {
            Some(v) if !v.trim().is_empty() => Ok(vec![v.clone()]),
            _ => Err(Missing::Fact(reference.to_string())),
        }
    }

    /// A text with every reference that has a value substituted.
    fn render(&self, text: &str) -> String {
        substitute(text, |r| match self.lookup(r) {
            Ok(values) => values.join(","),
            Err(_) => format!("${{{r}}}"),
        })
    }

    /// Asks the operator (interactive runs) for the value of a reference and records it.
    fn ask(&mut self, operator: &mut dyn Operator, reference: &str) -> Result<bool, RunError> {
        if self.opts.non_interactive {
            return Ok(false);
        }
        let decl = self
            .decls
            .get(reference)
            .cloned()
            .unwrap_or_else(|| FactDecl {
                name: reference.to_string(),
                description: match reference.strip_prefix("steps.") {
                    Some(rest) => {
                        format!("the output {rest} of an earlier step, which has no value")
                    }
                    None => "a fact this playbook uses".to_string(),
                },
                values: Vec::new(),
            });
        let Some(value) = operator
            .provide_fact(reference, &decl)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
        else {
            return Ok(false);
        };
        self.log.append(&RunRecord::Fact {
            time: now(),
            operator: self.opts.operator.clone(),
            name: reference.to_string(),
            value: value.clone(),
        })?;
        self.facts.insert(reference.to_string(), value);
        Ok(true)
    }

    /// Substitutes `${...}` in parameters. `fan_out`: an action, planned once per value
    /// of a multi-valued reference. `sql`: quote values for SQL string literals.
    fn resolve(
        &mut self,
        operator: &mut dyn Operator,
        params: &BTreeMap<String, crate::model::Text>,
        fan_out: bool,
        sql: bool,
    ) -> Result<Resolved, RunError> {
        let mut refs: Vec<String> = Vec::new();
        for (name, value) in params {
            match references(value.as_str()) {
                Ok(found) => {
                    for r in found {
                        if !refs.iter().any(|x| x == r) {
                            refs.push(r.to_string());
                        }
                    }
                }
                Err(offset) => {
                    return Ok(Resolved::Invalid(format!(
                        "parameter {name}: unterminated '${{' at offset {offset}"
                    )))
                }
            }
        }
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut missing = Vec::new();
        for r in &refs {
            let mut found = self.lookup(r);
            if let Err(m) = &found {
                if matches!(m, Missing::Bad(_)) {
                    return Ok(Resolved::Invalid(m.reason(&self.decls)));
                }
                if self.ask(operator, r)? {
                    found = self.lookup(r);
                }
            }
            match found {
                Ok(v) => {
                    values.insert(r.clone(), v);
                }
                Err(m) => missing.push(m),
            }
        }
        if !missing.is_empty() {
            // Waiting for earlier steps first: that is what will unblock the step.
            missing.sort_by_key(|m| !m.is_step_wait());
            let reasons: Vec<String> = missing.iter().map(|m| m.reason(&self.decls)).collect();
            return Ok(Resolved::Open(reasons.join("; ")));
        }
        let fan = if fan_out {
            refs.iter()
                .find(|r| values.get(*r).is_some_and(|v| v.len() > 1))
                .cloned()
        } else {
            None
        };
        let choices: Vec<Option<String>> = match &fan {
            Some(r) => {
                let vals = values.get(r).cloned().unwrap_or_default();
                if vals.len() > MAX_FAN_OUT {
                    return Ok(Resolved::Invalid(format!(
                        "${{{r}}} names {} values, more than {MAX_FAN_OUT} actions: narrow it with a fact",
                        vals.len()
                    )));
                }
                vals.into_iter().map(Some).collect()
            }
            None => vec![None],
        };
        let mut sets = Vec::new();
        for choice in choices {
            let mut set = BTreeMap::new();
            for (name, value) in params {
                let text = substitute(value.as_str(), |r| {
                    let v = match (&fan, &choice) {
                        (Some(f), Some(c)) if f == r => c.clone(),
                        _ => values.get(r).map(|v| v.join(",")).unwrap_or_default(),
                    };
                    if sql {
                        v.replace('\'', "''")
                    } else {
                        v
                    }
                });
                set.insert(name.clone(), text);
            }
            sets.push(set);
        }
        Ok(Resolved::Ready(sets))
    }

    fn run_step(
        &mut self,
        phase: PhaseName,
        step: &Step,
        backend: &mut dyn CaseBackend,
        operator: &mut dyn Operator,
    ) -> Result<StepRecord, RunError> {
        let mut rec = self.blank(phase, step, StepStatus::Done, None);
        match step.kind {
            StepKind::Manual => {
                let who = step.who.clone();
                if self.opts.non_interactive {
                    rec.status = StepStatus::Open;
                    rec.reason = Some(format!(
                        "manual step for {}",
                        who.as_deref().unwrap_or("the responder")
                    ));
                    return Ok(rec);
                }
                let answer = operator.manual_step(step);
                let done = answer.status == ManualStatus::Done;
                rec.status = match answer.status {
                    ManualStatus::Done => StepStatus::Done,
                    ManualStatus::NotDone => StepStatus::Open,
                    ManualStatus::Skip => StepStatus::Skipped,
                };
                rec.reason = match answer.status {
                    ManualStatus::Done => None,
                    ManualStatus::NotDone => Some(format!("not done yet ({})", self.opts.operator)),
                    ManualStatus::Skip => Some(format!("skipped by {}", self.opts.operator)),
                };
                rec.outputs.insert("done".into(), vec![done.to_string()]);
                if let Some(notes) = &answer.notes {
                    rec.outputs.insert("notes".into(), vec![notes.clone()]);
                }
                rec.manual = Some(ManualRecord {
                    who,
                    done,
                    notes: answer.notes,
                });
            }
            StepKind::Detect => match backend.detect(&step.rules) {
                Ok(outcome) => {
                    let total: u64 = outcome.hits.iter().map(|h| h.count).sum();
                    let findings: Vec<String> = outcome
                        .hits
                        .iter()
                        .filter(|h| h.count > 0)
                        .map(|h| format!("{} ({}) x{}", h.rule_title, h.level, h.count))
                        .collect();
                    rec.outputs.insert("count".into(), vec![total.to_string()]);
                    rec.outputs.insert(
                        "findings".into(),
                        if findings.is_empty() {
                            vec!["none".to_string()]
                        } else {
                            findings
                        },
                    );
                    rec.detect = Some(DetectRecord {
                        rules: step.rules.clone(),
                        rules_run: outcome.rules_run,
                        hits: outcome.hits,
                        findings: total,
                    });
                }
                Err(BackendError::Interrupted(message)) => {
                    return Err(RunError::Interrupted {
                        step: step.id.clone(),
                        message,
                    })
                }
                Err(BackendError::Failed(message)) => {
                    rec.status = StepStatus::Failed;
                    rec.reason = Some(format!("detection failed: {message}"));
                }
            },
            StepKind::Query => {
                let name = step.query.clone().unwrap_or_default();
                let sets = match self.resolve(operator, &step.params, false, name == "sql")? {
                    Resolved::Ready(sets) => sets,
                    Resolved::Open(reason) => return Ok(self.with(rec, StepStatus::Open, reason)),
                    Resolved::Invalid(reason) => {
                        return Ok(self.with(rec, StepStatus::Failed, reason))
                    }
                };
                let params = sets.into_iter().next().unwrap_or_default();
                match self.query(step, backend, &name, params)? {
                    (qrec, Some(table)) => {
                        rec.outputs
                            .insert("count".into(), vec![table.rows.len().to_string()]);
                        rec.outputs.insert("rows".into(), vec![rows_json(&qrec)]);
                        for out in &step.outputs {
                            rec.outputs.insert(out.clone(), table.distinct_values(out));
                        }
                        rec.queries.push(qrec);
                    }
                    (qrec, None) => {
                        rec.status = StepStatus::Failed;
                        rec.reason = qrec
                            .error
                            .clone()
                            .map(|e| format!("query {name} failed: {e}"));
                        rec.queries.push(qrec);
                    }
                }
            }
            StepKind::Question => self.question(step, &mut rec, backend, operator)?,
            StepKind::Decision => self.decide(step, &mut rec, operator)?,
            StepKind::Action => self.action(step, &mut rec, backend, operator)?,
        }
        Ok(rec)
    }

    fn with(&self, mut rec: StepRecord, status: StepStatus, reason: String) -> StepRecord {
        rec.status = status;
        rec.reason = Some(reason);
        rec
    }

    /// Runs one query; `None` table when it failed (the error is in the record).
    fn query(
        &mut self,
        step: &Step,
        backend: &mut dyn CaseBackend,
        name: &str,
        params: BTreeMap<String, String>,
    ) -> Result<(QueryRecord, Option<StepTable>), RunError> {
        let mut qrec = QueryRecord {
            query: name.to_string(),
            params,
            columns: Vec::new(),
            rows: Vec::new(),
            row_count: 0,
            truncated: false,
            error: None,
        };
        match backend.query(name, &qrec.params) {
            Ok(table) => {
                qrec.columns = table.columns.clone();
                qrec.row_count = table.rows.len();
                qrec.rows = table
                    .rows
                    .iter()
                    .take(self.opts.max_recorded_rows)
                    .cloned()
                    .collect();
                qrec.truncated = qrec.rows.len() < qrec.row_count;
                Ok((qrec, Some(table)))
            }
            Err(BackendError::Interrupted(message)) => Err(RunError::Interrupted {
                step: step.id.clone(),
                message,
            }),
            Err(BackendError::Failed(message)) => {
                qrec.error = Some(message);
                Ok((qrec, None))
            }
        }
    }

    fn question(
        &mut self,
        step: &Step,
        rec: &mut StepRecord,
        backend: &mut dyn CaseBackend,
        operator: &mut dyn Operator,
    ) -> Result<(), RunError> {
        // Resolve every query first: a question runs only when all can run.
        let mut planned = Vec::new();
        for (i, q) in step.queries.iter().enumerate() {
            match self.resolve(operator, &q.params, false, q.query == "sql")? {
                Resolved::Ready(sets) => {
                    planned.push((q, sets.into_iter().next().unwrap_or_default()))
                }
                Resolved::Open(reason) => {
                    rec.status = StepStatus::Open;
                    rec.reason = Some(format!("query {} ({}): {reason}", i + 1, q.query));
                    return Ok(());
                }
                Resolved::Invalid(reason) => {
                    rec.status = StepStatus::Failed;
                    rec.reason = Some(format!("query {} ({}): {reason}", i + 1, q.query));
                    return Ok(());
                }
            }
        }
        let mut results: Vec<(String, StepTable)> = Vec::new();
        let mut failures = Vec::new();
        for (i, (q, params)) in planned.into_iter().enumerate() {
            let (qrec, table) = self.query(step, backend, &q.query, params)?;
            match table {
                Some(table) => {
                    for out in &q.outputs {
                        let entry = rec.outputs.entry(out.clone()).or_default();
                        for v in table.distinct_values(out) {
                            if !entry.contains(&v) {
                                entry.push(v);
                            }
                        }
                    }
                    results.push((q.query.clone(), table));
                }
                None => failures.push(format!(
                    "query {} ({}) failed: {}",
                    i + 1,
                    q.query,
                    qrec.error.clone().unwrap_or_default()
                )),
            }
            rec.queries.push(qrec);
        }
        if !failures.is_empty() {
            rec.status = StepStatus::Failed;
            rec.reason = Some(failures.join("; "));
            rec.outputs.clear();
            return Ok(());
        }
        let automatic = answer::automatic_answer(&results);
        let analyst = if self.opts.non_interactive {
            None
        } else {
            let evidence: Vec<StepTable> = results.into_iter().map(|(_, t)| t).collect();
            operator
                .answer_question(step, &automatic, &evidence)
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
        };
        let answer = AnswerRecord {
            question: step.question.clone().unwrap_or_default(),
            automatic,
            analyst,
        };
        rec.outputs
            .insert("answer".into(), vec![answer.text().to_string()]);
        rec.answer = Some(answer);
        Ok(())
    }

    fn decide(
        &mut self,
        step: &Step,
        rec: &mut StepRecord,
        operator: &mut dyn Operator,
    ) -> Result<(), RunError> {
        let mut names = BTreeSet::new();
        for b in &step.branches {
            condition_facts(&b.when, &mut names);
        }
        // A condition on an earlier step's output waits until that step is settled.
        let mut waiting = Vec::new();
        for name in &names {
            if let Some((id, _)) = name.strip_prefix("steps.").and_then(|r| r.split_once('.')) {
                let s = self.status.get(id).copied();
                if !s.is_some_and(StepStatus::is_settled) && !self.facts.contains_key(name) {
                    waiting.push(format!(
                        "step {id} ({})",
                        s.map_or("not run", StepStatus::as_str)
                    ));
                }
            }
        }
        if !waiting.is_empty() {
            waiting.dedup();
            rec.status = StepStatus::Open;
            rec.reason = Some(format!("waits for {}", waiting.join(", ")));
            return Ok(());
        }
        let mut outcome = evaluate(step, &self.decision_facts());
        if let Some(o) = &outcome {
            if !self.opts.non_interactive && !o.unknown_facts.is_empty() {
                let mut asked = false;
                for name in o.unknown_facts.clone() {
                    if !name.starts_with("steps.") {
                        asked |= self.ask(operator, &name)?;
                    }
                }
                if asked {
                    outcome = evaluate(step, &self.decision_facts());
                }
            }
        }
        let Some(outcome) = outcome else {
            rec.status = StepStatus::Failed;
            rec.reason = Some("not a decision step".into());
            return Ok(());
        };
        // A decision is not taken on missing case facts (production or not?): it stays
        // open until they are given. Outputs of skipped steps are simply unknown.
        let missing: Vec<String> = outcome
            .unknown_facts
            .iter()
            .filter(|f| !f.starts_with("steps."))
            .map(|f| Missing::Fact(f.clone()).reason(&self.decls))
            .collect();
        if !missing.is_empty() {
            rec.status = StepStatus::Open;
            rec.reason = Some(missing.join("; "));
            return Ok(());
        }
        let facts = self.decision_facts();
        let facts_used: BTreeMap<String, Option<String>> = names
            .iter()
            .map(|n| (n.clone(), facts.get(n).cloned()))
            .collect();
        let shown: Vec<String> = facts_used
            .iter()
            .map(|(n, v)| match v {
                Some(v) => format!("{n} = {}", clip(v, 80)),
                None => format!("{n} unknown"),
            })
            .collect();
        let chosen_text = if outcome.next_steps.is_empty() {
            "no step".to_string()
        } else {
            outcome.next_steps.join(", ")
        };
        let explanation = match outcome.branch {
            Some(b) => format!(
                "branch {} holds ({}): {chosen_text}",
                b + 1,
                shown.join(", ")
            ),
            None if step.otherwise.is_empty() => {
                format!("no branch holds ({}): no step chosen", shown.join(", "))
            }
            None => format!(
                "no branch holds ({}): otherwise, {chosen_text}",
                shown.join(", ")
            ),
        };
        rec.outputs.insert(
            "choice".into(),
            vec![if outcome.next_steps.is_empty() {
                "none".to_string()
            } else {
                outcome.next_steps.join(",")
            }],
        );
        rec.decision = Some(DecisionRecord {
            branch: outcome.branch,
            chosen: outcome.next_steps,
            facts_used,
            unknown_facts: outcome.unknown_facts,
            explanation,
        });
        Ok(())
    }

    /// Facts for conditions: the facts, then every completed step's outputs as
    /// `steps.<id>.<output>` (values joined with `,`; outputs without value are unknown).
    fn decision_facts(&self) -> Facts {
        let mut facts: Facts = self.facts.clone();
        for (id, outs) in &self.outputs {
            for (name, values) in outs {
                if !values.is_empty() {
                    facts.insert(format!("steps.{id}.{name}"), values.join(","));
                }
            }
        }
        facts
    }

    fn action(
        &mut self,
        step: &Step,
        rec: &mut StepRecord,
        backend: &mut dyn CaseBackend,
        operator: &mut dyn Operator,
    ) -> Result<(), RunError> {
        let name = step.action.clone().unwrap_or_default();
        let sets = match self.resolve(operator, &step.params, true, false)? {
            Resolved::Ready(sets) => sets,
            Resolved::Open(reason) => {
                rec.status = StepStatus::Open;
                rec.reason = Some(reason);
                return Ok(());
            }
            Resolved::Invalid(reason) => {
                rec.status = StepStatus::Failed;
                rec.reason = Some(reason);
                return Ok(());
            }
        };
        let applied_before: Vec<ActionRecord> = self
            .last
            .get(&step.id)
            .map(|r| r.actions.iter().filter(|a| a.applied).cloned().collect())
            .unwrap_or_default();
        let mut errors = Vec::new();
        for params in sets {
            if let Some(done) = applied_before
                .iter()
                .find(|a| a.action == name && a.params == params)
            {
                rec.actions.push(done.clone());
                continue;
            }
            let mut arec = ActionRecord {
                action: name.clone(),
                params,
                plan: None,
                applied: false,
                declined: false,
                outcome: None,
                error: None,
            };
            let plan = match backend.plan_action(&name, &arec.params) {
                Ok(plan) => plan,
                Err(BackendError::Interrupted(message)) => {
                    return Err(RunError::Interrupted {
                        step: step.id.clone(),
                        message,
                    })
                }
                Err(BackendError::Failed(message)) => {
                    errors.push(format!("planning {name} failed: {message}"));
                    arec.error = Some(message);
                    rec.actions.push(arec);
                    continue;
                }
            };
            let apply = self.opts.apply_actions
                && (self.opts.non_interactive || operator.confirm_action(step, &plan));
            arec.declined = self.opts.apply_actions && !apply;
            arec.plan = Some(plan);
            if apply {
                match backend.apply_action(&name, &arec.params) {
                    Ok(outcome) => {
                        arec.applied = true;
                        arec.outcome = Some(outcome);
                    }
                    Err(BackendError::Interrupted(message)) => {
                        return Err(RunError::Interrupted {
                            step: step.id.clone(),
                            message,
                        })
                    }
                    Err(BackendError::Failed(message)) => {
                        errors.push(format!("applying {name} failed: {message}"));
                        arec.error = Some(message);
                    }
                }
            }
            rec.actions.push(arec);
        }
        let (status, output, reason) = if !errors.is_empty() {
            (StepStatus::Failed, "failed", Some(errors.join("; ")))
        } else if rec.actions.iter().all(|a| a.applied) {
            (StepStatus::Done, "applied", None)
        } else if rec.actions.iter().any(|a| a.declined) {
            (
                StepStatus::Planned,
                "declined",
                Some(format!(
                    "planned; {} declined to apply it",
                    self.opts.operator
                )),
            )
        } else {
            (
                StepStatus::Planned,
                "planned",
                Some("planned, not applied (run with --apply-actions to apply)".to_string()),
            )
        };
        rec.status = status;
        rec.reason = reason;
        rec.outputs
            .insert("status".into(), vec![output.to_string()]);
        Ok(())
    }
}

/// Replaces every `${ref}` of `text` by `value(ref)`.
fn substitute(text: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str(&value(after[..end].trim()));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Every fact a condition tests.
fn condition_facts(condition: &Condition, out: &mut BTreeSet<String>) {
    for c in condition.all.iter().chain(condition.any.iter()) {
        condition_facts(c, out);
    }
    if let Some(inner) = &condition.not {
        condition_facts(inner, out);
    }
    if let Some(f) = &condition.fact {
        out.insert(f.clone());
    }
}

/// The recorded rows as a JSON array of objects (column name: cell).
fn rows_json(q: &QueryRecord) -> String {
    let rows: Vec<serde_json::Map<String, serde_json::Value>> = q
        .rows
        .iter()
        .map(|row| {
            q.columns
                .iter()
                .zip(row)
                .map(|(c, v)| {
                    (
                        c.clone(),
                        v.clone()
                            .map_or(serde_json::Value::Null, serde_json::Value::String),
                    )
                })
                .collect()
        })
        .collect();
    serde_json::to_string(&rows).unwrap_or_default()
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max).collect();
    s.push_str("...");
    s
}

/// Substitutes what is known into a text (a step description), leaving unknown
/// references as written.
pub fn render_known(text: &str, state: Option<&RunState>, facts: &Facts) -> String {
    substitute(text, |r| {
        if let Some(rest) = r.strip_prefix("steps.") {
            if let Some((id, out)) = rest.split_once('.') {
                if let Some(v) = state
                    .and_then(|s| s.step(id))
                    .and_then(|s| s.outputs.get(out))
                    .filter(|v| !v.is_empty())
                {
                    return v.join(",");
                }
            }
        } else if let Some(v) = facts.get(r) {
            return v.clone();
        }
        format!("${{{r}}}")
    })
}
