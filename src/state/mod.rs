//! Step 2, REMEMBER + COMPARE: the embedded sled store.
//!
//! Trees and what they hold:
//! - `rows/<TABLE>`: row key (see [`RowKey::encode`]) → [`StoredRow`] (hash, `_CHANGED_AT`, row).
//! - `pending/<TABLE>`: generation ‖ row key → [`Pending`]: changes committed but not yet
//!   journaled. Recording a journal file moves the table to the next generation in a small
//!   transaction; entries of older generations are garbage, removed in batches afterwards (a
//!   transaction removing every pending key of a large table held it all in memory).
//! - `sprint_boards`: sprint id ‖ board id → (): which boards link a sprint (BOARD_SPRINT
//!   reversed), so a sprint can be deleted with its last link.
//! - `page_cache`: board id ‖ schema version ‖ page key → [`CachedPage`].
//! - `board_config`: board id → last known [`BoardConfigRecord`].
//! - `done_boards`: board id → (): boards committed in the current run (the checkpoint).
//! - `journal_files`: table tag ‖ first `_SEQ` → [`JournalFile`]: every journal file written and
//!   not yet pruned; `outbox` marks those not yet loaded.
//! - `meta`: the journal sequence, the run checkpoint, snapshot flags, failed tables.
//!
//! Invariants:
//! - A board's rows, pending changes, page-cache entries and checkpoint mark are written in one
//!   transaction ([`Store::commit_board`]), then flushed: a crash leaves either all or none.
//! - `_SEQ` values are reserved (persisted and flushed) before a journal file is written, so a
//!   value is never handed out twice, even when the file never made it.
//! - A page-cache hit is trusted only if every key it lists is still in the row store.

mod board;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::Transactional;

pub use board::{
    BoardChanges, CommitCounts, CompleteListing, PageEntry, PageRows, SeenPage, TableCounts,
};

use crate::row::{decode, encode, Row, RowKey};
use crate::schema::{schema_version, Table};

/// Errors of the state store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// sled failed (I/O, corruption).
    #[error("state store at {path}: {source}")]
    Sled {
        /// The state directory.
        path: PathBuf,
        /// Cause.
        #[source]
        source: sled::Error,
    },
    /// The folder exists but does not hold a sled database (sled would silently start afresh).
    #[error("state store at {path} is not a sled database: {why}")]
    Foreign {
        /// The state directory.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A stored record could not be decoded.
    #[error("state store: corrupt record in tree {tree}")]
    Corrupt {
        /// The tree.
        tree: String,
    },
}

/// Result alias for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Refuse a state folder that is not empty yet is not a sled database: given a missing or foreign
/// `conf`, sled starts a new empty database over whatever is there.
fn check_sled_dir(dir: &Path) -> Result<()> {
    let foreign = |why: &str| Error::Foreign {
        path: dir.to_path_buf(),
        why: why.to_string(),
    };
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        return Err(foreign("it is not a directory"));
    }
    let mut entries = std::fs::read_dir(dir).map_err(|_| foreign("it cannot be listed"))?;
    if entries.next().is_none() {
        return Ok(());
    }
    let conf = std::fs::read(dir.join("conf")).map_err(|_| foreign("it has no readable `conf`"))?;
    if !conf.starts_with(b"segment_size: ") {
        return Err(foreign("its `conf` is not a sled configuration"));
    }
    if !dir.join("db").is_file() {
        return Err(foreign("it has no `db` file"));
    }
    Ok(())
}

/// A row as stored: its content hash, when it last changed, and its values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRow {
    /// [`Row::content_hash`].
    pub hash: u128,
    /// `_CHANGED_AT`, microseconds since the epoch.
    pub changed_at: i64,
    /// The values.
    pub row: Row,
}

/// Journal operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Insert or update.
    Upsert,
    /// Delete.
    Delete,
}

impl Op {
    /// The `_OP` letter.
    pub fn letter(self) -> &'static str {
        match self {
            Op::Upsert => "U",
            Op::Delete => "D",
        }
    }
}

/// A change committed but not yet journaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// What happened.
    pub op: Op,
    /// `_CHANGED_AT` of the change.
    pub changed_at: i64,
    /// The row (for a delete, the last known row).
    pub row: Row,
}

/// A cached page: the hash of its body and the rows it held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedPage {
    /// xxh3-128 of the body.
    pub body_hash: u128,
    /// (table tag, encoded row key) of every row the page produced.
    pub keys: Vec<(u8, Vec<u8>)>,
}

/// Last known board configuration (opaque to the store; the pipeline encodes it).
pub type BoardConfigRecord = Vec<u8>;

/// A journal file the store knows about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalFile {
    /// Table name.
    pub table: String,
    /// First `_SEQ` in the file (its name).
    pub first_seq: i64,
    /// Last `_SEQ` in the file.
    pub last_seq: i64,
    /// Rows in the file.
    pub rows: u64,
    /// Size in bytes.
    pub bytes: u64,
    /// Whether the file holds every row of the table (a snapshot).
    pub snapshot: bool,
    /// Still to be loaded into the destination.
    pub in_outbox: bool,
    /// Run that wrote it.
    pub run_id: String,
}

impl JournalFile {
    /// Path relative to the data directory.
    pub fn relative_path(&self) -> PathBuf {
        Path::new("journal")
            .join(&self.table)
            .join(format!("{}.parquet", self.first_seq))
    }
}

/// The interrupted-or-current run's checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunCheckpoint {
    /// Run id.
    pub run_id: String,
    /// Start of the run, microseconds since the epoch (`_CHANGED_AT` of its changes).
    pub started_at: i64,
}

const META_SEQ: &[u8] = b"seq";
const META_RUN: &[u8] = b"run";
const META_INSTALLATION: &[u8] = b"installation_id";

/// The sled store of one data directory.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    path: PathBuf,
    rows: BTreeMap<Table, sled::Tree>,
    pending: BTreeMap<Table, sled::Tree>,
    sprint_boards: sled::Tree,
    page_cache: sled::Tree,
    board_config: sled::Tree,
    done_boards: sled::Tree,
    journal_files: sled::Tree,
    meta: sled::Tree,
}

impl Store {
    /// Open (or create) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store> {
        check_sled_dir(dir)?;
        let sled_err = |source| Error::Sled {
            path: dir.to_path_buf(),
            source,
        };
        let db = open_db(dir).map_err(sled_err)?;
        let tree = |name: String| db.open_tree(name).map_err(sled_err);
        let mut rows = BTreeMap::new();
        let mut pending = BTreeMap::new();
        for t in Table::ALL {
            rows.insert(t, tree(format!("rows/{}", t.name()))?);
            pending.insert(t, tree(format!("pending/{}", t.name()))?);
        }
        Ok(Store {
            sprint_boards: tree("sprint_boards".into())?,
            page_cache: tree("page_cache".into())?,
            board_config: tree("board_config".into())?,
            done_boards: tree("done_boards".into())?,
            journal_files: tree("journal_files".into())?,
            meta: tree("meta".into())?,
            rows,
            pending,
            db,
            path: dir.to_path_buf(),
        })
    }

    fn err(&self, source: sled::Error) -> Error {
        Error::Sled {
            path: self.path.clone(),
            source,
        }
    }

    fn tx_err(&self, e: TransactionError<Error>) -> Error {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(s) => self.err(s),
        }
    }

    /// Flush everything to disk.
    pub async fn flush(&self) -> Result<()> {
        self.db.flush_async().await.map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Flush synchronously.
    pub fn flush_sync(&self) -> Result<()> {
        self.db.flush().map_err(|e| self.err(e))?;
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Rows

    /// Look up one stored row.
    pub fn get_row(&self, table: Table, key: &RowKey) -> Result<Option<StoredRow>> {
        let tree = &self.rows[&table];
        match tree.get(key.encode()).map_err(|e| self.err(e))? {
            Some(v) => decode(&v).map(Some).map_err(|_| Error::Corrupt {
                tree: table.name().into(),
            }),
            None => Ok(None),
        }
    }

    /// Number of rows in a table.
    pub fn row_count(&self, table: Table) -> usize {
        self.rows[&table].len()
    }

    /// Iterate a table's rows in key order.
    pub fn iter_rows(&self, table: Table) -> impl Iterator<Item = Result<StoredRow>> + '_ {
        self.rows[&table].iter().map(move |r| {
            let (_, v) = r.map_err(|e| self.err(e))?;
            decode(&v).map_err(|_| Error::Corrupt {
                tree: table.name().into(),
            })
        })
    }

    /// Keys and hashes of a board's rows in a board-child table.
    pub fn board_child_hashes(
        &self,
        table: Table,
        board_id: i64,
    ) -> Result<BTreeMap<Vec<u8>, u128>> {
        let prefix = RowKey(vec![board_id]).encode();
        let mut out = BTreeMap::new();
        for item in self.rows[&table].scan_prefix(&prefix) {
            let (k, v) = item.map_err(|e| self.err(e))?;
            let stored: StoredRow = decode(&v).map_err(|_| Error::Corrupt {
                tree: table.name().into(),
            })?;
            out.insert(k.to_vec(), stored.hash);
        }
        Ok(out)
    }

    /// Whether every listed key is in the row store.
    pub fn contains_all(&self, keys: &[(u8, Vec<u8>)]) -> Result<bool> {
        for (tag, key) in keys {
            let Some(table) = Table::ALL.into_iter().find(|t| t.tag() == *tag) else {
                return Ok(false);
            };
            if !self.rows[&table]
                .contains_key(key)
                .map_err(|e| self.err(e))?
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Stored board ids.
    pub fn board_ids(&self) -> Result<BTreeSet<i64>> {
        let mut out = BTreeSet::new();
        for item in self.rows[&Table::Board].iter().keys() {
            let k = item.map_err(|e| self.err(e))?;
            if let Some(key) = RowKey::decode(&k) {
                out.insert(key.first());
            }
        }
        Ok(out)
    }

    // -----------------------------------------------------------------------------------------
    // Page cache and board configuration

    fn page_cache_key(board_id: i64, page_key: &str) -> Vec<u8> {
        let mut k = RowKey(vec![board_id]).encode();
        k.extend_from_slice(&schema_version().to_be_bytes());
        k.extend_from_slice(page_key.as_bytes());
        k
    }

    /// The cached page for a board's page key, if any.
    pub fn cached_page(&self, board_id: i64, page_key: &str) -> Result<Option<CachedPage>> {
        let k = Store::page_cache_key(board_id, page_key);
        match self.page_cache.get(k).map_err(|e| self.err(e))? {
            Some(v) => Ok(decode(&v).ok()),
            None => Ok(None),
        }
    }

    /// The last known configuration of a board.
    pub fn board_config(&self, board_id: i64) -> Result<Option<BoardConfigRecord>> {
        let k = RowKey(vec![board_id]).encode();
        Ok(self
            .board_config
            .get(k)
            .map_err(|e| self.err(e))?
            .map(|v| v.to_vec()))
    }

    // -----------------------------------------------------------------------------------------
    // Run checkpoint

    /// The checkpoint of the current or interrupted run.
    pub fn checkpoint(&self) -> Result<Option<RunCheckpoint>> {
        Ok(self
            .meta
            .get(META_RUN)
            .map_err(|e| self.err(e))?
            .and_then(|v| decode(&v).ok()))
    }

    /// Start a new run: drop any old checkpoint and its done-board marks.
    pub fn start_run(&self, cp: &RunCheckpoint) -> Result<()> {
        self.done_boards.clear().map_err(|e| self.err(e))?;
        self.meta
            .insert(META_RUN, encode(cp))
            .map_err(|e| self.err(e))?;
        self.flush_sync()
    }

    /// Boards already committed in the current run.
    pub fn done_boards(&self) -> Result<BTreeSet<i64>> {
        let mut out = BTreeSet::new();
        for k in self.done_boards.iter().keys() {
            let k = k.map_err(|e| self.err(e))?;
            if let Some(key) = RowKey::decode(&k) {
                out.insert(key.first());
            }
        }
        Ok(out)
    }

    /// Boards already committed in the current run, with the note each was committed with
    /// ([`BoardChanges::checkpoint_note`]).
    pub fn done_board_notes(&self) -> Result<BTreeMap<i64, Vec<u8>>> {
        let mut out = BTreeMap::new();
        for item in self.done_boards.iter() {
            let (k, v) = item.map_err(|e| self.err(e))?;
            if let Some(key) = RowKey::decode(&k) {
                out.insert(key.first(), v.to_vec());
            }
        }
        Ok(out)
    }

    /// End the run: clear the checkpoint.
    pub fn finish_run(&self) -> Result<()> {
        self.done_boards.clear().map_err(|e| self.err(e))?;
        self.meta.remove(META_RUN).map_err(|e| self.err(e))?;
        self.flush_sync()
    }

    // -----------------------------------------------------------------------------------------
    // Meta: sequence, flags, installation id

    /// The last `_SEQ` handed out.
    pub fn last_seq(&self) -> Result<i64> {
        Ok(self
            .meta
            .get(META_SEQ)
            .map_err(|e| self.err(e))?
            .and_then(|v| decode::<i64>(&v).ok())
            .unwrap_or(0))
    }

    /// Reserve `count` consecutive `_SEQ` values (at least one), persisted and flushed before
    /// they are used. Values derive from the wall clock (µs × 1000) but never go below the last
    /// value plus one.
    pub fn reserve_seq(&self, count: u64) -> Result<i64> {
        let now = chrono::Utc::now().timestamp_micros().saturating_mul(1000);
        let first = now.max(self.last_seq()?.saturating_add(1));
        let last = first.saturating_add(count.max(1) as i64 - 1);
        self.meta
            .insert(META_SEQ, encode(&last))
            .map_err(|e| self.err(e))?;
        self.flush_sync()?;
        Ok(first)
    }

    /// A boolean flag in the meta tree.
    pub fn flag(&self, name: &str) -> Result<bool> {
        Ok(self
            .meta
            .get(format!("flag/{name}"))
            .map_err(|e| self.err(e))?
            .is_some())
    }

    /// Set or clear a flag.
    pub fn set_flag(&self, name: &str, on: bool) -> Result<()> {
        let key = format!("flag/{name}");
        if on {
            self.meta.insert(key, &[1u8]).map_err(|e| self.err(e))?;
        } else {
            self.meta.remove(key).map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// A stable id of this installation (created on first use).
    pub fn installation_id(&self) -> Result<String> {
        if let Some(v) = self.meta.get(META_INSTALLATION).map_err(|e| self.err(e))? {
            return Ok(String::from_utf8_lossy(&v).into_owned());
        }
        let id = uuid::Uuid::new_v4().to_string();
        self.meta
            .insert(META_INSTALLATION, id.as_bytes())
            .map_err(|e| self.err(e))?;
        Ok(id)
    }

    /// Whether the store has never completed a run (no rows, no sequence).
    pub fn is_new(&self) -> Result<bool> {
        Ok(self.last_seq()? == 0 && self.rows[&Table::Board].is_empty())
    }

    // -----------------------------------------------------------------------------------------
    // Pending changes and journal bookkeeping

    fn pending_gen_key(table: Table) -> String {
        format!("pending_gen/{}", table.name())
    }

    /// The current pending generation of a table.
    pub(crate) fn pending_gen(&self, table: Table) -> Result<u64> {
        Ok(self
            .meta
            .get(Store::pending_gen_key(table))
            .map_err(|e| self.err(e))?
            .and_then(|v| decode::<u64>(&v).ok())
            .unwrap_or(0))
    }

    /// The pending-tree key of a row in the table's current generation.
    pub(crate) fn pending_key(&self, table: Table, row_key: &[u8]) -> Result<Vec<u8>> {
        let mut k = self.pending_gen(table)?.to_be_bytes().to_vec();
        k.extend_from_slice(row_key);
        Ok(k)
    }

    /// Number of pending changes of a table.
    pub fn pending_count(&self, table: Table) -> usize {
        match self.pending_gen(table) {
            Ok(g) => self.pending[&table].scan_prefix(g.to_be_bytes()).count(),
            Err(_) => 0,
        }
    }

    /// Iterate a table's pending changes in key order.
    pub fn iter_pending(&self, table: Table) -> impl Iterator<Item = Result<Pending>> + '_ {
        let gen = self.pending_gen(table).unwrap_or(0);
        self.pending[&table]
            .scan_prefix(gen.to_be_bytes())
            .map(move |r| {
                let (_, v) = r.map_err(|e| self.err(e))?;
                decode(&v).map_err(|_| Error::Corrupt {
                    tree: format!("pending/{}", table.name()),
                })
            })
    }

    /// Remove pending entries of generations before the current one, in batches.
    pub fn drop_stale_pending(&self) -> Result<()> {
        for t in Table::ALL {
            let gen = self.pending_gen(t)?;
            let tree = &self.pending[&t];
            loop {
                let mut batch = sled::Batch::default();
                let mut n = 0;
                for k in tree.range(..gen.to_be_bytes().to_vec()).keys().take(10_000) {
                    batch.remove(k.map_err(|e| self.err(e))?);
                    n += 1;
                }
                if n == 0 {
                    break;
                }
                tree.apply_batch(batch).map_err(|e| self.err(e))?;
            }
        }
        Ok(())
    }

    /// Record a journal file written for `table`, clearing the table's pending changes and
    /// setting or clearing the meta `flags` in the same transaction, then flush.
    ///
    /// The flags travel with the record so that a crash can never leave, for example, a
    /// snapshot recorded while its snapshot flag is still set (a rerun would journal it again).
    pub fn record_journal(&self, file: &JournalFile, flags: &[(String, bool)]) -> Result<()> {
        let Some(table) = Table::from_name(&file.table) else {
            return Err(Error::Corrupt {
                tree: "journal_files".into(),
            });
        };
        let key = journal_key(table, file.first_seq);
        let next_gen = encode(&(self.pending_gen(table)? + 1));
        let gen_key = Store::pending_gen_key(table);
        let value = encode(file);
        (&self.journal_files, &self.meta)
            .transaction(|(j, m)| {
                j.insert(key.as_slice(), value.as_slice())?;
                // The table's pending changes move out of sight in the same transaction.
                m.insert(gen_key.as_bytes(), next_gen.as_slice())?;
                for (name, on) in flags {
                    let flag_key = format!("flag/{name}");
                    if *on {
                        m.insert(flag_key.as_bytes(), &[1u8])?;
                    } else {
                        m.remove(flag_key.as_bytes())?;
                    }
                }
                Ok::<_, ConflictableTransactionError<Error>>(())
            })
            .map_err(|e| self.tx_err(e))?;
        self.flush_sync()?;
        self.drop_stale_pending()
    }

    /// Every journal file recorded, in table then `_SEQ` order.
    pub fn journal_files(&self) -> Result<Vec<JournalFile>> {
        let mut out = Vec::new();
        for item in self.journal_files.iter() {
            let (_, v) = item.map_err(|e| self.err(e))?;
            out.push(decode(&v).map_err(|_| Error::Corrupt {
                tree: "journal_files".into(),
            })?);
        }
        Ok(out)
    }

    /// Update a recorded journal file (e.g. it left the outbox).
    pub fn update_journal(&self, file: &JournalFile) -> Result<()> {
        let Some(table) = Table::from_name(&file.table) else {
            return Ok(());
        };
        self.journal_files
            .insert(journal_key(table, file.first_seq), encode(file))
            .map_err(|e| self.err(e))?;
        self.flush_sync()
    }

    /// Forget a journal file (after it was pruned from disk).
    pub fn forget_journal(&self, file: &JournalFile) -> Result<()> {
        if let Some(table) = Table::from_name(&file.table) {
            self.journal_files
                .remove(journal_key(table, file.first_seq))
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Clear the ingestion state (rows, pending, caches, checkpoint), keeping the sequence and
    /// the installation id. The next run is a full snapshot.
    pub fn reset(&self) -> Result<()> {
        for t in Table::ALL {
            self.rows[&t].clear().map_err(|e| self.err(e))?;
            self.pending[&t].clear().map_err(|e| self.err(e))?;
        }
        for tree in [
            &self.sprint_boards,
            &self.page_cache,
            &self.board_config,
            &self.done_boards,
        ] {
            tree.clear().map_err(|e| self.err(e))?;
        }
        self.meta.remove(META_RUN).map_err(|e| self.err(e))?;
        let flags: Vec<sled::IVec> = self
            .meta
            .scan_prefix("flag/")
            .keys()
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))?;
        for k in flags {
            self.meta.remove(k).map_err(|e| self.err(e))?;
        }
        self.flush_sync()
    }

    /// All trees a board commit writes, in a fixed order.
    fn commit_trees(&self) -> Vec<sled::Tree> {
        let mut trees: Vec<sled::Tree> = Vec::new();
        for t in Table::ALL {
            trees.push(self.rows[&t].clone());
        }
        for t in Table::ALL {
            trees.push(self.pending[&t].clone());
        }
        trees.push(self.sprint_boards.clone());
        trees.push(self.page_cache.clone());
        trees.push(self.board_config.clone());
        trees.push(self.done_boards.clone());
        trees
    }

    /// Apply a batch of writes in one transaction across the commit trees.
    fn apply(&self, writes: &Writes) -> Result<()> {
        let trees = self.commit_trees();
        trees
            .as_slice()
            .transaction(|txs: &Vec<TransactionalTree>| {
                for (idx, key, value) in &writes.ops {
                    let tx = &txs[*idx];
                    match value {
                        Some(v) => {
                            tx.insert(key.as_slice(), v.as_slice())?;
                        }
                        None => {
                            tx.remove(key.as_slice())?;
                        }
                    }
                }
                Ok::<_, ConflictableTransactionError<Error>>(())
            })
            .map_err(|e| self.tx_err(e))
    }
}

/// Open sled, waiting briefly while a store this process just dropped releases its file lock
/// (sled's background flusher lets go of it a moment after the last handle is dropped).
fn open_db(dir: &Path) -> sled::Result<sled::Db> {
    let mut attempt = 0;
    loop {
        let result = sled::Config::new()
            .path(dir)
            .cache_capacity(64 * 1024 * 1024)
            .open();
        match result {
            Err(sled::Error::Io(e))
                if attempt < 40 && e.to_string().contains("could not acquire lock") =>
            {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

fn journal_key(table: Table, first_seq: i64) -> Vec<u8> {
    let mut k = vec![table.tag()];
    k.extend_from_slice(&RowKey(vec![first_seq]).encode());
    k
}

/// Tree indexes within [`Store::commit_trees`].
mod idx {
    use crate::schema::Table;

    pub(super) fn rows(t: Table) -> usize {
        Table::ALL.iter().position(|x| *x == t).unwrap_or(0)
    }
    pub(super) fn pending(t: Table) -> usize {
        5 + rows(t)
    }
    pub(super) const SPRINT_BOARDS: usize = 10;
    pub(super) const PAGE_CACHE: usize = 11;
    pub(super) const BOARD_CONFIG: usize = 12;
    pub(super) const DONE_BOARDS: usize = 13;
}

/// A batch of tree writes: (tree index, key, value or delete).
#[derive(Default)]
struct Writes {
    ops: Vec<(usize, Vec<u8>, Option<Vec<u8>>)>,
}

impl Writes {
    fn put(&mut self, tree: usize, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push((tree, key, Some(value)));
    }
    fn del(&mut self, tree: usize, key: Vec<u8>) {
        self.ops.push((tree, key, None));
    }
}

#[cfg(test)]
mod tests;
