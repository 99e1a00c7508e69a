//! A realistic sample case (a leaked CI access key used to plant an admin backdoor user and
//! stop CloudTrail), built the way the CLI will build it: a hash-chained action log written in
//! the aws crate's record shape, evidence files in the case folder, findings and summary rows
//! in the store's column names, and a playbook run.
#![allow(dead_code)]

use std::path::Path;

use firebreak_evidence::{canonical_bytes, sha256_hex, ActionLog, LogEntry, GENESIS_HASH};
use firebreak_report::{scan_evidence_dir, PlaybookRunRecord, PlaybookStepRecord, ReportInput, ReportSources, TableRows};
use serde_json::{json, Value};

pub const ACCOUNT: &str = "111122223333";
pub const LEAKED_KEY: &str = "AKIAEXAMPLELEAK00001";
pub const BACKDOOR_KEY: &str = "AKIAEXAMPLEBACKDOOR1";
pub const ATTACKER_IP: &str = "203.0.113.50";
pub const CI_USER: &str = "arn:aws:iam::111122223333:user/ci-deploy";
pub const BACKDOOR_USER: &str = "arn:aws:iam::111122223333:user/backdoor-svc";
pub const RESPONDER: &str = "arn:aws:sts::111122223333:assumed-role/IncidentResponder/alice";
pub const CLI_UA: &str = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1016-aws exe/x86_64.ubuntu.22 prompt/off command/iam.create-user";
pub const BOTO_UA: &str = "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 Botocore/1.34.69";
pub const ANSWER_CREATED: &str =
    "3 events by arn:aws:iam::111122223333:user/ci-deploy from 203.0.113.50: CreateUser backdoor-svc; CreateAccessKey AKIAEXAMPLEBACKDOOR1; AttachUserPolicy AdministratorAccess";

/// Writes `records` as a hash-chained action log at `path` with the given times, exactly as
/// `ActionLog::append` would (but with chosen times), and returns the entries.
pub fn write_log(path: &Path, records: &[(&str, Value)]) -> Vec<LogEntry> {
    let mut prev = GENESIS_HASH.to_string();
    let mut entries = Vec::new();
    let mut text = String::new();
    for (i, (time, record)) in records.iter().enumerate() {
        let seq = i as u64 + 1;
        let hash = sha256_hex(&canonical_bytes(seq, time, &prev, record));
        let entry = LogEntry { seq, time: time.to_string(), prev_hash: prev.clone(), record: record.clone(), hash: hash.clone() };
        text.push_str(&serde_json::to_string(&entry).unwrap());
        text.push('\n');
        prev = hash;
        entries.push(entry);
    }
    std::fs::write(path, text).unwrap();
    entries
}

/// A step record in the shape `firebreak_aws::Responder::apply` writes.
pub fn step(step: &str, call: &str, params: Value, before: Value, result: Value, status: &str, error: Option<&str>) -> Value {
    let mut action = params.clone();
    action["step"] = json!(step);
    json!({
        "kind": "step",
        "run_id": "run-1790845923000",
        "command": "contain user ci-deploy",
        "rollback_of": null,
        "step_number": 1,
        "action": action,
        "call": call,
        "parameters": params,
        "effect": "alter",
        "identity": {"account": ACCOUNT, "arn": RESPONDER, "user_id": "AROAEXAMPLE:alice"},
        "account": ACCOUNT,
        "region": "eu-west-1",
        "before": before,
        "result": result,
        "status": status,
        "error": error,
    })
}

pub fn findings_columns() -> Vec<&'static str> {
    vec![
        "rule_id", "rule_title", "rule_author", "level", "rule_origin", "kind", "event_id", "event_time", "event_source", "event_name", "principal_arn",
        "access_key_id", "source_ip", "user_agent", "account_id", "region", "error_code", "correlation",
    ]
}

/// One finding row: (title, author, level, event id, time, source, name, principal, key, ip, ua, error).
#[allow(clippy::too_many_arguments)]
pub fn finding(t: &mut TableRows, title: &str, level: &str, id: &str, time: &str, source: &str, name: &str, principal: &str, key: &str, ua: &str) {
    t.push_row([
        Some(format!("rule-{}", title.len())),
        Some(title.to_string()),
        Some("firebreak team".to_string()),
        Some(level.to_string()),
        Some("sigma".to_string()),
        Some("event".to_string()),
        Some(id.to_string()),
        Some(time.to_string()),
        Some(source.to_string()),
        Some(name.to_string()),
        Some(principal.to_string()),
        Some(key.to_string()),
        Some(ATTACKER_IP.to_string()),
        Some(ua.to_string()),
        Some(ACCOUNT.to_string()),
        Some("eu-west-1".to_string()),
        None,
        None,
    ]);
}

pub fn sample_findings() -> TableRows {
    let mut t = TableRows::new(findings_columns());
    let iam = "iam.amazonaws.com";
    finding(&mut t, "STS GetCallerIdentity by an IAM user access key", "informational", "ev-01", "2026-10-01T01:57:10Z", "sts.amazonaws.com", "GetCallerIdentity", CI_USER, LEAKED_KEY, CLI_UA);
    finding(&mut t, "IAM permissions enumeration", "medium", "ev-02", "2026-10-01T02:04:31Z", iam, "ListAttachedUserPolicies", CI_USER, LEAKED_KEY, CLI_UA);
    finding(&mut t, "IAM user created by an access key from a new IP", "high", "ev-03", "2026-10-01T02:11:02Z", iam, "CreateUser", CI_USER, LEAKED_KEY, CLI_UA);
    finding(&mut t, "Access key created for another user", "high", "ev-04", "2026-10-01T02:11:40Z", iam, "CreateAccessKey", CI_USER, LEAKED_KEY, CLI_UA);
    finding(&mut t, "AdministratorAccess policy attached to a user", "critical", "ev-05", "2026-10-01T02:12:15Z", iam, "AttachUserPolicy", CI_USER, LEAKED_KEY, CLI_UA);
    finding(&mut t, "S3 bucket policy grants public access", "high", "ev-06", "2026-10-01T02:30:50Z", "s3.amazonaws.com", "PutBucketPolicy", BACKDOOR_USER, BACKDOOR_KEY, BOTO_UA);
    finding(&mut t, "CloudTrail logging stopped", "critical", "ev-07", "2026-10-01T02:48:03Z", "cloudtrail.amazonaws.com", "StopLogging", BACKDOOR_USER, BACKDOOR_KEY, BOTO_UA);
    finding(&mut t, "Defense evasion: trail tampering", "medium", "ev-07", "2026-10-01T02:48:03Z", "cloudtrail.amazonaws.com", "StopLogging", BACKDOOR_USER, BACKDOOR_KEY, BOTO_UA);
    finding(&mut t, "EC2 instances launched in an unused region", "medium", "ev-08", "2026-10-01T03:15:27Z", "ec2.amazonaws.com", "RunInstances", BACKDOOR_USER, BACKDOOR_KEY, BOTO_UA);
    finding(&mut t, "STS GetCallerIdentity by an IAM user access key", "informational", "ev-09", "2026-10-01T03:40:09Z", "sts.amazonaws.com", "GetCallerIdentity", BACKDOOR_USER, BACKDOOR_KEY, BOTO_UA);
    // A correlation finding over two failed calls.
    t.push_row([
        Some("corr-1".to_string()),
        Some("Burst of AccessDenied errors from one key".to_string()),
        Some("firebreak team".to_string()),
        Some("medium".to_string()),
        Some("firebreak".to_string()),
        Some("correlation".to_string()),
        None,
        Some("2026-10-01T02:06:00Z".to_string()),
        None,
        None,
        Some(CI_USER.to_string()),
        None,
        None,
        None,
        None,
        None,
        None,
        Some(json!({"group": LEAKED_KEY, "count": 2, "event_ids": ["ev-10", "ev-11"]}).to_string()),
    ]);
    t
}

pub fn sample_events() -> TableRows {
    let mut t = TableRows::new([
        "eventtime", "eventsource", "eventname", "principal", "access_key", "sourceipaddress", "useragent", "resource", "errorcode", "eventid",
    ]);
    let mut row = |time: &str, source: &str, name: &str, principal: &str, resource: &str, error: Option<&str>, id: &str| {
        t.push_row([
            Some(time.to_string()),
            Some(source.to_string()),
            Some(name.to_string()),
            Some(principal.to_string()),
            Some(LEAKED_KEY.to_string()),
            Some(ATTACKER_IP.to_string()),
            Some(CLI_UA.to_string()),
            Some(resource.to_string()),
            error.map(str::to_string),
            Some(id.to_string()),
        ])
    };
    row("2026-10-01T02:11:02Z", "iam.amazonaws.com", "CreateUser", CI_USER, BACKDOOR_USER, None, "ev-03");
    row("2026-10-01T02:11:40Z", "iam.amazonaws.com", "CreateAccessKey", CI_USER, BACKDOOR_KEY, None, "ev-04");
    row("2026-10-01T02:12:15Z", "iam.amazonaws.com", "AttachUserPolicy", CI_USER, "arn:aws:iam::aws:policy/AdministratorAccess", None, "ev-05");
    row("2026-10-01T02:30:50Z", "s3.amazonaws.com", "PutBucketPolicy", BACKDOOR_USER, "arn:aws:s3:::acme-customer-exports", None, "ev-06");
    row("2026-10-01T02:48:03Z", "cloudtrail.amazonaws.com", "StopLogging", BACKDOOR_USER, "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail", None, "ev-07");
    row("2026-10-01T03:15:27Z", "ec2.amazonaws.com", "RunInstances", BACKDOOR_USER, "arn:aws:ec2:ap-southeast-2:111122223333:instance/i-0abc123def4567890", None, "ev-08");
    row("2026-10-01T02:05:40Z", "secretsmanager.amazonaws.com", "GetSecretValue", CI_USER, "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db", Some("AccessDenied"), "ev-10");
    row("2026-10-01T02:05:58Z", "kms.amazonaws.com", "Decrypt", CI_USER, "arn:aws:kms:eu-west-1:111122223333:key/1234abcd", Some("AccessDenied"), "ev-11");
    t
}

pub fn sample_summary() -> TableRows {
    let mut t = TableRows::new(["dimension", "value", "count", "errors", "first_seen", "last_seen"]);
    let mut row = |d: &str, v: &str, c: u64, first: &str, last: &str| {
        t.push_row([Some(d.to_string()), Some(v.to_string()), Some(c.to_string()), Some("0".to_string()), Some(first.to_string()), Some(last.to_string())])
    };
    row("principal", CI_USER, 1834, "2026-09-30T22:00:03Z", "2026-10-01T02:12:15Z");
    row("principal", BACKDOOR_USER, 41, "2026-10-01T02:29:57Z", "2026-10-01T03:40:09Z");
    row("principal", "arn:aws:sts::111122223333:assumed-role/OrganizationAccountAccessRole/ops", 5120, "2026-09-30T22:00:00Z", "2026-10-01T09:59:58Z");
    row("access_key", LEAKED_KEY, 1834, "2026-09-30T22:00:03Z", "2026-10-01T02:12:15Z");
    row("access_key", BACKDOOR_KEY, 41, "2026-10-01T02:29:57Z", "2026-10-01T03:40:09Z");
    row("sourceipaddress", "198.51.100.7", 5120, "2026-09-30T22:00:00Z", "2026-10-01T09:59:58Z");
    row("sourceipaddress", ATTACKER_IP, 318, "2026-10-01T01:57:10Z", "2026-10-01T03:40:09Z");
    row("sourceipaddress", "codebuild.amazonaws.com", 1557, "2026-09-30T22:00:03Z", "2026-10-01T01:40:00Z");
    row("useragent", CLI_UA, 277, "2026-10-01T01:57:10Z", "2026-10-01T02:12:15Z");
    row("useragent", BOTO_UA, 41, "2026-10-01T02:29:57Z", "2026-10-01T03:40:09Z");
    row("awsregion", "eu-west-1", 6960, "2026-09-30T22:00:00Z", "2026-10-01T09:59:58Z");
    row("awsregion", "ap-southeast-2", 35, "2026-10-01T03:15:27Z", "2026-10-01T03:19:02Z");
    row("account", ACCOUNT, 6995, "2026-09-30T22:00:00Z", "2026-10-01T09:59:58Z");
    row("eventname", "AssumeRole", 4000, "2026-09-30T22:00:00Z", "2026-10-01T09:59:58Z");
    row("eventname", "GetObject", 2995, "2026-09-30T22:00:00Z", "2026-10-01T09:59:58Z");
    t
}

pub fn sample_playbook() -> PlaybookRunRecord {
    let s = |id: &str, phase: &str, kind: &str, title: &str, status: &str| PlaybookStepRecord {
        id: id.into(),
        phase: phase.into(),
        kind: kind.into(),
        title: title.into(),
        status: status.into(),
        operator: Some("alice@example.com".into()),
        time: Some("2026-10-01T09:05:00Z".into()),
        ..Default::default()
    };
    let mut created = s("what-created", "detection_and_analysis", "question", "What did the attacker create?", "done");
    created.question = Some("Which IAM users, keys and policy attachments did the compromised key create?".into());
    created.answer = Some(ANSWER_CREATED.into());
    let mut who = s("who-used", "detection_and_analysis", "question", "Who used the key?", "done");
    who.question = Some("Which principals and source IPs used the leaked key?".into());
    who.answer = Some("1 principal (arn:aws:iam::111122223333:user/ci-deploy) from 2 IPs: codebuild.amazonaws.com (1557 events), 203.0.113.50 (277 events)".into());
    who.operator = Some("automatic".into());
    let mut decide = s("environment", "containment_and_eradication", "decision", "Production account?", "done");
    decide.choice = Some("production".into());
    decide.reason = Some("fact environment = production (case.json)".into());
    let mut notify = s("notify-dpo", "containment_and_eradication", "manual", "Notify the data protection officer", "open");
    notify.who = Some("legal".into());
    let rotate = s("rotate-secrets", "recovery", "manual", "Rotate the secrets the CI user could read", "open");
    PlaybookRunRecord {
        id: "iam-credential-compromise".into(),
        title: "IAM credential compromise".into(),
        steps: vec![
            s("detect", "detection_and_analysis", "detect", "Run the credential-abuse rules", "done"),
            who,
            created,
            decide,
            s("disable-key", "containment_and_eradication", "action", "Deactivate the leaked key", "done"),
            notify,
            rotate,
        ],
        lessons_learned: vec!["Why did a long-lived CI access key exist when CodeBuild can use a role?".into()],
        backlog: vec!["Replace CI access keys with OIDC federation".into(), "Alert on StopLogging within 5 minutes".into()],
    }
}

/// The whole sample: a case folder (kept alive by the returned TempDir) and its sources.
pub fn sample_sources() -> (tempfile::TempDir, ReportSources) {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path();
    std::fs::create_dir_all(case.join("evidence")).unwrap();
    let user_doc = serde_json::to_vec_pretty(&json!({"user": {"user_name": "ci-deploy", "arn": CI_USER}, "access_keys": [{"id": LEAKED_KEY, "status": "Active"}]})).unwrap();
    std::fs::write(case.join("evidence/user-ci-deploy.json"), &user_doc).unwrap();
    let backdoor_doc = serde_json::to_vec_pretty(&json!({"user": {"user_name": "backdoor-svc", "arn": BACKDOOR_USER}, "attached_policies": [{"name": "AdministratorAccess"}]})).unwrap();
    std::fs::write(case.join("evidence/user-backdoor-svc.json"), &backdoor_doc).unwrap();
    std::fs::write(case.join("evidence/analyst-notes.txt"), b"Slack thread with the CI owner, exported 09:30.\n").unwrap();
    let evidence_record = |path: &str, bytes: &[u8]| json!({"evidence_file": case.join(path), "sha256": sha256_hex(bytes), "bytes": bytes.len()});
    let records = vec![
        ("2026-10-01T09:12:03.481Z", step("CaptureUserMetadata", "iam:GetUser", json!({"user_name": "ci-deploy"}), Value::Null, evidence_record("evidence/user-ci-deploy.json", &user_doc), "applied", None)),
        (
            "2026-10-01T09:12:30.102Z",
            step(
                "SetAccessKeyStatus",
                "iam:UpdateAccessKey",
                json!({"user_name": "ci-deploy", "access_key_id": LEAKED_KEY, "status": "Inactive"}),
                json!({"status": "Active"}),
                json!({"status": "Inactive"}),
                "applied",
                None,
            ),
        ),
        ("2026-10-01T09:13:02.877Z", step("CaptureUserMetadata", "iam:GetUser", json!({"user_name": "backdoor-svc"}), Value::Null, evidence_record("evidence/user-backdoor-svc.json", &backdoor_doc), "applied", None)),
        (
            "2026-10-01T09:13:40.500Z",
            step(
                "SetAccessKeyStatus",
                "iam:UpdateAccessKey",
                json!({"user_name": "backdoor-svc", "access_key_id": BACKDOOR_KEY, "status": "Inactive"}),
                json!({"status": "Active"}),
                json!({"status": "Inactive"}),
                "applied",
                None,
            ),
        ),
        (
            "2026-10-01T09:14:10.000Z",
            step(
                "DetachUserPolicy",
                "iam:DetachUserPolicy",
                json!({"user_name": "backdoor-svc", "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
                json!({"attached": true}),
                json!({"detached": "arn:aws:iam::aws:policy/AdministratorAccess"}),
                "applied",
                None,
            ),
        ),
        (
            "2026-10-01T09:15:00.000Z",
            step("StartLogging", "cloudtrail:StartLogging", json!({"trail_name": "org-trail"}), json!({"is_logging": false}), json!({"is_logging": true}), "applied", None),
        ),
        (
            "2026-10-01T09:16:20.000Z",
            step(
                "DeleteLoginProfile",
                "iam:DeleteLoginProfile",
                json!({"user_name": "ci-deploy"}),
                json!({"exists": true, "created": "2025-02-11T10:00:00Z"}),
                Value::Null,
                "failed",
                Some("AccessDenied: User: arn:aws:sts::111122223333:assumed-role/IncidentResponder/alice is not authorized to perform: iam:DeleteLoginProfile"),
            ),
        ),
    ];
    let log_path = case.join("actions.jsonl");
    write_log(&log_path, &records);
    let log = ActionLog::at(&log_path);
    let verified = log.verify().map_err(|e| e.to_string());
    let scan = scan_evidence_dir(case);
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
    let sources = ReportSources {
        case_name: "acme-2026-10-ci-key-leak".into(),
        generated_at: "2026-10-02T08:00:00Z".into(),
        generated_by: "firebreak 0.1.0 (alice@example.com)".into(),
        summary: sample_summary(),
        total_events: Some(6995),
        findings: sample_findings(),
        events: sample_events(),
        action_log: log.entries().unwrap(),
        action_log_verified: Some(verified),
        evidence_files: scan.files,
        playbook_runs: vec![sample_playbook()],
        open_items: vec!["Confirm with AWS Support whether the public bucket was read during the exposure window".into()],
        lessons_learned: vec![],
        backlog: vec![],
        top_n: 10,
    };
    (dir, sources)
}

pub fn sample_input() -> (tempfile::TempDir, ReportInput) {
    let (dir, sources) = sample_sources();
    (dir, ReportInput::collect(sources))
}
