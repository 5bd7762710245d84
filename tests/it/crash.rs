//! Crash anywhere: the binary's `sync` (with the Snowflake load) is killed at many distinct
//! points, by failpoints (`JIRA_AGILE_SYNC_FAILPOINT=<name>:<n>`, so one point is hit at
//! different boards, files and tables) and by SIGKILL after a random delay. After every few
//! kills a plain rerun must leave the local tables and the Snowflake tables equal to those of a
//! run that was never interrupted, the Snowflake journal tables empty, no key twice in a
//! destination table, and no `_SEQ` in two journal rows ever written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use jira_agile_sync::config::{Config, SnowflakeConfig};
use jira_agile_sync::destination::snowflake::testkit::FakeSnow;
use jira_agile_sync::destination::snowflake::SnowflakeClient;
use jira_agile_sync::pipeline;
use jira_agile_sync::schema::Table;
use jira_agile_sync::simulator::Simulator;
use rand::Rng;

use crate::snowflake::{read_snowflake, snowflake_config};
use crate::util::{self, read_table, run_bin, Rows};

/// Where a kill lands: a failpoint with its hit count, or a SIGKILL after a random delay.
#[derive(Debug, Clone, Copy)]
enum Kill {
    At(&'static str, usize),
    Random,
}

use Kill::{At, Random};

/// Every `_SEQ` of every journal file ever seen in the data directory, by file.
#[derive(Default)]
struct SeqLedger {
    files: BTreeMap<PathBuf, Vec<i64>>,
}

impl SeqLedger {
    /// Read the journal files now present; a name seen before must hold the same rows.
    fn scan(&mut self, data: &Path) {
        for t in Table::ALL {
            for path in util::journal_files(data, t) {
                let seqs: Vec<i64> = util::read_parquet(&path, t)
                    .iter()
                    .map(|r| r["_SEQ"].as_i64().expect("_SEQ"))
                    .collect();
                let known = self.files.entry(path.clone()).or_insert(seqs.clone());
                assert_eq!(known, &seqs, "{}: one name, two contents", path.display());
            }
        }
    }

    /// Every `_SEQ` was used by one journal row only; returns how many were seen.
    fn assert_unique(&self) -> usize {
        let mut seen = BTreeMap::new();
        for (path, seqs) in &self.files {
            for s in seqs {
                if let Some(other) = seen.insert(*s, path) {
                    panic!("_SEQ {s} in {} and in {}", other.display(), path.display());
                }
            }
        }
        seen.len()
    }
}

struct Harness {
    sim: Simulator,
    conf: PathBuf,
    data: PathBuf,
    sf: SnowflakeConfig,
    reference: Config,
    ledger: SeqLedger,
    /// Kills that happened, per step (failpoint name, or `random`).
    kills: BTreeMap<String, usize>,
    /// Kills not reached because the run ended first.
    missed: Vec<String>,
    rows_compared: usize,
    /// How long an uninterrupted sync with its load takes: bounds the random kill delays.
    full_run: Duration,
}

/// The binary's config: the simulator, fakesnow with the token strategy, retention high enough
/// that every journal file written stays for the `_SEQ` check.
fn write_config(dir: &Path, base_url: &str, sf: &SnowflakeConfig) -> PathBuf {
    let path = dir.join("crash.toml");
    let text = format!(
        "[jira]\nenvironment_url = \"{base_url}\"\nemail = \"{}\"\napi_token = \"{}\"\n\
         request_timeout = \"60s\"\n\n[ingestion]\nkeep_runs = 100000\nmax_concurrency = 2\n\n{}",
        util::EMAIL,
        util::TOKEN,
        util::fakesnow_toml(sf)
    );
    std::fs::write(&path, text).expect("write config");
    path
}

fn command(conf: &Path, data: &Path, failpoint: Option<&str>) -> std::process::Command {
    let mut cmd = util::command(conf, data, failpoint);
    for var in [
        "SNOWFLAKE_ACCOUNT",
        "SNOWFLAKE_HOST",
        "SNOWFLAKE_PRIVATE_KEY",
        "SNOWFLAKE_PRIVATE_KEY_PASSWORD",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

impl Harness {
    async fn start(fs: &FakeSnow, tmp: &Path) -> Harness {
        let sim = util::start(util::site(11, 6, 6)).await;
        let data = tmp.join("data");
        let sf = snowflake_config(fs, tmp);
        let conf = write_config(tmp, &sim.base_url(), &sf);
        let mut reference = util::config(&sim.base_url(), &tmp.join("reference"));
        reference.ingestion.keep_runs = 100_000;
        reference.snowflake = Some(snowflake_config(fs, tmp));
        Harness {
            sim,
            conf,
            data,
            sf,
            reference,
            ledger: SeqLedger::default(),
            kills: BTreeMap::new(),
            missed: Vec::new(),
            rows_compared: 0,
            full_run: Duration::from_secs(1),
        }
    }

    /// One killed (or, when the point is not reached, finished) `sync`.
    async fn kill(&mut self, kill: Kill) {
        match kill {
            At(point, n) => {
                let fp = format!("{point}:{n}");
                let cmd = command(&self.conf, &self.data, Some(&fp));
                let (code, out, err) = run_bin(cmd, &["sync"]).await;
                match code {
                    99 => *self.kills.entry(point.to_string()).or_default() += 1,
                    0 => self.missed.push(fp),
                    _ => panic!("{fp}: exit {code}\n{out}{err}"),
                }
            }
            Random => {
                // The last fifth of a run is mostly process exit: kills there rarely land.
                let max = (self.full_run.as_millis() * 4 / 5).max(1) as u64;
                let delay = rand::rng().random_range(0..max);
                let mut child = command(&self.conf, &self.data, None)
                    .arg("sync")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("spawn");
                tokio::time::sleep(Duration::from_millis(delay)).await;
                // Child::kill sends SIGKILL to this child's PID; it fails harmlessly when the
                // child has finished already.
                let killed = child.kill().is_ok();
                let status = tokio::task::spawn_blocking(move || child.wait())
                    .await
                    .expect("join")
                    .expect("wait");
                match status.code() {
                    None if killed => *self.kills.entry("random".into()).or_default() += 1,
                    Some(0) => self.missed.push(format!("random after {delay} ms")),
                    other => panic!("random kill: unexpected exit {other:?}"),
                }
            }
        }
        self.ledger.scan(&self.data);
    }

    /// A plain rerun, then an uninterrupted reference run, then every check.
    async fn rerun_and_compare(&mut self) {
        let started = Instant::now();
        let (code, out, err) = run_bin(command(&self.conf, &self.data, None), &["sync"]).await;
        assert_eq!(code, 0, "rerun after kills: {out}{err}");
        self.full_run = started.elapsed();
        self.ledger.scan(&self.data);

        let summary = pipeline::sync_and_load(&self.reference, &util::opts())
            .await
            .expect("reference run");
        assert_eq!(summary.exit_code(), 0, "{:?}", summary.report.load_errors);
        let ref_sf = self
            .reference
            .snowflake
            .clone()
            .expect("reference snowflake");

        let expected = self.sim.expected_rows();
        for t in Table::ALL {
            let local = read_table(&self.data, t);
            assert_eq!(
                local,
                read_table(&self.reference.data_dir, t),
                "{t}: local table"
            );
            assert_eq!(local, util::expected(&expected, t), "{t}: local vs Jira");
            let remote = read_snowflake(&self.sf, t).await;
            assert_no_duplicate_keys(t, &remote);
            assert_eq!(remote, read_snowflake(&ref_sf, t).await, "{t}: Snowflake");
            assert_eq!(remote, local, "{t}: Snowflake vs local");
            assert_eq!(journal_rows(&self.sf, t).await, 0, "{t}: journal table");
            self.rows_compared += local.len();
        }
        self.ledger.assert_unique();
    }
}

fn assert_no_duplicate_keys(table: Table, rows: &Rows) {
    let keys: BTreeSet<Vec<i64>> = rows.iter().map(|r| util::key_of(table, r)).collect();
    assert_eq!(keys.len(), rows.len(), "{table}: a key twice in Snowflake");
}

async fn journal_rows(sf: &SnowflakeConfig, table: Table) -> i64 {
    let client = SnowflakeClient::new(sf).expect("client");
    let sql = format!(
        "SELECT COUNT(*) FROM \"{}\".\"{}\".\"_JAS_JOURNAL_{}\"",
        sf.database,
        sf.schema,
        table.name()
    );
    let r = client.query(&sql).await.expect("count");
    r.rows[0][0]
        .as_deref()
        .and_then(|n| n.parse().ok())
        .expect("a count")
}

/// Jira edits before a round, different each round, so every table changes now and then and the
/// loads are incremental (a deleted board and issue, a move, a closed sprint included).
fn edit_site(sim: &Simulator, round: usize) {
    sim.edit(|s| {
        let boards: Vec<i64> = s.boards().filter(|b| !b.hidden).map(|b| b.id).collect();
        for id in boards.iter().skip(round % 2).step_by(2) {
            s.rename_board(*id, &format!("board {id} round {round}"));
        }
        let issues: Vec<(i64, i64)> = s
            .boards()
            .filter(|b| !b.hidden)
            .flat_map(|b| b.issues.iter().map(move |i| (b.id, *i)))
            .collect();
        for (_, issue) in issues.iter().skip(round).step_by(5) {
            s.update_issue(*issue, |i| i.flagged = !i.flagged);
        }
        let sprints: Vec<i64> = s.boards().flat_map(|b| b.sprints.clone()).collect();
        if let Some(sp) = sprints.get(round % sprints.len().max(1)) {
            s.rename_sprint(*sp, &format!("sprint round {round}"));
        }
        match round {
            2 => {
                if let (Some(a), Some(b)) = (issues.first(), issues.last()) {
                    if a.0 != b.0 {
                        s.move_issue(a.1, a.0, b.0);
                    }
                }
            }
            3 => {
                if let Some((_, i)) = issues.get(3) {
                    s.delete_issue(*i);
                }
                if let Some(sp) = sprints.first() {
                    s.close_sprint(*sp);
                }
            }
            4 => {
                if let Some(b) = boards.last() {
                    s.delete_board(*b);
                }
            }
            _ => {}
        }
    });
}

/// The kills of each round, in the order a run meets their steps and with hit counts within
/// what is left to do, so most are reached; random kills come last in a round because one that
/// lands after the load leaves nothing for the points after it. Round 0 is the first load (a
/// snapshot of every table); later rounds follow an edit.
fn plan() -> Vec<Vec<Kill>> {
    vec![
        vec![
            At("after_page_fetched", 2),
            At("before_board_commit", 1),
            At("before_journal_record", 3),
            At("before_file_rename", 2),
            At("mid_table_rewrite", 4),
            At("before_put", 2),
            At("after_copy", 2),
            At("after_merge", 1),
            At("after_snapshot_delete", 1),
            At("after_record", 1),
            Random,
        ],
        vec![
            At("after_page_fetched", 5),
            At("before_page_diff", 3),
            At("before_board_flush", 1),
            At("before_journal", 1),
            At("before_journal_record", 1),
            At("before_tables", 1),
            At("after_put", 1),
            At("before_merge", 2),
            At("before_record_state", 1),
            At("before_outbox_leave", 1),
            Random,
        ],
        vec![
            At("before_page_diff", 1),
            At("after_board_commit", 2),
            At("before_file_rename", 1),
            At("before_journal_record", 2),
            At("mid_table_rewrite", 1),
            At("before_put", 1),
            At("after_put", 2),
            At("after_copy", 1),
            At("after_merge", 1),
            At("after_record", 1),
            Random,
        ],
        vec![
            At("after_page_fetched", 1),
            At("before_board_commit", 3),
            At("before_board_flush", 2),
            At("before_journal", 1),
            At("before_file_rename", 3),
            At("before_tables", 1),
            At("before_put", 2),
            At("before_merge", 1),
            At("before_record_state", 1),
            At("before_outbox_leave", 1),
            Random,
        ],
        vec![
            At("after_board_commit", 1),
            At("before_page_diff", 2),
            At("before_journal_record", 1),
            At("mid_table_rewrite", 2),
            At("after_copy", 2),
            At("after_merge", 1),
            At("before_record_state", 1),
            At("after_record", 1),
            Random,
            Random,
        ],
        vec![
            At("after_page_fetched", 3),
            At("before_board_flush", 3),
            At("before_journal_record", 1),
            At("before_file_rename", 2),
            At("after_put", 1),
            At("before_outbox_leave", 1),
            Random,
            Random,
        ],
        vec![
            At("before_board_commit", 2),
            At("after_board_commit", 3),
            At("before_journal", 1),
            At("mid_table_rewrite", 1),
            At("before_put", 1),
            At("after_copy", 1),
            At("before_merge", 1),
            At("after_merge", 2),
            At("before_record_state", 1),
            At("after_record", 1),
            Random,
        ],
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_anywhere_then_rerun_equals_uninterrupted_run_locally_and_in_snowflake() {
    let Some(fs) = FakeSnow::start() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut h = Harness::start(&fs, tmp.path()).await;
    let started = Instant::now();

    for (round, kills) in plan().into_iter().enumerate() {
        if round > 0 {
            edit_site(&h.sim, round);
        }
        for k in kills {
            h.kill(k).await;
        }
        h.rerun_and_compare().await;
    }

    let total: usize = h.kills.values().sum();
    let seqs = h.ledger.assert_unique();
    let by_step: Vec<String> = h.kills.iter().map(|(k, n)| format!("{k}={n}")).collect();
    println!(
        "crash summary: {total} kill points ({}), not reached: {:?}, {} rows compared, \
         {seqs} _SEQ values in {} journal files unique, {:.0}s",
        by_step.join(" "),
        h.missed,
        h.rows_compared,
        h.ledger.files.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        total >= 50,
        "only {total} kill points exercised: {by_step:?}"
    );
    h.sim.shutdown().await;
}
