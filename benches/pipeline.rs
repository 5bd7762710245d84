//! Benchmarks of the hot steps on fixture-sized data: diff + commit of a board's rows into sled
//! (new rows, unchanged rows, and rows whose page came from the page cache) and the Parquet
//! writer. Compare the figures of one run with each other (ratios), not across machines.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use jira_agile_sync::materialize::{self, OutRow};
use jira_agile_sync::row::{Row, Value};
use jira_agile_sync::schema::Table;
use jira_agile_sync::state::{BoardChanges, CompleteListing, PageEntry, PageRows, SeenPage, Store};

const ISSUES: i64 = 2_000;

fn issue_row(board: i64, i: i64, rev: i64) -> Row {
    Row::new(vec![
        Value::Int(board),
        Value::Int(10_000 + i),
        Value::Str(format!("PA-{i}")),
        Value::Int(10_001),
        Value::Int(3),
        Value::Int(7),
        Value::Json("[1,2]".into()),
        Value::Bool(i % 7 == 0),
        Value::Null,
        Value::Float(3.0),
        Value::Str(format!("0|i{i:06}:{rev}")),
        Value::Ts(1_700_000_000_000_000 + i),
    ])
}

fn board_row(board: i64) -> Row {
    let mut v = vec![Value::Int(board)];
    v.extend(std::iter::repeat_n(
        Value::Null,
        Table::Board.def().columns.len() - 1,
    ));
    Row::new(v)
}

fn changes(board: i64, rev: i64) -> BoardChanges {
    let pages = (0..ISSUES / 100)
        .map(|p| {
            PageEntry::Parsed(PageRows {
                page_key: format!("/board/{board}/issue?startAt={}", p * 100),
                body_hash: (p + rev * 1000) as u128,
                rows: (p * 100..p * 100 + 100)
                    .map(|i| (Table::BoardIssue, issue_row(board, i, rev)))
                    .collect(),
            })
        })
        .collect();
    BoardChanges {
        board_id: board,
        board_row: Some(board_row(board)),
        config: None,
        listings: vec![CompleteListing {
            tables: vec![Table::BoardIssue],
            pages,
        }],
        changed_at: 1,
        checkpoint_note: Vec::new(),
    }
}

fn cached(board: i64) -> BoardChanges {
    let keys = (0..ISSUES)
        .map(|i| {
            (
                Table::BoardIssue.tag(),
                jira_agile_sync::row::RowKey(vec![board, 10_000 + i]).encode(),
            )
        })
        .collect();
    BoardChanges {
        listings: vec![CompleteListing {
            tables: vec![Table::BoardIssue],
            pages: vec![PageEntry::Cached(SeenPage { keys })],
        }],
        ..changes(board, 0)
    }
}

fn bench_commit(c: &mut Criterion) {
    let mut g = c.benchmark_group("commit_board");
    g.throughput(Throughput::Elements(ISSUES as u64));
    g.sample_size(10);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("state")).expect("store");
    let mut next_board = 1;
    g.bench_function("insert_new_rows", |b| {
        b.iter_batched(
            || {
                next_board += 1;
                changes(next_board, 0)
            },
            |ch| store.commit_board(ch).expect("commit"),
            BatchSize::PerIteration,
        )
    });
    store.commit_board(changes(1, 0)).expect("seed");
    g.bench_function("diff_unchanged_rows", |b| {
        b.iter_batched(
            || changes(1, 0),
            |ch| store.commit_board(ch).expect("commit"),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("page_cache_hit", |b| {
        b.iter_batched(
            || cached(1),
            |ch| store.commit_board(ch).expect("commit"),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn bench_parquet(c: &mut Criterion) {
    let mut g = c.benchmark_group("parquet");
    let n = 100_000i64;
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("BOARD_ISSUE.parquet");
    g.bench_function("write_board_issue_100k", |b| {
        b.iter(|| {
            let rows = (0..n).map(|i| {
                Ok::<_, String>(OutRow {
                    row: issue_row(i / 500, i, 0),
                    changed_at: 1,
                    journal: None,
                })
            });
            materialize::write_file(&path, Table::BoardIssue, false, rows).expect("write")
        })
    });
    g.finish();
}

criterion_group!(benches, bench_commit, bench_parquet);
criterion_main!(benches);
