//! The playbook document, as written in YAML. Structure is checked by deserialisation
//! (unknown keys are refused); meaning (references, catalogue entries, order) by [`crate::lint()`].

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// A scalar kept as text: YAML strings, numbers and booleans all deserialise into it, so
/// `version: 1.2`, `equals: true` and `revoke_sessions: true` need no quoting.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(transparent)]
pub struct Text(pub String);

impl Text {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl Visitor<'_> for TextVisitor {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a text, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// One playbook: metadata, classification, declared facts, phases, escalation and the
/// sections the incident report carries forward.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    /// Stable identifier (`amazon-q`): lowercase letters, digits and `-`.
    pub id: String,
    /// Human title.
    pub title: String,
    /// Version of this playbook (`1.0`).
    pub version: Text,
    /// Who maintains it.
    pub owner: String,
    /// Who approved it.
    pub approver: String,
    /// Date of the last approval, `YYYY-MM-DD`.
    pub last_approved: Text,
    /// A paragraph saying when to use this playbook.
    #[serde(default)]
    pub summary: Option<String>,
    /// What kind of incident this playbook is for.
    pub classification: Classification,
    /// Facts the case provides (account environment, the key in question...), referenced
    /// by name from parameters (`${name}`) and decisions (`fact: name`).
    #[serde(default)]
    pub facts: Vec<FactDecl>,
    /// The phases, in the order of [`PhaseName`].
    pub phases: Vec<Phase>,
    /// Who is told what, and when legal, press and the provider are brought in.
    pub escalation: Escalation,
    /// Lessons-learned prompts, carried into the report.
    #[serde(default)]
    pub lessons_learned: Vec<String>,
    /// Backlog items (improvements) the report carries forward.
    #[serde(default)]
    pub backlog: Vec<String>,
}

/// The incident classification.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Classification {
    /// MITRE ATT&CK techniques, as rule tags (`attack.t1078.004`).
    #[serde(default)]
    pub ttps: Vec<String>,
    /// Incident category (`Credential compromise`).
    pub category: String,
    /// The affected resource types.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Indicators that point to this kind of incident.
    #[serde(default)]
    pub indicators: Vec<String>,
    /// Log sources the investigation needs.
    #[serde(default)]
    pub log_sources: Vec<String>,
    /// Teams involved.
    #[serde(default)]
    pub teams: Vec<String>,
}

/// A fact the case supplies before or while the playbook runs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FactDecl {
    /// Name (`account_environment`): lowercase letters, digits and `_`.
    pub name: String,
    /// What the fact is.
    pub description: String,
    /// The values it may take, when the set is closed (`[production, development]`).
    #[serde(default)]
    pub values: Vec<String>,
}

/// The incident-response phases, in their required order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseName {
    /// Preparation.
    Preparation,
    /// Detection and analysis.
    DetectionAndAnalysis,
    /// Containment and eradication.
    ContainmentAndEradication,
    /// Recovery.
    Recovery,
    /// Post-incident activity.
    PostIncidentActivity,
}

impl PhaseName {
    /// Every phase, in order.
    pub const ALL: [PhaseName; 5] = [
        PhaseName::Preparation,
        PhaseName::DetectionAndAnalysis,
        PhaseName::ContainmentAndEradication,
        PhaseName::Recovery,
        PhaseName::PostIncidentActivity,
    ];

    /// The YAML spelling (`detection_and_analysis`).
    pub fn key(self) -> &'static str {
        match self {
            PhaseName::Preparation => "preparation",
            PhaseName::DetectionAndAnalysis => "detection_and_analysis",
            PhaseName::ContainmentAndEradication => "containment_and_eradication",
            PhaseName::Recovery => "recovery",
            PhaseName::PostIncidentActivity => "post_incident_activity",
        }
    }

    /// The readable title (`Detection and analysis`).
    pub fn title(self) -> &'static str {
        match self {
            PhaseName::Preparation => "Preparation",
            PhaseName::DetectionAndAnalysis => "Detection and analysis",
            PhaseName::ContainmentAndEradication => "Containment and eradication",
            PhaseName::Recovery => "Recovery",
            PhaseName::PostIncidentActivity => "Post-incident activity",
        }
    }
}

/// One phase and its steps, in order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// Which phase.
    pub phase: PhaseName,
    /// Its steps.
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// A checklist item done by a person (`who`).
    Manual,
    /// Run rules (by id, tag, title or origin) over the case (`rules`).
    Detect,
    /// A pivot or SQL over the case (`query`, `params`, `outputs`).
    Query,
    /// An analysis question answered by queries (`question`, `queries`); the answer is recorded.
    Question,
    /// A respond command (`action`, `params`), applied only when confirmed.
    Action,
    /// Conditions on facts choosing the next steps (`branches`, `otherwise`).
    Decision,
}

impl StepKind {
    /// The YAML spelling.
    pub fn key(self) -> &'static str {
        match self {
            StepKind::Manual => "manual",
            StepKind::Detect => "detect",
            StepKind::Query => "query",
            StepKind::Question => "question",
            StepKind::Action => "action",
            StepKind::Decision => "decision",
        }
    }

    /// The outputs every step of this kind produces, referenced as `steps.<id>.<output>`
    /// (a query or question adds its declared `outputs`).
    pub fn fixed_outputs(self) -> &'static [&'static str] {
        match self {
            StepKind::Manual => &["done", "notes"],
            StepKind::Detect => &["findings", "count"],
            StepKind::Query => &["rows", "count"],
            StepKind::Question => &["answer"],
            StepKind::Action => &["status"],
            StepKind::Decision => &["choice"],
        }
    }
}

/// One step. The keys a step may use depend on its `kind`; lint refuses keys that do
/// not belong to the kind and missing required ones.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Identifier, unique in the playbook: lowercase letters, digits, `-` and `_`.
    pub id: String,
    /// What the step does.
    pub kind: StepKind,
    /// One-line title.
    pub title: String,
    /// Longer guidance.
    #[serde(default)]
    pub description: Option<String>,
    /// Who does it (required for `manual`).
    #[serde(default)]
    pub who: Option<String>,
    /// `detect`: the rules to run.
    #[serde(default)]
    pub rules: Vec<RuleSelector>,
    /// `query`: the catalogue query (`timeline`, `summary`, `resources`, `anomalies`, `sql`).
    #[serde(default)]
    pub query: Option<String>,
    /// `query` and `action`: parameters; values may hold `${fact}` or `${steps.id.output}`.
    #[serde(default)]
    pub params: BTreeMap<String, Text>,
    /// `query`: result columns later steps may reference as `steps.<id>.<column>`.
    #[serde(default)]
    pub outputs: Vec<String>,
    /// `question`: the analysis question.
    #[serde(default)]
    pub question: Option<String>,
    /// `question`: the queries that answer it.
    #[serde(default)]
    pub queries: Vec<QuerySpec>,
    /// `action`: the respond command (`contain access-key`).
    #[serde(default)]
    pub action: Option<String>,
    /// `decision`: branches, the first whose condition holds is taken.
    #[serde(default)]
    pub branches: Vec<Branch>,
    /// `decision`: steps taken when no branch holds.
    #[serde(default)]
    pub otherwise: Vec<String>,
}

/// Selects rules for a `detect` step: exactly one key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RuleSelector {
    /// A rule id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A rule title (exact, case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Every rule with this tag, or a tag under it (`attack.t1562` matches `attack.t1562.008`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Every rule whose origin contains this text (`aws/amazon_q/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// One query of a `question` step.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuerySpec {
    /// The catalogue query.
    pub query: String,
    /// Its parameters.
    #[serde(default)]
    pub params: BTreeMap<String, Text>,
    /// Result columns later steps may reference as `steps.<question id>.<column>`.
    #[serde(default)]
    pub outputs: Vec<String>,
}

/// One branch of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    /// The condition.
    pub when: Condition,
    /// The steps to take (ids of later steps).
    pub then: Vec<String>,
}

/// A condition on facts: exactly one of `all`, `any`, `not`, or a test on `fact`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Every sub-condition holds.
    #[serde(default)]
    pub all: Vec<Condition>,
    /// At least one sub-condition holds.
    #[serde(default)]
    pub any: Vec<Condition>,
    /// The sub-condition does not hold.
    #[serde(default)]
    pub not: Option<Box<Condition>>,
    /// The fact tested: a declared fact name or `steps.<id>.<output>`.
    #[serde(default)]
    pub fact: Option<String>,
    /// The fact equals this (case-insensitive).
    #[serde(default)]
    pub equals: Option<Text>,
    /// The fact equals one of these (case-insensitive).
    #[serde(default, rename = "in")]
    pub one_of: Vec<Text>,
    /// The fact contains this text (case-insensitive).
    #[serde(default)]
    pub contains: Option<Text>,
    /// The fact is at least this: a finding level (`informational` < `low` < `medium` <
    /// `high` < `critical`) or a number.
    #[serde(default)]
    pub at_least: Option<Text>,
    /// The fact is known (`true`) or unknown (`false`).
    #[serde(default)]
    pub exists: Option<bool>,
}

/// Escalation: notifications, and when legal, press and the cloud provider come in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// Who is notified when.
    #[serde(default)]
    pub notify: Vec<Notification>,
    /// When legal counsel is brought in.
    pub legal: String,
    /// When press / communications are brought in.
    pub press: String,
    /// When the cloud provider's support is engaged.
    pub provider_support: String,
}

/// One notification rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Notification {
    /// The trigger (`a production resource is affected`).
    pub when: String,
    /// Who is told.
    pub who: Vec<String>,
    /// Within how long (`1h`), if there is a deadline.
    #[serde(default)]
    pub within: Option<String>,
}

impl Playbook {
    /// Every step in document order, with its phase.
    pub fn steps(&self) -> impl Iterator<Item = (PhaseName, &Step)> {
        self.phases
            .iter()
            .flat_map(|p| p.steps.iter().map(move |s| (p.phase, s)))
    }

    /// Finds a step by id.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps().map(|(_, s)| s).find(|s| s.id == id)
    }

    /// Counts the steps of a kind.
    pub fn count_kind(&self, kind: StepKind) -> usize {
        self.steps().filter(|(_, s)| s.kind == kind).count()
    }
}

#[cfg(test)]
mod tests {
    use super::Text;

    #[test]
    fn scalars_keep_their_written_form() {
        let parsed: Vec<Text> =
            yaml_serde::from_str("[1.0, 1.10, true, 42, text, '007']").expect("parses");
        let texts: Vec<&str> = parsed.iter().map(Text::as_str).collect();
        assert_eq!(texts, ["1.0", "1.10", "true", "42", "text", "007"]);
        assert!(yaml_serde::from_str::<Text>("[a]").is_err());
    }
}
