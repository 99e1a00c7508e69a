//! Findings, the output of detection, and the formats they are written in.
//!
//! A [`Finding`] is one rule matching one event, or one correlation rule matching a
//! window of events. Every finding carries the rule's author: the Detection Rule
//! License that covers the SigmaHQ rules asks for it to be shown with every alert.
//!
//! Log fields are attacker-controlled; the writers neutralise terminal escapes in
//! table output and spreadsheet formulas in CSV output.

#![warn(missing_docs)]

mod finding;
pub mod output;

pub use finding::{correlation_finding, rule_infos, CorrelationWindow, EventSummary, Finding, FindingKind, RuleInfo};
pub use firebreak_detect::Level;
pub use output::{encode_event_jsonl, encode_line, is_line_format, FindingWriter, OutputError, OutputFormat, TableOptions};
