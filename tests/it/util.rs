//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::Array;
use arrow_schema::DataType;
use jira_agile_sync::config::{Config, IngestionConfig, JiraConfig, Secret};
use jira_agile_sync::pipeline::{self, RunSummary, SyncOptions};
use jira_agile_sync::schema::{ColumnType, Table};
use jira_agile_sync::simulator::{ExpectedTables, SimAuth, Simulator, Site};

pub(crate) type Rows = Vec<BTreeMap<String, serde_json::Value>>;

pub(crate) const EMAIL: &str = "tester@example.com";
pub(crate) const TOKEN: &str = "tok-Sup3rSecret-7f3a";

pub(crate) fn auth() -> SimAuth {
    SimAuth {
        email: EMAIL.into(),
        token: TOKEN.into(),
    }
}

pub(crate) async fn start(site: Site) -> Simulator {
    Simulator::start(site, auth())
        .await
        .expect("simulator starts")
}

pub(crate) fn config(base_url: &str, data_dir: &Path) -> Config {
    Config {
        data_dir: data_dir.to_path_buf(),
        jira: Some(JiraConfig {
            environment_url: jira_agile_sync::config::parse_base_url(
                "jira.environment_url",
                base_url,
            )
            .expect("url"),
            email: EMAIL.into(),
            api_token: Secret::new(TOKEN.into()),
            request_timeout: Duration::from_secs(5),
            max_retries: 3,
            max_retry_wait: Duration::from_secs(10),
            ca_file: None,
        }),
        ingestion: IngestionConfig::default(),
        snowflake: None,
    }
}

pub(crate) fn opts() -> SyncOptions {
    SyncOptions {
        backoff_base: Some(Duration::from_millis(5)),
        ..SyncOptions::default()
    }
}

/// One sync in-process: lock, store, run; the store is closed afterwards.
pub(crate) async fn sync(cfg: &Config) -> pipeline::Result<RunSummary> {
    let (dd, lock, store) = pipeline::open_writer(cfg)?;
    let r = pipeline::sync(cfg, &store, &dd, &opts()).await;
    drop(store);
    drop(lock);
    r
}

/// Read a current table file into rows in the simulator's expected-row convention, sorted by key.
pub(crate) fn read_table(dir: &Path, table: Table) -> Rows {
    read_parquet(
        &dir.join("tables").join(format!("{}.parquet", table.name())),
        table,
    )
}

pub(crate) fn read_parquet(path: &Path, table: Table) -> Rows {
    let batches = jira_agile_sync::materialize::read_file(path).expect("read parquet");
    let def = table.def();
    let mut rows = Vec::new();
    for b in batches {
        for i in 0..b.num_rows() {
            let mut row = BTreeMap::new();
            for c in &def.columns {
                let col = b.column_by_name(&c.name).expect("column present");
                let v = if col.is_null(i) {
                    serde_json::Value::Null
                } else {
                    match c.ty {
                        ColumnType::Number => col.as_primitive::<Int64Type>().value(i).into(),
                        ColumnType::Varchar => col.as_string::<i32>().value(i).into(),
                        ColumnType::Variant => {
                            serde_json::from_str(col.as_string::<i32>().value(i))
                                .expect("VARIANT holds JSON text")
                        }
                        ColumnType::Boolean => col.as_boolean().value(i).into(),
                        ColumnType::Float => col.as_primitive::<Float64Type>().value(i).into(),
                        ColumnType::TimestampTz => {
                            assert_eq!(
                                col.data_type(),
                                &DataType::Timestamp(
                                    arrow_schema::TimeUnit::Microsecond,
                                    Some("UTC".into())
                                )
                            );
                            col.as_primitive::<TimestampMicrosecondType>()
                                .value(i)
                                .into()
                        }
                    }
                };
                row.insert(c.name.clone(), v);
            }
            rows.push(row);
        }
    }
    sort_rows(table, &mut rows);
    rows
}

pub(crate) fn key_of(table: Table, row: &BTreeMap<String, serde_json::Value>) -> Vec<i64> {
    table
        .def()
        .key
        .iter()
        .map(|k| row.get(k).and_then(|v| v.as_i64()).expect("key column"))
        .collect()
}

pub(crate) fn sort_rows(table: Table, rows: &mut Rows) {
    rows.sort_by_key(|r| key_of(table, r));
}

/// Expected rows of one table, sorted by key.
pub(crate) fn expected(exp: &ExpectedTables, table: Table) -> Rows {
    let mut rows = exp.get(table.name()).cloned().unwrap_or_default();
    sort_rows(table, &mut rows);
    rows
}

/// Assert every table equals the simulator's model, with a readable first difference.
pub(crate) fn assert_tables_match(dir: &Path, exp: &ExpectedTables, tables: &[Table]) {
    for &t in tables {
        let got = read_table(dir, t);
        let want = expected(exp, t);
        assert_eq!(got.len(), want.len(), "{t}: row count differs");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w, "{t}: first differing row");
        }
    }
}

pub(crate) fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_jira-agile-sync"))
}

pub(crate) fn venv_python() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if p.exists() {
        Some(p)
    } else if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true but .venv is missing: run scripts/setup-test-env.sh");
    } else {
        eprintln!("skipped: .venv missing (run scripts/setup-test-env.sh)");
        None
    }
}
