//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
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

/// A generated site of `boards` boards with about `issues_per_board` issues each.
pub(crate) fn site(seed: u64, boards: usize, issues_per_board: usize) -> Site {
    Site::generate(&jira_agile_sync::simulator::SiteSpec {
        seed,
        boards,
        issues_per_board,
        ..jira_agile_sync::simulator::SiteSpec::demo()
    })
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
            // Journal files also carry `_OP` and `_SEQ`.
            if let Some(op) = b.column_by_name("_OP") {
                row.insert("_OP".into(), op.as_string::<i32>().value(i).into());
            }
            if let Some(seq) = b.column_by_name("_SEQ") {
                row.insert(
                    "_SEQ".into(),
                    seq.as_primitive::<Int64Type>().value(i).into(),
                );
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

/// Rows from literal JSON objects, sorted by the table's key.
pub(crate) fn rows(table: Table, objects: serde_json::Value) -> Rows {
    let mut out: Rows = objects
        .as_array()
        .expect("an array of rows")
        .iter()
        .map(|o| {
            o.as_object()
                .expect("a row object")
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<BTreeMap<String, serde_json::Value>>()
        })
        .collect();
    sort_rows(table, &mut out);
    out
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

/// Journal files of a table, in `_SEQ` order (their names are their first `_SEQ`).
pub(crate) fn journal_files(dir: &Path, table: Table) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir.join("journal").join(table.name())) else {
        return Vec::new();
    };
    let mut files: Vec<(i64, PathBuf)> = rd
        .flatten()
        .map(|e| e.path())
        .filter_map(|p| {
            let seq = p.file_stem()?.to_str()?.parse().ok()?;
            (p.extension()? == "parquet").then_some((seq, p))
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, p)| p).collect()
}

/// Every journal file of every table.
pub(crate) fn all_journal_files(dir: &Path) -> Vec<PathBuf> {
    Table::ALL
        .into_iter()
        .flat_map(|t| journal_files(dir, t))
        .collect()
}

/// Journal rows (with `_OP` and `_SEQ`) of a table's files not in `skip`.
pub(crate) fn journal_rows_except(dir: &Path, table: Table, skip: &[PathBuf]) -> Rows {
    journal_files(dir, table)
        .into_iter()
        .filter(|p| !skip.contains(p))
        .flat_map(|p| read_parquet(&p, table))
        .collect()
}

/// Every journal row of every table without `_SEQ` (and `_CHANGED_AT`, never read), sorted:
/// what two runs must agree on whatever their timing, sequence values and file names.
pub(crate) fn journal_contents(dir: &Path) -> BTreeMap<Table, Vec<String>> {
    Table::ALL
        .into_iter()
        .map(|t| {
            let mut rows: Vec<String> = journal_rows_except(dir, t, &[])
                .into_iter()
                .map(|mut r| {
                    r.remove("_SEQ");
                    serde_json::to_string(&r).expect("json")
                })
                .collect();
            rows.sort();
            (t, rows)
        })
        .collect()
}

/// Assert that two data directories hold the same current tables and journal rows.
pub(crate) fn assert_same_data(got: &Path, want: &Path) {
    for t in Table::ALL {
        assert_eq!(
            read_table(got, t),
            read_table(want, t),
            "{t}: tables differ"
        );
    }
    let (g, w) = (journal_contents(got), journal_contents(want));
    for t in Table::ALL {
        assert_eq!(g[&t].len(), w[&t].len(), "{t}: journal row count differs");
        assert_eq!(g[&t], w[&t], "{t}: journal rows differ");
    }
}

/// A config file for the binary: the simulator's URL and credentials plus `ingestion` lines.
pub(crate) fn write_config(dir: &Path, base_url: &str, ingestion: &str) -> PathBuf {
    let path = dir.join("jira-agile-sync.toml");
    let text = format!(
        "[jira]\nenvironment_url = \"{base_url}\"\nemail = \"{EMAIL}\"\n\
         api_token = \"{TOKEN}\"\nrequest_timeout = \"120s\"\n\n[ingestion]\n{ingestion}\n"
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// The `[snowflake]` section of a config file for fakesnow with the token strategy (`{:?}` of
/// these plain strings is a valid TOML basic string).
pub(crate) fn fakesnow_toml(sf: &jira_agile_sync::config::SnowflakeConfig) -> String {
    let jira_agile_sync::config::SnowflakeAuth::ManagedToken { token_file, .. } = &sf.auth else {
        panic!("tests use the token strategy for fakesnow");
    };
    format!(
        "[snowflake]\nauthentication_strategy = \"SNOWFLAKE_MANAGED_TOKEN\"\ntoken_file = {:?}\n\
         base_url = {:?}\ndatabase = {:?}\nschema = {:?}\nrole = {:?}\nwarehouse = {:?}\n",
        token_file.display().to_string(),
        sf.base_url.as_str(),
        sf.database,
        sf.schema,
        sf.role,
        sf.warehouse
    )
}

/// The binary with a config file and data directory, a clean environment, and an optional
/// failpoint (`JIRA_AGILE_SYNC_FAILPOINT`).
pub(crate) fn command(config: &Path, data_dir: &Path, failpoint: Option<&str>) -> Command {
    let mut cmd = Command::new(bin());
    cmd.arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("-q")
        .env_remove("JIRA_ENVIRONMENT_URL")
        .env_remove("JIRA_EMAIL")
        .env_remove("JIRA_API_TOKEN")
        .env_remove("JIRA_AGILE_SYNC_DATA_DIR")
        .env_remove("JIRA_AGILE_SYNC_FAILPOINT");
    if let Some(fp) = failpoint {
        cmd.env("JIRA_AGILE_SYNC_FAILPOINT", fp);
    }
    cmd
}

/// Run the binary to its end off the async runtime (the simulator keeps serving meanwhile):
/// (exit code, stdout, stderr).
pub(crate) async fn run_bin(mut cmd: Command, args: &[&str]) -> (i32, String, String) {
    cmd.args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The newest run report as JSON.
pub(crate) fn last_report(dir: &Path) -> serde_json::Value {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir.join("runs"))
        .expect("runs/")
        .flatten()
        .map(|e| e.path())
        .collect();
    names.sort();
    let last = names.last().expect("a run report");
    serde_json::from_slice(&std::fs::read(last).expect("read report")).expect("report json")
}
