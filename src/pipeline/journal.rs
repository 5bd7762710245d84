//! The materialize step as wired by the pipeline: pending changes → journal files → outbox,
//! then current tables; start-up cleanup of files sled never recorded; local retention.

use std::collections::BTreeSet;

use super::datadir::DataDir;
use super::Error;
use crate::materialize::{self, OutRow};
use crate::schema::Table;
use crate::state::{JournalFile, Op, Store};

/// Flag name of a table that must be journaled as a snapshot.
pub fn snapshot_flag(table: Table) -> String {
    format!("snapshot/{}", table.name())
}

/// Flag name of a table whose current file must be rewritten: set when a journal file for it is
/// recorded, cleared once the table file is rewritten, so a crash in between still rewrites it.
pub fn dirty_flag(table: Table) -> String {
    format!("dirty/{}", table.name())
}

/// Write one journal file per table with pending changes (or every row, for a table in snapshot
/// mode), each recorded in sled with its pending changes cleared in the same transaction.
///
/// `complete` says whether this run saw every board: only then does a snapshot clear the flag.
pub fn write_journals(
    store: &Store,
    dd: &DataDir,
    tables: &[Table],
    run_id: &str,
    complete: bool,
    to_outbox: bool,
) -> Result<Vec<JournalFile>, Error> {
    let mut written = Vec::new();
    for &table in tables {
        let snapshot = store.flag(&snapshot_flag(table))?;
        let count = if snapshot {
            store.row_count(table)
        } else {
            store.pending_count(table)
        } as u64;
        if count == 0 && !snapshot {
            continue;
        }

        // Reserve the sequence range first, so no value is handed out twice even if this
        // process dies while the file is half written.
        let first_seq = store.reserve_seq(count)?;
        let mut file = JournalFile {
            table: table.name().to_string(),
            first_seq,
            last_seq: first_seq + count.max(1) as i64 - 1,
            rows: 0,
            bytes: 0,
            snapshot,
            in_outbox: to_outbox,
            run_id: run_id.to_string(),
        };
        let path = dd.root().join(file.relative_path());
        let mut seq = first_seq;
        let mut next_seq = || {
            let s = seq;
            seq += 1;
            s
        };
        let stats = if snapshot {
            let rows = store.iter_rows(table).map(|r| {
                r.map(|s| OutRow {
                    row: s.row,
                    changed_at: s.changed_at,
                    journal: Some((Op::Upsert.letter(), next_seq())),
                })
            });
            materialize::write_file(&path, table, true, rows)?
        } else {
            let rows = store.iter_pending(table).map(|r| {
                r.map(|p| OutRow {
                    row: p.row,
                    changed_at: p.changed_at,
                    journal: Some((p.op.letter(), next_seq())),
                })
            });
            materialize::write_file(&path, table, true, rows)?
        };
        file.rows = stats.rows;
        file.bytes = stats.bytes;
        // The snapshot flag is cleared and the table marked for rewriting in the same
        // transaction that records the file: a crash cannot journal a snapshot twice, nor leave
        // a journaled change out of the current table.
        let mut flags = vec![(dirty_flag(table), true)];
        if snapshot && complete {
            flags.push((snapshot_flag(table), false));
        }
        crate::failpoint::failpoint("before_journal_record");
        store.record_journal(&file, &flags)?;
        tracing::debug!(
            table = table.name(),
            rows = file.rows,
            first_seq,
            snapshot,
            "journal file written"
        );
        written.push(file);
    }
    Ok(written)
}

/// Rewrite the current table file of each table in `tables` from the store.
pub fn rewrite_tables(store: &Store, dd: &DataDir, tables: &BTreeSet<Table>) -> Result<(), Error> {
    for &table in tables {
        let rows = store.iter_rows(table).map(|r| {
            r.map(|s| OutRow {
                row: s.row,
                changed_at: s.changed_at,
                journal: None,
            })
        });
        materialize::write_file(&dd.table_file(table), table, false, rows)?;
        crate::failpoint::failpoint("mid_table_rewrite");
        store.set_flag(&dirty_flag(table), false)?;
    }
    store.flush_sync()?;
    Ok(())
}

/// At start-up: remove journal files sled never recorded (a crash between writing a file and
/// recording it) and temporary files left by a crash.
pub fn remove_unrecorded_files(store: &Store, dd: &DataDir) -> Result<usize, Error> {
    let known: BTreeSet<std::path::PathBuf> = store
        .journal_files()?
        .iter()
        .map(|f| dd.root().join(f.relative_path()))
        .collect();
    let mut removed = 0;
    for table in Table::ALL {
        let dir = dd.journal().join(table.name());
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !known.contains(&path) {
                tracing::warn!(path = %path.display(), "removing journal file the state never recorded");
                std::fs::remove_file(&path).map_err(|source| Error::DataDir { path, source })?;
                removed += 1;
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(dd.tables()) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().contains(".tmp-") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(removed)
}

/// Keep at most `keep` loaded journal files per table; delete older ones.
pub fn prune_journals(store: &Store, dd: &DataDir, keep: usize) -> Result<(), Error> {
    let files = store.journal_files()?;
    for table in Table::ALL {
        let loaded: Vec<&JournalFile> = files
            .iter()
            .filter(|f| f.table == table.name() && !f.in_outbox)
            .collect();
        if loaded.len() <= keep {
            continue;
        }
        for f in &loaded[..loaded.len() - keep] {
            let path = dd.root().join(f.relative_path());
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(Error::DataDir { path, source }),
            }
            store.forget_journal(f)?;
        }
    }
    store.flush_sync()?;
    Ok(())
}

/// Keep at most `keep` run reports.
pub fn prune_runs(dd: &DataDir, keep: usize) {
    let Ok(rd) = std::fs::read_dir(dd.runs()) else {
        return;
    };
    let mut files: Vec<_> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.len() > keep {
        for p in &files[..files.len() - keep] {
            let _ = std::fs::remove_file(p);
        }
    }
}
