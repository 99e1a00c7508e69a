//! Incident-response playbooks: the YAML format, its validation, decisions and rendering.
//!
//! ```no_run
//! use firebreak_playbooks::{lint, Catalogue, Library, Limits};
//! let library = Library::load(true, &["my-playbooks/".into()], &Limits::default());
//! let catalogue = Catalogue::builtin();
//! for problem in &library.issues {
//!     eprintln!("{problem}");
//! }
//! for loaded in &library.playbooks {
//!     for issue in lint(loaded, &catalogue) {
//!         eprintln!("{issue}");
//!     }
//! }
//! ```
//!
//! The format is described in `playbooks/README.md`. In short: metadata (id, title,
//! version, owner, approver, last approval date), a classification, declared `facts`,
//! phases in the fixed order (preparation, detection and analysis, containment and
//! eradication, recovery, post-incident activity) holding steps of six kinds (manual,
//! detect, query, question, action, decision), an escalation section, lessons learned
//! and backlog. Parameters reference facts as `${name}` and earlier steps' outputs as
//! `${steps.<id>.<output>}`; lint checks that every reference resolves.
//!
//! [`run_playbook`] runs a playbook over a case through a [`CaseBackend`] and an
//! [`Operator`], recording every step in `<case>/playbooks/<id>/run.jsonl`;
//! [`RunState::load`] and [`list_runs`] read those logs back.
#![warn(missing_docs)]

pub mod catalogue;
pub mod decision;
pub mod error;
pub mod lint;
pub mod load;
pub mod locate;
pub mod model;
pub mod render;
pub mod run;

pub use catalogue::{ActionSpec, Catalogue, KnownRule, QuerySpecDef, ACTIONS, QUERIES};
pub use decision::{evaluate, DecisionOutcome, Facts};
pub use error::{Issue, LoadError, Severity};
pub use lint::{has_errors, lint};
pub use load::{load_file, parse_playbook, Library, Limits, LoadedPlaybook};
pub use model::{PhaseName, Playbook, Step, StepKind};
pub use render::render_markdown;
pub use run::{
    list_runs, run_playbook, ActionOutcome, BackendError, CaseBackend, DetectOutcome, ManualAnswer,
    ManualStatus, Operator, RuleHits, RunError, RunOptions, RunProgress, RunState, RunSummary,
    StepStatus, StepTable,
};

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_playbooks.rs"));
}

/// The shipped playbooks: `(file name, text)` for every `playbooks/*.yaml` of the
/// repository, embedded at build time.
pub fn builtin_playbook_files() -> &'static [(&'static str, &'static str)] {
    builtin::BUILTIN_PLAYBOOK_FILES
}
