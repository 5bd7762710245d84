//! Crashes between load steps (DESIGN.md section 7, "Load"): the real binary runs against the
//! simulator and fakesnow on 127.0.0.1 with a failpoint that exits 99 between two steps; a rerun
//! without it must leave Snowflake equal to the local tables, with nothing merged twice and no
//! file skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use jira_agile_sync::config::SnowflakeConfig;
use jira_agile_sync::destination::snowflake::sql::journal_table_name;
use jira_agile_sync::destination::snowflake::testkit::FakeSnow;
use jira_agile_sync::destination::snowflake::SnowflakeClient;
use jira_agile_sync::pipeline::{DataDir, Status};
use jira_agile_sync::schema::Table;
use jira_agile_sync::simulator::{Simulator, Site, SiteSpec};

use crate::snowflake::{assert_destination_matches_local, snowflake_config};
use crate::util;

/// One installation: its data directory, config file and destination database.
pub(crate) struct Install {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) config: PathBuf,
    pub(crate) sf: SnowflakeConfig,
}

impl Install {
    pub(crate) fn new(fs: &FakeSnow, jira_url: &str) -> Install {
        let dir = tempfile::tempdir().expect("tempdir");
        let sf = snowflake_config(fs, dir.path());
        let config = dir.path().join("jira-agile-sync.toml");
        write_config(&config, jira_url, &sf);
        Install { dir, config, sf }
    }

    /// An installation with its own data directory loading into `sf` (shared with another).
    pub(crate) fn with_snowflake(jira_url: &str, sf: &SnowflakeConfig) -> Install {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("jira-agile-sync.toml");
        write_config(&config, jira_url, sf);
        Install {
            dir,
            config,
            sf: sf.clone(),
        }
    }

    pub(crate) fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Run the binary's `sync` (with a failpoint, when given); returns exit code and stderr.
    pub(crate) fn sync(&self, failpoint: Option<&str>, extra: &[&str]) -> (i32, String) {
        let (code, _, err) = self.run("sync", failpoint, extra);
        (code, err)
    }

    /// Run one command of the binary; returns exit code, stdout and stderr.
    pub(crate) fn run(
        &self,
        command: &str,
        failpoint: Option<&str>,
        extra: &[&str],
    ) -> (i32, String, String) {
        let mut cmd = Command::new(util::bin());
        cmd.arg("--config")
            .arg(&self.config)
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(extra)
            .arg(command)
            .current_dir(self.dir.path());
        for var in [
            "JIRA_ENVIRONMENT_URL",
            "JIRA_EMAIL",
            "JIRA_API_TOKEN",
            "JIRA_AGILE_SYNC_DATA_DIR",
            "SNOWFLAKE_ACCOUNT",
            "SNOWFLAKE_HOST",
            "RUST_LOG",
            "JIRA_AGILE_SYNC_FAILPOINT",
        ] {
            cmd.env_remove(var);
        }
        if let Some(fp) = failpoint {
            cmd.env("JIRA_AGILE_SYNC_FAILPOINT", fp);
        }
        let out = cmd.output().expect("binary runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// A sync that must succeed.
    pub(crate) fn sync_ok(&self) {
        let (code, err) = self.sync(None, &[]);
        assert_eq!(code, 0, "sync should succeed: {err}");
    }
}

fn write_config(path: &Path, jira_url: &str, sf: &SnowflakeConfig) {
    let text = format!(
        "[jira]\nenvironment_url = {:?}\nemail = {:?}\napi_token = {:?}\n\
         request_timeout = \"5s\"\nmax_retries = 2\n\n{}",
        jira_url,
        util::EMAIL,
        util::TOKEN,
        util::fakesnow_toml(sf)
    );
    std::fs::write(path, text).expect("config file");
}

/// Rows of `SELECT COUNT(*) ...` as a number.
pub(crate) async fn count(client: &SnowflakeClient, sql: &str) -> i64 {
    let r = client.query(sql).await.expect("count query");
    r.rows
        .first()
        .and_then(|row| row.first().cloned().flatten())
        .and_then(|c| c.parse::<f64>().ok())
        .map(|f| f as i64)
        .expect("a count")
}

pub(crate) fn qualify(sf: &SnowflakeConfig, name: &str) -> String {
    format!("\"{}\".\"{}\".\"{name}\"", sf.database, sf.schema)
}

/// The highest `_SEQ` in the local journal files of `table`, if any.
fn local_max_seq(data_dir: &Path, table: Table) -> Option<i64> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    let folder = data_dir.join("journal").join(table.name());
    let mut max = None;
    for entry in std::fs::read_dir(folder).ok()? {
        let path = entry.expect("journal entry").path();
        for b in jira_agile_sync::materialize::read_file(&path).expect("journal file") {
            let seq = b.column_by_name("_SEQ").expect("_SEQ column");
            let m = max_of(seq.as_primitive::<Int64Type>());
            max = max.max(m);
        }
    }
    max
}

fn max_of(a: &arrow_array::PrimitiveArray<arrow_array::types::Int64Type>) -> Option<i64> {
    a.iter().flatten().max()
}

/// Merged `_SEQ` per table, and how many state rows each table has.
pub(crate) async fn merged_seqs(
    client: &SnowflakeClient,
    sf: &SnowflakeConfig,
) -> Vec<(String, i64)> {
    let r = client
        .query(&format!(
            "SELECT \"NAME\", \"MERGED_SEQ\" FROM {} WHERE \"NAME\" <> '_DESTINATION' \
             ORDER BY \"NAME\"",
            qualify(sf, "_JAS_STATE")
        ))
        .await
        .expect("read _JAS_STATE");
    r.rows
        .into_iter()
        .map(|row| {
            let name = row[0].clone().expect("NAME");
            let text = row[1].clone().expect("MERGED_SEQ");
            let seq = text
                .parse::<i64>()
                .unwrap_or_else(|_| panic!("MERGED_SEQ {text:?} is an exact integer"));
            (name, seq)
        })
        .collect()
}

/// After a successful load: Snowflake equals the local tables and the simulator, the journal
/// tables are empty, no key is duplicated, the outbox is empty and every local journal row is
/// at or below the merged `_SEQ` (so no file was skipped).
pub(crate) async fn assert_loaded_consistently(inst: &Install, sim: &Simulator, case: &str) {
    let sf = &inst.sf;
    let data = inst.data_dir();
    util::assert_tables_match(&data, &sim.expected_rows(), &Table::ALL);
    assert_destination_matches_local(sf, &data).await;

    let client = SnowflakeClient::new(sf).expect("client");
    for t in Table::ALL {
        let journal = qualify(sf, &journal_table_name(t));
        assert_eq!(
            count(&client, &format!("SELECT COUNT(*) FROM {journal}")).await,
            0,
            "{case}: {journal} is empty after a successful load"
        );
        let keys: Vec<String> = t.def().key.iter().map(|k| format!("\"{k}\"")).collect();
        let dups = client
            .query(&format!(
                "SELECT {k}, COUNT(*) FROM {} GROUP BY {k} HAVING COUNT(*) > 1",
                qualify(sf, t.name()),
                k = keys.join(", ")
            ))
            .await
            .expect("duplicate query");
        assert!(dups.rows.is_empty(), "{case}: {t} has duplicated keys");
    }

    let merged = merged_seqs(&client, sf).await;
    for t in Table::ALL {
        let rows: Vec<&(String, i64)> = merged.iter().filter(|(n, _)| n == t.name()).collect();
        assert_eq!(
            rows.len(),
            1,
            "{case}: one _JAS_STATE row for {t}: {merged:?}"
        );
        if let Some(max) = local_max_seq(&data, t) {
            assert!(
                rows[0].1 >= max,
                "{case}: {t} merged {} but a local journal row has _SEQ {max}",
                rows[0].1
            );
        }
    }

    let status = Status::read(&DataDir::new(&data)).expect("status");
    assert_eq!(status.outbox.files, 0, "{case}: outbox empty");
    assert_eq!(status.last_load.status.as_deref(), Some("ok"), "{case}");
}

pub(crate) fn small_site(seed: u64) -> Site {
    Site::generate(&SiteSpec {
        seed,
        boards: 6,
        issues_per_board: 6,
        ..SiteSpec::demo()
    })
}

/// Edits touching several tables: a rename, an issue move, a new sprint.
fn edit_site(sim: &Simulator, tag: &str) {
    sim.edit(|s| {
        let ids: Vec<i64> = s.boards().map(|b| b.id).collect();
        s.rename_board(ids[0], &format!("renamed {tag}"));
        let with_issues: Vec<(i64, i64)> = s
            .boards()
            .filter_map(|b| b.issues.first().map(|i| (b.id, *i)))
            .collect();
        if with_issues.len() >= 2 {
            s.move_issue(with_issues[0].1, with_issues[0].0, with_issues[1].0);
        }
        s.add_sprint(
            ids[ids.len() - 1],
            jira_agile_sync::simulator::SprintState::Future,
            &format!("sprint {tag}"),
        );
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_during_first_load_then_rerun_loads_every_row_once() {
    let Some(fs) = FakeSnow::start() else { return };
    let sim = util::start(small_site(21)).await;

    // (failpoint, edit the site between the crash and the rerun)
    let cases = [
        ("after_put", false),
        ("after_copy:3", true),
        ("after_merge", false),
        ("after_snapshot_delete:2", true),
        ("after_record", false),
        ("before_journal", false),
        ("before_tables", false),
    ];
    for (i, (failpoint, edit)) in cases.into_iter().enumerate() {
        let inst = Install::new(&fs, &sim.base_url());
        let (code, err) = inst.sync(Some(failpoint), &[]);
        assert_eq!(
            code, 99,
            "{failpoint}: the failpoint stops the process: {err}"
        );
        if edit {
            edit_site(&sim, &format!("first {i}"));
        }
        inst.sync_ok();
        assert_loaded_consistently(&inst, &sim, failpoint).await;
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_during_incremental_load_then_rerun_loads_every_row_once() {
    let Some(fs) = FakeSnow::start() else { return };
    let sim = util::start(small_site(22)).await;

    let cases = [
        ("after_put", true),
        ("after_copy:2", false),
        ("after_merge:2", true),
        ("after_record", true),
        ("before_journal", false),
        ("before_tables", false),
    ];
    for (i, (failpoint, edit)) in cases.into_iter().enumerate() {
        let inst = Install::new(&fs, &sim.base_url());
        inst.sync_ok();
        assert_loaded_consistently(&inst, &sim, "first load").await;

        edit_site(&sim, &format!("before {i}"));
        let (code, err) = inst.sync(Some(failpoint), &[]);
        assert_eq!(
            code, 99,
            "{failpoint}: the failpoint stops the process: {err}"
        );
        if edit {
            edit_site(&sim, &format!("after {i}"));
        }
        inst.sync_ok();
        assert_loaded_consistently(&inst, &sim, failpoint).await;
    }
    sim.shutdown().await;
}
