//! Correlation evaluation: hits collected during the scan (in any order, from any
//! number of threads) are grouped, sorted by time and cut into windows.

use std::collections::HashMap;

use crate::rule::{Correlation, CorrelationType, RuleIdx};

/// One base-rule match that feeds one correlation rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationHit {
    /// The correlation rule this hit feeds.
    pub correlation: RuleIdx,
    /// The base rule that matched.
    pub base: RuleIdx,
    /// Values of the correlation's group-by fields, in order (`""` when absent).
    pub group: Vec<String>,
    /// For `value_count`: the value of the counted field (`None` when absent).
    pub value: Option<String>,
    /// Event time, milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// The event's `eventID` (`""` when absent).
    pub event_id: String,
}

/// A correlation finding: one per (correlation rule, group, window).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationMatch {
    /// The correlation rule.
    pub rule: RuleIdx,
    /// `(field, value)` for each group-by field.
    pub group: Vec<(String, String)>,
    /// Time of the first event in the window (ms).
    pub first_ms: i64,
    /// Time of the last event in the window (ms).
    pub last_ms: i64,
    /// Events counted (`event_count`, `temporal*`) or distinct values (`value_count`).
    pub count: u64,
    /// `eventID`s of the events in the window, in time order.
    pub event_ids: Vec<String>,
}

/// Evaluates hits of correlation `rule`. `hits` all belong to one group, sorted by time.
fn windows(
    rule: RuleIdx,
    corr: &Correlation,
    group: &[(String, String)],
    hits: &[&CorrelationHit],
    out: &mut Vec<CorrelationMatch>,
) {
    let span = corr.timespan_ms;
    let finding = |slice: &[&CorrelationHit], count: u64| CorrelationMatch {
        rule,
        group: group.to_vec(),
        first_ms: slice.first().map_or(0, |h| h.time_ms),
        last_ms: slice.last().map_or(0, |h| h.time_ms),
        count,
        event_ids: slice.iter().map(|h| h.event_id.clone()).collect(),
    };
    let mut i = 0;
    while i < hits.len() {
        let start = hits[i].time_ms;
        let end = hits[i..]
            .iter()
            .position(|h| h.time_ms.saturating_sub(start) > span)
            .map_or(hits.len(), |p| i + p);
        let window = &hits[i..end];
        match corr.kind {
            CorrelationType::EventCount | CorrelationType::ValueCount => {
                let Some((op, threshold)) = corr.condition else {
                    return;
                };
                let count_of = |w: &[&CorrelationHit]| -> u64 {
                    if corr.kind == CorrelationType::EventCount {
                        w.len() as u64
                    } else {
                        let mut values: Vec<&str> =
                            w.iter().filter_map(|h| h.value.as_deref()).collect();
                        values.sort_unstable();
                        values.dedup();
                        values.len() as u64
                    }
                };
                if op.is_lower_bound() {
                    // Sliding: a window that starts at this event and satisfies the
                    // condition is a finding; the next window starts after it.
                    if op.holds(count_of(window), threshold) {
                        out.push(finding(window, count_of(window)));
                        i = end;
                    } else {
                        i += 1;
                    }
                } else {
                    // Upper bounds and equality: tumbling windows from the first event.
                    let count = count_of(window);
                    if op.holds(count, threshold) {
                        out.push(finding(window, count));
                    }
                    i = end;
                }
            }
            CorrelationType::Temporal => {
                let needed = corr.condition.map_or(corr.rules.len() as u64, |(_, n)| n);
                let mut seen: Vec<RuleIdx> = window.iter().map(|h| h.base).collect();
                seen.sort_unstable();
                seen.dedup();
                let distinct = seen.len() as u64;
                let ok = match corr.condition {
                    Some((op, n)) => op.holds(distinct, n),
                    None => distinct >= needed,
                };
                if ok {
                    out.push(finding(window, window.len() as u64));
                    i = end;
                } else {
                    i += 1;
                }
            }
            CorrelationType::TemporalOrdered => {
                // The window must start with the first rule, then hold the others in order.
                if corr.rules.first() != Some(&hits[i].base) {
                    i += 1;
                    continue;
                }
                let mut next = 1;
                let mut last = i;
                for (k, h) in window.iter().enumerate().skip(1) {
                    if next < corr.rules.len() && h.base == corr.rules[next] {
                        next += 1;
                        last = i + k;
                    }
                }
                if next == corr.rules.len() {
                    let slice = &hits[i..=last];
                    out.push(finding(slice, slice.len() as u64));
                    i = last + 1;
                } else {
                    i += 1;
                }
            }
        }
    }
}

/// Evaluates collected hits against the correlation rules (`correlations[i]` is the
/// definition of rule `i` when it is a correlation).
pub(crate) fn evaluate<'a>(
    correlations: &dyn Fn(RuleIdx) -> Option<&'a Correlation>,
    mut hits: Vec<CorrelationHit>,
) -> Vec<CorrelationMatch> {
    hits.sort_by(|a, b| {
        (a.correlation, &a.group, a.time_ms, &a.event_id, a.base).cmp(&(
            b.correlation,
            &b.group,
            b.time_ms,
            &b.event_id,
            b.base,
        ))
    });
    let mut out = Vec::new();
    let mut groups: HashMap<(RuleIdx, &[String]), Vec<&CorrelationHit>> = HashMap::new();
    let mut order: Vec<(RuleIdx, &[String])> = Vec::new();
    for h in &hits {
        let key = (h.correlation, h.group.as_slice());
        let entry = groups.entry(key).or_default();
        if entry.is_empty() {
            order.push(key);
        }
        entry.push(h);
    }
    for key in order {
        let Some(corr) = correlations(key.0) else {
            continue;
        };
        let Some(list) = groups.get(&key) else {
            continue;
        };
        let group: Vec<(String, String)> = corr
            .group_by
            .iter()
            .cloned()
            .zip(key.1.iter().cloned())
            .collect();
        windows(key.0, corr, &group, list, &mut out);
    }
    out
}
