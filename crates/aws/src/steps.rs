//! Response steps as data: each [`StepAction`] names its AWS call and parameters, says
//! whether it preserves evidence or alters a resource, knows how to read the state it
//! changes, when that state already is the target (so re-runs are no-ops), and how to undo it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Tag key marking what firebreak quarantined.
pub const QUARANTINE_TAG_KEY: &str = "firebreak:quarantine";
/// Tag key carrying the ticket reference.
pub const TICKET_TAG_KEY: &str = "firebreak:ticket";
/// Tag key naming the volume a forensic snapshot was taken from.
pub const SOURCE_VOLUME_TAG_KEY: &str = "firebreak:source-volume";
/// Tag key naming the instance a forensic snapshot was taken from.
pub const SOURCE_INSTANCE_TAG_KEY: &str = "firebreak:source-instance";
/// Name of the inline policy that revokes older sessions.
pub const REVOKE_SESSIONS_POLICY_NAME: &str = "firebreak-revoke-older-sessions";

/// What a step does to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Preserves evidence (metadata capture, snapshot); changes nothing the attacker uses.
    PreserveEvidence,
    /// Alters the resource in a way firebreak can reverse.
    Alter,
    /// Deletes something; cannot be reversed.
    Destroy,
}

/// An IAM principal that holds policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "name", rename_all = "snake_case")]
pub enum Principal {
    /// An IAM user.
    User(String),
    /// An IAM role.
    Role(String),
    /// An IAM group.
    Group(String),
}

impl Principal {
    /// `user/NAME`, `role/NAME`, `group/NAME`.
    pub fn label(&self) -> String {
        match self {
            Principal::User(n) => format!("user/{n}"),
            Principal::Role(n) => format!("role/{n}"),
            Principal::Group(n) => format!("group/{n}"),
        }
    }
    /// The IAM API noun (`User`, `Role`, `Group`).
    pub fn noun(&self) -> &'static str {
        match self {
            Principal::User(_) => "User",
            Principal::Role(_) => "Role",
            Principal::Group(_) => "Group",
        }
    }
    /// The principal's name.
    pub fn name(&self) -> &str {
        match self {
            Principal::User(n) | Principal::Role(n) | Principal::Group(n) => n,
        }
    }
}

/// Security groups a network interface should end with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupSelection {
    /// Only the quarantine group of this name in this VPC (resolved when applied).
    Quarantine {
        /// VPC of the interface.
        vpc_id: String,
        /// Quarantine group name.
        group_name: String,
    },
    /// Exactly these group ids.
    Ids(Vec<String>),
}

/// The four S3 public-access-block switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAccessBlock {
    /// BlockPublicAcls.
    pub block_public_acls: bool,
    /// IgnorePublicAcls.
    pub ignore_public_acls: bool,
    /// BlockPublicPolicy.
    pub block_public_policy: bool,
    /// RestrictPublicBuckets.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// All four switches on.
    pub const ALL: Self =
        Self { block_public_acls: true, ignore_public_acls: true, block_public_policy: true, restrict_public_buckets: true };
}

/// CloudTrail settings that `recover cloudtrail` restores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailSettings {
    /// IsMultiRegionTrail.
    pub multi_region: bool,
    /// IncludeGlobalServiceEvents.
    pub include_global_service_events: bool,
    /// LogFileValidationEnabled.
    pub log_file_validation: bool,
}

impl TrailSettings {
    /// The recommended configuration.
    pub const RECOMMENDED: Self = Self { multi_region: true, include_global_service_events: true, log_file_validation: true };
}

/// One typed response step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step")]
pub enum StepAction {
    /// Capture an IAM user's keys, policies, groups, MFA, login profile and tags into the case.
    CaptureUserMetadata {
        /// The user.
        user_name: String,
    },
    /// Capture an IAM role's policies, instance profiles, trust policy and tags into the case.
    CaptureRoleMetadata {
        /// The role.
        role_name: String,
    },
    /// Set an access key's status (`Inactive` to contain; `Active` to roll back).
    SetAccessKeyStatus {
        /// The key's user.
        user_name: String,
        /// The key.
        access_key_id: String,
        /// `Active` or `Inactive`.
        status: String,
    },
    /// Attach the inline deny-all policy conditioned on `aws:TokenIssueTime` before a time.
    RevokeOlderSessions {
        /// The user or role.
        principal: Principal,
        /// Sessions issued before this time (RFC 3339) are denied everything.
        issued_before: String,
    },
    /// Put an inline policy document (used to restore one).
    PutInlinePolicy {
        /// The principal.
        principal: Principal,
        /// Policy name.
        policy_name: String,
        /// Policy document (JSON text).
        document: String,
    },
    /// Delete an inline policy.
    DeleteInlinePolicy {
        /// The principal.
        principal: Principal,
        /// Policy name.
        policy_name: String,
    },
    /// Delete an access key.
    DeleteAccessKey {
        /// The key's user.
        user_name: String,
        /// The key.
        access_key_id: String,
    },
    /// Delete a user's console password.
    DeleteLoginProfile {
        /// The user.
        user_name: String,
    },
    /// Delete a user's X.509 signing certificate.
    DeleteSigningCertificate {
        /// The user.
        user_name: String,
        /// Certificate id.
        certificate_id: String,
    },
    /// Delete a user's SSH public key (CodeCommit).
    DeleteSshPublicKey {
        /// The user.
        user_name: String,
        /// SSH public key id.
        ssh_public_key_id: String,
    },
    /// Deactivate an MFA device (and delete it when virtual).
    RemoveMfaDevice {
        /// The user.
        user_name: String,
        /// Device serial number or ARN.
        serial_number: String,
    },
    /// Detach a managed policy from a principal.
    DetachManagedPolicy {
        /// The principal.
        principal: Principal,
        /// Policy ARN.
        policy_arn: String,
    },
    /// Attach a managed policy (used to restore one).
    AttachManagedPolicy {
        /// The principal.
        principal: Principal,
        /// Policy ARN.
        policy_arn: String,
    },
    /// Remove a user from a group.
    RemoveUserFromGroup {
        /// The user.
        user_name: String,
        /// The group.
        group_name: String,
    },
    /// Add a user to a group (used to restore membership).
    AddUserToGroup {
        /// The user.
        user_name: String,
        /// The group.
        group_name: String,
    },
    /// Delete an IAM user (after everything attached to it).
    DeleteUser {
        /// The user.
        user_name: String,
    },
    /// Remove a role from an instance profile.
    RemoveRoleFromInstanceProfile {
        /// The role.
        role_name: String,
        /// The instance profile.
        instance_profile_name: String,
    },
    /// Delete an IAM role.
    DeleteRole {
        /// The role.
        role_name: String,
    },
    /// Delete a non-default version of a managed policy.
    DeletePolicyVersion {
        /// Policy ARN.
        policy_arn: String,
        /// Version id.
        version_id: String,
    },
    /// Delete a managed policy.
    DeletePolicy {
        /// Policy ARN.
        policy_arn: String,
    },
    /// Capture an instance's metadata (instance, volumes, interfaces, security groups, tags,
    /// IAM profile, Auto Scaling and load-balancer membership) into the case.
    CaptureInstanceMetadata {
        /// The instance.
        instance_id: String,
    },
    /// Enable (or, to roll back, disable) termination protection.
    SetTerminationProtection {
        /// The instance.
        instance_id: String,
        /// DisableApiTermination value.
        enabled: bool,
    },
    /// Make sure the quarantine security group exists in the VPC with no rules at all.
    EnsureQuarantineSecurityGroup {
        /// The VPC.
        vpc_id: String,
        /// Group name.
        group_name: String,
    },
    /// Replace the security groups of a network interface.
    ModifyNetworkInterfaceGroups {
        /// The interface.
        network_interface_id: String,
        /// Groups it should end with.
        groups: GroupSelection,
        /// Set when this is the only interface of this instance: the instance-level group
        /// list is set too (`ModifyInstanceAttribute Groups`, the same change on EC2; moto
        /// 5.2 keeps the two lists apart and reports their union).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        primary_of_instance: Option<String>,
    },
    /// Detach the instance from its Auto Scaling group.
    DetachFromAutoScalingGroup {
        /// The instance.
        instance_id: String,
        /// The group.
        group_name: String,
        /// Lower the desired capacity (no replacement) instead of letting the group replace it.
        decrement_capacity: bool,
    },
    /// Deregister the instance from a classic load balancer.
    DeregisterFromClassicLoadBalancer {
        /// The instance.
        instance_id: String,
        /// The load balancer.
        load_balancer_name: String,
    },
    /// Deregister the instance from an ELBv2 target group.
    DeregisterFromTargetGroup {
        /// The instance.
        instance_id: String,
        /// The target group.
        target_group_arn: String,
        /// Registered port, if any.
        port: Option<i32>,
    },
    /// Snapshot an EBS volume for forensics (tagged with its source).
    SnapshotVolume {
        /// The instance it is attached to.
        instance_id: String,
        /// The volume.
        volume_id: String,
        /// Ticket reference for the tags.
        ticket: Option<String>,
    },
    /// Share the forensic snapshot of a volume with the forensic account.
    ShareSnapshot {
        /// The instance.
        instance_id: String,
        /// The volume whose snapshot is shared.
        volume_id: String,
        /// The forensic account.
        account_id: String,
    },
    /// Set tags on an EC2 resource.
    TagEc2Resource {
        /// Instance, snapshot... id.
        resource_id: String,
        /// Tags to set.
        tags: BTreeMap<String, String>,
    },
    /// Restore tags on an EC2 resource: set some values, remove some keys (rollback).
    RestoreEc2Tags {
        /// Resource id.
        resource_id: String,
        /// Tags to set back.
        set: BTreeMap<String, String>,
        /// Keys to remove.
        remove: Vec<String>,
    },
    /// Put an S3 bucket's public access block.
    PutPublicAccessBlock {
        /// The bucket.
        bucket: String,
        /// The configuration.
        configuration: PublicAccessBlock,
    },
    /// Delete an S3 bucket's public access block (rollback when there was none).
    DeletePublicAccessBlock {
        /// The bucket.
        bucket: String,
    },
    /// Capture a trail's configuration and status into the case.
    CaptureTrail {
        /// Trail name or ARN.
        trail: String,
    },
    /// Start CloudTrail logging.
    StartLogging {
        /// Trail name or ARN.
        trail: String,
    },
    /// Restore a trail's multi-region / global-events / log-validation settings.
    UpdateTrailSettings {
        /// Trail name or ARN.
        trail: String,
        /// Target settings.
        settings: TrailSettings,
    },
    /// Capture a Q Business application and its retrievers, data sources and plugins.
    CaptureQBusinessApp {
        /// Application id.
        application_id: String,
    },
    /// Delete a Q Business retriever.
    DeleteQBusinessRetriever {
        /// Application id.
        application_id: String,
        /// Retriever id.
        retriever_id: String,
    },
    /// Delete a Q Business data source.
    DeleteQBusinessDataSource {
        /// Application id.
        application_id: String,
        /// Index id.
        index_id: String,
        /// Data source id.
        data_source_id: String,
    },
    /// Delete a Q Business plugin.
    DeleteQBusinessPlugin {
        /// Application id.
        application_id: String,
        /// Plugin id.
        plugin_id: String,
    },
    /// Delete a Q Business application.
    DeleteQBusinessApp {
        /// Application id.
        application_id: String,
    },
}

impl StepAction {
    /// The IAM action of the call that makes the change (`iam:UpdateAccessKey`).
    pub fn call(&self) -> &'static str {
        use StepAction::*;
        match self {
            CaptureUserMetadata { .. } => "iam:GetUser+List*",
            CaptureRoleMetadata { .. } => "iam:GetRole+List*",
            SetAccessKeyStatus { .. } => "iam:UpdateAccessKey",
            RevokeOlderSessions { principal, .. } | PutInlinePolicy { principal, .. } => match principal {
                Principal::User(_) => "iam:PutUserPolicy",
                Principal::Role(_) => "iam:PutRolePolicy",
                Principal::Group(_) => "iam:PutGroupPolicy",
            },
            DeleteInlinePolicy { principal, .. } => match principal {
                Principal::User(_) => "iam:DeleteUserPolicy",
                Principal::Role(_) => "iam:DeleteRolePolicy",
                Principal::Group(_) => "iam:DeleteGroupPolicy",
            },
            DeleteAccessKey { .. } => "iam:DeleteAccessKey",
            DeleteLoginProfile { .. } => "iam:DeleteLoginProfile",
            DeleteSigningCertificate { .. } => "iam:DeleteSigningCertificate",
            DeleteSshPublicKey { .. } => "iam:DeleteSSHPublicKey",
            RemoveMfaDevice { .. } => "iam:DeactivateMFADevice",
            DetachManagedPolicy { principal, .. } => match principal {
                Principal::User(_) => "iam:DetachUserPolicy",
                Principal::Role(_) => "iam:DetachRolePolicy",
                Principal::Group(_) => "iam:DetachGroupPolicy",
            },
            AttachManagedPolicy { principal, .. } => match principal {
                Principal::User(_) => "iam:AttachUserPolicy",
                Principal::Role(_) => "iam:AttachRolePolicy",
                Principal::Group(_) => "iam:AttachGroupPolicy",
            },
            RemoveUserFromGroup { .. } => "iam:RemoveUserFromGroup",
            AddUserToGroup { .. } => "iam:AddUserToGroup",
            DeleteUser { .. } => "iam:DeleteUser",
            RemoveRoleFromInstanceProfile { .. } => "iam:RemoveRoleFromInstanceProfile",
            DeleteRole { .. } => "iam:DeleteRole",
            DeletePolicyVersion { .. } => "iam:DeletePolicyVersion",
            DeletePolicy { .. } => "iam:DeletePolicy",
            CaptureInstanceMetadata { .. } => "ec2:DescribeInstances+DescribeVolumes+DescribeNetworkInterfaces+DescribeSecurityGroups",
            SetTerminationProtection { .. } => "ec2:ModifyInstanceAttribute",
            EnsureQuarantineSecurityGroup { .. } => "ec2:CreateSecurityGroup+RevokeSecurityGroupEgress",
            ModifyNetworkInterfaceGroups { .. } => "ec2:ModifyNetworkInterfaceAttribute",
            DetachFromAutoScalingGroup { .. } => "autoscaling:DetachInstances",
            DeregisterFromClassicLoadBalancer { .. } => "elasticloadbalancing:DeregisterInstancesFromLoadBalancer",
            DeregisterFromTargetGroup { .. } => "elasticloadbalancing:DeregisterTargets",
            SnapshotVolume { .. } => "ec2:CreateSnapshot",
            ShareSnapshot { .. } => "ec2:ModifySnapshotAttribute",
            TagEc2Resource { .. } => "ec2:CreateTags",
            RestoreEc2Tags { .. } => "ec2:CreateTags+DeleteTags",
            PutPublicAccessBlock { .. } => "s3:PutBucketPublicAccessBlock",
            DeletePublicAccessBlock { .. } => "s3:DeleteBucketPublicAccessBlock",
            CaptureTrail { .. } => "cloudtrail:GetTrail+GetTrailStatus+GetEventSelectors",
            StartLogging { .. } => "cloudtrail:StartLogging",
            UpdateTrailSettings { .. } => "cloudtrail:UpdateTrail",
            CaptureQBusinessApp { .. } => "qbusiness:GetApplication+List*",
            DeleteQBusinessRetriever { .. } => "qbusiness:DeleteRetriever",
            DeleteQBusinessDataSource { .. } => "qbusiness:DeleteDataSource",
            DeleteQBusinessPlugin { .. } => "qbusiness:DeletePlugin",
            DeleteQBusinessApp { .. } => "qbusiness:DeleteApplication",
        }
    }

    /// The step's name (`SetAccessKeyStatus`).
    pub fn name(&self) -> String {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map.get("step").and_then(Value::as_str).unwrap_or_default().to_string(),
            _ => String::new(),
        }
    }

    /// The step's parameters as JSON (without the step name).
    pub fn parameters(&self) -> Value {
        match serde_json::to_value(self) {
            Ok(Value::Object(mut map)) => {
                map.remove("step");
                Value::Object(map)
            }
            _ => Value::Null,
        }
    }

    /// Evidence, reversible change, or destruction.
    pub fn effect(&self) -> Effect {
        use StepAction::*;
        match self {
            CaptureUserMetadata { .. }
            | CaptureRoleMetadata { .. }
            | CaptureInstanceMetadata { .. }
            | SnapshotVolume { .. }
            | ShareSnapshot { .. }
            | CaptureTrail { .. }
            | CaptureQBusinessApp { .. } => Effect::PreserveEvidence,
            DeleteAccessKey { .. }
            | DeleteLoginProfile { .. }
            | DeleteSigningCertificate { .. }
            | DeleteSshPublicKey { .. }
            | RemoveMfaDevice { .. }
            | DeleteUser { .. }
            | DeleteRole { .. }
            | DeletePolicyVersion { .. }
            | DeletePolicy { .. }
            | DeleteQBusinessRetriever { .. }
            | DeleteQBusinessDataSource { .. }
            | DeleteQBusinessPlugin { .. }
            | DeleteQBusinessApp { .. } => Effect::Destroy,
            _ => Effect::Alter,
        }
    }

    /// One sentence: what the step changes.
    pub fn describe(&self) -> String {
        use StepAction::*;
        match self {
            CaptureUserMetadata { user_name } => format!("capture user {user_name} (keys, policies, groups, MFA, login profile, tags) into the case"),
            CaptureRoleMetadata { role_name } => format!("capture role {role_name} (trust and permission policies, instance profiles, tags) into the case"),
            SetAccessKeyStatus { user_name, access_key_id, status } => format!("set access key {access_key_id} of user {user_name} to {status} (not deleted)"),
            RevokeOlderSessions { principal, issued_before } => format!(
                "attach inline policy {REVOKE_SESSIONS_POLICY_NAME} to {} denying every action to sessions whose aws:TokenIssueTime is before {issued_before}",
                principal.label()
            ),
            PutInlinePolicy { principal, policy_name, .. } => format!("put inline policy {policy_name} on {}", principal.label()),
            DeleteInlinePolicy { principal, policy_name } => format!("delete inline policy {policy_name} of {}", principal.label()),
            DeleteAccessKey { user_name, access_key_id } => format!("delete access key {access_key_id} of user {user_name}"),
            DeleteLoginProfile { user_name } => format!("delete the console password of user {user_name}"),
            DeleteSigningCertificate { user_name, certificate_id } => format!("delete signing certificate {certificate_id} of user {user_name}"),
            DeleteSshPublicKey { user_name, ssh_public_key_id } => format!("delete SSH public key {ssh_public_key_id} of user {user_name}"),
            RemoveMfaDevice { user_name, serial_number } => format!("deactivate MFA device {serial_number} of user {user_name} (and delete it if virtual)"),
            DetachManagedPolicy { principal, policy_arn } => format!("detach managed policy {policy_arn} from {}", principal.label()),
            AttachManagedPolicy { principal, policy_arn } => format!("attach managed policy {policy_arn} to {}", principal.label()),
            RemoveUserFromGroup { user_name, group_name } => format!("remove user {user_name} from group {group_name}"),
            AddUserToGroup { user_name, group_name } => format!("add user {user_name} to group {group_name}"),
            DeleteUser { user_name } => format!("delete user {user_name}"),
            RemoveRoleFromInstanceProfile { role_name, instance_profile_name } => format!("remove role {role_name} from instance profile {instance_profile_name}"),
            DeleteRole { role_name } => format!("delete role {role_name}"),
            DeletePolicyVersion { policy_arn, version_id } => format!("delete version {version_id} of policy {policy_arn}"),
            DeletePolicy { policy_arn } => format!("delete managed policy {policy_arn}"),
            CaptureInstanceMetadata { instance_id } => format!("capture instance {instance_id} metadata (instance, volumes, network interfaces, security groups, tags, IAM profile) into the case"),
            SetTerminationProtection { instance_id, enabled } => format!("set termination protection of {instance_id} to {enabled}"),
            EnsureQuarantineSecurityGroup { vpc_id, group_name } => format!("create security group {group_name} in {vpc_id} if missing and revoke all its rules (ingress and egress)"),
            ModifyNetworkInterfaceGroups { network_interface_id, groups, .. } => match groups {
                GroupSelection::Quarantine { group_name, .. } => format!("replace the security groups of {network_interface_id} with {group_name} only (connections already tracked survive a security-group swap)"),
                GroupSelection::Ids(ids) => format!("set the security groups of {network_interface_id} to {}", ids.join(", ")),
            },
            DetachFromAutoScalingGroup { instance_id, group_name, decrement_capacity } => {
                if *decrement_capacity {
                    format!("detach {instance_id} from Auto Scaling group {group_name}, decrementing its desired capacity")
                } else {
                    format!("detach {instance_id} from Auto Scaling group {group_name}; the group launches a replacement")
                }
            }
            DeregisterFromClassicLoadBalancer { instance_id, load_balancer_name } => format!("deregister {instance_id} from classic load balancer {load_balancer_name}"),
            DeregisterFromTargetGroup { instance_id, target_group_arn, .. } => format!("deregister {instance_id} from target group {target_group_arn}"),
            SnapshotVolume { volume_id, instance_id, .. } => format!("snapshot volume {volume_id} of {instance_id}, tagged {QUARANTINE_TAG_KEY} and with its source"),
            ShareSnapshot { volume_id, account_id, .. } => format!("share the forensic snapshot of {volume_id} with account {account_id} (createVolumePermission)"),
            TagEc2Resource { resource_id, tags } => format!("tag {resource_id} with {}", fmt_tags(tags)),
            RestoreEc2Tags { resource_id, set, remove } => format!("restore tags of {resource_id}: set {}, remove [{}]", fmt_tags(set), remove.join(", ")),
            PutPublicAccessBlock { bucket, configuration } => format!("put public access block on bucket {bucket}: {}", fmt_pab(configuration)),
            DeletePublicAccessBlock { bucket } => format!("delete the public access block of bucket {bucket}"),
            CaptureTrail { trail } => format!("capture trail {trail} configuration, status and event selectors into the case"),
            StartLogging { trail } => format!("start logging on trail {trail}"),
            UpdateTrailSettings { trail, settings } => format!(
                "update trail {trail}: multi-region {}, global service events {}, log file validation {}",
                settings.multi_region, settings.include_global_service_events, settings.log_file_validation
            ),
            CaptureQBusinessApp { application_id } => format!("capture Q Business application {application_id} with its retrievers, indices, data sources and plugins into the case"),
            DeleteQBusinessRetriever { application_id, retriever_id } => format!("delete retriever {retriever_id} of Q Business application {application_id}"),
            DeleteQBusinessDataSource { application_id, index_id, data_source_id } => format!("delete data source {data_source_id} (index {index_id}) of Q Business application {application_id}"),
            DeleteQBusinessPlugin { application_id, plugin_id } => format!("delete plugin {plugin_id} of Q Business application {application_id}"),
            DeleteQBusinessApp { application_id } => format!("delete Q Business application {application_id}"),
        }
    }

    /// The read calls that fetch the state this step changes (shown in the plan).
    pub fn state_read(&self) -> &'static str {
        use StepAction::*;
        match self {
            CaptureUserMetadata { .. } | CaptureRoleMetadata { .. } | CaptureInstanceMetadata { .. } | CaptureTrail { .. } | CaptureQBusinessApp { .. } => "(the capture itself)",
            SetAccessKeyStatus { .. } | DeleteAccessKey { .. } => "iam:ListAccessKeys",
            RevokeOlderSessions { .. } | PutInlinePolicy { .. } | DeleteInlinePolicy { .. } => "iam:Get{User,Role,Group}Policy",
            DeleteLoginProfile { .. } => "iam:GetLoginProfile",
            DeleteSigningCertificate { .. } => "iam:ListSigningCertificates",
            DeleteSshPublicKey { .. } => "iam:ListSSHPublicKeys",
            RemoveMfaDevice { .. } => "iam:ListMFADevices",
            DetachManagedPolicy { .. } | AttachManagedPolicy { .. } => "iam:ListAttached{User,Role,Group}Policies",
            RemoveUserFromGroup { .. } | AddUserToGroup { .. } => "iam:ListGroupsForUser",
            DeleteUser { .. } => "iam:GetUser",
            RemoveRoleFromInstanceProfile { .. } => "iam:ListInstanceProfilesForRole",
            DeleteRole { .. } => "iam:GetRole",
            DeletePolicyVersion { .. } => "iam:ListPolicyVersions",
            DeletePolicy { .. } => "iam:GetPolicy",
            SetTerminationProtection { .. } => "ec2:DescribeInstanceAttribute",
            EnsureQuarantineSecurityGroup { .. } => "ec2:DescribeSecurityGroups",
            ModifyNetworkInterfaceGroups { .. } => "ec2:DescribeNetworkInterfaces",
            DetachFromAutoScalingGroup { .. } => "autoscaling:DescribeAutoScalingInstances",
            DeregisterFromClassicLoadBalancer { .. } => "elasticloadbalancing:DescribeLoadBalancers",
            DeregisterFromTargetGroup { .. } => "elasticloadbalancing:DescribeTargetHealth",
            SnapshotVolume { .. } => "ec2:DescribeSnapshots",
            ShareSnapshot { .. } => "ec2:DescribeSnapshots+DescribeSnapshotAttribute",
            TagEc2Resource { .. } | RestoreEc2Tags { .. } => "ec2:DescribeTags",
            PutPublicAccessBlock { .. } | DeletePublicAccessBlock { .. } => "s3:GetBucketPublicAccessBlock",
            StartLogging { .. } => "cloudtrail:GetTrailStatus",
            UpdateTrailSettings { .. } => "cloudtrail:GetTrail",
            DeleteQBusinessRetriever { .. } => "qbusiness:GetRetriever",
            DeleteQBusinessDataSource { .. } => "qbusiness:GetDataSource",
            DeleteQBusinessPlugin { .. } => "qbusiness:GetPlugin",
            DeleteQBusinessApp { .. } => "qbusiness:GetApplication",
        }
    }

    /// The step that reverses this one, given the state recorded before it ran,
    /// or a plain explanation of why it cannot be reversed.
    pub fn undo(&self, before: &Value) -> Result<StepAction, String> {
        use StepAction::*;
        match self {
            SetAccessKeyStatus { user_name, access_key_id, .. } => {
                let status = before.get("status").and_then(Value::as_str).ok_or("the recorded state has no key status")?;
                Ok(SetAccessKeyStatus { user_name: user_name.clone(), access_key_id: access_key_id.clone(), status: status.to_string() })
            }
            RevokeOlderSessions { principal, .. } => Ok(restore_inline(principal, REVOKE_SESSIONS_POLICY_NAME, before)),
            PutInlinePolicy { principal, policy_name, .. } => Ok(restore_inline(principal, policy_name, before)),
            DeleteInlinePolicy { principal, policy_name } => match before.get("document").and_then(Value::as_str) {
                Some(doc) => Ok(PutInlinePolicy { principal: principal.clone(), policy_name: policy_name.clone(), document: doc.to_string() }),
                None => Err("the policy did not exist before".into()),
            },
            DetachManagedPolicy { principal, policy_arn } => Ok(AttachManagedPolicy { principal: principal.clone(), policy_arn: policy_arn.clone() }),
            AttachManagedPolicy { principal, policy_arn } => Ok(DetachManagedPolicy { principal: principal.clone(), policy_arn: policy_arn.clone() }),
            RemoveUserFromGroup { user_name, group_name } => Ok(AddUserToGroup { user_name: user_name.clone(), group_name: group_name.clone() }),
            AddUserToGroup { user_name, group_name } => Ok(RemoveUserFromGroup { user_name: user_name.clone(), group_name: group_name.clone() }),
            SetTerminationProtection { instance_id, .. } => {
                let enabled = before.get("enabled").and_then(Value::as_bool).ok_or("the recorded state has no termination protection value")?;
                Ok(SetTerminationProtection { instance_id: instance_id.clone(), enabled })
            }
            ModifyNetworkInterfaceGroups { network_interface_id, primary_of_instance, .. } => {
                let ids = before.get("group_ids").and_then(Value::as_array).ok_or("the recorded state has no security groups")?;
                let ids: Vec<String> = ids.iter().filter_map(Value::as_str).map(String::from).collect();
                Ok(ModifyNetworkInterfaceGroups {
                    network_interface_id: network_interface_id.clone(),
                    groups: GroupSelection::Ids(ids),
                    primary_of_instance: primary_of_instance.clone(),
                })
            }
            TagEc2Resource { resource_id, tags } | RestoreEc2Tags { resource_id, set: tags, .. } => {
                let previous = before.get("tags").and_then(Value::as_object).ok_or("the recorded state has no tags")?;
                let mut set = BTreeMap::new();
                let mut remove = Vec::new();
                let keys: Vec<&String> = match self {
                    RestoreEc2Tags { set, remove, .. } => set.keys().chain(remove.iter()).collect(),
                    _ => tags.keys().collect(),
                };
                for key in keys {
                    match previous.get(key.as_str()).and_then(Value::as_str) {
                        Some(value) => {
                            set.insert(key.clone(), value.to_string());
                        }
                        None => remove.push(key.clone()),
                    }
                }
                Ok(RestoreEc2Tags { resource_id: resource_id.clone(), set, remove })
            }
            PutPublicAccessBlock { bucket, .. } | DeletePublicAccessBlock { bucket } => {
                match before.get("configuration").filter(|v| !v.is_null()) {
                    Some(conf) => {
                        let configuration: PublicAccessBlock =
                            serde_json::from_value(conf.clone()).map_err(|e| format!("the recorded configuration is unreadable: {e}"))?;
                        Ok(PutPublicAccessBlock { bucket: bucket.clone(), configuration })
                    }
                    None => Ok(DeletePublicAccessBlock { bucket: bucket.clone() }),
                }
            }
            UpdateTrailSettings { trail, .. } => {
                let settings: TrailSettings = serde_json::from_value(before.get("settings").cloned().unwrap_or(Value::Null))
                    .map_err(|e| format!("the recorded trail settings are unreadable: {e}"))?;
                Ok(UpdateTrailSettings { trail: trail.clone(), settings })
            }
            StartLogging { .. } => Err("firebreak does not stop CloudTrail logging; run StopLogging yourself if you really mean it".into()),
            EnsureQuarantineSecurityGroup { .. } => Err("the quarantine security group is left in place (it grants nothing); delete it once no interface uses it".into()),
            DetachFromAutoScalingGroup { instance_id, group_name, .. } => Err(format!(
                "not reversed automatically: re-attach with `aws autoscaling attach-instances --auto-scaling-group-name {group_name} --instance-ids {instance_id}` once the instance is clean"
            )),
            DeregisterFromClassicLoadBalancer { instance_id, load_balancer_name } => Err(format!(
                "not reversed automatically: re-register with `aws elb register-instances-with-load-balancer --load-balancer-name {load_balancer_name} --instances {instance_id}`"
            )),
            DeregisterFromTargetGroup { instance_id, target_group_arn, .. } => Err(format!(
                "not reversed automatically: re-register with `aws elbv2 register-targets --target-group-arn {target_group_arn} --targets Id={instance_id}`"
            )),
            SnapshotVolume { .. } | ShareSnapshot { .. } => Err("evidence is kept: forensic snapshots are not deleted or unshared by rollback".into()),
            CaptureUserMetadata { .. } | CaptureRoleMetadata { .. } | CaptureInstanceMetadata { .. } | CaptureTrail { .. } | CaptureQBusinessApp { .. } => {
                Err("a metadata capture changes nothing in AWS; there is nothing to undo".into())
            }
            DeleteUser { user_name } => Err(format!("user {user_name} was deleted: a deleted IAM user cannot be restored (its recorded state is in the action log)")),
            DeleteRole { role_name } => Err(format!("role {role_name} was deleted and cannot be restored (its recorded state is in the action log)")),
            DeleteAccessKey { access_key_id, .. } => Err(format!("access key {access_key_id} was deleted: it cannot be restored; create a new key")),
            DeleteLoginProfile { user_name } => Err(format!("the console password of {user_name} was deleted: it cannot be restored; create a new login profile")),
            DeleteSigningCertificate { certificate_id, .. } => Err(format!("signing certificate {certificate_id} was deleted: upload it again if it is still needed")),
            DeleteSshPublicKey { ssh_public_key_id, .. } => Err(format!("SSH public key {ssh_public_key_id} was deleted: upload it again if it is still needed")),
            RemoveMfaDevice { serial_number, .. } => Err(format!("MFA device {serial_number} was removed: re-enrolling needs the device's codes")),
            DeletePolicyVersion { .. } | DeletePolicy { .. } => Err("a deleted managed policy (version) cannot be restored by rollback; its document is in the action log".into()),
            RemoveRoleFromInstanceProfile { .. } => Err("not reversed automatically: add the role back with iam:AddRoleToInstanceProfile if needed".into()),
            DeleteQBusinessRetriever { .. } | DeleteQBusinessDataSource { .. } | DeleteQBusinessPlugin { .. } | DeleteQBusinessApp { .. } => {
                Err("deleted Q Business resources cannot be restored".into())
            }
        }
    }
}

fn restore_inline(principal: &Principal, policy_name: &str, before: &Value) -> StepAction {
    match before.get("document").and_then(Value::as_str) {
        Some(doc) => StepAction::PutInlinePolicy { principal: principal.clone(), policy_name: policy_name.to_string(), document: doc.to_string() },
        None => StepAction::DeleteInlinePolicy { principal: principal.clone(), policy_name: policy_name.to_string() },
    }
}

fn fmt_tags(tags: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("[{}]", parts.join(", "))
}

fn fmt_pab(c: &PublicAccessBlock) -> String {
    format!(
        "BlockPublicAcls={} IgnorePublicAcls={} BlockPublicPolicy={} RestrictPublicBuckets={}",
        c.block_public_acls, c.ignore_public_acls, c.block_public_policy, c.restrict_public_buckets
    )
}

/// The inline policy that denies everything to sessions issued before `issued_before`.
pub fn revoke_sessions_document(issued_before: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "FirebreakRevokeOlderSessions",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": { "DateLessThan": { "aws:TokenIssueTime": issued_before } }
        }]
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_round_trip_through_json() {
        let step = StepAction::SetAccessKeyStatus { user_name: "u".into(), access_key_id: "AKIA1".into(), status: "Inactive".into() };
        let text = serde_json::to_string(&step).unwrap();
        assert!(text.contains("\"step\":\"SetAccessKeyStatus\""));
        assert_eq!(serde_json::from_str::<StepAction>(&text).unwrap(), step);
        assert_eq!(step.name(), "SetAccessKeyStatus");
        assert_eq!(step.parameters(), json!({"user_name": "u", "access_key_id": "AKIA1", "status": "Inactive"}));
        assert_eq!(step.call(), "iam:UpdateAccessKey");
    }

    #[test]
    fn undo_uses_the_recorded_state() {
        let step = StepAction::SetAccessKeyStatus { user_name: "u".into(), access_key_id: "AKIA1".into(), status: "Inactive".into() };
        match step.undo(&json!({"status": "Active"})).unwrap() {
            StepAction::SetAccessKeyStatus { status, .. } => assert_eq!(status, "Active"),
            other => panic!("unexpected undo {other:?}"),
        }
        let tag = StepAction::TagEc2Resource {
            resource_id: "i-1".into(),
            tags: BTreeMap::from([("a".to_string(), "new".to_string()), ("b".to_string(), "new".to_string())]),
        };
        match tag.undo(&json!({"tags": {"a": "old"}})).unwrap() {
            StepAction::RestoreEc2Tags { set, remove, .. } => {
                assert_eq!(set, BTreeMap::from([("a".to_string(), "old".to_string())]));
                assert_eq!(remove, vec!["b".to_string()]);
            }
            other => panic!("unexpected undo {other:?}"),
        }
        let revoke = StepAction::RevokeOlderSessions { principal: Principal::Role("r".into()), issued_before: "t".into() };
        assert!(matches!(revoke.undo(&json!({"document": null})).unwrap(), StepAction::DeleteInlinePolicy { .. }));
        let delete = StepAction::DeleteUser { user_name: "mallory".into() };
        assert!(delete.undo(&json!({})).unwrap_err().contains("cannot be restored"));
        let pab = StepAction::PutPublicAccessBlock { bucket: "b".into(), configuration: PublicAccessBlock::ALL };
        assert!(matches!(pab.undo(&json!({"configuration": null})).unwrap(), StepAction::DeletePublicAccessBlock { .. }));
    }

    #[test]
    fn revoke_document_conditions_on_token_issue_time() {
        let doc: Value = serde_json::from_str(&revoke_sessions_document("2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(doc["Statement"][0]["Effect"], "Deny");
        assert_eq!(doc["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"], "2026-01-01T00:00:00Z");
    }
}
