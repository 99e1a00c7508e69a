//! The state of a playbook run, rebuilt from its log: what `case status`, `report` and
//! the runner's resume read.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::model::{PhaseName, Playbook, StepKind};
use crate::run::record::{
    log_path, read_log, LogProblem, RunRecord, StatusCounts, StepRecord, StepStatus,
};
use crate::run::RunError;

/// The state of one step: its last record, and when it was first and last touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepState {
    /// Step id.
    pub id: String,
    /// Phase.
    pub phase: PhaseName,
    /// Kind.
    pub kind: StepKind,
    /// Title.
    pub title: String,
    /// Where it stands (from the last record).
    pub status: StepStatus,
    /// Why it is open, skipped or failed.
    pub reason: Option<String>,
    /// The answer (questions: the analyst's or the automatic one; manual steps: the notes).
    pub answer: Option<String>,
    /// Its outputs (`count`, `answer`, declared columns...).
    pub outputs: BTreeMap<String, Vec<String>>,
    /// The first record's time.
    pub first_time: String,
    /// The last record's time.
    pub last_time: String,
    /// Who wrote the last record.
    pub operator: String,
    /// How many records the step has (attempts).
    pub attempts: usize,
    /// The last record in full (query rows, decision, actions...).
    pub last: StepRecord,
}

/// Counts of one phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseProgress {
    /// The phase.
    pub phase: PhaseName,
    /// Steps per status.
    pub counts: StatusCounts,
}

/// A short summary for `case status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOverview {
    /// The first phase with a step still to do (open, planned or failed); `None` when
    /// every recorded step is settled.
    pub current_phase: Option<PhaseName>,
    /// Counts per phase, in phase order (phases with recorded steps only).
    pub phases: Vec<PhaseProgress>,
    /// Counts over every step.
    pub total: StatusCounts,
    /// Manual steps still open: `(id, title)`.
    pub manual_open: Vec<(String, String)>,
}

/// A playbook run as its log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunState {
    /// The playbook id (the folder name).
    pub playbook_id: String,
    /// The playbook version of the last run start, if recorded.
    pub playbook_version: Option<String>,
    /// The log file.
    pub log_path: PathBuf,
    /// The steps with at least one record, in phase order then first-record order.
    pub steps: Vec<StepState>,
    /// Facts operators supplied during runs.
    pub facts: BTreeMap<String, String>,
    /// How many times the playbook was started (or resumed).
    pub runs: usize,
    /// Whether the last run visited every step (a `run_finished` record).
    pub finished: bool,
    /// Everyone who ran it.
    pub operators: BTreeSet<String>,
    /// First record time.
    pub started: Option<String>,
    /// Last record time.
    pub updated: Option<String>,
    /// Lines that could not be read (skipped; a torn last line after a crash).
    pub problems: Vec<LogProblem>,
}

impl RunState {
    /// Loads the run of `playbook_id` in the case; `Ok(None)` when it never ran.
    pub fn load(case_dir: &Path, playbook_id: &str) -> Result<Option<RunState>, RunError> {
        RunState::load_file(&log_path(case_dir, playbook_id), playbook_id)
    }

    /// Loads a run log file; `Ok(None)` when the file does not exist.
    pub fn load_file(path: &Path, playbook_id: &str) -> Result<Option<RunState>, RunError> {
        let Some((records, problems)) = read_log(path)? else {
            return Ok(None);
        };
        let mut state = RunState {
            playbook_id: playbook_id.to_string(),
            playbook_version: None,
            log_path: path.to_path_buf(),
            steps: Vec::new(),
            facts: BTreeMap::new(),
            runs: 0,
            finished: false,
            operators: BTreeSet::new(),
            started: None,
            updated: None,
            problems,
        };
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        for record in records {
            let (time, operator) = match &record {
                RunRecord::RunStarted { time, operator, .. }
                | RunRecord::Fact { time, operator, .. }
                | RunRecord::RunFinished { time, operator, .. } => (time.clone(), operator.clone()),
                RunRecord::Step(s) => (s.time.clone(), s.operator.clone()),
            };
            if state.started.is_none() {
                state.started = Some(time.clone());
            }
            state.updated = Some(time);
            state.operators.insert(operator);
            match record {
                RunRecord::RunStarted {
                    playbook_version, ..
                } => {
                    state.runs += 1;
                    state.finished = false;
                    state.playbook_version = Some(playbook_version);
                }
                RunRecord::RunFinished { .. } => state.finished = true,
                RunRecord::Fact { name, value, .. } => {
                    state.facts.insert(name, value);
                }
                RunRecord::Step(record) => {
                    let record = *record;
                    let answer = step_answer(&record);
                    match index.get(&record.step) {
                        Some(&i) => {
                            let s = &mut state.steps[i];
                            s.phase = record.phase;
                            s.kind = record.kind;
                            s.title = record.title.clone();
                            s.status = record.status;
                            s.reason = record.reason.clone();
                            s.answer = answer;
                            s.outputs = record.outputs.clone();
                            s.last_time = record.time.clone();
                            s.operator = record.operator.clone();
                            s.attempts += 1;
                            s.last = record;
                        }
                        None => {
                            index.insert(record.step.clone(), state.steps.len());
                            state.steps.push(StepState {
                                id: record.step.clone(),
                                phase: record.phase,
                                kind: record.kind,
                                title: record.title.clone(),
                                status: record.status,
                                reason: record.reason.clone(),
                                answer,
                                outputs: record.outputs.clone(),
                                first_time: record.time.clone(),
                                last_time: record.time.clone(),
                                operator: record.operator.clone(),
                                attempts: 1,
                                last: record,
                            });
                        }
                    }
                }
            }
        }
        // Stable: first-record order within a phase.
        state.steps.sort_by_key(|s| s.phase);
        Ok(Some(state))
    }

    /// A step by id.
    pub fn step(&self, id: &str) -> Option<&StepState> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// Current phase, counts per phase and the manual steps left, over the recorded
    /// steps (see [`RunState::overview_with`] to count steps not reached yet).
    pub fn overview(&self) -> RunOverview {
        overview_of(
            self.steps
                .iter()
                .map(|s| (s.phase, s.kind, s.id.as_str(), s.title.as_str(), s.status)),
        )
    }

    /// The same over every step of `playbook`: a step without a record (the run stopped
    /// before it) counts as open; records of steps the playbook no longer has are left out.
    pub fn overview_with(&self, playbook: &Playbook) -> RunOverview {
        overview_of(playbook.steps().map(|(phase, step)| {
            let status = self.step(&step.id).map_or(StepStatus::Open, |s| s.status);
            (
                phase,
                step.kind,
                step.id.as_str(),
                step.title.as_str(),
                status,
            )
        }))
    }
}

fn overview_of<'a>(
    steps: impl Iterator<Item = (PhaseName, StepKind, &'a str, &'a str, StepStatus)>,
) -> RunOverview {
    let mut phases: Vec<PhaseProgress> = Vec::new();
    let mut total = StatusCounts::default();
    let mut manual_open = Vec::new();
    for (phase, kind, id, title, status) in steps {
        total.add(status);
        match phases.iter_mut().find(|p| p.phase == phase) {
            Some(p) => p.counts.add(status),
            None => {
                let mut counts = StatusCounts::default();
                counts.add(status);
                phases.push(PhaseProgress { phase, counts });
            }
        }
        if kind == StepKind::Manual && !status.is_settled() {
            manual_open.push((id.to_string(), title.to_string()));
        }
    }
    phases.sort_by_key(|p| p.phase);
    let current_phase = phases
        .iter()
        .find(|p| p.counts.unsettled() > 0)
        .map(|p| p.phase);
    RunOverview {
        current_phase,
        phases,
        total,
        manual_open,
    }
}

fn step_answer(record: &StepRecord) -> Option<String> {
    if let Some(answer) = &record.answer {
        return Some(answer.text().to_string());
    }
    record.manual.as_ref().and_then(|m| m.notes.clone())
}

/// Every playbook run in a case (`<case>/playbooks/*/run.jsonl`), by playbook id.
pub fn list_runs(case_dir: &Path) -> Result<Vec<RunState>, RunError> {
    let dir = case_dir.join("playbooks");
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RunError::io(&dir, "cannot list playbook runs", &e)),
    };
    let mut ids = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| RunError::io(&dir, "cannot list playbook runs", &e))?;
        if entry.path().join("run.jsonl").is_file() {
            ids.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    ids.sort();
    let mut runs = Vec::new();
    for id in ids {
        if let Some(state) = RunState::load(case_dir, &id)? {
            runs.push(state);
        }
    }
    Ok(runs)
}
