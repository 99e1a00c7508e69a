//! The incident report of a case (`firebreak report --case X --format md|html --output F`).
//!
//! The renderers ([`render_markdown`], [`render_html`]) are pure functions of a [`ReportInput`]:
//! they read no files and call nothing. [`ReportInput::collect`] (module [`collect`]) assembles
//! that input from plain data the CLI gathers from the case (action log entries, evidence
//! files, findings and timeline rows, playbook run records).
//!
//! Sections, in this order: summary; one merged, time-ordered timeline of attacker activity
//! and responder actions (and, in HTML, an SVG chart of it); findings by level; answers to the
//! analysis questions; actions taken with their before and after states; the evidence register
//! with hashes; open items; lessons learned and backlog.
//!
//! Every value that comes from logs is attacker-controlled: the HTML renderer escapes all of it
//! (and the page carries a Content-Security-Policy forbidding scripts), the Markdown renderer
//! escapes table separators, backticks and emphasis characters and neutralises links, autolinks
//! and inline HTML.
#![warn(missing_docs)]

mod chart;
pub mod collect;
pub mod escape;
mod html;
mod markdown;
mod timeline;

use serde::{Deserialize, Serialize};

pub use collect::{read_case_files, scan_evidence_dir, CaseFiles, EvidenceFileInfo, EvidenceScan, PlaybookRunRecord, PlaybookStepRecord, ReportSources, TableRows};
pub use html::render_html;
pub use markdown::render_markdown;

/// Errors of this crate (only the evidence-folder scan of [`collect`] can fail; rendering cannot).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file or folder could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder concerned.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Severity levels of findings, most severe first (the order the report lists them in).
pub const LEVELS: [&str; 5] = ["critical", "high", "medium", "low", "informational"];

/// Rank of a level (`critical` = 4 ... `informational` = 0); `None` for an unknown spelling.
pub fn level_rank(level: &str) -> Option<u8> {
    match level.trim().to_ascii_lowercase().as_str() {
        "critical" => Some(4),
        "high" => Some(3),
        "medium" => Some(2),
        "low" => Some(1),
        "informational" | "info" => Some(0),
        _ => None,
    }
}

/// Everything the report shows. Built by [`ReportInput::collect`] or by hand.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportInput {
    /// The case name.
    pub case_name: String,
    /// When the report was generated (RFC 3339).
    pub generated_at: String,
    /// Who or what generated it (operator, tool version).
    pub generated_by: String,
    /// What the case's events contain.
    pub summary: CaseSummary,
    /// Events linked to findings at level medium or above.
    pub attacker_timeline: Vec<TimelineEntry>,
    /// What the responders did (the action log).
    pub responder_actions: Vec<ActionEntry>,
    /// Number of findings per level, most severe first.
    pub findings_by_level: Vec<(String, u64)>,
    /// The rules that matched, most severe and most frequent first.
    pub top_findings: Vec<FindingEntry>,
    /// Playbook runs of the case.
    pub playbooks: Vec<PlaybookRunEntry>,
    /// Files in the case's evidence folder.
    pub evidence: Vec<EvidenceEntry>,
    /// What is still to be done.
    pub open_items: Vec<String>,
    /// Lessons learned.
    pub lessons_learned: Vec<String>,
    /// Improvements to schedule.
    pub backlog: Vec<String>,
    /// Result of the action log's hash-chain check: `Ok(entries)`, `Err(reason)`, or `None`
    /// when it was not checked.
    pub action_log_verified: Option<Result<usize, String>>,
}

/// A value with the number of events it appears in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counted {
    /// The value (an ARN, an IP address...).
    pub value: String,
    /// How many events carry it.
    pub count: u64,
}

/// What the case's events contain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseSummary {
    /// Number of events in the case.
    pub events: u64,
    /// Time of the first event (RFC 3339), if any.
    pub first_event: Option<String>,
    /// Time of the last event (RFC 3339), if any.
    pub last_event: Option<String>,
    /// Accounts, most events first.
    pub accounts: Vec<Counted>,
    /// Regions, most events first.
    pub regions: Vec<Counted>,
    /// Principals (ARNs), most events first.
    pub principals: Vec<Counted>,
    /// Access key ids, most events first.
    pub access_keys: Vec<Counted>,
    /// Source IP addresses (or service names), most events first.
    pub source_ips: Vec<Counted>,
    /// User agents, most events first.
    pub user_agents: Vec<Counted>,
}

/// One event of the attacker timeline (an event some finding of level medium or above matched).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Event time (RFC 3339, as in the record).
    pub time: String,
    /// Who made the call (ARN).
    pub principal: String,
    /// Access key used, if any.
    pub access_key: Option<String>,
    /// Source IP address (or AWS service).
    pub source_ip: String,
    /// User agent.
    pub user_agent: Option<String>,
    /// Event source (`iam.amazonaws.com`).
    pub event_source: String,
    /// Event name (`CreateAccessKey`).
    pub event_name: String,
    /// Resource acted on, if known.
    pub resource: Option<String>,
    /// Error code, when the call failed.
    pub error_code: Option<String>,
    /// Titles of the rules that matched the event.
    pub rule_titles: Vec<String>,
    /// Highest level among those rules.
    pub level: String,
    /// The event id.
    pub event_id: Option<String>,
}

/// One responder action (a step recorded in the case's action log).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionEntry {
    /// Sequence number in the action log.
    pub action_id: Option<u64>,
    /// When it was recorded (RFC 3339).
    pub time: String,
    /// Who did it (caller ARN or operator name).
    pub operator: String,
    /// API call (`iam:UpdateAccessKey`) or kind of record.
    pub call: String,
    /// What it acted on (`user_name=alice, access_key_id=AKIA...`).
    pub target: String,
    /// State before (JSON; `null` when not recorded).
    pub before: serde_json::Value,
    /// State after / result (JSON; `null` when none).
    pub after: serde_json::Value,
    /// `applied`, `failed`, `already_done`, `skipped`...
    pub status: String,
    /// Error message, when it failed.
    pub error: Option<String>,
}

/// One rule's findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingEntry {
    /// Rule title.
    pub rule_title: String,
    /// Rule level.
    pub level: String,
    /// Number of findings.
    pub count: u64,
    /// First matched event time.
    pub first: Option<String>,
    /// Last matched event time.
    pub last: Option<String>,
    /// Rule author.
    pub author: Option<String>,
}

/// One playbook run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybookRunEntry {
    /// Playbook id.
    pub id: String,
    /// Playbook title.
    pub title: String,
    /// The phase reached: the first phase with an open step (the last phase when all are done).
    pub phase_reached: String,
    /// Steps done (or skipped by a decision).
    pub steps_done: u64,
    /// Steps still open.
    pub steps_open: u64,
    /// Answers to the analysis questions.
    pub answers: Vec<AnswerEntry>,
    /// Decisions taken.
    pub decisions: Vec<DecisionEntry>,
}

/// The answer to an analysis question.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerEntry {
    /// The question.
    pub question: String,
    /// The answer text.
    pub answer: String,
    /// Who answered (operator; `automatic` for an answer built from the queries).
    pub who: String,
    /// When (RFC 3339).
    pub time: String,
}

/// A decision taken in a playbook run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionEntry {
    /// The decision step's title.
    pub title: String,
    /// The branch chosen.
    pub choice: String,
    /// Why (the facts used).
    pub reason: String,
    /// Who ran it.
    pub who: String,
    /// When (RFC 3339).
    pub time: String,
}

/// One file of the evidence register.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceEntry {
    /// Path (relative to the case folder).
    pub path: String,
    /// SHA-256 (hex) of the content.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// When it was added (RFC 3339).
    pub added: String,
    /// What it is.
    pub what: String,
}

/// The report's sections: (anchor id, title), in order.
pub const SECTIONS: [(&str, &str); 8] = [
    ("summary", "Summary"),
    ("timeline", "Timeline of attacker activity and responder actions"),
    ("findings", "Findings by level"),
    ("questions", "Answers to the analysis questions"),
    ("actions", "Actions taken"),
    ("evidence", "Evidence register"),
    ("open-items", "Open items"),
    ("lessons", "Lessons learned and backlog"),
];
