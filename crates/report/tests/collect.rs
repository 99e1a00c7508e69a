//! `ReportInput::collect` and `scan_evidence_dir` on a realistic case folder: a real
//! hash-chained action log in the aws crate's record shape, evidence files, findings rows.

mod common;

use std::collections::BTreeMap;

use firebreak_evidence::{sha256_hex, ActionLog};
use firebreak_report::{render_markdown, scan_evidence_dir, ReportInput, TableRows};

#[test]
fn attacker_timeline_keeps_medium_and_above_merged_per_event() {
    let (_case, input) = common::sample_input();
    let findings = common::sample_findings();
    let col = |name: &str| findings.column_index(name).unwrap();
    // Expected: distinct event ids of medium+ event findings, plus the correlation's event ids.
    let mut expected: Vec<String> = findings
        .rows
        .iter()
        .filter(|r| matches!(r[col("level")].as_deref(), Some("medium" | "high" | "critical")) && r[col("kind")].as_deref() == Some("event"))
        .filter_map(|r| r[col("event_id")].clone())
        .collect();
    expected.extend(["ev-10".to_string(), "ev-11".to_string()]);
    expected.sort();
    expected.dedup();
    let mut got: Vec<String> = input.attacker_timeline.iter().filter_map(|e| e.event_id.clone()).collect();
    got.sort();
    assert_eq!(got, expected);
    assert!(!got.contains(&"ev-01".to_string()) && !got.contains(&"ev-09".to_string()), "informational events are not on the timeline");

    // Sorted by time.
    let times: Vec<&str> = input.attacker_timeline.iter().map(|e| e.time.as_str()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);

    // Two rules on one event: one entry, both titles, the higher level.
    let stop = input.attacker_timeline.iter().find(|e| e.event_id.as_deref() == Some("ev-07")).unwrap();
    assert_eq!(stop.rule_titles, ["CloudTrail logging stopped", "Defense evasion: trail tampering"]);
    assert_eq!(stop.level, "critical");
    assert_eq!(stop.resource.as_deref(), Some("arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail"));
    // The resource comes from the events rows.
    let create = input.attacker_timeline.iter().find(|e| e.event_id.as_deref() == Some("ev-03")).unwrap();
    assert_eq!(create.resource.as_deref(), Some(common::BACKDOOR_USER));
    assert_eq!(create.event_name, "CreateUser");
    // The correlation's events come from the events rows, with the correlation rule's title.
    let denied = input.attacker_timeline.iter().find(|e| e.event_id.as_deref() == Some("ev-10")).unwrap();
    assert_eq!(denied.event_name, "GetSecretValue");
    assert_eq!(denied.error_code.as_deref(), Some("AccessDenied"));
    assert_eq!(denied.rule_titles, ["Burst of AccessDenied errors from one key"]);
}

#[test]
fn findings_are_counted_by_level_and_rule() {
    let (_case, input) = common::sample_input();
    let findings = common::sample_findings();
    let level = findings.column_index("level").unwrap();
    let mut counted: BTreeMap<String, u64> = BTreeMap::new();
    for row in &findings.rows {
        *counted.entry(row[level].clone().unwrap()).or_default() += 1;
    }
    let levels: Vec<&str> = input.findings_by_level.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(levels, ["critical", "high", "medium", "low", "informational"]);
    for (level, n) in &input.findings_by_level {
        assert_eq!(*n, counted.get(level).copied().unwrap_or(0), "{level}");
    }
    let top = &input.top_findings;
    assert_eq!(top.len(), 10, "top_n caps the list");
    assert_eq!(top[0].level, "critical");
    let ranks: Vec<u8> = top.iter().map(|f| firebreak_report::level_rank(&f.level).unwrap()).collect();
    assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "most severe first: {ranks:?}");
    let sts = top.iter().find(|f| f.rule_title.starts_with("STS GetCallerIdentity")).unwrap();
    assert_eq!((sts.count, sts.first.as_deref(), sts.last.as_deref()), (2, Some("2026-10-01T01:57:10Z"), Some("2026-10-01T03:40:09Z")));
    assert_eq!(sts.author.as_deref(), Some("firebreak team"));
}

#[test]
fn summary_comes_from_the_summary_pivot() {
    let (_case, input) = common::sample_input();
    let s = &input.summary;
    assert_eq!(s.events, 6995);
    assert_eq!(s.first_event.as_deref(), Some("2026-09-30T22:00:00Z"));
    assert_eq!(s.last_event.as_deref(), Some("2026-10-01T09:59:58Z"));
    assert_eq!(s.principals.iter().map(|c| c.count).collect::<Vec<_>>(), [5120, 1834, 41]);
    assert_eq!(s.accounts.len(), 1);
    assert_eq!(s.accounts[0].value, common::ACCOUNT);
    assert_eq!(s.source_ips[0].value, "198.51.100.7");
    assert_eq!(s.regions.len(), 2);
    // Without a total, the eventname counts are summed.
    let mut sources = common::sample_sources().1;
    sources.total_events = None;
    assert_eq!(ReportInput::collect(sources).summary.events, 4000 + 2995);
}

#[test]
fn actions_come_from_the_action_log_with_before_and_after() {
    let (_case, input) = common::sample_input();
    assert_eq!(input.responder_actions.len(), 7);
    assert_eq!(input.action_log_verified, Some(Ok(7)));
    let disable = &input.responder_actions[1];
    assert_eq!(disable.action_id, Some(2));
    assert_eq!(disable.time, "2026-10-01T09:12:30.102Z");
    assert_eq!(disable.call, "iam:UpdateAccessKey");
    assert_eq!(disable.operator, common::RESPONDER);
    assert_eq!(disable.target, format!("access_key_id={}, status=Inactive, user_name=ci-deploy", common::LEAKED_KEY));
    assert_eq!(disable.before, serde_json::json!({"status": "Active"}));
    assert_eq!(disable.after, serde_json::json!({"status": "Inactive"}));
    assert_eq!(disable.status, "applied");
    let failed = &input.responder_actions[6];
    assert_eq!(failed.status, "failed");
    assert!(failed.error.as_deref().unwrap().starts_with("AccessDenied"));
    assert!(input.open_items.iter().any(|i| i.starts_with("Action 7 (iam:DeleteLoginProfile on user_name=ci-deploy) failed: AccessDenied")), "{:#?}", input.open_items);
}

#[test]
fn records_of_other_kinds_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let log = ActionLog::at(dir.path().join("actions.jsonl"));
    log.append(serde_json::json!({"kind": "note", "operator": "alice", "text": "called the CI owner"})).unwrap();
    log.append(serde_json::json!({"call": "iam:UpdateAccessKey", "parameters": {"access_key_id": "AKIA1"}, "before": {"status": "Inactive"}, "result": {"status": "Active"}, "status": "applied", "rollback_of": 1})).unwrap();
    let sources = firebreak_report::ReportSources { action_log: log.entries().unwrap(), ..Default::default() };
    let input = ReportInput::collect(sources);
    assert_eq!(input.responder_actions.len(), 2);
    assert_eq!(input.responder_actions[0].call, "note");
    assert_eq!(input.responder_actions[0].operator, "alice");
    assert_eq!(input.responder_actions[0].after["text"], "called the CI owner");
    assert_eq!(input.responder_actions[1].call, "iam:UpdateAccessKey (rollback of action 1)");
    assert_eq!(input.responder_actions[1].operator, "unknown");
}

#[test]
fn evidence_register_matches_files_to_capture_actions() {
    let (case, input) = common::sample_input();
    assert_eq!(input.evidence.len(), 3);
    let ci = input.evidence.iter().find(|e| e.path == "evidence/user-ci-deploy.json").unwrap();
    let bytes = std::fs::read(case.path().join(&ci.path)).unwrap();
    assert_eq!(ci.sha256, sha256_hex(&bytes));
    assert_eq!(ci.bytes, bytes.len() as u64);
    assert_eq!(ci.added, "2026-10-01T09:12:03.481Z");
    assert_eq!(ci.what, "CaptureUserMetadata user_name=ci-deploy (action 1)");
    let notes = input.evidence.iter().find(|e| e.path == "evidence/analyst-notes.txt").unwrap();
    assert_eq!(notes.what, "not recorded in the action log");
    assert!(!notes.added.is_empty(), "file time used");
    assert!(!input.open_items.iter().any(|i| i.contains("Evidence file")), "{:#?}", input.open_items);
}

#[test]
fn tampered_and_missing_evidence_become_open_items() {
    let (case, mut sources) = common::sample_sources();
    std::fs::write(case.path().join("evidence/user-ci-deploy.json"), b"{\"edited\": true}").unwrap();
    std::fs::remove_file(case.path().join("evidence/user-backdoor-svc.json")).unwrap();
    let scan = scan_evidence_dir(case.path());
    assert!(scan.errors.is_empty());
    sources.evidence_files = scan.files;
    let input = ReportInput::collect(sources);
    let ci = input.evidence.iter().find(|e| e.path == "evidence/user-ci-deploy.json").unwrap();
    assert!(ci.what.contains("HASH MISMATCH: action 1 recorded"), "{}", ci.what);
    assert!(input.open_items.iter().any(|i| i.starts_with("Evidence file evidence/user-ci-deploy.json does not match the SHA-256 recorded by action 1")));
    let missing = input.evidence.iter().find(|e| e.path.ends_with("evidence/user-backdoor-svc.json")).unwrap();
    assert!(missing.what.ends_with("MISSING from the evidence folder"), "{}", missing.what);
    assert_eq!(missing.sha256.len(), 64);
    assert!(input.open_items.iter().any(|i| i.contains("user-backdoor-svc.json recorded by action 3 is missing")));
}

#[test]
fn broken_hash_chain_is_reported_and_the_actions_still_listed() {
    let (case, mut sources) = common::sample_sources();
    let path = case.path().join("actions.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen(r#""before":{"status":"Active"}"#, r#""before":{"status":"Inactive"}"#, 1)).unwrap();
    let log = ActionLog::at(&path);
    let verified = log.verify().map_err(|e| e.to_string());
    assert!(verified.is_err());
    sources.action_log = log.entries().unwrap();
    sources.action_log_verified = Some(verified);
    let input = ReportInput::collect(sources);
    assert_eq!(input.responder_actions.len(), 7);
    assert!(input.open_items[0].starts_with("The action log's hash chain is broken ("), "{:#?}", input.open_items);
    assert!(input.open_items[0].contains(":2: hash chain broken"));
    assert!(render_markdown(&input).contains("Action log: BROKEN: "));
}

#[test]
fn playbook_runs_give_progress_answers_decisions_and_open_steps() {
    let (_case, input) = common::sample_input();
    assert_eq!(input.playbooks.len(), 1);
    let run = &input.playbooks[0];
    assert_eq!(run.phase_reached, "Containment and eradication");
    assert_eq!((run.steps_done, run.steps_open), (5, 2));
    assert_eq!(run.answers.len(), 2);
    let created = run.answers.iter().find(|a| a.answer == common::ANSWER_CREATED).unwrap();
    assert_eq!(created.question, "Which IAM users, keys and policy attachments did the compromised key create?");
    assert_eq!(created.who, "alice@example.com");
    assert_eq!(run.decisions.len(), 1);
    assert_eq!(run.decisions[0].choice, "production");
    assert!(input
        .open_items
        .contains(&"Playbook IAM credential compromise: containment and eradication step \"Notify the data protection officer\" is open (owner: legal)".to_string()));
    assert!(input.open_items.iter().any(|i| i.contains("Rotate the secrets")));
    assert_eq!(input.open_items.last().unwrap(), "Confirm with AWS Support whether the public bucket was read during the exposure window");
    assert_eq!(input.lessons_learned, ["Why did a long-lived CI access key exist when CodeBuild can use a role?"]);
    assert_eq!(input.backlog.len(), 2);

    // All steps done: the last phase, marked complete.
    let mut done = common::sample_playbook();
    for step in &mut done.steps {
        step.status = "done".into();
    }
    let input = ReportInput::collect(firebreak_report::ReportSources { playbook_runs: vec![done], ..Default::default() });
    assert_eq!(input.playbooks[0].phase_reached, "Recovery (all steps done)");
    assert!(input.open_items.is_empty());
}

#[test]
fn missing_columns_and_odd_values_do_not_stop_collection() {
    let mut findings = TableRows::new(["level", "rule_title"]);
    findings.push_row([Some("HIGH"), None]);
    findings.push_row([Some("weird"), Some("x")]);
    findings.push_row::<String>([None, None]);
    let mut summary = TableRows::new(["dimension", "value", "count"]);
    summary.push_row([Some("principal"), Some("a"), Some("not a number")]);
    summary.push_row([Some("principal"), Some("b")]);
    let input = ReportInput::collect(firebreak_report::ReportSources { findings, summary, ..Default::default() });
    let by_level: BTreeMap<&str, u64> = input.findings_by_level.iter().map(|(l, n)| (l.as_str(), *n)).collect();
    assert_eq!(by_level["high"], 1);
    assert_eq!(by_level["weird"], 1);
    assert_eq!(by_level["unknown"], 1);
    assert_eq!(input.attacker_timeline.len(), 1, "the HIGH finding without event data still shows");
    assert_eq!(input.attacker_timeline[0].event_name, "(untitled rule)");
    assert_eq!(input.summary.principals.len(), 2);
    assert!(input.summary.principals.iter().all(|c| c.count == 0));
}

#[test]
fn evidence_scan_hashes_nested_files_and_reports_links() {
    let dir = tempfile::tempdir().unwrap();
    assert!(scan_evidence_dir(dir.path()).files.is_empty(), "no evidence folder: empty register");
    std::fs::create_dir_all(dir.path().join("evidence/disk")).unwrap();
    std::fs::write(dir.path().join("evidence/a.json"), b"{}").unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("evidence/disk/image.bin"), &big).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/hostname", dir.path().join("evidence/link")).unwrap();
    let scan = scan_evidence_dir(dir.path());
    let paths: Vec<&str> = scan.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["evidence/a.json", "evidence/disk/image.bin"]);
    assert_eq!(scan.files[1].sha256, sha256_hex(&big));
    assert_eq!(scan.files[1].bytes, 200_000);
    #[cfg(unix)]
    {
        assert_eq!(scan.errors.len(), 1);
        assert!(scan.errors[0].to_string().contains("evidence/link: symbolic link"), "{}", scan.errors[0]);
    }
}

#[test]
fn case_files_are_read_leniently() {
    let (case, _) = common::sample_sources();
    let path = case.path().join("actions.jsonl");
    let mut text = std::fs::read_to_string(&path).unwrap();
    // A torn line in the middle: the entries around it are still read.
    let second_line_end = text.match_indices('\n').nth(1).unwrap().0;
    text.insert_str(second_line_end + 1, "{\"seq\": 3, \"time\": \"torn\n");
    std::fs::write(&path, text).unwrap();
    let files = firebreak_report::read_case_files(case.path());
    assert_eq!(files.action_log.len(), 7);
    assert_eq!(files.problems.len(), 1);
    assert!(files.problems[0].contains("actions.jsonl:3: unreadable action log entry"), "{}", files.problems[0]);
    assert!(files.action_log_verified.is_err());
    assert_eq!(files.evidence.files.len(), 3);
    // A case folder with nothing in it.
    let empty = tempfile::tempdir().unwrap();
    let files = firebreak_report::read_case_files(empty.path());
    assert!(files.action_log.is_empty() && files.problems.is_empty() && files.evidence.files.is_empty());
    assert_eq!(files.action_log_verified, Ok(0));
}
