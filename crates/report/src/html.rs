//! The HTML report: one self-contained file (inline CSS and SVG, no script, no external
//! resource), readable on screen and printed on A4.

use std::fmt::Write as _;

use crate::chart;
use crate::escape::html as h;
use crate::markdown::chain_text;
use crate::timeline::{display_time, level_class, merged, pretty_json, status_class, Side};
use crate::{Counted, ReportInput, SECTIONS};

const CSS: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
html { background: #ffffff; }
body { margin: 0 auto; max-width: 1180px; padding: 24px 28px 48px; color: #0f172a; background: #ffffff;
  font: 14px/1.45 "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif; }
header.cover { border-bottom: 3px solid #0f172a; margin-bottom: 18px; padding-bottom: 10px; }
header.cover h1 { margin: 0 0 4px; font-size: 26px; }
header.cover .meta { color: #334155; }
nav.toc ol { columns: 2; margin: 6px 0 0; padding-left: 22px; }
nav.toc a { color: #1e3a8a; text-decoration: none; }
section { margin-top: 30px; }
h2 { font-size: 20px; border-bottom: 1px solid #cbd5e1; padding-bottom: 4px; margin: 0 0 12px; }
h3 { font-size: 16px; margin: 18px 0 8px; }
h4 { font-size: 14px; margin: 14px 0 6px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 14px; font-size: 12.5px; }
th, td { border: 1px solid #cbd5e1; padding: 4px 6px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #f1f5f9; font-weight: 700; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.time { font-variant-numeric: tabular-nums; }
table.fixed { table-layout: fixed; }
.mono, td.hash { font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; font-size: 0.92em; }
.kv { width: auto; min-width: 50%; }
.kv th { width: 230px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 0 18px; }
.grid h4 { margin-top: 4px; }
.badge { display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 11.5px; font-weight: 700; color: #ffffff; white-space: nowrap; }
.lvl-critical { background: #6b21a8; } .lvl-high { background: #dc2626; } .lvl-medium { background: #c2410c; }
.lvl-low { background: #2563eb; } .lvl-informational { background: #64748b; } .lvl-unknown { background: #94a3b8; }
.st-applied { background: #15803d; } .st-failed { background: #111827; } .st-other { background: #94a3b8; }
.who { font-weight: 700; }
tr.attacker .who { color: #991b1b; } tr.responder .who { color: #166534; }
.by { color: #334155; }
.ua { color: #334155; }
tr.responder td { background: #f0fdf4; }
pre.json { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; font: 0.88em/1.35 "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; max-height: 28em; overflow: auto; }
.ok { color: #166534; font-weight: 700; } .bad { color: #b91c1c; font-weight: 700; }
.empty { color: #475569; font-style: italic; }
.chart-box { border: 1px solid #cbd5e1; padding: 6px; margin: 8px 0 14px; background: #ffffff; }
svg.chart { display: block; width: 100%; height: auto; }
ul { margin: 4px 0 12px; padding-left: 22px; }
li { margin: 2px 0; }
footer { margin-top: 36px; color: #475569; font-size: 12px; border-top: 1px solid #cbd5e1; padding-top: 6px; }
@page { size: A4; margin: 14mm 12mm 16mm; }
@media print {
  html, body { background: #ffffff !important; color: #000000; }
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  nav.toc { display: none; }
  section { margin-top: 0; break-before: page; page-break-before: always; }
  section#summary { break-before: auto; page-break-before: auto; }
  h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  table { font-size: 8.5pt; }
  thead { display: table-header-group; }
  tr, td, th, .chart-box, pre.json { break-inside: avoid; page-break-inside: avoid; }
  pre.json { max-height: none; overflow: visible; }
  a { color: inherit; text-decoration: none; }
}
"#;

fn empty(out: &mut String, text: &str) {
    let _ = write!(out, r#"<p class="empty">{}</p>"#, h(text));
}

fn section_open(out: &mut String, index: usize) {
    let (id, title) = SECTIONS[index];
    let _ = write!(out, r#"<section id="{id}"><h2>{}. {}</h2>"#, index + 1, h(title));
}

fn level_badge(level: &str) -> String {
    format!(r#"<span class="badge lvl-{}">{}</span>"#, level_class(level), h(level))
}

fn status_badge(status: &str) -> String {
    format!(r#"<span class="badge st-{}">{}</span>"#, status_class(status), h(status))
}

/// Opens a fixed-layout table with these (header, width %, numeric) columns and its body.
fn table_open(out: &mut String, class: &str, columns: &[(&str, u32, bool)]) {
    let _ = write!(out, r#"<table class="fixed {class}"><colgroup>"#);
    for (_, width, _) in columns {
        let _ = write!(out, r#"<col style="width:{width}%">"#);
    }
    out.push_str("</colgroup><thead><tr>");
    for (title, _, numeric) in columns {
        let _ = write!(out, "<th{}>{}</th>", if *numeric { r#" class="num""# } else { "" }, h(title));
    }
    out.push_str("</tr></thead><tbody>");
}

fn time_cell(text: &str) -> String {
    format!(r#"<td class="time">{}</td>"#, h(&display_time(text)))
}

fn counted(out: &mut String, title: &str, values: &[Counted]) {
    if values.is_empty() {
        return;
    }
    let _ = write!(out, r#"<div><h4>{}</h4><table><thead><tr><th>Value</th><th class="num">Events</th></tr></thead><tbody>"#, h(title));
    for c in values {
        let _ = write!(out, r#"<tr><td class="mono">{}</td><td class="num">{}</td></tr>"#, h(&c.value), c.count);
    }
    out.push_str("</tbody></table></div>");
}

fn list(out: &mut String, items: &[String], when_empty: &str) {
    if items.is_empty() {
        empty(out, when_empty);
        return;
    }
    out.push_str("<ul>");
    for item in items {
        let _ = write!(out, "<li>{}</li>", h(item));
    }
    out.push_str("</ul>");
}

fn chain_html(verified: &Option<Result<usize, String>>) -> String {
    let class = match verified {
        Some(Ok(_)) => "ok",
        Some(Err(_)) => "bad",
        None => "empty",
    };
    format!(r#"<span class="{class}">{}</span>"#, h(&chain_text(verified)))
}

/// Renders the report as one self-contained HTML page: inline CSS (screen and A4 print), an
/// inline SVG timeline chart, no script and no external resource (a Content-Security-Policy
/// forbids both). Every value from the input is HTML-escaped.
pub fn render_html(input: &ReportInput) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Incident report: {case}</title><style>{CSS}</style></head><body>"#,
        case = h(&input.case_name)
    );
    let _ = write!(
        out,
        r#"<header class="cover"><h1>Incident report: {}</h1><div class="meta">Generated {} by {}</div></header><nav class="toc"><strong>Contents</strong><ol>"#,
        h(&input.case_name),
        h(&display_time(&input.generated_at)),
        h(&input.generated_by)
    );
    for (id, title) in SECTIONS {
        let _ = write!(out, r##"<li><a href="#{id}">{}</a></li>"##, h(title));
    }
    out.push_str("</ol></nav>");

    // 1. Summary.
    section_open(&mut out, 0);
    let s = &input.summary;
    let findings_total: u64 = input.findings_by_level.iter().map(|(_, n)| n).sum();
    let _ = write!(
        out,
        r#"<table class="kv"><tbody><tr><th>Case</th><td>{}</td></tr><tr><th>Events</th><td>{}</td></tr><tr><th>First event</th><td>{}</td></tr><tr><th>Last event</th><td>{}</td></tr><tr><th>Findings</th><td>{}</td></tr><tr><th>Attacker events on the timeline</th><td>{}</td></tr><tr><th>Responder actions</th><td>{}</td></tr><tr><th>Evidence files</th><td>{}</td></tr><tr><th>Action log</th><td>{}</td></tr></tbody></table>"#,
        h(&input.case_name),
        s.events,
        h(&s.first_event.as_deref().map(display_time).unwrap_or_default()),
        h(&s.last_event.as_deref().map(display_time).unwrap_or_default()),
        findings_total,
        input.attacker_timeline.len(),
        input.responder_actions.len(),
        input.evidence.len(),
        chain_html(&input.action_log_verified),
    );
    out.push_str(r#"<div class="grid">"#);
    counted(&mut out, "Accounts", &s.accounts);
    counted(&mut out, "Regions", &s.regions);
    counted(&mut out, "Principals", &s.principals);
    counted(&mut out, "Access keys", &s.access_keys);
    counted(&mut out, "Source IP addresses", &s.source_ips);
    counted(&mut out, "User agents", &s.user_agents);
    out.push_str("</div></section>");

    // 2. Timeline.
    section_open(&mut out, 1);
    let rows = merged(input);
    if rows.is_empty() {
        empty(&mut out, "No attacker events (findings at medium or above) and no responder actions.");
    } else {
        if let Some(svg) = chart::svg(&rows) {
            let _ = write!(out, r#"<div class="chart-box">{svg}</div>"#);
        }
        table_open(&mut out, "timeline", &[("#", 4, true), ("Time (UTC) / who", 13, false), ("Actor / source IP", 21, false), ("Action", 17, false), ("Target", 20, false), ("Detail", 25, false)]);
        let mut last_agent: Option<&str> = None;
        for r in &rows {
            let (class, source_ip, detail) = match (r.attacker, r.action) {
                (Some(a), _) => {
                    let mut detail = format!("{} {}", level_badge(&a.level), h(&a.rule_titles.join("; ")));
                    if let Some(code) = a.error_code.as_deref().filter(|c| !c.is_empty()) {
                        let _ = write!(detail, " <em>(error {})</em>", h(code));
                    }
                    // The user agent, when it changes from the previous attacker row.
                    if let Some(agent) = a.user_agent.as_deref().filter(|c| !c.is_empty() && last_agent != Some(*c)) {
                        let _ = write!(detail, r#"<br><span class="mono ua">UA: {}</span>"#, h(agent));
                        last_agent = Some(agent);
                    }
                    ("attacker", a.source_ip.as_str(), detail)
                }
                (_, Some(action)) => {
                    let mut detail = status_badge(&action.status);
                    if let Some(error) = action.error.as_deref().filter(|e| !e.is_empty()) {
                        let _ = write!(detail, " {}", h(error));
                    }
                    ("responder", "", detail)
                }
                _ => ("", "", String::new()),
            };
            let _ = write!(
                out,
                r#"<tr class="{class}"><td class="num">{}</td><td class="time">{}<br><span class="who">{}</span></td><td class="mono">{}{}</td><td>{}</td><td class="mono">{}</td><td>{}</td></tr>"#,
                r.number,
                h(&display_time(r.time_text)),
                if r.side == Side::Attacker { "Attacker" } else { "Responder" },
                h(r.actor()),
                if source_ip.is_empty() { String::new() } else { format!("<br>from {}", h(source_ip)) },
                h(&r.what()),
                h(r.target()),
                detail
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");

    // 3. Findings by level.
    section_open(&mut out, 2);
    if input.findings_by_level.is_empty() {
        empty(&mut out, "No findings.");
    } else {
        out.push_str(r#"<table class="kv"><thead><tr><th>Level</th><th class="num">Findings</th></tr></thead><tbody>"#);
        for (level, n) in &input.findings_by_level {
            let _ = write!(out, r#"<tr><td>{}</td><td class="num">{n}</td></tr>"#, level_badge(level));
        }
        out.push_str("</tbody></table>");
    }
    if !input.top_findings.is_empty() {
        out.push_str(r#"<h3>Top rules</h3><table><thead><tr><th>Rule</th><th>Level</th><th class="num">Count</th><th>First (UTC)</th><th>Last (UTC)</th><th>Author</th></tr></thead><tbody>"#);
        for f in &input.top_findings {
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td>{}</td><td class="num">{}</td>{}{}<td>{}</td></tr>"#,
                h(&f.rule_title),
                level_badge(&f.level),
                f.count,
                time_cell(f.first.as_deref().unwrap_or("")),
                time_cell(f.last.as_deref().unwrap_or("")),
                h(f.author.as_deref().unwrap_or(""))
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");

    // 4. Answers.
    section_open(&mut out, 3);
    if input.playbooks.is_empty() {
        empty(&mut out, "No playbook was run in this case.");
    }
    for run in &input.playbooks {
        let _ = write!(
            out,
            r#"<h3>{} <span class="mono">({})</span></h3><p>Phase reached: <strong>{}</strong>. Steps done: {}, open: {}.</p>"#,
            h(&run.title),
            h(&run.id),
            h(&run.phase_reached),
            run.steps_done,
            run.steps_open
        );
        if run.answers.is_empty() {
            empty(&mut out, "No question answered yet.");
        } else {
            table_open(&mut out, "answers", &[("Question", 28, false), ("Answer", 46, false), ("Who", 13, false), ("When (UTC)", 13, false)]);
            for a in &run.answers {
                let _ = write!(out, "<tr><td>{}</td><td>{}</td><td>{}</td>{}</tr>", h(&a.question), h(&a.answer), h(&a.who), time_cell(&a.time));
            }
            out.push_str("</tbody></table>");
        }
        if !run.decisions.is_empty() {
            out.push_str("<h4>Decisions</h4>");
            table_open(&mut out, "decisions", &[("Decision", 22, false), ("Choice", 16, false), ("Why", 36, false), ("Who", 13, false), ("When (UTC)", 13, false)]);
            for d in &run.decisions {
                let _ = write!(out, "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}</tr>", h(&d.title), h(&d.choice), h(&d.reason), h(&d.who), time_cell(&d.time));
            }
            out.push_str("</tbody></table>");
        }
    }
    out.push_str("</section>");

    // 5. Actions.
    section_open(&mut out, 4);
    let _ = write!(out, "<p>Action log: {}.</p>", chain_html(&input.action_log_verified));
    if input.responder_actions.is_empty() {
        empty(&mut out, "No responder action recorded.");
    } else {
        table_open(&mut out, "actions", &[("Id", 5, true), ("Time (UTC)", 12, false), ("Call / target / operator", 25, false), ("Status", 10, false), ("Before", 24, false), ("After", 24, false)]);
        for a in &input.responder_actions {
            let mut after = pretty_json(&a.after);
            if let Some(error) = a.error.as_deref() {
                if !after.is_empty() {
                    after.push('\n');
                }
                after.push_str("error: ");
                after.push_str(error);
            }
            let _ = write!(
                out,
                r#"<tr><td class="num">{}</td>{}<td><strong>{}</strong><br><span class="mono">{}</span><br><span class="by">by <span class="mono">{}</span></span></td><td>{}</td><td><pre class="json">{}</pre></td><td><pre class="json">{}</pre></td></tr>"#,
                a.action_id.map(|n| n.to_string()).unwrap_or_default(),
                time_cell(&a.time),
                h(&a.call),
                h(&a.target),
                h(&a.operator),
                status_badge(&a.status),
                h(&pretty_json(&a.before)),
                h(&after)
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");

    // 6. Evidence.
    section_open(&mut out, 5);
    if input.evidence.is_empty() {
        empty(&mut out, "No evidence file in the case.");
    } else {
        table_open(&mut out, "evidence", &[("File", 22, false), ("SHA-256", 27, false), ("Bytes", 8, true), ("Added (UTC)", 13, false), ("What", 30, false)]);
        for e in &input.evidence {
            let _ = write!(
                out,
                r#"<tr><td class="mono">{}</td><td class="hash">{}</td><td class="num">{}</td>{}<td>{}</td></tr>"#,
                h(&e.path),
                h(&e.sha256),
                e.bytes,
                time_cell(&e.added),
                h(&e.what)
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");

    // 7. Open items.
    section_open(&mut out, 6);
    list(&mut out, &input.open_items, "No open item.");
    out.push_str("</section>");

    // 8. Lessons learned and backlog.
    section_open(&mut out, 7);
    out.push_str("<h3>Lessons learned</h3>");
    list(&mut out, &input.lessons_learned, "None recorded.");
    out.push_str("<h3>Backlog</h3>");
    list(&mut out, &input.backlog, "None recorded.");
    out.push_str("</section>");
    let _ = writeln!(out, "<footer>Case {} · report generated {} by {}</footer></body></html>", h(&input.case_name), h(&display_time(&input.generated_at)), h(&input.generated_by));
    out
}
