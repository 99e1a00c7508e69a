//! End-to-end: IAM containment and eradication against moto, state checked through
//! independent SDK reads.

mod common;

use common::{fresh_responder, guard, temp_case};
use firebreak_aws::sdk::iam;
use firebreak_aws::steps::REVOKE_SESSIONS_POLICY_NAME;
use firebreak_aws::{decode_policy_document, list_actions, ApplyOptions, AwsError, Guardrails, Request, Responder, StepAction, StepStatus};

fn iam_client(responder: &Responder) -> iam::Client {
    iam::Client::new(responder.session().sdk_config())
}

/// Creates a user with one access key; returns the key id.
fn user_with_key(responder: &Responder, user: &str, tags: &[(&str, &str)]) -> String {
    let iam = iam_client(responder);
    responder.session().block_on(async {
        let mut create = iam.create_user().user_name(user);
        for (k, v) in tags {
            create = create.tags(iam::types::Tag::builder().key(*k).value(*v).build().unwrap());
        }
        create.send().await.unwrap();
        let key = iam.create_access_key().user_name(user).send().await.unwrap();
        key.access_key().unwrap().access_key_id().to_string()
    })
}

fn key_status(responder: &Responder, user: &str, key: &str) -> String {
    let iam = iam_client(responder);
    responder.session().block_on(async {
        let out = iam.list_access_keys().user_name(user).send().await.unwrap();
        out.access_key_metadata().iter().find(|k| k.access_key_id() == Some(key)).unwrap().status().unwrap().as_str().to_string()
    })
}

fn inline_policy(responder: &Responder, user: &str, name: &str) -> Option<String> {
    let iam = iam_client(responder);
    responder.session().block_on(async {
        iam.get_user_policy().user_name(user).policy_name(name).send().await.ok().map(|o| decode_policy_document(o.policy_document()))
    })
}

#[test]
fn contain_access_key_plan_apply_rerun_rollback() {
    let moto = moto_or_skip!();
    let responder = fresh_responder(moto);
    let key = user_with_key(&responder, "alice", &[]);
    let request = Request::ContainAccessKey { access_key_id: key.clone(), user_name: None, revoke_sessions: true };

    // The plan changes nothing.
    let plan = responder.plan(&request, &guard()).unwrap();
    let names: Vec<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["CaptureUserMetadata", "SetAccessKeyStatus", "RevokeOlderSessions"]);
    assert!(plan.reads.iter().any(|r| r.starts_with("iam:GetAccessKeyLastUsed")));
    assert_eq!(key_status(&responder, "alice", &key), "Active");
    assert!(inline_policy(&responder, "alice", REVOKE_SESSIONS_POLICY_NAME).is_none());

    // Apply reaches the state.
    let (_dir, case) = temp_case();
    let report = responder.apply(&plan, &case, ApplyOptions::default()).unwrap();
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(report.changed(), 3);
    assert_eq!(key_status(&responder, "alice", &key), "Inactive");
    let doc: serde_json::Value = serde_json::from_str(&inline_policy(&responder, "alice", REVOKE_SESSIONS_POLICY_NAME).unwrap()).unwrap();
    assert_eq!(doc["Statement"][0]["Effect"], "Deny");
    assert_eq!(doc["Statement"][0]["Action"], "*");
    assert!(doc["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"].is_string());

    // The action log: identity, account, region, before state; evidence hashed.
    assert_eq!(case.action_log().verify().unwrap(), 3);
    let actions = list_actions(&case).unwrap();
    assert_eq!(actions.len(), 3);
    let capture = &actions[0];
    let evidence_path = capture.result.as_ref().unwrap()["evidence_file"].as_str().unwrap().to_string();
    let evidence = std::fs::read(&evidence_path).unwrap();
    assert_eq!(firebreak_aws::evidence::sha256_hex(&evidence), capture.result.as_ref().unwrap()["sha256"].as_str().unwrap());
    assert!(String::from_utf8_lossy(&evidence).contains(&key));
    let deactivate = &actions[1];
    assert_eq!(deactivate.call, "iam:UpdateAccessKey");
    assert_eq!(deactivate.before["status"], "Active");
    assert_eq!(deactivate.account, responder.session().identity().account);
    assert_eq!(deactivate.region, "us-east-1");
    assert!(deactivate.identity.arn.contains("firebreak-responder"));

    // A second apply (fresh plan) changes nothing and records nothing.
    let again = responder.plan(&request, &guard()).unwrap();
    assert!(again.steps.iter().skip(1).all(|s| s.already_done), "{again:#?}");
    let report = responder.apply(&again, &case, ApplyOptions::default()).unwrap();
    assert_eq!(report.changed(), 0, "{report:#?}");
    assert!(report.outcomes.iter().all(|o| o.status == StepStatus::AlreadyDone));
    assert_eq!(case.action_log().verify().unwrap(), 3);

    // Rollback restores the recorded state.
    let rollback = responder.plan_rollback(&case, &deactivate.action_id.to_string()).unwrap();
    assert_eq!(rollback.steps.len(), 1);
    assert_eq!(key_status(&responder, "alice", &key), "Inactive", "planning a rollback changes nothing");
    let report = responder.apply(&rollback, &case, ApplyOptions::default()).unwrap();
    assert!(report.succeeded());
    assert_eq!(key_status(&responder, "alice", &key), "Active");
    let revoke_id = actions[2].action_id.to_string();
    let report = responder.apply(&responder.plan_rollback(&case, &revoke_id).unwrap(), &case, ApplyOptions::default()).unwrap();
    assert!(report.succeeded());
    assert!(inline_policy(&responder, "alice", REVOKE_SESSIONS_POLICY_NAME).is_none());
    let all = list_actions(&case).unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all[3].rollback_of, Some(deactivate.action_id));
    // Rolling back again is a no-op.
    let report = responder.apply(&responder.plan_rollback(&case, &deactivate.action_id.to_string()).unwrap(), &case, ApplyOptions::default()).unwrap();
    assert_eq!(report.changed(), 0);
}

#[test]
fn protected_user_is_refused_unless_forced() {
    let moto = moto_or_skip!();
    let responder = fresh_responder(moto);
    let key = user_with_key(&responder, "breakglass", &[("firebreak:protected", "true")]);
    let request = Request::ContainAccessKey { access_key_id: key.clone(), user_name: None, revoke_sessions: false };
    match responder.plan(&request, &guard()) {
        Err(AwsError::Protected { tag_key, .. }) => assert_eq!(tag_key, "firebreak:protected"),
        other => panic!("expected a protection refusal, got {other:?}"),
    }
    match responder.plan(&Request::EradicateUser { user_name: "breakglass".into() }, &guard()) {
        Err(AwsError::Protected { .. }) => {}
        other => panic!("expected a protection refusal, got {other:?}"),
    }
    // The tag key is configurable.
    let custom = Guardrails { protected_tag_key: "do-not-touch".into(), ..guard() };
    assert!(responder.plan(&request, &custom).is_ok());
    let forced = Guardrails { force: true, ..guard() };
    let plan = responder.plan(&request, &forced).unwrap();
    let (_dir, case) = temp_case();
    assert!(responder.apply(&plan, &case, ApplyOptions::default()).unwrap().succeeded());
    assert_eq!(key_status(&responder, "breakglass", &key), "Inactive");
}

#[test]
fn other_account_is_refused() {
    let moto = moto_or_skip!();
    let responder = fresh_responder(moto);
    let key = user_with_key(&responder, "bob", &[]);
    let request = Request::ContainAccessKey { access_key_id: key.clone(), user_name: None, revoke_sessions: false };
    let wrong = Guardrails { expected_account: Some("999999999999".into()), ..guard() };
    match responder.plan(&request, &wrong) {
        Err(AwsError::AccountMismatch { expected, actual, .. }) => {
            assert_eq!(expected, "999999999999");
            assert_eq!(actual, responder.session().identity().account);
        }
        other => panic!("expected an account refusal, got {other:?}"),
    }
    // An ARN naming another account is refused too.
    let foreign = Request::EradicatePolicy { policy_arn: "arn:aws:iam::999999999999:policy/evil".into() };
    assert!(matches!(responder.plan(&foreign, &guard()), Err(AwsError::AccountMismatch { .. })));
    let right = Guardrails { expected_account: Some(responder.session().identity().account.clone()), ..guard() };
    assert!(responder.plan(&request, &right).is_ok());
    assert_eq!(key_status(&responder, "bob", &key), "Active");
}

#[test]
fn eradicate_user_removes_everything_then_the_user() {
    let moto = moto_or_skip!();
    let responder = fresh_responder(moto);
    let iam = iam_client(&responder);
    let account = responder.session().identity().account.clone();
    let key1 = user_with_key(&responder, "mallory", &[]);
    let policy_arn = responder.session().block_on(async {
        iam.create_access_key().user_name("mallory").send().await.unwrap();
        iam.create_login_profile().user_name("mallory").password("Hunter2-Hunter2!").send().await.unwrap();
        let mfa = iam.create_virtual_mfa_device().virtual_mfa_device_name("mallory-mfa").send().await.unwrap();
        let serial = mfa.virtual_mfa_device().unwrap().serial_number().to_string();
        iam.enable_mfa_device().user_name("mallory").serial_number(&serial).authentication_code1("123456").authentication_code2("654321").send().await.unwrap();
        iam.put_user_policy().user_name("mallory").policy_name("inline-admin").policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#).send().await.unwrap();
        let policy = iam.create_policy().policy_name("backdoor").policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#).send().await.unwrap();
        let arn = policy.policy().unwrap().arn().unwrap().to_string();
        iam.attach_user_policy().user_name("mallory").policy_arn(&arn).send().await.unwrap();
        iam.create_group().group_name("admins").send().await.unwrap();
        iam.add_user_to_group().user_name("mallory").group_name("admins").send().await.unwrap();
        let cert = include_str!("data/signing-cert.pem");
        iam.upload_signing_certificate().user_name("mallory").certificate_body(cert).send().await.unwrap();
        iam.upload_ssh_public_key().user_name("mallory").ssh_public_key_body(include_str!("data/ssh-key.pub").trim()).send().await.unwrap();
        arn
    });
    assert!(policy_arn.contains(&account));
    let request = Request::EradicateUser { user_name: "mallory".into() };
    let plan = responder.plan(&request, &guard()).unwrap();
    let names: Vec<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "CaptureUserMetadata",
            "DeleteAccessKey",
            "DeleteAccessKey",
            "DeleteLoginProfile",
            "DeleteSigningCertificate",
            "DeleteSshPublicKey",
            "RemoveMfaDevice",
            "DeleteInlinePolicy",
            "DetachManagedPolicy",
            "RemoveUserFromGroup",
            "DeleteUser"
        ]
    );
    // Planning changed nothing.
    assert!(responder.session().block_on(iam.get_user().user_name("mallory").send()).is_ok());
    assert_eq!(key_status(&responder, "mallory", &key1), "Active");

    let (_dir, case) = temp_case();
    let report = responder.apply(&plan, &case, ApplyOptions::default()).unwrap();
    assert!(report.succeeded(), "{report:#?}");
    let gone = responder.session().block_on(iam.get_user().user_name("mallory").send());
    assert_eq!(gone.unwrap_err().into_service_error().meta().code(), Some("NoSuchEntity"));
    // The managed policy and the group survive; only the links are gone.
    responder.session().block_on(async {
        let entities = iam.list_entities_for_policy().policy_arn(&policy_arn).send().await.unwrap();
        assert!(entities.policy_users().is_empty());
        let group = iam.get_group().group_name("admins").send().await.unwrap();
        assert!(group.users().is_empty());
        let mfa = iam.list_virtual_mfa_devices().send().await.unwrap();
        assert!(mfa.virtual_mfa_devices().is_empty(), "the virtual MFA device is deleted");
    });

    // Second run: nothing to do.
    let again = responder.plan(&request, &guard()).unwrap();
    assert!(again.steps.is_empty());
    assert!(again.notes.iter().any(|n| n.contains("does not exist")));
    let report = responder.apply(&again, &case, ApplyOptions::default()).unwrap();
    assert_eq!(report.changed(), 0);

    // Rollback says plainly what cannot be reversed.
    let actions = list_actions(&case).unwrap();
    let delete_user = actions.iter().find(|a| matches!(a.action, StepAction::DeleteUser { .. })).unwrap();
    let rollback = responder.plan_rollback(&case, &delete_user.action_id.to_string()).unwrap();
    assert!(rollback.steps.is_empty());
    assert!(rollback.notes[0].contains("cannot be restored"), "{:?}", rollback.notes);
}

#[test]
fn contain_and_eradicate_role() {
    let moto = moto_or_skip!();
    let responder = fresh_responder(moto);
    let iam = iam_client(&responder);
    responder.session().block_on(async {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        iam.create_role().role_name("web").assume_role_policy_document(trust).send().await.unwrap();
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}"#;
        let policy = iam.create_policy().policy_name("web-read").policy_document(doc).send().await.unwrap();
        iam.attach_role_policy().role_name("web").policy_arn(policy.policy().unwrap().arn().unwrap()).send().await.unwrap();
        iam.create_instance_profile().instance_profile_name("web-profile").send().await.unwrap();
        iam.add_role_to_instance_profile().instance_profile_name("web-profile").role_name("web").send().await.unwrap();
    });
    let (_dir, case) = temp_case();
    let contain = Request::ContainRole { role_name: "web".into(), revoke_sessions: true };
    let plan = responder.plan(&contain, &guard()).unwrap();
    assert!(responder.session().block_on(iam.get_role_policy().role_name("web").policy_name(REVOKE_SESSIONS_POLICY_NAME).send()).is_err());
    assert!(responder.apply(&plan, &case, ApplyOptions::default()).unwrap().succeeded());
    let doc = responder.session().block_on(iam.get_role_policy().role_name("web").policy_name(REVOKE_SESSIONS_POLICY_NAME).send()).unwrap();
    assert!(decode_policy_document(doc.policy_document()).contains("aws:TokenIssueTime"));
    assert_eq!(responder.apply(&responder.plan(&contain, &guard()).unwrap(), &case, ApplyOptions::default()).unwrap().changed(), 0);
    // Rollback removes the deny policy; containing again puts it back.
    let revoke = list_actions(&case).unwrap().into_iter().find(|a| matches!(a.action, StepAction::RevokeOlderSessions { .. })).unwrap();
    assert!(responder.apply(&responder.plan_rollback(&case, &revoke.action_id.to_string()).unwrap(), &case, ApplyOptions::default()).unwrap().succeeded());
    assert!(responder.session().block_on(iam.get_role_policy().role_name("web").policy_name(REVOKE_SESSIONS_POLICY_NAME).send()).is_err());
    assert!(responder.apply(&responder.plan(&contain, &guard()).unwrap(), &case, ApplyOptions::default()).unwrap().succeeded());
    // A protected role is refused.
    responder.session().block_on(iam.tag_role().role_name("web").tags(iam::types::Tag::builder().key("firebreak:protected").value("1").build().unwrap()).send()).unwrap();
    assert!(matches!(responder.plan(&contain, &guard()), Err(AwsError::Protected { .. })));
    responder.session().block_on(iam.untag_role().role_name("web").tag_keys("firebreak:protected").send()).unwrap();
    // Without --revoke-sessions there is nothing to do for a role.
    assert!(matches!(responder.plan(&Request::ContainRole { role_name: "web".into(), revoke_sessions: false }, &guard()), Err(AwsError::InvalidArgument(_))));

    let eradicate = Request::EradicateRole { role_name: "web".into() };
    let plan = responder.plan(&eradicate, &guard()).unwrap();
    let names: Vec<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["CaptureRoleMetadata", "RemoveRoleFromInstanceProfile", "DeleteInlinePolicy", "DetachManagedPolicy", "DeleteRole"]);
    assert!(responder.apply(&plan, &case, ApplyOptions::default()).unwrap().succeeded());
    assert!(responder.session().block_on(iam.get_role().role_name("web").send()).is_err());
    assert!(responder.plan(&eradicate, &guard()).unwrap().steps.is_empty());
}

#[test]
fn eradicate_policy_and_access_key() {
    let moto = moto_or_skip!();
    let responder = fresh_responder(moto);
    let iam = iam_client(&responder);
    let key = user_with_key(&responder, "carol", &[]);
    let arn = responder.session().block_on(async {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#;
        let p = iam.create_policy().policy_name("escalate").policy_document(doc).send().await.unwrap();
        let arn = p.policy().unwrap().arn().unwrap().to_string();
        iam.create_policy_version().policy_arn(&arn).policy_document(doc).set_as_default(true).send().await.unwrap();
        iam.attach_user_policy().user_name("carol").policy_arn(&arn).send().await.unwrap();
        arn
    });
    let (_dir, case) = temp_case();
    let request = Request::EradicatePolicy { policy_arn: arn.clone() };
    let plan = responder.plan(&request, &guard()).unwrap();
    let names: Vec<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["DetachManagedPolicy", "DeletePolicyVersion", "DeletePolicy"]);
    assert!(responder.apply(&plan, &case, ApplyOptions::default()).unwrap().succeeded());
    assert!(responder.session().block_on(iam.get_policy().policy_arn(&arn).send()).is_err());
    // The deleted policy's document is in the action log.
    let actions = list_actions(&case).unwrap();
    assert!(actions.last().unwrap().before["document"].as_str().unwrap().contains("iam:*"));
    assert!(responder.plan(&request, &guard()).unwrap().steps.is_empty());

    let request = Request::EradicateAccessKey { access_key_id: key.clone(), user_name: None };
    let plan = responder.plan(&request, &guard()).unwrap();
    assert!(responder.apply(&plan, &case, ApplyOptions::default()).unwrap().succeeded());
    let keys = responder.session().block_on(iam.list_access_keys().user_name("carol").send()).unwrap();
    assert!(keys.access_key_metadata().is_empty());
    assert!(responder.plan(&request, &guard()).unwrap().steps.is_empty());
}

#[test]
fn interrupted_run_resumes_without_repeating_steps() {
    let moto = moto_or_skip!();
    let responder = fresh_responder(moto);
    let key = user_with_key(&responder, "dave", &[]);
    let request = Request::ContainAccessKey { access_key_id: key.clone(), user_name: None, revoke_sessions: true };
    let (_dir, case) = temp_case();
    // The first run stops after two of its three steps.
    let mut partial = responder.plan(&request, &guard()).unwrap();
    partial.steps.truncate(2);
    assert!(responder.apply(&partial, &case, ApplyOptions::default()).unwrap().succeeded());
    assert_eq!(key_status(&responder, "dave", &key), "Inactive");
    assert!(inline_policy(&responder, "dave", REVOKE_SESSIONS_POLICY_NAME).is_none());
    // Re-running the command does only what is left.
    let report = responder.apply(&responder.plan(&request, &guard()).unwrap(), &case, ApplyOptions::default()).unwrap();
    let statuses: Vec<StepStatus> = report.outcomes.iter().map(|o| o.status).collect();
    assert_eq!(statuses, [StepStatus::AlreadyDone, StepStatus::AlreadyDone, StepStatus::Applied]);
    assert!(inline_policy(&responder, "dave", REVOKE_SESSIONS_POLICY_NAME).is_some());
    assert_eq!(list_actions(&case).unwrap().len(), 3, "the metadata capture is not repeated");
}
