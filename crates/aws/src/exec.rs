//! Reading, dry-running and applying [`StepAction`]s against AWS.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::error::{api_error, AwsError, Result};
use crate::session::Session;
use crate::steps::*;

/// A step's state before it runs.
#[derive(Debug, Clone)]
pub(crate) struct StepState {
    /// The state as recorded in the action log.
    pub before: Value,
    /// The resource already is in the state the step produces (applying is a no-op).
    pub satisfied: bool,
}

impl StepState {
    fn new(before: Value, satisfied: bool) -> Self {
        Self { before, satisfied }
    }
}

/// Outcome of an EC2 DryRun call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "result", content = "detail", rename_all = "snake_case")]
pub enum PermissionCheck {
    /// AWS answered DryRunOperation: the caller may make the call.
    Permitted,
    /// AWS answered UnauthorizedOperation.
    Denied(String),
    /// The dry run failed for another reason.
    Error(String),
}

/// Clients for one session (created once per run).
pub(crate) struct Clients {
    pub iam: aws_sdk_iam::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub elb: aws_sdk_elasticloadbalancing::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub s3: aws_sdk_s3::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    pub qbusiness: aws_sdk_qbusiness::Client,
}

impl Clients {
    pub fn new(session: &Session) -> Self {
        Self {
            iam: session.iam(),
            ec2: session.ec2(),
            autoscaling: session.autoscaling(),
            elb: session.elb(),
            elbv2: session.elbv2(),
            s3: session.s3(),
            cloudtrail: session.cloudtrail(),
            qbusiness: session.qbusiness(),
        }
    }
}

/// Decodes IAM's URL-encoded policy documents (plain JSON is returned unchanged).
pub fn decode_policy_document(raw: &str) -> String {
    if !raw.starts_with('%') {
        return raw.to_string();
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn same_json(a: &str, b: &str) -> bool {
    match (serde_json::from_str::<Value>(a), serde_json::from_str::<Value>(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Reads an inline policy document; `None` when it does not exist.
async fn get_inline(c: &Clients, principal: &Principal, name: &str) -> Result<Option<String>> {
    let res = match principal {
        Principal::User(p) => c.iam.get_user_policy().user_name(p).policy_name(name).send().await.map(|o| o.policy_document().to_string()).map_err(|e| api_error("iam:GetUserPolicy", e)),
        Principal::Role(p) => c.iam.get_role_policy().role_name(p).policy_name(name).send().await.map(|o| o.policy_document().to_string()).map_err(|e| api_error("iam:GetRolePolicy", e)),
        Principal::Group(p) => c.iam.get_group_policy().group_name(p).policy_name(name).send().await.map(|o| o.policy_document().to_string()).map_err(|e| api_error("iam:GetGroupPolicy", e)),
    };
    match res {
        Ok(doc) => Ok(Some(decode_policy_document(&doc))),
        Err(AwsError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn put_inline(c: &Clients, principal: &Principal, name: &str, doc: &str) -> Result<()> {
    match principal {
        Principal::User(p) => c.iam.put_user_policy().user_name(p).policy_name(name).policy_document(doc).send().await.map(|_| ()).map_err(|e| api_error("iam:PutUserPolicy", e)),
        Principal::Role(p) => c.iam.put_role_policy().role_name(p).policy_name(name).policy_document(doc).send().await.map(|_| ()).map_err(|e| api_error("iam:PutRolePolicy", e)),
        Principal::Group(p) => c.iam.put_group_policy().group_name(p).policy_name(name).policy_document(doc).send().await.map(|_| ()).map_err(|e| api_error("iam:PutGroupPolicy", e)),
    }
}

async fn attached_policies(c: &Clients, principal: &Principal) -> Result<Vec<String>> {
    let list = match principal {
        Principal::User(p) => c.iam.list_attached_user_policies().user_name(p).max_items(1000).send().await.map(|o| o.attached_policies().to_vec()).map_err(|e| api_error("iam:ListAttachedUserPolicies", e))?,
        Principal::Role(p) => c.iam.list_attached_role_policies().role_name(p).max_items(1000).send().await.map(|o| o.attached_policies().to_vec()).map_err(|e| api_error("iam:ListAttachedRolePolicies", e))?,
        Principal::Group(p) => c.iam.list_attached_group_policies().group_name(p).max_items(1000).send().await.map(|o| o.attached_policies().to_vec()).map_err(|e| api_error("iam:ListAttachedGroupPolicies", e))?,
    };
    Ok(list.iter().filter_map(|p| p.policy_arn().map(String::from)).collect())
}

async fn key_status(c: &Clients, user: &str, key: &str) -> Result<Option<String>> {
    let out = c.iam.list_access_keys().user_name(user).max_items(1000).send().await.map_err(|e| api_error("iam:ListAccessKeys", e))?;
    Ok(out
        .access_key_metadata()
        .iter()
        .find(|k| k.access_key_id() == Some(key))
        .map(|k| k.status().map(|s| s.as_str().to_string()).unwrap_or_default()))
}

async fn user_groups(c: &Clients, user: &str) -> Result<Vec<String>> {
    let out = c.iam.list_groups_for_user().user_name(user).max_items(1000).send().await.map_err(|e| api_error("iam:ListGroupsForUser", e))?;
    Ok(out.groups().iter().map(|g| g.group_name().to_string()).collect())
}

pub(crate) async fn find_quarantine_group(c: &Clients, vpc_id: &str, name: &str) -> Result<Option<aws_sdk_ec2::types::SecurityGroup>> {
    use aws_sdk_ec2::types::Filter;
    let out = c
        .ec2
        .describe_security_groups()
        .filters(Filter::builder().name("group-name").values(name).build())
        .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
        .send()
        .await
        .map_err(|e| api_error("ec2:DescribeSecurityGroups", e))?;
    Ok(out.security_groups().iter().find(|g| g.group_name() == Some(name) && g.vpc_id() == Some(vpc_id)).cloned())
}

async fn eni_groups(c: &Clients, eni: &str) -> Result<Vec<String>> {
    let out = c.ec2.describe_network_interfaces().network_interface_ids(eni).send().await.map_err(|e| api_error("ec2:DescribeNetworkInterfaces", e))?;
    let iface = out.network_interfaces().first().ok_or_else(|| AwsError::NotFound { what: format!("network interface {eni}") })?;
    Ok(iface.groups().iter().filter_map(|g| g.group_id().map(String::from)).collect())
}

pub(crate) async fn find_forensic_snapshot(c: &Clients, instance_id: &str, volume_id: &str) -> Result<Option<String>> {
    use aws_sdk_ec2::types::{Filter, SnapshotState};
    let out = c
        .ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(Filter::builder().name(format!("tag:{SOURCE_VOLUME_TAG_KEY}")).values(volume_id).build())
        .filters(Filter::builder().name(format!("tag:{SOURCE_INSTANCE_TAG_KEY}")).values(instance_id).build())
        .send()
        .await
        .map_err(|e| api_error("ec2:DescribeSnapshots", e))?;
    Ok(out
        .snapshots()
        .iter()
        .filter(|s| s.state() != Some(&SnapshotState::Error))
        .find_map(|s| s.snapshot_id().map(String::from)))
}

async fn ec2_tags(c: &Clients, resource_id: &str) -> Result<BTreeMap<String, String>> {
    use aws_sdk_ec2::types::Filter;
    let out = c
        .ec2
        .describe_tags()
        .filters(Filter::builder().name("resource-id").values(resource_id).build())
        .send()
        .await
        .map_err(|e| api_error("ec2:DescribeTags", e))?;
    Ok(out.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect())
}

fn ec2_tag(key: &str, value: &str) -> aws_sdk_ec2::types::Tag {
    aws_sdk_ec2::types::Tag::builder().key(key).value(value).build()
}

async fn public_access_block(c: &Clients, bucket: &str) -> Result<Option<PublicAccessBlock>> {
    match c.s3.get_public_access_block().bucket(bucket).send().await {
        Ok(out) => Ok(out.public_access_block_configuration().map(|p| PublicAccessBlock {
            block_public_acls: p.block_public_acls().unwrap_or(false),
            ignore_public_acls: p.ignore_public_acls().unwrap_or(false),
            block_public_policy: p.block_public_policy().unwrap_or(false),
            restrict_public_buckets: p.restrict_public_buckets().unwrap_or(false),
        })),
        Err(err) => {
            if crate::error::error_code(&err).as_deref() == Some("NoSuchPublicAccessBlockConfiguration") {
                return Ok(None);
            }
            Err(api_error("s3:GetBucketPublicAccessBlock", err))
        }
    }
}

async fn trail_settings(c: &Clients, trail: &str) -> Result<TrailSettings> {
    let out = c.cloudtrail.get_trail().name(trail).send().await.map_err(|e| api_error("cloudtrail:GetTrail", e))?;
    let t = out.trail().ok_or_else(|| AwsError::NotFound { what: format!("trail {trail}") })?;
    Ok(TrailSettings {
        multi_region: t.is_multi_region_trail().unwrap_or(false),
        include_global_service_events: t.include_global_service_events().unwrap_or(false),
        log_file_validation: t.log_file_validation_enabled().unwrap_or(false),
    })
}

/// Reads the state a step changes. For destructive steps a missing resource means the
/// step is already done.
pub(crate) async fn read_state(c: &Clients, step: &StepAction) -> Result<StepState> {
    let result = read_state_inner(c, step).await;
    match result {
        Err(AwsError::NotFound { what }) if step.effect() == Effect::Destroy => Ok(StepState::new(json!({"exists": false, "not_found": what}), true)),
        other => other,
    }
}

async fn read_state_inner(c: &Clients, step: &StepAction) -> Result<StepState> {
    use StepAction::*;
    Ok(match step {
        CaptureUserMetadata { .. } | CaptureRoleMetadata { .. } | CaptureInstanceMetadata { .. } | CaptureTrail { .. } | CaptureQBusinessApp { .. } => {
            StepState::new(Value::Null, false)
        }
        SetAccessKeyStatus { user_name, access_key_id, status } => {
            let current = key_status(c, user_name, access_key_id)
                .await?
                .ok_or_else(|| AwsError::NotFound { what: format!("access key {access_key_id} of user {user_name}") })?;
            StepState::new(json!({ "status": current }), &current == status)
        }
        RevokeOlderSessions { principal, .. } => {
            let doc = get_inline(c, principal, REVOKE_SESSIONS_POLICY_NAME).await?;
            let satisfied = doc.is_some();
            StepState::new(json!({ "document": doc }), satisfied)
        }
        PutInlinePolicy { principal, policy_name, document } => {
            let doc = get_inline(c, principal, policy_name).await?;
            let satisfied = doc.as_deref().is_some_and(|d| same_json(d, document));
            StepState::new(json!({ "document": doc }), satisfied)
        }
        DeleteInlinePolicy { principal, policy_name } => {
            let doc = get_inline(c, principal, policy_name).await?;
            let satisfied = doc.is_none();
            StepState::new(json!({ "document": doc }), satisfied)
        }
        DeleteAccessKey { user_name, access_key_id } => {
            let status = key_status(c, user_name, access_key_id).await?;
            StepState::new(json!({ "exists": status.is_some(), "status": status }), status.is_none())
        }
        DeleteLoginProfile { user_name } => match c.iam.get_login_profile().user_name(user_name).send().await {
            Ok(out) => {
                let created = out.login_profile().map(|p| p.create_date().to_string());
                StepState::new(json!({ "exists": true, "created": created }), false)
            }
            Err(err) => match api_error("iam:GetLoginProfile", err) {
                AwsError::NotFound { .. } => StepState::new(json!({ "exists": false }), true),
                e => return Err(e),
            },
        },
        DeleteSigningCertificate { user_name, certificate_id } => {
            let out = c.iam.list_signing_certificates().user_name(user_name).send().await.map_err(|e| api_error("iam:ListSigningCertificates", e))?;
            let present = out.certificates().iter().any(|cert| cert.certificate_id() == certificate_id);
            StepState::new(json!({ "exists": present }), !present)
        }
        DeleteSshPublicKey { user_name, ssh_public_key_id } => {
            let out = c.iam.list_ssh_public_keys().user_name(user_name).send().await.map_err(|e| api_error("iam:ListSSHPublicKeys", e))?;
            let present = out.ssh_public_keys().iter().any(|k| k.ssh_public_key_id() == ssh_public_key_id);
            StepState::new(json!({ "exists": present }), !present)
        }
        RemoveMfaDevice { user_name, serial_number } => {
            let out = c.iam.list_mfa_devices().user_name(user_name).send().await.map_err(|e| api_error("iam:ListMFADevices", e))?;
            let present = out.mfa_devices().iter().any(|d| d.serial_number() == serial_number);
            StepState::new(json!({ "exists": present }), !present)
        }
        DetachManagedPolicy { principal, policy_arn } => {
            let attached = attached_policies(c, principal).await?;
            let present = attached.contains(policy_arn);
            StepState::new(json!({ "attached": present }), !present)
        }
        AttachManagedPolicy { principal, policy_arn } => {
            let attached = attached_policies(c, principal).await?;
            let present = attached.contains(policy_arn);
            StepState::new(json!({ "attached": present }), present)
        }
        RemoveUserFromGroup { user_name, group_name } => {
            let member = user_groups(c, user_name).await?.contains(group_name);
            StepState::new(json!({ "member": member }), !member)
        }
        AddUserToGroup { user_name, group_name } => {
            let member = user_groups(c, user_name).await?.contains(group_name);
            StepState::new(json!({ "member": member }), member)
        }
        DeleteUser { user_name } => {
            let out = c.iam.get_user().user_name(user_name).send().await.map_err(|e| api_error("iam:GetUser", e))?;
            let user = out.user().map(|u| json!({"arn": u.arn(), "user_id": u.user_id(), "created": u.create_date().to_string(), "path": u.path()}));
            StepState::new(json!({ "exists": true, "user": user }), false)
        }
        RemoveRoleFromInstanceProfile { role_name, instance_profile_name } => {
            let out = c.iam.list_instance_profiles_for_role().role_name(role_name).send().await.map_err(|e| api_error("iam:ListInstanceProfilesForRole", e))?;
            let present = out.instance_profiles().iter().any(|p| p.instance_profile_name() == instance_profile_name);
            StepState::new(json!({ "member": present }), !present)
        }
        DeleteRole { role_name } => {
            let out = c.iam.get_role().role_name(role_name).send().await.map_err(|e| api_error("iam:GetRole", e))?;
            let role = out.role().map(|r| {
                json!({"arn": r.arn(), "role_id": r.role_id(), "path": r.path(), "trust_policy": r.assume_role_policy_document().map(decode_policy_document)})
            });
            StepState::new(json!({ "exists": true, "role": role }), false)
        }
        DeletePolicyVersion { policy_arn, version_id } => {
            let out = c.iam.get_policy_version().policy_arn(policy_arn).version_id(version_id).send().await.map_err(|e| api_error("iam:GetPolicyVersion", e))?;
            let doc = out.policy_version().and_then(|v| v.document()).map(decode_policy_document);
            StepState::new(json!({ "exists": true, "document": doc }), false)
        }
        DeletePolicy { policy_arn } => {
            let out = c.iam.get_policy().policy_arn(policy_arn).send().await.map_err(|e| api_error("iam:GetPolicy", e))?;
            let default_version = out.policy().and_then(|p| p.default_version_id()).map(String::from);
            let mut doc = None;
            if let Some(v) = &default_version {
                let pv = c.iam.get_policy_version().policy_arn(policy_arn).version_id(v).send().await.map_err(|e| api_error("iam:GetPolicyVersion", e))?;
                doc = pv.policy_version().and_then(|v| v.document()).map(decode_policy_document);
            }
            StepState::new(json!({ "exists": true, "default_version": default_version, "document": doc }), false)
        }
        SetTerminationProtection { instance_id, enabled } => {
            use aws_sdk_ec2::types::InstanceAttributeName;
            let out = c
                .ec2
                .describe_instance_attribute()
                .instance_id(instance_id)
                .attribute(InstanceAttributeName::DisableApiTermination)
                .send()
                .await
                .map_err(|e| api_error("ec2:DescribeInstanceAttribute", e))?;
            let current = out.disable_api_termination().and_then(|v| v.value()).unwrap_or(false);
            StepState::new(json!({ "enabled": current }), current == *enabled)
        }
        EnsureQuarantineSecurityGroup { vpc_id, group_name } => match find_quarantine_group(c, vpc_id, group_name).await? {
            Some(group) => {
                let ingress = group.ip_permissions().len();
                let egress = group.ip_permissions_egress().len();
                StepState::new(json!({ "group_id": group.group_id(), "ingress_rules": ingress, "egress_rules": egress }), ingress == 0 && egress == 0)
            }
            None => StepState::new(json!({ "group_id": null }), false),
        },
        ModifyNetworkInterfaceGroups { network_interface_id, groups, .. } => {
            let mut current = eni_groups(c, network_interface_id).await?;
            let mut target = match groups {
                GroupSelection::Ids(ids) => Some(ids.clone()),
                GroupSelection::Quarantine { vpc_id, group_name } => {
                    find_quarantine_group(c, vpc_id, group_name).await?.and_then(|g| g.group_id().map(|id| vec![id.to_string()]))
                }
            };
            let before = json!({ "group_ids": current.clone() });
            current.sort();
            if let Some(t) = target.as_mut() {
                t.sort();
            }
            StepState::new(before, target.as_ref() == Some(&current))
        }
        DetachFromAutoScalingGroup { instance_id, group_name, .. } => {
            let out = c
                .autoscaling
                .describe_auto_scaling_instances()
                .instance_ids(instance_id)
                .send()
                .await
                .map_err(|e| api_error("autoscaling:DescribeAutoScalingInstances", e))?;
            let current = out.auto_scaling_instances().iter().find(|i| i.instance_id() == Some(instance_id.as_str())).and_then(|i| i.auto_scaling_group_name().map(String::from));
            let satisfied = current.as_deref() != Some(group_name.as_str());
            StepState::new(json!({ "auto_scaling_group": current }), satisfied)
        }
        DeregisterFromClassicLoadBalancer { instance_id, load_balancer_name } => {
            let out = c
                .elb
                .describe_load_balancers()
                .load_balancer_names(load_balancer_name)
                .send()
                .await
                .map_err(|e| api_error("elasticloadbalancing:DescribeLoadBalancers", e))?;
            let registered = out
                .load_balancer_descriptions()
                .iter()
                .flat_map(|lb| lb.instances())
                .any(|i| i.instance_id() == Some(instance_id.as_str()));
            StepState::new(json!({ "registered": registered }), !registered)
        }
        DeregisterFromTargetGroup { instance_id, target_group_arn, .. } => {
            let out = c
                .elbv2
                .describe_target_health()
                .target_group_arn(target_group_arn)
                .send()
                .await
                .map_err(|e| api_error("elasticloadbalancing:DescribeTargetHealth", e))?;
            let registered: Vec<Value> = out
                .target_health_descriptions()
                .iter()
                .filter(|d| d.target().and_then(|t| t.id()) == Some(instance_id.as_str()))
                .filter(|d| {
                    let state = d.target_health().and_then(|h| h.state()).map(|s| s.as_str().to_string()).unwrap_or_default();
                    state != "draining" && state != "unused"
                })
                .map(|d| json!({ "port": d.target().and_then(|t| t.port()) }))
                .collect();
            let satisfied = registered.is_empty();
            StepState::new(json!({ "registered": registered }), satisfied)
        }
        SnapshotVolume { instance_id, volume_id, .. } => {
            let existing = find_forensic_snapshot(c, instance_id, volume_id).await?;
            let satisfied = existing.is_some();
            StepState::new(json!({ "snapshot_id": existing }), satisfied)
        }
        ShareSnapshot { instance_id, volume_id, account_id } => {
            use aws_sdk_ec2::types::SnapshotAttributeName;
            let Some(snapshot_id) = find_forensic_snapshot(c, instance_id, volume_id).await? else {
                return Ok(StepState::new(json!({ "snapshot_id": null }), false));
            };
            let out = c
                .ec2
                .describe_snapshot_attribute()
                .snapshot_id(&snapshot_id)
                .attribute(SnapshotAttributeName::CreateVolumePermission)
                .send()
                .await
                .map_err(|e| api_error("ec2:DescribeSnapshotAttribute", e))?;
            let shared: Vec<String> = out.create_volume_permissions().iter().filter_map(|p| p.user_id().map(String::from)).collect();
            let satisfied = shared.contains(account_id);
            StepState::new(json!({ "snapshot_id": snapshot_id, "shared_with": shared }), satisfied)
        }
        TagEc2Resource { resource_id, tags } => {
            let current = ec2_tags(c, resource_id).await?;
            let satisfied = tags.iter().all(|(k, v)| current.get(k) == Some(v));
            StepState::new(json!({ "tags": current }), satisfied)
        }
        RestoreEc2Tags { resource_id, set, remove } => {
            let current = ec2_tags(c, resource_id).await?;
            let satisfied = set.iter().all(|(k, v)| current.get(k) == Some(v)) && remove.iter().all(|k| !current.contains_key(k));
            StepState::new(json!({ "tags": current }), satisfied)
        }
        PutPublicAccessBlock { bucket, configuration } => {
            let current = public_access_block(c, bucket).await?;
            StepState::new(json!({ "configuration": current }), current.as_ref() == Some(configuration))
        }
        DeletePublicAccessBlock { bucket } => {
            let current = public_access_block(c, bucket).await?;
            StepState::new(json!({ "configuration": current }), current.is_none())
        }
        StartLogging { trail } => {
            let out = c.cloudtrail.get_trail_status().name(trail).send().await.map_err(|e| api_error("cloudtrail:GetTrailStatus", e))?;
            let logging = out.is_logging().unwrap_or(false);
            StepState::new(json!({ "is_logging": logging }), logging)
        }
        UpdateTrailSettings { trail, settings } => {
            let current = trail_settings(c, trail).await?;
            StepState::new(json!({ "settings": current }), current == *settings)
        }
        DeleteQBusinessRetriever { application_id, retriever_id } => {
            let out = c.qbusiness.get_retriever().application_id(application_id).retriever_id(retriever_id).send().await.map_err(|e| api_error("qbusiness:GetRetriever", e))?;
            StepState::new(json!({ "exists": true, "display_name": out.display_name(), "type": out.r#type().map(|t| t.as_str().to_string()) }), false)
        }
        DeleteQBusinessDataSource { application_id, index_id, data_source_id } => {
            let out = c
                .qbusiness
                .get_data_source()
                .application_id(application_id)
                .index_id(index_id)
                .data_source_id(data_source_id)
                .send()
                .await
                .map_err(|e| api_error("qbusiness:GetDataSource", e))?;
            StepState::new(json!({ "exists": true, "display_name": out.display_name(), "type": out.r#type() }), false)
        }
        DeleteQBusinessPlugin { application_id, plugin_id } => {
            let out = c.qbusiness.get_plugin().application_id(application_id).plugin_id(plugin_id).send().await.map_err(|e| api_error("qbusiness:GetPlugin", e))?;
            StepState::new(json!({ "exists": true, "display_name": out.display_name(), "server_url": out.server_url() }), false)
        }
        DeleteQBusinessApp { application_id } => {
            let out = c.qbusiness.get_application().application_id(application_id).send().await.map_err(|e| api_error("qbusiness:GetApplication", e))?;
            StepState::new(json!({ "exists": true, "display_name": out.display_name(), "status": out.status().map(|s| s.as_str().to_string()) }), false)
        }
    })
}

fn dry_run_outcome<E>(err: aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>) -> PermissionCheck
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (code, message, forbidden) = crate::error::code_and_message(&err);
    match code.as_deref() {
        Some("DryRunOperation") => PermissionCheck::Permitted,
        Some(code) if crate::error::is_denied_code(code) => PermissionCheck::Denied(message.unwrap_or_else(|| code.to_string())),
        None if forbidden => PermissionCheck::Denied(message.unwrap_or_else(|| "HTTP 403".into())),
        _ => PermissionCheck::Error(aws_smithy_types::error::display::DisplayErrorContext(&err).to_string()),
    }
}

fn unexpected_success() -> PermissionCheck {
    PermissionCheck::Error("the service ignored DryRun and accepted the call".into())
}

/// Calls the step's EC2 API with `DryRun=true` (proves the permission without changing
/// anything). `None` for steps whose API has no DryRun parameter.
pub(crate) async fn dry_run(c: &Clients, step: &StepAction) -> Option<PermissionCheck> {
    use aws_sdk_ec2::types::AttributeBooleanValue;
    use StepAction::*;
    Some(match step {
        SetTerminationProtection { instance_id, enabled } => {
            match c
                .ec2
                .modify_instance_attribute()
                .instance_id(instance_id)
                .disable_api_termination(AttributeBooleanValue::builder().value(*enabled).build())
                .dry_run(true)
                .send()
                .await
            {
                Ok(_) => unexpected_success(),
                Err(e) => dry_run_outcome(e),
            }
        }
        EnsureQuarantineSecurityGroup { vpc_id, group_name } => {
            match c.ec2.create_security_group().group_name(group_name).description("firebreak quarantine").vpc_id(vpc_id).dry_run(true).send().await {
                Ok(_) => unexpected_success(),
                Err(e) => dry_run_outcome(e),
            }
        }
        ModifyNetworkInterfaceGroups { network_interface_id, groups, .. } => {
            let ids = match groups {
                GroupSelection::Ids(ids) => ids.clone(),
                GroupSelection::Quarantine { vpc_id, group_name } => match find_quarantine_group(c, vpc_id, group_name).await {
                    Ok(Some(g)) => g.group_id().map(|id| vec![id.to_string()]).unwrap_or_default(),
                    // The group is created by an earlier step: check with the current groups.
                    _ => eni_groups(c, network_interface_id).await.unwrap_or_default(),
                },
            };
            match c.ec2.modify_network_interface_attribute().network_interface_id(network_interface_id).set_groups(Some(ids)).dry_run(true).send().await {
                Ok(_) => unexpected_success(),
                Err(e) => dry_run_outcome(e),
            }
        }
        SnapshotVolume { volume_id, .. } => match c.ec2.create_snapshot().volume_id(volume_id).dry_run(true).send().await {
            Ok(_) => unexpected_success(),
            Err(e) => dry_run_outcome(e),
        },
        TagEc2Resource { resource_id, tags } | RestoreEc2Tags { resource_id, set: tags, .. } if !tags.is_empty() => {
            let mut call = c.ec2.create_tags().resources(resource_id).dry_run(true);
            for (k, v) in tags {
                call = call.tags(ec2_tag(k, v));
            }
            match call.send().await {
                Ok(_) => unexpected_success(),
                Err(e) => dry_run_outcome(e),
            }
        }
        _ => return None,
    })
}

/// Applies a step (its state was read first and is not yet satisfied). Returns the result
/// to record. Capture steps are handled by the runner (they write into the case).
pub(crate) async fn apply(c: &Clients, step: &StepAction) -> Result<Value> {
    use StepAction::*;
    Ok(match step {
        CaptureUserMetadata { .. } | CaptureRoleMetadata { .. } | CaptureInstanceMetadata { .. } | CaptureTrail { .. } | CaptureQBusinessApp { .. } => {
            return Err(AwsError::InvalidArgument("capture steps are run by the runner".into()))
        }
        SetAccessKeyStatus { user_name, access_key_id, status } => {
            c.iam
                .update_access_key()
                .user_name(user_name)
                .access_key_id(access_key_id)
                .status(aws_sdk_iam::types::StatusType::from(status.as_str()))
                .send()
                .await
                .map_err(|e| api_error("iam:UpdateAccessKey", e))?;
            json!({ "status": status })
        }
        RevokeOlderSessions { principal, issued_before } => {
            let doc = revoke_sessions_document(issued_before);
            put_inline(c, principal, REVOKE_SESSIONS_POLICY_NAME, &doc).await?;
            json!({ "policy_name": REVOKE_SESSIONS_POLICY_NAME, "document": doc })
        }
        PutInlinePolicy { principal, policy_name, document } => {
            put_inline(c, principal, policy_name, document).await?;
            json!({ "policy_name": policy_name })
        }
        DeleteInlinePolicy { principal, policy_name } => {
            match principal {
                Principal::User(p) => c.iam.delete_user_policy().user_name(p).policy_name(policy_name).send().await.map(|_| ()).map_err(|e| api_error("iam:DeleteUserPolicy", e))?,
                Principal::Role(p) => c.iam.delete_role_policy().role_name(p).policy_name(policy_name).send().await.map(|_| ()).map_err(|e| api_error("iam:DeleteRolePolicy", e))?,
                Principal::Group(p) => c.iam.delete_group_policy().group_name(p).policy_name(policy_name).send().await.map(|_| ()).map_err(|e| api_error("iam:DeleteGroupPolicy", e))?,
            }
            json!({ "deleted": policy_name })
        }
        DeleteAccessKey { user_name, access_key_id } => {
            c.iam.delete_access_key().user_name(user_name).access_key_id(access_key_id).send().await.map_err(|e| api_error("iam:DeleteAccessKey", e))?;
            json!({ "deleted": access_key_id })
        }
        DeleteLoginProfile { user_name } => {
            c.iam.delete_login_profile().user_name(user_name).send().await.map_err(|e| api_error("iam:DeleteLoginProfile", e))?;
            json!({ "deleted": "login profile" })
        }
        DeleteSigningCertificate { user_name, certificate_id } => {
            c.iam
                .delete_signing_certificate()
                .user_name(user_name)
                .certificate_id(certificate_id)
                .send()
                .await
                .map_err(|e| api_error("iam:DeleteSigningCertificate", e))?;
            json!({ "deleted": certificate_id })
        }
        DeleteSshPublicKey { user_name, ssh_public_key_id } => {
            c.iam
                .delete_ssh_public_key()
                .user_name(user_name)
                .ssh_public_key_id(ssh_public_key_id)
                .send()
                .await
                .map_err(|e| api_error("iam:DeleteSSHPublicKey", e))?;
            json!({ "deleted": ssh_public_key_id })
        }
        RemoveMfaDevice { user_name, serial_number } => {
            c.iam.deactivate_mfa_device().user_name(user_name).serial_number(serial_number).send().await.map_err(|e| api_error("iam:DeactivateMFADevice", e))?;
            let mut deleted_virtual = false;
            if serial_number.starts_with("arn:") && serial_number.contains(":mfa/") {
                c.iam.delete_virtual_mfa_device().serial_number(serial_number).send().await.map_err(|e| api_error("iam:DeleteVirtualMFADevice", e))?;
                deleted_virtual = true;
            }
            json!({ "deactivated": serial_number, "deleted_virtual_device": deleted_virtual })
        }
        DetachManagedPolicy { principal, policy_arn } => {
            match principal {
                Principal::User(p) => c.iam.detach_user_policy().user_name(p).policy_arn(policy_arn).send().await.map(|_| ()).map_err(|e| api_error("iam:DetachUserPolicy", e))?,
                Principal::Role(p) => c.iam.detach_role_policy().role_name(p).policy_arn(policy_arn).send().await.map(|_| ()).map_err(|e| api_error("iam:DetachRolePolicy", e))?,
                Principal::Group(p) => c.iam.detach_group_policy().group_name(p).policy_arn(policy_arn).send().await.map(|_| ()).map_err(|e| api_error("iam:DetachGroupPolicy", e))?,
            }
            json!({ "detached": policy_arn })
        }
        AttachManagedPolicy { principal, policy_arn } => {
            match principal {
                Principal::User(p) => c.iam.attach_user_policy().user_name(p).policy_arn(policy_arn).send().await.map(|_| ()).map_err(|e| api_error("iam:AttachUserPolicy", e))?,
                Principal::Role(p) => c.iam.attach_role_policy().role_name(p).policy_arn(policy_arn).send().await.map(|_| ()).map_err(|e| api_error("iam:AttachRolePolicy", e))?,
                Principal::Group(p) => c.iam.attach_group_policy().group_name(p).policy_arn(policy_arn).send().await.map(|_| ()).map_err(|e| api_error("iam:AttachGroupPolicy", e))?,
            }
            json!({ "attached": policy_arn })
        }
        RemoveUserFromGroup { user_name, group_name } => {
            c.iam.remove_user_from_group().user_name(user_name).group_name(group_name).send().await.map_err(|e| api_error("iam:RemoveUserFromGroup", e))?;
            json!({ "removed_from": group_name })
        }
        AddUserToGroup { user_name, group_name } => {
            c.iam.add_user_to_group().user_name(user_name).group_name(group_name).send().await.map_err(|e| api_error("iam:AddUserToGroup", e))?;
            json!({ "added_to": group_name })
        }
        DeleteUser { user_name } => {
            c.iam.delete_user().user_name(user_name).send().await.map_err(|e| api_error("iam:DeleteUser", e))?;
            json!({ "deleted": user_name })
        }
        RemoveRoleFromInstanceProfile { role_name, instance_profile_name } => {
            c.iam
                .remove_role_from_instance_profile()
                .role_name(role_name)
                .instance_profile_name(instance_profile_name)
                .send()
                .await
                .map_err(|e| api_error("iam:RemoveRoleFromInstanceProfile", e))?;
            json!({ "removed_from": instance_profile_name })
        }
        DeleteRole { role_name } => {
            c.iam.delete_role().role_name(role_name).send().await.map_err(|e| api_error("iam:DeleteRole", e))?;
            json!({ "deleted": role_name })
        }
        DeletePolicyVersion { policy_arn, version_id } => {
            c.iam.delete_policy_version().policy_arn(policy_arn).version_id(version_id).send().await.map_err(|e| api_error("iam:DeletePolicyVersion", e))?;
            json!({ "deleted": version_id })
        }
        DeletePolicy { policy_arn } => {
            c.iam.delete_policy().policy_arn(policy_arn).send().await.map_err(|e| api_error("iam:DeletePolicy", e))?;
            json!({ "deleted": policy_arn })
        }
        SetTerminationProtection { instance_id, enabled } => {
            use aws_sdk_ec2::types::AttributeBooleanValue;
            c.ec2
                .modify_instance_attribute()
                .instance_id(instance_id)
                .disable_api_termination(AttributeBooleanValue::builder().value(*enabled).build())
                .send()
                .await
                .map_err(|e| api_error("ec2:ModifyInstanceAttribute", e))?;
            json!({ "enabled": enabled })
        }
        EnsureQuarantineSecurityGroup { vpc_id, group_name } => {
            let (group_id, created) = match find_quarantine_group(c, vpc_id, group_name).await? {
                Some(g) => (g.group_id().unwrap_or_default().to_string(), false),
                None => {
                    let out = c
                        .ec2
                        .create_security_group()
                        .group_name(group_name)
                        .description("firebreak quarantine: no inbound or outbound rules")
                        .vpc_id(vpc_id)
                        .send()
                        .await
                        .map_err(|e| api_error("ec2:CreateSecurityGroup", e))?;
                    (out.group_id().unwrap_or_default().to_string(), true)
                }
            };
            let group = find_quarantine_group(c, vpc_id, group_name).await?.ok_or_else(|| AwsError::NotFound { what: format!("security group {group_name} in {vpc_id}") })?;
            let egress = group.ip_permissions_egress().to_vec();
            if !egress.is_empty() {
                c.ec2
                    .revoke_security_group_egress()
                    .group_id(&group_id)
                    .set_ip_permissions(Some(egress.clone()))
                    .send()
                    .await
                    .map_err(|e| api_error("ec2:RevokeSecurityGroupEgress", e))?;
            }
            let ingress = group.ip_permissions().to_vec();
            if !ingress.is_empty() {
                c.ec2
                    .revoke_security_group_ingress()
                    .group_id(&group_id)
                    .set_ip_permissions(Some(ingress.clone()))
                    .send()
                    .await
                    .map_err(|e| api_error("ec2:RevokeSecurityGroupIngress", e))?;
            }
            json!({ "group_id": group_id, "created": created, "revoked_egress_rules": egress.len(), "revoked_ingress_rules": ingress.len() })
        }
        ModifyNetworkInterfaceGroups { network_interface_id, groups, primary_of_instance } => {
            let ids = match groups {
                GroupSelection::Ids(ids) => ids.clone(),
                GroupSelection::Quarantine { vpc_id, group_name } => {
                    let g = find_quarantine_group(c, vpc_id, group_name)
                        .await?
                        .ok_or_else(|| AwsError::NotFound { what: format!("quarantine security group {group_name} in {vpc_id}") })?;
                    vec![g.group_id().unwrap_or_default().to_string()]
                }
            };
            c.ec2
                .modify_network_interface_attribute()
                .network_interface_id(network_interface_id)
                .set_groups(Some(ids.clone()))
                .send()
                .await
                .map_err(|e| api_error("ec2:ModifyNetworkInterfaceAttribute", e))?;
            if let Some(instance_id) = primary_of_instance {
                c.ec2
                    .modify_instance_attribute()
                    .instance_id(instance_id)
                    .set_groups(Some(ids.clone()))
                    .send()
                    .await
                    .map_err(|e| api_error("ec2:ModifyInstanceAttribute", e))?;
            }
            json!({ "group_ids": ids, "note": "connections already tracked by the previous groups' rules survive the swap until they close" })
        }
        DetachFromAutoScalingGroup { instance_id, group_name, decrement_capacity } => {
            c.autoscaling
                .detach_instances()
                .auto_scaling_group_name(group_name)
                .instance_ids(instance_id)
                .should_decrement_desired_capacity(*decrement_capacity)
                .send()
                .await
                .map_err(|e| api_error("autoscaling:DetachInstances", e))?;
            json!({ "detached_from": group_name, "replacement_launched": !decrement_capacity })
        }
        DeregisterFromClassicLoadBalancer { instance_id, load_balancer_name } => {
            c.elb
                .deregister_instances_from_load_balancer()
                .load_balancer_name(load_balancer_name)
                .instances(aws_sdk_elasticloadbalancing::types::Instance::builder().instance_id(instance_id).build())
                .send()
                .await
                .map_err(|e| api_error("elasticloadbalancing:DeregisterInstancesFromLoadBalancer", e))?;
            json!({ "deregistered_from": load_balancer_name })
        }
        DeregisterFromTargetGroup { instance_id, target_group_arn, port } => {
            let target = aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id(instance_id)
                .set_port(*port)
                .build();
            c.elbv2
                .deregister_targets()
                .target_group_arn(target_group_arn)
                .targets(target)
                .send()
                .await
                .map_err(|e| api_error("elasticloadbalancing:DeregisterTargets", e))?;
            json!({ "deregistered_from": target_group_arn })
        }
        SnapshotVolume { instance_id, volume_id, ticket } => {
            use aws_sdk_ec2::types::{ResourceType, TagSpecification};
            let mut spec = TagSpecification::builder()
                .resource_type(ResourceType::Snapshot)
                .tags(ec2_tag(QUARANTINE_TAG_KEY, "true"))
                .tags(ec2_tag(SOURCE_VOLUME_TAG_KEY, volume_id))
                .tags(ec2_tag(SOURCE_INSTANCE_TAG_KEY, instance_id));
            if let Some(t) = ticket {
                spec = spec.tags(ec2_tag(TICKET_TAG_KEY, t));
            }
            let out = c
                .ec2
                .create_snapshot()
                .volume_id(volume_id)
                .description(format!("firebreak forensic snapshot of {volume_id} from {instance_id}"))
                .tag_specifications(spec.build())
                .send()
                .await
                .map_err(|e| api_error("ec2:CreateSnapshot", e))?;
            json!({ "snapshot_id": out.snapshot_id(), "state": out.state().map(|s| s.as_str().to_string()) })
        }
        ShareSnapshot { instance_id, volume_id, account_id } => {
            use aws_sdk_ec2::types::{OperationType, SnapshotAttributeName};
            let snapshot_id = find_forensic_snapshot(c, instance_id, volume_id)
                .await?
                .ok_or_else(|| AwsError::NotFound { what: format!("forensic snapshot of {volume_id}") })?;
            c.ec2
                .modify_snapshot_attribute()
                .snapshot_id(&snapshot_id)
                .attribute(SnapshotAttributeName::CreateVolumePermission)
                .operation_type(OperationType::Add)
                .user_ids(account_id)
                .send()
                .await
                .map_err(|e| api_error("ec2:ModifySnapshotAttribute", e))?;
            json!({ "snapshot_id": snapshot_id, "shared_with": account_id })
        }
        TagEc2Resource { resource_id, tags } => {
            let mut call = c.ec2.create_tags().resources(resource_id);
            for (k, v) in tags {
                call = call.tags(ec2_tag(k, v));
            }
            call.send().await.map_err(|e| api_error("ec2:CreateTags", e))?;
            json!({ "tagged": resource_id })
        }
        RestoreEc2Tags { resource_id, set, remove } => {
            if !set.is_empty() {
                let mut call = c.ec2.create_tags().resources(resource_id);
                for (k, v) in set {
                    call = call.tags(ec2_tag(k, v));
                }
                call.send().await.map_err(|e| api_error("ec2:CreateTags", e))?;
            }
            if !remove.is_empty() {
                let mut call = c.ec2.delete_tags().resources(resource_id);
                for k in remove {
                    call = call.tags(aws_sdk_ec2::types::Tag::builder().key(k).build());
                }
                call.send().await.map_err(|e| api_error("ec2:DeleteTags", e))?;
            }
            json!({ "set": set, "removed": remove })
        }
        PutPublicAccessBlock { bucket, configuration } => {
            let conf = aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(configuration.block_public_acls)
                .ignore_public_acls(configuration.ignore_public_acls)
                .block_public_policy(configuration.block_public_policy)
                .restrict_public_buckets(configuration.restrict_public_buckets)
                .build();
            c.s3.put_public_access_block()
                .bucket(bucket)
                .public_access_block_configuration(conf)
                .send()
                .await
                .map_err(|e| api_error("s3:PutBucketPublicAccessBlock", e))?;
            json!({ "configuration": configuration })
        }
        DeletePublicAccessBlock { bucket } => {
            c.s3.delete_public_access_block().bucket(bucket).send().await.map_err(|e| api_error("s3:DeleteBucketPublicAccessBlock", e))?;
            json!({ "deleted": "public access block" })
        }
        StartLogging { trail } => {
            c.cloudtrail.start_logging().name(trail).send().await.map_err(|e| api_error("cloudtrail:StartLogging", e))?;
            json!({ "is_logging": true })
        }
        UpdateTrailSettings { trail, settings } => {
            c.cloudtrail
                .update_trail()
                .name(trail)
                .is_multi_region_trail(settings.multi_region)
                .include_global_service_events(settings.include_global_service_events)
                .enable_log_file_validation(settings.log_file_validation)
                .send()
                .await
                .map_err(|e| api_error("cloudtrail:UpdateTrail", e))?;
            json!({ "settings": settings })
        }
        DeleteQBusinessRetriever { application_id, retriever_id } => {
            c.qbusiness.delete_retriever().application_id(application_id).retriever_id(retriever_id).send().await.map_err(|e| api_error("qbusiness:DeleteRetriever", e))?;
            json!({ "deleted": retriever_id })
        }
        DeleteQBusinessDataSource { application_id, index_id, data_source_id } => {
            c.qbusiness
                .delete_data_source()
                .application_id(application_id)
                .index_id(index_id)
                .data_source_id(data_source_id)
                .send()
                .await
                .map_err(|e| api_error("qbusiness:DeleteDataSource", e))?;
            json!({ "deleted": data_source_id })
        }
        DeleteQBusinessPlugin { application_id, plugin_id } => {
            c.qbusiness.delete_plugin().application_id(application_id).plugin_id(plugin_id).send().await.map_err(|e| api_error("qbusiness:DeletePlugin", e))?;
            json!({ "deleted": plugin_id })
        }
        DeleteQBusinessApp { application_id } => {
            c.qbusiness.delete_application().application_id(application_id).send().await.map_err(|e| api_error("qbusiness:DeleteApplication", e))?;
            json!({ "deleted": application_id })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_documents_are_url_decoded() {
        assert_eq!(decode_policy_document("%7B%22a%22%3A1%7D"), "{\"a\":1}");
        assert_eq!(decode_policy_document("{\"a\":1}"), "{\"a\":1}");
        // A truncated escape is kept, not a panic.
        assert_eq!(decode_policy_document("%7B%2"), "{%2");
    }
}
