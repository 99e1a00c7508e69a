//! End-to-end: instance containment (all seven steps) against moto, state checked through
//! independent SDK reads.

mod common;

use std::collections::BTreeMap;

use common::{fresh_responder, guard, temp_case};
use firebreak_aws::sdk::{autoscaling, ec2, elb, elbv2};
use firebreak_aws::{list_actions, ApplyOptions, AwsError, PermissionCheck, Request, Responder, StepAction};

const AMI: &str = "ami-03cf127a";

struct Fleet {
    vpc_id: String,
    web_sg: String,
    instance_id: String,
    target_group_arn: String,
}

/// A VPC with an Auto Scaling group of one instance, registered with a classic load
/// balancer and an ELBv2 target group; the web security group allows HTTP in.
fn fleet(responder: &Responder) -> Fleet {
    let conf = responder.session().sdk_config();
    let (ec2c, asg, elbc, elb2) = (ec2::Client::new(conf), autoscaling::Client::new(conf), elb::Client::new(conf), elbv2::Client::new(conf));
    responder.session().block_on(async {
        let vpc = ec2c.create_vpc().cidr_block("10.0.0.0/16").send().await.unwrap().vpc().unwrap().vpc_id().unwrap().to_string();
        let subnet = ec2c
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block("10.0.1.0/24")
            .availability_zone("us-east-1a")
            .send()
            .await
            .unwrap()
            .subnet()
            .unwrap()
            .subnet_id()
            .unwrap()
            .to_string();
        let web_sg = ec2c.create_security_group().group_name("web").description("web").vpc_id(&vpc).send().await.unwrap().group_id().unwrap().to_string();
        ec2c.authorize_security_group_ingress().group_id(&web_sg).ip_protocol("tcp").from_port(80).to_port(80).cidr_ip("0.0.0.0/0").send().await.unwrap();
        ec2c.create_launch_template()
            .launch_template_name("web-lt")
            .launch_template_data(
                ec2::types::RequestLaunchTemplateData::builder()
                    .image_id(AMI)
                    .instance_type(ec2::types::InstanceType::T3Micro)
                    .security_group_ids(&web_sg)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        asg.create_auto_scaling_group()
            .auto_scaling_group_name("web-asg")
            .launch_template(autoscaling::types::LaunchTemplateSpecification::builder().launch_template_name("web-lt").version("$Latest").build())
            .min_size(1)
            .max_size(3)
            .desired_capacity(1)
            .vpc_zone_identifier(&subnet)
            .send()
            .await
            .unwrap();
        let groups = asg.describe_auto_scaling_groups().auto_scaling_group_names("web-asg").send().await.unwrap();
        let instance_id = groups.auto_scaling_groups()[0].instances()[0].instance_id().unwrap().to_string();
        elbc.create_load_balancer()
            .load_balancer_name("web-clb")
            .listeners(elb::types::Listener::builder().protocol("HTTP").load_balancer_port(80).instance_port(80).build().unwrap())
            .subnets(&subnet)
            .send()
            .await
            .unwrap();
        elbc.register_instances_with_load_balancer()
            .load_balancer_name("web-clb")
            .instances(elb::types::Instance::builder().instance_id(&instance_id).build())
            .send()
            .await
            .unwrap();
        let tg = elb2
            .create_target_group()
            .name("web-tg")
            .protocol(elbv2::types::ProtocolEnum::Http)
            .port(80)
            .vpc_id(&vpc)
            .target_type(elbv2::types::TargetTypeEnum::Instance)
            .send()
            .await
            .unwrap();
        let target_group_arn = tg.target_groups()[0].target_group_arn().unwrap().to_string();
        elb2.register_targets()
            .target_group_arn(&target_group_arn)
            .targets(elbv2::types::TargetDescription::builder().id(&instance_id).port(80).build())
            .send()
            .await
            .unwrap();
        Fleet { vpc_id: vpc, web_sg, instance_id, target_group_arn }
    })
}

struct Observed {
    termination_protection: bool,
    eni_groups: Vec<Vec<String>>,
    in_asg: bool,
    asg_instances: usize,
    in_clb: bool,
    in_tg: bool,
    snapshots: Vec<(String, BTreeMap<String, String>)>,
    tags: BTreeMap<String, String>,
}

fn observe(responder: &Responder, fleet: &Fleet) -> Observed {
    let conf = responder.session().sdk_config();
    let (ec2c, asg, elbc, elb2) = (ec2::Client::new(conf), autoscaling::Client::new(conf), elb::Client::new(conf), elbv2::Client::new(conf));
    let id = fleet.instance_id.as_str();
    responder.session().block_on(async {
        let attr = ec2c.describe_instance_attribute().instance_id(id).attribute(ec2::types::InstanceAttributeName::DisableApiTermination).send().await.unwrap();
        let instance = ec2c.describe_instances().instance_ids(id).send().await.unwrap().reservations()[0].instances()[0].clone();
        let mut eni_groups = Vec::new();
        for eni in instance.network_interfaces() {
            let out = ec2c.describe_network_interfaces().network_interface_ids(eni.network_interface_id().unwrap()).send().await.unwrap();
            eni_groups.push(out.network_interfaces()[0].groups().iter().map(|g| g.group_id().unwrap().to_string()).collect());
        }
        let group = asg.describe_auto_scaling_groups().auto_scaling_group_names("web-asg").send().await.unwrap().auto_scaling_groups()[0].clone();
        let clb = elbc.describe_load_balancers().load_balancer_names("web-clb").send().await.unwrap();
        let health = elb2.describe_target_health().target_group_arn(&fleet.target_group_arn).send().await.unwrap();
        let snaps = ec2c
            .describe_snapshots()
            .owner_ids("self")
            .filters(ec2::types::Filter::builder().name("tag:firebreak:source-instance").values(id).build())
            .send()
            .await
            .unwrap();
        Observed {
            termination_protection: attr.disable_api_termination().and_then(|v| v.value()).unwrap_or(false),
            eni_groups,
            in_asg: group.instances().iter().any(|i| i.instance_id() == Some(id)),
            asg_instances: group.instances().len(),
            in_clb: clb.load_balancer_descriptions()[0].instances().iter().any(|i| i.instance_id() == Some(id)),
            in_tg: health.target_health_descriptions().iter().any(|d| d.target().and_then(|t| t.id()) == Some(id)),
            snapshots: snaps
                .snapshots()
                .iter()
                .map(|s| (s.snapshot_id().unwrap().to_string(), s.tags().iter().map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string())).collect()))
                .collect(),
            tags: instance.tags().iter().map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string())).collect(),
        }
    })
}

#[test]
fn contain_instance_seven_steps_rerun_and_rollback() {
    let moto = moto_or_skip!();
    let responder = fresh_responder(moto);
    let fleet = fleet(&responder);
    let before = observe(&responder, &fleet);
    assert!(before.in_asg && before.in_clb && before.in_tg && !before.termination_protection);
    assert!(before.snapshots.is_empty());

    let request = Request::ContainInstance {
        instance_id: fleet.instance_id.clone(),
        forensic_account: Some("111122223333".into()),
        ticket: Some("IR-42".into()),
        decrement_capacity: false,
        quarantine_group_name: "firebreak-quarantine".into(),
    };
    let plan = responder.plan(&request, &guard()).unwrap();
    let names: Vec<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
    let volumes = names.iter().filter(|n| **n == "SnapshotVolume").count();
    assert!(volumes >= 1, "moto attaches a root volume: {names:?}");
    let mut expected = vec![
        "CaptureInstanceMetadata",
        "SetTerminationProtection",
        "EnsureQuarantineSecurityGroup",
        "ModifyNetworkInterfaceGroups",
        "DetachFromAutoScalingGroup",
        "DeregisterFromClassicLoadBalancer",
        "DeregisterFromTargetGroup",
    ];
    expected.extend(std::iter::repeat_n("SnapshotVolume", volumes));
    expected.extend(std::iter::repeat_n("ShareSnapshot", volumes));
    expected.push("TagEc2Resource");
    assert_eq!(names, expected);
    // EC2 steps were dry-run: the plan proves the permissions.
    let protection = &plan.steps[1];
    assert_eq!(protection.permission_check, Some(PermissionCheck::Permitted));
    let snapshot_step = plan.steps.iter().find(|s| s.name == "SnapshotVolume").unwrap();
    assert_eq!(snapshot_step.permission_check, Some(PermissionCheck::Permitted));
    assert!(plan.notes.iter().any(|n| n.contains("tracked")));

    // Nothing changed.
    let after_plan = observe(&responder, &fleet);
    assert_eq!(after_plan.eni_groups, before.eni_groups);
    assert!(after_plan.in_asg && after_plan.in_clb && after_plan.in_tg && !after_plan.termination_protection);
    assert!(after_plan.snapshots.is_empty());

    let (_dir, case) = temp_case();
    let report = responder.apply(&plan, &case, ApplyOptions::default()).unwrap();
    assert!(report.succeeded(), "{report:#?}");
    let after = observe(&responder, &fleet);
    assert!(after.termination_protection);
    let quarantine = responder
        .session()
        .block_on(
            ec2::Client::new(responder.session().sdk_config())
                .describe_security_groups()
                .filters(ec2::types::Filter::builder().name("group-name").values("firebreak-quarantine").build())
                .send(),
        )
        .unwrap()
        .security_groups()[0]
        .clone();
    assert_eq!(quarantine.vpc_id(), Some(fleet.vpc_id.as_str()));
    assert!(quarantine.ip_permissions().is_empty() && quarantine.ip_permissions_egress().is_empty(), "no rules at all");
    let qid = quarantine.group_id().unwrap().to_string();
    assert!(after.eni_groups.iter().all(|g| g == &vec![qid.clone()]), "after {:?} before {:?} quarantine {qid} report {report:#?}", after.eni_groups, before.eni_groups);
    assert!(!after.in_asg);
    assert_eq!(after.asg_instances, 1, "the group launched a replacement");
    assert!(!after.in_clb && !after.in_tg);
    assert_eq!(after.snapshots.len(), volumes);
    for (snapshot_id, tags) in &after.snapshots {
        assert_eq!(tags.get("firebreak:quarantine").map(String::as_str), Some("true"));
        assert_eq!(tags.get("firebreak:ticket").map(String::as_str), Some("IR-42"));
        let shared = responder
            .session()
            .block_on(
                ec2::Client::new(responder.session().sdk_config())
                    .describe_snapshot_attribute()
                    .snapshot_id(snapshot_id)
                    .attribute(ec2::types::SnapshotAttributeName::CreateVolumePermission)
                    .send(),
            )
            .unwrap();
        assert!(shared.create_volume_permissions().iter().any(|p| p.user_id() == Some("111122223333")));
    }
    assert_eq!(after.tags.get("firebreak:quarantine").map(String::as_str), Some("true"));
    assert_eq!(after.tags.get("firebreak:ticket").map(String::as_str), Some("IR-42"));
    // Metadata was captured before any change and its hash recorded.
    let actions = list_actions(&case).unwrap();
    assert!(matches!(actions[0].action, StepAction::CaptureInstanceMetadata { .. }));
    let evidence = std::fs::read_to_string(actions[0].result.as_ref().unwrap()["evidence_file"].as_str().unwrap()).unwrap();
    assert!(evidence.contains(&fleet.web_sg), "the capture holds the original security group");

    // Second apply: a no-op (no new snapshot, no new log entries).
    let logged = case.action_log().verify().unwrap();
    let again = responder.plan(&request, &guard()).unwrap();
    let report = responder.apply(&again, &case, ApplyOptions::default()).unwrap();
    assert_eq!(report.changed(), 0, "{report:#?}");
    assert_eq!(case.action_log().verify().unwrap(), logged);
    assert_eq!(observe(&responder, &fleet).snapshots.len(), volumes);

    // Rollback: security groups, termination protection and tags come back.
    for action in &actions {
        let reversible = matches!(
            action.action,
            StepAction::ModifyNetworkInterfaceGroups { .. } | StepAction::SetTerminationProtection { .. } | StepAction::TagEc2Resource { .. }
        );
        let plan = responder.plan_rollback(&case, &action.action_id.to_string()).unwrap();
        assert_eq!(plan.steps.len(), usize::from(reversible), "{:?}: {:?}", action.action, plan.notes);
        if reversible {
            assert!(responder.apply(&plan, &case, ApplyOptions::default()).unwrap().succeeded());
        }
    }
    let rolled = observe(&responder, &fleet);
    assert_eq!(rolled.eni_groups, before.eni_groups);
    assert!(!rolled.termination_protection);
    assert!(!rolled.tags.contains_key("firebreak:quarantine") && !rolled.tags.contains_key("firebreak:ticket"));
    assert_eq!(rolled.snapshots.len(), volumes, "evidence is kept");
}

#[test]
fn protected_instance_is_refused() {
    let moto = moto_or_skip!();
    let responder = fresh_responder(moto);
    let conf = responder.session().sdk_config();
    let ec2c = ec2::Client::new(conf);
    let id = responder.session().block_on(async {
        let out = ec2c
            .run_instances()
            .image_id(AMI)
            .min_count(1)
            .max_count(1)
            .tag_specifications(
                ec2::types::TagSpecification::builder()
                    .resource_type(ec2::types::ResourceType::Instance)
                    .tags(ec2::types::Tag::builder().key("firebreak:protected").value("prod-db").build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        out.instances()[0].instance_id().unwrap().to_string()
    });
    let request = Request::ContainInstance {
        instance_id: id.clone(),
        forensic_account: None,
        ticket: None,
        decrement_capacity: false,
        quarantine_group_name: "firebreak-quarantine".into(),
    };
    match responder.plan(&request, &guard()) {
        Err(AwsError::Protected { resource, tag_value, .. }) => {
            assert!(resource.contains(&id));
            assert_eq!(tag_value, "prod-db");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}
