//! Renders a playbook as a readable Markdown document.

use std::fmt::Write as _;

use crate::catalogue;
use crate::model::{Condition, Playbook, QuerySpec, Step, StepKind, Text};

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(", ")
    }
}

fn params_text(params: &std::collections::BTreeMap<String, Text>) -> String {
    params
        .iter()
        .filter(|(k, _)| k.as_str() != "sql")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A condition in words: `account_environment = production and not ...`.
pub fn condition_text(cond: &Condition) -> String {
    if !cond.all.is_empty() {
        return cond
            .all
            .iter()
            .map(|c| format!("({})", condition_text(c)))
            .collect::<Vec<_>>()
            .join(" and ");
    }
    if !cond.any.is_empty() {
        return cond
            .any
            .iter()
            .map(|c| format!("({})", condition_text(c)))
            .collect::<Vec<_>>()
            .join(" or ");
    }
    if let Some(inner) = &cond.not {
        return format!("not ({})", condition_text(inner));
    }
    let fact = cond.fact.as_deref().unwrap_or("?");
    if let Some(v) = &cond.equals {
        return format!("{fact} = {v}");
    }
    if !cond.one_of.is_empty() {
        let values: Vec<String> = cond.one_of.iter().map(|v| v.0.clone()).collect();
        return format!("{fact} in [{}]", values.join(", "));
    }
    if let Some(v) = &cond.contains {
        return format!("{fact} contains '{v}'");
    }
    if let Some(v) = &cond.at_least {
        return format!("{fact} >= {v}");
    }
    match cond.exists {
        Some(true) => format!("{fact} is known"),
        Some(false) => format!("{fact} is unknown"),
        None => fact.to_owned(),
    }
}

fn query_line(out: &mut String, indent: &str, q: &QuerySpec) {
    let _ = write!(out, "{indent}- query `{}`", q.query);
    let p = params_text(&q.params);
    if !p.is_empty() {
        let _ = write!(out, " `{p}`");
    }
    if !q.outputs.is_empty() {
        let _ = write!(out, " -> {}", q.outputs.join(", "));
    }
    out.push('\n');
    if let Some(sql) = q.params.get("sql") {
        let _ = writeln!(out, "\n{indent}  ```sql");
        for line in sql.as_str().trim().lines() {
            let _ = writeln!(out, "{indent}  {line}");
        }
        let _ = writeln!(out, "{indent}  ```\n");
    }
}

fn step_text(out: &mut String, number: usize, step: &Step) {
    let _ = write!(
        out,
        "{number}. **{}** _({}, `{}`)_",
        step.title,
        step.kind.key(),
        step.id
    );
    if let Some(who) = &step.who {
        let _ = write!(out, " — {who}");
    }
    out.push('\n');
    let indent = "   ";
    if let Some(d) = &step.description {
        for line in d.trim().lines() {
            let _ = writeln!(out, "{indent}{line}");
        }
    }
    match step.kind {
        StepKind::Manual => {}
        StepKind::Detect => {
            for sel in &step.rules {
                let text = [
                    ("rule id", &sel.id),
                    ("rule", &sel.title),
                    ("rules tagged", &sel.tag),
                    ("rules from", &sel.origin),
                ]
                .into_iter()
                .find_map(|(k, v)| v.as_ref().map(|v| format!("{k} `{v}`")))
                .unwrap_or_default();
                let _ = writeln!(out, "{indent}- run {text}");
            }
        }
        StepKind::Query => {
            let q = QuerySpec {
                query: step.query.clone().unwrap_or_default(),
                params: step.params.clone(),
                outputs: step.outputs.clone(),
            };
            query_line(out, indent, &q);
        }
        StepKind::Question => {
            if let Some(question) = &step.question {
                let _ = writeln!(out, "{indent}Question: _{}_", question.trim());
            }
            for q in &step.queries {
                query_line(out, indent, q);
            }
            let _ = writeln!(out, "{indent}- record the answer");
        }
        StepKind::Action => {
            let name = step.action.as_deref().unwrap_or("?");
            let summary = catalogue::action(name)
                .map(|a| a.summary)
                .unwrap_or("unknown action");
            let mut cmd = format!("firebreak {name}");
            let spec = catalogue::action(name);
            let positional = |k: &str| {
                spec.is_some_and(|s| {
                    s.params
                        .iter()
                        .any(|p| p.name == k && p.required && !p.flag)
                })
            };
            if let Some(spec) = spec {
                for p in spec.params.iter().filter(|p| p.required && !p.flag) {
                    if let Some(v) = step.params.get(p.name) {
                        let _ = write!(cmd, " {v}");
                    }
                }
            }
            for (k, v) in step.params.iter().filter(|(k, _)| !positional(k)) {
                let flag = k.replace('_', "-");
                if v.as_str() == "true" {
                    let _ = write!(cmd, " --{flag}");
                } else if v.as_str() != "false" {
                    let _ = write!(cmd, " --{flag} {v}");
                }
            }
            let _ = writeln!(
                out,
                "{indent}- planned: `{cmd}` ({summary}); applied only after the responder confirms"
            );
        }
        StepKind::Decision => {
            for branch in &step.branches {
                let _ = writeln!(
                    out,
                    "{indent}- if {} then {}",
                    condition_text(&branch.when),
                    branch.then.join(", ")
                );
            }
            if !step.otherwise.is_empty() {
                let _ = writeln!(out, "{indent}- otherwise {}", step.otherwise.join(", "));
            }
        }
    }
}

/// The playbook as Markdown: metadata, classification, facts, phases with numbered
/// steps, escalation, lessons learned and backlog.
pub fn render_markdown(pb: &Playbook) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", pb.title);
    let _ = writeln!(out, "- id: `{}`", pb.id);
    let _ = writeln!(out, "- version: {}", pb.version);
    let _ = writeln!(out, "- owner: {}", pb.owner);
    let _ = writeln!(
        out,
        "- approver: {} (last approved {})\n",
        pb.approver, pb.last_approved
    );
    if let Some(summary) = &pb.summary {
        let _ = writeln!(out, "{}\n", summary.trim());
    }
    let c = &pb.classification;
    let _ = writeln!(out, "## Classification\n");
    let _ = writeln!(out, "- category: {}", c.category);
    let _ = writeln!(out, "- TTPs: {}", list(&c.ttps));
    let _ = writeln!(out, "- resources: {}", list(&c.resources));
    let _ = writeln!(out, "- log sources: {}", list(&c.log_sources));
    let _ = writeln!(out, "- teams: {}", list(&c.teams));
    if !c.indicators.is_empty() {
        let _ = writeln!(out, "- indicators:");
        for i in &c.indicators {
            let _ = writeln!(out, "  - {i}");
        }
    }
    out.push('\n');
    if !pb.facts.is_empty() {
        let _ = writeln!(out, "## Facts the case provides\n");
        for f in &pb.facts {
            let _ = write!(out, "- `{}`: {}", f.name, f.description);
            if !f.values.is_empty() {
                let _ = write!(out, " ({})", f.values.join(" | "));
            }
            out.push('\n');
        }
        out.push('\n');
    }
    let mut number = 0;
    for phase in &pb.phases {
        let _ = writeln!(out, "## {}\n", phase.phase.title());
        for step in &phase.steps {
            number += 1;
            step_text(&mut out, number, step);
        }
        out.push('\n');
    }
    let e = &pb.escalation;
    let _ = writeln!(out, "## Escalation\n");
    for n in &e.notify {
        let _ = write!(out, "- when {}: notify {}", n.when, n.who.join(", "));
        if let Some(within) = &n.within {
            let _ = write!(out, " within {within}");
        }
        out.push('\n');
    }
    let _ = writeln!(out, "- legal: {}", e.legal.trim());
    let _ = writeln!(out, "- press: {}", e.press.trim());
    let _ = writeln!(
        out,
        "- cloud provider support: {}\n",
        e.provider_support.trim()
    );
    for (title, items) in [
        ("Lessons learned", &pb.lessons_learned),
        ("Backlog", &pb.backlog),
    ] {
        if !items.is_empty() {
            let _ = writeln!(out, "## {title}\n");
            for item in items {
                let _ = writeln!(out, "- {item}");
            }
            out.push('\n');
        }
    }
    out
}
