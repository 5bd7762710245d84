//! The Jira Agile simulator as its own process on 127.0.0.1, for benchmarks and manual tries:
//! `jira-sim [BOARDS] [ISSUES_PER_BOARD] [PORT]`; credentials `sim@example.com` / `sim-token`.
//! It serves until Ctrl-C.

use std::process::ExitCode;

use jira_agile_sync::simulator::{run_standalone, SimAuth, SiteSpec};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize| -> Option<usize> {
        match args.get(i) {
            Some(s) => s.parse().ok(),
            None => Some(default),
        }
    };
    let (Some(boards), Some(issues), Some(port)) = (number(0, 40), number(1, 60), number(2, 8089))
    else {
        eprintln!("usage: jira-sim [BOARDS] [ISSUES_PER_BOARD] [PORT]");
        return ExitCode::from(2);
    };
    let spec = SiteSpec {
        boards,
        issues_per_board: issues,
        ..SiteSpec::demo()
    };
    eprintln!("jira-sim: {boards} boards on http://127.0.0.1:{port} (sim@example.com / sim-token)");
    match run_standalone(&spec, port as u16, SimAuth::test()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jira-sim: {e}");
            ExitCode::from(2)
        }
    }
}
