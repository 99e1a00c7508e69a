//! Plans (typed step lists built from reads), applying them into a case's action log,
//! rollback and the action listing.

use std::collections::BTreeMap;

use firebreak_evidence::{Case, LogEntry};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::capture;
use crate::error::{api_error, AwsError, Result};
use crate::exec::{self, Clients, PermissionCheck};
use crate::session::{account_of_arn, CallerIdentity, Session, DEFAULT_PROTECTED_TAG_KEY};
use crate::steps::*;

/// What the responder asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// `contain access-key`.
    ContainAccessKey {
        /// The key.
        access_key_id: String,
        /// Its user (looked up with iam:GetAccessKeyLastUsed when absent).
        user_name: Option<String>,
        /// Also cut off temporary credentials already issued.
        revoke_sessions: bool,
    },
    /// `contain instance`.
    ContainInstance {
        /// The instance.
        instance_id: String,
        /// Account to share the forensic snapshots with.
        forensic_account: Option<String>,
        /// Ticket reference for the tags.
        ticket: Option<String>,
        /// Detach from the Auto Scaling group lowering its desired capacity (no replacement).
        decrement_capacity: bool,
        /// Name of the quarantine security group.
        quarantine_group_name: String,
    },
    /// `contain role NAME --revoke-sessions`.
    ContainRole {
        /// The role.
        role_name: String,
        /// Must be true: revoking sessions is the containment for a role.
        revoke_sessions: bool,
    },
    /// `contain bucket NAME --block-public`.
    ContainBucket {
        /// The bucket.
        bucket: String,
        /// Must be true: blocking public access is the containment for a bucket.
        block_public: bool,
    },
    /// `eradicate user`.
    EradicateUser {
        /// The user.
        user_name: String,
    },
    /// `eradicate role`.
    EradicateRole {
        /// The role.
        role_name: String,
    },
    /// `eradicate policy`.
    EradicatePolicy {
        /// The policy ARN.
        policy_arn: String,
    },
    /// `eradicate access-key`.
    EradicateAccessKey {
        /// The key.
        access_key_id: String,
        /// Its user (looked up when absent).
        user_name: Option<String>,
    },
    /// `eradicate qbusiness-app`.
    EradicateQBusinessApp {
        /// Application id.
        application_id: String,
        /// Delete its retrievers.
        with_retrievers: bool,
        /// Delete its data sources.
        with_data_sources: bool,
        /// Delete its plugins.
        with_plugins: bool,
    },
    /// `recover cloudtrail`.
    RecoverCloudTrail {
        /// Trail name or ARN.
        trail: String,
    },
}

impl Request {
    /// The command line this request corresponds to (for plans and the action log).
    pub fn command_line(&self) -> String {
        match self {
            Request::ContainAccessKey { access_key_id, revoke_sessions, .. } => {
                format!("contain access-key {access_key_id}{}", if *revoke_sessions { " --revoke-sessions" } else { "" })
            }
            Request::ContainInstance { instance_id, .. } => format!("contain instance {instance_id}"),
            Request::ContainRole { role_name, .. } => format!("contain role {role_name} --revoke-sessions"),
            Request::ContainBucket { bucket, .. } => format!("contain bucket {bucket} --block-public"),
            Request::EradicateUser { user_name } => format!("eradicate user {user_name}"),
            Request::EradicateRole { role_name } => format!("eradicate role {role_name}"),
            Request::EradicatePolicy { policy_arn } => format!("eradicate policy {policy_arn}"),
            Request::EradicateAccessKey { access_key_id, .. } => format!("eradicate access-key {access_key_id}"),
            Request::EradicateQBusinessApp { application_id, .. } => format!("eradicate qbusiness-app {application_id}"),
            Request::RecoverCloudTrail { trail } => format!("recover cloudtrail {trail}"),
        }
    }
}

/// Safety checks applied while planning.
#[derive(Debug, Clone)]
pub struct Guardrails {
    /// Tag key that marks a resource as protected.
    pub protected_tag_key: String,
    /// Act on protected resources anyway.
    pub force: bool,
    /// Account the command must act in (refuse otherwise).
    pub expected_account: Option<String>,
}

impl Default for Guardrails {
    fn default() -> Self {
        Self { protected_tag_key: DEFAULT_PROTECTED_TAG_KEY.to_string(), force: false, expected_account: None }
    }
}

/// Options for applying a plan.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Run the altering steps even when an evidence step failed.
    pub continue_without_evidence: bool,
}

/// A step in a plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedStep {
    /// 1-based position.
    pub number: usize,
    /// The typed step.
    pub action: StepAction,
    /// Step name.
    pub name: String,
    /// IAM action of the call.
    pub call: String,
    /// Call parameters.
    pub parameters: Value,
    /// Evidence, change or destruction.
    pub effect: Effect,
    /// What it changes.
    pub description: String,
    /// How its current state is read.
    pub state_read: String,
    /// Current state when the plan was made (None if not read or unreadable).
    pub current_state: Option<Value>,
    /// The resource already is in the target state.
    pub already_done: bool,
    /// Error while reading the state, if any.
    pub state_error: Option<String>,
    /// Result of the EC2 DryRun call, when the API has one.
    pub permission_check: Option<PermissionCheck>,
}

/// A plan: what will be read and called, in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// The command planned.
    pub command: String,
    /// Who is acting.
    pub identity: CallerIdentity,
    /// Region acted in.
    pub region: String,
    /// Reads made to build the plan (in order).
    pub reads: Vec<String>,
    /// The steps.
    pub steps: Vec<PlannedStep>,
    /// Warnings and facts the responder must know.
    pub notes: Vec<String>,
    /// For rollback plans: the action being reversed.
    pub rollback_of: Option<u64>,
}

/// What happened to a step when a plan was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// The call was made and succeeded.
    Applied,
    /// The resource already was in the target state: nothing was called.
    AlreadyDone,
    /// The call (or the state read before it) failed.
    Failed,
    /// Not run because an evidence step failed (see `--continue-without-evidence`).
    Skipped,
}

/// The outcome of one step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepOutcome {
    /// Step number in the plan.
    pub number: usize,
    /// Step name.
    pub name: String,
    /// IAM action.
    pub call: String,
    /// What it does.
    pub description: String,
    /// What happened.
    pub status: StepStatus,
    /// State before the step.
    pub before: Option<Value>,
    /// Result of the call.
    pub result: Option<Value>,
    /// Error or reason for skipping.
    pub error: Option<String>,
    /// The action-log entry written for it (its action id).
    pub action_id: Option<u64>,
}

/// The result of applying a plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    /// The plan applied.
    pub plan: Plan,
    /// Case name.
    pub case: String,
    /// Per-step outcomes.
    pub outcomes: Vec<StepOutcome>,
}

impl RunReport {
    /// True when every step was applied or already done.
    pub fn succeeded(&self) -> bool {
        self.outcomes.iter().all(|o| matches!(o.status, StepStatus::Applied | StepStatus::AlreadyDone))
    }
    /// Number of steps that changed something.
    pub fn changed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.status == StepStatus::Applied).count()
    }
}

/// Plans and applies response actions in one account.
pub struct Responder {
    session: Session,
    clients: Clients,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder").field("session", &self.session).finish()
    }
}

struct Builder<'a> {
    c: &'a Clients,
    guard: &'a Guardrails,
    reads: Vec<String>,
    steps: Vec<StepAction>,
    notes: Vec<String>,
}

impl<'a> Builder<'a> {
    fn read(&mut self, call: impl Into<String>) {
        self.reads.push(call.into());
    }

    fn check_protected(&self, resource: &str, tags: &BTreeMap<String, String>) -> Result<()> {
        if self.guard.force {
            return Ok(());
        }
        match tags.get(&self.guard.protected_tag_key) {
            Some(value) => Err(AwsError::Protected { resource: resource.to_string(), tag_key: self.guard.protected_tag_key.clone(), tag_value: value.clone() }),
            None => Ok(()),
        }
    }

    async fn user_tags(&mut self, user: &str) -> Result<BTreeMap<String, String>> {
        self.read(format!("iam:ListUserTags UserName={user}"));
        let out = self.c.iam.list_user_tags().user_name(user).send().await.map_err(|e| api_error("iam:ListUserTags", e))?;
        Ok(out.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
    }

    async fn role_tags(&mut self, role: &str) -> Result<BTreeMap<String, String>> {
        self.read(format!("iam:ListRoleTags RoleName={role}"));
        let out = self.c.iam.list_role_tags().role_name(role).send().await.map_err(|e| api_error("iam:ListRoleTags", e))?;
        Ok(out.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
    }

    /// Finds the user owning an access key; `None` when the key does not exist.
    async fn key_owner(&mut self, access_key_id: &str) -> Result<Option<String>> {
        self.read(format!("iam:GetAccessKeyLastUsed AccessKeyId={access_key_id}"));
        match self.c.iam.get_access_key_last_used().access_key_id(access_key_id).send().await {
            Ok(out) => Ok(out.user_name().map(String::from)),
            Err(err) => match api_error("iam:GetAccessKeyLastUsed", err) {
                AwsError::NotFound { .. } => Ok(None),
                e => Err(e),
            },
        }
    }

    /// Does the user exist?
    async fn user_exists(&mut self, user: &str) -> Result<bool> {
        self.read(format!("iam:GetUser UserName={user}"));
        match self.c.iam.get_user().user_name(user).send().await {
            Ok(_) => Ok(true),
            Err(err) => match api_error("iam:GetUser", err) {
                AwsError::NotFound { .. } => Ok(false),
                e => Err(e),
            },
        }
    }

    async fn role_exists(&mut self, role: &str) -> Result<bool> {
        self.read(format!("iam:GetRole RoleName={role}"));
        match self.c.iam.get_role().role_name(role).send().await {
            Ok(_) => Ok(true),
            Err(err) => match api_error("iam:GetRole", err) {
                AwsError::NotFound { .. } => Ok(false),
                e => Err(e),
            },
        }
    }

    async fn build(&mut self, request: &Request) -> Result<()> {
        match request {
            Request::ContainAccessKey { access_key_id, user_name, revoke_sessions } => {
                let user = match user_name {
                    Some(u) => u.clone(),
                    None => match self.key_owner(access_key_id).await? {
                        Some(u) => u,
                        None => return Err(AwsError::NotFound { what: format!("access key {access_key_id}") }),
                    },
                };
                let tags = self.user_tags(&user).await?;
                self.check_protected(&format!("user {user} (owner of {access_key_id})"), &tags)?;
                self.steps.push(StepAction::CaptureUserMetadata { user_name: user.clone() });
                self.steps.push(StepAction::SetAccessKeyStatus { user_name: user.clone(), access_key_id: access_key_id.clone(), status: "Inactive".into() });
                if *revoke_sessions {
                    self.steps.push(StepAction::RevokeOlderSessions { principal: Principal::User(user), issued_before: now_rfc3339() });
                    self.notes.push("the deny policy only cuts off sessions issued before now; the key itself is deactivated, not deleted".into());
                }
            }
            Request::EradicateAccessKey { access_key_id, user_name } => {
                let user = match user_name {
                    Some(u) => Some(u.clone()),
                    None => self.key_owner(access_key_id).await?,
                };
                let Some(user) = user else {
                    self.notes.push(format!("access key {access_key_id} does not exist (already deleted?): nothing to do"));
                    return Ok(());
                };
                let tags = self.user_tags(&user).await?;
                self.check_protected(&format!("user {user} (owner of {access_key_id})"), &tags)?;
                self.steps.push(StepAction::CaptureUserMetadata { user_name: user.clone() });
                self.steps.push(StepAction::DeleteAccessKey { user_name: user, access_key_id: access_key_id.clone() });
            }
            Request::EradicateUser { user_name } => self.eradicate_user(user_name).await?,
            Request::ContainRole { role_name, revoke_sessions } => {
                if !revoke_sessions {
                    return Err(AwsError::InvalidArgument("contain role needs --revoke-sessions (revoking its sessions is how a role is contained)".into()));
                }
                if !self.role_exists(role_name).await? {
                    return Err(AwsError::NotFound { what: format!("role {role_name}") });
                }
                let tags = self.role_tags(role_name).await?;
                self.check_protected(&format!("role {role_name}"), &tags)?;
                self.steps.push(StepAction::CaptureRoleMetadata { role_name: role_name.clone() });
                self.steps.push(StepAction::RevokeOlderSessions { principal: Principal::Role(role_name.clone()), issued_before: now_rfc3339() });
            }
            Request::EradicateRole { role_name } => self.eradicate_role(role_name).await?,
            Request::EradicatePolicy { policy_arn } => self.eradicate_policy(policy_arn).await?,
            Request::ContainBucket { bucket, block_public } => {
                if !block_public {
                    return Err(AwsError::InvalidArgument("contain bucket needs --block-public".into()));
                }
                self.read(format!("s3:GetBucketTagging Bucket={bucket}"));
                let tags = match self.c.s3.get_bucket_tagging().bucket(bucket).send().await {
                    Ok(out) => out.tag_set().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect(),
                    Err(err) => {
                        let code = crate::error::error_code(&err);
                        if code.as_deref() == Some("NoSuchTagSet") {
                            BTreeMap::new()
                        } else if code.as_deref() == Some("NoSuchBucket") {
                            return Err(AwsError::NotFound { what: format!("bucket {bucket}") });
                        } else {
                            return Err(api_error("s3:GetBucketTagging", err));
                        }
                    }
                };
                self.check_protected(&format!("bucket {bucket}"), &tags)?;
                self.steps.push(StepAction::PutPublicAccessBlock { bucket: bucket.clone(), configuration: PublicAccessBlock::ALL });
                self.notes.push("the bucket's policy and ACLs are left as they are (recorded before/after in the action log); the public access block overrides public grants".into());
            }
            Request::RecoverCloudTrail { trail } => {
                self.read(format!("cloudtrail:GetTrail Name={trail}"));
                let got = self.c.cloudtrail.get_trail().name(trail).send().await.map_err(|e| api_error("cloudtrail:GetTrail", e))?;
                if let Some(arn) = got.trail().and_then(|t| t.trail_arn()) {
                    self.read(format!("cloudtrail:ListTags ResourceIdList=[{arn}]"));
                    let out = self.c.cloudtrail.list_tags().resource_id_list(arn).send().await.map_err(|e| api_error("cloudtrail:ListTags", e))?;
                    let tags: BTreeMap<String, String> = out
                        .resource_tag_list()
                        .iter()
                        .flat_map(|r| r.tags_list())
                        .map(|t| (t.key().to_string(), t.value().unwrap_or_default().to_string()))
                        .collect();
                    self.check_protected(&format!("trail {trail}"), &tags)?;
                }
                self.steps.push(StepAction::CaptureTrail { trail: trail.clone() });
                self.steps.push(StepAction::StartLogging { trail: trail.clone() });
                self.steps.push(StepAction::UpdateTrailSettings { trail: trail.clone(), settings: TrailSettings::RECOMMENDED });
                self.notes.push("events not logged while the trail was stopped are not recoverable from the trail; use CloudTrail event history (90 days of management events) to fill the gap".into());
            }
            Request::ContainInstance { instance_id, forensic_account, ticket, decrement_capacity, quarantine_group_name } => {
                self.contain_instance(instance_id, forensic_account.as_deref(), ticket.as_deref(), *decrement_capacity, quarantine_group_name).await?
            }
            Request::EradicateQBusinessApp { application_id, with_retrievers, with_data_sources, with_plugins } => {
                self.eradicate_qbusiness(application_id, *with_retrievers, *with_data_sources, *with_plugins).await?
            }
        }
        Ok(())
    }

    async fn eradicate_user(&mut self, user: &str) -> Result<()> {
        if !self.user_exists(user).await? {
            self.notes.push(format!("user {user} does not exist (already eradicated?): nothing to do"));
            return Ok(());
        }
        let tags = self.user_tags(user).await?;
        self.check_protected(&format!("user {user}"), &tags)?;
        let c = self.c;
        self.steps.push(StepAction::CaptureUserMetadata { user_name: user.to_string() });
        self.read(format!("iam:ListAccessKeys UserName={user}"));
        let keys = c.iam.list_access_keys().user_name(user).max_items(1000).send().await.map_err(|e| api_error("iam:ListAccessKeys", e))?;
        for key in keys.access_key_metadata() {
            if let Some(id) = key.access_key_id() {
                self.steps.push(StepAction::DeleteAccessKey { user_name: user.to_string(), access_key_id: id.to_string() });
            }
        }
        self.read(format!("iam:GetLoginProfile UserName={user}"));
        match c.iam.get_login_profile().user_name(user).send().await {
            Ok(_) => self.steps.push(StepAction::DeleteLoginProfile { user_name: user.to_string() }),
            Err(err) => match api_error("iam:GetLoginProfile", err) {
                AwsError::NotFound { .. } => {}
                e => return Err(e),
            },
        }
        self.read(format!("iam:ListSigningCertificates UserName={user}"));
        let certs = c.iam.list_signing_certificates().user_name(user).send().await.map_err(|e| api_error("iam:ListSigningCertificates", e))?;
        for cert in certs.certificates() {
            self.steps.push(StepAction::DeleteSigningCertificate { user_name: user.to_string(), certificate_id: cert.certificate_id().to_string() });
        }
        self.read(format!("iam:ListSSHPublicKeys UserName={user}"));
        let ssh = c.iam.list_ssh_public_keys().user_name(user).send().await.map_err(|e| api_error("iam:ListSSHPublicKeys", e))?;
        for key in ssh.ssh_public_keys() {
            self.steps.push(StepAction::DeleteSshPublicKey { user_name: user.to_string(), ssh_public_key_id: key.ssh_public_key_id().to_string() });
        }
        self.read(format!("iam:ListMFADevices UserName={user}"));
        let mfa = c.iam.list_mfa_devices().user_name(user).send().await.map_err(|e| api_error("iam:ListMFADevices", e))?;
        for device in mfa.mfa_devices() {
            self.steps.push(StepAction::RemoveMfaDevice { user_name: user.to_string(), serial_number: device.serial_number().to_string() });
        }
        self.read(format!("iam:ListUserPolicies UserName={user}"));
        let inline = c.iam.list_user_policies().user_name(user).max_items(1000).send().await.map_err(|e| api_error("iam:ListUserPolicies", e))?;
        for name in inline.policy_names() {
            self.steps.push(StepAction::DeleteInlinePolicy { principal: Principal::User(user.to_string()), policy_name: name.clone() });
        }
        self.read(format!("iam:ListAttachedUserPolicies UserName={user}"));
        let attached = c.iam.list_attached_user_policies().user_name(user).max_items(1000).send().await.map_err(|e| api_error("iam:ListAttachedUserPolicies", e))?;
        for p in attached.attached_policies() {
            if let Some(arn) = p.policy_arn() {
                self.steps.push(StepAction::DetachManagedPolicy { principal: Principal::User(user.to_string()), policy_arn: arn.to_string() });
            }
        }
        self.read(format!("iam:ListGroupsForUser UserName={user}"));
        let groups = c.iam.list_groups_for_user().user_name(user).max_items(1000).send().await.map_err(|e| api_error("iam:ListGroupsForUser", e))?;
        for g in groups.groups() {
            self.steps.push(StepAction::RemoveUserFromGroup { user_name: user.to_string(), group_name: g.group_name().to_string() });
        }
        self.steps.push(StepAction::DeleteUser { user_name: user.to_string() });
        self.notes.push("service-specific credentials (CodeCommit/Keyspaces passwords) are not listed by this version: iam:DeleteUser fails with DeleteConflict if the user has any".into());
        Ok(())
    }

    async fn eradicate_role(&mut self, role: &str) -> Result<()> {
        if !self.role_exists(role).await? {
            self.notes.push(format!("role {role} does not exist (already eradicated?): nothing to do"));
            return Ok(());
        }
        let tags = self.role_tags(role).await?;
        self.check_protected(&format!("role {role}"), &tags)?;
        let c = self.c;
        self.steps.push(StepAction::CaptureRoleMetadata { role_name: role.to_string() });
        self.read(format!("iam:ListInstanceProfilesForRole RoleName={role}"));
        let profiles = c.iam.list_instance_profiles_for_role().role_name(role).send().await.map_err(|e| api_error("iam:ListInstanceProfilesForRole", e))?;
        for p in profiles.instance_profiles() {
            self.steps.push(StepAction::RemoveRoleFromInstanceProfile { role_name: role.to_string(), instance_profile_name: p.instance_profile_name().to_string() });
        }
        self.read(format!("iam:ListRolePolicies RoleName={role}"));
        let inline = c.iam.list_role_policies().role_name(role).max_items(1000).send().await.map_err(|e| api_error("iam:ListRolePolicies", e))?;
        for name in inline.policy_names() {
            self.steps.push(StepAction::DeleteInlinePolicy { principal: Principal::Role(role.to_string()), policy_name: name.clone() });
        }
        self.read(format!("iam:ListAttachedRolePolicies RoleName={role}"));
        let attached = c.iam.list_attached_role_policies().role_name(role).max_items(1000).send().await.map_err(|e| api_error("iam:ListAttachedRolePolicies", e))?;
        for p in attached.attached_policies() {
            if let Some(arn) = p.policy_arn() {
                self.steps.push(StepAction::DetachManagedPolicy { principal: Principal::Role(role.to_string()), policy_arn: arn.to_string() });
            }
        }
        self.steps.push(StepAction::DeleteRole { role_name: role.to_string() });
        Ok(())
    }

    async fn eradicate_policy(&mut self, policy_arn: &str) -> Result<()> {
        if policy_arn.starts_with("arn:aws:iam::aws:policy/") {
            return Err(AwsError::InvalidArgument(format!("{policy_arn} is an AWS managed policy: it cannot be deleted")));
        }
        let c = self.c;
        self.read(format!("iam:GetPolicy PolicyArn={policy_arn}"));
        match c.iam.get_policy().policy_arn(policy_arn).send().await {
            Ok(_) => {}
            Err(err) => match api_error("iam:GetPolicy", err) {
                AwsError::NotFound { .. } => {
                    self.notes.push(format!("policy {policy_arn} does not exist (already eradicated?): nothing to do"));
                    return Ok(());
                }
                e => return Err(e),
            },
        }
        self.read(format!("iam:ListPolicyTags PolicyArn={policy_arn}"));
        let tags: BTreeMap<String, String> = c
            .iam
            .list_policy_tags()
            .policy_arn(policy_arn)
            .send()
            .await
            .map_err(|e| api_error("iam:ListPolicyTags", e))?
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        self.check_protected(&format!("policy {policy_arn}"), &tags)?;
        self.read(format!("iam:ListEntitiesForPolicy PolicyArn={policy_arn}"));
        let entities = c.iam.list_entities_for_policy().policy_arn(policy_arn).max_items(1000).send().await.map_err(|e| api_error("iam:ListEntitiesForPolicy", e))?;
        for u in entities.policy_users() {
            if let Some(n) = u.user_name() {
                self.steps.push(StepAction::DetachManagedPolicy { principal: Principal::User(n.to_string()), policy_arn: policy_arn.to_string() });
            }
        }
        for r in entities.policy_roles() {
            if let Some(n) = r.role_name() {
                self.steps.push(StepAction::DetachManagedPolicy { principal: Principal::Role(n.to_string()), policy_arn: policy_arn.to_string() });
            }
        }
        for g in entities.policy_groups() {
            if let Some(n) = g.group_name() {
                self.steps.push(StepAction::DetachManagedPolicy { principal: Principal::Group(n.to_string()), policy_arn: policy_arn.to_string() });
            }
        }
        self.read(format!("iam:ListPolicyVersions PolicyArn={policy_arn}"));
        let versions = c.iam.list_policy_versions().policy_arn(policy_arn).send().await.map_err(|e| api_error("iam:ListPolicyVersions", e))?;
        for v in versions.versions() {
            if !v.is_default_version() {
                if let Some(id) = v.version_id() {
                    self.steps.push(StepAction::DeletePolicyVersion { policy_arn: policy_arn.to_string(), version_id: id.to_string() });
                }
            }
        }
        self.steps.push(StepAction::DeletePolicy { policy_arn: policy_arn.to_string() });
        Ok(())
    }

    async fn contain_instance(
        &mut self,
        instance_id: &str,
        forensic_account: Option<&str>,
        ticket: Option<&str>,
        decrement_capacity: bool,
        quarantine_group_name: &str,
    ) -> Result<()> {
        let c = self.c;
        self.read(format!("ec2:DescribeInstances InstanceIds=[{instance_id}]"));
        let out = c.ec2.describe_instances().instance_ids(instance_id).send().await.map_err(|e| api_error("ec2:DescribeInstances", e))?;
        let instance = out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(instance_id))
            .cloned()
            .ok_or_else(|| AwsError::NotFound { what: format!("instance {instance_id}") })?;
        let tags: BTreeMap<String, String> = instance.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect();
        self.check_protected(&format!("instance {instance_id}"), &tags)?;
        if let Some(account) = forensic_account {
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(AwsError::InvalidArgument(format!("--forensic-account {account:?} is not a 12-digit account id")));
            }
        }

        // 1. Evidence first.
        self.steps.push(StepAction::CaptureInstanceMetadata { instance_id: instance_id.to_string() });
        // 2. Termination protection.
        self.steps.push(StepAction::SetTerminationProtection { instance_id: instance_id.to_string(), enabled: true });
        // 3. Network isolation.
        let vpc_id = instance.vpc_id().map(String::from);
        match &vpc_id {
            Some(vpc) => {
                self.steps.push(StepAction::EnsureQuarantineSecurityGroup { vpc_id: vpc.clone(), group_name: quarantine_group_name.to_string() });
                let single = instance.network_interfaces().len() == 1;
                for eni in instance.network_interfaces() {
                    if let Some(id) = eni.network_interface_id() {
                        self.steps.push(StepAction::ModifyNetworkInterfaceGroups {
                            network_interface_id: id.to_string(),
                            groups: GroupSelection::Quarantine { vpc_id: vpc.clone(), group_name: quarantine_group_name.to_string() },
                            primary_of_instance: single.then(|| instance_id.to_string()),
                        });
                    }
                }
                self.notes.push("connections already established are tracked and survive a security-group swap: they keep flowing until they close; use a network ACL or stop the instance to cut them".into());
            }
            None => self.notes.push(format!("instance {instance_id} is not in a VPC (EC2-Classic): network isolation is not planned")),
        }
        // 4. Auto Scaling.
        self.read(format!("autoscaling:DescribeAutoScalingInstances InstanceIds=[{instance_id}]"));
        let asg = c
            .autoscaling
            .describe_auto_scaling_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .map_err(|e| api_error("autoscaling:DescribeAutoScalingInstances", e))?;
        for member in asg.auto_scaling_instances() {
            if member.instance_id() == Some(instance_id) {
                if let Some(group) = member.auto_scaling_group_name() {
                    self.steps.push(StepAction::DetachFromAutoScalingGroup { instance_id: instance_id.to_string(), group_name: group.to_string(), decrement_capacity });
                }
            }
        }
        // 5. Load balancers.
        self.read("elasticloadbalancing:DescribeLoadBalancers (classic)");
        let classic = c.elb.describe_load_balancers().send().await.map_err(|e| api_error("elasticloadbalancing:DescribeLoadBalancers", e))?;
        for lb in classic.load_balancer_descriptions() {
            if lb.instances().iter().any(|i| i.instance_id() == Some(instance_id)) {
                if let Some(name) = lb.load_balancer_name() {
                    self.steps.push(StepAction::DeregisterFromClassicLoadBalancer { instance_id: instance_id.to_string(), load_balancer_name: name.to_string() });
                }
            }
        }
        self.read("elasticloadbalancing:DescribeTargetGroups + DescribeTargetHealth (v2)");
        let groups = c.elbv2.describe_target_groups().send().await.map_err(|e| api_error("elasticloadbalancing:DescribeTargetGroups", e))?;
        for tg in groups.target_groups() {
            let Some(arn) = tg.target_group_arn() else { continue };
            let health = c.elbv2.describe_target_health().target_group_arn(arn).send().await.map_err(|e| api_error("elasticloadbalancing:DescribeTargetHealth", e))?;
            for d in health.target_health_descriptions() {
                if let Some(target) = d.target() {
                    if target.id() == Some(instance_id) {
                        self.steps.push(StepAction::DeregisterFromTargetGroup { instance_id: instance_id.to_string(), target_group_arn: arn.to_string(), port: target.port() });
                    }
                }
            }
        }
        // 6. Snapshots.
        let volume_ids: Vec<String> = instance.block_device_mappings().iter().filter_map(|m| m.ebs().and_then(|e| e.volume_id()).map(String::from)).collect();
        if !volume_ids.is_empty() {
            self.read(format!("ec2:DescribeVolumes VolumeIds=[{}]", volume_ids.join(",")));
            let volumes = c.ec2.describe_volumes().set_volume_ids(Some(volume_ids.clone())).send().await.map_err(|e| api_error("ec2:DescribeVolumes", e))?;
            for vol in volumes.volumes() {
                if vol.encrypted() == Some(true) {
                    let key = vol.kms_key_id().unwrap_or("the AWS managed key aws/ebs");
                    let vid = vol.volume_id().unwrap_or_default();
                    match forensic_account {
                        Some(acct) => self.notes.push(format!(
                            "volume {vid} is encrypted with {key}: account {acct} also needs that KMS key shared (key policy or kms:CreateGrant) to use the snapshot; snapshots under the AWS managed aws/ebs key cannot be shared: copy them with a customer managed key first"
                        )),
                        None => self.notes.push(format!("volume {vid} is encrypted with {key}")),
                    }
                }
            }
        }
        for vol in &volume_ids {
            self.steps.push(StepAction::SnapshotVolume { instance_id: instance_id.to_string(), volume_id: vol.clone(), ticket: ticket.map(String::from) });
        }
        if let Some(acct) = forensic_account {
            for vol in &volume_ids {
                self.steps.push(StepAction::ShareSnapshot { instance_id: instance_id.to_string(), volume_id: vol.clone(), account_id: acct.to_string() });
            }
        }
        // 7. Tag.
        let mut marker = BTreeMap::from([(QUARANTINE_TAG_KEY.to_string(), "true".to_string())]);
        if let Some(t) = ticket {
            marker.insert(TICKET_TAG_KEY.to_string(), t.to_string());
        }
        self.steps.push(StepAction::TagEc2Resource { resource_id: instance_id.to_string(), tags: marker });
        Ok(())
    }

    async fn eradicate_qbusiness(&mut self, app: &str, retrievers: bool, data_sources: bool, plugins: bool) -> Result<()> {
        let c = self.c;
        self.read(format!("qbusiness:GetApplication ApplicationId={app}"));
        let got = match c.qbusiness.get_application().application_id(app).send().await {
            Ok(out) => out,
            Err(err) => match api_error("qbusiness:GetApplication", err) {
                AwsError::NotFound { .. } => {
                    self.notes.push(format!("Q Business application {app} does not exist (already eradicated?): nothing to do"));
                    return Ok(());
                }
                e => return Err(e),
            },
        };
        if let Some(arn) = got.application_arn() {
            self.read(format!("qbusiness:ListTagsForResource ResourceARN={arn}"));
            let tags: BTreeMap<String, String> = c
                .qbusiness
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .map_err(|e| api_error("qbusiness:ListTagsForResource", e))?
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            self.check_protected(&format!("Q Business application {app}"), &tags)?;
        }
        self.steps.push(StepAction::CaptureQBusinessApp { application_id: app.to_string() });
        if plugins {
            self.read(format!("qbusiness:ListPlugins ApplicationId={app}"));
            let out = c.qbusiness.list_plugins().application_id(app).send().await.map_err(|e| api_error("qbusiness:ListPlugins", e))?;
            for p in out.plugins() {
                if let Some(id) = p.plugin_id() {
                    self.steps.push(StepAction::DeleteQBusinessPlugin { application_id: app.to_string(), plugin_id: id.to_string() });
                }
            }
        }
        if data_sources {
            self.read(format!("qbusiness:ListIndices ApplicationId={app}"));
            let indices = c.qbusiness.list_indices().application_id(app).send().await.map_err(|e| api_error("qbusiness:ListIndices", e))?;
            for index in indices.indices() {
                let Some(index_id) = index.index_id() else { continue };
                self.read(format!("qbusiness:ListDataSources IndexId={index_id}"));
                let sources = c.qbusiness.list_data_sources().application_id(app).index_id(index_id).send().await.map_err(|e| api_error("qbusiness:ListDataSources", e))?;
                for s in sources.data_sources() {
                    if let Some(id) = s.data_source_id() {
                        self.steps.push(StepAction::DeleteQBusinessDataSource { application_id: app.to_string(), index_id: index_id.to_string(), data_source_id: id.to_string() });
                    }
                }
            }
        }
        if retrievers {
            self.read(format!("qbusiness:ListRetrievers ApplicationId={app}"));
            let out = c.qbusiness.list_retrievers().application_id(app).send().await.map_err(|e| api_error("qbusiness:ListRetrievers", e))?;
            for r in out.retrievers() {
                if let Some(id) = r.retriever_id() {
                    self.steps.push(StepAction::DeleteQBusinessRetriever { application_id: app.to_string(), retriever_id: id.to_string() });
                }
            }
        }
        self.steps.push(StepAction::DeleteQBusinessApp { application_id: app.to_string() });
        Ok(())
    }
}

fn now_rfc3339() -> String {
    jiff::Timestamp::now().round(jiff::Unit::Second).unwrap_or_else(|_| jiff::Timestamp::now()).to_string()
}

/// The account a request names explicitly (policy ARN, trail ARN), if any.
fn account_named_by(request: &Request) -> Option<String> {
    match request {
        Request::EradicatePolicy { policy_arn } => account_of_arn(policy_arn).map(String::from),
        Request::RecoverCloudTrail { trail } => account_of_arn(trail).map(String::from),
        _ => None,
    }
}

impl Responder {
    /// Wraps a connected session.
    pub fn new(session: Session) -> Self {
        let clients = Clients::new(&session);
        Self { session, clients }
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    fn check_accounts(&self, guard: &Guardrails, named: Option<&str>) -> Result<()> {
        self.session.check_account(guard.expected_account.as_deref())?;
        self.session.check_account(named)
    }

    /// Builds the plan for a request: checks the account and protection guardrails, reads
    /// what it needs, then reads each step's current state and runs EC2 DryRun checks.
    /// Changes nothing.
    pub fn plan(&self, request: &Request, guard: &Guardrails) -> Result<Plan> {
        self.check_accounts(guard, account_named_by(request).as_deref())?;
        self.session.block_on(async {
            let mut builder = Builder { c: &self.clients, guard, reads: vec!["sts:GetCallerIdentity".into()], steps: Vec::new(), notes: Vec::new() };
            builder.build(request).await?;
            let Builder { reads, steps, notes, .. } = builder;
            let mut plan = Plan {
                command: request.command_line(),
                identity: self.session.identity().clone(),
                region: self.session.region().to_string(),
                reads,
                steps: Vec::new(),
                notes,
                rollback_of: None,
            };
            for (index, action) in steps.into_iter().enumerate() {
                plan.steps.push(self.planned_step(index + 1, action).await);
            }
            Ok(plan)
        })
    }

    async fn planned_step(&self, number: usize, action: StepAction) -> PlannedStep {
        let (current_state, already_done, state_error) = match exec::read_state(&self.clients, &action).await {
            Ok(state) => (Some(state.before), state.satisfied, None),
            Err(err) => (None, false, Some(err.to_string())),
        };
        let permission_check = if already_done { None } else { exec::dry_run(&self.clients, &action).await };
        PlannedStep {
            number,
            name: action.name(),
            call: action.call().to_string(),
            parameters: action.parameters(),
            effect: action.effect(),
            description: action.describe(),
            state_read: action.state_read().to_string(),
            current_state,
            already_done,
            state_error,
            permission_check,
            action,
        }
    }

    /// Executes a plan step by step, recording every applied (or failed) step in the case's
    /// action log. Steps already in their target state are not called and not recorded.
    /// When an evidence step fails, the later altering steps are skipped unless
    /// `options.continue_without_evidence`.
    pub fn apply(&self, plan: &Plan, case: &Case, options: ApplyOptions) -> Result<RunReport> {
        self.session.check_account(Some(&plan.identity.account))?;
        let previous = case.action_log().entries()?;
        let run_id = format!("run-{}", jiff::Timestamp::now().as_millisecond());
        let mut outcomes = Vec::new();
        let mut evidence_failure: Option<usize> = None;
        let mut first_failure: Option<usize> = None;
        for step in &plan.steps {
            let action = &step.action;
            let mut outcome = StepOutcome {
                number: step.number,
                name: step.name.clone(),
                call: step.call.clone(),
                description: step.description.clone(),
                status: StepStatus::Skipped,
                before: None,
                result: None,
                error: None,
                action_id: None,
            };
            if let Some(failed) = evidence_failure {
                if action.effect() != Effect::PreserveEvidence && !options.continue_without_evidence {
                    outcome.error = Some(format!("not run: evidence step {failed} failed (pass --continue-without-evidence to run it anyway)"));
                    outcomes.push(outcome);
                    continue;
                }
            }
            if let Some(failed) = first_failure {
                if is_final_deletion(action) {
                    outcome.error = Some(format!("not run: step {failed} failed, and this deletion needs every step before it"));
                    outcomes.push(outcome);
                    continue;
                }
            }
            let is_capture = is_capture(action);
            if is_capture && already_captured(&previous, action) {
                outcome.status = StepStatus::AlreadyDone;
                outcome.result = Some(json!({ "note": "already captured in this case" }));
                outcomes.push(outcome);
                continue;
            }
            let state = if is_capture { Ok(exec::StepState { before: Value::Null, satisfied: false }) } else { self.session.block_on(exec::read_state(&self.clients, action)) };
            let state = match state {
                Ok(state) => state,
                Err(err) => {
                    outcome.status = StepStatus::Failed;
                    outcome.error = Some(format!("reading the current state failed: {err}"));
                    first_failure.get_or_insert(step.number);
                    if action.effect() == Effect::PreserveEvidence {
                        evidence_failure = Some(step.number);
                    }
                    outcomes.push(outcome);
                    continue;
                }
            };
            outcome.before = Some(state.before.clone());
            if state.satisfied {
                outcome.status = StepStatus::AlreadyDone;
                outcomes.push(outcome);
                continue;
            }
            let result = if is_capture {
                self.session.block_on(capture::capture(&self.clients, action, case))
            } else {
                self.session.block_on(exec::apply(&self.clients, action))
            };
            let (status, result_value, error) = match result {
                Ok(v) => (StepStatus::Applied, Some(v), None),
                Err(err) => (StepStatus::Failed, None, Some(err.to_string())),
            };
            let record = json!({
                "kind": "step",
                "run_id": run_id,
                "command": plan.command,
                "rollback_of": plan.rollback_of,
                "step_number": step.number,
                "action": action,
                "call": step.call,
                "parameters": step.parameters,
                "effect": action.effect(),
                "identity": self.session.identity(),
                "account": self.session.identity().account,
                "region": self.session.region(),
                "before": state.before,
                "result": result_value,
                "status": status,
                "error": error,
            });
            let entry = case.action_log().append(record)?;
            outcome.action_id = Some(entry.seq);
            outcome.status = status;
            outcome.result = result_value;
            outcome.error = error;
            if status == StepStatus::Failed {
                first_failure.get_or_insert(step.number);
                if action.effect() == Effect::PreserveEvidence {
                    evidence_failure = Some(step.number);
                }
            }
            outcomes.push(outcome);
        }
        Ok(RunReport { plan: plan.clone(), case: case.name().to_string(), outcomes })
    }

    /// Plans the reversal of one recorded action. A plan with no steps and a note is
    /// returned when the action cannot be reversed.
    pub fn plan_rollback(&self, case: &Case, action_id: &str) -> Result<Plan> {
        let entry = find_action(case, action_id)?;
        let record = ActionRecord::from_entry(&entry)?;
        self.session.check_account(Some(&record.account))?;
        let mut notes = Vec::new();
        let mut steps = Vec::new();
        if record.status != StepStatus::Applied {
            notes.push(format!("action {} was not applied (status {:?}): nothing to reverse", entry.seq, record.status));
        } else {
            match record.action.undo(&record.before) {
                Ok(undo) => steps.push(undo),
                Err(reason) => notes.push(format!("action {} ({}) cannot be reversed: {reason}", entry.seq, record.action.name())),
            }
        }
        self.session.block_on(async {
            let mut plan = Plan {
                command: format!("rollback {}", entry.seq),
                identity: self.session.identity().clone(),
                region: self.session.region().to_string(),
                reads: vec!["sts:GetCallerIdentity".into(), format!("case action log entry {}", entry.seq)],
                steps: Vec::new(),
                notes,
                rollback_of: Some(entry.seq),
            };
            for (index, action) in steps.into_iter().enumerate() {
                plan.steps.push(self.planned_step(index + 1, action).await);
            }
            Ok(plan)
        })
    }
}

/// The last step of an eradication (the principal, policy or application itself): it only
/// runs when every step before it succeeded.
fn is_final_deletion(action: &StepAction) -> bool {
    matches!(
        action,
        StepAction::DeleteUser { .. } | StepAction::DeleteRole { .. } | StepAction::DeletePolicy { .. } | StepAction::DeleteQBusinessApp { .. }
    )
}

fn is_capture(action: &StepAction) -> bool {
    matches!(
        action,
        StepAction::CaptureUserMetadata { .. }
            | StepAction::CaptureRoleMetadata { .. }
            | StepAction::CaptureInstanceMetadata { .. }
            | StepAction::CaptureTrail { .. }
            | StepAction::CaptureQBusinessApp { .. }
    )
}

fn already_captured(entries: &[LogEntry], action: &StepAction) -> bool {
    let Ok(wanted) = serde_json::to_value(action) else { return false };
    entries.iter().any(|e| e.record.get("action") == Some(&wanted) && e.record.get("status").and_then(Value::as_str) == Some("applied"))
}

/// A step entry of the action log, parsed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionRecord {
    /// Action id (the log sequence number).
    #[serde(default)]
    pub action_id: u64,
    /// When it was recorded.
    #[serde(default)]
    pub time: String,
    /// Command that ran it.
    pub command: String,
    /// The step.
    pub action: StepAction,
    /// IAM action called.
    pub call: String,
    /// Parameters.
    pub parameters: Value,
    /// Who did it.
    pub identity: CallerIdentity,
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// State before.
    pub before: Value,
    /// Result (state after).
    pub result: Option<Value>,
    /// Applied or failed.
    pub status: StepStatus,
    /// Error, if failed.
    pub error: Option<String>,
    /// The action this one rolled back, if it was a rollback.
    #[serde(default)]
    pub rollback_of: Option<u64>,
}

impl ActionRecord {
    /// Parses a log entry written by [`Responder::apply`].
    pub fn from_entry(entry: &LogEntry) -> Result<Self> {
        let mut record: ActionRecord = serde_json::from_value(entry.record.clone())
            .map_err(|e| AwsError::BadLogRecord { action_id: entry.seq.to_string(), reason: e.to_string() })?;
        record.action_id = entry.seq;
        record.time = entry.time.clone();
        Ok(record)
    }
}

fn find_action(case: &Case, action_id: &str) -> Result<LogEntry> {
    let wanted: u64 = action_id
        .trim()
        .trim_start_matches(['#', 'a', 'A'])
        .parse()
        .map_err(|_| AwsError::InvalidArgument(format!("action id {action_id:?} is not a number (see `firebreak actions --case {}`)", case.name())))?;
    case.action_log().verify()?;
    case.action_log()
        .entries()?
        .into_iter()
        .find(|e| e.seq == wanted)
        .ok_or_else(|| AwsError::UnknownAction { case: case.name().to_string(), action_id: action_id.to_string() })
}

/// Every step recorded in a case (after verifying the hash chain), oldest first.
pub fn list_actions(case: &Case) -> Result<Vec<ActionRecord>> {
    case.action_log().verify()?;
    let mut out = Vec::new();
    for entry in case.action_log().entries()? {
        if entry.record.get("kind").and_then(Value::as_str) == Some("step") {
            out.push(ActionRecord::from_entry(&entry)?);
        }
    }
    Ok(out)
}
