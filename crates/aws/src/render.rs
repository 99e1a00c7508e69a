//! Human-readable and JSON-lines renderings of plans, run reports and action lists.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::exec::PermissionCheck;
use crate::plan::{ActionRecord, Plan, RunReport, StepStatus};
use crate::steps::Effect;

fn effect_label(effect: Effect) -> &'static str {
    match effect {
        Effect::PreserveEvidence => "preserves evidence",
        Effect::Alter => "alters (reversible)",
        Effect::Destroy => "DESTROYS (irreversible)",
    }
}

fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The plan as numbered text: reads first, then each step's call, parameters and effect.
pub fn plan_text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Plan: {}", plan.command);
    let _ = writeln!(out, "  account {}  region {}  caller {}", plan.identity.account, plan.region, plan.identity.arn);
    let _ = writeln!(out, "Reads (done to build this plan):");
    for read in &plan.reads {
        let _ = writeln!(out, "  - {read}");
    }
    if plan.steps.is_empty() {
        let _ = writeln!(out, "Steps: none");
    } else {
        let _ = writeln!(out, "Steps:");
    }
    for step in &plan.steps {
        let _ = writeln!(out, "  {}. {} [{}]", step.number, step.name, effect_label(step.effect));
        let _ = writeln!(out, "     call:       {} {}", step.call, compact(&step.parameters));
        let _ = writeln!(out, "     changes:    {}", step.description);
        match (&step.current_state, &step.state_error) {
            (_, Some(err)) => {
                let _ = writeln!(out, "     reads:      {} -> could not read: {err}", step.state_read);
            }
            (Some(state), None) if !state.is_null() => {
                let _ = writeln!(out, "     reads:      {} -> {}", step.state_read, compact(state));
            }
            _ => {
                let _ = writeln!(out, "     reads:      {}", step.state_read);
            }
        }
        if step.already_done {
            let _ = writeln!(out, "     status:     already done (will not be called)");
        }
        match &step.permission_check {
            Some(PermissionCheck::Permitted) => {
                let _ = writeln!(out, "     dry run:    permitted (DryRunOperation)");
            }
            Some(PermissionCheck::Denied(msg)) => {
                let _ = writeln!(out, "     dry run:    DENIED: the caller may not call {} ({msg})", step.call);
            }
            Some(PermissionCheck::Error(msg)) => {
                let _ = writeln!(out, "     dry run:    error: {msg}");
            }
            None => {}
        }
    }
    if !plan.notes.is_empty() {
        let _ = writeln!(out, "Notes:");
        for note in &plan.notes {
            let _ = writeln!(out, "  - {note}");
        }
    }
    let pending = plan.steps.iter().filter(|s| !s.already_done).count();
    let _ = writeln!(out, "Nothing was changed. {pending} step(s) to do; re-run with --apply to execute them.");
    out
}

/// The results of an applied plan, step by step, with a summary of what was and was not done.
pub fn report_text(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Applied: {}  (case {}, account {}, region {})", report.plan.command, report.case, report.plan.identity.account, report.plan.region);
    for o in &report.outcomes {
        let id = o.action_id.map(|id| format!(" [action {id}]")).unwrap_or_default();
        match o.status {
            StepStatus::Applied => {
                let _ = writeln!(out, "  {}. {}: done{id}: {}", o.number, o.name, o.description);
                if let Some(r) = &o.result {
                    let _ = writeln!(out, "     result: {}", compact(r));
                }
            }
            StepStatus::AlreadyDone => {
                let _ = writeln!(out, "  {}. {}: already done, nothing changed: {}", o.number, o.name, o.description);
            }
            StepStatus::Failed => {
                let _ = writeln!(out, "  {}. {}: FAILED{id}: {}", o.number, o.name, o.error.as_deref().unwrap_or("unknown error"));
            }
            StepStatus::Skipped => {
                let _ = writeln!(out, "  {}. {}: NOT RUN: {}", o.number, o.name, o.error.as_deref().unwrap_or("skipped"));
            }
        }
    }
    let count = |s: StepStatus| report.outcomes.iter().filter(|o| o.status == s).count();
    let _ = writeln!(
        out,
        "Summary: {} changed, {} already done, {} failed, {} not run.",
        count(StepStatus::Applied),
        count(StepStatus::AlreadyDone),
        count(StepStatus::Failed),
        count(StepStatus::Skipped)
    );
    for note in &report.plan.notes {
        let _ = writeln!(out, "Note: {note}");
    }
    out
}

/// The plan as JSON lines: one `plan` header line, then one `plan_step` line per step.
pub fn plan_jsonl(plan: &Plan) -> String {
    let mut out = String::new();
    let header = json!({"type": "plan", "command": plan.command, "identity": plan.identity, "region": plan.region, "reads": plan.reads, "notes": plan.notes, "rollback_of": plan.rollback_of});
    out.push_str(&compact(&header));
    out.push('\n');
    for step in &plan.steps {
        let mut line = serde_json::to_value(step).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut line {
            map.insert("type".into(), json!("plan_step"));
        }
        out.push_str(&compact(&line));
        out.push('\n');
    }
    out
}

/// A run report as JSON lines: one `step_result` line per step, then a `summary` line.
pub fn report_jsonl(report: &RunReport) -> String {
    let mut out = String::new();
    for o in &report.outcomes {
        let mut line = serde_json::to_value(o).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut line {
            map.insert("type".into(), json!("step_result"));
        }
        out.push_str(&compact(&line));
        out.push('\n');
    }
    let summary = json!({"type": "summary", "command": report.plan.command, "case": report.case, "succeeded": report.succeeded(), "changed": report.changed(), "notes": report.plan.notes});
    out.push_str(&compact(&summary));
    out.push('\n');
    out
}

/// The action list as text: what was done, when, by whom, before and after.
pub fn actions_text(case_name: &str, actions: &[ActionRecord]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Case {case_name}: {} recorded action(s); hash chain verified.", actions.len());
    for a in actions {
        let rollback = a.rollback_of.map(|id| format!(" (rollback of {id})")).unwrap_or_default();
        let _ = writeln!(out, "{:>4}  {}  {:?}{}  {}", a.action_id, a.time, a.status, rollback, a.action.name());
        let _ = writeln!(out, "      by {} in {} / {}  command: {}", a.identity.arn, a.account, a.region, a.command);
        let _ = writeln!(out, "      call {} {}", a.call, compact(&a.parameters));
        let _ = writeln!(out, "      before {}", compact(&a.before));
        match (&a.result, &a.error) {
            (_, Some(err)) => {
                let _ = writeln!(out, "      error {err}");
            }
            (Some(r), None) => {
                let _ = writeln!(out, "      after {}", compact(r));
            }
            _ => {}
        }
    }
    out
}

/// The action list as JSON lines (one record per line).
pub fn actions_jsonl(actions: &[ActionRecord]) -> String {
    let mut out = String::new();
    for a in actions {
        out.push_str(&serde_json::to_string(a).unwrap_or_default());
        out.push('\n');
    }
    out
}
