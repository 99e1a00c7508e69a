//! The table for a person: findings grouped by rule, the most severe first, coloured by
//! level when the output is a terminal. Every printed log value goes through the
//! terminal sanitiser.

use std::collections::BTreeMap;
use std::io::{self, Write};

use firebreak_events::sanitize::for_terminal;

use crate::{Finding, Level};

/// Options for the table writer.
#[derive(Debug, Clone, Default)]
pub struct TableOptions {
    /// Colour the level labels with ANSI escapes.
    pub color: bool,
    /// Rows shown per rule before "... and N more" (0: all).
    pub max_rows_per_rule: usize,
}

fn paint(level: Level, text: &str, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let code = match level {
        Level::Critical => "1;97;41",
        Level::High => "1;31",
        Level::Medium => "33",
        Level::Low => "36",
        Level::Informational => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn cell(v: &Option<String>, width: usize) -> String {
    let text = v.as_deref().unwrap_or("-");
    let clean = for_terminal(text);
    let mut s: String = clean.chars().take(width).collect();
    if clean.chars().count() > width && width > 1 {
        s.pop();
        s.push('…');
    }
    s
}

pub(super) fn write_table<W: Write>(findings: &[Finding], out: &mut W, opts: &TableOptions) -> io::Result<()> {
    // Group by rule id, keeping the first-seen rule info.
    let mut groups: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        groups.entry(f.rule.id.as_str()).or_default().push(f);
    }
    let mut ordered: Vec<Vec<&Finding>> = groups.into_values().collect();
    ordered.sort_by(|a, b| {
        b[0].rule.level
            .cmp(&a[0].rule.level)
            .then(b.len().cmp(&a.len()))
            .then(a[0].rule.title.cmp(&b[0].rule.title))
    });
    let mut by_level: BTreeMap<Level, usize> = BTreeMap::new();
    for group in &ordered {
        let rule = &group[0].rule;
        *by_level.entry(rule.level).or_default() += group.len();
        let label = paint(rule.level, &format!("[{}]", rule.level), opts.color);
        writeln!(
            out,
            "{label} {} ({} finding{})",
            for_terminal(&rule.title),
            group.len(),
            if group.len() == 1 { "" } else { "s" }
        )?;
        writeln!(out, "    rule {} by {} ({})", for_terminal(&rule.id), for_terminal(&rule.author), for_terminal(&rule.origin))?;
        writeln!(
            out,
            "    {:<20}  {:<12}  {:<12}  {:<34}  {:<20}  {:<15}  {}",
            "time", "account", "region", "event", "access key", "source ip", "principal"
        )?;
        let limit = if opts.max_rows_per_rule == 0 { usize::MAX } else { opts.max_rows_per_rule };
        for f in group.iter().take(limit) {
            let e = &f.event;
            let event = match (&e.event_source, &e.event_name) {
                (Some(s), Some(n)) => Some(format!("{}:{}", s.trim_end_matches(".amazonaws.com"), n)),
                (None, Some(n)) => Some(n.clone()),
                _ => None,
            };
            let mut principal = cell(&e.principal_arn, 60);
            if let Some(c) = &f.correlation {
                let group: Vec<String> = c.group.iter().map(|(k, v)| format!("{k}={}", for_terminal(v))).collect();
                principal = format!("{} events: {}", c.count, group.join(", "));
            }
            writeln!(
                out,
                "    {:<20}  {:<12}  {:<12}  {:<34}  {:<20}  {:<15}  {}",
                cell(&e.event_time, 20),
                cell(&e.account_id, 12),
                cell(&e.region, 12),
                cell(&event, 34),
                cell(&e.access_key_id, 20),
                cell(&e.source_ip, 15),
                principal
            )?;
        }
        if group.len() > limit {
            writeln!(out, "    ... and {} more", group.len() - limit)?;
        }
        writeln!(out)?;
    }
    let parts: Vec<String> = by_level
        .iter()
        .rev()
        .map(|(level, n)| paint(*level, &format!("{n} {level}"), opts.color))
        .collect();
    if findings.is_empty() {
        writeln!(out, "No findings.")?;
    } else {
        writeln!(
            out,
            "{} finding{} from {} rule{}: {}",
            findings.len(),
            if findings.len() == 1 { "" } else { "s" },
            ordered.len(),
            if ordered.len() == 1 { "" } else { "s" },
            parts.join(", ")
        )?;
    }
    Ok(())
}
