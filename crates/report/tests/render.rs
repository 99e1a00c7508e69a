//! The Markdown and HTML reports hold what the input holds, in the required section order,
//! and attacker-controlled values cannot inject markup into either.

mod common;

use firebreak_evidence::sha256_hex;
use firebreak_report::{render_html, render_markdown, ActionEntry, AnswerEntry, CaseSummary, Counted, EvidenceEntry, PlaybookRunEntry, ReportInput, TimelineEntry, SECTIONS};
use serde_json::json;

/// Markdown to HTML the way GitHub renders it (tables, autolinks, strikethrough), but with raw
/// HTML passed through unfiltered so that any markup injection shows.
fn gfm(markdown: &str) -> String {
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.autolink = true;
    options.extension.strikethrough = true;
    options.render.r#unsafe = true;
    comrak::markdown_to_html(markdown, &options)
}

fn positions_in_order(text: &str, needles: &[String]) {
    let mut last = 0;
    for needle in needles {
        let at = text[last..].find(needle.as_str()).unwrap_or_else(|| panic!("{needle:?} missing or out of order"));
        last += at + needle.len();
    }
}

#[test]
fn markdown_has_every_section_in_order() {
    let (_case, input) = common::sample_input();
    let md = render_markdown(&input);
    let headings: Vec<String> = SECTIONS.iter().enumerate().map(|(i, (_, t))| format!("\n## {}. {}\n", i + 1, t)).collect();
    positions_in_order(&md, &headings);
    // Rendered, each section is an <h2>.
    let html = gfm(&md);
    assert_eq!(html.matches("<h2>").count(), SECTIONS.len());
}

#[test]
fn html_has_every_section_in_order() {
    let (_case, input) = common::sample_input();
    let html = render_html(&input);
    let ids: Vec<String> = SECTIONS.iter().map(|(id, _)| format!(r#"<section id="{id}">"#)).collect();
    positions_in_order(&html, &ids);
    assert_eq!(html.matches("<section ").count(), SECTIONS.len());
}

#[test]
fn both_formats_hold_counts_actions_answers_and_hashes() {
    let (case, input) = common::sample_input();
    let md = render_markdown(&input);
    let md_html = gfm(&md);
    let html = render_html(&input);
    let evidence_hash = sha256_hex(&std::fs::read(case.path().join("evidence/user-ci-deploy.json")).unwrap());

    // Findings by level, counted here from the rows independently of the crate.
    let findings = common::sample_findings();
    let level_col = findings.column_index("level").unwrap();
    for level in ["critical", "high", "medium", "low", "informational"] {
        let n = findings.rows.iter().filter(|r| r[level_col].as_deref() == Some(level)).count();
        assert!(md.contains(&format!("| {level} | {n} |")), "markdown lacks {level} = {n}");
        assert!(html.contains(&format!(r#"<span class="badge lvl-{level}">{level}</span></td><td class="num">{n}</td>"#)), "html lacks {level} = {n}");
    }
    assert!(md.contains("| Events | 6995 |"));
    assert!(html.contains("<th>Events</th><td>6995</td>"));

    // A known action's before and after, on the row of that action.
    let row = md.lines().find(|l| l.contains("iam:UpdateAccessKey") && l.contains(common::LEAKED_KEY) && l.starts_with("| 2 |")).expect("action 2 row");
    assert!(row.contains(r#"{"status":"Active"}"#) && row.contains(r#"{"status":"Inactive"}"#), "{row}");
    let actions_section = html.split(r#"<section id="actions">"#).nth(1).unwrap().split("</section>").next().unwrap();
    let action_row = actions_section.split("<tr>").find(|r| r.contains("iam:UpdateAccessKey") && r.contains(common::LEAKED_KEY)).expect("html action row");
    assert!(action_row.contains("&quot;status&quot;: &quot;Active&quot;") && action_row.contains("&quot;status&quot;: &quot;Inactive&quot;"), "{action_row}");
    // The failed action shows its error.
    assert!(md_html.contains("is not authorized to perform: iam:DeleteLoginProfile"));
    assert!(html.contains("is not authorized to perform: iam:DeleteLoginProfile"));

    // An answer's text.
    assert!(md_html.contains(common::ANSWER_CREATED), "markdown answer");
    assert!(html.contains(common::ANSWER_CREATED), "html answer");

    // The evidence hash, next to its file.
    let evidence_row = md.lines().find(|l| l.contains("user-ci-deploy.json") && l.contains(&evidence_hash));
    assert!(evidence_row.is_some(), "markdown evidence row with {evidence_hash}");
    assert!(html.contains(&format!(r#"<td class="hash">{evidence_hash}</td>"#)));

    // The merged timeline: attacker and responder rows interleaved by time, numbered.
    let timeline = md.split("## 2.").nth(1).unwrap().split("## 3.").next().unwrap();
    let numbered: Vec<&str> = timeline.lines().filter(|l| l.starts_with("| ") && l.chars().nth(2).is_some_and(|c| c.is_ascii_digit())).collect();
    assert_eq!(numbered.len(), input.attacker_timeline.len() + input.responder_actions.len());
    assert!(numbered[0].contains("| Attacker |") && numbered.last().unwrap().contains("| Responder |"));
    assert!(html.contains("<svg") && html.contains(r#"class="mark attacker lvl-critical""#) && html.contains(r#"class="mark responder st-failed""#));

    // Integrity of the action log.
    assert!(md.contains("verified: hash chain intact over 7 entries"));
    assert!(html.contains("verified: hash chain intact over 7 entries"));
    // Open items, lessons and backlog.
    assert!(html.contains("Notify the data protection officer") && md.contains("Notify the data protection officer"));
    assert!(html.contains("Replace CI access keys with OIDC federation") && md.contains("Replace CI access keys with OIDC federation"));
}

#[test]
fn html_is_self_contained() {
    let (_case, input) = common::sample_input();
    let html = render_html(&input);
    let lower = html.to_ascii_lowercase();
    for forbidden in ["<script", "<link", "<img", "<iframe", "@import", "url(", "src=", "@font-face"] {
        assert!(!lower.contains(forbidden), "HTML contains {forbidden}");
    }
    // The only URL is the SVG namespace.
    assert_eq!(lower.matches("http://").count() + lower.matches("https://").count(), 1);
    assert!(lower.contains(r#"xmlns="http://www.w3.org/2000/svg""#));
    assert!(html.contains("@page { size: A4;") && html.contains("@media print"));
    assert!(html.contains("Content-Security-Policy"));
}

const HOSTILE_UA: &str = r#"Mozilla/5.0 <script>alert("pwned")</script> "quoted" 'single'"#;

fn hostile_input() -> ReportInput {
    let link = "[click me](https://evil.example/x) <img src=x onerror=alert(1)>";
    ReportInput {
        case_name: "<b>case</b> | `x`".into(),
        generated_at: "2026-10-02T08:00:00Z".into(),
        generated_by: "bob@evil.example".into(),
        summary: CaseSummary {
            events: 3,
            user_agents: vec![Counted { value: HOSTILE_UA.into(), count: 3 }],
            principals: vec![Counted { value: "arn:aws:iam::1:user/a|b`c`".into(), count: 3 }],
            ..Default::default()
        },
        attacker_timeline: vec![TimelineEntry {
            time: "2026-10-01T02:00:00Z".into(),
            principal: "arn:aws:iam::1:user/pipe|user".into(),
            source_ip: "www.evil.example".into(),
            user_agent: Some(HOSTILE_UA.into()),
            event_source: "iam.amazonaws.com".into(),
            event_name: link.into(),
            resource: Some("<img src=x onerror=alert(2)>".into()),
            rule_titles: vec!["**bold** _it_ ~~strike~~ http://evil.example/y".into()],
            level: "high".into(),
            ..Default::default()
        }],
        responder_actions: vec![ActionEntry {
            action_id: Some(1),
            time: "2026-10-01T03:00:00Z".into(),
            operator: "op\nwith newline".into(),
            call: "iam:UpdateAccessKey".into(),
            target: "user_name=<svg onload=alert(3)>".into(),
            before: json!({"tag": "</pre><script>alert(4)</script>"}),
            after: json!({"status": "Inactive|x"}),
            status: "applied".into(),
            error: None,
        }],
        findings_by_level: vec![("high".into(), 1)],
        playbooks: vec![PlaybookRunEntry {
            id: "pb".into(),
            title: "<i>pb</i>".into(),
            phase_reached: "Detection and analysis".into(),
            answers: vec![AnswerEntry { question: "Q?".into(), answer: "see www.evil.example or mail bob@evil.example".into(), who: "x".into(), time: "t".into() }],
            ..Default::default()
        }],
        evidence: vec![EvidenceEntry { path: "evidence/<x>.json".into(), sha256: "ab".into(), bytes: 2, added: "t".into(), what: link.into() }],
        open_items: vec!["# not a heading".into(), "- not a sublist".into(), "1. not an ordered list".into()],
        ..Default::default()
    }
}

#[test]
fn html_escapes_attacker_values() {
    let html = render_html(&hostile_input());
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "script tag leaked");
    assert!(!lower.contains("<img"), "img tag leaked");
    assert!(!lower.contains("<svg onload"), "svg tag leaked");
    assert!(!lower.contains("<b>case"), "b tag leaked");
    assert!(!lower.contains("<i>pb"), "i tag leaked");
    assert!(!html.contains("</pre><script"));
    assert!(html.contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &quot;quoted&quot; &#39;single&#39;"));
    // Inside the SVG tooltips as well.
    let svg = html.split("<svg").nth(1).unwrap().split("</svg>").next().unwrap();
    assert!(svg.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(!svg.contains("<img"));
}

#[test]
fn markdown_neutralises_attacker_values() {
    // The checker does see links and markup when they are not escaped.
    let raw = gfm("see www.evil.example, bob@evil.example, [x](https://e.example) <script>alert(1)</script> **b**");
    assert!(raw.matches("<a ").count() >= 3 && raw.contains("<script>") && raw.contains("<strong>b</strong>"), "{raw}");
    let input = hostile_input();
    let md = render_markdown(&input);
    let html = gfm(&md);
    let lower = html.to_ascii_lowercase();
    for forbidden in ["<script", "<img", "<svg", "<a ", "<b>", "<i>", "<del>", "<em>it", "<strong>bold", "<code>"] {
        assert!(!lower.contains(forbidden), "rendered markdown contains {forbidden}:\n{html}");
    }
    // Only our own bold labels and headings: the attacker's **bold** stays literal.
    assert!(html.contains("**bold** _it_ ~~strike~~ http://evil.example/y"));
    assert!(html.contains("[click me](https://evil.example/x) &lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;"));
    assert!(html.contains("see www.evil.example or mail bob@evil.example"));
    assert!(html.contains("arn:aws:iam::1:user/pipe|user"));
    assert!(html.contains("op with newline"));
    // Open items stay list items, not headings or nested lists.
    assert_eq!(html.matches("<h1>").count(), 1);
    assert!(html.contains("<li># not a heading</li>") && html.contains("<li>- not a sublist</li>") && html.contains("<li>1. not an ordered list</li>"));
    assert!(!html.contains("<ol"));
    // Every timeline row has exactly its 8 cells: the `|` inside values did not split them.
    let timeline = html.split("<h2>2.").nth(1).unwrap().split("<h2>3.").next().unwrap();
    for row in timeline.split("<tr>").skip(2) {
        assert_eq!(row.matches("<td").count(), 8, "row split by a value: {row}");
    }
    let actions = html.split("<h2>5.").nth(1).unwrap().split("<h2>6.").next().unwrap();
    assert!(actions.contains(r#"{&quot;status&quot;:&quot;Inactive|x&quot;}"#));
    for row in actions.split("<tr>").skip(2) {
        assert_eq!(row.matches("<td").count(), 8, "row split by a value: {row}");
    }
}

#[test]
fn empty_input_still_has_every_section() {
    let input = ReportInput { case_name: "empty".into(), ..Default::default() };
    let md = render_markdown(&input);
    let html = render_html(&input);
    for (i, (id, title)) in SECTIONS.iter().enumerate() {
        assert!(md.contains(&format!("## {}. {title}", i + 1)));
        assert!(html.contains(&format!(r#"<section id="{id}">"#)));
    }
    assert!(!html.contains("<svg"), "no chart without timed rows");
    assert!(md.contains("No responder action recorded.") && html.contains("No evidence file in the case."));
    assert!(md.contains("Action log: not checked."));
}

#[test]
fn broken_chain_is_shown() {
    let input = ReportInput { case_name: "c".into(), action_log_verified: Some(Err("actions.jsonl:3: hash chain broken".into())), ..Default::default() };
    assert!(render_markdown(&input).contains("BROKEN: actions.jsonl:3: hash chain broken"));
    assert!(render_html(&input).contains(r#"<span class="bad">BROKEN: actions.jsonl:3: hash chain broken</span>"#));
}
