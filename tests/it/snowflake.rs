//! End to end against a real Snowflake-protocol server (fakesnow) on 127.0.0.1: sync a
//! simulated site, load, and read every table back.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use jira_agile_sync::config::{Config, OversizedValueStrategy, SnowflakeAuth, SnowflakeConfig};
use jira_agile_sync::destination::snowflake::testkit::FakeSnow;
use jira_agile_sync::destination::snowflake::SnowflakeClient;
use jira_agile_sync::pipeline::{self, RunStatus};
use jira_agile_sync::schema::{ColumnType, Table};

use crate::util::{self, read_table, Rows};

static DB_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A Snowflake config for fakesnow with its own database (fakesnow shares one in-memory
/// database between sessions).
pub(crate) fn snowflake_config(fs: &FakeSnow, dir: &Path) -> SnowflakeConfig {
    let token = dir.join("sf-token");
    std::fs::write(&token, "fake-oauth-token").expect("token file");
    let n = DB_COUNTER.fetch_add(1, Ordering::SeqCst);
    SnowflakeConfig {
        database: format!("JAS_{}_{n}", std::process::id()),
        schema: "JIRA".into(),
        role: "SYNC_ROLE".into(),
        warehouse: "SYNC_WH".into(),
        auth: SnowflakeAuth::ManagedToken {
            account: None,
            token_file: token,
        },
        base_url: fs.base_url(),
        oversized_value_strategy: OversizedValueStrategy::FailTable,
    }
}

/// A sync and load that must end `ok`.
async fn sync_and_load(cfg: &Config) -> pipeline::RunSummary {
    let summary = pipeline::sync_and_load(cfg, &util::opts())
        .await
        .expect("sync and load");
    assert_eq!(
        summary.report.status,
        Some(RunStatus::Ok),
        "{:?}",
        summary.report.load_errors
    );
    summary
}

/// Every row of a destination table, typed like `read_table`'s rows.
pub(crate) async fn read_snowflake(sf: &SnowflakeConfig, table: Table) -> Rows {
    let client = SnowflakeClient::new(sf).expect("client");
    let def = table.def();
    let cols: Vec<String> = def
        .columns
        .iter()
        .map(|c| format!("\"{}\"", c.name))
        .collect();
    let sql = format!(
        "SELECT {} FROM \"{}\".\"{}\".\"{}\"",
        cols.join(", "),
        sf.database,
        sf.schema,
        table.name()
    );
    let result = client.query(&sql).await.expect("select");
    let mut rows = Vec::new();
    for r in result.rows {
        let mut row = BTreeMap::new();
        for (c, cell) in def.columns.iter().zip(r) {
            let v = match cell {
                None => serde_json::Value::Null,
                Some(text) => typed(c.ty, &text),
            };
            row.insert(c.name.clone(), v);
        }
        rows.push(row);
    }
    util::sort_rows(table, &mut rows);
    rows
}

fn typed(ty: ColumnType, text: &str) -> serde_json::Value {
    match ty {
        ColumnType::Number => text
            .parse::<i64>()
            .map(Into::into)
            .or_else(|_| text.parse::<f64>().map(|f| (f as i64).into()))
            .expect("a number"),
        ColumnType::Varchar => text.into(),
        ColumnType::Boolean => (text == "true" || text == "1" || text == "TRUE").into(),
        ColumnType::Float => text.parse::<f64>().expect("a float").into(),
        ColumnType::Variant => serde_json::from_str(text).unwrap_or_else(|_| text.into()),
        ColumnType::TimestampTz => {
            let parsed = chrono::DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f %:z")
                .or_else(|_| chrono::DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f %z"))
                .or_else(|_| chrono::DateTime::parse_from_rfc3339(text))
                .map(|d| d.timestamp_micros())
                .or_else(|_| {
                    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                        .map(|d| d.and_utc().timestamp_micros())
                })
                .unwrap_or_else(|_| panic!("a timestamp: {text}"));
            parsed.into()
        }
    }
}

/// Assert the Snowflake tables equal the local Parquet tables, row by row.
pub(crate) async fn assert_destination_matches_local(sf: &SnowflakeConfig, dir: &Path) {
    for t in Table::ALL {
        let local = read_table(dir, t);
        let remote = read_snowflake(sf, t).await;
        assert_eq!(remote.len(), local.len(), "{t}: row count");
        for (r, l) in remote.iter().zip(&local) {
            assert_eq!(r, l, "{t}: first differing row");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_edits_and_reset_keep_snowflake_equal_to_local_tables() {
    let Some(fs) = FakeSnow::start() else { return };
    let sim = util::start(util::site(5, 10, 15)).await;
    let injection = "x'); DROP TABLE \"BOARD\"; --";
    let first_board = sim.site().boards().next().map(|b| b.id).expect("a board");
    sim.edit(|s| s.rename_board(first_board, injection));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = util::config(&sim.base_url(), dir.path());
    let sf = snowflake_config(&fs, dir.path());
    cfg.snowflake = Some(sf.clone());

    // First load: a snapshot of every table.
    sync_and_load(&cfg).await;
    assert_destination_matches_local(&sf, dir.path()).await;
    let boards = read_snowflake(&sf, Table::Board).await;
    assert!(
        boards.iter().any(|b| b["NAME"] == injection),
        "the hostile name loads as data"
    );
    let status = pipeline::Status::read(&pipeline::DataDir::new(dir.path())).expect("status");
    assert_eq!(status.outbox.files, 0);
    assert_eq!(status.last_load.status.as_deref(), Some("ok"));

    // Edits: rename, delete a board, move an issue, close a sprint.
    sim.edit(|s| {
        let ids: Vec<i64> = s.boards().map(|b| b.id).collect();
        s.rename_board(ids[1], "Renamed");
        s.delete_board(ids[2]);
        let with_issues: Vec<(i64, i64)> = s
            .boards()
            .filter_map(|b| b.issues.first().map(|i| (b.id, *i)))
            .collect();
        if with_issues.len() >= 2 {
            s.move_issue(with_issues[0].1, with_issues[0].0, with_issues[1].0);
        }
        let sprint = s.boards().find_map(|b| b.sprints.first().copied());
        if let Some(sp) = sprint {
            s.close_sprint(sp);
        }
    });
    sync_and_load(&cfg).await;
    util::assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    assert_destination_matches_local(&sf, dir.path()).await;

    // A row Jira no longer has, planted in the destination, goes with the snapshot after reset.
    let client = SnowflakeClient::new(&sf).expect("client");
    client
        .query(&format!(
            "INSERT INTO \"{}\".\"JIRA\".\"BOARD\" (\"ID\", \"NAME\") VALUES (987654321, 'ghost')",
            sf.database
        ))
        .await
        .expect("plant a row");
    assert_eq!(
        read_snowflake(&sf, Table::Board).await.len(),
        read_table(dir.path(), Table::Board).len() + 1
    );
    {
        let (_dd, _lock, store) = pipeline::open_writer(&cfg).expect("writer");
        pipeline::reset(&store).expect("reset");
    }
    sync_and_load(&cfg).await;
    assert_destination_matches_local(&sf, dir.path()).await;
    let journal = client
        .query(&format!(
            "SELECT COUNT(*) FROM \"{}\".\"JIRA\".\"_JAS_JOURNAL_BOARD\"",
            sf.database
        ))
        .await
        .expect("count");
    assert_eq!(
        journal.rows[0][0].as_deref(),
        Some("0"),
        "merged journal rows are cleaned up"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_outbox_sends_no_statement() {
    let Some(fs) = FakeSnow::start() else { return };
    let sim = util::start(util::site(6, 4, 5)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = util::config(&sim.base_url(), dir.path());
    cfg.snowflake = Some(snowflake_config(&fs, dir.path()));
    sync_and_load(&cfg).await;

    // Point the destination at a server that counts requests: nothing changed, nothing is sent.
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "counted")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    if let Some(sf) = cfg.snowflake.as_mut() {
        sf.base_url = url::Url::parse(&format!("http://{addr}/")).expect("url");
    }
    sync_and_load(&cfg).await;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "no request for an empty outbox"
    );

    // A change makes a file; the counting server fails the load: the file stays in the outbox.
    let board = sim.site().boards().next().map(|b| b.id).expect("board");
    sim.edit(|s| s.rename_board(board, "changed"));
    let third = pipeline::sync_and_load(&cfg, &util::opts())
        .await
        .expect("sync");
    assert_eq!(third.exit_code(), 1, "a failed load makes the run partial");
    assert!(hits.load(Ordering::SeqCst) > 0);
    let status = pipeline::Status::read(&pipeline::DataDir::new(dir.path())).expect("status");
    assert_eq!(status.outbox.files, 1);
    assert_eq!(status.last_load.status.as_deref(), Some("failed"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destination_behind_the_schema_version_gets_the_column_and_it_fills() {
    let Some(fs) = FakeSnow::start() else { return };
    let sim = util::start(util::site(9, 6, 5)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = util::config(&sim.base_url(), dir.path());
    let sf = snowflake_config(&fs, dir.path());
    cfg.snowflake = Some(sf.clone());
    sync_and_load(&cfg).await;

    // Make the destination look like an older schema version: a column is missing.
    let client = SnowflakeClient::new(&sf).expect("client");
    let db = &sf.database;
    for t in ["BOARD", "_JAS_JOURNAL_BOARD"] {
        client
            .query(&format!(
                "ALTER TABLE \"{db}\".\"JIRA\".\"{t}\" DROP COLUMN \"ESTIMATION_FIELD_NAME\""
            ))
            .await
            .expect("drop column");
    }
    client
        .query(&format!(
            "UPDATE \"{db}\".\"JIRA\".\"_JAS_STATE\" SET \"SCHEMA_VERSION\" = 0 WHERE \"NAME\" = 'BOARD'"
        ))
        .await
        .expect("older version");
    let sql = format!(
        "SELECT COLUMN_NAME FROM \"{db}\".INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = 'JIRA' \
         AND TABLE_NAME = 'BOARD' AND COLUMN_NAME = 'ESTIMATION_FIELD_NAME'"
    );
    assert_eq!(client.query(&sql).await.expect("columns").rows.len(), 0);

    // The next load adds the column; the run after it re-sends every row so the column fills.
    let board = sim.site().boards().next().map(|b| b.id).expect("board");
    sim.edit(|s| s.rename_board(board, "after the schema change"));
    sync_and_load(&cfg).await;
    assert_eq!(
        client.query(&sql).await.expect("columns").rows.len(),
        1,
        "ALTER TABLE ... ADD COLUMN ran"
    );
    let third = sync_and_load(&cfg).await;
    assert!(
        third
            .report
            .journal_files
            .iter()
            .any(|f| f.contains("BOARD/")),
        "BOARD rows were re-sent: {:?}",
        third.report.journal_files
    );
    let remote = read_snowflake(&sf, Table::Board).await;
    assert!(
        remote.iter().any(|r| !r["ESTIMATION_FIELD_NAME"].is_null()),
        "the new column is filled"
    );
    assert_destination_matches_local(&sf, dir.path()).await;
    sim.shutdown().await;
}
