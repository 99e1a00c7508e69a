//! The Markdown (GitHub-flavoured) report.

use std::fmt::Write as _;

use crate::escape::markdown as md;
use crate::timeline::{compact_json, display_time, merged};
use crate::{Counted, ReportInput, SECTIONS};

/// A GFM table; every cell is escaped here.
fn table(out: &mut String, header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    let _ = writeln!(out, "| {} |", header.iter().map(|h| md(h)).collect::<Vec<_>>().join(" | "));
    let _ = writeln!(out, "|{}", header.iter().map(|_| "---|").collect::<String>());
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| if c.is_empty() { " ".to_string() } else { md(c) }).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

fn heading(out: &mut String, index: usize) {
    let (_, title) = SECTIONS[index];
    let _ = writeln!(out, "## {}. {}\n", index + 1, title);
}

fn none(out: &mut String, what: &str) {
    let _ = writeln!(out, "_{}_\n", md(what));
}

fn counted_table(out: &mut String, title: &str, values: &[Counted]) {
    if values.is_empty() {
        return;
    }
    let _ = writeln!(out, "**{}**\n", md(title));
    table(out, &["Value", "Events"], values.iter().map(|c| vec![c.value.clone(), c.count.to_string()]));
}

fn bullets(out: &mut String, items: &[String], empty: &str) {
    if items.is_empty() {
        none(out, empty);
        return;
    }
    for item in items {
        let _ = writeln!(out, "- {}", md(item));
    }
    out.push('\n');
}

/// The integrity line of the action log.
pub(crate) fn chain_text(verified: &Option<Result<usize, String>>) -> String {
    match verified {
        Some(Ok(n)) => format!("verified: hash chain intact over {n} entries"),
        Some(Err(reason)) => format!("BROKEN: {reason}"),
        None => "not checked".to_string(),
    }
}

/// Renders the report as GitHub-flavoured Markdown. Every value from the input is escaped
/// (see [`crate::escape::markdown`]).
pub fn render_markdown(input: &ReportInput) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Incident report: {}\n", md(&input.case_name));
    let _ = writeln!(out, "Generated {} by {}.\n", md(&display_time(&input.generated_at)), md(&input.generated_by));
    let _ = writeln!(out, "Contents: {}\n", SECTIONS.iter().enumerate().map(|(i, (_, t))| format!("{}. {}", i + 1, t)).collect::<Vec<_>>().join(" · "));

    // 1. Summary.
    heading(&mut out, 0);
    let s = &input.summary;
    let findings_total: u64 = input.findings_by_level.iter().map(|(_, n)| n).sum();
    table(
        &mut out,
        &["Item", "Value"],
        [
            vec!["Case".into(), input.case_name.clone()],
            vec!["Events".into(), s.events.to_string()],
            vec!["First event".into(), s.first_event.as_deref().map(display_time).unwrap_or_default()],
            vec!["Last event".into(), s.last_event.as_deref().map(display_time).unwrap_or_default()],
            vec!["Findings".into(), findings_total.to_string()],
            vec!["Attacker events on the timeline".into(), input.attacker_timeline.len().to_string()],
            vec!["Responder actions".into(), input.responder_actions.len().to_string()],
            vec!["Evidence files".into(), input.evidence.len().to_string()],
            vec!["Action log".into(), chain_text(&input.action_log_verified)],
        ],
    );
    counted_table(&mut out, "Accounts", &s.accounts);
    counted_table(&mut out, "Regions", &s.regions);
    counted_table(&mut out, "Principals", &s.principals);
    counted_table(&mut out, "Access keys", &s.access_keys);
    counted_table(&mut out, "Source IP addresses", &s.source_ips);
    counted_table(&mut out, "User agents", &s.user_agents);

    // 2. Timeline.
    heading(&mut out, 1);
    let rows = merged(input);
    if rows.is_empty() {
        none(&mut out, "No attacker events (findings at medium or above) and no responder actions.");
    } else {
        table(
            &mut out,
            &["#", "Time (UTC)", "Who", "Actor", "Action", "Target", "Source IP", "Detail"],
            rows.iter().map(|r| {
                let (source_ip, detail) = match (r.attacker, r.action) {
                    (Some(a), _) => {
                        let mut detail = format!("{}: {}", a.level, a.rule_titles.join("; "));
                        if let Some(code) = a.error_code.as_deref().filter(|c| !c.is_empty()) {
                            detail.push_str(&format!(" (error {code})"));
                        }
                        (a.source_ip.clone(), detail)
                    }
                    (_, Some(action)) => match action.error.as_deref().filter(|e| !e.is_empty()) {
                        Some(error) => (String::new(), format!("{}: {error}", action.status)),
                        None => (String::new(), action.status.clone()),
                    },
                    _ => (String::new(), String::new()),
                };
                vec![r.number.to_string(), display_time(r.time_text), r.side.label().into(), r.actor().into(), r.what(), r.target().into(), source_ip, detail]
            }),
        );
    }

    // 3. Findings by level.
    heading(&mut out, 2);
    if input.findings_by_level.is_empty() {
        none(&mut out, "No findings.");
    } else {
        table(&mut out, &["Level", "Findings"], input.findings_by_level.iter().map(|(l, n)| vec![l.clone(), n.to_string()]));
    }
    if !input.top_findings.is_empty() {
        let _ = writeln!(out, "**Top rules**\n");
        table(
            &mut out,
            &["Rule", "Level", "Count", "First", "Last", "Author"],
            input.top_findings.iter().map(|f| {
                vec![
                    f.rule_title.clone(),
                    f.level.clone(),
                    f.count.to_string(),
                    f.first.as_deref().map(display_time).unwrap_or_default(),
                    f.last.as_deref().map(display_time).unwrap_or_default(),
                    f.author.clone().unwrap_or_default(),
                ]
            }),
        );
    }

    // 4. Answers.
    heading(&mut out, 3);
    if input.playbooks.is_empty() {
        none(&mut out, "No playbook was run in this case.");
    }
    for run in &input.playbooks {
        let _ = writeln!(out, "### {} ({})\n", md(&run.title), md(&run.id));
        let _ = writeln!(out, "Phase reached: {}. Steps done: {}, open: {}.\n", md(&run.phase_reached), run.steps_done, run.steps_open);
        if run.answers.is_empty() {
            none(&mut out, "No question answered yet.");
        } else {
            table(
                &mut out,
                &["Question", "Answer", "Who", "When"],
                run.answers.iter().map(|a| vec![a.question.clone(), a.answer.clone(), a.who.clone(), display_time(&a.time)]),
            );
        }
        if !run.decisions.is_empty() {
            let _ = writeln!(out, "**Decisions**\n");
            table(
                &mut out,
                &["Decision", "Choice", "Why", "Who", "When"],
                run.decisions.iter().map(|d| vec![d.title.clone(), d.choice.clone(), d.reason.clone(), d.who.clone(), display_time(&d.time)]),
            );
        }
    }

    // 5. Actions.
    heading(&mut out, 4);
    let _ = writeln!(out, "Action log: {}.\n", md(&chain_text(&input.action_log_verified)));
    if input.responder_actions.is_empty() {
        none(&mut out, "No responder action recorded.");
    } else {
        table(
            &mut out,
            &["Id", "Time (UTC)", "Operator", "Call", "Target", "Status", "Before", "After"],
            input.responder_actions.iter().map(|a| {
                let mut after = compact_json(&a.after);
                if let Some(error) = a.error.as_deref() {
                    after = if after.is_empty() { format!("error: {error}") } else { format!("{after} (error: {error})") };
                }
                vec![
                    a.action_id.map(|n| n.to_string()).unwrap_or_default(),
                    display_time(&a.time),
                    a.operator.clone(),
                    a.call.clone(),
                    a.target.clone(),
                    a.status.clone(),
                    compact_json(&a.before),
                    after,
                ]
            }),
        );
    }

    // 6. Evidence.
    heading(&mut out, 5);
    if input.evidence.is_empty() {
        none(&mut out, "No evidence file in the case.");
    } else {
        table(
            &mut out,
            &["File", "SHA-256", "Bytes", "Added (UTC)", "What"],
            input.evidence.iter().map(|e| vec![e.path.clone(), e.sha256.clone(), e.bytes.to_string(), display_time(&e.added), e.what.clone()]),
        );
    }

    // 7. Open items.
    heading(&mut out, 6);
    bullets(&mut out, &input.open_items, "No open item.");

    // 8. Lessons learned and backlog.
    heading(&mut out, 7);
    let _ = writeln!(out, "### Lessons learned\n");
    bullets(&mut out, &input.lessons_learned, "None recorded.");
    let _ = writeln!(out, "### Backlog\n");
    bullets(&mut out, &input.backlog, "None recorded.");
    out
}
