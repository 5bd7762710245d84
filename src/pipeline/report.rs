//! Run reports (`runs/<RUN_ID>.json`) and `status.json`, the files read-only commands read.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::datadir::{write_atomic, DataDir};
use super::Error;
use crate::state::TableCounts;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Everything synced.
    Ok,
    /// Finished, but a board, table or load failed.
    Partial,
    /// Could not go on.
    Failed,
    /// Still running (or killed while running).
    Running,
    /// Stopped by a signal after leaving consistent state.
    Interrupted,
}

/// A board listing that failed (its stored rows were kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedBoard {
    /// The board.
    pub board_id: i64,
    /// The endpoint that failed.
    pub endpoint: String,
    /// Its HTTP status, when there was one.
    pub http_status: Option<u16>,
    /// What went wrong.
    pub message: String,
}

/// One run's report.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunReport {
    /// Run id.
    pub id: String,
    /// RFC 3339 start.
    pub started_at: String,
    /// RFC 3339 end, when finished.
    pub finished_at: Option<String>,
    /// Outcome.
    pub status: Option<RunStatus>,
    /// Whether this run continued an interrupted one.
    pub resumed: bool,
    /// Boards listed by Jira.
    pub boards_listed: u64,
    /// Boards skipped because an interrupted run had already committed them.
    pub boards_skipped_done: u64,
    /// Rows read, changed and deleted per table.
    pub tables: BTreeMap<String, TableCounts>,
    /// Jira requests sent.
    pub requests: u64,
    /// Retries.
    pub retries: u64,
    /// 429 answers.
    pub rate_limited: u64,
    /// Time waited before retries, ms.
    pub waited_ms: u64,
    /// Pages whose body matched the page cache (not parsed).
    pub pages_cached: u64,
    /// Pages parsed.
    pub pages_parsed: u64,
    /// Board listings that failed.
    pub failed_boards: Vec<FailedBoard>,
    /// Boards whose configuration could not be read (last known values kept).
    pub config_warnings: Vec<FailedBoard>,
    /// Journal files written (paths relative to the data directory).
    pub journal_files: Vec<String>,
    /// Tables whose current file was rewritten.
    pub tables_rewritten: Vec<String>,
    /// Oversized values set to NULL, per table.
    pub oversized_nulled: BTreeMap<String, u64>,
    /// Tables marked failed in this run.
    pub failed_tables: Vec<String>,
    /// The error that stopped the run, if any.
    pub error: Option<String>,
    /// Snowflake load failures (files stay in the outbox).
    #[serde(default)]
    pub load_errors: Vec<String>,
}

/// `status.json`'s `last_run`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LastRun {
    /// Run id.
    pub id: String,
    /// RFC 3339 start.
    pub started_at: String,
    /// RFC 3339 end.
    pub finished_at: Option<String>,
    /// `ok`, `partial`, `failed`, `running` (or `interrupted`).
    pub status: Option<RunStatus>,
}

/// One table in `status.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TableStatus {
    /// Rows in the current table.
    pub rows: u64,
    /// Whether the table is updated.
    pub enabled: bool,
    /// Whether the table is marked failed.
    pub failed: bool,
    /// RFC 3339 time of the last run that changed it.
    pub last_changed_at: Option<String>,
}

/// Journal files not yet loaded.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OutboxStatus {
    /// Files.
    pub files: u64,
    /// Rows in them.
    pub rows: u64,
}

/// The last Snowflake load.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LastLoad {
    /// RFC 3339 time.
    pub at: Option<String>,
    /// `ok`, `failed`, `skipped` or `none` (no destination configured).
    pub status: Option<String>,
    /// Error text of a failed load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What `status` shows; written atomically by the writer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Status {
    /// The last (or current) run.
    pub last_run: Option<LastRun>,
    /// Per table.
    pub tables: BTreeMap<String, TableStatus>,
    /// The outbox.
    pub outbox: OutboxStatus,
    /// The last load.
    pub last_load: LastLoad,
    /// Board listings that failed in the last run.
    pub failed_boards: Vec<FailedBoard>,
    /// Jira site URL synced.
    #[serde(default)]
    pub site: Option<String>,
}

impl Status {
    /// Read `status.json`, or an empty status when absent.
    pub fn read(dd: &DataDir) -> Result<Status, Error> {
        read_json(&dd.status_file()).map(|s| s.unwrap_or_default())
    }

    /// Replace `status.json` atomically.
    pub fn write(&self, dd: &DataDir) -> Result<(), Error> {
        write_json(&dd.status_file(), self)
    }
}

impl RunReport {
    /// Write `runs/<id>.json` atomically.
    pub fn write(&self, dd: &DataDir) -> Result<(), Error> {
        write_json(&dd.runs().join(format!("{}.json", self.id)), self)
    }

    /// The newest run reports, newest first.
    pub fn list(dd: &DataDir, limit: usize) -> Result<Vec<RunReport>, Error> {
        let mut names: Vec<_> = match std::fs::read_dir(dd.runs()) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect(),
            Err(_) => return Ok(Vec::new()),
        };
        names.sort();
        names.reverse();
        let mut out = Vec::new();
        for p in names.into_iter().take(limit) {
            if let Some(r) = read_json(&p)? {
                out.push(r);
            }
        }
        Ok(out)
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Corrupt {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::DataDir {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<(), Error> {
    let bytes = serde_json::to_vec_pretty(v).map_err(|e| Error::Corrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    write_atomic(path, &bytes)
}

/// Microseconds since the epoch as RFC 3339 (UTC).
pub fn rfc3339(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}
