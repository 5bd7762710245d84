//! The `jira-agile-sync` binary: parse the command line, run, exit with the documented code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = jira_agile_sync::cli::Cli::parse();
    ExitCode::from(jira_agile_sync::cli::run(cli))
}
