//! The `firebreak` binary end to end against moto: plan, apply, re-apply, actions,
//! rollback and refusals; state checked through independent SDK reads.

// The moto harness and session helpers are shared with the firebreak-aws tests.
#[path = "../../aws/tests/common/mod.rs"]
mod common;
mod support;

use std::path::Path;
use std::process::Output;

use firebreak_aws::sdk::iam;
use common::moto::{self, Moto};
use firebreak_aws::Session;

struct Env<'a> {
    moto: &'a Moto,
    account: String,
    home: tempfile::TempDir,
}

impl Env<'_> {
    fn firebreak(&self, args: &[&str]) -> Output {
        let role = moto::responder_role(&self.account);
        support::firebreak_on_moto(&self.moto.url, &role, args)
            .env("FIREBREAK_HOME", self.home.path())
            .output()
            .expect("run firebreak")
    }

    fn session(&self) -> Session {
        common::session_in(self.moto, &self.account)
    }
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn env(moto: &Moto) -> Env<'_> {
    Env { moto, account: moto::unique_account(), home: tempfile::tempdir().unwrap() }
}

fn key_status(session: &Session, user: &str) -> String {
    let iam = iam::Client::new(session.sdk_config());
    session.block_on(async {
        let out = iam.list_access_keys().user_name(user).send().await.unwrap();
        out.access_key_metadata()[0].status().unwrap().as_str().to_string()
    })
}

fn user_with_key(session: &Session, user: &str, protected: bool) -> String {
    let iam = iam::Client::new(session.sdk_config());
    session.block_on(async {
        let mut create = iam.create_user().user_name(user);
        if protected {
            create = create.tags(iam::types::Tag::builder().key("firebreak:protected").value("yes").build().unwrap());
        }
        create.send().await.unwrap();
        iam.create_access_key().user_name(user).send().await.unwrap().access_key().unwrap().access_key_id().to_string()
    })
}

#[test]
fn contain_access_key_plan_apply_actions_rollback() {
    let Some(moto) = Moto::shared() else { return };
    let env = env(moto);
    let session = env.session();
    let key = user_with_key(&session, "alice", false);

    // Plan only.
    let out = env.firebreak(&["contain", "access-key", &key, "--revoke-sessions", "--case", "ir-1"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("iam:UpdateAccessKey") && stdout.contains("Nothing was changed"), "{stdout}");
    assert!(stdout.contains("iam:GetAccessKeyLastUsed"), "the plan shows its reads: {stdout}");
    assert_eq!(key_status(&session, "alice"), "Active");
    assert!(!Path::new(&env.home.path().join("cases/ir-1")).exists(), "a plan creates no case");

    // Apply.
    let out = env.firebreak(&["contain", "access-key", &key, "--revoke-sessions", "--case", "ir-1", "--apply"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(key_status(&session, "alice"), "Inactive");
    assert!(env.home.path().join("cases/ir-1/actions.jsonl").exists());

    // Again: nothing changes.
    let out = env.firebreak(&["contain", "access-key", &key, "--revoke-sessions", "--case", "ir-1", "--apply", "--format", "jsonl"]);
    let (stdout, _) = text(&out);
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["changed"], 0, "{stdout}");

    // Actions.
    let out = env.firebreak(&["actions", "--case", "ir-1", "--format", "jsonl"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let records: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 3);
    let deactivate = records.iter().find(|r| r["call"] == "iam:UpdateAccessKey").unwrap();
    assert_eq!(deactivate["before"]["status"], "Active");
    assert_eq!(deactivate["account"], env.account.as_str());
    let id = deactivate["action_id"].as_u64().unwrap().to_string();
    let out = env.firebreak(&["actions", "--case", "ir-1"]);
    assert!(text(&out).0.contains("hash chain verified"));

    // Rollback: plan, then apply.
    let out = env.firebreak(&["rollback", &id, "--case", "ir-1"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(key_status(&session, "alice"), "Inactive");
    let out = env.firebreak(&["rollback", &id, "--case", "ir-1", "--apply"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(key_status(&session, "alice"), "Active");
}

#[test]
fn refusals_are_clear() {
    let Some(moto) = Moto::shared() else { return };
    let env = env(moto);
    let session = env.session();
    let key = user_with_key(&session, "breakglass", true);

    let out = env.firebreak(&["contain", "access-key", &key, "--apply"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("protected") && stderr.contains("--force"), "{stderr}");
    assert_eq!(key_status(&session, "breakglass"), "Active");

    let out = env.firebreak(&["contain", "access-key", &key, "--apply", "--force", "--account", "999999999999"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("999999999999") && stderr.contains(&env.account), "{stderr}");
    assert_eq!(key_status(&session, "breakglass"), "Active");

    let out = env.firebreak(&["contain", "access-key", &key, "--apply", "--force", "--case", "ir-2"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(key_status(&session, "breakglass"), "Inactive");
}

#[test]
fn eradicate_user_then_rollback_says_what_cannot_be_undone() {
    let Some(moto) = Moto::shared() else { return };
    let env = env(moto);
    let session = env.session();
    user_with_key(&session, "mallory", false);
    let out = env.firebreak(&["eradicate", "user", "mallory", "--format", "jsonl"]);
    let (stdout, _) = text(&out);
    let steps: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).filter(|v: &serde_json::Value| v["type"] == "plan_step").collect();
    let names: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["CaptureUserMetadata", "DeleteAccessKey", "DeleteUser"]);

    let out = env.firebreak(&["eradicate", "user", "mallory", "--apply", "--case", "ir-3"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let iam = iam::Client::new(session.sdk_config());
    assert!(session.block_on(iam.get_user().user_name("mallory").send()).is_err());

    let out = env.firebreak(&["actions", "--case", "ir-3", "--format", "jsonl"]);
    let records: Vec<serde_json::Value> = text(&out).0.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let delete = records.iter().find(|r| r["call"] == "iam:DeleteUser").unwrap();
    let out = env.firebreak(&["rollback", &delete["action_id"].to_string(), "--case", "ir-3", "--apply"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.contains("cannot be reversed") && stdout.contains("cannot be restored"), "{stdout}");
}

#[test]
fn contain_instance_plan_shows_dry_runs_and_changes_nothing() {
    let Some(moto) = Moto::shared() else { return };
    let env = env(moto);
    let session = env.session();
    let ec2 = firebreak_aws::sdk::ec2::Client::new(session.sdk_config());
    let id = session.block_on(async {
        let out = ec2.run_instances().image_id("ami-03cf127a").min_count(1).max_count(1).send().await.unwrap();
        out.instances()[0].instance_id().unwrap().to_string()
    });
    let out = env.firebreak(&["contain", "instance", &id, "--ticket", "IR-42", "--forensic-account", "111122223333"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    for expected in ["CaptureInstanceMetadata", "ec2:ModifyInstanceAttribute", "ModifyNetworkInterfaceGroups", "SnapshotVolume", "ShareSnapshot", "dry run:    permitted", "Nothing was changed"] {
        assert!(stdout.contains(expected), "missing {expected:?} in\n{stdout}");
    }
    let attr = session
        .block_on(ec2.describe_instance_attribute().instance_id(&id).attribute(firebreak_aws::sdk::ec2::types::InstanceAttributeName::DisableApiTermination).send())
        .unwrap();
    assert_ne!(attr.disable_api_termination().and_then(|v| v.value()), Some(true));
    let groups = session
        .block_on(ec2.describe_security_groups().filters(firebreak_aws::sdk::ec2::types::Filter::builder().name("group-name").values("firebreak-quarantine").build()).send())
        .unwrap();
    assert!(groups.security_groups().is_empty(), "the plan created no quarantine group");

    // Apply, then a second apply changes nothing.
    let out = env.firebreak(&["contain", "instance", &id, "--ticket", "IR-42", "--apply", "--case", "ir-9"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let attr = session
        .block_on(ec2.describe_instance_attribute().instance_id(&id).attribute(firebreak_aws::sdk::ec2::types::InstanceAttributeName::DisableApiTermination).send())
        .unwrap();
    assert_eq!(attr.disable_api_termination().and_then(|v| v.value()), Some(true));
    let out = env.firebreak(&["contain", "instance", &id, "--ticket", "IR-42", "--apply", "--case", "ir-9"]);
    assert!(text(&out).0.contains("Summary: 0 changed"), "{:?}", text(&out));
}

#[test]
fn unknown_action_and_missing_case_are_clear_errors() {
    let Some(moto) = Moto::shared() else { return };
    let env = env(moto);
    let out = env.firebreak(&["rollback", "42", "--case", "nope"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("nope"), "{stderr}");
    let out = env.firebreak(&["actions"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("--case"));
}
