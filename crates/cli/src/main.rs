//! The `firebreak` command line: a thin layer over the library crates.

#[cfg(feature = "investigate")]
mod case_status;
#[cfg(feature = "investigate")]
mod investigate;
mod output;
mod playbook_cmd;
#[cfg(feature = "investigate")]
mod playbook_run;
#[cfg(feature = "investigate")]
mod report_cmd;
#[cfg(feature = "aws")]
mod respond;
mod rules_cmd;
mod s3_input;
mod scan;
mod simulate_cmd;

use clap::{Parser, Subcommand};

/// The AWS connection options (`--profile`, `--region`, `--role-arn`...).
#[cfg(feature = "aws")]
pub type AwsArgs = respond::GlobalAwsArgs;
/// Without the AWS SDK there are no AWS options.
#[cfg(not(feature = "aws"))]
#[derive(Debug, Clone, Default)]
pub struct AwsArgs;

/// firebreak: AWS incident response, from first alert to final report.
#[derive(Debug, Parser)]
#[command(name = "firebreak", version, about, propagate_version = true)]
struct Cli {
    /// The case to work on: a name (under `$FIREBREAK_HOME/cases`) or a case folder.
    #[arg(long, global = true, env = "FIREBREAK_CASE")]
    case: Option<String>,
    #[cfg(feature = "aws")]
    #[command(flatten)]
    aws: respond::GlobalAwsArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Match Sigma rules over CloudTrail logs (files, folders, .json.gz, stdin, s3://).
    Scan(scan::ScanArgs),
    /// List or check rules, or compile them to SQL.
    #[command(subcommand)]
    Rules(rules_cmd::RulesCommand),
    /// Generate realistic CloudTrail with planted attack scenarios.
    Simulate(simulate_cmd::SimulateArgs),
    /// List, show, check and run incident-response playbooks.
    #[command(subcommand)]
    Playbook(playbook_cmd::PlaybookCommand),
    /// Create a case, or show where it stands.
    #[cfg(feature = "investigate")]
    #[command(subcommand)]
    Case(investigate::CaseCommand),
    /// Load CloudTrail (files, folders, s3://, Security Lake Parquet) into a case:
    /// de-duplicated, with the findings of the rules.
    #[cfg(feature = "investigate")]
    Ingest(investigate::IngestArgs),
    /// Who, which keys, from where, which services and calls, errors, first and last seen.
    #[cfg(feature = "investigate")]
    Summary(investigate::SummaryArgs),
    /// Every event of an access key, principal, IP, resource, call or service, in time order.
    #[cfg(feature = "investigate")]
    Timeline(investigate::TimelineArgs),
    /// Resources created, deleted or modified, and by whom.
    #[cfg(feature = "investigate")]
    Resources(investigate::ResourcesArgs),
    /// SQL over the case: tables `cloudtrail` (Athena's column names) and `findings`.
    #[cfg(feature = "investigate")]
    Query(investigate::QueryArgs),
    /// First use of a service, API, region, source IP or user agent per principal,
    /// against a baseline.
    #[cfg(feature = "investigate")]
    Anomalies(investigate::AnomaliesArgs),
    /// Export the case's events as Hive-partitioned Parquet for Athena, Spark or DuckDB.
    #[cfg(feature = "investigate")]
    Export(investigate::ExportArgs),
    /// Write the incident report of a case (Markdown or HTML).
    #[cfg(feature = "investigate")]
    Report(report_cmd::ReportArgs),
    #[cfg(feature = "aws")]
    #[command(flatten)]
    Respond(respond::RespondCommand),
}

fn main() {
    #[allow(unused_mut)]
    let mut cli = Cli::parse();
    #[cfg(feature = "aws")]
    {
        cli.aws.case = cli.case.clone();
    }
    #[cfg(feature = "aws")]
    let aws = cli.aws.clone();
    #[cfg(not(feature = "aws"))]
    let aws = AwsArgs;
    let case = cli.case.as_deref();
    let _ = (&aws, case);
    let result = match cli.command {
        Command::Scan(args) => scan::run(args, &aws),
        Command::Rules(cmd) => rules_cmd::run(cmd),
        Command::Simulate(args) => simulate_cmd::run(args),
        #[cfg(feature = "investigate")]
        Command::Playbook(playbook_cmd::PlaybookCommand::Run(args)) => playbook_run::run(args, case, &aws),
        Command::Playbook(cmd) => playbook_cmd::run(cmd),
        #[cfg(feature = "investigate")]
        Command::Case(cmd) => investigate::run_case(cmd, case),
        #[cfg(feature = "investigate")]
        Command::Ingest(args) => investigate::run_ingest(args, case, &aws),
        #[cfg(feature = "investigate")]
        Command::Summary(args) => investigate::run_summary(args, case),
        #[cfg(feature = "investigate")]
        Command::Timeline(args) => investigate::run_timeline(args, case),
        #[cfg(feature = "investigate")]
        Command::Resources(args) => investigate::run_resources(args, case),
        #[cfg(feature = "investigate")]
        Command::Query(args) => investigate::run_query(args, case),
        #[cfg(feature = "investigate")]
        Command::Anomalies(args) => investigate::run_anomalies(args, case),
        #[cfg(feature = "investigate")]
        Command::Export(args) => investigate::run_export(args, case),
        #[cfg(feature = "investigate")]
        Command::Report(args) => report_cmd::run(args, case),
        #[cfg(feature = "aws")]
        Command::Respond(cmd) => respond::run(cmd, &cli.aws),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            let text = format!("{err:#}");
            eprintln!("firebreak: error: {}", firebreak_events::sanitize::for_terminal(&text));
            std::process::exit(2);
        }
    }
}
