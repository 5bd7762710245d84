//! The only module that knows the order of the steps.
//!
//! `sync`: take the writer lock → open state → list boards → per board, fetch and commit
//! (one sled transaction per board, then flush) → delete boards and sprints that vanished →
//! write journal files (outbox) → rewrite changed current tables → reports. A rerun after an
//! interruption resumes after the last committed board.

pub mod datadir;
mod fetch;
pub mod journal;
pub mod load;
pub mod oversized;
pub mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;
use tracing::Instrument;

pub use datadir::DataDir;
pub use report::{FailedBoard, RunReport, RunStatus, Status};

use crate::config::{Config, JiraConfig, OversizedValueStrategy};
use crate::destination::snowflake::SnowflakeClient;
use crate::schema::Table;
use crate::source::{self, JiraClient, Listing};
use crate::state::{self, CommitCounts, RunCheckpoint, Store};

/// Errors that stop a run (exit code 2), plus interruption (130).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Configuration problem.
    #[error(transparent)]
    Config(#[from] crate::config::Error),
    /// The data directory cannot be used.
    #[error("data directory {path} is not usable (check that it exists, is writable and the disk is not full)")]
    DataDir {
        /// The path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the writer lock.
    #[error("another jira-agile-sync process is writing {path}; wait for it to finish or stop it")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// A file the tool wrote cannot be read back.
    #[error("cannot read {path}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The state store failed.
    #[error(
        "the state store (state/ in the data directory) cannot be used; if it is corrupt or not \
         ours, move the state/ folder away and run `sync` again: it is rebuilt from Jira as a \
         full snapshot and the tables stay"
    )]
    State(#[from] state::Error),
    /// Writing Parquet failed.
    #[error(
        "writing Parquet failed; check that the disk is not full and the data directory is \
         writable, then run again (the tables keep their last complete version)"
    )]
    Parquet(#[from] crate::materialize::Error),
    /// The Jira client could not be built.
    #[error("jira client")]
    Client(#[source] source::Error),
    /// Jira rejected the credentials.
    #[error(
        "Jira rejected the credentials ({endpoint}: HTTP {status}): {message}; check jira.email \
         and jira.api_token (JIRA_EMAIL, JIRA_API_TOKEN); a scoped token needs the URL \
         https://api.atlassian.com/ex/jira/<cloudId> and its read scopes (`check` lists them)"
    )]
    Credentials {
        /// Endpoint.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// Jira's message and the fix.
        message: String,
    },
    /// The board listing failed, so nothing can be known about deletions.
    #[error(
        "the board listing failed ({endpoint}, HTTP {}): {message}; nothing was changed: check \
         jira.environment_url, the network and Jira's status, then run again",
        status.map_or("-".to_string(), |s| s.to_string())
    )]
    BoardListing {
        /// Endpoint.
        endpoint: String,
        /// HTTP status.
        status: Option<u16>,
        /// What went wrong.
        message: String,
    },
    /// Stopped by SIGINT/SIGTERM after leaving consistent state.
    #[error("interrupted; state is consistent and the next run resumes")]
    Interrupted,
    /// Loading Snowflake failed at startup.
    #[error("{0}")]
    Destination(String),
}

impl Error {
    /// The process exit code for this error (DESIGN.md section 3).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Interrupted => 130,
            _ => 2,
        }
    }
}

/// Result alias for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The outcome of a finished run.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The report written to `runs/`.
    pub report: RunReport,
    /// Rows per table in the current tables.
    pub rows: BTreeMap<Table, u64>,
}

impl RunSummary {
    /// 0 for ok, 1 for partial.
    pub fn exit_code(&self) -> u8 {
        match self.report.status {
            Some(RunStatus::Ok) => 0,
            _ => 1,
        }
    }
}

/// A shutdown signal shared by the steps.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A signal that never fires: its sender is dropped at once, which [`Shutdown::requested`]
    /// treats as "never".
    pub fn never() -> Shutdown {
        let (_sender, rx) = watch::channel(false);
        Shutdown(rx)
    }

    /// A signal and its trigger.
    pub fn new() -> (watch::Sender<bool>, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (tx, Shutdown(rx))
    }

    /// Whether shutdown was requested.
    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Wait until shutdown is requested.
    pub async fn requested(&mut self) {
        while !*self.0.borrow() {
            if self.0.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Run `step` unless shutdown is requested first: then `step` is dropped where it waits
    /// (an in-flight request is abandoned) and the result is [`Error::Interrupted`]. Only steps
    /// that are safe to abandon at any `.await` (they repeat on the next run) go through this.
    pub async fn abandon_on_request<T>(
        &self,
        step: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let mut me = self.clone();
        tokio::select! {
            biased;
            _ = me.requested() => Err(Error::Interrupted),
            r = step => r,
        }
    }
}

/// Options of one sync.
#[derive(Clone)]
pub struct SyncOptions {
    /// Shutdown signal.
    pub shutdown: Shutdown,
    /// Backoff base for Jira retries (tests use milliseconds); when set, Snowflake retries back
    /// off from it too.
    pub backoff_base: Option<Duration>,
    /// Take over a Snowflake schema that names another installation or site.
    pub adopt_destination: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            shutdown: Shutdown::never(),
            backoff_base: None,
            adopt_destination: false,
        }
    }
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

pub use crate::failpoint::failpoint;

/// Open the data directory for writing: create it, take the lock, open the store, and clean up
/// files a crash left behind.
pub fn open_writer(cfg: &Config) -> Result<(DataDir, datadir::WriterLock, Store)> {
    let dd = DataDir::new(&cfg.data_dir);
    dd.create()?;
    let lock = dd.lock()?;
    let store = Store::open(&dd.state())?;
    journal::remove_unrecorded_files(&store, &dd)?;
    store.drop_stale_pending()?;
    Ok((dd, lock, store))
}

/// Tables a run writes, given the configuration.
pub fn enabled_tables(cfg: &Config) -> Vec<Table> {
    Table::ALL
        .into_iter()
        .filter(|t| cfg.ingestion.is_enabled(*t))
        .collect()
}

/// `sync`: one run into the local tables, then the Snowflake load when configured. A failed
/// load leaves the files in the outbox and makes the run partial (exit 1).
pub async fn sync_and_load(cfg: &Config, opts: &SyncOptions) -> Result<RunSummary> {
    // A Snowflake key that cannot be used is a configuration error: say so before any work.
    if let Some(sf) = &cfg.snowflake {
        SnowflakeClient::new(sf).map_err(|e| Error::Destination(error_chain(&e)))?;
    }
    let (dd, _lock, store) = open_writer(cfg)?;
    let mut load_errors = Vec::new();
    let shutdown = &opts.shutdown;
    if cfg.snowflake.is_some() {
        let prepared = shutdown
            .abandon_on_request(async { Ok(load::prepare_snapshots(cfg, &store, opts).await) })
            .await?;
        if let Err(e) = prepared {
            tracing::error!(error = %e, "snowflake unavailable before the run; syncing locally");
        }
    }
    let mut summary = sync(cfg, &store, &dd, opts).await?;
    if cfg.snowflake.is_some() {
        // A signal that came while the journal was written stops before the load: the files
        // wait in the outbox. The load itself is abandoned at its next `.await`: every step
        // repeats safely and a file leaves the outbox only after its MERGE is recorded.
        if shutdown.is_requested() {
            return Err(Error::Interrupted);
        }
        let loaded = shutdown
            .abandon_on_request(load::load(cfg, &store, &dd, opts))
            .await?;
        match loaded {
            load::LoadOutcome::Failed { errors, .. } => load_errors = errors,
            load::LoadOutcome::Empty | load::LoadOutcome::Delivered { .. } => {}
        }
    }
    if !load_errors.is_empty() {
        summary.report.load_errors = load_errors;
        summary.report.status = Some(RunStatus::Partial);
        summary.report.write(&dd)?;
        let mut status = Status::read(&dd)?;
        if let Some(lr) = status.last_run.as_mut() {
            lr.status = Some(RunStatus::Partial);
        }
        status.write(&dd)?;
    }
    Ok(summary)
}

/// One run against Jira into the local tables (the load step is separate).
pub async fn sync(
    cfg: &Config,
    store: &Store,
    dd: &DataDir,
    opts: &SyncOptions,
) -> Result<RunSummary> {
    let jira = cfg.require_jira()?;
    let client = build_client(cfg, jira, opts)?;

    // Resume an interrupted run, unless it is too old.
    let now = now_micros();
    let (checkpoint, resumed) = match store.checkpoint()? {
        Some(cp) if now - cp.started_at <= cfg.ingestion.resume_max_age.as_micros() as i64 => {
            (cp, true)
        }
        old => {
            if old.is_some() {
                tracing::info!("interrupted run older than resume_max_age: starting a new run");
            }
            let cp = RunCheckpoint {
                run_id: chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ").to_string(),
                started_at: now,
            };
            if store.is_new()? {
                for t in Table::ALL {
                    store.set_flag(&journal::snapshot_flag(t), true)?;
                }
            }
            store.start_run(&cp)?;
            (cp, false)
        }
    };
    let span = tracing::info_span!("run", run_id = %checkpoint.run_id, mode = "sync");
    run_checkpointed(cfg, store, dd, opts, &client, checkpoint, resumed)
        .instrument(span)
        .await
}

fn build_client(cfg: &Config, jira: &JiraConfig, opts: &SyncOptions) -> Result<JiraClient> {
    let client = JiraClient::new(jira, cfg.ingestion.max_concurrency).map_err(Error::Client)?;
    Ok(match opts.backoff_base {
        Some(b) => client.with_backoff_base(b),
        None => client,
    })
}

async fn run_checkpointed(
    cfg: &Config,
    store: &Store,
    dd: &DataDir,
    opts: &SyncOptions,
    client: &JiraClient,
    cp: RunCheckpoint,
    resumed: bool,
) -> Result<RunSummary> {
    let enabled = enabled_tables(cfg);
    let mut report = RunReport {
        id: cp.run_id.clone(),
        started_at: report::rfc3339(cp.started_at),
        status: Some(RunStatus::Running),
        resumed,
        ..RunReport::default()
    };
    let mut status = Status::read(dd).unwrap_or_default();
    status.last_run = Some(report::LastRun {
        id: report.id.clone(),
        started_at: report.started_at.clone(),
        finished_at: None,
        status: Some(RunStatus::Running),
    });
    status.site = cfg.jira.as_ref().map(|j| j.environment_url.to_string());
    status.write(dd)?;
    tracing::info!(resumed, "run started");

    let result = fetch_and_commit(cfg, store, dd, opts, client, &cp, &enabled, &mut report).await;
    let stats = client.stats();
    report.requests = stats.requests;
    report.retries = stats.retries;
    report.rate_limited = stats.rate_limited;
    report.waited_ms = stats.waited_ms;
    report.finished_at = Some(report::rfc3339(now_micros()));

    match result {
        Ok(summary_rows) => {
            report.status = Some(
                if report.failed_boards.is_empty() && report.failed_tables.is_empty() {
                    RunStatus::Ok
                } else {
                    RunStatus::Partial
                },
            );
            finish_status(cfg, store, dd, &mut status, &report)?;
            tracing::info!(status = ?report.status, requests = report.requests, "run finished");
            Ok(RunSummary {
                report,
                rows: summary_rows,
            })
        }
        Err(e) => {
            report.status = Some(match e {
                Error::Interrupted => RunStatus::Interrupted,
                _ => RunStatus::Failed,
            });
            report.error = Some(error_chain(&e));
            // Best effort: the run's own error is what the caller needs to see.
            let _ = finish_status(cfg, store, dd, &mut status, &report);
            Err(e)
        }
    }
}

/// The error and its causes on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn finish_status(
    cfg: &Config,
    store: &Store,
    dd: &DataDir,
    status: &mut Status,
    report: &RunReport,
) -> Result<()> {
    report.write(dd)?;
    journal::prune_runs(dd, cfg.ingestion.keep_runs);
    if let Some(lr) = status.last_run.as_mut() {
        lr.finished_at = report.finished_at.clone();
        lr.status = report.status;
    }
    for t in Table::ALL {
        let entry = status.tables.entry(t.name().to_string()).or_default();
        entry.rows = store.row_count(t) as u64;
        entry.enabled = cfg.ingestion.is_enabled(t);
        entry.failed = store.flag(&format!("failed/{}", t.name()))?;
        if let Some(c) = report.tables.get(t.name()) {
            if c.changed + c.deleted > 0 {
                entry.last_changed_at = Some(report.started_at.clone());
            }
        }
    }
    let outbox: Vec<_> = store
        .journal_files()?
        .into_iter()
        .filter(|f| f.in_outbox)
        .collect();
    status.outbox.files = outbox.len() as u64;
    status.outbox.rows = outbox.iter().map(|f| f.rows).sum();
    status.failed_boards = report.failed_boards.clone();
    if cfg.snowflake.is_none() {
        status.last_load.status = Some("none".into());
    }
    status.write(dd)
}

#[allow(clippy::too_many_arguments)]
async fn fetch_and_commit(
    cfg: &Config,
    store: &Store,
    dd: &DataDir,
    opts: &SyncOptions,
    client: &JiraClient,
    cp: &RunCheckpoint,
    enabled: &[Table],
    report: &mut RunReport,
) -> Result<BTreeMap<Table, u64>> {
    // 1. The board listing: it must be complete, or nothing can be deleted or trusted.
    let boards = opts
        .shutdown
        .abandon_on_request(list_boards(client))
        .await?;
    report.boards_listed = boards.len() as u64;

    // 2. Boards, fetched concurrently and committed one at a time in listing order of arrival.
    //    Boards an interrupted run already committed are skipped, but the listings that failed
    //    for them still count against this run (they were kept with the checkpoint).
    let done = store.done_board_notes()?;
    for (id, _) in &boards {
        if let Some(note) = done.get(id) {
            report.boards_skipped_done += 1;
            let kept: Vec<FailedBoard> = serde_json::from_slice(note).unwrap_or_default();
            report.failed_boards.extend(kept);
        }
    }
    let todo: Vec<&(i64, serde_json::Value)> = boards
        .iter()
        .filter(|(id, _)| !done.contains_key(id))
        .collect();
    let mut tally = Tally::default();
    let strategy = cfg
        .snowflake
        .as_ref()
        .map_or(OversizedValueStrategy::FailTable, |s| {
            s.oversized_value_strategy
        });
    let mut failed = failed_tables(store)?;
    let mut fetches = futures::stream::iter(todo.into_iter().map(|(id, raw)| {
        let span = tracing::debug_span!("board", board_id = *id);
        fetch::fetch_board(client, store, *id, raw, enabled, cp.started_at).instrument(span)
    }))
    .buffer_unordered(cfg.ingestion.max_concurrency.max(1));
    let mut shutdown = opts.shutdown.clone();
    loop {
        let next = tokio::select! {
            biased;
            _ = shutdown.requested() => return Err(Error::Interrupted),
            n = fetches.next() => n,
        };
        let Some(fetched) = next else { break };
        let mut fetched = fetched?;
        let failed_before = failed.len();
        oversized::screen(
            &mut fetched.changes,
            strategy,
            &mut failed,
            &mut report.oversized_nulled,
        );
        if failed.len() > failed_before {
            for t in &failed {
                if !store.flag(&oversized::failed_flag(*t))? {
                    tracing::error!(
                        table = t.name(),
                        board_id = fetched.changes.board_id,
                        "a value over 16 MiB: table marked failed until `reset`"
                    );
                    store.set_flag(&oversized::failed_flag(*t), true)?;
                }
            }
        }
        report.pages_cached += fetched.pages_cached;
        report.pages_parsed += fetched.pages_parsed;
        if let Some(w) = fetched.config_warning {
            tracing::warn!(board_id = w.board_id, http_status = ?w.http_status, "board configuration unreadable; keeping last known values");
            report.config_warnings.push(w);
        }
        let board_id = fetched.changes.board_id;
        if fetched.changes.board_row.is_none() {
            report.failed_boards.extend(fetched.failures);
            continue;
        }
        for f in &fetched.failures {
            tracing::error!(board_id = f.board_id, endpoint = %f.endpoint, http_status = ?f.http_status, "board listing failed; its stored rows are kept");
        }
        fetched.changes.checkpoint_note = if fetched.failures.is_empty() {
            Vec::new()
        } else {
            serde_json::to_vec(&fetched.failures).unwrap_or_default()
        };
        report.failed_boards.extend(fetched.failures);
        failpoint("before_board_commit");
        let c = store.commit_board(fetched.changes)?;
        failpoint("before_board_flush");
        store.flush().await?;
        failpoint("after_board_commit");
        tracing::debug!(board_id, "board committed");
        tally.add(&c);
    }
    drop(fetches);

    // 3. The board listing was complete: what it no longer shows goes.
    let listed: BTreeSet<i64> = boards.iter().map(|(id, _)| *id).collect();
    delete_vanished(store, &listed, enabled, &failed, cp.started_at, &mut tally)?;
    store.flush().await?;
    failpoint("before_journal");

    // 4. Journal files, then the current tables.
    write_outputs(cfg, store, dd, cp, enabled, &failed, tally.changed, report)?;
    store.finish_run()?;
    for (t, c) in tally.counts.tables {
        report.tables.insert(t.name().to_string(), c);
    }
    Ok(Table::ALL
        .into_iter()
        .map(|t| (t, store.row_count(t) as u64))
        .collect())
}

/// What a run changed so far: row counts per table and the tables with any change.
#[derive(Default)]
struct Tally {
    counts: CommitCounts,
    changed: BTreeSet<Table>,
}

impl Tally {
    fn add(&mut self, c: &CommitCounts) {
        for (t, n) in &c.tables {
            if n.changed + n.deleted > 0 {
                self.changed.insert(*t);
            }
        }
        self.counts.add(c);
    }
}

/// Tables marked failed by an oversized value (until `reset`).
fn failed_tables(store: &Store) -> Result<BTreeSet<Table>> {
    let mut failed = BTreeSet::new();
    for t in Table::ALL {
        if store.flag(&oversized::failed_flag(t))? {
            failed.insert(t);
        }
    }
    Ok(failed)
}

/// After a complete board listing: boards it no longer shows go, with their rows; rows a child
/// table kept for unlisted boards while it was switched off go; then sprints without any link.
/// A failed table stops updating, deletes included.
fn delete_vanished(
    store: &Store,
    listed: &BTreeSet<i64>,
    enabled: &[Table],
    failed: &BTreeSet<Table>,
    at: i64,
    tally: &mut Tally,
) -> Result<()> {
    let children: Vec<Table> = enabled
        .iter()
        .copied()
        .filter(|t| t.is_board_child() && !failed.contains(t))
        .collect();
    if !failed.contains(&Table::Board) {
        let vanished: Vec<i64> = store.board_ids()?.difference(listed).copied().collect();
        tally.add(&store.delete_boards(&vanished, &children, at)?);
        tally.add(&store.delete_unlisted_children(listed, &children, at)?);
    }
    if enabled.contains(&Table::Sprint) && !failed.contains(&Table::Sprint) {
        tally.add(&store.delete_orphan_sprints(at)?);
    }
    Ok(())
}

/// Journal files for the healthy tables (recorded in the outbox), then the current table files
/// of every table this run changed or journaled, then local retention.
#[allow(clippy::too_many_arguments)]
fn write_outputs(
    cfg: &Config,
    store: &Store,
    dd: &DataDir,
    cp: &RunCheckpoint,
    enabled: &[Table],
    failed: &BTreeSet<Table>,
    mut changed_tables: BTreeSet<Table>,
    report: &mut RunReport,
) -> Result<()> {
    let complete = report.failed_boards.is_empty();
    let healthy: Vec<Table> = enabled
        .iter()
        .copied()
        .filter(|t| !failed.contains(t))
        .collect();
    report.failed_tables = enabled
        .iter()
        .filter(|t| failed.contains(t))
        .map(|t| t.name().to_string())
        .collect();
    let files = journal::write_journals(
        store,
        dd,
        &healthy,
        &cp.run_id,
        complete,
        cfg.snowflake.is_some(),
    )?;
    report.journal_files = files
        .iter()
        .map(|f| f.relative_path().display().to_string())
        .collect();

    // Every table this run journaled, including files written before an interruption: a
    // resumed run may find its journal already written but the current tables not rewritten.
    for f in store.journal_files()? {
        if f.run_id == cp.run_id {
            if let Some(t) = Table::from_name(&f.table) {
                changed_tables.insert(t);
            }
        }
    }
    failpoint("before_tables");
    for t in &healthy {
        // A table whose journal was recorded by an interrupted attempt is rewritten too.
        if !dd.table_file(*t).exists() || store.flag(&journal::dirty_flag(*t))? {
            changed_tables.insert(*t);
        }
    }
    changed_tables.retain(|t| !failed.contains(t));
    journal::rewrite_tables(store, dd, &changed_tables)?;
    report.tables_rewritten = changed_tables
        .iter()
        .map(|t| t.name().to_string())
        .collect();
    journal::prune_journals(store, dd, cfg.ingestion.keep_runs)?;
    Ok(())
}

async fn list_boards(client: &JiraClient) -> Result<Vec<(i64, serde_json::Value)>> {
    let pages = match client.list_boards().await {
        Listing::Complete(pages) => pages,
        Listing::Failed(f) => {
            return Err(match f.http_status {
                Some(s @ (401 | 403)) => Error::Credentials {
                    endpoint: f.endpoint,
                    status: s,
                    message: f.message,
                },
                status => Error::BoardListing {
                    endpoint: f.endpoint,
                    status,
                    message: f.message,
                },
            })
        }
    };
    let mut seen = BTreeSet::new();
    let mut boards = Vec::new();
    for page in pages {
        let items = source::parse_board_page(&page.body).map_err(|e| Error::BoardListing {
            endpoint: "/rest/agile/1.0/board".into(),
            status: Some(200),
            message: format!("malformed page: {e}"),
        })?;
        for (id, raw) in items {
            if seen.insert(id) {
                boards.push((id, raw));
            }
        }
    }
    Ok(boards)
}

/// `reset`: clear the ingestion state (not the tables); the next run is a full snapshot.
pub fn reset(store: &Store) -> Result<()> {
    store.reset()?;
    for t in Table::ALL {
        store.set_flag(&journal::snapshot_flag(t), true)?;
    }
    store.flush_sync()?;
    Ok(())
}
