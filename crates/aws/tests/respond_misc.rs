//! End-to-end: bucket containment and CloudTrail recovery against moto.

mod common;

use common::{fresh_responder, guard, temp_case};
use firebreak_aws::sdk::{cloudtrail, s3};
use firebreak_aws::{list_actions, ApplyOptions, AwsError, Request, Responder, StepAction};

fn s3_client(responder: &Responder) -> s3::Client {
    let conf = s3::config::Builder::from(responder.session().sdk_config()).force_path_style(true).build();
    s3::Client::from_conf(conf)
}

/// (BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets), or None.
fn public_access_block(responder: &Responder, bucket: &str) -> Option<[bool; 4]> {
    let s3 = s3_client(responder);
    match responder.session().block_on(s3.get_public_access_block().bucket(bucket).send()) {
        Ok(out) => {
            let c = out.public_access_block_configuration().unwrap();
            Some([
                c.block_public_acls().unwrap_or(false),
                c.ignore_public_acls().unwrap_or(false),
                c.block_public_policy().unwrap_or(false),
                c.restrict_public_buckets().unwrap_or(false),
            ])
        }
        Err(err) => {
            assert_eq!(err.into_service_error().meta().code(), Some("NoSuchPublicAccessBlockConfiguration"));
            None
        }
    }
}

#[test]
fn contain_bucket_blocks_public_access_and_rolls_back() {
    let moto = moto_or_skip!();
    let responder = fresh_responder(moto);
    let bucket = format!("fb-leaky-{}", responder.session().identity().account);
    let s3 = s3_client(&responder);
    responder.session().block_on(s3.create_bucket().bucket(&bucket).send()).unwrap();
    assert_eq!(public_access_block(&responder, &bucket), None);

    let request = Request::ContainBucket { bucket: bucket.clone(), block_public: true };
    let plan = responder.plan(&request, &guard()).unwrap();
    assert_eq!(plan.steps.len(), 1);
    assert_eq!(plan.steps[0].call, "s3:PutBucketPublicAccessBlock");
    assert_eq!(public_access_block(&responder, &bucket), None, "the plan changes nothing");

    let (_dir, case) = temp_case();
    assert!(responder.apply(&plan, &case, ApplyOptions::default()).unwrap().succeeded());
    assert_eq!(public_access_block(&responder, &bucket), Some([true; 4]));
    let again = responder.apply(&responder.plan(&request, &guard()).unwrap(), &case, ApplyOptions::default()).unwrap();
    assert_eq!(again.changed(), 0);

    let id = list_actions(&case).unwrap()[0].action_id.to_string();
    let rollback = responder.plan_rollback(&case, &id).unwrap();
    assert!(matches!(rollback.steps[0].action, StepAction::DeletePublicAccessBlock { .. }));
    assert!(responder.apply(&rollback, &case, ApplyOptions::default()).unwrap().succeeded());
    assert_eq!(public_access_block(&responder, &bucket), None);

    // Without --block-public there is nothing to do.
    assert!(matches!(responder.plan(&Request::ContainBucket { bucket: bucket.clone(), block_public: false }, &guard()), Err(AwsError::InvalidArgument(_))));
}

#[test]
fn protected_bucket_is_refused() {
    let moto = moto_or_skip!();
    let responder = fresh_responder(moto);
    let bucket = format!("fb-protected-{}", responder.session().identity().account);
    let s3 = s3_client(&responder);
    responder.session().block_on(async {
        s3.create_bucket().bucket(&bucket).send().await.unwrap();
        let tagging = s3::types::Tagging::builder()
            .tag_set(s3::types::Tag::builder().key("firebreak:protected").value("logs").build().unwrap())
            .build()
            .unwrap();
        s3.put_bucket_tagging().bucket(&bucket).tagging(tagging).send().await.unwrap();
    });
    let request = Request::ContainBucket { bucket: bucket.clone(), block_public: true };
    assert!(matches!(responder.plan(&request, &guard()), Err(AwsError::Protected { .. })));
    assert_eq!(public_access_block(&responder, &bucket), None);
}

#[test]
fn recover_cloudtrail_starts_logging_and_restores_settings() {
    let moto = moto_or_skip!();
    let responder = fresh_responder(moto);
    let bucket = format!("fb-trail-{}", responder.session().identity().account);
    let s3 = s3_client(&responder);
    let ct = cloudtrail::Client::new(responder.session().sdk_config());
    responder.session().block_on(async {
        s3.create_bucket().bucket(&bucket).send().await.unwrap();
        ct.create_trail().name("org-trail").s3_bucket_name(&bucket).is_multi_region_trail(false).include_global_service_events(false).send().await.unwrap();
    });
    let status = |r: &Responder| {
        r.session().block_on(async {
            let logging = ct.get_trail_status().name("org-trail").send().await.unwrap().is_logging().unwrap_or(false);
            let t = ct.get_trail().name("org-trail").send().await.unwrap().trail().unwrap().clone();
            (logging, t.is_multi_region_trail().unwrap_or(false), t.include_global_service_events().unwrap_or(false), t.log_file_validation_enabled().unwrap_or(false))
        })
    };
    assert_eq!(status(&responder), (false, false, false, false));
    let request = Request::RecoverCloudTrail { trail: "org-trail".into() };
    let plan = responder.plan(&request, &guard()).unwrap();
    let names: Vec<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["CaptureTrail", "StartLogging", "UpdateTrailSettings"]);
    assert_eq!(status(&responder), (false, false, false, false));

    let (_dir, case) = temp_case();
    let report = responder.apply(&plan, &case, ApplyOptions::default()).unwrap();
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(status(&responder), (true, true, true, true));
    assert_eq!(responder.apply(&responder.plan(&request, &guard()).unwrap(), &case, ApplyOptions::default()).unwrap().changed(), 0);

    let actions = list_actions(&case).unwrap();
    // StartLogging is deliberately not reversed; the settings are.
    let start = actions.iter().find(|a| matches!(a.action, StepAction::StartLogging { .. })).unwrap();
    let plan = responder.plan_rollback(&case, &start.action_id.to_string()).unwrap();
    assert!(plan.steps.is_empty() && plan.notes[0].contains("does not stop"));
    let update = actions.iter().find(|a| matches!(a.action, StepAction::UpdateTrailSettings { .. })).unwrap();
    let plan = responder.plan_rollback(&case, &update.action_id.to_string()).unwrap();
    assert!(responder.apply(&plan, &case, ApplyOptions::default()).unwrap().succeeded());
    assert_eq!(status(&responder), (true, false, false, false));
}

#[test]
fn protected_trail_is_refused() {
    let moto = moto_or_skip!();
    let responder = fresh_responder(moto);
    let bucket = format!("fb-ptrail-{}", responder.session().identity().account);
    let s3 = s3_client(&responder);
    let ct = cloudtrail::Client::new(responder.session().sdk_config());
    responder.session().block_on(async {
        s3.create_bucket().bucket(&bucket).send().await.unwrap();
        let trail = ct.create_trail().name("audit").s3_bucket_name(&bucket).send().await.unwrap();
        ct.add_tags()
            .resource_id(trail.trail_arn().unwrap())
            .tags_list(cloudtrail::types::Tag::builder().key("firebreak:protected").value("org").build().unwrap())
            .send()
            .await
            .unwrap();
    });
    let request = Request::RecoverCloudTrail { trail: "audit".into() };
    assert!(matches!(responder.plan(&request, &guard()), Err(AwsError::Protected { .. })));
    let logging = responder.session().block_on(ct.get_trail_status().name("audit").send()).unwrap().is_logging();
    assert_ne!(logging, Some(true));
}
