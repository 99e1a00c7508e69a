//! `firebreak case status`: where a case stands -- its events, findings, playbook runs
//! (phase, steps done and open, manual steps left), responder actions and evidence.

use std::io::Write;

use anyhow::Context;
use firebreak_events::sanitize::for_terminal;
use firebreak_playbooks::run::list_runs;
use firebreak_query::CaseQuery;
use serde_json::json;

use crate::output::ListingArgs;

fn cell(table: &firebreak_query::Table, row: usize, col: usize) -> Option<String> {
    table.rows.get(row).and_then(|r| r.get(col)).cloned().flatten()
}

/// Runs `firebreak case status`.
pub fn run(case: Option<&str>, listing: &ListingArgs) -> anyhow::Result<i32> {
    let store = crate::investigate::open_case(case)?;
    let dir = store.dir().to_path_buf();
    let query = CaseQuery::open(&store).with_context(|| format!("reading case {}", dir.display()))?;
    let events = query
        .sql("SELECT count(*) AS n, min(eventtime) AS first, max(eventtime) AS last, count(DISTINCT recipientaccountid) AS accounts FROM cloudtrail")
        .context("counting the case's events")?;
    let findings = query
        .sql("SELECT level, count(*) AS n FROM findings GROUP BY level")
        .context("counting the case's findings")?;
    let mut by_level = [0u64; 5];
    for row in &findings.rows {
        let level = row.first().cloned().flatten().unwrap_or_default();
        let n: u64 = row.get(1).cloned().flatten().and_then(|n| n.parse().ok()).unwrap_or(0);
        if let Ok(l) = level.parse::<firebreak_detect::Level>() {
            by_level[l as usize] += n;
        }
    }
    let runs = list_runs(&dir).with_context(|| format!("reading the playbook runs of {}", dir.display()))?;
    let log = firebreak_evidence::ActionLog::at(dir.join(firebreak_evidence::ACTION_LOG_FILE));
    let actions = log.entries().unwrap_or_default();
    let chain = log.verify().map_err(|e| e.to_string());
    let evidence_dir = dir.join(firebreak_evidence::EVIDENCE_DIR);
    let (evidence_files, evidence_bytes) = std::fs::read_dir(&evidence_dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok().filter(|m| m.is_file()))
                .fold((0u64, 0u64), |(n, b), m| (n + 1, b + m.len()))
        })
        .unwrap_or((0, 0));

    let playbooks: Vec<serde_json::Value> = runs
        .iter()
        .map(|run| {
            let o = run.overview();
            json!({
                "playbook": run.playbook_id,
                "current_phase": o.current_phase.map(|p| p.key()),
                "done": o.total.done, "skipped": o.total.skipped, "planned": o.total.planned,
                "open": o.total.open, "failed": o.total.failed,
                "manual_open": o.manual_open.iter().map(|(id, title)| json!({"id": id, "title": title})).collect::<Vec<_>>(),
                "finished": run.finished, "updated": run.updated,
                "phases": o.phases.iter().map(|p| json!({
                    "phase": p.phase.key(), "done": p.counts.done, "skipped": p.counts.skipped,
                    "planned": p.counts.planned, "open": p.counts.open, "failed": p.counts.failed,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let status = json!({
        "case": store.info().name,
        "dir": dir.display().to_string(),
        "created": store.info().created,
        "events": cell(&events, 0, 0).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0),
        "first_event": cell(&events, 0, 1),
        "last_event": cell(&events, 0, 2),
        "accounts": cell(&events, 0, 3).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0),
        "findings": {
            "critical": by_level[4], "high": by_level[3], "medium": by_level[2], "low": by_level[1], "informational": by_level[0],
        },
        "playbooks": playbooks,
        "actions": actions.len(),
        "action_log_verified": chain.is_ok(),
        "action_log_problem": chain.as_ref().err(),
        "evidence_files": evidence_files,
        "evidence_bytes": evidence_bytes,
    });

    let mut out = listing.open()?;
    match listing.format.as_str() {
        "jsonl" | "json" => writeln!(out, "{status}")?,
        "table" => {
            let t = |v: &serde_json::Value| for_terminal(&match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "-".into(),
                other => other.to_string(),
            })
            .into_owned();
            writeln!(out, "case        {}  ({})", t(&status["case"]), t(&status["dir"]))?;
            writeln!(out, "events      {} from {} to {}, {} account(s)", t(&status["events"]), t(&status["first_event"]), t(&status["last_event"]), t(&status["accounts"]))?;
            writeln!(
                out,
                "findings    {} critical, {} high, {} medium, {} low, {} informational",
                by_level[4], by_level[3], by_level[2], by_level[1], by_level[0]
            )?;
            if runs.is_empty() {
                writeln!(out, "playbooks   none run yet (`firebreak playbook run ID --case ...`)")?;
            }
            for run in &runs {
                let o = run.overview();
                let phase = o.current_phase.map(|p| p.title()).unwrap_or("all recorded steps settled");
                writeln!(
                    out,
                    "playbook    {}: phase {}; {} done, {} skipped, {} planned, {} open, {} failed{}",
                    for_terminal(&run.playbook_id),
                    phase,
                    o.total.done,
                    o.total.skipped,
                    o.total.planned,
                    o.total.open,
                    o.total.failed,
                    if run.finished { "" } else { " (run not finished)" }
                )?;
                for (id, title) in &o.manual_open {
                    writeln!(out, "              manual, open: {} - {}", for_terminal(id), for_terminal(title))?;
                }
            }
            let verified = match &chain {
                Ok(n) => format!("hash chain verified ({n} entries)"),
                Err(e) => format!("HASH CHAIN BROKEN: {}", for_terminal(e)),
            };
            writeln!(out, "actions     {} recorded; {verified}", actions.len())?;
            writeln!(out, "evidence    {evidence_files} file(s), {evidence_bytes} bytes")?;
        }
        "csv" => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(["key", "value"])?;
            if let serde_json::Value::Object(map) = &status {
                for (k, v) in map {
                    let text = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    w.write_record([k.as_str(), firebreak_events::sanitize::for_csv_cell(&text).as_ref()])?;
                }
            }
            w.flush()?;
        }
        other => anyhow::bail!("unknown format '{other}' (expected table, jsonl or csv)"),
    }
    out.flush()?;
    Ok(if chain.is_err() { 1 } else { 0 })
}
