//! The `firebreak` command line: a thin layer over the library crates.

mod respond;

use clap::{Parser, Subcommand};

/// firebreak: AWS incident response, from first alert to final report.
#[derive(Debug, Parser)]
#[command(name = "firebreak", version, about)]
struct Cli {
    #[command(flatten)]
    aws: respond::GlobalAwsArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Respond(respond::RespondCommand),
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Respond(cmd) => respond::run(cmd, &cli.aws),
    };
    match code {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("firebreak: error: {err:#}");
            std::process::exit(2);
        }
    }
}
