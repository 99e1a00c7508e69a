//! The run log `<case>/playbooks/<playbook-id>/run.jsonl`: one JSON object per line,
//! appended and synced after every record. A line that does not parse (a torn last line
//! after a crash, or damage in the middle) is reported as a [`LogProblem`] and skipped;
//! the other lines still count.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{PhaseName, RuleSelector, StepKind};
use crate::run::{ActionOutcome, RuleHits, RunError};

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Completed: not run again on resume.
    Done,
    /// Not completed: waits for a person, a fact, an earlier step or a decision.
    Open,
    /// Not run, on purpose: a decision chose other steps, or the operator skipped it.
    Skipped,
    /// An action was planned but not applied; it stays open.
    Planned,
    /// The step ran and failed (the backend's error is in `reason`); run again on resume.
    Failed,
}

impl StepStatus {
    /// The spelling used in the log (`done`).
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Done => "done",
            StepStatus::Open => "open",
            StepStatus::Skipped => "skipped",
            StepStatus::Planned => "planned",
            StepStatus::Failed => "failed",
        }
    }

    /// Whether the step is settled (done or skipped) and is not run again.
    pub fn is_settled(self) -> bool {
        matches!(self, StepStatus::Done | StepStatus::Skipped)
    }
}

/// How many steps are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    /// Done.
    pub done: usize,
    /// Open.
    pub open: usize,
    /// Skipped.
    pub skipped: usize,
    /// Planned (actions not applied).
    pub planned: usize,
    /// Failed.
    pub failed: usize,
}

impl StatusCounts {
    /// Counts one more step in `status`.
    pub fn add(&mut self, status: StepStatus) {
        match status {
            StepStatus::Done => self.done += 1,
            StepStatus::Open => self.open += 1,
            StepStatus::Skipped => self.skipped += 1,
            StepStatus::Planned => self.planned += 1,
            StepStatus::Failed => self.failed += 1,
        }
    }

    /// Steps still to do: open, planned or failed.
    pub fn unsettled(&self) -> usize {
        self.open + self.planned + self.failed
    }
}

/// One query a step ran, with its result (rows capped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryRecord {
    /// The catalogue query (`timeline`).
    pub query: String,
    /// Its parameters after substitution.
    pub params: BTreeMap<String, String>,
    /// Result columns.
    #[serde(default)]
    pub columns: Vec<String>,
    /// The first rows (at most [`crate::run::RunOptions::max_recorded_rows`]).
    #[serde(default)]
    pub rows: Vec<Vec<Option<String>>>,
    /// How many rows the query returned in all.
    #[serde(default)]
    pub row_count: usize,
    /// Whether `rows` holds fewer rows than `row_count`.
    #[serde(default)]
    pub truncated: bool,
    /// The backend's error, when the query failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a `detect` step found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectRecord {
    /// The selectors of the step.
    pub rules: Vec<RuleSelector>,
    /// How many rules they selected.
    pub rules_run: usize,
    /// Findings per rule.
    pub hits: Vec<RuleHits>,
    /// Total findings.
    pub findings: u64,
}

/// The answer of a `question` step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerRecord {
    /// The question.
    pub question: String,
    /// The answer built from the query results.
    pub automatic: String,
    /// The analyst's answer, when they gave one (it replaces the automatic one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analyst: Option<String>,
}

impl AnswerRecord {
    /// The answer that counts: the analyst's, else the automatic one.
    pub fn text(&self) -> &str {
        self.analyst.as_deref().unwrap_or(&self.automatic)
    }
}

/// The branch a decision took, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// Index of the branch taken (0-based), `None` for `otherwise` / no branch.
    pub branch: Option<usize>,
    /// The steps chosen.
    pub chosen: Vec<String>,
    /// Every fact the conditions test, with the value it had (`None`: unknown).
    pub facts_used: BTreeMap<String, Option<String>>,
    /// Facts tested but unknown.
    #[serde(default)]
    pub unknown_facts: Vec<String>,
    /// A sentence saying which branch and why.
    pub explanation: String,
}

/// One respond command a step planned (an action step whose parameter names several
/// values is planned once per value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRecord {
    /// The command (`contain access-key`).
    pub action: String,
    /// Its parameters after substitution.
    pub params: BTreeMap<String, String>,
    /// The plan, when planning succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<ActionOutcome>,
    /// Whether it was applied.
    #[serde(default)]
    pub applied: bool,
    /// Whether the operator refused to apply it.
    #[serde(default)]
    pub declined: bool,
    /// The result of applying it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ActionOutcome>,
    /// The backend's error (planning or applying).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The outcome of a `manual` step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualRecord {
    /// Who does it.
    #[serde(default)]
    pub who: Option<String>,
    /// Whether the operator said it is done.
    pub done: bool,
    /// The operator's notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// One attempt at a step (the last record of a step gives its state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// When the record was written (UTC, RFC 3339).
    pub time: String,
    /// When the attempt started.
    #[serde(default)]
    pub started: Option<String>,
    /// Who ran it.
    pub operator: String,
    /// Step id.
    pub step: String,
    /// Its phase.
    pub phase: PhaseName,
    /// Its kind.
    pub kind: StepKind,
    /// Its title.
    pub title: String,
    /// Where it stands.
    pub status: StepStatus,
    /// Why it is open, skipped or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `query` steps: the query run; `question` steps: every query run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<QueryRecord>,
    /// `detect` steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detect: Option<DetectRecord>,
    /// `question` steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<AnswerRecord>,
    /// `decision` steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionRecord>,
    /// `action` steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionRecord>,
    /// `manual` steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual: Option<ManualRecord>,
    /// The outputs later steps reference as `steps.<id>.<output>`: each a list of
    /// values (one for scalar outputs, the distinct values of a column otherwise).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, Vec<String>>,
}

/// One line of the run log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum RunRecord {
    /// A run (or a resumed run) began.
    RunStarted {
        /// When.
        time: String,
        /// Who.
        operator: String,
        /// The playbook id.
        playbook_id: String,
        /// The playbook version.
        playbook_version: String,
        /// Whether nobody was at the keyboard.
        non_interactive: bool,
        /// Whether actions could be applied.
        apply_actions: bool,
    },
    /// A fact the operator supplied while running.
    Fact {
        /// When.
        time: String,
        /// Who.
        operator: String,
        /// The fact (or `steps.<id>.<output>`).
        name: String,
        /// Its value.
        value: String,
    },
    /// One attempt at a step.
    Step(Box<StepRecord>),
    /// A run ended (every step was visited).
    RunFinished {
        /// When.
        time: String,
        /// Who.
        operator: String,
        /// Steps per status at the end.
        counts: StatusCounts,
    },
}

/// A line of the log that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogProblem {
    /// The log file.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// Whether it is the last line (typically torn by a crash).
    pub last_line: bool,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for LogProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {}{}",
            self.file.display(),
            self.line,
            if self.last_line {
                "torn last line ignored: "
            } else {
                "unreadable line skipped: "
            },
            self.message
        )
    }
}

/// The log file of a playbook run in a case.
pub fn log_path(case_dir: &Path, playbook_id: &str) -> PathBuf {
    case_dir
        .join("playbooks")
        .join(playbook_id)
        .join("run.jsonl")
}

/// The readable records of a log, and the lines that could not be read.
pub type LogContents = (Vec<RunRecord>, Vec<LogProblem>);

/// Reads every readable record of a log, with the problems found. A missing file is
/// `Ok(None)`.
pub fn read_log(path: &Path) -> Result<Option<LogContents>, RunError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RunError::io(path, "cannot read the run log", &e)),
    };
    let mut records = Vec::new();
    let mut problems = Vec::new();
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    // `split` yields an empty last piece when the file ends with a newline.
    let count = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        let is_last = i + 1 == count || (i + 2 == count && bytes.ends_with(b"\n"));
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<RunRecord>(line) {
            Ok(record) => records.push(record),
            Err(e) => problems.push(LogProblem {
                file: path.to_path_buf(),
                line: i + 1,
                last_line: is_last,
                message: e.to_string(),
            }),
        }
    }
    Ok(Some((records, problems)))
}

/// The append-only writer: every record is one line, synced to disk before returning.
pub struct RunLog {
    path: PathBuf,
    file: File,
}

impl RunLog {
    /// Opens (creating the folders) the log for appending. When the file does not end
    /// with a newline (a torn last line), a newline is written first so the torn line
    /// stays a line of its own and the next record is intact.
    pub fn open(path: &Path) -> Result<RunLog, RunError> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)
                .map_err(|e| RunError::io(dir, "cannot create the run folder", &e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| RunError::io(path, "cannot open the run log", &e))?;
        let len = file
            .metadata()
            .map_err(|e| RunError::io(path, "cannot read the run log's size", &e))?
            .len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1))
                .and_then(|_| file.read_exact(&mut last))
                .map_err(|e| RunError::io(path, "cannot read the run log", &e))?;
            if last[0] != b'\n' {
                file.write_all(b"\n")
                    .and_then(|()| file.sync_data())
                    .map_err(|e| RunError::io(path, "cannot write the run log", &e))?;
            }
        }
        Ok(RunLog {
            path: path.to_path_buf(),
            file,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record and syncs it.
    pub fn append(&mut self, record: &RunRecord) -> Result<(), RunError> {
        let mut line = serde_json::to_vec(record).map_err(|e| RunError::Io {
            path: self.path.clone(),
            message: format!("cannot encode a record: {e}"),
        })?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| RunError::io(&self.path, "cannot write the run log", &e))
    }
}
