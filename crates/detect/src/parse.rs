//! One YAML document -> rule metadata plus a compiled detection or a raw correlation.

use crate::compile::{compile_field, compile_keyword, Detection, FieldMatcher, Search};
use crate::condition::{parse_condition, Condition};
use crate::error::Problem;
use crate::rule::{CorrelationType, CountOp, Level, LogSource, RuleKind, RuleMeta};
use crate::yaml::Yaml;
use crate::Limits;

/// A correlation section before its rule references are resolved.
#[derive(Debug, Clone)]
pub(crate) struct RawCorrelation {
    pub kind: CorrelationType,
    pub rule_refs: Vec<String>,
    pub group_by: Vec<String>,
    pub timespan_ms: i64,
    pub condition: Option<(CountOp, u64)>,
    pub value_field: Option<String>,
    pub generate: bool,
}

/// The body of a parsed document.
#[derive(Debug)]
pub(crate) enum Body {
    Single(Detection),
    Correlation(RawCorrelation),
}

/// A document that parsed into a rule.
#[derive(Debug)]
pub(crate) struct ParsedRule {
    pub meta: RuleMeta,
    pub body: Body,
}

/// The result of parsing one document.
#[derive(Debug)]
pub(crate) enum DocOutcome {
    Rule(Box<ParsedRule>),
    Skipped {
        id: String,
        title: String,
        reason: String,
    },
    Failed {
        id: String,
        title: String,
        problem: Problem,
    },
}

fn text_of(doc: &Yaml, key: &str) -> Option<String> {
    doc.get(key).and_then(Yaml::as_str_like)
}

fn list_of(doc: &Yaml, key: &str) -> Vec<String> {
    match doc.get(key) {
        Some(Yaml::Seq(items)) => items.iter().filter_map(Yaml::as_str_like).collect(),
        Some(other) => other.as_str_like().into_iter().collect(),
        None => Vec::new(),
    }
}

/// Parses a Sigma timespan (`30s`, `10m`, `1h`, `2d`, `1w`) into milliseconds.
pub(crate) fn parse_timespan(text: &str) -> Option<i64> {
    let t = text.trim();
    let unit = t.chars().last()?;
    let n: i64 = t[..t.len() - unit.len_utf8()].trim().parse().ok()?;
    let mult = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => 86_400_000,
        'w' => 7 * 86_400_000,
        _ => return None,
    };
    if n <= 0 {
        return None;
    }
    n.checked_mul(mult)
}

fn parse_bool(y: &Yaml) -> Option<bool> {
    match y {
        Yaml::Bool(b) => Some(*b),
        Yaml::Str(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" => Some(true),
            "false" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Parses one rule document. `origin`/`document` only label the metadata.
pub(crate) fn parse_document(
    doc: &Yaml,
    origin: &str,
    document: usize,
    limits: &Limits,
) -> DocOutcome {
    let id = text_of(doc, "id").unwrap_or_default();
    let title = text_of(doc, "title").unwrap_or_default();
    let fail = |problem: Problem| DocOutcome::Failed {
        id: id.clone(),
        title: title.clone(),
        problem,
    };
    if !matches!(doc, Yaml::Map(_)) {
        return fail(Problem::Malformed(format!(
            "a rule document must be a mapping, found a {}",
            doc.type_name()
        )));
    }
    if let Some(action) = text_of(doc, "action") {
        return fail(Problem::Unsupported(format!(
            "'action: {action}' documents (Sigma v1 rule collections) are not supported; write each rule in full"
        )));
    }
    let logsource = match doc.get("logsource") {
        Some(ls @ Yaml::Map(_)) => LogSource {
            product: text_of(ls, "product"),
            service: text_of(ls, "service"),
            category: text_of(ls, "category"),
        },
        Some(Yaml::Null) | None => LogSource::default(),
        Some(other) => {
            return fail(Problem::Malformed(format!(
                "'logsource' must be a mapping, found a {}",
                other.type_name()
            )))
        }
    };
    if let Some(product) = &logsource.product {
        if !product.eq_ignore_ascii_case("aws") {
            return DocOutcome::Skipped {
                id,
                title,
                reason: format!(
                    "logsource product '{product}' is not handled (only aws/cloudtrail)"
                ),
            };
        }
        if let Some(service) = &logsource.service {
            if !service.eq_ignore_ascii_case("cloudtrail") {
                return DocOutcome::Skipped {
                    id,
                    title,
                    reason: format!(
                        "logsource service '{service}' is not handled (only aws/cloudtrail)"
                    ),
                };
            }
        }
    }
    let level = match text_of(doc, "level") {
        None => Level::Medium,
        Some(l) => match l.parse::<Level>() {
            Ok(level) => level,
            Err(e) => return fail(Problem::Malformed(e.to_string())),
        },
    };
    let meta = RuleMeta {
        id: id.clone(),
        name: text_of(doc, "name"),
        title: title.clone(),
        status: text_of(doc, "status"),
        description: text_of(doc, "description"),
        author: text_of(doc, "author"),
        date: text_of(doc, "date"),
        modified: text_of(doc, "modified"),
        references: list_of(doc, "references"),
        tags: list_of(doc, "tags"),
        falsepositives: list_of(doc, "falsepositives"),
        level,
        logsource,
        fields: list_of(doc, "fields"),
        origin: origin.to_string(),
        document,
        kind: RuleKind::Single,
        generate: true,
    };
    let body = match (doc.get("detection"), doc.get("correlation")) {
        (Some(_), Some(_)) => {
            return fail(Problem::Malformed(
                "a rule has either 'detection' or 'correlation', not both".into(),
            ))
        }
        (None, None) => {
            return fail(Problem::Malformed(
                "missing 'detection' (or 'correlation') section".into(),
            ))
        }
        (Some(det), None) => match parse_detection(det, limits) {
            Ok(d) => Body::Single(d),
            Err(p) => return fail(p),
        },
        (None, Some(corr)) => match parse_correlation(corr, doc) {
            Ok(c) => Body::Correlation(c),
            Err(p) => return fail(p),
        },
    };
    DocOutcome::Rule(Box::new(ParsedRule { meta, body }))
}

fn parse_map(
    entries: &[(Yaml, Yaml)],
    limits: &Limits,
    budget: &mut usize,
) -> Result<Vec<FieldMatcher>, Problem> {
    let mut out: Vec<FieldMatcher> = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let key = k.as_str_like().ok_or_else(|| {
            Problem::Malformed(format!(
                "a field name must be a string, found a {}",
                k.type_name()
            ))
        })?;
        if out.iter().any(|m| m.key == key) {
            return Err(Problem::Malformed(format!(
                "duplicate key '{key}' in a search identifier"
            )));
        }
        out.push(compile_field(&key, v, limits, budget)?);
    }
    // The entries of a map are ANDed: test `eventName`/`eventSource` last, since the
    // rule index has usually already established them, so mismatches fail sooner.
    out.sort_by_key(|m| matches!(m.path.name(), "eventName" | "eventSource"));
    Ok(out)
}

fn parse_search(
    name: &str,
    value: &Yaml,
    limits: &Limits,
    budget: &mut usize,
) -> Result<Search, Problem> {
    let keyword = |s: &str, budget: &mut usize| -> Result<_, Problem> {
        if *budget == 0 {
            return Err(Problem::Malformed(format!(
                "rule has more than {} values",
                limits.max_values_per_rule
            )));
        }
        *budget -= 1;
        compile_keyword(s, limits)
    };
    match value {
        Yaml::Map(entries) => {
            if entries.is_empty() {
                return Err(Problem::Malformed(format!(
                    "search identifier '{name}' is an empty mapping"
                )));
            }
            Ok(Search::AllOf(parse_map(entries, limits, budget)?))
        }
        Yaml::Seq(items) => {
            if items.is_empty() {
                return Err(Problem::Malformed(format!(
                    "search identifier '{name}' is an empty list"
                )));
            }
            if items.iter().all(|i| matches!(i, Yaml::Map(_))) {
                let mut maps = Vec::with_capacity(items.len());
                for item in items {
                    if let Yaml::Map(entries) = item {
                        maps.push(parse_map(entries, limits, budget)?);
                    }
                }
                Ok(Search::AnyMap(maps))
            } else if items
                .iter()
                .all(|i| matches!(i, Yaml::Str(_) | Yaml::Number(_) | Yaml::Bool(_)))
            {
                let mut patterns = Vec::with_capacity(items.len());
                for item in items {
                    patterns.push(keyword(&item.scalar_text().unwrap_or_default(), budget)?);
                }
                Ok(Search::Keywords {
                    patterns,
                    all: false,
                })
            } else {
                Err(Problem::Malformed(format!(
                    "search identifier '{name}' mixes maps and plain values (or holds nested lists)"
                )))
            }
        }
        Yaml::Str(_) | Yaml::Number(_) | Yaml::Bool(_) => Ok(Search::Keywords {
            patterns: vec![keyword(&value.scalar_text().unwrap_or_default(), budget)?],
            all: false,
        }),
        Yaml::Null => Err(Problem::Malformed(format!(
            "search identifier '{name}' is empty"
        ))),
    }
}

fn parse_detection(det: &Yaml, limits: &Limits) -> Result<Detection, Problem> {
    let Yaml::Map(entries) = det else {
        return Err(Problem::Malformed(format!(
            "'detection' must be a mapping, found a {}",
            det.type_name()
        )));
    };
    let mut names = Vec::new();
    let mut searches = Vec::new();
    let mut condition_yaml = None;
    let mut budget = limits.max_values_per_rule;
    let mut has_timeframe = false;
    for (k, v) in entries {
        let key = k
            .as_str_like()
            .ok_or_else(|| Problem::Malformed("a detection key must be a string".to_string()))?;
        match key.as_str() {
            "condition" => condition_yaml = Some(v),
            "timeframe" => has_timeframe = true,
            _ => {
                if names.contains(&key) {
                    return Err(Problem::Malformed(format!(
                        "duplicate search identifier '{key}'"
                    )));
                }
                if names.len() >= limits.max_search_identifiers {
                    return Err(Problem::Malformed(format!(
                        "more than {} search identifiers",
                        limits.max_search_identifiers
                    )));
                }
                let search = parse_search(&key, v, limits, &mut budget)?;
                names.push(key);
                searches.push(search);
            }
        }
    }
    let condition_yaml =
        condition_yaml.ok_or_else(|| Problem::Malformed("missing 'detection.condition'".into()))?;
    let texts: Vec<String> = match condition_yaml {
        Yaml::Seq(items) => items.iter().filter_map(Yaml::as_str_like).collect(),
        other => other.as_str_like().into_iter().collect(),
    };
    if texts.is_empty() {
        return Err(Problem::Condition(
            "'condition' must be a string or a list of strings".into(),
        ));
    }
    let mut conds = Vec::with_capacity(texts.len());
    for text in &texts {
        if text.len() > limits.max_condition_len {
            return Err(Problem::Condition(format!(
                "condition is {} characters, over the limit of {}",
                text.len(),
                limits.max_condition_len
            )));
        }
        conds.push(parse_condition(text, &names, limits.max_depth).map_err(Problem::Condition)?);
    }
    if has_timeframe {
        return Err(Problem::Unsupported(
            "'detection.timeframe' is deprecated Sigma v1 syntax (a time window on a single-event rule); \
             rewrite as a correlation rule"
                .into(),
        ));
    }
    let condition = if conds.len() == 1 {
        conds.remove(0)
    } else {
        Condition::Or(conds)
    };
    Ok(Detection {
        names,
        searches,
        condition,
    })
}

fn parse_correlation(corr: &Yaml, doc: &Yaml) -> Result<RawCorrelation, Problem> {
    let bad = |m: String| Problem::Correlation(m);
    if !matches!(corr, Yaml::Map(_)) {
        return Err(bad(format!(
            "'correlation' must be a mapping, found a {}",
            corr.type_name()
        )));
    }
    let type_text = text_of(corr, "type").ok_or_else(|| bad("missing 'type'".into()))?;
    let kind = match type_text.as_str() {
        "event_count" => CorrelationType::EventCount,
        "value_count" => CorrelationType::ValueCount,
        "temporal" => CorrelationType::Temporal,
        "temporal_ordered" => CorrelationType::TemporalOrdered,
        other => return Err(bad(format!("unknown type '{other}'"))),
    };
    let rule_refs = list_of(corr, "rules");
    if rule_refs.is_empty() {
        return Err(bad("'rules' lists no rule".into()));
    }
    let group_by = list_of(corr, "group-by");
    let span_text = text_of(corr, "timespan").or_else(|| text_of(corr, "timeframe"));
    let span_text = span_text.ok_or_else(|| bad("missing 'timespan'".into()))?;
    let timespan_ms = parse_timespan(&span_text).ok_or_else(|| {
        bad(format!(
            "bad timespan '{span_text}' (use e.g. 30s, 10m, 1h, 1d)"
        ))
    })?;
    let mut condition = None;
    let mut value_field = None;
    match corr.get("condition") {
        None | Some(Yaml::Null) => {}
        Some(Yaml::Map(entries)) => {
            for (k, v) in entries {
                let key = k.as_str_like().unwrap_or_default();
                let op = match key.as_str() {
                    "gt" => CountOp::Gt,
                    "gte" => CountOp::Gte,
                    "lt" => CountOp::Lt,
                    "lte" => CountOp::Lte,
                    "eq" => CountOp::Eq,
                    "field" => {
                        value_field = v.as_str_like();
                        continue;
                    }
                    other => return Err(bad(format!("unknown condition key '{other}'"))),
                };
                if condition.is_some() {
                    return Err(bad(
                        "more than one comparison in 'condition' (ranges are not supported)".into(),
                    ));
                }
                let n = v
                    .as_str_like()
                    .and_then(|t| t.trim().parse::<u64>().ok())
                    .ok_or_else(|| bad(format!("'{key}' needs a non-negative integer")))?;
                condition = Some((op, n));
            }
        }
        Some(other) => {
            return Err(bad(format!(
                "'condition' must be a mapping, found a {}",
                other.type_name()
            )))
        }
    }
    match kind {
        CorrelationType::EventCount | CorrelationType::ValueCount if condition.is_none() => {
            return Err(bad(format!(
                "{type_text} needs a condition such as 'gte: 10'"
            )))
        }
        CorrelationType::ValueCount if value_field.is_none() => {
            return Err(bad("value_count needs 'condition.field'".into()))
        }
        CorrelationType::Temporal | CorrelationType::TemporalOrdered
            if rule_refs.len() < 2 && condition.is_none() =>
        {
            return Err(bad(format!("{type_text} needs at least two rules")))
        }
        _ => {}
    }
    let generate = corr
        .get("generate")
        .or_else(|| doc.get("generate"))
        .and_then(parse_bool)
        .unwrap_or(false);
    if corr.get("aliases").is_some() {
        return Err(Problem::Unsupported(
            "correlation 'aliases' are not supported".into(),
        ));
    }
    Ok(RawCorrelation {
        kind,
        rule_refs,
        group_by,
        timespan_ms,
        condition,
        value_field,
        generate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("10m"), Some(600_000));
        assert_eq!(parse_timespan("30s"), Some(30_000));
        assert_eq!(parse_timespan("1h"), Some(3_600_000));
        assert_eq!(parse_timespan("2d"), Some(172_800_000));
        assert_eq!(parse_timespan("10x"), None);
        assert_eq!(parse_timespan("m"), None);
        assert_eq!(parse_timespan("0m"), None);
        assert_eq!(parse_timespan("é"), None);
    }
}
