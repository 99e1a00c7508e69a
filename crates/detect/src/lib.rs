//! Sigma detection engine: rule parsing, compilation, event-name index, correlations.
//!
//! ```no_run
//! use firebreak_detect::{Limits, RuleLoader};
//! let mut loader = RuleLoader::new(Limits::default());
//! loader.add_builtin();
//! loader.add_path(std::path::Path::new("my-rules/"));
//! let (rules, report) = loader.finish();
//! for err in report.errors() {
//!     eprintln!("{err}");
//! }
//! let event = serde_json::json!({"eventName": "ConsoleLogin"});
//! let mut fired = Vec::new();
//! rules.match_event(&event, &mut fired);
//! ```
//!
//! # Semantics and decisions
//!
//! Sigma v2 is followed; where it is silent, this crate decides:
//! - Strings compare case-insensitively (ASCII; non-ASCII values fall back to a
//!   Unicode case-insensitive regex) as whole values, with `*`/`?` wildcards and
//!   `\*`, `\?`, `\\` escapes. `|cased` makes them case-sensitive; `|re` is
//!   case-sensitive unless `|i`.
//! - Numbers and booleans compare by their JSON text (`'false'` matches `false`).
//!   Objects and arrays compare by their JSON text and by that text with JSON string
//!   escapes decoded (nested policy documents).
//! - `null` means absent or JSON `null`; `|exists: true` means the key is present
//!   (even with a `null` value).
//! - Keywords (a bare string or list of strings) search the event's JSON text with
//!   escapes decoded, as `*keyword*`.
//! - A dotted field is looked up as a path (arrays fan out) and, when that path is
//!   absent, as one literal key containing dots.
//! - `level` missing -> [`Level::Medium`] (Sigma's default for untriaged rules).
//! - `logsource`: `product: aws` with `service: cloudtrail` or no service, and rules
//!   without a product, are loaded; other products and services are
//!   [`RuleOutcome::Skipped`] with the reason.
//! - Refused with a reason ([`RuleOutcome::Error`]): v1 aggregations (`| count()`,
//!   `| near`), `detection.timeframe`, `action:` documents, `|expand` placeholders,
//!   UTF-16 modifiers, chained correlations, and everything over [`Limits`].
//! - Correlations reference base rules by `name`, then `id`, then `title` (the same
//!   file first). `generate` defaults to `false` (base rules of a correlation do not
//!   report on their own unless `generate: true`). Windows start at an event and span
//!   `timespan`; for `gt`/`gte` they slide (one finding per window, the next window
//!   starts after it), for `lt`/`lte`/`eq` they tumble. `temporal_ordered` needs the
//!   rules in the listed order within one window. Events without a parseable
//!   `eventTime` cannot feed correlations. Missing group-by values group as `""`.
//! - The index: each rule is filed under the `eventName` values (or prefixes) it
//!   requires, else its required `eventSource` values, else the required values of
//!   some other field (e.g. `userIdentity.type: Root`), else tested on every event.
#![warn(missing_docs)]

pub mod compile;
pub mod condition;
pub mod correlation;
pub mod error;
mod index;
pub mod load;
mod parse;
pub mod rule;
pub mod sql;
mod yaml;

use firebreak_events::EventFields;

pub use compile::{Detection, EvalCtx};
pub use correlation::{CorrelationHit, CorrelationMatch};
pub use error::{Problem, RuleError};
pub use load::{LoadReport, RuleLoader, RuleOutcome, RuleStatus};
pub use rule::{
    Correlation, CorrelationType, CountOp, Level, LogSource, RuleIdx, RuleKind, RuleMeta,
    UnknownLevel,
};
pub use sql::{compile_rules, matches_query, render_script, SqlDialect, SqlRule, SqlSkip};

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
}

/// The embedded rule pack: `(path relative to rules/, file text)` for every
/// `rules/**/*.yml` of the repository except `rules/tests/**`, embedded at build time.
pub fn builtin_rule_files() -> &'static [(&'static str, &'static str)] {
    builtin::BUILTIN_RULE_FILES
}

/// Limits that keep hostile rule files from hanging or exhausting the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest rule file accepted, in bytes (default 1 MiB).
    pub max_file_bytes: usize,
    /// Most YAML documents in one file (default 1,000).
    pub max_documents_per_file: usize,
    /// Most YAML nodes in one document after alias expansion (default 100,000).
    pub max_yaml_nodes: usize,
    /// Deepest nesting of YAML, conditions and directories (default 64).
    pub max_depth: usize,
    /// Most values (over all fields and keywords) in one rule (default 10,000).
    pub max_values_per_rule: usize,
    /// Most search identifiers in one rule (default 1,000).
    pub max_search_identifiers: usize,
    /// Longest condition string, in bytes (default 10,000).
    pub max_condition_len: usize,
    /// Longest regular expression source, in bytes (default 64 KiB).
    pub max_regex_len: usize,
    /// Compiled size limit of one regex and of its lazy DFA, in bytes (default 4 MiB).
    pub max_regex_compiled_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 1 << 20,
            max_documents_per_file: 1_000,
            max_yaml_nodes: 100_000,
            max_depth: 64,
            max_values_per_rule: 10_000,
            max_search_identifiers: 1_000,
            max_condition_len: 10_000,
            max_regex_len: 64 << 10,
            max_regex_compiled_bytes: 4 << 20,
        }
    }
}

/// The compiled rules: `Send + Sync`, shared by reference across scanning threads.
#[derive(Debug, Clone)]
pub struct RuleSet {
    metas: Vec<RuleMeta>,
    detections: Vec<Option<Detection>>,
    /// Single-event rules whose matches are findings.
    generating: index::NameIndex,
    /// Single-event rules that feed correlations.
    feeding: index::NameIndex,
    /// For each rule, the correlation rules it feeds.
    feeds: Vec<Vec<RuleIdx>>,
}

impl RuleSet {
    /// Metadata of every loaded rule; a [`RuleIdx`] indexes this slice.
    pub fn rules(&self) -> &[RuleMeta] {
        &self.metas
    }

    /// The compiled detection of a single-event rule (`None` for correlations), for
    /// inspection and later translation (e.g. to SQL).
    pub fn detection(&self, rule: RuleIdx) -> Option<&Detection> {
        self.detections.get(rule).and_then(Option::as_ref)
    }

    /// Number of distinct keys (event names, name prefixes, event sources, values of
    /// other indexed fields) in the rule index, and number of generating rules that
    /// must be tested on every event.
    pub fn index_stats(&self) -> (usize, usize) {
        (
            self.generating.key_count(),
            self.generating.unindexed().len(),
        )
    }

    /// The generating rules that require no indexable field value and are therefore
    /// tested on every event.
    pub fn always_tested(&self) -> &[RuleIdx] {
        self.generating.unindexed()
    }

    /// Leaves out of [`RuleSet::match_event`] (and [`RuleSet::scan_event`]) every rule
    /// whose level is below `min_level`, so that they cost nothing per event when their
    /// findings would be dropped anyway. Correlations (and the base rules feeding them)
    /// are unaffected.
    pub fn drop_findings_below(&mut self, min_level: Level) {
        let metas = &self.metas;
        self.generating
            .retain(&|r| metas.get(r).is_some_and(|m| m.level >= min_level));
    }

    /// Whether single-event rule `rule` matches `event` (false for correlations).
    pub fn rule_matches<E: EventFields + ?Sized>(&self, rule: RuleIdx, event: &E) -> bool {
        self.detection(rule).is_some_and(|d| d.matches(event))
    }

    /// Appends to `out` the single-event rules that fire on `event` and generate
    /// findings (base rules of a `generate: false` correlation are left out). The
    /// appended indexes are sorted.
    pub fn match_event<E: EventFields + ?Sized>(&self, event: &E, out: &mut Vec<RuleIdx>) {
        let start = out.len();
        let name = event.event_name();
        let source = event.event_source();
        let ctx = EvalCtx::new(name.as_deref(), source.as_deref());
        self.generating
            .candidates(event, name.as_deref(), source.as_deref(), &mut |r| {
                if self
                    .detections
                    .get(r)
                    .and_then(Option::as_ref)
                    .is_some_and(|d| d.matches_with(event, &ctx))
                {
                    out.push(r);
                }
            });
        if out.len() - start > 1 {
            out[start..].sort_unstable();
            let mut write = start + 1;
            for read in start + 1..out.len() {
                if out[read] != out[write - 1] {
                    out[write] = out[read];
                    write += 1;
                }
            }
            out.truncate(write);
        }
    }

    /// Appends to `out` one hit per (matching base rule, correlation it feeds), with
    /// the group-by values and the event time. Events without a parseable `eventTime`
    /// cannot be placed in a window and produce no hits.
    pub fn correlation_hits<E: EventFields + ?Sized>(
        &self,
        event: &E,
        out: &mut Vec<CorrelationHit>,
    ) {
        if self.feeding.is_empty() {
            return;
        }
        let mut time: Option<Option<i64>> = None;
        let mut event_id: Option<String> = None;
        let mut seen: Vec<RuleIdx> = Vec::new();
        let name = event.event_name();
        let source = event.event_source();
        let ctx = EvalCtx::new(name.as_deref(), source.as_deref());
        self.feeding
            .candidates(event, name.as_deref(), source.as_deref(), &mut |base| {
                if seen.contains(&base)
                    || !self
                        .detections
                        .get(base)
                        .and_then(Option::as_ref)
                        .is_some_and(|d| d.matches_with(event, &ctx))
                {
                    return;
                }
                seen.push(base);
                let Some(time_ms) = *time.get_or_insert_with(|| event.event_time_millis()) else {
                    return;
                };
                let id = event_id
                    .get_or_insert_with(|| {
                        compile::FieldPath::new("eventID")
                            .first_text(event)
                            .unwrap_or_default()
                    })
                    .clone();
                for &corr in self.feeds.get(base).map(Vec::as_slice).unwrap_or(&[]) {
                    let Some(RuleKind::Correlation(c)) = self.metas.get(corr).map(|m| &m.kind)
                    else {
                        continue;
                    };
                    let group = c
                        .group_by
                        .iter()
                        .map(|f| {
                            compile::FieldPath::new(f)
                                .first_text(event)
                                .unwrap_or_default()
                        })
                        .collect();
                    let value = c
                        .value_field
                        .as_deref()
                        .and_then(|f| compile::FieldPath::new(f).first_text(event));
                    if c.kind == CorrelationType::ValueCount && value.is_none() {
                        continue;
                    }
                    out.push(CorrelationHit {
                        correlation: corr,
                        base,
                        group,
                        value,
                        time_ms,
                        event_id: id.clone(),
                    });
                }
            });
    }

    /// Both [`RuleSet::match_event`] and [`RuleSet::correlation_hits`] in one call.
    pub fn scan_event<E: EventFields + ?Sized>(
        &self,
        event: &E,
        fired: &mut Vec<RuleIdx>,
        hits: &mut Vec<CorrelationHit>,
    ) {
        self.match_event(event, fired);
        self.correlation_hits(event, hits);
    }

    /// Evaluates the correlation rules over all hits collected during a scan (from
    /// any number of threads, in any order): one finding per (rule, group, window),
    /// sorted by rule, group and time.
    pub fn evaluate_correlations(&self, hits: Vec<CorrelationHit>) -> Vec<CorrelationMatch> {
        let lookup = |idx: RuleIdx| match self.metas.get(idx).map(|m| &m.kind) {
            Some(RuleKind::Correlation(c)) => Some(c),
            _ => None,
        };
        correlation::evaluate(&lookup, hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn rules_below_min_level_no_longer_fire() {
        let mut loader = RuleLoader::new(Limits::default());
        for (name, level, field) in [
            ("low_root", "low", "userIdentity.type: Root"),
            ("high_login", "high", "eventName: ConsoleLogin"),
            ("low_always", "low", "userAgent|contains: curl"),
        ] {
            loader.add_yaml(
                name,
                &format!(
                    "title: {name}\nlevel: {level}\nlogsource:\n  product: aws\ndetection:\n  sel:\n    {field}\n  condition: sel\n"
                ),
            );
        }
        let (mut rules, report) = loader.finish();
        assert_eq!(report.errors().count(), 0);
        let event = serde_json::json!({
            "eventName": "ConsoleLogin",
            "userAgent": "curl/8",
            "userIdentity": {"type": "Root"}
        });
        let fired = |rules: &RuleSet| {
            let mut out = Vec::new();
            rules.match_event(&event, &mut out);
            out.iter().map(|&r| rules.rules()[r].title.clone()).collect::<Vec<_>>()
        };
        assert_eq!(fired(&rules), ["low_root", "high_login", "low_always"]);
        rules.drop_findings_below(Level::Medium);
        assert_eq!(fired(&rules), ["high_login"]);
        assert_eq!(rules.always_tested().len(), 0);
        // A rule still matches when asked directly.
        assert!(rules.rule_matches(0, &event));
    }

    #[test]
    fn ties_are_indexed_by_the_shallowest_field() {
        let mut loader = RuleLoader::new(Limits::default());
        loader.add_yaml(
            "assumed",
            "title: assumed\nlogsource:\n  product: aws\ndetection:\n  sel:\n    userIdentity.type: AssumedRole\n    userIdentity.sessionContext.sessionIssuer.type: Role\n  condition: sel\n",
        );
        let (rules, report) = loader.finish();
        assert_eq!(report.errors().count(), 0);
        assert_eq!(rules.generating.indexed_fields(), ["userIdentity.type"]);
        let mut out = Vec::new();
        let hit = serde_json::json!({"userIdentity": {"type": "AssumedRole",
            "sessionContext": {"sessionIssuer": {"type": "Role"}}}});
        rules.match_event(&hit, &mut out);
        assert_eq!(out, [0]);
        out.clear();
        let miss = serde_json::json!({"userIdentity": {"type": "AssumedRole",
            "sessionContext": {"sessionIssuer": {"type": "User"}}}});
        rules.match_event(&miss, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn rule_set_is_send_sync() {
        assert_send_sync::<RuleSet>();
    }
}
