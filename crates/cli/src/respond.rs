//! `contain`, `eradicate`, `recover`, `actions` and `rollback`: response actions
//! through the AWS APIs (implemented in `firebreak-aws`).
//!
//! Without `--apply` every command only prints its plan (reads, then numbered calls with
//! their parameters and effects; EC2 calls are dry-run). With `--apply` it executes the
//! plan and records each step into the case's hash-chained action log.

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use firebreak_aws::evidence::{Case, CaseEnv, CaseLocation};
use firebreak_aws::{render, ApplyOptions, ConnectOptions, Guardrails, Request, Responder, Session};

/// Options shared by every command that talks to AWS.
#[derive(Debug, Clone, Args)]
pub struct GlobalAwsArgs {
    /// AWS shared-config profile to use.
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// AWS region to act in.
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Role to assume in the affected account before acting.
    #[arg(long, global = true)]
    pub role_arn: Option<String>,
    /// External ID for `--role-arn`.
    #[arg(long, global = true)]
    pub external_id: Option<String>,
    /// Case (name or folder) that records every applied step (the global `--case`).
    #[arg(skip)]
    pub case: Option<String>,
    /// Endpoint override for every AWS client (a local moto server in tests).
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL", hide = true)]
    pub endpoint_url: Option<String>,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// Readable text.
    #[default]
    Text,
    /// One JSON object per line.
    Jsonl,
}

/// Options of every command that changes AWS.
#[derive(Debug, Clone, Args)]
pub struct ActOptions {
    /// Execute the plan (without it only the plan is printed; nothing changes).
    #[arg(long)]
    pub apply: bool,
    /// Act even on resources carrying the protection tag.
    #[arg(long)]
    pub force: bool,
    /// Run the altering steps even when an evidence step (capture, snapshot) failed.
    #[arg(long)]
    pub continue_without_evidence: bool,
    /// Refuse to act unless the credentials are for this account.
    #[arg(long)]
    pub account: Option<String>,
    /// Tag key that marks a resource as protected.
    #[arg(long, env = "FIREBREAK_PROTECTED_TAG_KEY", default_value = firebreak_aws::DEFAULT_PROTECTED_TAG_KEY)]
    pub protected_tag_key: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

/// What to contain.
#[derive(Debug, Subcommand)]
pub enum ContainTarget {
    /// Deactivate an access key (not delete); --revoke-sessions also cuts off issued sessions.
    AccessKey {
        /// Access key id (AKIA...).
        access_key_id: String,
        /// The key's user (looked up when absent).
        #[arg(long)]
        user: Option<String>,
        /// Attach a deny-all policy for sessions issued before now.
        #[arg(long)]
        revoke_sessions: bool,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Isolate an instance: capture, protect, quarantine network, detach, deregister, snapshot, tag.
    Instance {
        /// Instance id (i-...).
        instance_id: String,
        /// Share the forensic snapshots with this account.
        #[arg(long)]
        forensic_account: Option<String>,
        /// Ticket reference for the tags.
        #[arg(long)]
        ticket: Option<String>,
        /// Lower the Auto Scaling group's desired capacity instead of letting it launch a replacement.
        #[arg(long)]
        decrement_capacity: bool,
        /// Name of the quarantine security group.
        #[arg(long, default_value = "firebreak-quarantine")]
        quarantine_group: String,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Revoke a role's active sessions.
    Role {
        /// Role name.
        role_name: String,
        /// Attach a deny-all policy for sessions issued before now (required).
        #[arg(long)]
        revoke_sessions: bool,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Block public access to a bucket.
    Bucket {
        /// Bucket name.
        bucket: String,
        /// Turn on all four public-access-block switches (required).
        #[arg(long)]
        block_public: bool,
        #[command(flatten)]
        opts: ActOptions,
    },
}

/// What to eradicate.
#[derive(Debug, Subcommand)]
pub enum EradicateTarget {
    /// Delete a user: keys, login profile, MFA, policies, groups, then the user.
    User {
        /// User name.
        user_name: String,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Delete a role: instance profiles, policies, then the role.
    Role {
        /// Role name.
        role_name: String,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Delete a customer-managed policy: detach it everywhere, delete old versions, then it.
    Policy {
        /// Policy ARN.
        policy_arn: String,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Delete an access key.
    AccessKey {
        /// Access key id.
        access_key_id: String,
        /// The key's user (looked up when absent).
        #[arg(long)]
        user: Option<String>,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Delete a Q Business application (optionally its retrievers, data sources, plugins first).
    QbusinessApp {
        /// Application id.
        application_id: String,
        /// Delete its retrievers.
        #[arg(long)]
        with_retrievers: bool,
        /// Delete its data sources.
        #[arg(long)]
        with_data_sources: bool,
        /// Delete its plugins.
        #[arg(long)]
        with_plugins: bool,
        #[command(flatten)]
        opts: ActOptions,
    },
}

/// What to recover.
#[derive(Debug, Subcommand)]
pub enum RecoverTarget {
    /// Start logging and restore the trail's multi-region / global-events / validation settings.
    Cloudtrail {
        /// Trail name or ARN.
        trail: String,
        #[command(flatten)]
        opts: ActOptions,
    },
}

/// The response commands.
#[derive(Debug, Subcommand)]
pub enum RespondCommand {
    /// Contain a compromised resource (plan only unless --apply).
    #[command(subcommand)]
    Contain(ContainTarget),
    /// Remove what an attacker created or used (plan only unless --apply).
    #[command(subcommand)]
    Eradicate(EradicateTarget),
    /// Restore what an attacker turned off (plan only unless --apply).
    #[command(subcommand)]
    Recover(RecoverTarget),
    /// List what was done in a case: when, by whom, before and after.
    Actions {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Reverse a recorded action (plan only unless --apply).
    Rollback {
        /// The action id (from `firebreak actions`).
        action_id: String,
        #[command(flatten)]
        opts: ActOptions,
    },
}

impl GlobalAwsArgs {
    /// How to reach AWS: the standard chain with `--profile`, `--region`, `--role-arn`.
    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            profile: self.profile.clone(),
            region: self.region.clone(),
            role_arn: self.role_arn.clone(),
            external_id: self.external_id.clone(),
            endpoint_url: self.endpoint_url.clone(),
            static_credentials: None,
        }
    }
}

fn connect(global: &GlobalAwsArgs) -> anyhow::Result<Responder> {
    let session = Session::connect(&global.connect_options()).context("connecting to AWS")?;
    Ok(Responder::new(session))
}

fn locate_case(spec: &str) -> anyhow::Result<CaseLocation> {
    Ok(CaseLocation::resolve(spec, &CaseEnv::from_process())?)
}

fn open_case_for_apply(global: &GlobalAwsArgs) -> anyhow::Result<Case> {
    let spec = global.case.clone().unwrap_or_else(CaseLocation::generated_name);
    let case = Case::open_or_create(locate_case(&spec)?)?;
    if global.case.is_none() {
        eprintln!("firebreak: recording into new case {} ({})", case.name(), case.dir().display());
    }
    Ok(case)
}

fn open_existing_case(global: &GlobalAwsArgs) -> anyhow::Result<Case> {
    let spec = global.case.as_deref().context("--case is required")?;
    Ok(Case::open_existing(locate_case(spec)?)?)
}

fn guardrails(opts: &ActOptions) -> Guardrails {
    Guardrails { protected_tag_key: opts.protected_tag_key.clone(), force: opts.force, expected_account: opts.account.clone() }
}

fn plan_and_maybe_apply(request: Request, opts: &ActOptions, global: &GlobalAwsArgs) -> anyhow::Result<i32> {
    let responder = connect(global)?;
    let plan = responder.plan(&request, &guardrails(opts))?;
    execute(&responder, plan, opts, global)
}

fn execute(responder: &Responder, plan: firebreak_aws::Plan, opts: &ActOptions, global: &GlobalAwsArgs) -> anyhow::Result<i32> {
    if !opts.apply {
        match opts.format {
            OutputFormat::Text => print!("{}", render::plan_text(&plan)),
            OutputFormat::Jsonl => print!("{}", render::plan_jsonl(&plan)),
        }
        let refused = plan.rollback_of.is_some() && plan.steps.is_empty();
        return Ok(if refused { 1 } else { 0 });
    }
    if plan.rollback_of.is_some() && plan.steps.is_empty() {
        // Nothing reversible: say so plainly.
        match opts.format {
            OutputFormat::Text => print!("{}", render::plan_text(&plan)),
            OutputFormat::Jsonl => print!("{}", render::plan_jsonl(&plan)),
        }
        return Ok(1);
    }
    let case = open_case_for_apply(global)?;
    let report = responder.apply(&plan, &case, ApplyOptions { continue_without_evidence: opts.continue_without_evidence })?;
    match opts.format {
        OutputFormat::Text => print!("{}", render::report_text(&report)),
        OutputFormat::Jsonl => print!("{}", render::report_jsonl(&report)),
    }
    Ok(if report.succeeded() { 0 } else { 1 })
}

/// Runs a response command; returns the process exit code.
pub fn run(cmd: RespondCommand, global: &GlobalAwsArgs) -> anyhow::Result<i32> {
    match cmd {
        RespondCommand::Contain(target) => match target {
            ContainTarget::AccessKey { access_key_id, user, revoke_sessions, opts } => {
                plan_and_maybe_apply(Request::ContainAccessKey { access_key_id, user_name: user, revoke_sessions }, &opts, global)
            }
            ContainTarget::Instance { instance_id, forensic_account, ticket, decrement_capacity, quarantine_group, opts } => plan_and_maybe_apply(
                Request::ContainInstance { instance_id, forensic_account, ticket, decrement_capacity, quarantine_group_name: quarantine_group },
                &opts,
                global,
            ),
            ContainTarget::Role { role_name, revoke_sessions, opts } => plan_and_maybe_apply(Request::ContainRole { role_name, revoke_sessions }, &opts, global),
            ContainTarget::Bucket { bucket, block_public, opts } => plan_and_maybe_apply(Request::ContainBucket { bucket, block_public }, &opts, global),
        },
        RespondCommand::Eradicate(target) => match target {
            EradicateTarget::User { user_name, opts } => plan_and_maybe_apply(Request::EradicateUser { user_name }, &opts, global),
            EradicateTarget::Role { role_name, opts } => plan_and_maybe_apply(Request::EradicateRole { role_name }, &opts, global),
            EradicateTarget::Policy { policy_arn, opts } => plan_and_maybe_apply(Request::EradicatePolicy { policy_arn }, &opts, global),
            EradicateTarget::AccessKey { access_key_id, user, opts } => {
                plan_and_maybe_apply(Request::EradicateAccessKey { access_key_id, user_name: user }, &opts, global)
            }
            EradicateTarget::QbusinessApp { application_id, with_retrievers, with_data_sources, with_plugins, opts } => plan_and_maybe_apply(
                Request::EradicateQBusinessApp { application_id, with_retrievers, with_data_sources, with_plugins },
                &opts,
                global,
            ),
        },
        RespondCommand::Recover(RecoverTarget::Cloudtrail { trail, opts }) => plan_and_maybe_apply(Request::RecoverCloudTrail { trail }, &opts, global),
        RespondCommand::Actions { format } => {
            let case = open_existing_case(global)?;
            let actions = firebreak_aws::list_actions(&case)?;
            match format {
                OutputFormat::Text => print!("{}", render::actions_text(case.name(), &actions)),
                OutputFormat::Jsonl => print!("{}", render::actions_jsonl(&actions)),
            }
            Ok(0)
        }
        RespondCommand::Rollback { action_id, opts } => {
            let case = open_existing_case(global)?;
            let responder = connect(global)?;
            responder.session().check_account(opts.account.as_deref())?;
            let plan = responder.plan_rollback(&case, &action_id)?;
            // Rollback records into the same case.
            let global = GlobalAwsArgs { case: Some(case.dir().display().to_string()), ..global.clone() };
            execute(&responder, plan, &opts, &global)
        }
    }
}
