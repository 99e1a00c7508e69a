//! Metadata captures: read everything about a resource and write it into the case's
//! evidence folder (its SHA-256 goes into the action log with the step).

use firebreak_evidence::Case;
use serde_json::{json, Value};

use crate::error::{api_error, AwsError, Result};
use crate::exec::{decode_policy_document, Clients};
use crate::steps::StepAction;

fn dbg<T: std::fmt::Debug>(value: &T) -> String {
    format!("{value:#?}")
}

/// Runs a capture step and writes the capture into `case`. Returns what to record.
pub(crate) async fn capture(c: &Clients, step: &StepAction, case: &Case) -> Result<Value> {
    let (file_name, content) = match step {
        StepAction::CaptureUserMetadata { user_name } => (format!("iam-user-{user_name}.json"), capture_user(c, user_name).await?),
        StepAction::CaptureRoleMetadata { role_name } => (format!("iam-role-{role_name}.json"), capture_role(c, role_name).await?),
        StepAction::CaptureInstanceMetadata { instance_id } => (format!("ec2-instance-{instance_id}.json"), capture_instance(c, instance_id).await?),
        StepAction::CaptureTrail { trail } => (format!("cloudtrail-{}.json", sanitize(trail)), capture_trail(c, trail).await?),
        StepAction::CaptureQBusinessApp { application_id } => (format!("qbusiness-app-{application_id}.json"), capture_qbusiness(c, application_id).await?),
        other => return Err(AwsError::InvalidArgument(format!("{} is not a capture step", other.name()))),
    };
    let captured_at = jiff::Timestamp::now().to_string();
    let document = json!({ "captured_at": captured_at, "capture": step, "data": content });
    let bytes = serde_json::to_vec_pretty(&document)?;
    let file = case.write_evidence(&sanitize(&file_name), &bytes)?;
    Ok(json!({ "evidence_file": file.path, "sha256": file.sha256, "bytes": file.bytes }))
}

fn sanitize(name: &str) -> String {
    name.chars().map(|ch| if ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.') { ch } else { '_' }).collect()
}

async fn capture_user(c: &Clients, user: &str) -> Result<Value> {
    let got = c.iam.get_user().user_name(user).send().await.map_err(|e| api_error("iam:GetUser", e))?;
    let keys = c.iam.list_access_keys().user_name(user).max_items(1000).send().await.map_err(|e| api_error("iam:ListAccessKeys", e))?;
    let mut key_values = Vec::new();
    for k in keys.access_key_metadata() {
        let id = k.access_key_id().unwrap_or_default();
        let last_used = c.iam.get_access_key_last_used().access_key_id(id).send().await.ok().and_then(|o| o.access_key_last_used().map(dbg));
        key_values.push(json!({
            "access_key_id": id,
            "status": k.status().map(|s| s.as_str().to_string()),
            "created": k.create_date().map(|d| d.to_string()),
            "last_used": last_used,
        }));
    }
    let inline_names = c.iam.list_user_policies().user_name(user).max_items(1000).send().await.map_err(|e| api_error("iam:ListUserPolicies", e))?;
    let mut inline = serde_json::Map::new();
    for name in inline_names.policy_names() {
        let doc = c.iam.get_user_policy().user_name(user).policy_name(name).send().await.map_err(|e| api_error("iam:GetUserPolicy", e))?;
        inline.insert(name.clone(), Value::String(decode_policy_document(doc.policy_document())));
    }
    let attached = c.iam.list_attached_user_policies().user_name(user).max_items(1000).send().await.map_err(|e| api_error("iam:ListAttachedUserPolicies", e))?;
    let groups = c.iam.list_groups_for_user().user_name(user).max_items(1000).send().await.map_err(|e| api_error("iam:ListGroupsForUser", e))?;
    let mfa = c.iam.list_mfa_devices().user_name(user).send().await.map_err(|e| api_error("iam:ListMFADevices", e))?;
    let login = match c.iam.get_login_profile().user_name(user).send().await {
        Ok(out) => json!({ "exists": true, "created": out.login_profile().map(|p| p.create_date().to_string()) }),
        Err(err) => match api_error("iam:GetLoginProfile", err) {
            AwsError::NotFound { .. } => json!({ "exists": false }),
            e => return Err(e),
        },
    };
    let tags = c.iam.list_user_tags().user_name(user).send().await.map_err(|e| api_error("iam:ListUserTags", e))?;
    Ok(json!({
        "user": got.user().map(|u| json!({"user_name": u.user_name(), "arn": u.arn(), "user_id": u.user_id(), "created": u.create_date().to_string(), "path": u.path()})),
        "access_keys": key_values,
        "inline_policies": inline,
        "attached_policies": attached.attached_policies().iter().map(|p| json!({"arn": p.policy_arn(), "name": p.policy_name()})).collect::<Vec<_>>(),
        "groups": groups.groups().iter().map(|g| g.group_name().to_string()).collect::<Vec<_>>(),
        "mfa_devices": mfa.mfa_devices().iter().map(|d| json!({"serial_number": d.serial_number(), "enabled": d.enable_date().to_string()})).collect::<Vec<_>>(),
        "login_profile": login,
        "tags": tags.tags().iter().map(|t| json!({"key": t.key(), "value": t.value()})).collect::<Vec<_>>(),
    }))
}

async fn capture_role(c: &Clients, role: &str) -> Result<Value> {
    let got = c.iam.get_role().role_name(role).send().await.map_err(|e| api_error("iam:GetRole", e))?;
    let inline_names = c.iam.list_role_policies().role_name(role).max_items(1000).send().await.map_err(|e| api_error("iam:ListRolePolicies", e))?;
    let mut inline = serde_json::Map::new();
    for name in inline_names.policy_names() {
        let doc = c.iam.get_role_policy().role_name(role).policy_name(name).send().await.map_err(|e| api_error("iam:GetRolePolicy", e))?;
        inline.insert(name.clone(), Value::String(decode_policy_document(doc.policy_document())));
    }
    let attached = c.iam.list_attached_role_policies().role_name(role).max_items(1000).send().await.map_err(|e| api_error("iam:ListAttachedRolePolicies", e))?;
    let profiles = c.iam.list_instance_profiles_for_role().role_name(role).send().await.map_err(|e| api_error("iam:ListInstanceProfilesForRole", e))?;
    let tags = c.iam.list_role_tags().role_name(role).send().await.map_err(|e| api_error("iam:ListRoleTags", e))?;
    Ok(json!({
        "role": got.role().map(|r| json!({
            "role_name": r.role_name(), "arn": r.arn(), "role_id": r.role_id(), "path": r.path(),
            "created": r.create_date().to_string(),
            "trust_policy": r.assume_role_policy_document().map(decode_policy_document),
        })),
        "inline_policies": inline,
        "attached_policies": attached.attached_policies().iter().map(|p| json!({"arn": p.policy_arn(), "name": p.policy_name()})).collect::<Vec<_>>(),
        "instance_profiles": profiles.instance_profiles().iter().map(|p| json!({"name": p.instance_profile_name(), "arn": p.arn()})).collect::<Vec<_>>(),
        "tags": tags.tags().iter().map(|t| json!({"key": t.key(), "value": t.value()})).collect::<Vec<_>>(),
    }))
}

async fn capture_instance(c: &Clients, instance_id: &str) -> Result<Value> {
    use aws_sdk_ec2::types::Filter;
    let out = c.ec2.describe_instances().instance_ids(instance_id).send().await.map_err(|e| api_error("ec2:DescribeInstances", e))?;
    let instance = out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .find(|i| i.instance_id() == Some(instance_id))
        .ok_or_else(|| AwsError::NotFound { what: format!("instance {instance_id}") })?;
    let volume_ids: Vec<String> = instance.block_device_mappings().iter().filter_map(|m| m.ebs().and_then(|e| e.volume_id()).map(String::from)).collect();
    let volumes = if volume_ids.is_empty() {
        Vec::new()
    } else {
        let v = c.ec2.describe_volumes().set_volume_ids(Some(volume_ids.clone())).send().await.map_err(|e| api_error("ec2:DescribeVolumes", e))?;
        v.volumes()
            .iter()
            .map(|vol| {
                json!({
                    "volume_id": vol.volume_id(), "size_gib": vol.size(), "type": vol.volume_type().map(|t| t.as_str().to_string()),
                    "encrypted": vol.encrypted(), "kms_key_id": vol.kms_key_id(), "snapshot_id": vol.snapshot_id(),
                    "raw": dbg(vol),
                })
            })
            .collect()
    };
    let enis = c
        .ec2
        .describe_network_interfaces()
        .filters(Filter::builder().name("attachment.instance-id").values(instance_id).build())
        .send()
        .await
        .map_err(|e| api_error("ec2:DescribeNetworkInterfaces", e))?;
    let group_ids: Vec<String> = instance
        .network_interfaces()
        .iter()
        .flat_map(|n| n.groups())
        .chain(instance.security_groups())
        .filter_map(|g| g.group_id().map(String::from))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let groups = if group_ids.is_empty() {
        Vec::new()
    } else {
        let g = c.ec2.describe_security_groups().set_group_ids(Some(group_ids)).send().await.map_err(|e| api_error("ec2:DescribeSecurityGroups", e))?;
        g.security_groups()
            .iter()
            .map(|sg| json!({"group_id": sg.group_id(), "group_name": sg.group_name(), "vpc_id": sg.vpc_id(), "ingress": dbg(&sg.ip_permissions()), "egress": dbg(&sg.ip_permissions_egress())}))
            .collect()
    };
    Ok(json!({
        "instance": {
            "instance_id": instance.instance_id(),
            "instance_type": instance.instance_type().map(|t| t.as_str().to_string()),
            "state": instance.state().and_then(|s| s.name()).map(|n| n.as_str().to_string()),
            "image_id": instance.image_id(),
            "launch_time": instance.launch_time().map(|t| t.to_string()),
            "vpc_id": instance.vpc_id(),
            "subnet_id": instance.subnet_id(),
            "private_ip": instance.private_ip_address(),
            "public_ip": instance.public_ip_address(),
            "key_name": instance.key_name(),
            "iam_instance_profile": instance.iam_instance_profile().map(|p| json!({"arn": p.arn(), "id": p.id()})),
            "security_groups": instance.security_groups().iter().map(|g| json!({"group_id": g.group_id(), "group_name": g.group_name()})).collect::<Vec<_>>(),
            "tags": instance.tags().iter().map(|t| json!({"key": t.key(), "value": t.value()})).collect::<Vec<_>>(),
            "block_devices": instance.block_device_mappings().iter().map(|m| json!({"device": m.device_name(), "volume_id": m.ebs().and_then(|e| e.volume_id()), "delete_on_termination": m.ebs().and_then(|e| e.delete_on_termination())})).collect::<Vec<_>>(),
            "raw": dbg(instance),
        },
        "volumes": volumes,
        "network_interfaces": enis.network_interfaces().iter().map(|n| json!({
            "network_interface_id": n.network_interface_id(),
            "private_ip": n.private_ip_address(),
            "groups": n.groups().iter().map(|g| g.group_id()).collect::<Vec<_>>(),
            "raw": dbg(n),
        })).collect::<Vec<_>>(),
        "security_groups": groups,
    }))
}

async fn capture_trail(c: &Clients, trail: &str) -> Result<Value> {
    let got = c.cloudtrail.get_trail().name(trail).send().await.map_err(|e| api_error("cloudtrail:GetTrail", e))?;
    let status = c.cloudtrail.get_trail_status().name(trail).send().await.map_err(|e| api_error("cloudtrail:GetTrailStatus", e))?;
    let selectors = c.cloudtrail.get_event_selectors().trail_name(trail).send().await.map(|o| dbg(&o)).unwrap_or_else(|e| format!("unavailable: {}", api_error("cloudtrail:GetEventSelectors", e)));
    Ok(json!({
        "trail": got.trail().map(|t| json!({
            "name": t.name(), "arn": t.trail_arn(), "s3_bucket": t.s3_bucket_name(), "s3_key_prefix": t.s3_key_prefix(),
            "multi_region": t.is_multi_region_trail(), "include_global_service_events": t.include_global_service_events(),
            "log_file_validation": t.log_file_validation_enabled(), "kms_key_id": t.kms_key_id(),
            "cloudwatch_logs_log_group": t.cloud_watch_logs_log_group_arn(), "sns_topic": t.sns_topic_arn(),
        })),
        "is_logging": status.is_logging(),
        "status_raw": dbg(&status),
        "event_selectors": selectors,
    }))
}

async fn capture_qbusiness(c: &Clients, app: &str) -> Result<Value> {
    let got = c.qbusiness.get_application().application_id(app).send().await.map_err(|e| api_error("qbusiness:GetApplication", e))?;
    let retrievers = c.qbusiness.list_retrievers().application_id(app).send().await.map(|o| dbg(&o.retrievers())).unwrap_or_else(|e| format!("unavailable: {}", api_error("qbusiness:ListRetrievers", e)));
    let plugins = c.qbusiness.list_plugins().application_id(app).send().await.map(|o| dbg(&o.plugins())).unwrap_or_else(|e| format!("unavailable: {}", api_error("qbusiness:ListPlugins", e)));
    let indices = c.qbusiness.list_indices().application_id(app).send().await.map(|o| dbg(&o.indices())).unwrap_or_else(|e| format!("unavailable: {}", api_error("qbusiness:ListIndices", e)));
    Ok(json!({
        "application": { "application_id": got.application_id(), "arn": got.application_arn(), "display_name": got.display_name(), "raw": dbg(&got) },
        "retrievers": retrievers,
        "plugins": plugins,
        "indices": indices,
    }))
}
