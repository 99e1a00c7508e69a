//! The playbook runner over a fake case backend (canned query results, counted calls) and
//! a scripted operator: full non-interactive runs of shipped playbooks, decisions on
//! facts, resume after an interruption, a torn log line, `${steps...}` substitution and
//! the action plan / apply / decline paths.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use firebreak_playbooks::model::FactDecl;
use firebreak_playbooks::model::RuleSelector;
use firebreak_playbooks::run::{list_runs, RunRecord, StepRecord};
use firebreak_playbooks::{
    builtin_playbook_files, parse_playbook, run_playbook, ActionOutcome, BackendError, CaseBackend,
    DetectOutcome, Limits, ManualAnswer, ManualStatus, Operator, Playbook, RuleHits, RunError,
    RunOptions, RunProgress, RunState, RunSummary, Step, StepKind, StepStatus, StepTable,
};

fn shipped(id: &str) -> Playbook {
    let (name, text) = builtin_playbook_files()
        .iter()
        .find(|(name, _)| name.trim_end_matches(".yaml") == id)
        .unwrap_or_else(|| panic!("no shipped playbook {id}"));
    parse_playbook(name, text, &Limits::default())
        .expect("shipped playbook parses")
        .playbook
}

fn table(columns: &[&str], rows: &[&[&str]]) -> StepTable {
    StepTable {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows: rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| (!c.is_empty()).then(|| c.to_string()))
                    .collect()
            })
            .collect(),
    }
}

/// One backend call.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Call {
    what: String,
    name: String,
    params: BTreeMap<String, String>,
}

/// A canned result: query name, an optional parameter that must have a value, the table.
type Canned = (String, Option<(String, String)>, StepTable);

/// Canned answers: the first rule whose query name matches and whose parameter (if any)
/// has the given value wins; otherwise an empty table.
#[derive(Default)]
struct FakeBackend {
    tables: Vec<Canned>,
    hits: Vec<RuleHits>,
    calls: Vec<Call>,
    /// Interrupt at this (0-based) call number.
    interrupt_at: Option<usize>,
    /// Fail (not interrupt) the calls at these numbers.
    fail_at: Vec<usize>,
    /// Fail applying an action with these parameter values.
    fail_apply_for: Vec<String>,
}

impl FakeBackend {
    fn on(mut self, query: &str, param: Option<(&str, &str)>, t: StepTable) -> Self {
        self.tables.push((
            query.to_string(),
            param.map(|(k, v)| (k.to_string(), v.to_string())),
            t,
        ));
        self
    }

    fn call(
        &mut self,
        what: &str,
        name: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<(), BackendError> {
        let n = self.calls.len();
        self.calls.push(Call {
            what: what.to_string(),
            name: name.to_string(),
            params: params.clone(),
        });
        if self.interrupt_at == Some(n) {
            return Err(BackendError::Interrupted("operator pressed Ctrl-C".into()));
        }
        if self.fail_at.contains(&n) {
            return Err(BackendError::Failed("the case store is busy".into()));
        }
        Ok(())
    }

    fn count(&self, what: &str) -> usize {
        self.calls.iter().filter(|c| c.what == what).count()
    }
}

impl CaseBackend for FakeBackend {
    fn query(
        &mut self,
        name: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<StepTable, BackendError> {
        self.call("query", name, params)?;
        for (q, param, t) in &self.tables {
            let param_ok = param
                .as_ref()
                .is_none_or(|(k, v)| params.get(k).is_some_and(|have| have == v));
            if q == name && param_ok {
                return Ok(t.clone());
            }
        }
        Ok(StepTable::new(vec!["eventtime".into(), "eventname".into()]))
    }

    fn detect(&mut self, rules: &[RuleSelector]) -> Result<DetectOutcome, BackendError> {
        self.call(
            "detect",
            &format!("{} selectors", rules.len()),
            &BTreeMap::new(),
        )?;
        Ok(DetectOutcome {
            rules_run: rules.len() * 3,
            hits: self.hits.clone(),
        })
    }

    fn plan_action(
        &mut self,
        action: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<ActionOutcome, BackendError> {
        self.call("plan", action, params)?;
        Ok(ActionOutcome {
            summary: format!("would run {action} with {params:?}"),
            details: vec!["one API call".into()],
        })
    }

    fn apply_action(
        &mut self,
        action: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<ActionOutcome, BackendError> {
        self.call("apply", action, params)?;
        if params.values().any(|v| self.fail_apply_for.contains(v)) {
            return Err(BackendError::Failed("AccessDenied".into()));
        }
        Ok(ActionOutcome {
            summary: format!("ran {action}"),
            details: Vec::new(),
        })
    }
}

/// A scripted operator.
#[derive(Default)]
struct Scripted {
    confirm: VecDeque<bool>,
    manual: BTreeMap<String, ManualStatus>,
    answers: BTreeMap<String, String>,
    facts: BTreeMap<String, String>,
    asked_facts: Vec<String>,
    confirms_asked: usize,
}

impl Operator for Scripted {
    fn confirm_action(&mut self, _: &Step, plan: &ActionOutcome) -> bool {
        assert!(plan.summary.starts_with("would run"), "{plan:?}");
        self.confirms_asked += 1;
        self.confirm.pop_front().unwrap_or(false)
    }
    fn manual_step(&mut self, step: &Step) -> ManualAnswer {
        ManualAnswer {
            status: self
                .manual
                .get(&step.id)
                .copied()
                .unwrap_or(ManualStatus::NotDone),
            notes: Some(format!("notes for {}", step.id)),
        }
    }
    fn answer_question(
        &mut self,
        step: &Step,
        automatic: &str,
        evidence: &[StepTable],
    ) -> Option<String> {
        assert_eq!(evidence.len(), step.queries.len());
        assert!(!automatic.is_empty());
        self.answers.get(&step.id).cloned()
    }
    fn provide_fact(&mut self, name: &str, _: &FactDecl) -> Option<String> {
        self.asked_facts.push(name.to_string());
        self.facts.get(name).cloned()
    }
}

fn facts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn non_interactive(pairs: &[(&str, &str)]) -> RunOptions {
    RunOptions {
        non_interactive: true,
        apply_actions: false,
        operator: "analyst@example.com".into(),
        facts: facts(pairs),
        max_recorded_rows: 200,
    }
}

fn run(
    playbook: &Playbook,
    case: &Path,
    backend: &mut FakeBackend,
    operator: &mut Scripted,
    opts: &RunOptions,
) -> Result<(RunSummary, Vec<RunProgress>), RunError> {
    let mut seen = Vec::new();
    let summary = run_playbook(playbook, case, backend, operator, opts, &mut |p| {
        seen.push(p.clone())
    })?;
    Ok((summary, seen))
}

fn state(case: &Path, id: &str) -> RunState {
    RunState::load(case, id)
        .expect("log readable")
        .expect("log exists")
}

fn status(state: &RunState, step: &str) -> StepStatus {
    state
        .step(step)
        .unwrap_or_else(|| panic!("no record of {step}"))
        .status
}

fn step_records(case: &Path, id: &str) -> Vec<StepRecord> {
    let text =
        std::fs::read_to_string(case.join("playbooks").join(id).join("run.jsonl")).expect("log");
    text.lines()
        .filter_map(|l| serde_json::from_str::<RunRecord>(l).ok())
        .filter_map(|r| match r {
            RunRecord::Step(s) => Some(*s),
            _ => None,
        })
        .collect()
}

const ATTACKER: &str = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0a1b/mallory";
const APP: &str = "5f1c2a9e-1111-4c4c-9d9d-aaaaaaaaaaaa";
const PLUGIN: &str = "7e2d3b8f-2222-4d4d-8e8e-bbbbbbbbbbbb";

/// The Amazon Q events of `simulate --scenarios all`, as the queries return them.
fn amazon_q_backend() -> FakeBackend {
    let create_app = r#"{"displayName":"it-helpdesk-assistant","clientToken":"tok-1"}"#.to_string();
    let create_plugin = format!(
        r#"{{"applicationId":"{APP}","displayName":"ticket-sync","serverUrl":"https://hooks.example.net/ingest","clientToken":"tok-2"}}"#
    );
    FakeBackend {
        hits: vec![
            RuleHits {
                rule_id: "q-app".into(),
                rule_title: "Q Business application created".into(),
                level: "medium".into(),
                count: 1,
            },
            RuleHits {
                rule_id: "q-plugin".into(),
                rule_title: "Q Business custom plugin".into(),
                level: "high".into(),
                count: 2,
            },
        ],
        ..FakeBackend::default()
    }
    .on(
        "resources",
        None,
        table(
            &[
                "eventtime",
                "change",
                "resource",
                "resource_type",
                "principal",
                "eventname",
                "eventid",
                "eventsource",
            ],
            &[
                &[
                    "2026-10-01T01:57:10Z",
                    "created",
                    &format!("arn:aws:qbusiness:us-east-1:111122223333:application/{APP}"),
                    "application",
                    ATTACKER,
                    "CreateApplication",
                    "e1",
                    "qbusiness.amazonaws.com",
                ],
                &[
                    "2026-10-01T02:01:10Z",
                    "created",
                    PLUGIN,
                    "plugin",
                    ATTACKER,
                    "CreatePlugin",
                    "e2",
                    "qbusiness.amazonaws.com",
                ],
                &[
                    "2026-10-01T02:20:00Z",
                    "deleted",
                    "0000-legit-app",
                    "application",
                    ATTACKER,
                    "DeleteApplication",
                    "e3",
                    "qbusiness.amazonaws.com",
                ],
            ],
        ),
    )
    .on(
        "sql",
        None,
        table(
            &[
                "eventtime",
                "eventname",
                "useridentity.arn",
                "requestparameters",
            ],
            &[
                &[
                    "2026-10-01T01:57:10Z",
                    "CreateApplication",
                    ATTACKER,
                    &create_app,
                ],
                &[
                    "2026-10-01T02:01:10Z",
                    "CreatePlugin",
                    ATTACKER,
                    &create_plugin,
                ],
            ],
        ),
    )
    .on(
        "timeline",
        Some(("event_source", "q.amazonaws.com")),
        table(
            &[
                "eventtime",
                "eventsource",
                "eventname",
                "principal",
                "access_key",
                "sourceipaddress",
                "useragent",
                "resource",
                "errorcode",
            ],
            &[
                &[
                    "2026-10-01T02:30:00Z",
                    "q.amazonaws.com",
                    "StartConversation",
                    ATTACKER,
                    "ASIAEXAMPLE",
                    "203.0.113.7",
                    "AmazonQ-For-VSCode/1.0",
                    "",
                    "",
                ],
                &[
                    "2026-10-01T02:31:00Z",
                    "q.amazonaws.com",
                    "SendMessage",
                    ATTACKER,
                    "ASIAEXAMPLE",
                    "203.0.113.7",
                    "AmazonQ-For-VSCode/1.0",
                    "",
                    "",
                ],
            ],
        ),
    )
    .on(
        "timeline",
        Some(("event_name", "CreateUser")),
        table(
            &[
                "eventtime",
                "eventsource",
                "eventname",
                "principal",
                "access_key",
                "sourceipaddress",
                "useragent",
                "resource",
                "errorcode",
            ],
            &[&[
                "2026-10-01T02:40:00Z",
                "iam.amazonaws.com",
                "CreateUser",
                ATTACKER,
                "ASIAEXAMPLE",
                "203.0.113.7",
                "Boto3/1.34",
                "q-helper",
                "",
            ]],
        ),
    )
    .on(
        "timeline",
        Some(("event_name", "CreateRole")),
        StepTable::new(vec!["resource".into()]),
    )
    .on(
        "timeline",
        Some(("event_name", "CreatePolicy")),
        StepTable::new(vec!["resource".into()]),
    )
    .on(
        "timeline",
        Some(("principal", ATTACKER)),
        table(
            &[
                "eventtime",
                "eventsource",
                "eventname",
                "principal",
                "access_key",
                "sourceipaddress",
                "useragent",
                "resource",
                "errorcode",
            ],
            &[&[
                "2026-10-01T01:57:10Z",
                "qbusiness.amazonaws.com",
                "CreateApplication",
                ATTACKER,
                "ASIAEXAMPLE",
                "203.0.113.7",
                "Boto3/1.34",
                "",
                "",
            ]],
        ),
    )
}

const Q_FACTS: &[(&str, &str)] = &[
    ("incident_start", "2026-10-01T00:00:00Z"),
    ("suspect_principal", ATTACKER),
    ("suspect_access_key", "ASIAEXAMPLE"),
    ("q_application_id", APP),
    ("account_environment", "production"),
];

#[test]
fn amazon_q_non_interactive_run_records_every_automatic_step_and_lists_manual_ones() {
    let case = tempfile::tempdir().expect("tempdir");
    let pb = shipped("amazon-q");
    let mut backend = amazon_q_backend();
    let (summary, progress) = run(
        &pb,
        case.path(),
        &mut backend,
        &mut Scripted::default(),
        &non_interactive(Q_FACTS),
    )
    .expect("runs");

    // Progress: every step reported starting then ending, in order.
    let total = pb.steps().count();
    let ends: Vec<&RunProgress> = progress.iter().filter(|p| p.status.is_some()).collect();
    assert_eq!(ends.len(), total);
    assert!(ends
        .iter()
        .enumerate()
        .all(|(i, p)| p.position == i + 1 && p.total == total));
    assert_eq!(ends[2].phase.key(), "detection_and_analysis");
    // The description of remove-users shows q1's answer once q1 is done.
    let remove_users = progress
        .iter()
        .find(|p| p.step_id == "remove-users")
        .and_then(|p| p.detail.clone())
        .expect("detail");
    assert!(
        remove_users.starts_with("Use the answer of resources: 3 events")
            && !remove_users.contains("${"),
        "{remove_users}"
    );

    let st = state(case.path(), "amazon-q");
    assert_eq!(st.steps.len(), total, "every step has a record");
    for (_, step) in pb.steps() {
        let s = status(&st, &step.id);
        match step.kind {
            StepKind::Detect | StepKind::Query | StepKind::Question | StepKind::Decision => {
                assert_eq!(
                    s,
                    StepStatus::Done,
                    "{} {:?}",
                    step.id,
                    st.step(&step.id).map(|s| &s.reason)
                )
            }
            StepKind::Manual => {
                // remove-parts is behind a decision that chose delete-app.
                let expect = if step.id == "remove-parts" {
                    StepStatus::Skipped
                } else {
                    StepStatus::Open
                };
                assert_eq!(s, expect, "{}", step.id);
            }
            StepKind::Action => {}
        }
    }
    // The Q-abuse answer names the planted events, ids and principal.
    let q1 = st
        .step("q1-resources")
        .and_then(|s| s.answer.clone())
        .expect("q1 answer");
    for expected in [
        "CreateApplication",
        "CreatePlugin",
        "DeleteApplication",
        APP,
        PLUGIN,
        ATTACKER,
    ] {
        assert!(q1.contains(expected), "{expected} not in {q1}");
    }
    let q2 = st
        .step("q2-plugins")
        .and_then(|s| s.answer.clone())
        .expect("q2 answer");
    assert!(
        q2.contains("ticket-sync") && q2.contains("hooks.example.net") && q2.contains(APP),
        "{q2}"
    );
    let q6 = st
        .step("q6-ide-access")
        .and_then(|s| s.answer.clone())
        .expect("q6 answer");
    assert!(
        q6.contains("203.0.113.7")
            && q6.contains("AmazonQ-For-VSCode/1.0")
            && q6.contains("SendMessage"),
        "{q6}"
    );
    // Declared outputs hold the distinct column values.
    let q6_outputs = &st.step("q6-ide-access").expect("q6").outputs;
    assert_eq!(
        q6_outputs.get("sourceipaddress"),
        Some(&vec!["203.0.113.7".to_string()])
    );

    // Detect recorded its findings.
    let detect = st.step("run-q-rules").expect("detect");
    assert_eq!(detect.outputs.get("count"), Some(&vec!["3".to_string()]));
    assert_eq!(detect.last.detect.as_ref().map(|d| d.findings), Some(3));

    // Decisions: the intruder created the application -> delete it; one IAM user, no
    // roles or policies.
    let apps = st
        .step("remove-app-or-parts")
        .and_then(|s| s.last.decision.clone())
        .expect("decision");
    assert_eq!(apps.branch, Some(0));
    assert_eq!(apps.chosen, vec!["delete-app".to_string()]);
    assert_eq!(
        apps.facts_used.get("q_application_id"),
        Some(&Some(APP.to_string()))
    );
    assert_eq!(status(&st, "delete-app"), StepStatus::Planned);
    for (id, decision) in [
        ("eradicate-role", "remove-iam-roles"),
        ("eradicate-policy", "remove-iam-policies"),
    ] {
        assert_eq!(status(&st, id), StepStatus::Skipped, "{id}");
        let reason = st
            .step(id)
            .and_then(|s| s.reason.clone())
            .unwrap_or_default();
        assert!(
            reason.contains(decision) && reason.contains("count = 0"),
            "{reason}"
        );
    }
    assert_eq!(status(&st, "eradicate-user"), StepStatus::Planned);
    let user = &st.step("eradicate-user").expect("step").last.actions;
    assert_eq!(user.len(), 1);
    assert_eq!(
        user[0].params.get("user_name").map(String::as_str),
        Some("q-helper")
    );
    // Actions were planned, never applied.
    assert_eq!(status(&st, "rotate-key"), StepStatus::Planned);
    assert_eq!(backend.count("apply"), 0);
    assert_eq!(backend.count("plan"), 3);
    let rotate = &st.step("rotate-key").expect("rotate").last.actions[0];
    assert_eq!(
        rotate.params.get("access_key_id").map(String::as_str),
        Some("ASIAEXAMPLE")
    );
    assert!(!rotate.applied && rotate.plan.is_some());

    // The summary lists the manual steps left.
    let manual: Vec<&str> = summary.manual_open().map(|s| s.id.as_str()).collect();
    assert_eq!(
        manual,
        [
            "inventory-q",
            "trail-covers-q",
            "rotate-secrets",
            "remove-users",
            "restore-controls",
            "data-impact",
            "scp-for-q"
        ]
    );
    assert_eq!(summary.counts.planned, 3);
    assert_eq!(summary.counts.skipped, 3);
    let overview = st.overview();
    assert_eq!(overview.current_phase.map(|p| p.key()), Some("preparation"));
    assert_eq!(overview.manual_open.len(), 7);
    assert!(st.finished);

    // Every record has time and operator; queries record rows and counts.
    for rec in step_records(case.path(), "amazon-q") {
        assert_eq!(rec.operator, "analyst@example.com");
        assert!(rec.time.parse::<jiff::Timestamp>().is_ok(), "{}", rec.time);
    }
    let q1rec = &st.step("q1-resources").expect("q1").last.queries[0];
    assert_eq!(
        (q1rec.row_count, q1rec.rows.len(), q1rec.truncated),
        (3, 3, false)
    );
    assert_eq!(
        q1rec.params.get("since").map(String::as_str),
        Some("2026-10-01T00:00:00Z")
    );
}

fn iam_backend() -> FakeBackend {
    FakeBackend::default()
        .on(
            "timeline",
            Some(("access_key", "AKIAEXAMPLEKEY")),
            table(
                &[
                    "eventtime",
                    "eventsource",
                    "eventname",
                    "principal",
                    "access_key",
                    "sourceipaddress",
                    "useragent",
                    "resource",
                    "errorcode",
                ],
                &[
                    &[
                        "2026-10-01T01:00:00Z",
                        "sts.amazonaws.com",
                        "GetCallerIdentity",
                        "arn:aws:iam::111122223333:user/ci-deploy",
                        "AKIAEXAMPLEKEY",
                        "198.51.100.9",
                        "curl",
                        "",
                        "",
                    ],
                    &[
                        "2026-10-01T01:05:00Z",
                        "iam.amazonaws.com",
                        "CreateUser",
                        "arn:aws:iam::111122223333:user/ci-deploy",
                        "AKIAEXAMPLEKEY",
                        "198.51.100.10",
                        "curl",
                        "backdoor",
                        "",
                    ],
                    &[
                        "2026-10-01T01:06:00Z",
                        "iam.amazonaws.com",
                        "CreateUser",
                        "arn:aws:iam::111122223333:user/ci-deploy",
                        "AKIAEXAMPLEKEY",
                        "198.51.100.9",
                        "curl",
                        "backdoor2",
                        "",
                    ],
                ],
            ),
        )
        .on(
            "resources",
            None,
            table(
                &[
                    "eventtime",
                    "change",
                    "resource",
                    "resource_type",
                    "principal",
                    "eventname",
                ],
                &[
                    &[
                        "2026-10-01T01:05:00Z",
                        "created",
                        "backdoor",
                        "user",
                        "arn:aws:iam::111122223333:user/ci-deploy",
                        "CreateUser",
                    ],
                    &[
                        "2026-10-01T01:06:00Z",
                        "created",
                        "backdoor2",
                        "user",
                        "arn:aws:iam::111122223333:user/ci-deploy",
                        "CreateUser",
                    ],
                    &[
                        "2026-10-01T01:07:00Z",
                        "created",
                        "backdoor",
                        "user",
                        "arn:aws:iam::111122223333:user/ci-deploy",
                        "CreateLoginProfile",
                    ],
                ],
            ),
        )
        .on(
            "timeline",
            Some(("ip", "198.51.100.9,198.51.100.10")),
            table(
                &[
                    "eventtime",
                    "eventsource",
                    "eventname",
                    "principal",
                    "access_key",
                    "sourceipaddress",
                    "useragent",
                    "resource",
                    "errorcode",
                ],
                &[&[
                    "2026-10-01T01:00:00Z",
                    "sts.amazonaws.com",
                    "AssumeRole",
                    "ops-admin",
                    "AKIAOTHER",
                    "198.51.100.9",
                    "curl",
                    "",
                    "",
                ]],
            ),
        )
}

const IAM_FACTS: &[(&str, &str)] = &[
    ("incident_start", "2026-10-01T00:00:00Z"),
    ("access_key_id", "AKIAEXAMPLEKEY"),
    ("user_name", "ci-deploy"),
];

fn with_env(env: &str) -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> =
        IAM_FACTS.iter().map(|(k, v)| (*k, v.to_string())).collect();
    v.push(("account_environment", env.to_string()));
    v
}

fn opts_from(pairs: &[(&'static str, String)]) -> RunOptions {
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    non_interactive(&borrowed)
}

#[test]
fn decisions_branch_on_the_environment() {
    let prod_case = tempfile::tempdir().expect("tempdir");
    let dev_case = tempfile::tempdir().expect("tempdir");
    let pb = shipped("iam-credential-compromise");
    run(
        &pb,
        prod_case.path(),
        &mut iam_backend(),
        &mut Scripted::default(),
        &opts_from(&with_env("production")),
    )
    .expect("prod run");
    run(
        &pb,
        dev_case.path(),
        &mut iam_backend(),
        &mut Scripted::default(),
        &opts_from(&with_env("development")),
    )
    .expect("dev run");
    let prod = state(prod_case.path(), &pb.id);
    let dev = state(dev_case.path(), &pb.id);

    assert_eq!(
        status(&prod, "replace-key-first"),
        StepStatus::Open,
        "chosen manual step waits for the workload owners"
    );
    assert_eq!(status(&prod, "delete-key"), StepStatus::Skipped);
    assert_eq!(status(&dev, "replace-key-first"), StepStatus::Skipped);
    assert_eq!(status(&dev, "delete-key"), StepStatus::Planned);

    let prod_decision = prod
        .step("workload-dependence")
        .and_then(|s| s.last.decision.clone())
        .expect("decision");
    assert_eq!(prod_decision.branch, Some(0));
    assert_eq!(
        prod_decision.facts_used.get("account_environment"),
        Some(&Some("production".into()))
    );
    assert!(
        prod_decision
            .explanation
            .contains("account_environment = production"),
        "{}",
        prod_decision.explanation
    );
    let dev_decision = dev
        .step("workload-dependence")
        .and_then(|s| s.last.decision.clone())
        .expect("decision");
    assert_eq!(dev_decision.branch, None);
    assert_eq!(dev_decision.chosen, vec!["delete-key".to_string()]);
    assert_eq!(
        dev.step("workload-dependence")
            .and_then(|s| s.outputs.get("choice").cloned()),
        Some(vec!["delete-key".to_string()])
    );
    let skipped_reason = prod
        .step("delete-key")
        .and_then(|s| s.reason.clone())
        .expect("reason");
    assert!(
        skipped_reason.contains("workload-dependence") && skipped_reason.contains("production"),
        "{skipped_reason}"
    );
}

#[test]
fn step_outputs_are_substituted_and_actions_fan_out_per_value() {
    let case = tempfile::tempdir().expect("tempdir");
    let pb = shipped("iam-credential-compromise");
    let mut backend = iam_backend();
    run(
        &pb,
        case.path(),
        &mut backend,
        &mut Scripted::default(),
        &opts_from(&with_env("development")),
    )
    .expect("runs");
    let st = state(case.path(), &pb.id);

    // key-timeline's distinct principal feeds the anomalies and resources queries.
    let anomalies = &st.step("key-anomalies").expect("step").last.queries[0];
    assert_eq!(
        anomalies.params.get("principal").map(String::as_str),
        Some("arn:aws:iam::111122223333:user/ci-deploy")
    );
    // Two distinct IPs, first-seen order, joined with ','.
    let other = &st.step("other-ips").expect("step").last.queries[0];
    assert_eq!(
        other.params.get("ip").map(String::as_str),
        Some("198.51.100.9,198.51.100.10")
    );
    assert_eq!(
        st.step("other-ips").expect("step").outputs.get("principal"),
        Some(&vec!["ops-admin".to_string()])
    );
    // One eradicate-user plan per distinct created resource.
    let users = &st.step("remove-created-users").expect("step").last.actions;
    let names: Vec<&str> = users
        .iter()
        .filter_map(|a| a.params.get("user_name").map(String::as_str))
        .collect();
    assert_eq!(names, ["backdoor", "backdoor2"]);
    // Revoking other roles' sessions is a manual step now: its description names the
    // principals seen from the attacker's IPs.
    let revoke = st.step("revoke-other").expect("step");
    assert!(revoke.last.actions.is_empty());
    assert_eq!(revoke.kind, firebreak_playbooks::StepKind::Manual);
    // The query in recovery reuses the same output.
    let watch = &st.step("watch-key").expect("step").last.queries[0];
    assert_eq!(
        watch.params.get("ip").map(String::as_str),
        Some("198.51.100.9,198.51.100.10")
    );
    // count and rows outputs.
    let kt = st.step("key-timeline").expect("step");
    assert_eq!(kt.outputs.get("count"), Some(&vec!["3".to_string()]));
    let rows: serde_json::Value =
        serde_json::from_str(&kt.outputs["rows"][0]).expect("rows is JSON");
    assert_eq!(rows[1]["resource"], "backdoor");
}

#[test]
fn sql_parameters_quote_substituted_values() {
    let case = tempfile::tempdir().expect("tempdir");
    let pb = shipped("amazon-q");
    let mut backend = amazon_q_backend();
    let mut f: Vec<(&str, &str)> = Q_FACTS.to_vec();
    f[0] = ("incident_start", "2026-10-01' OR '1'='1");
    run(
        &pb,
        case.path(),
        &mut backend,
        &mut Scripted::default(),
        &non_interactive(&f),
    )
    .expect("runs");
    let sql = backend
        .calls
        .iter()
        .find(|c| c.name == "sql" && c.params["sql"].contains("PluginActions"))
        .expect("q2 sql ran");
    assert!(
        sql.params["sql"].contains("eventtime >= '2026-10-01'' OR ''1''=''1'"),
        "{}",
        sql.params["sql"]
    );
    // Non-SQL parameters are passed as given.
    let summary = backend
        .calls
        .iter()
        .find(|c| c.name == "summary")
        .expect("summary ran");
    assert_eq!(summary.params["since"], "2026-10-01' OR '1'='1");
}

#[test]
fn missing_facts_leave_steps_open_then_interactive_answers_are_recorded_and_reused() {
    let case = tempfile::tempdir().expect("tempdir");
    let pb = shipped("iam-credential-compromise");
    let mut backend = iam_backend();
    let (summary, _) = run(
        &pb,
        case.path(),
        &mut backend,
        &mut Scripted::default(),
        &non_interactive(&[]),
    )
    .expect("runs");
    let st = state(case.path(), &pb.id);
    assert_eq!(status(&st, "run-credential-rules"), StepStatus::Done);
    assert_eq!(status(&st, "key-timeline"), StepStatus::Open);
    let reason = st
        .step("key-timeline")
        .and_then(|s| s.reason.clone())
        .expect("reason");
    assert!(
        reason.contains("needs fact access_key_id") && reason.contains("--fact"),
        "{reason}"
    );
    let waits = st
        .step("key-anomalies")
        .and_then(|s| s.reason.clone())
        .expect("reason");
    assert!(waits.contains("waits for step key-timeline"), "{waits}");
    assert!(summary
        .open
        .iter()
        .any(|o| o.id == "key-timeline" && o.reason.is_some()));
    assert_eq!(backend.count("query"), 0);

    // Interactive: the operator is asked and the answer is recorded.
    let mut operator = Scripted {
        facts: facts(&[
            ("access_key_id", "AKIAEXAMPLEKEY"),
            ("incident_start", "2026-10-01T00:00:00Z"),
            ("user_name", "ci-deploy"),
        ]),
        ..Scripted::default()
    };
    let interactive = RunOptions {
        non_interactive: false,
        ..non_interactive(&[])
    };
    let mut backend = iam_backend();
    run(&pb, case.path(), &mut backend, &mut operator, &interactive).expect("interactive run");
    assert!(
        operator.asked_facts.contains(&"access_key_id".to_string()),
        "{:?}",
        operator.asked_facts
    );
    assert!(
        operator
            .asked_facts
            .contains(&"account_environment".to_string()),
        "the decision asks for its unknown fact"
    );
    let st = state(case.path(), &pb.id);
    assert_eq!(
        st.facts.get("access_key_id").map(String::as_str),
        Some("AKIAEXAMPLEKEY")
    );
    assert_eq!(status(&st, "key-timeline"), StepStatus::Done);
    assert_eq!(status(&st, "run-credential-rules"), StepStatus::Done);
    assert_eq!(
        backend.count("detect"),
        0,
        "the settled detect step is not run again"
    );
}

#[test]
fn resume_after_an_interruption_does_not_rerun_completed_steps() {
    let pb = shipped("amazon-q");
    // A reference run: how many backend calls a whole run makes.
    let reference = tempfile::tempdir().expect("tempdir");
    let mut full = amazon_q_backend();
    run(
        &pb,
        reference.path(),
        &mut full,
        &mut Scripted::default(),
        &non_interactive(Q_FACTS),
    )
    .expect("runs");
    let all_calls = full.calls.len();
    assert!(all_calls > 8, "{all_calls}");

    let case = tempfile::tempdir().expect("tempdir");
    let k = 5; // interrupt at the 6th backend call
    let mut first = FakeBackend {
        interrupt_at: Some(k),
        ..amazon_q_backend()
    };
    let err = run(
        &pb,
        case.path(),
        &mut first,
        &mut Scripted::default(),
        &non_interactive(Q_FACTS),
    )
    .expect_err("interrupted");
    let RunError::Interrupted { step, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(step, "q4-accessed", "the 6th call is q4's query");
    let st = state(case.path(), &pb.id);
    assert!(!st.finished);
    assert_eq!(status(&st, "q3-reachable-apps"), StepStatus::Done);
    assert!(
        st.step("q4-accessed").is_none(),
        "nothing recorded for the interrupted step"
    );
    // Against the playbook, the steps not reached count as open.
    let partial = st.overview_with(&pb);
    assert_eq!(partial.total.done, 5);
    assert_eq!(partial.total.open, pb.steps().count() - 5);
    assert_eq!(partial.manual_open.len(), 8);
    assert_eq!(
        st.overview().total.open,
        2,
        "only the two preparation steps are recorded open"
    );

    let mut second = amazon_q_backend();
    let (summary, progress) = run(
        &pb,
        case.path(),
        &mut second,
        &mut Scripted::default(),
        &non_interactive(Q_FACTS),
    )
    .expect("resumes");
    // The k calls that completed are not made again.
    assert_eq!(second.calls.len(), all_calls - k);
    assert_eq!(second.calls, full.calls[k..].to_vec());
    assert!(progress
        .iter()
        .any(|p| p.step_id == "q1-resources" && p.from_earlier_run));
    assert_eq!(summary.counts.failed, 0);
    let st = state(case.path(), &pb.id);
    assert!(st.finished);
    assert_eq!(st.runs, 2);
    // The decision after the resume still sees q1's recorded answer.
    assert_eq!(
        st.step("remove-app-or-parts")
            .and_then(|s| s.last.decision.clone())
            .map(|d| d.chosen),
        Some(vec!["delete-app".to_string()])
    );
    // Same end state as the uninterrupted run.
    let reference_state = state(reference.path(), &pb.id);
    for s in &reference_state.steps {
        assert_eq!(status(&st, &s.id), s.status, "{}", s.id);
    }
    // Open manual steps are not recorded again on every resume.
    let before = step_records(case.path(), &pb.id).len();
    let mut third = amazon_q_backend();
    run(
        &pb,
        case.path(),
        &mut third,
        &mut Scripted::default(),
        &non_interactive(Q_FACTS),
    )
    .expect("third run");
    let after = step_records(case.path(), &pb.id);
    let new: Vec<&str> = after[before..].iter().map(|r| r.step.as_str()).collect();
    assert_eq!(
        new,
        ["rotate-key", "eradicate-user", "delete-app"],
        "only the planned actions are planned again"
    );
    assert_eq!(third.count("query") + third.count("detect"), 0);
}

#[test]
fn a_failed_step_is_recorded_the_run_goes_on_and_resume_retries_it() {
    let pb = shipped("iam-credential-compromise");
    let case = tempfile::tempdir().expect("tempdir");
    // Call 1 is key-timeline's query (call 0 is the detect step).
    let mut backend = FakeBackend {
        fail_at: vec![1],
        ..iam_backend()
    };
    let (summary, _) = run(
        &pb,
        case.path(),
        &mut backend,
        &mut Scripted::default(),
        &opts_from(&with_env("development")),
    )
    .expect("runs");
    let st = state(case.path(), &pb.id);
    assert_eq!(status(&st, "key-timeline"), StepStatus::Failed);
    assert!(st
        .step("key-timeline")
        .and_then(|s| s.reason.clone())
        .is_some_and(|r| r.contains("the case store is busy")));
    assert_eq!(
        status(&st, "key-anomalies"),
        StepStatus::Open,
        "waits for the failed step"
    );
    assert_eq!(
        status(&st, "deactivate-key"),
        StepStatus::Planned,
        "later independent steps still ran"
    );
    assert_eq!(summary.counts.failed, 1);

    let mut retry = iam_backend();
    run(
        &pb,
        case.path(),
        &mut retry,
        &mut Scripted::default(),
        &opts_from(&with_env("development")),
    )
    .expect("resumes");
    let st = state(case.path(), &pb.id);
    assert_eq!(status(&st, "key-timeline"), StepStatus::Done);
    assert_eq!(status(&st, "key-anomalies"), StepStatus::Done);
    assert_eq!(retry.count("detect"), 0);
    assert_eq!(st.step("key-timeline").map(|s| s.attempts), Some(2));
}

#[test]
fn a_torn_last_line_is_ignored_and_the_log_stays_appendable() {
    let pb = shipped("iam-credential-compromise");
    let case = tempfile::tempdir().expect("tempdir");
    run(
        &pb,
        case.path(),
        &mut iam_backend(),
        &mut Scripted::default(),
        &opts_from(&with_env("production")),
    )
    .expect("runs");
    let log = case
        .path()
        .join("playbooks/iam-credential-compromise/run.jsonl");
    let lines_before = std::fs::read_to_string(&log).expect("log").lines().count();
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .expect("open");
        f.write_all(
            br#"{"record":"step","time":"2026-11-22T10:00:00Z","operator":"x","step":"reset-pa"#,
        )
        .expect("write");
    }
    let st = state(case.path(), &pb.id);
    assert_eq!(st.problems.len(), 1);
    assert!(st.problems[0].last_line);
    assert_eq!(st.problems[0].line, lines_before + 1);
    assert!(
        st.problems[0].to_string().contains("torn last line"),
        "{}",
        st.problems[0]
    );
    assert_eq!(status(&st, "key-timeline"), StepStatus::Done);

    let mut backend = iam_backend();
    let (summary, _) = run(
        &pb,
        case.path(),
        &mut backend,
        &mut Scripted::default(),
        &opts_from(&with_env("production")),
    )
    .expect("resumes");
    assert_eq!(summary.log_problems.len(), 1);
    assert_eq!(backend.count("query"), 0, "nothing settled is re-run");
    let st = state(case.path(), &pb.id);
    assert_eq!(
        st.problems.len(),
        1,
        "the torn line stays the only bad line"
    );
    assert!(!st.problems[0].last_line);
    assert!(st.finished, "records after the torn line are readable");
    assert_eq!(st.runs, 2);
}

#[test]
fn actions_are_planned_without_apply_applied_with_it_and_refused_when_declined() {
    let pb = shipped("iam-credential-compromise");
    let env = with_env("development");

    // Non-interactive with --apply-actions: applied.
    let applied = tempfile::tempdir().expect("tempdir");
    let mut backend = iam_backend();
    let opts = RunOptions {
        apply_actions: true,
        ..opts_from(&env)
    };
    run(
        &pb,
        applied.path(),
        &mut backend,
        &mut Scripted::default(),
        &opts,
    )
    .expect("runs");
    let st = state(applied.path(), &pb.id);
    assert_eq!(status(&st, "deactivate-key"), StepStatus::Done);
    assert_eq!(
        st.step("deactivate-key")
            .and_then(|s| s.outputs.get("status").cloned()),
        Some(vec!["applied".to_string()])
    );
    let a = &st.step("deactivate-key").expect("step").last.actions[0];
    assert!(a.applied && a.outcome.is_some());
    // deactivate, delete-key, 2 users, 2 roles (same two resources).
    assert_eq!(backend.count("apply"), 6);
    assert_eq!(backend.count("apply"), backend.count("plan"));

    // Interactive with --apply-actions: the operator declines the first, accepts the rest.
    let declined = tempfile::tempdir().expect("tempdir");
    let mut backend = iam_backend();
    let mut operator = Scripted {
        confirm: VecDeque::from(vec![false, true]),
        ..Scripted::default()
    };
    let opts = RunOptions {
        non_interactive: false,
        apply_actions: true,
        ..opts_from(&env)
    };
    run(&pb, declined.path(), &mut backend, &mut operator, &opts).expect("runs");
    let st = state(declined.path(), &pb.id);
    assert_eq!(status(&st, "deactivate-key"), StepStatus::Planned);
    let a = &st.step("deactivate-key").expect("step").last.actions[0];
    assert!(a.declined && !a.applied && a.plan.is_some());
    assert!(st
        .step("deactivate-key")
        .and_then(|s| s.reason.clone())
        .is_some_and(|r| r.contains("declined")));
    assert_eq!(status(&st, "delete-key"), StepStatus::Done);
    assert!(backend
        .calls
        .iter()
        .all(|c| !(c.what == "apply" && c.name == "contain access-key")));
    assert_eq!(operator.confirms_asked, 6);

    // Interactive without --apply-actions: planned, nobody asked.
    let planned = tempfile::tempdir().expect("tempdir");
    let mut backend = iam_backend();
    let mut operator = Scripted::default();
    let opts = RunOptions {
        non_interactive: false,
        ..opts_from(&env)
    };
    run(&pb, planned.path(), &mut backend, &mut operator, &opts).expect("runs");
    assert_eq!(operator.confirms_asked, 0);
    assert_eq!(backend.count("apply"), 0);
    assert_eq!(
        status(&state(planned.path(), &pb.id), "deactivate-key"),
        StepStatus::Planned
    );
}

#[test]
fn an_applied_invocation_is_never_applied_twice_on_resume() {
    let pb = shipped("iam-credential-compromise");
    let case = tempfile::tempdir().expect("tempdir");
    let opts = RunOptions {
        apply_actions: true,
        ..opts_from(&with_env("development"))
    };
    let mut backend = FakeBackend {
        fail_apply_for: vec!["backdoor2".into()],
        ..iam_backend()
    };
    run(
        &pb,
        case.path(),
        &mut backend,
        &mut Scripted::default(),
        &opts,
    )
    .expect("runs");
    let st = state(case.path(), &pb.id);
    assert_eq!(status(&st, "remove-created-users"), StepStatus::Failed);
    let actions = &st.step("remove-created-users").expect("step").last.actions;
    assert!(actions[0].applied && !actions[1].applied && actions[1].error.is_some());

    let mut retry = iam_backend();
    run(
        &pb,
        case.path(),
        &mut retry,
        &mut Scripted::default(),
        &opts,
    )
    .expect("resumes");
    let applied: Vec<(&str, &str)> = retry
        .calls
        .iter()
        .filter(|c| c.what == "apply")
        .map(|c| {
            (
                c.name.as_str(),
                c.params.values().next().map(String::as_str).unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        applied,
        [
            ("eradicate user", "backdoor2"),
            ("eradicate role", "backdoor2")
        ]
    );
    let st = state(case.path(), &pb.id);
    assert_eq!(status(&st, "remove-created-users"), StepStatus::Done);
}

#[test]
fn manual_steps_and_analyst_answers_are_recorded_interactively() {
    let pb = shipped("iam-credential-compromise");
    let case = tempfile::tempdir().expect("tempdir");
    let mut operator = Scripted {
        manual: [
            ("key-owners".to_string(), ManualStatus::Done),
            ("leak-source".to_string(), ManualStatus::Skip),
        ]
        .into(),
        answers: [(
            "key-anomalies".to_string(),
            "The IPs are a VPN exit node".to_string(),
        )]
        .into(),
        ..Scripted::default()
    };
    let opts = RunOptions {
        non_interactive: false,
        ..opts_from(&with_env("production"))
    };
    run(&pb, case.path(), &mut iam_backend(), &mut operator, &opts).expect("runs");
    let st = state(case.path(), &pb.id);
    let owners = st.step("key-owners").expect("step");
    assert_eq!(owners.status, StepStatus::Done);
    assert_eq!(owners.answer.as_deref(), Some("notes for key-owners"));
    assert_eq!(status(&st, "leak-source"), StepStatus::Skipped);
    assert_eq!(status(&st, "reset-password"), StepStatus::Open);
    let anomalies = st.step("key-anomalies").expect("step");
    assert_eq!(
        anomalies.answer.as_deref(),
        Some("The IPs are a VPN exit node")
    );
    let rec = anomalies.last.answer.as_ref().expect("answer");
    assert!(
        rec.automatic.contains("nothing found") || rec.automatic.contains("Nothing found"),
        "{}",
        rec.automatic
    );
    assert_eq!(
        st.overview().current_phase.map(|p| p.key()),
        Some("containment_and_eradication")
    );
}

#[test]
fn case_facts_are_used_and_runs_are_listed() {
    let case = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        case.path().join("case.json"),
        r#"{"name":"t","created":"2026-11-22T10:00:00Z","firebreak_version":"0.1.0","facts":{"incident_start":"2026-10-01T00:00:00Z","access_key_id":"AKIAEXAMPLEKEY","user_name":"ci-deploy","account_environment":"production"}}"#,
    )
    .expect("case.json");
    let iam = shipped("iam-credential-compromise");
    // Options win over case.json.
    run(
        &iam,
        case.path(),
        &mut iam_backend(),
        &mut Scripted::default(),
        &non_interactive(&[("account_environment", "development")]),
    )
    .expect("runs");
    let st = state(case.path(), &iam.id);
    assert_eq!(status(&st, "key-timeline"), StepStatus::Done);
    assert_eq!(status(&st, "delete-key"), StepStatus::Planned);
    run(
        &shipped("amazon-q"),
        case.path(),
        &mut amazon_q_backend(),
        &mut Scripted::default(),
        &non_interactive(Q_FACTS),
    )
    .expect("runs");
    let runs = list_runs(case.path()).expect("lists");
    let ids: Vec<&str> = runs.iter().map(|r| r.playbook_id.as_str()).collect();
    assert_eq!(ids, ["amazon-q", "iam-credential-compromise"]);
    assert!(runs
        .iter()
        .all(|r| r.finished && r.operators.contains("analyst@example.com")));
    assert_eq!(
        RunState::load(case.path(), "s3-ransomware").expect("reads"),
        None
    );

    std::fs::write(case.path().join("case.json"), "{not json").expect("write");
    let err = run(
        &iam,
        case.path(),
        &mut iam_backend(),
        &mut Scripted::default(),
        &non_interactive(&[]),
    )
    .expect_err("bad case.json");
    assert!(
        matches!(&err, RunError::CaseFile { path, .. } if path.ends_with("case.json")),
        "{err}"
    );
}
