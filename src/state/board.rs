//! Diff and commit of one board's results, deleted boards, orphaned sprints.

use std::collections::{BTreeMap, BTreeSet};

use super::{idx, CachedPage, Error, Op, Pending, Result, Store, StoredRow, Writes};
use crate::row::{decode, encode, Row, RowKey};
use crate::schema::Table;

/// A page that was parsed: its key, body hash and rows.
#[derive(Debug, Clone)]
pub struct PageRows {
    /// The page key (endpoint and parameters).
    pub page_key: String,
    /// Hash of the body.
    pub body_hash: u128,
    /// Rows the page produced.
    pub rows: Vec<(Table, Row)>,
}

/// A page whose body matched the page cache: its rows count as seen without parsing.
#[derive(Debug, Clone)]
pub struct SeenPage {
    /// (table tag, encoded key) of the rows the cached page held.
    pub keys: Vec<(u8, Vec<u8>)>,
}

/// One page of a complete listing.
#[derive(Debug, Clone)]
pub enum PageEntry {
    /// Parsed and to be diffed.
    Parsed(PageRows),
    /// Unchanged since it was cached.
    Cached(SeenPage),
}

/// A complete listing of a board: every row of `tables` for the board is in `pages`.
#[derive(Debug, Clone)]
pub struct CompleteListing {
    /// Board-child tables whose rows for this board the listing replaces.
    pub tables: Vec<Table>,
    /// Its pages.
    pub pages: Vec<PageEntry>,
}

/// Everything one board's fetch produced, ready to commit.
#[derive(Debug, Clone)]
pub struct BoardChanges {
    /// The board.
    pub board_id: i64,
    /// Its BOARD row (with the configuration columns filled from the last known values);
    /// `None` leaves the stored BOARD row as it is (the BOARD table is marked failed).
    pub board_row: Option<Row>,
    /// New configuration record to remember, when it was read.
    pub config: Option<Vec<u8>>,
    /// Complete listings (failed ones are absent: their rows stay).
    pub listings: Vec<CompleteListing>,
    /// `_CHANGED_AT` for changes.
    pub changed_at: i64,
    /// Opaque note stored with the board's checkpoint mark (the pipeline keeps the board's
    /// failed listings there, so a resumed run still reports them).
    pub checkpoint_note: Vec<u8>,
}

/// Counts of one commit, per table: (upserts, deletes, rows seen).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CommitCounts {
    /// Per table counts.
    pub tables: BTreeMap<Table, TableCounts>,
}

/// Counts for one table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableCounts {
    /// Rows read from Jira (including cached pages).
    pub read: u64,
    /// Rows inserted or changed.
    pub changed: u64,
    /// Rows deleted.
    pub deleted: u64,
}

impl CommitCounts {
    fn get(&mut self, t: Table) -> &mut TableCounts {
        self.tables.entry(t).or_default()
    }

    /// Add another set of counts.
    pub fn add(&mut self, other: &CommitCounts) {
        for (t, c) in &other.tables {
            let me = self.get(*t);
            me.read += c.read;
            me.changed += c.changed;
            me.deleted += c.deleted;
        }
    }
}

fn sprint_board_key(sprint_id: i64, board_id: i64) -> Vec<u8> {
    RowKey(vec![sprint_id, board_id]).encode()
}

impl Store {
    fn stage_upsert(
        &self,
        w: &mut Writes,
        table: Table,
        key: Vec<u8>,
        row: Row,
        hash: u128,
        at: i64,
    ) -> Result<()> {
        if table == Table::BoardSprint {
            if let (Some(b), Some(s)) = (row.values[0].as_int(), row.values[1].as_int()) {
                w.put(idx::SPRINT_BOARDS, sprint_board_key(s, b), Vec::new());
            }
        }
        let pending = Pending {
            op: Op::Upsert,
            changed_at: at,
            row: row.clone(),
        };
        w.put(
            idx::pending(table),
            self.pending_key(table, &key)?,
            encode(&pending),
        );
        let stored = StoredRow {
            hash,
            changed_at: at,
            row,
        };
        w.put(idx::rows(table), key, encode(&stored));
        Ok(())
    }

    fn stage_delete(&self, w: &mut Writes, table: Table, key: Vec<u8>, at: i64) -> Result<()> {
        let Some(old) = self.rows[&table].get(&key).map_err(|e| self.err(e))? else {
            return Ok(());
        };
        let old: StoredRow = decode(&old).map_err(|_| Error::Corrupt {
            tree: table.name().into(),
        })?;
        if table == Table::BoardSprint {
            if let (Some(b), Some(s)) = (old.row.values[0].as_int(), old.row.values[1].as_int()) {
                w.del(idx::SPRINT_BOARDS, sprint_board_key(s, b));
            }
        }
        let pending = Pending {
            op: Op::Delete,
            changed_at: at,
            row: old.row,
        };
        w.put(
            idx::pending(table),
            self.pending_key(table, &key)?,
            encode(&pending),
        );
        w.del(idx::rows(table), key);
        Ok(())
    }

    /// Diff a board's results against the store and commit them in one transaction, together
    /// with its page-cache entries and its checkpoint mark. The caller flushes afterwards.
    pub fn commit_board(&self, changes: BoardChanges) -> Result<CommitCounts> {
        let mut w = Writes::default();
        let mut counts = CommitCounts::default();
        let at = changes.changed_at;

        // The BOARD row itself.
        if let Some(board_row) = changes.board_row {
            let board_key = board_row.key(Table::Board);
            let hash = board_row.content_hash();
            counts.get(Table::Board).read += 1;
            let old = self.get_row(Table::Board, &board_key)?;
            if old.as_ref().map(|o| o.hash) != Some(hash) {
                counts.get(Table::Board).changed += 1;
                self.stage_upsert(
                    &mut w,
                    Table::Board,
                    board_key.encode(),
                    board_row,
                    hash,
                    at,
                )?;
            }
        }

        for listing in changes.listings {
            // Old rows of the board in the tables this listing replaces.
            let mut old: BTreeMap<Table, BTreeMap<Vec<u8>, u128>> = BTreeMap::new();
            for t in &listing.tables {
                old.insert(*t, self.board_child_hashes(*t, changes.board_id)?);
            }
            let mut seen: BTreeSet<(Table, Vec<u8>)> = BTreeSet::new();

            for page in listing.pages {
                match page {
                    PageEntry::Cached(p) => {
                        for (tag, key) in p.keys {
                            if let Some(t) = Table::ALL.into_iter().find(|t| t.tag() == tag) {
                                if seen.insert((t, key)) {
                                    counts.get(t).read += 1;
                                }
                            }
                        }
                    }
                    PageEntry::Parsed(p) => {
                        let mut keys = Vec::with_capacity(p.rows.len());
                        for (t, row) in p.rows {
                            let key = row.key(t).encode();
                            keys.push((t.tag(), key.clone()));
                            if !seen.insert((t, key.clone())) {
                                continue; // duplicate within the listing: first one wins
                            }
                            counts.get(t).read += 1;
                            let hash = row.content_hash();
                            let old_hash = match old.get(&t) {
                                Some(m) => m.get(&key).copied(),
                                None => self
                                    .get_row(t, &RowKey::decode(&key).unwrap_or(RowKey(vec![])))?
                                    .map(|s| s.hash),
                            };
                            if old_hash != Some(hash) {
                                counts.get(t).changed += 1;
                                self.stage_upsert(&mut w, t, key, row, hash, at)?;
                            }
                        }
                        let cached = CachedPage {
                            body_hash: p.body_hash,
                            keys,
                        };
                        w.put(
                            idx::PAGE_CACHE,
                            Store::page_cache_key(changes.board_id, &p.page_key),
                            encode(&cached),
                        );
                    }
                }
            }

            // Rows of the board that the complete listing no longer shows.
            for (t, keys) in old {
                for key in keys.into_keys() {
                    if !seen.contains(&(t, key.clone())) {
                        counts.get(t).deleted += 1;
                        self.stage_delete(&mut w, t, key, at)?;
                    }
                }
            }
        }

        let board_key_bytes = RowKey(vec![changes.board_id]).encode();
        if let Some(cfg) = changes.config {
            w.put(idx::BOARD_CONFIG, board_key_bytes.clone(), cfg);
        }
        w.put(idx::DONE_BOARDS, board_key_bytes, changes.checkpoint_note);
        self.apply(&w)?;
        Ok(counts)
    }

    /// Delete boards that a complete board listing no longer shows, with their rows in the
    /// enabled child tables, links, page-cache entries and configuration.
    pub fn delete_boards(
        &self,
        board_ids: &[i64],
        child_tables: &[Table],
        at: i64,
    ) -> Result<CommitCounts> {
        let mut counts = CommitCounts::default();
        for &board_id in board_ids {
            let mut w = Writes::default();
            let prefix = RowKey(vec![board_id]).encode();
            counts.get(Table::Board).deleted += 1;
            self.stage_delete(&mut w, Table::Board, prefix.clone(), at)?;
            for t in child_tables {
                for key in self.board_child_hashes(*t, board_id)?.into_keys() {
                    counts.get(*t).deleted += 1;
                    self.stage_delete(&mut w, *t, key, at)?;
                }
            }
            for k in self.page_cache.scan_prefix(&prefix).keys() {
                w.del(idx::PAGE_CACHE, k.map_err(|e| self.err(e))?.to_vec());
            }
            w.del(idx::BOARD_CONFIG, prefix);
            self.apply(&w)?;
        }
        Ok(counts)
    }

    /// Board ids that hold rows in a board-child table (one seek per board, not a full scan).
    pub fn child_board_ids(&self, table: Table) -> Result<BTreeSet<i64>> {
        let tree = &self.rows[&table];
        let mut out = BTreeSet::new();
        let mut from: Vec<u8> = Vec::new();
        while let Some(item) = tree.range(from.clone()..).next() {
            let (k, _) = item.map_err(|e| self.err(e))?;
            let Some(board) = k.get(..8).and_then(RowKey::decode).map(|r| r.first()) else {
                break;
            };
            out.insert(board);
            let Some(next) = board.checked_add(1) else {
                break;
            };
            from = RowKey(vec![next]).encode();
        }
        Ok(out)
    }

    /// Delete the rows of boards that a complete board listing does not show from the given
    /// board-child tables, whether or not a BOARD row is still stored for them: a table that was
    /// switched off while its board was deleted keeps that board's rows, and they must go once
    /// the table is switched on again.
    pub fn delete_unlisted_children(
        &self,
        listed: &BTreeSet<i64>,
        child_tables: &[Table],
        at: i64,
    ) -> Result<CommitCounts> {
        let mut counts = CommitCounts::default();
        for &t in child_tables {
            for board_id in self.child_board_ids(t)?.difference(listed) {
                let mut w = Writes::default();
                for key in self.board_child_hashes(t, *board_id)?.into_keys() {
                    counts.get(t).deleted += 1;
                    self.stage_delete(&mut w, t, key, at)?;
                }
                self.apply(&w)?;
            }
        }
        Ok(counts)
    }

    /// Delete SPRINT rows that no BOARD_SPRINT link points at any more.
    pub fn delete_orphan_sprints(&self, at: i64) -> Result<CommitCounts> {
        let mut counts = CommitCounts::default();
        let mut w = Writes::default();
        for item in self.rows[&Table::Sprint].iter().keys() {
            let key = item.map_err(|e| self.err(e))?;
            let Some(sprint) = RowKey::decode(&key) else {
                continue;
            };
            let prefix = RowKey(vec![sprint.first()]).encode();
            if self.sprint_boards.scan_prefix(prefix).next().is_none() {
                counts.get(Table::Sprint).deleted += 1;
                self.stage_delete(&mut w, Table::Sprint, key.to_vec(), at)?;
            }
        }
        self.apply(&w)?;
        Ok(counts)
    }
}
