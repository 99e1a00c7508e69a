//! Rule metadata: what the CLI prints and stores about each loaded rule.

use std::fmt;
use std::str::FromStr;

/// Index of a rule in [`crate::RuleSet::rules`].
pub type RuleIdx = usize;

/// Sigma severity level. Ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    /// `informational`
    Informational,
    /// `low`
    Low,
    /// `medium`: also the level of rules that do not state one.
    #[default]
    Medium,
    /// `high`
    High,
    /// `critical`
    Critical,
}

impl Level {
    /// The lowercase Sigma spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A level name that is not one of Sigma's five.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown level '{0}' (expected informational, low, medium, high or critical)")]
pub struct UnknownLevel(pub String);

impl FromStr for Level {
    type Err = UnknownLevel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "informational" | "info" => Ok(Level::Informational),
            "low" => Ok(Level::Low),
            "medium" => Ok(Level::Medium),
            "high" => Ok(Level::High),
            "critical" => Ok(Level::Critical),
            _ => Err(UnknownLevel(s.to_string())),
        }
    }
}

/// The `logsource` section of a rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSource {
    /// `product` (e.g. `aws`).
    pub product: Option<String>,
    /// `service` (e.g. `cloudtrail`).
    pub service: Option<String>,
    /// `category`.
    pub category: Option<String>,
}

/// Correlation types of the Sigma correlation specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorrelationType {
    /// Number of matching events per group and window.
    EventCount,
    /// Number of distinct values of a field per group and window.
    ValueCount,
    /// All referenced rules matched within the window, in any order.
    Temporal,
    /// All referenced rules matched within the window, in the listed order.
    TemporalOrdered,
}

impl CorrelationType {
    /// The Sigma spelling (`event_count`...).
    pub fn as_str(self) -> &'static str {
        match self {
            CorrelationType::EventCount => "event_count",
            CorrelationType::ValueCount => "value_count",
            CorrelationType::Temporal => "temporal",
            CorrelationType::TemporalOrdered => "temporal_ordered",
        }
    }
}

/// Comparison of a correlation condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CountOp {
    /// `gt`
    Gt,
    /// `gte`
    Gte,
    /// `lt`
    Lt,
    /// `lte`
    Lte,
    /// `eq`
    Eq,
}

impl CountOp {
    /// Whether `count` satisfies `self threshold`.
    pub fn holds(self, count: u64, threshold: u64) -> bool {
        match self {
            CountOp::Gt => count > threshold,
            CountOp::Gte => count >= threshold,
            CountOp::Lt => count < threshold,
            CountOp::Lte => count <= threshold,
            CountOp::Eq => count == threshold,
        }
    }

    /// Whether more events can only help (`gt`/`gte`), so windows may slide.
    pub fn is_lower_bound(self) -> bool {
        matches!(self, CountOp::Gt | CountOp::Gte)
    }
}

/// A parsed correlation definition, with its referenced rules resolved to indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correlation {
    /// Which kind of correlation.
    pub kind: CorrelationType,
    /// The referenced base rules, in the order listed (matters for `temporal_ordered`).
    pub rules: Vec<RuleIdx>,
    /// The group-by field paths.
    pub group_by: Vec<String>,
    /// The window length in milliseconds.
    pub timespan_ms: i64,
    /// The count condition: for `temporal*` rules, absent means "all referenced rules".
    pub condition: Option<(CountOp, u64)>,
    /// For `value_count`: the field whose distinct values are counted.
    pub value_field: Option<String>,
    /// Whether the referenced rules also produce their own findings.
    pub generate: bool,
}

/// Whether a rule matches single events or correlates other rules' matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    /// A rule with a `detection` section, evaluated on each event.
    Single,
    /// A correlation rule, evaluated after the scan over collected hits.
    Correlation(Correlation),
}

/// Everything kept about a loaded rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMeta {
    /// `id` (empty if the rule has none).
    pub id: String,
    /// `name` (used by correlation references), if any.
    pub name: Option<String>,
    /// `title`.
    pub title: String,
    /// `status` (`stable`, `test`, `experimental`...), if any.
    pub status: Option<String>,
    /// `description`, if any.
    pub description: Option<String>,
    /// `author`, if any.
    pub author: Option<String>,
    /// `date`, if any.
    pub date: Option<String>,
    /// `modified`, if any.
    pub modified: Option<String>,
    /// `references`.
    pub references: Vec<String>,
    /// `tags` (e.g. `attack.t1078`).
    pub tags: Vec<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `level`; [`Level::Medium`] when the rule does not state one.
    pub level: Level,
    /// `logsource`.
    pub logsource: LogSource,
    /// `fields`.
    pub fields: Vec<String>,
    /// The file (or origin label) the rule was loaded from.
    pub origin: String,
    /// 1-based index of the document in its file.
    pub document: usize,
    /// Single-event rule or correlation.
    pub kind: RuleKind,
    /// Whether matches of this rule are reported as findings on their own
    /// (`false` for base rules of a correlation with `generate: false`).
    pub generate: bool,
}
