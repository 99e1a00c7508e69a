//! End-to-end with IAM enforcement (moto `/moto-api/reset-auth`): denied permissions give
//! clear errors naming the IAM action, EC2 DryRun proves (or disproves) permissions in the
//! plan, and a failed evidence step stops the altering steps after it.
//!
//! Enforcement is global to a moto process, so this test binary runs its own server.

mod common;

use common::{session_with_key, temp_case, Moto};
use firebreak_aws::sdk::{ec2, iam};
use firebreak_aws::{ApplyOptions, Guardrails, PermissionCheck, Request, Responder, StepStatus};

const AMI: &str = "ami-03cf127a";

const RESPONDER_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Effect": "Deny", "Action": ["iam:UpdateAccessKey", "ec2:ModifyInstanceAttribute", "ec2:CreateSnapshot"], "Resource": "*"}
  ]
}"#;

#[test]
fn denied_permissions_are_named_and_evidence_failures_stop_changes() {
    let Some(moto) = Moto::private() else { return };
    // Setup runs before enforcement, with moto's default (root) account.
    let admin = session_with_key(&moto, "testing", "testing").expect("connect");
    let iam_admin = iam::Client::new(admin.sdk_config());
    let ec2_admin = ec2::Client::new(admin.sdk_config());
    let (responder_key, responder_secret, victim_key, instance_id) = admin.block_on(async {
        iam_admin.create_user().user_name("responder").send().await.unwrap();
        iam_admin.put_user_policy().user_name("responder").policy_name("responder").policy_document(RESPONDER_POLICY).send().await.unwrap();
        let key = iam_admin.create_access_key().user_name("responder").send().await.unwrap();
        let key = key.access_key().unwrap().clone();
        iam_admin.create_user().user_name("victim").send().await.unwrap();
        let victim = iam_admin.create_access_key().user_name("victim").send().await.unwrap();
        let instance = ec2_admin.run_instances().image_id(AMI).min_count(1).max_count(1).send().await.unwrap();
        (
            key.access_key_id().to_string(),
            key.secret_access_key().to_string(),
            victim.access_key().unwrap().access_key_id().to_string(),
            instance.instances()[0].instance_id().unwrap().to_string(),
        )
    });
    moto.enforce_iam();

    let session = session_with_key(&moto, &responder_key, &responder_secret).expect("the responder may call sts:GetCallerIdentity");
    assert!(session.identity().arn.ends_with(":user/responder"));
    let reader_iam = iam::Client::new(session.sdk_config());
    let reader_ec2 = ec2::Client::new(session.sdk_config());
    let responder = Responder::new(session);

    // Enforcement is real: an unknown key is refused.
    assert!(session_with_key(&moto, "AKIAUNKNOWNKEY000000", "nope").is_err());

    // Credential containment: the denied call is named.
    let request = Request::ContainAccessKey { access_key_id: victim_key.clone(), user_name: None, revoke_sessions: false };
    let plan = responder.plan(&request, &Guardrails::default()).unwrap();
    let (_dir, case) = temp_case();
    let report = responder.apply(&plan, &case, ApplyOptions::default()).unwrap();
    assert!(!report.succeeded());
    let failed = report.outcomes.iter().find(|o| o.name == "SetAccessKeyStatus").unwrap();
    assert_eq!(failed.status, StepStatus::Failed);
    let message = failed.error.as_deref().unwrap();
    assert!(message.contains("permission denied") && message.contains("iam:UpdateAccessKey"), "{message}");
    let status = responder.session().block_on(reader_iam.list_access_keys().user_name("victim").send()).unwrap();
    assert_eq!(status.access_key_metadata()[0].status().unwrap().as_str(), "Active");
    // The failure is recorded too.
    let actions = firebreak_aws::list_actions(&case).unwrap();
    assert_eq!(actions.last().unwrap().status, StepStatus::Failed);

    // Instance: the plan's DryRun calls show what is denied.
    let request = Request::ContainInstance {
        instance_id: instance_id.clone(),
        forensic_account: None,
        ticket: Some("IR-7".into()),
        decrement_capacity: false,
        quarantine_group_name: "firebreak-quarantine".into(),
    };
    let plan = responder.plan(&request, &Guardrails::default()).unwrap();
    let check = |name: &str| plan.steps.iter().find(|s| s.name == name).unwrap().permission_check.clone();
    assert!(matches!(check("SetTerminationProtection"), Some(PermissionCheck::Denied(_))), "{:?}", check("SetTerminationProtection"));
    assert!(matches!(check("SnapshotVolume"), Some(PermissionCheck::Denied(_))));
    assert_eq!(check("TagEc2Resource"), Some(PermissionCheck::Permitted));

    // Apply: the snapshot (evidence) fails, so the tagging after it does not run.
    let report = responder.apply(&plan, &case, ApplyOptions::default()).unwrap();
    let outcome = |name: &str| report.outcomes.iter().find(|o| o.name == name).unwrap().clone();
    assert_eq!(outcome("CaptureInstanceMetadata").status, StepStatus::Applied);
    let protection = outcome("SetTerminationProtection");
    assert_eq!(protection.status, StepStatus::Failed);
    assert!(protection.error.as_deref().unwrap().contains("ec2:ModifyInstanceAttribute"));
    let snapshot = outcome("SnapshotVolume");
    assert_eq!(snapshot.status, StepStatus::Failed);
    assert!(snapshot.error.as_deref().unwrap().contains("ec2:CreateSnapshot"));
    let tag = outcome("TagEc2Resource");
    assert_eq!(tag.status, StepStatus::Skipped);
    assert!(tag.error.as_deref().unwrap().contains("--continue-without-evidence"));
    let tags = |r: &Responder| {
        r.session()
            .block_on(reader_ec2.describe_instances().instance_ids(&instance_id).send())
            .unwrap()
            .reservations()[0]
            .instances()[0]
            .tags()
            .iter()
            .map(|t| t.key().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    assert!(!tags(&responder).iter().any(|k| k == "firebreak:quarantine"));
    let rendered = firebreak_aws::render::report_text(&report);
    assert!(rendered.contains("NOT RUN") && rendered.contains("FAILED"), "{rendered}");

    // The responder may override: the tag is applied.
    let plan = responder.plan(&request, &Guardrails::default()).unwrap();
    let report = responder.apply(&plan, &case, ApplyOptions { continue_without_evidence: true }).unwrap();
    assert_eq!(report.outcomes.iter().find(|o| o.name == "TagEc2Resource").unwrap().status, StepStatus::Applied);
    assert!(tags(&responder).iter().any(|k| k == "firebreak:quarantine"));
}

/// Denies one changing call per command. (moto 5.2 does not enforce IAM policies on
/// S3 PutPublicAccessBlock, so `contain bucket` is not part of this test.)
const NARROW_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Effect": "Deny", "Action": [
      "iam:PutRolePolicy", "iam:DeleteAccessKey", "iam:DeleteRole", "iam:DetachUserPolicy",
      "cloudtrail:StartLogging"
    ], "Resource": "*"}
  ]
}"#;

#[test]
fn every_command_names_the_denied_action() {
    let Some(moto) = Moto::private() else { return };
    let admin = session_with_key(&moto, "testing", "testing").expect("connect");
    let iam_admin = iam::Client::new(admin.sdk_config());
    let s3_admin = firebreak_aws::sdk::s3::Client::from_conf(
        firebreak_aws::sdk::s3::config::Builder::from(admin.sdk_config()).force_path_style(true).build(),
    );
    let trail_admin = firebreak_aws::sdk::cloudtrail::Client::new(admin.sdk_config());
    let (key, secret, policy_arn) = admin.block_on(async {
        iam_admin.create_user().user_name("responder").send().await.unwrap();
        iam_admin.put_user_policy().user_name("responder").policy_name("responder").policy_document(NARROW_POLICY).send().await.unwrap();
        let key = iam_admin.create_access_key().user_name("responder").send().await.unwrap().access_key().unwrap().clone();
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        iam_admin.create_role().role_name("web").assume_role_policy_document(trust).send().await.unwrap();
        iam_admin.create_user().user_name("mallory").send().await.unwrap();
        iam_admin.create_access_key().user_name("mallory").send().await.unwrap();
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        let policy = iam_admin.create_policy().policy_name("backdoor").policy_document(doc).send().await.unwrap();
        let arn = policy.policy().unwrap().arn().unwrap().to_string();
        iam_admin.attach_user_policy().user_name("mallory").policy_arn(&arn).send().await.unwrap();
        s3_admin.create_bucket().bucket("fb-denied-bucket").send().await.unwrap();
        trail_admin.create_trail().name("trail").s3_bucket_name("fb-denied-bucket").send().await.unwrap();
        (key.access_key_id().to_string(), key.secret_access_key().to_string(), arn)
    });
    moto.enforce_iam();
    let responder = Responder::new(session_with_key(&moto, &key, &secret).unwrap());
    let cases = [
        (Request::ContainRole { role_name: "web".into(), revoke_sessions: true }, "RevokeOlderSessions", "iam:PutRolePolicy"),
        (Request::RecoverCloudTrail { trail: "trail".into() }, "StartLogging", "cloudtrail:StartLogging"),
        (Request::EradicateUser { user_name: "mallory".into() }, "DeleteAccessKey", "iam:DeleteAccessKey"),
        (Request::EradicateRole { role_name: "web".into() }, "DeleteRole", "iam:DeleteRole"),
        (Request::EradicatePolicy { policy_arn: policy_arn.clone() }, "DetachManagedPolicy", "iam:DetachUserPolicy"),
    ];
    let (_dir, case) = temp_case();
    for (request, step, action) in cases {
        let plan = responder.plan(&request, &Guardrails::default()).unwrap_or_else(|e| panic!("{}: {e}", request.command_line()));
        let report = responder.apply(&plan, &case, ApplyOptions::default()).unwrap();
        let outcome = report.outcomes.iter().find(|o| o.name == step).unwrap_or_else(|| panic!("{report:#?}"));
        assert_eq!(outcome.status, StepStatus::Failed, "{}", request.command_line());
        let message = outcome.error.as_deref().unwrap_or_default();
        assert!(message.contains("permission denied") && message.contains(action), "{}: {message}", request.command_line());
        // A final deletion never runs after a failed step.
        if let Some(last) = report.outcomes.last().filter(|o| o.name.starts_with("Delete") && o.number > outcome.number) {
            assert_eq!(last.status, StepStatus::Skipped, "{}: {last:#?}", request.command_line());
        }
    }
    // Independent reads: nothing the denied calls would have changed has changed.
    let reader_iam = iam::Client::new(responder.session().sdk_config());
    responder.session().block_on(async {
        assert!(reader_iam.get_role().role_name("web").send().await.is_ok());
        assert_eq!(reader_iam.list_access_keys().user_name("mallory").send().await.unwrap().access_key_metadata().len(), 1);
        assert!(reader_iam.get_policy().policy_arn(&policy_arn).send().await.is_ok());
    });
}
