//! Playbooks run end to end on a simulated case, with their actions against the local moto
//! server: the credential-compromise playbook planned, then applied (state checked through
//! independent SDK reads), resumed without repeating work, and reported; the Amazon Q
//! playbook's analysis questions answered from the case's data.
#![cfg(all(feature = "aws", feature = "investigate"))]

// The moto harness and session helpers are shared with the firebreak-aws tests.
#[path = "../../aws/tests/common/mod.rs"]
mod common;
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use firebreak_aws::sdk::iam;
use common::moto::{self, Moto};
use firebreak_aws::Session;
use serde_json::Value;
use support::{stderr, stdout};

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

struct Env<'a> {
    moto: &'a Moto,
    account: String,
    dir: tempfile::TempDir,
}

impl Env<'_> {
    fn new(moto: &Moto) -> Env<'_> {
        Env { moto, account: moto::unique_account(), dir: tempfile::tempdir().unwrap() }
    }

    fn firebreak(&self, args: &[&str]) -> Output {
        let role = moto::responder_role(&self.account);
        support::firebreak_on_moto(&self.moto.url, &role, args)
            .env("FIREBREAK_HOME", self.dir.path().join("home"))
            .env("USER", "test-responder")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run firebreak")
    }

    fn session(&self) -> Session {
        common::session_in(self.moto, &self.account)
    }

    fn iam(&self) -> (Session, iam::Client) {
        let session = self.session();
        let client = iam::Client::new(session.sdk_config());
        (session, client)
    }

    fn case(&self) -> PathBuf {
        self.dir.path().join("case")
    }
}

/// Simulated JSON-lines logs with every scenario; returns (logs folder, truth).
fn simulate(dir: &Path) -> (PathBuf, Vec<Value>) {
    let logs = dir.join("logs");
    let truth = dir.join("truth.jsonl");
    let out = support::run(&[
        "simulate", "--out", p(&logs), "--events", "3000", "--seed", "7", "--days", "3", "--format", "jsonl", "--truth",
        p(&truth),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    gunzip_all(&logs);
    let truth = std::fs::read_to_string(truth)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (logs, truth)
}

/// Turns every `.gz` file of the folder into its plain form (so the tests can edit them).
fn gunzip_all(dir: &Path) {
    use std::io::Read;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            gunzip_all(&path);
        } else if path.extension().is_some_and(|e| e == "gz") {
            let mut text = String::new();
            flate2::read::MultiGzDecoder::new(std::fs::File::open(&path).unwrap()).read_to_string(&mut text).unwrap();
            std::fs::write(path.with_extension(""), text).unwrap();
            std::fs::remove_file(&path).unwrap();
        }
    }
}

/// Replaces text in every log file (the simulated key becomes the one moto issued).
fn rewrite(logs: &Path, from: &str, to: &str) {
    for entry in std::fs::read_dir(logs).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rewrite(&path, from, to);
        } else {
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, text.replace(from, to)).unwrap();
        }
    }
}

/// Every event of the logs.
fn events(logs: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(logs).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(events(&path));
        } else {
            for line in std::fs::read_to_string(&path).unwrap().lines().filter(|l| !l.trim().is_empty()) {
                out.push(serde_json::from_str(line).unwrap());
            }
        }
    }
    out
}

/// The run log of a playbook in the case, as the last record per step.
fn step_records(case: &Path, playbook: &str) -> BTreeMap<String, Value> {
    let log = case.join("playbooks").join(playbook).join("run.jsonl");
    let mut steps = BTreeMap::new();
    for line in std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display())).lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else { continue };
        if let Some(id) = v.get("step_id").or_else(|| v.get("step")).and_then(Value::as_str) {
            steps.insert(id.to_string(), v);
        }
    }
    steps
}

fn status_of(steps: &BTreeMap<String, Value>, id: &str) -> String {
    steps.get(id).and_then(|v| v["status"].as_str()).unwrap_or("absent").to_string()
}

fn access_keys(session: &Session, client: &iam::Client, user: &str) -> Vec<(String, String)> {
    session.block_on(async {
        let out = client.list_access_keys().user_name(user).send().await.unwrap();
        out.access_key_metadata()
            .iter()
            .map(|k| (k.access_key_id().unwrap().to_string(), k.status().unwrap().as_str().to_string()))
            .collect()
    })
}

fn user_exists(session: &Session, client: &iam::Client, user: &str) -> bool {
    session.block_on(async { client.get_user().user_name(user).send().await.is_ok() })
}

#[test]
fn credential_compromise_playbook_plans_then_applies_against_moto_and_resumes() {
    let Some(moto) = Moto::shared() else { return };
    let env = Env::new(moto);
    let (logs, truth) = simulate(env.dir.path());
    let t = truth.iter().find(|t| t["scenario"] == "iam-credential-compromise").unwrap();
    let sim_key = t["access_key_id"].as_str().unwrap();
    let user = t["principal_arn"].as_str().unwrap().rsplit('/').next().unwrap().to_string();

    // The compromised user and key exist in the (moto) account; the logs carry moto's key id.
    let (session, client) = env.iam();
    let key = session.block_on(async {
        client.create_user().user_name(&user).send().await.unwrap();
        client.create_access_key().user_name(&user).send().await.unwrap().access_key().unwrap().access_key_id().to_string()
    });
    rewrite(&logs, sim_key, &key);
    // The users the attacker created with the key exist too.
    let backdoors: Vec<String> = events(&logs)
        .iter()
        .filter(|e| e["eventName"] == "CreateUser" && e["userIdentity"]["accessKeyId"] == key.as_str() && e["errorCode"].is_null())
        .filter_map(|e| e["requestParameters"]["userName"].as_str().map(str::to_string))
        .collect();
    assert!(!backdoors.is_empty(), "the scenario creates a backdoor user");
    session.block_on(async {
        for b in &backdoors {
            client.create_user().user_name(b).send().await.unwrap();
        }
    });

    let case = env.case();
    let out = env.firebreak(&["ingest", "--case", p(&case), p(&logs)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let since = t["first"].as_str().unwrap();
    let run_args = |apply: bool| {
        let mut args = vec![
            "playbook".to_string(),
            "run".into(),
            "iam-credential-compromise".into(),
            "--case".into(),
            p(&case).into(),
            "--non-interactive".into(),
            "--fact".into(),
            format!("access_key_id={key}"),
            "--fact".into(),
            format!("user_name={user}"),
            "--fact".into(),
            format!("incident_start={since}"),
            "--fact".into(),
            "account_environment=development".into(),
        ];
        if apply {
            args.push("--apply-actions".into());
        }
        args
    };

    // 1. Planned only: nothing changes in the account.
    let args = run_args(false);
    let out = env.firebreak(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let steps = step_records(&case, "iam-credential-compromise");
    assert_eq!(status_of(&steps, "key-timeline"), "done");
    assert_eq!(status_of(&steps, "deactivate-key"), "planned");
    assert_eq!(status_of(&steps, "delete-key"), "planned", "development: the key is deleted");
    assert_eq!(status_of(&steps, "replace-key-first"), "skipped", "development: no workload to move first");
    assert_eq!(status_of(&steps, "remove-created-users"), "planned");
    let answer = steps["attacker-persistence"].to_string();
    for b in &backdoors {
        assert!(answer.contains(b.as_str()), "the persistence answer names {b}: {answer}");
    }
    let anomalies = steps["key-anomalies"].to_string();
    let ip = t["source_ip"].as_str().unwrap();
    assert!(anomalies.contains(ip), "the anomaly answer names the attacker's IP {ip}: {anomalies}");
    assert!(stdout(&out).contains("reset-password"), "manual steps are listed: {}", stdout(&out));
    assert_eq!(access_keys(&session, &client, &user), vec![(key.clone(), "Active".to_string())]);

    // 2. Applied: the key is deactivated then deleted, the backdoor users are gone.
    let args = run_args(true);
    let out = env.firebreak(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let steps = step_records(&case, "iam-credential-compromise");
    for id in ["deactivate-key", "delete-key", "remove-created-users"] {
        assert_eq!(status_of(&steps, id), "done", "{id}: {}", steps[id]);
    }
    assert!(access_keys(&session, &client, &user).is_empty(), "the compromised key is deleted");
    for b in &backdoors {
        assert!(!user_exists(&session, &client, b), "backdoor user {b} is deleted");
    }
    assert!(user_exists(&session, &client, &user), "the victim user itself is kept");

    // 3. Resumed: nothing left to apply, nothing applied twice.
    let actions_before = std::fs::read_to_string(case.join("actions.jsonl")).unwrap().lines().count();
    let out = env.firebreak(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", stderr(&out));
    let actions_after = std::fs::read_to_string(case.join("actions.jsonl")).unwrap().lines().count();
    assert_eq!(actions_before, actions_after, "a resumed run re-applies nothing");

    // Status and report carry what the run recorded.
    let out = env.firebreak(&["case", "status", "--case", p(&case), "--format", "jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let status: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(status["actions"].as_u64().unwrap() > 0);
    assert_eq!(status["action_log_verified"], true);
    let pb = &status["playbooks"][0];
    assert_eq!(pb["playbook"], "iam-credential-compromise");
    assert!(pb["manual_open"].as_array().unwrap().iter().any(|m| m["id"] == "reset-password"));

    let report = env.dir.path().join("report.md");
    let out = env.firebreak(&["report", "--case", p(&case), "--format", "md", "--output", p(&report)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let md = std::fs::read_to_string(&report).unwrap();
    assert!(md.contains("DeleteAccessKey") || md.contains("iam:DeleteAccessKey"), "actions in the report");
    assert!(md.contains(&backdoors[0]), "the answer naming the backdoor user is in the report");
    assert!(md.contains("reset-password") || md.contains("Reset the user's password"), "open items in the report");
    let html = env.dir.path().join("report.html");
    let out = env.firebreak(&["report", "--case", p(&case), "--format", "html", "--output", p(&html)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains(&key), "the HTML report has the chart and the key");
}

#[test]
fn amazon_q_playbook_answers_the_six_questions_from_the_case() {
    let Some(moto) = Moto::shared() else { return };
    let env = Env::new(moto);
    let (logs, truth) = simulate(env.dir.path());
    let t = truth.iter().find(|t| t["scenario"] == "amazon-q-abuse").unwrap();
    let principal = t["principal_arn"].as_str().unwrap();
    let since = t["first"].as_str().unwrap();
    let planted: Vec<Value> = {
        let ids: Vec<&str> = t["event_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        events(&logs).into_iter().filter(|e| ids.contains(&e["eventID"].as_str().unwrap_or(""))).collect()
    };
    // An IAM key in moto stands for the key the intruder used, so containment can be planned.
    let (session, client) = env.iam();
    let key = session.block_on(async {
        client.create_user().user_name("q-operator").send().await.unwrap();
        client.create_access_key().user_name("q-operator").send().await.unwrap().access_key().unwrap().access_key_id().to_string()
    });
    let case = env.case();
    let out = env.firebreak(&["ingest", "--case", p(&case), p(&logs)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env.firebreak(&[
        "playbook",
        "run",
        "amazon-q",
        "--case",
        p(&case),
        "--non-interactive",
        "--fact",
        &format!("incident_start={since}"),
        "--fact",
        &format!("suspect_principal={principal}"),
        "--fact",
        &format!("suspect_access_key={key}"),
        "--fact",
        "account_environment=production",
    ]);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{}\n{}", stdout(&out), stderr(&out));
    let steps = step_records(&case, "amazon-q");
    let questions: Vec<(&String, &Value)> = steps.iter().filter(|(_, v)| v["kind"] == "question").collect();
    assert_eq!(questions.len(), 6, "six analysis questions: {:?}", steps.keys().collect::<Vec<_>>());
    for (id, record) in &questions {
        assert_eq!(record["status"], "done", "{id}: {record}");
    }
    let all_answers: String = questions.iter().map(|(_, v)| v.to_string()).collect();
    // The answers name the planted Q events: the calls and the application created.
    for name in ["CreateApplication", "CreatePlugin", "BatchPutDocument"] {
        if planted.iter().any(|e| e["eventName"] == name) {
            assert!(all_answers.contains(name), "no answer names {name}");
        }
    }
    let app_id = planted
        .iter()
        .find(|e| e["eventName"] == "CreateApplication")
        .and_then(|e| e["responseElements"]["applicationId"].as_str())
        .expect("the scenario creates an application");
    assert!(all_answers.contains(app_id), "an answer names the shadow application {app_id}");
    assert_eq!(status_of(&steps, "rotate-key"), "planned", "{}", steps["rotate-key"]);
    // Nothing was applied.
    assert!(!case.join("actions.jsonl").exists() || std::fs::read_to_string(case.join("actions.jsonl")).unwrap().is_empty());
}
