//! The automatic answer of a `question` step: a short text built from its query results,
//! naming the values found in the most telling columns (event names with counts,
//! principals, resources and the resource ids in request/response parameters, source IPs,
//! user agents, the time span). `summary` and `anomalies` tables are described per
//! dimension / kind.

use std::collections::BTreeMap;

use crate::run::StepTable;

/// At most this many values are named per category.
const MAX_NAMED: usize = 12;

/// What a result column holds, judged from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Event,
    Principal,
    Resource,
    Ip,
    UserAgent,
    Time,
    Parameters,
    Error,
    Other,
}

/// The words of a column name, lower case: `get_field(cloudtrail.useridentity, 'arn')`
/// gives `[get_field, cloudtrail, useridentity, arn]`.
fn words(name: &str) -> Vec<String> {
    name.to_ascii_lowercase()
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty() && *w != "utf8")
        .map(str::to_string)
        .collect()
}

/// The last word of a column name (`useridentity.arn` → `arn`).
pub(crate) fn column_key(name: &str) -> String {
    words(name).pop().unwrap_or_default()
}

fn role(name: &str) -> Role {
    let w = words(name);
    let last = w.last().map(String::as_str).unwrap_or("");
    let has = |x: &str| w.iter().any(|v| v == x);
    match last {
        "eventname" | "event_name" => Role::Event,
        "principal" | "principal_arn" | "username" | "principalid" => Role::Principal,
        "arn" if has("useridentity") || has("sessionissuer") || w.len() == 1 => Role::Principal,
        "resource" | "resources" | "resource_arn" | "bucket" | "instance_id" => Role::Resource,
        "sourceipaddress" | "source_ip" | "ip" => Role::Ip,
        "useragent" | "user_agent" => Role::UserAgent,
        "eventtime" | "first_seen" | "last_seen" | "event_time" => Role::Time,
        "requestparameters" | "responseelements" => Role::Parameters,
        "errorcode" | "error_code" => Role::Error,
        _ => Role::Other,
    }
}

/// Values in first-seen order with their counts.
#[derive(Default)]
struct Tally {
    order: Vec<String>,
    counts: BTreeMap<String, usize>,
}

impl Tally {
    fn add(&mut self, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        match self.counts.get_mut(value) {
            Some(n) => *n += 1,
            None => {
                self.counts.insert(value.to_string(), 1);
                self.order.push(value.to_string());
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    fn list(&self, with_counts: bool) -> String {
        let mut parts: Vec<String> = self
            .order
            .iter()
            .take(MAX_NAMED)
            .map(|v| {
                let n = self.counts.get(v).copied().unwrap_or(0);
                if with_counts && n > 1 {
                    format!("{v} x{n}")
                } else {
                    v.clone()
                }
            })
            .collect();
        if self.order.len() > MAX_NAMED {
            parts.push(format!("(+{} more)", self.order.len() - MAX_NAMED));
        }
        parts.join(", ")
    }
}

/// Keys of request parameters / response elements that name a resource.
fn is_id_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "clienttoken" | "conversationid" | "requestid" | "usermessageid" | "systemmessageid"
    ) {
        return false;
    }
    lower.ends_with("id")
        || lower.ends_with("arn")
        || lower.ends_with("name")
        || lower == "bucketname"
        || lower == "serverurl"
}

/// Collects the resource ids a JSON text of parameters names (top level and one level
/// down, strings only).
fn ids_in_json(text: &str, out: &mut Tally) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    fn walk(value: &serde_json::Value, depth: usize, out: &mut Tally) {
        if let serde_json::Value::Object(map) = value {
            for (k, v) in map {
                match v {
                    serde_json::Value::String(s) if is_id_key(k) => out.add(s),
                    serde_json::Value::Object(_) if depth < 3 => walk(v, depth + 1, out),
                    _ => {}
                }
            }
        }
    }
    walk(&value, 0, out);
}

fn describe_rows(table: &StepTable) -> String {
    let mut tallies: BTreeMap<Role, Tally> = BTreeMap::new();
    let mut times: Vec<&str> = Vec::new();
    let roles: Vec<Role> = table.columns.iter().map(|c| role(c)).collect();
    for row in &table.rows {
        for (cell, role) in row.iter().zip(&roles) {
            let Some(cell) = cell.as_deref() else {
                continue;
            };
            match role {
                Role::Time => times.push(cell),
                Role::Parameters => ids_in_json(cell, tallies.entry(Role::Resource).or_default()),
                Role::Other => {}
                r => tallies.entry(*r).or_default().add(cell),
            }
        }
    }
    let n = table.rows.len();
    let mut text = format!("{n} {}", if n == 1 { "event" } else { "events" });
    if let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) {
        if first == last {
            text.push_str(&format!(" at {first}"));
        } else {
            text.push_str(&format!(" from {first} to {last}"));
        }
    }
    let mut parts = Vec::new();
    for (role, label, counts) in [
        (Role::Event, "", true),
        (Role::Principal, "by ", true),
        (Role::Resource, "resources ", false),
        (Role::Ip, "from IPs ", true),
        (Role::UserAgent, "user agents ", true),
        (Role::Error, "errors ", true),
    ] {
        if let Some(t) = tallies.get(&role).filter(|t| !t.is_empty()) {
            parts.push(format!("{label}{}", t.list(counts)));
        }
    }
    if parts.is_empty() {
        // No telling column: name the first column's values.
        let mut t = Tally::default();
        for row in &table.rows {
            if let Some(Some(cell)) = row.first() {
                t.add(cell);
            }
        }
        if let (Some(col), false) = (table.columns.first(), t.is_empty()) {
            parts.push(format!("{col}: {}", t.list(true)));
        }
    }
    if !parts.is_empty() {
        text.push_str(": ");
        text.push_str(&parts.join("; "));
    }
    text
}

/// `summary` (dimension, value, count) and `anomalies` (kind, value) tables: values per
/// dimension.
fn describe_grouped(table: &StepTable, group: usize, value: usize) -> String {
    let count = table.column_index("count");
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for row in &table.rows {
        let g = row.get(group).cloned().flatten().unwrap_or_default();
        let Some(v) = row.get(value).cloned().flatten() else {
            continue;
        };
        let v = match count.and_then(|i| row.get(i).cloned().flatten()) {
            Some(n) => format!("{v} ({n})"),
            None => v,
        };
        match groups.iter_mut().find(|(name, _)| *name == g) {
            Some((_, values)) => values.push(v),
            None => groups.push((g, vec![v])),
        }
    }
    let parts: Vec<String> = groups
        .into_iter()
        .map(|(g, values)| {
            let extra = values.len().saturating_sub(MAX_NAMED);
            let mut named: Vec<String> = values.into_iter().take(MAX_NAMED).collect();
            if extra > 0 {
                named.push(format!("(+{extra} more)"));
            }
            format!("{g}: {}", named.join(", "))
        })
        .collect();
    let n = table.rows.len();
    format!(
        "{n} {}: {}",
        if n == 1 { "row" } else { "rows" },
        parts.join("; ")
    )
}

/// Describes one query result in a sentence.
pub fn describe_table(query: &str, table: &StepTable) -> String {
    if table.rows.is_empty() {
        return format!("{query}: nothing found");
    }
    let grouped = match (table.column_index("dimension"), table.column_index("kind")) {
        (Some(g), _) => table.column_index("value").map(|v| (g, v)),
        (None, Some(g)) if query == "anomalies" => table.column_index("value").map(|v| (g, v)),
        _ => None,
    };
    let body = match grouped {
        Some((g, v)) => describe_grouped(table, g, v),
        None => describe_rows(table),
    };
    format!("{query}: {body}")
}

/// The automatic answer from every query of a question: one sentence per query.
pub fn automatic_answer(results: &[(String, StepTable)]) -> String {
    if results.iter().all(|(_, t)| t.rows.is_empty()) {
        return "Nothing found: the queries returned no rows.".to_string();
    }
    results
        .iter()
        .map(|(q, t)| describe_table(q, t))
        .collect::<Vec<_>>()
        .join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(columns: &[&str], rows: &[&[Option<&str>]]) -> StepTable {
        StepTable {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: rows
                .iter()
                .map(|r| r.iter().map(|c| c.map(str::to_string)).collect())
                .collect(),
        }
    }

    #[test]
    fn names_events_principals_and_ids_from_parameters() {
        let t = table(
            &[
                "eventtime",
                "eventname",
                "get_field(useridentity, 'arn')",
                "requestparameters",
            ],
            &[
                &[
                    Some("2026-10-01T01:00:00Z"),
                    Some("CreatePlugin"),
                    Some("arn:aws:sts::1:assumed-role/a/b"),
                    Some(
                        r#"{"applicationId":"app-1","clientToken":"tok","displayName":"ticket-sync"}"#,
                    ),
                ],
                &[
                    Some("2026-10-01T02:00:00Z"),
                    Some("DeletePlugin"),
                    Some("arn:aws:sts::1:assumed-role/a/b"),
                    Some("not json"),
                ],
            ],
        );
        let text = describe_table("sql", &t);
        assert!(
            text.starts_with("sql: 2 events from 2026-10-01T01:00:00Z to 2026-10-01T02:00:00Z"),
            "{text}"
        );
        for expected in [
            "CreatePlugin",
            "DeletePlugin",
            "by arn:aws:sts::1:assumed-role/a/b x2",
            "app-1",
            "ticket-sync",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        assert!(!text.contains("tok"), "{text}");
    }

    #[test]
    fn summary_tables_are_grouped_by_dimension() {
        let t = table(
            &["dimension", "value", "count"],
            &[
                &[Some("principal"), Some("alice"), Some("3")],
                &[Some("eventname"), Some("ListBuckets"), Some("2")],
                &[Some("principal"), Some("bob"), Some("1")],
            ],
        );
        assert_eq!(
            describe_table("summary", &t),
            "summary: 3 rows: principal: alice (3), bob (1); eventname: ListBuckets (2)"
        );
    }

    #[test]
    fn empty_results_say_so() {
        let t = table(&["eventname"], &[]);
        assert_eq!(
            automatic_answer(&[("timeline".into(), t)]),
            "Nothing found: the queries returned no rows."
        );
    }

    #[test]
    fn many_values_are_capped() {
        let names: Vec<String> = (0..20).map(|i| format!("Call{i:02}")).collect();
        let rows: Vec<Vec<Option<String>>> = names.iter().map(|n| vec![Some(n.clone())]).collect();
        let t = StepTable {
            columns: vec!["eventname".into()],
            rows,
        };
        let text = describe_table("timeline", &t);
        assert!(text.contains("Call11"), "{text}");
        assert!(!text.contains("Call12"), "{text}");
        assert!(text.contains("(+8 more)"), "{text}");
    }
}
