//! Unit and property tests of the store: diff and commit, the page cache, `_SEQ`.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::row::Value;

/// Board id → issue id → STATUS_ID: a model of the BOARD_ISSUE rows of a few boards.
type Model = BTreeMap<i64, BTreeMap<i64, i64>>;

fn board_row(board: i64) -> Row {
    let mut v = vec![Value::Int(board)];
    v.extend(std::iter::repeat_n(
        Value::Null,
        Table::Board.def().columns.len() - 1,
    ));
    Row::new(v)
}

fn issue_row(board: i64, issue: i64, status: i64) -> Row {
    let def = Table::BoardIssue.def();
    let values = def
        .columns
        .iter()
        .map(|c| match c.name.as_str() {
            "BOARD_ID" => Value::Int(board),
            "ISSUE_ID" => Value::Int(issue),
            "STATUS_ID" => Value::Int(status),
            "ISSUE_KEY" => Value::Str(format!("K-{issue}")),
            _ => Value::Null,
        })
        .collect();
    let row = Row::new(values);
    row.validate(Table::BoardIssue).expect("valid test row");
    row
}

fn page_key(board: i64) -> String {
    format!("/rest/agile/1.0/board/{board}/issue?startAt=0")
}

fn body_hash(issues: &BTreeMap<i64, i64>) -> u128 {
    xxhash_rust::xxh3::xxh3_128(&encode(issues))
}

/// The complete listing of one board, parsed.
fn parsed(board: i64, issues: &BTreeMap<i64, i64>) -> BoardChanges {
    BoardChanges {
        board_id: board,
        board_row: Some(board_row(board)),
        config: None,
        listings: vec![CompleteListing {
            tables: vec![Table::BoardIssue],
            pages: vec![PageEntry::Parsed(PageRows {
                page_key: page_key(board),
                body_hash: body_hash(issues),
                rows: issues
                    .iter()
                    .map(|(i, s)| (Table::BoardIssue, issue_row(board, *i, *s)))
                    .collect(),
            })],
        }],
        changed_at: 1,
        checkpoint_note: Vec::new(),
    }
}

/// The complete listing of one board whose page matched the page cache.
fn cached(store: &Store, board: i64, issues: &BTreeMap<i64, i64>) -> Option<BoardChanges> {
    let hit = store
        .cached_page(board, &page_key(board))
        .expect("page cache")?;
    if hit.body_hash != body_hash(issues) || !store.contains_all(&hit.keys).expect("rows") {
        return None;
    }
    Some(BoardChanges {
        listings: vec![CompleteListing {
            tables: vec![Table::BoardIssue],
            pages: vec![PageEntry::Cached(SeenPage { keys: hit.keys })],
        }],
        ..parsed(board, issues)
    })
}

/// Commit every board of `model` (and an empty listing for boards only in `stored`), using the
/// page cache where the page is unchanged.
fn commit_model(store: &Store, model: &Model, stored: &Model) -> CommitCounts {
    let mut counts = CommitCounts::default();
    let empty = BTreeMap::new();
    let boards: std::collections::BTreeSet<i64> =
        model.keys().chain(stored.keys()).copied().collect();
    for board in &boards {
        let issues = model.get(board).unwrap_or(&empty);
        let changes = cached(store, *board, issues).unwrap_or_else(|| parsed(*board, issues));
        counts.add(&store.commit_board(changes).expect("commit"));
    }
    counts
}

/// Journal (and so clear) the pending changes of the tables the tests write.
fn clear_pending(store: &Store) {
    for t in [Table::Board, Table::BoardIssue] {
        let first_seq = store.reserve_seq(1).expect("seq");
        let file = JournalFile {
            table: t.name().into(),
            first_seq,
            last_seq: first_seq,
            rows: 0,
            bytes: 0,
            snapshot: false,
            in_outbox: false,
            run_id: "test".into(),
        };
        store.record_journal(&file, &[]).expect("record");
    }
}

fn stored_issues(store: &Store) -> Model {
    let mut out = Model::new();
    for r in store.iter_rows(Table::BoardIssue) {
        let r = r.expect("row");
        let key = r.row.key(Table::BoardIssue);
        let status = r.row.values[4].as_int().expect("status");
        out.entry(key.0[0]).or_default().insert(key.0[1], status);
    }
    out
}

/// (key, op, STATUS_ID of the row carried) of every pending BOARD_ISSUE change.
fn pending_issues(store: &Store) -> BTreeMap<(i64, i64), (Op, i64)> {
    store
        .iter_pending(Table::BoardIssue)
        .map(|p| {
            let p = p.expect("pending");
            let key = p.row.key(Table::BoardIssue);
            let status = p.row.values[4].as_int().expect("status");
            ((key.0[0], key.0[1]), (p.op, status))
        })
        .collect()
}

fn flatten(m: &Model) -> BTreeMap<(i64, i64), i64> {
    m.iter()
        .flat_map(|(b, issues)| issues.iter().map(move |(i, s)| ((*b, *i), *s)))
        .collect()
}

fn model() -> impl Strategy<Value = Model> {
    prop::collection::btree_map(
        1i64..5,
        prop::collection::btree_map(1i64..20, 0i64..3, 0..8),
        0..4,
    )
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("state")).expect("open");
    (dir, store)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn diffing_a_store_against_itself_yields_nothing(a in model()) {
        let (_dir, store) = open();
        commit_model(&store, &a, &Model::new());
        clear_pending(&store);

        let counts = commit_model(&store, &a, &a);

        for (t, c) in &counts.tables {
            prop_assert_eq!((c.changed, c.deleted), (0, 0), "{}", t);
        }
        prop_assert_eq!(store.pending_count(Table::BoardIssue), 0);
        prop_assert_eq!(store.pending_count(Table::Board), 0);
        let issues: usize = a.values().map(|m| m.len()).sum();
        let read = counts.tables.get(&Table::BoardIssue).map_or(0, |c| c.read);
        prop_assert_eq!(read as usize, issues, "cached pages still count their rows as read");
    }

    #[test]
    fn applying_diff_a_b_to_a_yields_b(a in model(), b in model()) {
        let (_dir, store) = open();
        commit_model(&store, &a, &Model::new());
        clear_pending(&store);

        commit_model(&store, &b, &a);

        // The store holds exactly b (boards that b lists without issues hold none).
        let mut want = b.clone();
        want.retain(|_, m| !m.is_empty());
        prop_assert_eq!(stored_issues(&store), want);

        // The pending changes describe exactly the difference from a to b.
        let (fa, fb) = (flatten(&a), flatten(&b));
        let mut diff = BTreeMap::new();
        for (k, s) in &fb {
            if fa.get(k) != Some(s) {
                diff.insert(*k, (Op::Upsert, *s));
            }
        }
        for (k, s) in &fa {
            if !fb.contains_key(k) {
                diff.insert(*k, (Op::Delete, *s));
            }
        }
        prop_assert_eq!(pending_issues(&store), diff);
    }

    #[test]
    fn seq_strictly_increases_across_runs_restarts_and_reset(
        steps in prop::collection::vec((0u8..3, 1u64..50), 1..12)
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state");
        let mut store = Store::open(&path).expect("open");
        let mut last = i64::MIN;
        for (action, count) in steps {
            match action {
                0 => {}
                1 => {
                    drop(store);
                    store = Store::open(&path).expect("reopen");
                }
                _ => store.reset().expect("reset"),
            }
            let first = store.reserve_seq(count).expect("seq");
            prop_assert!(first > last, "{} after {}", first, last);
            last = first + count as i64 - 1;
            prop_assert_eq!(store.last_seq().expect("last"), last);
        }
    }
}

#[test]
fn page_cache_key_holds_the_schema_version() {
    let (_dir, store) = open();
    let issues: BTreeMap<i64, i64> = [(1, 0), (2, 1)].into();
    store.commit_board(parsed(7, &issues)).expect("commit");
    assert!(store
        .cached_page(7, &page_key(7))
        .expect("lookup")
        .is_some());

    // An entry written under another schema version is never found.
    store.page_cache.clear().expect("clear");
    let mut other = RowKey(vec![7]).encode();
    other.extend_from_slice(&(schema_version() + 1).to_be_bytes());
    other.extend_from_slice(page_key(7).as_bytes());
    let entry = CachedPage {
        body_hash: body_hash(&issues),
        keys: Vec::new(),
    };
    store
        .page_cache
        .insert(other, encode(&entry))
        .expect("insert");
    assert_eq!(store.cached_page(7, &page_key(7)).expect("lookup"), None);
}

#[test]
fn cached_page_counts_rows_as_seen_so_nothing_is_deleted() {
    let (_dir, store) = open();
    let issues: BTreeMap<i64, i64> = [(1, 0), (2, 1), (3, 2)].into();
    store.commit_board(parsed(7, &issues)).expect("commit");
    clear_pending(&store);

    let changes = cached(&store, 7, &issues).expect("page cache hit");
    let counts = store.commit_board(changes).expect("commit");

    let c = counts.tables[&Table::BoardIssue];
    assert_eq!((c.read, c.changed, c.deleted), (3, 0, 0));
    assert_eq!(store.row_count(Table::BoardIssue), 3);
    assert_eq!(store.pending_count(Table::BoardIssue), 0);
}

#[test]
fn record_journal_clears_pending_and_sets_flags_together() {
    let (_dir, store) = open();
    let issues: BTreeMap<i64, i64> = [(1, 0)].into();
    store.commit_board(parsed(7, &issues)).expect("commit");
    store.set_flag("snapshot/BOARD_ISSUE", true).expect("flag");
    let file = JournalFile {
        table: "BOARD_ISSUE".into(),
        first_seq: store.reserve_seq(1).expect("seq"),
        last_seq: 0,
        rows: 1,
        bytes: 0,
        snapshot: true,
        in_outbox: false,
        run_id: "r".into(),
    };
    let flags = [
        ("snapshot/BOARD_ISSUE".to_string(), false),
        ("dirty/BOARD_ISSUE".to_string(), true),
    ];
    store.record_journal(&file, &flags).expect("record");
    assert_eq!(store.pending_count(Table::BoardIssue), 0);
    assert!(!store.flag("snapshot/BOARD_ISSUE").expect("flag"));
    assert!(store.flag("dirty/BOARD_ISSUE").expect("flag"));
    assert_eq!(store.journal_files().expect("files"), vec![file]);
}

#[test]
fn checkpoint_note_is_kept_with_the_done_mark() {
    let (_dir, store) = open();
    store
        .start_run(&RunCheckpoint {
            run_id: "r".into(),
            started_at: 1,
        })
        .expect("start");
    let mut changes = parsed(7, &BTreeMap::new());
    changes.checkpoint_note = b"failed".to_vec();
    store.commit_board(changes).expect("commit");
    store
        .commit_board(parsed(8, &BTreeMap::new()))
        .expect("commit");
    let notes = store.done_board_notes().expect("notes");
    assert_eq!(notes.get(&7).map(Vec::as_slice), Some(&b"failed"[..]));
    assert_eq!(notes.get(&8).map(Vec::as_slice), Some(&b""[..]));
}
