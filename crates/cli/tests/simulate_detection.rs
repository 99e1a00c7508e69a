//! `simulate` then `scan`: every planted scenario is detected, and the look-alike routine
//! activity raises nothing at level high or critical.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use support::*;

#[test]
fn planted_scenarios_are_detected_and_routine_stays_quiet() {
    let dir = tempdir();
    let logs = dir.path().join("logs");
    let truth = dir.path().join("truth.jsonl");
    let sim = run(&[
        "simulate", "--out", logs.to_str().unwrap(), "--events", "40000", "--seed", "11", "--scenarios", "all",
        "--truth", truth.to_str().unwrap(),
    ]);
    assert_eq!(sim.status.code(), Some(0), "simulate failed: {}", stderr(&sim));

    // The built-in pack and the SigmaHQ AWS rules together.
    let sigma = corpus().join("sigma-aws/rules");
    let out = run(&[
        "scan", logs.to_str().unwrap(), "--rules", sigma.to_str().unwrap(), "--format", "jsonl", "--no-progress",
    ]);
    assert_eq!(out.status.code(), Some(0), "scan: {}", stderr(&out));
    let findings = json_lines(&out);

    // Which planted event belongs to which scenario.
    let mut planted: BTreeMap<String, String> = BTreeMap::new();
    let mut scenarios = BTreeSet::new();
    for line in std::fs::read_to_string(&truth).unwrap().lines() {
        let t: serde_json::Value = serde_json::from_str(line).unwrap();
        let name = t["scenario"].as_str().unwrap().to_string();
        scenarios.insert(name.clone());
        for id in t["event_ids"].as_array().unwrap() {
            planted.insert(id.as_str().unwrap().to_string(), name.clone());
        }
    }
    assert!(scenarios.len() >= 10, "all scenarios planted: {scenarios:?}");

    let mut detected = BTreeSet::new();
    let mut routine_alarms = Vec::new();
    for f in &findings {
        let mut ids: Vec<String> = f["event_id"].as_str().map(|s| vec![s.to_string()]).unwrap_or_default();
        if let Some(c) = f.get("correlation") {
            ids.extend(c["event_ids"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)));
        }
        let hit: Vec<&String> = ids.iter().filter_map(|id| planted.get(id)).collect();
        for s in &hit {
            detected.insert((*s).clone());
        }
        let level = f["level"].as_str().unwrap_or("");
        if hit.is_empty() && (level == "high" || level == "critical") {
            routine_alarms.push(format!("{} {} {}", level, f["rule_title"], f["event_name"]));
        }
    }
    let missed: Vec<_> = scenarios.difference(&detected).collect();
    assert!(missed.is_empty(), "scenarios not detected: {missed:?}");
    routine_alarms.sort();
    routine_alarms.dedup();
    assert!(routine_alarms.is_empty(), "routine activity raised high/critical findings: {routine_alarms:#?}");
}

#[test]
fn simulate_is_deterministic() {
    let dir = tempdir();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    for p in [&a, &b] {
        let out = run(&["simulate", "--out", p.to_str().unwrap(), "--events", "3000", "--seed", "5"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let list = |root: &std::path::Path| {
        let mut files = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() { stack.push(p) } else { files.push(p) }
            }
        }
        files.sort();
        files.into_iter().map(|p| (p.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&p).unwrap())).collect::<Vec<_>>()
    };
    assert_eq!(list(&a), list(&b));
}
