//! The load step as wired by the pipeline: outbox → Snowflake, files leaving the outbox only
//! after their MERGE is recorded in the destination.

use std::collections::BTreeSet;

use super::datadir::DataDir;
use super::journal::snapshot_flag;
use super::report::{rfc3339, Status};
use super::Error;
use crate::config::{Config, SnowflakeConfig};
use crate::destination::snowflake::load::{
    DestinationState, Identity, LoadFile, Loader, TableLoad,
};
use crate::destination::snowflake::{ClientOptions, SnowflakeClient};
use crate::schema::Table;
use crate::state::{JournalFile, Store};

/// How a load ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadOutcome {
    /// Nothing in the outbox: no statement was sent.
    Empty,
    /// Every outbox file of every table was merged.
    Delivered {
        /// Files that left the outbox.
        files: usize,
    },
    /// Some table failed; its files stay in the outbox for the next load.
    Failed {
        /// What failed (one line per table).
        errors: Vec<String>,
        /// Files that left the outbox all the same.
        files: usize,
    },
}

impl LoadOutcome {
    /// Whether the load failed.
    pub fn is_failed(&self) -> bool {
        matches!(self, LoadOutcome::Failed { .. })
    }
}

/// Local memory that this destination holds a snapshot of `table` at this schema version (a new
/// version asks the destination again, so columns it lacks get added and filled).
fn dest_flag(sf: &SnowflakeConfig, table: Table) -> String {
    format!(
        "delivered/v{}/{}/{}/{}",
        crate::schema::schema_version(),
        sf.database,
        sf.schema,
        table.name()
    )
}

fn identity(cfg: &Config, store: &Store) -> Result<Identity, Error> {
    Ok(Identity {
        site_url: cfg
            .jira
            .as_ref()
            .map(|j| j.environment_url.to_string())
            .unwrap_or_default(),
        installation_id: store.installation_id()?,
    })
}

/// The Snowflake client options of a sync: the defaults, or (in tests) backoffs derived from
/// [`super::SyncOptions::backoff_base`] so a failing destination costs milliseconds.
fn client_options(opts: &super::SyncOptions) -> ClientOptions {
    match opts.backoff_base {
        Some(base) => ClientOptions {
            initial_backoff: base,
            max_backoff: base.saturating_mul(6),
            ..ClientOptions::default()
        },
        None => ClientOptions::default(),
    }
}

/// Before a sync with Snowflake configured: when this destination has not yet received a
/// snapshot of a table (a first load, also after months of local use), make the coming run
/// journal one. Only asks Snowflake when the local state does not already know.
pub async fn prepare_snapshots(
    cfg: &Config,
    store: &Store,
    opts: &super::SyncOptions,
) -> Result<(), String> {
    let Some(sf) = &cfg.snowflake else {
        return Ok(());
    };
    let adopt = opts.adopt_destination;
    let options = &client_options(opts);
    let enabled = super::enabled_tables(cfg);
    let mut unknown = Vec::new();
    for t in &enabled {
        // Taking over a destination reloads it by a snapshot: ask Snowflake even for tables
        // this data directory delivered to it before.
        if adopt || !store.flag(&dest_flag(sf, *t)).map_err(|e| e.to_string())? {
            unknown.push(*t);
        }
    }
    if unknown.is_empty() {
        return Ok(());
    }
    let client =
        SnowflakeClient::with_options(sf, options.clone()).map_err(|e| super::error_chain(&e))?;
    let loader = Loader::new(&client, &sf.database, &sf.schema);
    let me = identity(cfg, store).map_err(|e| super::error_chain(&e))?;
    let state = loader
        .prepare(&me, adopt)
        .await
        .map_err(|e| super::error_chain(&e))?;
    let outbox = store.journal_files().map_err(|e| e.to_string())?;
    for t in unknown {
        let has_snapshot = outbox
            .iter()
            .any(|f| f.in_outbox && f.snapshot && f.table == t.name());
        if state.outdated.contains(&t) || (!state.merged.contains_key(&t) && !has_snapshot) {
            store
                .set_flag(&snapshot_flag(t), true)
                .map_err(|e| e.to_string())?;
        }
    }
    store.flush_sync().map_err(|e| e.to_string())?;
    Ok(())
}

/// Load the outbox into Snowflake. With an empty outbox nothing at all is sent.
pub async fn load(
    cfg: &Config,
    store: &Store,
    dd: &DataDir,
    opts: &super::SyncOptions,
) -> Result<LoadOutcome, Error> {
    let Some(sf) = &cfg.snowflake else {
        return Ok(LoadOutcome::Empty);
    };
    let adopt = opts.adopt_destination;
    let options = &client_options(opts);
    let outbox: Vec<JournalFile> = store
        .journal_files()?
        .into_iter()
        .filter(|f| f.in_outbox)
        .collect();
    if outbox.is_empty() {
        return Ok(LoadOutcome::Empty);
    }
    let outcome = load_outbox(cfg, sf, store, dd, &outbox, adopt, options).await;
    let mut status = Status::read(dd).unwrap_or_default();
    status.last_load.at = Some(rfc3339(chrono::Utc::now().timestamp_micros()));
    match &outcome {
        Ok(LoadOutcome::Failed { errors, .. }) => {
            status.last_load.status = Some("failed".into());
            status.last_load.error = Some(errors.join("; "));
        }
        Ok(_) => {
            status.last_load.status = Some("ok".into());
            status.last_load.error = None;
        }
        Err(e) => {
            status.last_load.status = Some("failed".into());
            status.last_load.error = Some(super::error_chain(e));
        }
    }
    let remaining: Vec<JournalFile> = store
        .journal_files()?
        .into_iter()
        .filter(|f| f.in_outbox)
        .collect();
    status.outbox.files = remaining.len() as u64;
    status.outbox.rows = remaining.iter().map(|f| f.rows).sum();
    status.write(dd)?;
    outcome
}

async fn load_outbox(
    cfg: &Config,
    sf: &SnowflakeConfig,
    store: &Store,
    dd: &DataDir,
    outbox: &[JournalFile],
    adopt: bool,
    options: &ClientOptions,
) -> Result<LoadOutcome, Error> {
    let client = SnowflakeClient::with_options(sf, options.clone())
        .map_err(|e| Error::Destination(super::error_chain(&e)))?;
    let loader = Loader::new(&client, &sf.database, &sf.schema);
    let me = identity(cfg, store)?;
    let state: DestinationState = match loader.prepare(&me, adopt).await {
        Ok(s) => s,
        Err(e) => {
            let msg = super::error_chain(&e);
            tracing::error!(error = %msg, "snowflake load failed; files stay in the outbox");
            return Ok(LoadOutcome::Failed {
                errors: vec![msg],
                files: 0,
            });
        }
    };

    // Columns were added for a newer schema version: re-send every row so they fill.
    for t in &state.outdated {
        store.set_flag(&snapshot_flag(*t), true)?;
        store.set_flag(&dest_flag(sf, *t), false)?;
    }
    let tables: BTreeSet<Table> = outbox
        .iter()
        .filter_map(|f| Table::from_name(&f.table))
        .collect();
    let mut errors = Vec::new();
    let mut moved = 0;
    for table in tables {
        let files: Vec<LoadFile> = outbox
            .iter()
            .filter(|f| f.table == table.name())
            .map(|f| LoadFile {
                table,
                first_seq: f.first_seq,
                last_seq: f.last_seq,
                path: absolute(&dd.root().join(f.relative_path())),
                snapshot: f.snapshot,
            })
            .collect();
        // Flush before any file is uploaded (DESIGN.md section 2).
        store.flush().await?;
        let span = tracing::info_span!("table", table = table.name());
        let result = tracing::Instrument::instrument(
            loader.load_table(table, &files, state.merged.get(&table).copied()),
            span,
        )
        .await;
        match result {
            Ok(TableLoad::Delivered {
                files: done,
                merged_seq,
            }) => {
                super::failpoint("before_outbox_leave");
                moved += leave_outbox(store, outbox, table, &done)?;
                store.set_flag(&dest_flag(sf, table), true)?;
                tracing::info!(
                    table = table.name(),
                    merged_seq,
                    files = done.len(),
                    "table delivered"
                );
            }
            Ok(TableLoad::NeedsSnapshot { superseded }) => {
                moved += leave_outbox(store, outbox, table, &superseded)?;
                store.set_flag(&snapshot_flag(table), true)?;
                store.set_flag(&dest_flag(sf, table), false)?;
                errors.push(format!(
                    "{}: the destination has never received a snapshot; the next run journals one",
                    table.name()
                ));
            }
            Err(e) => {
                let msg = super::error_chain(&e);
                tracing::error!(table = table.name(), error = %msg, "table load failed; its files stay in the outbox");
                errors.push(format!("{}: {msg}", table.name()));
            }
        }
        store.flush().await?;
    }
    super::journal::prune_journals(store, dd, cfg.ingestion.keep_runs)?;
    Ok(if errors.is_empty() {
        LoadOutcome::Delivered { files: moved }
    } else {
        LoadOutcome::Failed {
            errors,
            files: moved,
        }
    })
}

fn leave_outbox(
    store: &Store,
    outbox: &[JournalFile],
    table: Table,
    first_seqs: &[i64],
) -> Result<usize, Error> {
    let mut n = 0;
    for f in outbox
        .iter()
        .filter(|f| f.table == table.name() && first_seqs.contains(&f.first_seq))
    {
        let mut f = f.clone();
        f.in_outbox = false;
        store.update_journal(&f)?;
        n += 1;
    }
    Ok(n)
}

fn absolute(p: &std::path::Path) -> std::path::PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
