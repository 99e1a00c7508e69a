//! The merged, time-ordered timeline of attacker events and responder actions, shared by
//! both renderers and the chart.

use jiff::Timestamp;

use crate::{level_rank, ActionEntry, ReportInput, TimelineEntry};

/// Parses an RFC 3339 time (`2026-10-01T01:57:10Z`, with or without fractional seconds or an
/// offset). `None` when it is not one.
pub(crate) fn parse_time(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    text.parse::<Timestamp>().ok()
}

/// A time as the report shows it: `2026-10-01 01:57:10Z`, or the original text when it does
/// not parse (nothing is hidden).
pub(crate) fn display_time(text: &str) -> String {
    match parse_time(text) {
        Some(ts) => ts.strftime("%Y-%m-%d %H:%M:%SZ").to_string(),
        None => text.to_string(),
    }
}

/// Who a timeline row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// An event linked to findings.
    Attacker,
    /// A responder action.
    Responder,
}

impl Side {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Side::Attacker => "Attacker",
            Side::Responder => "Responder",
        }
    }
}

/// One row of the merged timeline.
pub(crate) struct Row<'a> {
    /// 1-based position in the merged order (the chart's marker labels).
    pub number: usize,
    pub time: Option<Timestamp>,
    pub time_text: &'a str,
    pub side: Side,
    pub attacker: Option<&'a TimelineEntry>,
    pub action: Option<&'a ActionEntry>,
}

impl Row<'_> {
    /// The level (attacker rows) for colouring.
    pub fn level(&self) -> Option<&str> {
        self.attacker.map(|a| a.level.as_str())
    }

    /// Who acted: principal or operator.
    pub fn actor(&self) -> &str {
        match (self.attacker, self.action) {
            (Some(a), _) => &a.principal,
            (_, Some(r)) => &r.operator,
            _ => "",
        }
    }

    /// What was done: `iam:CreateAccessKey` style for both sides.
    pub fn what(&self) -> String {
        match (self.attacker, self.action) {
            (Some(a), _) => {
                let service = a.event_source.strip_suffix(".amazonaws.com").unwrap_or(&a.event_source);
                if service.is_empty() {
                    a.event_name.clone()
                } else {
                    format!("{service}:{}", a.event_name)
                }
            }
            (_, Some(r)) => r.call.clone(),
            _ => String::new(),
        }
    }

    /// What it was done to.
    pub fn target(&self) -> &str {
        match (self.attacker, self.action) {
            (Some(a), _) => a.resource.as_deref().unwrap_or(""),
            (_, Some(r)) => &r.target,
            _ => "",
        }
    }

    /// Short tooltip/summary text.
    pub fn tooltip(&self) -> String {
        let mut text = format!("#{} {} {} — {}", self.number, display_time(self.time_text), self.side.label(), self.what());
        let target = self.target();
        if !target.is_empty() {
            text.push_str(" on ");
            text.push_str(target);
        }
        let actor = self.actor();
        if !actor.is_empty() {
            text.push_str(" by ");
            text.push_str(actor);
        }
        if let Some(a) = self.attacker {
            text.push_str(&format!(" [{}] {}", a.level, a.rule_titles.join("; ")));
        }
        if let Some(r) = self.action {
            text.push_str(&format!(" [{}]", r.status));
        }
        text
    }
}

/// The attacker timeline and responder actions merged by time. Rows whose time does not parse
/// come last, in their input order; ties keep attacker rows before responder rows.
pub(crate) fn merged(input: &ReportInput) -> Vec<Row<'_>> {
    let mut rows: Vec<Row<'_>> = Vec::with_capacity(input.attacker_timeline.len() + input.responder_actions.len());
    for entry in &input.attacker_timeline {
        rows.push(Row { number: 0, time: parse_time(&entry.time), time_text: &entry.time, side: Side::Attacker, attacker: Some(entry), action: None });
    }
    for action in &input.responder_actions {
        rows.push(Row { number: 0, time: parse_time(&action.time), time_text: &action.time, side: Side::Responder, attacker: None, action: Some(action) });
    }
    // Stable sort: unparsed times last, then by time; attacker before responder at equal times.
    rows.sort_by(|a, b| {
        let key = |r: &Row<'_>| (r.time.is_none(), r.time, r.side == Side::Responder);
        key(a).cmp(&key(b))
    });
    for (index, row) in rows.iter_mut().enumerate() {
        row.number = index + 1;
    }
    rows
}

/// CSS class suffix of a level (`high`), `unknown` when not a known level.
pub(crate) fn level_class(level: &str) -> &'static str {
    match level_rank(level) {
        Some(4) => "critical",
        Some(3) => "high",
        Some(2) => "medium",
        Some(1) => "low",
        Some(_) => "informational",
        None => "unknown",
    }
}

/// CSS class suffix of an action status.
pub(crate) fn status_class(status: &str) -> &'static str {
    match status.trim().to_ascii_lowercase().as_str() {
        "applied" | "done" | "ok" | "succeeded" => "applied",
        "failed" | "error" => "failed",
        _ => "other",
    }
}

/// One-line JSON text of a value (empty for `null`).
pub(crate) fn compact_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// Indented JSON text of a value (empty for `null`).
pub(crate) fn pretty_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_by_time_with_unparsed_last() {
        let input = ReportInput {
            attacker_timeline: vec![
                TimelineEntry { time: "2026-10-01T02:00:00Z".into(), event_name: "B".into(), ..Default::default() },
                TimelineEntry { time: "garbage".into(), event_name: "Z".into(), ..Default::default() },
                TimelineEntry { time: "2026-10-01T01:00:00Z".into(), event_name: "A".into(), ..Default::default() },
            ],
            responder_actions: vec![ActionEntry { time: "2026-10-01T01:30:00.123456Z".into(), call: "iam:X".into(), ..Default::default() }],
            ..Default::default()
        };
        let rows = merged(&input);
        let order: Vec<String> = rows.iter().map(|r| r.what()).collect();
        assert_eq!(order, ["A", "iam:X", "B", "Z"]);
        assert_eq!(rows.iter().map(|r| r.number).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(display_time("2026-10-01T01:30:00.123456Z"), "2026-10-01 01:30:00Z");
        assert_eq!(display_time("garbage"), "garbage");
    }
}
