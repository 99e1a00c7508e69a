//! `firebreak report`: the incident report of a case, in Markdown or HTML, assembled from
//! the case's events and findings, its playbook runs, its action log and its evidence.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use firebreak_playbooks::run::list_runs;
use firebreak_playbooks::{Library, Limits};
use firebreak_query::{CaseQuery, ChangeFilter, ResourceFilter, SummaryFilter, Table};
use firebreak_report::{
    read_case_files, render_html, render_markdown, FindingEntry, PlaybookRunRecord, PlaybookStepRecord, ReportInput,
    ReportSources, TableRows,
};

/// `firebreak report`
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// md (Markdown) or html (one self-contained page with a timeline chart, prints well).
    #[arg(long, short = 'f', default_value = "md")]
    pub format: String,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Who writes the report (default: `$USER`).
    #[arg(long)]
    pub author: Option<String>,
    /// At most this many attacker events in the timeline (the most severe findings first).
    #[arg(long, default_value_t = 2000)]
    pub max_events: usize,
}

fn rows(table: Table) -> TableRows {
    TableRows { columns: table.columns, rows: table.rows }
}

fn quote_list(values: &[&str]) -> String {
    values.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", ")
}

/// Runs `firebreak report`.
pub fn run(args: ReportArgs, case: Option<&str>) -> anyhow::Result<i32> {
    let html = match args.format.as_str() {
        "md" | "markdown" => false,
        "html" => true,
        other => anyhow::bail!("unknown report format '{other}' (expected md or html)"),
    };
    let store = crate::investigate::open_case(case)?;
    let dir = store.dir().to_path_buf();
    let query = CaseQuery::open(&store).with_context(|| format!("reading case {}", dir.display()))?;

    // Who, from where, what: the summary pivot plus the accounts.
    let summary = query.summary(&SummaryFilter { top: Some(10), ..Default::default() }).context("summarising the case")?;
    let total_events = Some(summary.events);
    let mut summary_rows = rows(summary.to_table());
    let accounts = query
        .sql("SELECT 'account' AS dimension, recipientaccountid AS value, count(*) AS count FROM cloudtrail \
              WHERE recipientaccountid IS NOT NULL GROUP BY recipientaccountid ORDER BY count(*) DESC LIMIT 10")
        .context("counting accounts")?;
    for row in accounts.rows {
        let mut full = vec![None; summary_rows.columns.len()];
        for (name, value) in ["dimension", "value", "count"].iter().zip(row) {
            if let Some(i) = summary_rows.column_index(name) {
                full[i] = value;
            }
        }
        summary_rows.rows.push(full);
    }

    // Attacker activity: the events of findings at medium and above.
    let serious = quote_list(&["medium", "high", "critical"]);
    let findings = query
        .sql(&format!(
            "SELECT rule_id, rule_title, rule_author, level, kind, correlation, event_id, event_time, event_source, event_name, principal_arn, \
             access_key_id, source_ip, user_agent, account_id, region, error_code FROM findings WHERE level IN ({serious}) \
             ORDER BY event_ts, event_id LIMIT {}",
            args.max_events.max(1)
        ))
        .context("reading the findings")?;
    let resources = query
        .resources(&ResourceFilter { change: ChangeFilter::Any, include_failed: true, ..Default::default() })
        .context("listing changed resources")?;
    let mut events = TableRows::new(["eventid", "resource"]);
    if let (Some(id), Some(res)) = (resources.column_index("eventid"), resources.column_index("resource")) {
        for row in &resources.rows {
            events.push_row([row.get(id).cloned().flatten(), row.get(res).cloned().flatten()]);
        }
    }

    let mut sources = ReportSources {
        case_name: store.info().name.clone(),
        generated_at: jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        generated_by: format!(
            "{} with firebreak {}",
            args.author
                .clone()
                .or_else(|| std::env::var("USER").ok())
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| "unknown".into()),
            env!("CARGO_PKG_VERSION")
        ),
        summary: summary_rows,
        total_events,
        findings: rows(findings),
        events,
        top_n: 10,
        ..Default::default()
    };

    // Responder actions and evidence (a bad log line is reported, the others are read).
    let files = read_case_files(&dir);
    sources.action_log = files.action_log;
    if dir.join(firebreak_evidence::ACTION_LOG_FILE).exists() {
        sources.action_log_verified = Some(files.action_log_verified);
    }
    sources.evidence_files = files.evidence.files;
    sources.open_items.extend(files.problems);

    // Playbook runs, with the playbooks' questions, lessons and backlog.
    let library = Library::load(true, &[], &Limits::default());
    for run in list_runs(&dir).with_context(|| format!("reading the playbook runs of {}", dir.display()))? {
        let playbook = library.get(&run.playbook_id).map(|l| l.playbook.clone());
        let steps = run
            .steps
            .iter()
            .map(|s| {
                let def = playbook.as_ref().and_then(|p| p.step(&s.id));
                PlaybookStepRecord {
                    id: s.id.clone(),
                    phase: s.phase.key().to_string(),
                    kind: s.kind.key().to_string(),
                    title: s.title.clone(),
                    status: s.status.as_str().to_string(),
                    question: def.and_then(|d| d.question.clone()),
                    answer: s.answer.clone(),
                    choice: s.outputs.get("choice").map(|c| c.join(", ")).filter(|c| !c.is_empty()),
                    reason: s.reason.clone(),
                    who: def.and_then(|d| d.who.clone()),
                    operator: Some(s.operator.clone()),
                    time: Some(s.last_time.clone()),
                }
            })
            .collect();
        sources.playbook_runs.push(PlaybookRunRecord {
            id: run.playbook_id.clone(),
            title: playbook.as_ref().map(|p| p.title.clone()).unwrap_or_else(|| run.playbook_id.clone()),
            steps,
            lessons_learned: playbook.as_ref().map(|p| p.lessons_learned.clone()).unwrap_or_default(),
            backlog: playbook.as_ref().map(|p| p.backlog.clone()).unwrap_or_default(),
        });
    }

    let mut input = ReportInput::collect(sources);
    // Counts and top rules over every finding (the rows above are medium and above only).
    let by_level = query.sql("SELECT level, count(*) AS n FROM findings GROUP BY level").context("counting findings")?;
    let mut counts: Vec<(String, u64)> = firebreak_report::LEVELS
        .iter()
        .map(|level| {
            let n = by_level
                .rows
                .iter()
                .find(|r| r.first().cloned().flatten().as_deref() == Some(level))
                .and_then(|r| r.get(1).cloned().flatten())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            (level.to_string(), n)
        })
        .collect();
    counts.retain(|(_, n)| *n > 0);
    input.findings_by_level = counts;
    let top = query
        .sql(
            "SELECT rule_title, level, count(*) AS n, min(event_time) AS first, max(event_time) AS last, min(rule_author) AS author \
             FROM findings GROUP BY rule_title, level \
             ORDER BY CASE level WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END DESC, n DESC, rule_title LIMIT 25",
        )
        .context("ranking the rules that matched")?;
    input.top_findings = top
        .rows
        .iter()
        .map(|r| {
            let c = |i: usize| r.get(i).cloned().flatten();
            FindingEntry {
                rule_title: c(0).unwrap_or_default(),
                level: c(1).unwrap_or_default(),
                count: c(2).and_then(|n| n.parse().ok()).unwrap_or(0),
                first: c(3),
                last: c(4),
                author: c(5),
            }
        })
        .collect();

    let text = if html { render_html(&input) } else { render_markdown(&input) };
    match &args.output {
        Some(path) => {
            std::fs::write(path, text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("report of case {} written to {}", input.case_name, path.display());
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(0)
}
