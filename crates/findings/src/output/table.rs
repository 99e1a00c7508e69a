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

/// One rule's group in the table: its count and the rows that will be shown.
struct RuleGroup {
    first_seen: usize,
    count: u64,
    rows: Vec<Finding>,
}

/// Collects findings for the table in bounded memory: per rule, the count and the first
/// `max_rows_per_rule` findings.
pub(super) struct TableAccumulator {
    opts: TableOptions,
    groups: BTreeMap<String, RuleGroup>,
}

impl TableAccumulator {
    pub(super) fn new(opts: TableOptions) -> Self {
        TableAccumulator { opts, groups: BTreeMap::new() }
    }

    pub(super) fn push(&mut self, f: &Finding) {
        let limit = if self.opts.max_rows_per_rule == 0 { usize::MAX } else { self.opts.max_rows_per_rule };
        let next = self.groups.len();
        let group = self
            .groups
            .entry(f.rule.id.clone())
            .or_insert_with(|| RuleGroup { first_seen: next, count: 0, rows: Vec::new() });
        group.count += 1;
        if group.rows.len() < limit {
            group.rows.push(f.clone());
        }
    }

    pub(super) fn write<W: Write>(&self, out: &mut W) -> io::Result<()> {
        let mut ordered: Vec<&RuleGroup> = self.groups.values().collect();
        ordered.sort_by(|a, b| {
            b.rows[0].rule.level
                .cmp(&a.rows[0].rule.level)
                .then(b.count.cmp(&a.count))
                .then(a.rows[0].rule.title.cmp(&b.rows[0].rule.title))
                .then(a.first_seen.cmp(&b.first_seen))
        });
        let color = self.opts.color;
        let mut by_level: BTreeMap<Level, u64> = BTreeMap::new();
        let mut total = 0;
        for group in &ordered {
            let rule = &group.rows[0].rule;
            *by_level.entry(rule.level).or_default() += group.count;
            total += group.count;
            let label = paint(rule.level, &format!("[{}]", rule.level), color);
            writeln!(
                out,
                "{label} {} ({} finding{})",
                for_terminal(&rule.title),
                group.count,
                if group.count == 1 { "" } else { "s" }
            )?;
            writeln!(out, "    rule {} by {} ({})", for_terminal(&rule.id), for_terminal(&rule.author), for_terminal(&rule.origin))?;
            writeln!(
                out,
                "    {:<20}  {:<12}  {:<12}  {:<34}  {:<20}  {:<15}  {}",
                "time", "account", "region", "event", "access key", "source ip", "principal"
            )?;
            for f in &group.rows {
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
            let shown = group.rows.len() as u64;
            if group.count > shown {
                writeln!(out, "    ... and {} more", group.count - shown)?;
            }
            writeln!(out)?;
        }
        let parts: Vec<String> = by_level
            .iter()
            .rev()
            .map(|(level, n)| paint(*level, &format!("{n} {level}"), color))
            .collect();
        if total == 0 {
            writeln!(out, "No findings.")?;
        } else {
            writeln!(
                out,
                "{} finding{} from {} rule{}: {}",
                total,
                if total == 1 { "" } else { "s" },
                ordered.len(),
                if ordered.len() == 1 { "" } else { "s" },
                parts.join(", ")
            )?;
        }
        Ok(())
    }
}
