//! The command line of DESIGN.md section 3: parse, run a command, map the outcome to an exit code.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, Overrides, ProcessEnv};
use crate::materialize;
use crate::pipeline::{self, DataDir, RunReport, RunSummary, Status, SyncOptions};
use crate::schema::Table;

/// Mirror a Jira Cloud site's agile data (boards, sprints, board projects, board issues) into
/// local Parquet tables and, when configured, Snowflake.
///
/// Exit codes: 0 success; 1 the run finished but a board listing, a table or the Snowflake
/// load failed (named on stderr and in `status`); 2 could not start or go on (usage, config,
/// credentials, board listing, lock held, data directory unwritable); 130 interrupted by
/// SIGINT/SIGTERM after leaving consistent state.
#[derive(Debug, Parser)]
#[command(
    name = "jira-agile-sync",
    version,
    after_help = "Exit codes: 0 success; 1 finished but a board listing, table or the Snowflake \
                  load failed; 2 could not start or go on; 130 interrupted (sync)."
)]
pub struct Cli {
    /// Config file (default: ./jira-agile-sync.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (overrides `data_dir` and JIRA_AGILE_SYNC_DATA_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// More logging (-v debug, -vv trace); RUST_LOG wins.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less logging (errors only).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Let sync/run take over a Snowflake schema that names another installation or site.
    #[arg(long, global = true)]
    pub adopt_destination: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify config, Jira and (when configured) Snowflake; writes nothing.
    Check,
    /// One run: fetch, diff, write Parquet, then load Snowflake when configured.
    Sync,
    /// Sync back to back (at most every `sync_interval`) and load every `merge_interval`,
    /// until SIGINT/SIGTERM.
    Run,
    /// Last runs, rows per table, pending journal files, last load, failures.
    Status {
        /// Print JSON for machines.
        #[arg(long)]
        json: bool,
    },
    /// Clear the ingestion state (not the tables); the next run is a full snapshot.
    Reset,
    /// Local tables and journal files.
    Snapshots {
        /// What to show (default: list).
        #[command(subcommand)]
        what: Option<SnapshotsCommand>,
    },
    /// The main job against a built-in simulated Jira site on 127.0.0.1 into `<data_dir>/demo`;
    /// needs no credentials.
    Demo {
        /// Number of simulated boards.
        #[arg(long, default_value_t = 40)]
        boards: usize,
        /// Average issues per board.
        #[arg(long, default_value_t = 60)]
        issues_per_board: usize,
        /// Seed of the simulated site.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

/// `snapshots` subcommands.
#[derive(Debug, Subcommand)]
pub enum SnapshotsCommand {
    /// Local tables and journal files with row counts and sizes.
    List,
    /// Print rows of a local table.
    Show {
        /// Table name (BOARD, SPRINT, BOARD_SPRINT, BOARD_PROJECT, BOARD_ISSUE).
        table: String,
        /// At most this many rows.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

/// Set up tracing on stderr.
pub fn init_tracing(verbose: u8, quiet: bool) {
    let level = if quiet {
        "error"
    } else {
        match verbose {
            0 => "info",
            1 => "debug",
            _ => "trace",
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("jira_agile_sync={level},warn"))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Run the parsed command; returns the exit code.
pub fn run(cli: Cli) -> u8 {
    init_tracing(cli.verbose, cli.quiet);
    let overrides = Overrides {
        data_dir: cli.data_dir.clone(),
    };
    let cfg = match Config::load(cli.config.as_deref(), &ProcessEnv, &overrides) {
        Ok(c) => c,
        Err(e) => return fail(&e, 2),
    };
    match cli.command {
        Command::Status { json } => status(&cfg, json),
        Command::Snapshots { what } => snapshots(&cfg, what.unwrap_or(SnapshotsCommand::List)),
        Command::Reset => with_runtime(|| async { reset(&cfg) }),
        Command::Sync => with_runtime(|| async { sync(&cfg, cli.adopt_destination).await }),
        Command::Run => {
            with_runtime(|| async { crate::app::run_forever(&cfg, cli.adopt_destination).await })
        }
        Command::Check => with_runtime(|| async { crate::app::check(&cfg).await }),
        Command::Demo {
            boards,
            issues_per_board,
            seed,
        } => {
            with_runtime(|| async { crate::app::demo(&cfg, boards, issues_per_board, seed).await })
        }
    }
}

fn with_runtime<F, Fut>(f: F) -> u8
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = u8>,
{
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f()),
        Err(e) => fail(&e, 2),
    }
}

/// Print an error chain on stderr, one cause per line; return the code.
pub fn fail(e: &dyn std::error::Error, code: u8) -> u8 {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "error: {e}");
    let mut cur = e.source();
    while let Some(c) = cur {
        let _ = writeln!(err, "  caused by: {c}");
        cur = c.source();
    }
    code
}

async fn sync(cfg: &Config, adopt_destination: bool) -> u8 {
    let (tx, shutdown) = pipeline::Shutdown::new();
    crate::app::forward_signals(tx);
    let opts = SyncOptions {
        shutdown,
        adopt_destination,
        ..SyncOptions::default()
    };
    match crate::app::sync_and_load(cfg, &opts).await {
        Ok(summary) => {
            print_summary(&summary);
            summary.exit_code()
        }
        Err(e) => fail(&e, e.exit_code()),
    }
}

fn reset(cfg: &Config) -> u8 {
    if !DataDir::new(&cfg.data_dir).state().exists() {
        println!(
            "nothing to reset: {} holds no ingestion state",
            cfg.data_dir.display()
        );
        return 0;
    }
    let result = pipeline::open_writer(cfg).and_then(|(_dd, _lock, store)| pipeline::reset(&store));
    match result {
        Ok(()) => {
            println!("ingestion state cleared; the next run journals a full snapshot");
            0
        }
        Err(e) => fail(&e, e.exit_code()),
    }
}

/// Print a run summary on stdout.
pub fn print_summary(summary: &RunSummary) {
    let r = &summary.report;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "run {} {}: {} boards, {} requests ({} retries, {} rate-limited)",
        r.id,
        r.status
            .map(|s| format!("{s:?}").to_lowercase())
            .unwrap_or_default(),
        r.boards_listed,
        r.requests,
        r.retries,
        r.rate_limited
    );
    let _ = writeln!(
        out,
        "{:<14} {:>10} {:>9} {:>9}",
        "table", "rows", "changed", "deleted"
    );
    for (t, rows) in &summary.rows {
        let c = r.tables.get(t.name()).copied().unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<14} {:>10} {:>9} {:>9}",
            t.name(),
            rows,
            c.changed,
            c.deleted
        );
    }
    for f in &r.failed_boards {
        let _ = writeln!(
            out,
            "failed: board {} {} (HTTP {}): {}",
            f.board_id,
            f.endpoint,
            f.http_status.map_or("-".into(), |s| s.to_string()),
            f.message
        );
    }
}

fn status(cfg: &Config, json: bool) -> u8 {
    let dd = DataDir::new(&cfg.data_dir);
    let status = match Status::read(&dd) {
        Ok(s) => s,
        Err(e) => return fail(&e, 2),
    };
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&status).unwrap_or_default()
        );
        return 0;
    }
    match &status.last_run {
        None => {
            let _ = writeln!(out, "no run yet in {}", cfg.data_dir.display());
        }
        Some(lr) => {
            let _ = writeln!(
                out,
                "last run {}: {} (started {}, finished {})",
                lr.id,
                lr.status
                    .map(|s| format!("{s:?}").to_lowercase())
                    .unwrap_or_default(),
                lr.started_at,
                lr.finished_at.as_deref().unwrap_or("-")
            );
        }
    }
    let _ = writeln!(
        out,
        "{:<14} {:>10}  {:<9} last changed",
        "table", "rows", "state"
    );
    for (name, t) in &status.tables {
        let state = if t.failed {
            "FAILED"
        } else if !t.enabled {
            "disabled"
        } else {
            "ok"
        };
        let _ = writeln!(
            out,
            "{:<14} {:>10}  {:<9} {}",
            name,
            t.rows,
            state,
            t.last_changed_at.as_deref().unwrap_or("-")
        );
    }
    let _ = writeln!(
        out,
        "outbox: {} files, {} rows",
        status.outbox.files, status.outbox.rows
    );
    match (
        status.last_load.status.as_deref(),
        status.last_load.at.as_deref(),
    ) {
        (Some("none") | None, _) if cfg.snowflake.is_none() => {
            let _ = writeln!(out, "last load: no Snowflake destination configured");
        }
        (state, at) => {
            let _ = writeln!(
                out,
                "last load: {}{}",
                state.unwrap_or("-"),
                at.map(|a| format!(" at {a}")).unwrap_or_default()
            );
        }
    }
    if let Some(e) = &status.last_load.error {
        let _ = writeln!(out, "last load error: {e}");
    }
    for f in &status.failed_boards {
        let _ = writeln!(
            out,
            "failed board {}: {} (HTTP {})",
            f.board_id,
            f.endpoint,
            f.http_status.map_or("-".into(), |s| s.to_string())
        );
    }
    if let Ok(runs) = RunReport::list(&dd, 5) {
        if !runs.is_empty() {
            let _ = writeln!(out, "recent runs:");
            for r in runs {
                let _ = writeln!(
                    out,
                    "  {} {} requests={} retries={} 429s={}",
                    r.id,
                    r.status
                        .map(|s| format!("{s:?}").to_lowercase())
                        .unwrap_or_default(),
                    r.requests,
                    r.retries,
                    r.rate_limited
                );
            }
        }
    }
    0
}

fn snapshots(cfg: &Config, what: SnapshotsCommand) -> u8 {
    let dd = DataDir::new(&cfg.data_dir);
    match what {
        SnapshotsCommand::List => {
            let mut out = std::io::stdout().lock();
            if !dd.tables().exists() {
                let _ = writeln!(
                    out,
                    "no tables yet in {}; run `sync` (or `demo`) first",
                    dd.root().display()
                );
                return 0;
            }
            let _ = writeln!(out, "{:<48} {:>10} {:>12}", "file", "rows", "bytes");
            for t in Table::ALL {
                let p = dd.table_file(t);
                if let Ok(s) = materialize::file_stats(&p) {
                    let _ = writeln!(
                        out,
                        "{:<48} {:>10} {:>12}",
                        format!("tables/{}.parquet", t.name()),
                        s.rows,
                        s.bytes
                    );
                }
            }
            for t in Table::ALL {
                let dir = dd.journal().join(t.name());
                let Ok(rd) = std::fs::read_dir(&dir) else {
                    continue;
                };
                let mut files: Vec<_> = rd.flatten().map(|e| e.path()).collect();
                files.sort();
                for p in files {
                    if let Ok(s) = materialize::file_stats(&p) {
                        let rel = p
                            .strip_prefix(dd.root())
                            .unwrap_or(&p)
                            .display()
                            .to_string();
                        let _ = writeln!(out, "{:<48} {:>10} {:>12}", rel, s.rows, s.bytes);
                    }
                }
            }
            0
        }
        SnapshotsCommand::Show { table, limit } => {
            let Some(t) = Table::from_name(&table) else {
                eprintln!("error: unknown table `{table}`; tables: BOARD, BOARD_PROJECT, SPRINT, BOARD_SPRINT, BOARD_ISSUE");
                return 2;
            };
            let path = dd.table_file(t);
            if !path.exists() {
                eprintln!(
                    "error: {} does not exist yet; run `sync` (or `demo`) first",
                    path.display()
                );
                return 2;
            }
            match crate::app::print_table(&path, limit) {
                Ok(()) => 0,
                Err(e) => fail(&e, 2),
            }
        }
    }
}
