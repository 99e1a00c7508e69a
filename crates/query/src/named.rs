//! The query catalogue by name with string parameters, as playbook steps call it, and
//! the free-function forms of the pivots.

use std::collections::BTreeMap;

use firebreak_store::table::Table;
use firebreak_store::CaseStore;

use crate::anomalies::{anomalies_to_table, Anomaly, AnomalyOptions};
use crate::error::{QueryError, Result};
use crate::resources::{ChangeFilter, ResourceFilter};
use crate::session::CaseQuery;
use crate::summary::{Summary, SummaryFilter};
use crate::timeline::TimelineFilter;

/// A query of the catalogue and the parameters it takes (`required` ones first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamedQuery {
    /// Its name (`timeline`).
    pub name: &'static str,
    /// Parameters that must be given.
    pub required: &'static [&'static str],
    /// Parameters that may be given.
    pub optional: &'static [&'static str],
}

/// The queries [`run_named`] knows, with the parameter names of the playbook catalogue
/// (plus `top` for summary, `baseline_days` for anomalies and `include_failed` for
/// resources).
pub const NAMED_QUERIES: &[NamedQuery] = &[
    NamedQuery {
        name: "timeline",
        required: &[],
        optional: &[
            "access_key",
            "principal",
            "ip",
            "resource",
            "event_name",
            "event_source",
            "since",
            "until",
        ],
    },
    NamedQuery {
        name: "summary",
        required: &[],
        optional: &["principal", "since", "until", "top"],
    },
    NamedQuery {
        name: "resources",
        required: &["change"],
        optional: &[
            "principal",
            "event_source",
            "since",
            "until",
            "include_failed",
        ],
    },
    NamedQuery {
        name: "anomalies",
        required: &[],
        optional: &["principal", "since", "until", "baseline_days"],
    },
    NamedQuery {
        name: "sql",
        required: &["sql"],
        optional: &[],
    },
];

/// Parses a time parameter: RFC 3339 (`2026-10-01T00:00:00Z`, any offset), a date-time
/// without offset (taken as UTC) or a date (`2026-10-01`, midnight UTC).
pub fn parse_time(query: &str, name: &str, value: &str) -> Result<jiff::Timestamp> {
    let value = value.trim();
    if let Ok(ts) = value.parse::<jiff::Timestamp>() {
        return Ok(ts);
    }
    if let Ok(dt) = value.parse::<jiff::civil::DateTime>() {
        if let Ok(zoned) = dt.to_zoned(jiff::tz::TimeZone::UTC) {
            return Ok(zoned.timestamp());
        }
    }
    if let Ok(date) = value.parse::<jiff::civil::Date>() {
        if let Ok(zoned) = date.to_zoned(jiff::tz::TimeZone::UTC) {
            return Ok(zoned.timestamp());
        }
    }
    Err(QueryError::invalid(
        query,
        name,
        value,
        "expected an RFC 3339 time (2026-10-01T00:00:00Z) or a date (2026-10-01)",
    ))
}

struct Params<'a> {
    query: &'static str,
    params: &'a BTreeMap<String, String>,
}

impl<'a> Params<'a> {
    /// The trimmed value, `None` when absent or blank.
    fn text(&self, name: &str) -> Option<String> {
        self.params
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    fn time(&self, name: &str) -> Result<Option<jiff::Timestamp>> {
        self.text(name)
            .map(|v| parse_time(self.query, name, &v))
            .transpose()
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => v
                .parse::<T>()
                .map(Some)
                .map_err(|_| QueryError::invalid(self.query, name, &v, "expected a whole number")),
        }
    }

    fn flag(&self, name: &str) -> Result<bool> {
        match self.text(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(false),
            Some(v) if v == "true" || v == "yes" || v == "1" => Ok(true),
            Some(v) if v == "false" || v == "no" || v == "0" => Ok(false),
            Some(v) => Err(QueryError::invalid(
                self.query,
                name,
                &v,
                "expected true or false",
            )),
        }
    }
}

/// Checks `params` against the catalogue entry of `name`.
fn check<'a>(name: &str, params: &'a BTreeMap<String, String>) -> Result<Params<'a>> {
    let spec = NAMED_QUERIES
        .iter()
        .find(|q| q.name == name)
        .ok_or_else(|| QueryError::UnknownQuery {
            name: name.to_string(),
            known: NAMED_QUERIES
                .iter()
                .map(|q| q.name)
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    for (key, value) in params {
        if !spec.required.contains(&key.as_str()) && !spec.optional.contains(&key.as_str()) {
            let known: Vec<&str> = spec.required.iter().chain(spec.optional).copied().collect();
            return Err(QueryError::invalid(
                spec.name,
                key,
                value,
                format!("unknown parameter (known: {})", known.join(", ")),
            ));
        }
    }
    let checked = Params {
        query: spec.name,
        params,
    };
    for required in spec.required {
        if checked.text(required).is_none() {
            return Err(QueryError::MissingParameter {
                query: spec.name.to_string(),
                reason: format!("parameter {required} is required"),
            });
        }
    }
    Ok(checked)
}

impl CaseQuery {
    /// Runs the catalogue query `name` (`timeline`, `summary`, `resources`, `anomalies`,
    /// `sql`) with string parameters, as playbook `query` and `question` steps do.
    /// Blank values count as absent; unknown parameters are errors.
    pub fn run_named(&self, name: &str, params: &BTreeMap<String, String>) -> Result<Table> {
        let p = check(name, params)?;
        match p.query {
            "timeline" => self.timeline(&TimelineFilter {
                access_key: p.text("access_key"),
                principal: p.text("principal"),
                ip: p.text("ip"),
                resource: p.text("resource"),
                event_name: p.text("event_name"),
                event_source: p.text("event_source"),
                since: p.time("since")?,
                until: p.time("until")?,
            }),
            "summary" => Ok(self
                .summary(&SummaryFilter {
                    principal: p.text("principal"),
                    since: p.time("since")?,
                    until: p.time("until")?,
                    top: p.number("top")?,
                })?
                .to_table()),
            "resources" => {
                let change_text = p.text("change").unwrap_or_default();
                let change = change_text.parse::<ChangeFilter>().map_err(|reason| {
                    QueryError::invalid(p.query, "change", &change_text, reason)
                })?;
                self.resources(&ResourceFilter {
                    change,
                    principal: p.text("principal"),
                    event_source: p.text("event_source"),
                    since: p.time("since")?,
                    until: p.time("until")?,
                    include_failed: p.flag("include_failed")?,
                })
            }
            "anomalies" => {
                let anomalies = self.anomalies(&AnomalyOptions {
                    principal: p.text("principal"),
                    since: p.time("since")?,
                    until: p.time("until")?,
                    baseline_days: p
                        .number("baseline_days")?
                        .unwrap_or(crate::anomalies::DEFAULT_BASELINE_DAYS),
                })?;
                Ok(anomalies_to_table(&anomalies))
            }
            _ => self.sql(&p.text("sql").unwrap_or_default()),
        }
    }
}

/// [`CaseQuery::timeline`] on a fresh session over `store`.
pub fn timeline(store: &CaseStore, filter: &TimelineFilter) -> Result<Table> {
    CaseQuery::open(store)?.timeline(filter)
}

/// [`CaseQuery::summary`] on a fresh session over `store`.
pub fn summary(store: &CaseStore, filter: &SummaryFilter) -> Result<Summary> {
    CaseQuery::open(store)?.summary(filter)
}

/// [`CaseQuery::resources`] on a fresh session over `store`.
pub fn resources(store: &CaseStore, filter: &ResourceFilter) -> Result<Table> {
    CaseQuery::open(store)?.resources(filter)
}

/// [`CaseQuery::anomalies`] on a fresh session over `store`.
pub fn anomalies(store: &CaseStore, opts: &AnomalyOptions) -> Result<Vec<Anomaly>> {
    CaseQuery::open(store)?.anomalies(opts)
}

/// [`CaseQuery::run_named`] on a fresh session over `store`.
pub fn run_named(
    store: &CaseStore,
    name: &str,
    params: &BTreeMap<String, String>,
) -> Result<Table> {
    CaseQuery::open(store)?.run_named(name, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_three_forms() {
        let z = parse_time("t", "since", "2026-10-01T00:00:00Z").unwrap();
        assert_eq!(z.as_second(), 1_790_812_800);
        assert_eq!(parse_time("t", "since", "2026-10-01").unwrap(), z);
        assert_eq!(parse_time("t", "since", "2026-10-01T00:00:00").unwrap(), z);
        assert_eq!(
            parse_time("t", "since", "2026-10-01T02:00:00+02:00").unwrap(),
            z
        );
        let err = parse_time("timeline", "since", "yesterday").unwrap_err();
        assert!(err.to_string().contains("since"), "{err}");
    }
}
