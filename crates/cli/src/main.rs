//! The `firebreak` command line: a thin layer over the library crates.

mod output;
mod playbook_cmd;
#[cfg(feature = "aws")]
mod respond;
mod rules_cmd;
mod scan;
mod simulate_cmd;

use clap::{Parser, Subcommand};

/// firebreak: AWS incident response, from first alert to final report.
#[derive(Debug, Parser)]
#[command(name = "firebreak", version, about, propagate_version = true)]
struct Cli {
    #[cfg(feature = "aws")]
    #[command(flatten)]
    aws: respond::GlobalAwsArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Match Sigma rules over CloudTrail logs (files, folders, .json.gz, stdin).
    Scan(scan::ScanArgs),
    /// List or check rules.
    #[command(subcommand)]
    Rules(rules_cmd::RulesCommand),
    /// Generate realistic CloudTrail with planted attack scenarios.
    Simulate(simulate_cmd::SimulateArgs),
    /// List, show and check incident-response playbooks.
    #[command(subcommand)]
    Playbook(playbook_cmd::PlaybookCommand),
    #[cfg(feature = "aws")]
    #[command(flatten)]
    Respond(respond::RespondCommand),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Rules(cmd) => rules_cmd::run(cmd),
        Command::Simulate(args) => simulate_cmd::run(args),
        Command::Playbook(cmd) => playbook_cmd::run(cmd),
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
