//! `contain`, `eradicate`, `recover`, `actions` and `rollback`: response actions
//! through the AWS APIs (implemented in `firebreak-aws`).

use clap::{Args, Subcommand};

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
    /// Case (name or folder) that records every applied step.
    #[arg(long, global = true)]
    pub case: Option<String>,
}

/// The response commands.
#[derive(Debug, Subcommand)]
pub enum RespondCommand {
    /// Contain a compromised resource (plan only unless --apply).
    Contain {
        /// What to contain.
        #[arg(trailing_var_arg = true)]
        target: Vec<String>,
    },
}

/// Runs a response command; returns the process exit code.
pub fn run(cmd: RespondCommand, _global: &GlobalAwsArgs) -> anyhow::Result<i32> {
    match cmd {
        RespondCommand::Contain { .. } => anyhow::bail!("response actions are not built yet"),
    }
}
