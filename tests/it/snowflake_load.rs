//! The load's ordering and refusals (DESIGN.md section 7) and `check` against Snowflake: fakesnow
//! on 127.0.0.1, plus an in-process mock for answers fakesnow never gives.

use std::sync::Arc;

use axum::routing::post;
use axum::{Json, Router};
use jira_agile_sync::config::Config;
use jira_agile_sync::destination::snowflake::testkit::FakeSnow;
use jira_agile_sync::destination::snowflake::SnowflakeClient;
use jira_agile_sync::pipeline::{self, load::LoadOutcome, RunStatus};
use jira_agile_sync::schema::Table;
use jira_agile_sync::state::JournalFile;
use serde_json::{json, Value};

use crate::snowflake::{assert_destination_matches_local, read_snowflake, snowflake_config};
use crate::snowflake_crash::{
    assert_loaded_consistently, count, merged_seqs, qualify, small_site, Install,
};
use crate::util;

/// A server on 127.0.0.1 answering every request with HTTP 400 (not retried): a destination
/// that refuses everything.
async fn refusing_server() -> url::Url {
    let app = Router::new().fallback(|| async { (axum::http::StatusCode::BAD_REQUEST, "no") });
    serve(app).await
}

async fn serve(app: Router) -> url::Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url::Url::parse(&format!("http://{addr}/")).expect("url")
}

fn outbox(cfg: &Config, table: Table) -> Vec<JournalFile> {
    let (_dd, _lock, store) = pipeline::open_writer(cfg).expect("writer");
    let mut files: Vec<JournalFile> = store
        .journal_files()
        .expect("journal files")
        .into_iter()
        .filter(|f| f.in_outbox && f.table == table.name())
        .collect();
    files.sort_by_key(|f| f.first_seq);
    files
}

async fn load(cfg: &Config) -> LoadOutcome {
    let (dd, _lock, store) = pipeline::open_writer(cfg).expect("writer");
    pipeline::load::load(cfg, &store, &dd, &util::opts())
        .await
        .expect("load runs")
}

fn merged_of(merged: &[(String, i64)], table: Table) -> Option<i64> {
    merged
        .iter()
        .find(|(n, _)| n == table.name())
        .map(|(_, s)| *s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_upload_of_an_earlier_file_stops_the_later_file() {
    let Some(fs) = FakeSnow::start() else { return };
    let sim = util::start(small_site(31)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = util::config(&sim.base_url(), dir.path());
    let sf = snowflake_config(&fs, dir.path());
    cfg.snowflake = Some(sf.clone());
    let first = pipeline::sync_and_load(&cfg, &util::opts())
        .await
        .expect("first sync");
    assert_eq!(first.report.status, Some(RunStatus::Ok));
    let client = SnowflakeClient::new(&sf).expect("client");
    let merged_before = merged_of(&merged_seqs(&client, &sf).await, Table::Board);
    let boards_before = read_snowflake(&sf, Table::Board).await;

    // Two runs while the destination refuses everything: two BOARD files wait in the outbox.
    let mut offline = cfg.clone();
    if let Some(s) = offline.snowflake.as_mut() {
        s.base_url = refusing_server().await;
    }
    let board = sim.site().boards().next().map(|b| b.id).expect("a board");
    for name in ["first rename", "second rename"] {
        sim.edit(|s| s.rename_board(board, name));
        let run = pipeline::sync_and_load(&offline, &util::opts())
            .await
            .expect("sync");
        assert_eq!(run.exit_code(), 1, "the load failed");
    }
    let files = outbox(&cfg, Table::Board);
    assert_eq!(files.len(), 2, "two BOARD files in the outbox");

    // The earlier file cannot be uploaded: the later one is neither copied nor merged.
    let earlier = dir.path().join(files[0].relative_path());
    let aside = dir.path().join("aside.parquet");
    std::fs::rename(&earlier, &aside).expect("move the earlier file away");
    let outcome = load(&cfg).await;
    match &outcome {
        LoadOutcome::Failed { errors, .. } => assert!(
            errors
                .iter()
                .any(|e| e.starts_with("BOARD:") && e.contains("put")),
            "{errors:?}"
        ),
        other => panic!("expected a failed load, got {other:?}"),
    }
    assert_eq!(
        merged_of(&merged_seqs(&client, &sf).await, Table::Board),
        merged_before,
        "BOARD's merged _SEQ is unchanged"
    );
    let journal = qualify(&sf, "_JAS_JOURNAL_BOARD");
    assert_eq!(
        count(&client, &format!("SELECT COUNT(*) FROM {journal}")).await,
        0,
        "the later file was not copied"
    );
    assert_eq!(read_snowflake(&sf, Table::Board).await, boards_before);
    assert_eq!(
        outbox(&cfg, Table::Board),
        files,
        "both files stay in the outbox"
    );

    // Fixed: both load, in order, and the destination shows the later rename.
    std::fs::rename(&aside, &earlier).expect("restore the earlier file");
    let outcome = load(&cfg).await;
    assert!(!outcome.is_failed(), "{outcome:?}");
    assert!(outbox(&cfg, Table::Board).is_empty());
    assert_eq!(
        merged_of(&merged_seqs(&client, &sf).await, Table::Board),
        Some(files[1].last_seq)
    );
    assert_destination_matches_local(&sf, dir.path()).await;
    let boards = read_snowflake(&sf, Table::Board).await;
    assert!(boards.iter().any(|b| b["NAME"] == "second rename"));
    assert!(!boards.iter().any(|b| b["NAME"] == "first rename"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_named_tables_without_state_are_refused_and_left_alone() {
    let Some(fs) = FakeSnow::start() else { return };
    let sim = util::start(small_site(32)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = util::config(&sim.base_url(), dir.path());
    let sf = snowflake_config(&fs, dir.path());
    cfg.snowflake = Some(sf.clone());

    // Another tool's BOARD table, with a row of its own.
    let client = SnowflakeClient::new(&sf).expect("client");
    for sql in [
        format!(
            "CREATE SCHEMA IF NOT EXISTS \"{}\".\"{}\"",
            sf.database, sf.schema
        ),
        format!(
            "CREATE TABLE {} (\"ID\" NUMBER, \"NAME\" VARCHAR)",
            qualify(&sf, "BOARD")
        ),
        format!("INSERT INTO {} VALUES (1, 'theirs')", qualify(&sf, "BOARD")),
    ] {
        client.query(&sql).await.expect("set up a foreign table");
    }

    let run = pipeline::sync_and_load(&cfg, &util::opts())
        .await
        .expect("sync");
    assert_eq!(run.report.status, Some(RunStatus::Partial));
    assert!(
        run.report
            .load_errors
            .iter()
            .any(|e| e.contains("BOARD") && e.contains("schema of its own")),
        "{:?}",
        run.report.load_errors
    );

    // Nothing was created or changed.
    let tables = client
        .query(&format!(
            "SELECT \"TABLE_NAME\" FROM \"{}\".\"INFORMATION_SCHEMA\".\"TABLES\" \
             WHERE \"TABLE_SCHEMA\" = '{}'",
            sf.database, sf.schema
        ))
        .await
        .expect("list tables");
    let names: Vec<String> = tables
        .rows
        .into_iter()
        .filter_map(|r| r[0].clone())
        .collect();
    assert_eq!(names, vec!["BOARD".to_string()]);
    let rows = client
        .query(&format!(
            "SELECT \"ID\", \"NAME\" FROM {}",
            qualify(&sf, "BOARD")
        ))
        .await
        .expect("select");
    assert_eq!(
        rows.rows,
        vec![vec![Some("1".to_string()), Some("theirs".to_string())]]
    );
    let status = pipeline::Status::read(&pipeline::DataDir::new(dir.path())).expect("status");
    assert!(status.outbox.files > 0, "the files wait in the outbox");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_installation_or_site_is_refused_until_adopted() {
    let Some(fs) = FakeSnow::start() else { return };
    let sim = util::start(small_site(33)).await;
    let other_site = util::start(small_site(34)).await;
    let a = Install::new(&fs, &sim.base_url());
    a.sync_ok();
    let client = SnowflakeClient::new(&a.sf).expect("client");
    let owner = || async {
        let r = client
            .query(&format!(
                "SELECT \"SITE_URL\", \"INSTALLATION_ID\" FROM {} WHERE \"NAME\" = '_DESTINATION'",
                qualify(&a.sf, "_JAS_STATE")
            ))
            .await
            .expect("owner");
        assert_eq!(r.rows.len(), 1, "one owner row");
        (
            r.rows[0][0].clone().unwrap_or_default(),
            r.rows[0][1].clone().unwrap_or_default(),
        )
    };
    let (a_site, a_installation) = owner().await;
    assert!(!a_installation.is_empty());

    // Another installation (a new data directory) of the same site: refused, naming both.
    let b = Install::with_snowflake(&sim.base_url(), &a.sf);
    let (code, err) = b.sync(None, &[]);
    assert_eq!(code, 1, "{err}");
    let b_installation = jira_agile_sync::state::Store::open(&b.data_dir().join("state"))
        .expect("store")
        .installation_id()
        .expect("installation id");
    assert!(
        err.contains(&a_installation) && err.contains(&b_installation),
        "names both installations: {err}"
    );
    assert!(err.contains("--adopt-destination"), "{err}");
    assert_eq!(owner().await, (a_site.clone(), a_installation.clone()));
    assert_destination_matches_local(&a.sf, &a.data_dir()).await;

    // Another site: refused, naming both sites.
    let c = Install::with_snowflake(&other_site.base_url(), &a.sf);
    let (code, err) = c.sync(None, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&a_site) && err.contains(other_site.base_url().trim_end_matches('/')),
        "names both sites: {err}"
    );
    assert_eq!(owner().await.1, a_installation);

    // Taken over with --adopt-destination: reloaded by a snapshot, so a row only the previous
    // owner had and a journal row it left behind both go.
    let plant = [
        format!(
            "INSERT INTO {} (\"ID\", \"NAME\") VALUES (987654321, 'ghost')",
            qualify(&a.sf, "BOARD")
        ),
        format!(
            "INSERT INTO {} (\"ID\", \"NAME\", \"_OP\", \"_SEQ\") \
             VALUES (987654322, 'left behind', 'U', 8000000000000000000)",
            qualify(&a.sf, "_JAS_JOURNAL_BOARD")
        ),
    ];
    for sql in &plant {
        client.query(sql).await.expect("plant");
    }
    let (code, err) = b.sync(None, &["--adopt-destination"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(owner().await.1, b_installation);
    assert_loaded_consistently(&b, &sim, "adopted by a new installation").await;

    // The first installation takes it back: its data directory delivered here before, yet the
    // takeover still reloads by a snapshot in the same run.
    for sql in &plant {
        client.query(sql).await.expect("plant");
    }
    let (code, err) = a.sync(None, &["--adopt-destination"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(owner().await.1, a_installation);
    assert_loaded_consistently(&a, &sim, "taken back").await;
    other_site.shutdown().await;
    sim.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// check

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_passes_against_fakesnow_and_writes_nothing() {
    let Some(fs) = FakeSnow::start() else { return };
    let sim = util::start(small_site(35)).await;
    let inst = Install::new(&fs, &sim.base_url());
    let client = SnowflakeClient::new(&inst.sf).expect("client");
    client
        .query(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{}\".\"{}\"",
            inst.sf.database, inst.sf.schema
        ))
        .await
        .expect("schema");

    let (code, out, err) = inst.run("check", None, &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    for name in [
        "snowflake login",
        "snowflake database",
        "snowflake schema",
        "snowflake warehouse",
        "snowflake create table",
        "snowflake create stage",
    ] {
        assert!(
            out.contains(&format!("ok   {name}:")),
            "{name} missing: {out}"
        );
    }
    assert!(!inst.data_dir().exists(), "check creates no data directory");
    let tables = client
        .query(&format!(
            "SELECT \"TABLE_NAME\" FROM \"{}\".\"INFORMATION_SCHEMA\".\"TABLES\" \
             WHERE \"TABLE_SCHEMA\" = '{}'",
            inst.sf.database, inst.sf.schema
        ))
        .await
        .expect("list tables");
    assert!(
        tables.rows.is_empty(),
        "check leaves no table: {:?}",
        tables.rows
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_explains_case_sensitive_schema_names() {
    let Some(fs) = FakeSnow::start() else { return };
    let sim = util::start(small_site(36)).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut sf = snowflake_config(&fs, tmp.path());
    let client = SnowflakeClient::new(&sf).expect("client");
    client
        .query(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{}\".\"JIRA\"",
            sf.database
        ))
        .await
        .expect("schema");
    sf.schema = "jira".into();
    let inst = Install::with_snowflake(&sim.base_url(), &sf);

    let (code, out, err) = inst.run("check", None, &[]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("FAIL snowflake schema")
            && out.contains("case-sensitive")
            && out.contains("snowflake.schema = \"JIRA\""),
        "{out}"
    );
    assert!(!inst.data_dir().exists(), "check creates no data directory");
    sim.shutdown().await;
}

/// A Snowflake that logs in, shows the schema, and refuses every CREATE with 003001.
async fn mock_without_create_rights(schema: &str) -> url::Url {
    let schema = Arc::new(schema.to_string());
    let app = Router::new()
        .route(
            "/session/v1/login-request",
            post(|| async { Json(json!({ "success": true, "data": { "token": "session" } })) }),
        )
        .route(
            "/queries/v1/query-request",
            post(move |Json(body): Json<Value>| {
                let schema = schema.clone();
                async move {
                    let sql = body["sqlText"].as_str().unwrap_or_default().to_string();
                    Json(if sql.starts_with("CREATE") {
                        json!({ "success": false, "code": "003001",
                            "message": "SQL access control error: Insufficient privileges to \
                                        operate on schema", "data": { "queryId": "q1" } })
                    } else if sql.contains("SCHEMATA") {
                        json!({ "success": true, "data": {
                            "rowtype": [{ "name": "SCHEMA_NAME", "type": "text" }],
                            "rowset": [[schema.as_str()], ["INFORMATION_SCHEMA"]] } })
                    } else {
                        json!({ "success": true, "data": { "rowtype": [], "rowset": [] } })
                    })
                }
            }),
        );
    serve(app).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_the_missing_create_grants() {
    let sim = util::start(small_site(37)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("sf-token");
    std::fs::write(&token, "t").expect("token");
    let sf = jira_agile_sync::config::SnowflakeConfig {
        database: "DB".into(),
        schema: "JIRA".into(),
        role: "SYNC_ROLE".into(),
        warehouse: "WH".into(),
        auth: jira_agile_sync::config::SnowflakeAuth::ManagedToken {
            account: None,
            token_file: token,
        },
        base_url: mock_without_create_rights("JIRA").await,
        oversized_value_strategy: jira_agile_sync::config::OversizedValueStrategy::FailTable,
    };
    let inst = Install::with_snowflake(&sim.base_url(), &sf);

    let (code, out, err) = tokio::task::spawn_blocking(move || {
        let r = inst.run("check", None, &[]);
        drop(inst);
        r
    })
    .await
    .expect("check ran");
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(out.contains("ok   snowflake schema"), "{out}");
    for privilege in ["CREATE TABLE", "CREATE STAGE"] {
        assert!(
            out.contains(&format!(
                "grant {privilege} ON SCHEMA \"DB\".\"JIRA\" TO ROLE \"SYNC_ROLE\""
            )),
            "{privilege}: {out}"
        );
    }
    sim.shutdown().await;
}
