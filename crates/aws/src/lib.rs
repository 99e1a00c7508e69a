//! Containment, eradication and recovery actions through the AWS APIs.
//!
//! The only crate of the workspace that talks to AWS. A command becomes a [`Request`];
//! [`Responder::plan`] turns it into a [`Plan`], a list of typed [`StepAction`]s built from
//! reads (each with its AWS call, parameters, effect, state read, DryRun check and undo),
//! and changes nothing. [`Responder::apply`] executes the plan, skipping steps whose
//! resource already is in the target state (so re-runs are no-ops and an interrupted run
//! resumes), and records every applied step into the case's hash-chained action log
//! (`firebreak-evidence`) with the caller identity, account, region, parameters, state
//! before and result. [`Responder::plan_rollback`] reverses a recorded step where possible.
//!
//! Guardrails: [`Guardrails`] refuse protected resources (tag key configurable) unless
//! forced and refuse a caller in another account than the one named; permission errors map
//! to [`AwsError::AccessDenied`] naming the IAM action; the SDK retries throttling and
//! transient errors with exponential backoff (standard retry mode, 5 attempts).
#![warn(missing_docs)]

mod capture;
pub mod error;
mod exec;
pub mod plan;
pub mod render;
pub mod s3_input;
pub mod session;
pub mod steps;

pub use error::{AwsError, Result};
pub use exec::{decode_policy_document, PermissionCheck};
pub use plan::{list_actions, ActionRecord, ApplyOptions, Guardrails, Plan, PlannedStep, Request, Responder, RunReport, StepOutcome, StepStatus};
pub use s3_input::{read_prefix, S3InputError, S3Object, S3ObjectError, S3ReadOptions, S3ReadReport, S3Url};
pub use session::{CallerIdentity, ConnectOptions, Session, DEFAULT_PROTECTED_TAG_KEY};
pub use steps::{Effect, StepAction};

/// The evidence crate (case folders and the action log), re-exported for the CLI.
pub use firebreak_evidence as evidence;

/// The AWS SDK service crates firebreak uses, re-exported for independent reads in tests.
pub mod sdk {
    pub use aws_config as config;
    pub use aws_sdk_autoscaling as autoscaling;
    pub use aws_sdk_cloudtrail as cloudtrail;
    pub use aws_sdk_ec2 as ec2;
    pub use aws_sdk_elasticloadbalancing as elb;
    pub use aws_sdk_elasticloadbalancingv2 as elbv2;
    pub use aws_sdk_iam as iam;
    pub use aws_sdk_qbusiness as qbusiness;
    pub use aws_sdk_s3 as s3;
    pub use aws_sdk_sts as sts;
}
