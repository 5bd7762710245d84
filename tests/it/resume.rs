//! Crashes and reruns, the writer lock, `status` during a run, `resume_max_age`, `reset`,
//! `keep_runs`: the binary runs as a child process against a simulator on 127.0.0.1.

use std::path::Path;
use std::time::Duration;

use jira_agile_sync::schema::Table;
use jira_agile_sync::simulator::{Simulator, Site, SiteSpec};
use jira_agile_sync::state::Store;
use rand::Rng;

use crate::util::{self, assert_same_data, assert_tables_match, read_table, run_bin};

fn spec(boards: usize) -> SiteSpec {
    SiteSpec {
        seed: 5,
        boards,
        issues_per_board: 25,
        ..SiteSpec::demo()
    }
}

fn visible_boards(sim: &Simulator) -> Vec<i64> {
    sim.site()
        .boards()
        .filter(|b| !b.hidden)
        .map(|b| b.id)
        .collect()
}

/// Boards the data directory's checkpoint marks as committed in the current run.
fn committed_boards(data: &Path) -> Vec<i64> {
    let store = Store::open(&data.join("state")).expect("open store");
    store
        .done_boards()
        .expect("done boards")
        .into_iter()
        .collect()
}

/// Rename a few boards and move nothing else: every run after it has something to journal.
fn rename_boards(sim: &Simulator, suffix: &str) {
    let ids = visible_boards(sim);
    sim.edit(|s| {
        for id in ids.iter().step_by(2) {
            s.rename_board(*id, &format!("board {id} {suffix}"));
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_sync_skips_committed_boards_and_equals_uninterrupted_run() {
    let sim = util::start(Site::generate(&spec(14))).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let conf = util::write_config(tmp.path(), &sim.base_url(), "");
    let (data, reference) = (tmp.path().join("data"), tmp.path().join("reference"));
    let ref_cfg = util::config(&sim.base_url(), &reference);

    for (round, n) in [(0, 3), (1, 2)] {
        if round > 0 {
            rename_boards(&sim, "renamed");
            sim.edit(|s| {
                let b = s
                    .boards()
                    .find(|b| !b.hidden && !b.issues.is_empty())
                    .cloned();
                if let Some(b) = b {
                    s.delete_issue(b.issues[0]);
                }
            });
        }

        // Interrupted after the n-th board commit.
        let fp = format!("after_board_commit:{n}");
        let (code, _, err) = run_bin(util::command(&conf, &data, Some(&fp)), &["sync"]).await;
        assert_eq!(code, 99, "{err}");
        let done = committed_boards(&data);
        assert_eq!(done.len(), n, "{done:?}");

        // The rerun fetches none of the committed boards again, and every other board.
        sim.reset_counts();
        let (code, _, err) = run_bin(util::command(&conf, &data, None), &["sync"]).await;
        assert_eq!(code, 0, "{err}");
        for id in visible_boards(&sim) {
            let requests = sim.request_count(&format!("/board/{id}/"));
            if done.contains(&id) {
                assert_eq!(
                    requests, 0,
                    "board {id} was committed before the interruption"
                );
            } else {
                assert!(requests > 0, "board {id} is fetched");
            }
        }
        let report = util::last_report(&data);
        assert_eq!(report["resumed"], true);
        assert_eq!(report["boards_skipped_done"], n as u64);

        // Same tables and journal rows as a run that was never interrupted.
        util::sync(&ref_cfg).await.expect("reference sync");
        assert_same_data(&data, &reference);
        assert_tables_match(&data, &sim.expected_rows(), &Table::ALL);
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_before_journal_or_tables_rerun_writes_the_files() {
    let sim = util::start(Site::generate(&spec(8))).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let conf = util::write_config(tmp.path(), &sim.base_url(), "");
    let data = tmp.path().join("data");
    let (code, _, err) = run_bin(util::command(&conf, &data, None), &["sync"]).await;
    assert_eq!(code, 0, "{err}");
    let board = visible_boards(&sim)[0];
    let name_of = |data: &Path| {
        read_table(data, Table::Board)
            .into_iter()
            .find(|r| r["ID"] == board)
            .map(|r| r["NAME"].clone())
    };

    for (point, name) in [
        ("before_journal", "first rename"),
        ("before_tables", "second rename"),
    ] {
        sim.edit(|s| s.rename_board(board, name));
        let files_before = util::journal_files(&data, Table::Board);
        let (code, _, err) = run_bin(util::command(&conf, &data, Some(point)), &["sync"]).await;
        assert_eq!(code, 99, "{point}: {err}");
        assert_ne!(
            name_of(&data),
            Some(name.into()),
            "{point}: table not yet rewritten"
        );
        let files_crashed = util::journal_files(&data, Table::Board);
        match point {
            "before_journal" => assert_eq!(files_crashed, files_before),
            _ => assert_eq!(files_crashed.len(), files_before.len() + 1),
        }

        let (code, _, err) = run_bin(util::command(&conf, &data, None), &["sync"]).await;
        assert_eq!(code, 0, "{point}: {err}");
        assert_eq!(
            name_of(&data),
            Some(name.into()),
            "{point}: rerun rewrites the table"
        );
        let new_rows = util::journal_rows_except(&data, Table::Board, &files_before);
        assert_eq!(
            new_rows.len(),
            1,
            "{point}: the rename journaled once: {new_rows:?}"
        );
        assert_eq!(new_rows[0]["NAME"], name);
        assert_eq!(new_rows[0]["_OP"], "U");
        assert_tables_match(&data, &sim.expected_rows(), &Table::ALL);
    }
    sim.shutdown().await;
}

/// Start a sync, SIGKILL it after a random delay up to `max`, and wait for it to die.
async fn sync_killed_at_random(conf: &Path, data: &Path, max: Duration) {
    let delay = rand::rng().random_range(0..max.as_millis().max(1) as u64);
    let mut child = util::command(conf, data, None)
        .arg("sync")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    tokio::time::sleep(Duration::from_millis(delay)).await;
    // The child may have finished already; kill then fails harmlessly.
    let _ = child.kill();
    tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_then_rerun_equals_uninterrupted_run() {
    let sim = util::start(Site::generate(&spec(16))).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let conf = util::write_config(tmp.path(), &sim.base_url(), "");
    let (data, reference, timing) = (
        tmp.path().join("data"),
        tmp.path().join("reference"),
        tmp.path().join("timing"),
    );
    let ref_cfg = util::config(&sim.base_url(), &reference);

    // How long a whole sync takes here bounds the random kill moments.
    let started = std::time::Instant::now();
    let (code, _, err) = run_bin(util::command(&conf, &timing, None), &["sync"]).await;
    assert_eq!(code, 0, "{err}");
    let full = started.elapsed();

    for round in 0..2 {
        if round > 0 {
            rename_boards(&sim, &format!("round {round}"));
        }
        for _ in 0..3 {
            sync_killed_at_random(&conf, &data, full).await;
        }
        let (code, _, err) = run_bin(util::command(&conf, &data, None), &["sync"]).await;
        assert_eq!(code, 0, "{err}");
        util::sync(&ref_cfg).await.expect("reference sync");
        assert_same_data(&data, &reference);
        assert_tables_match(&data, &sim.expected_rows(), &Table::ALL);
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_works_while_a_sync_holds_the_lock_and_a_second_writer_exits_2() {
    let sim = util::start(Site::generate(&spec(4))).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let conf = util::write_config(tmp.path(), &sim.base_url(), "");
    let data = tmp.path().join("data");
    let board = visible_boards(&sim)[0];
    let stalled = format!("/board/{board}/configuration");
    sim.faults().stall(&stalled, Duration::from_secs(600), 1);

    let mut child = util::command(&conf, &data, None)
        .arg("sync")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    // Wait (bounded) until the sync is inside its run: status says running and the stalled
    // request arrived.
    let mut running = false;
    for _ in 0..600 {
        let status: Option<serde_json::Value> = std::fs::read(data.join("status.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        if sim.request_count(&stalled) > 0
            && status.is_some_and(|s| s["last_run"]["status"] == "running")
        {
            running = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(running, "the sync reached its run");

    let (code, out, err) = run_bin(util::command(&conf, &data, None), &["status", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("status json");
    assert_eq!(v["last_run"]["status"], "running");
    for k in ["id", "started_at", "finished_at", "status"] {
        assert!(v["last_run"].get(k).is_some(), "last_run.{k}: {out}");
    }
    for k in ["files", "rows"] {
        assert!(v["outbox"].get(k).is_some(), "outbox.{k}: {out}");
    }
    for k in ["at", "status"] {
        assert!(v["last_load"].get(k).is_some(), "last_load.{k}: {out}");
    }
    assert!(
        v["tables"].is_object() && v["failed_boards"].is_array(),
        "{out}"
    );
    let (code, out, err) = run_bin(util::command(&conf, &data, None), &["status"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("running"), "{out}");

    for cmd in ["sync", "reset"] {
        let (code, _, err) = run_bin(util::command(&conf, &data, None), &[cmd]).await;
        assert_eq!(code, 2, "{cmd}: {err}");
        assert!(
            err.contains("another jira-agile-sync process is writing"),
            "{cmd}: {err}"
        );
    }

    // The kernel drops the lock with the process; the next sync resumes and finishes.
    let _ = child.kill();
    tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    sim.faults().clear();
    let (code, _, err) = run_bin(util::command(&conf, &data, None), &["sync"]).await;
    assert_eq!(code, 0, "{err}");
    assert_tables_match(&data, &sim.expected_rows(), &Table::ALL);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_older_than_resume_max_age_starts_a_new_run_keeping_committed_changes() {
    let sim = util::start(Site::generate(&spec(10))).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let conf = util::write_config(tmp.path(), &sim.base_url(), "resume_max_age = \"0s\"");
    let data = tmp.path().join("data");
    let (code, _, err) = run_bin(util::command(&conf, &data, None), &["sync"]).await;
    assert_eq!(code, 0, "{err}");
    let files_before = util::journal_files(&data, Table::Board);

    // Every visible board renamed; two boards committed before the crash.
    let boards = visible_boards(&sim);
    sim.edit(|s| {
        for id in &boards {
            s.rename_board(*id, &format!("renamed {id}"));
        }
    });
    let (code, _, err) = run_bin(
        util::command(&conf, &data, Some("after_board_commit:2")),
        &["sync"],
    )
    .await;
    assert_eq!(code, 99, "{err}");
    assert_eq!(committed_boards(&data).len(), 2);

    // The rerun does not continue the old run: every board is fetched again.
    sim.reset_counts();
    let (code, _, err) = run_bin(util::command(&conf, &data, None), &["sync"]).await;
    assert_eq!(code, 0, "{err}");
    let report = util::last_report(&data);
    assert_eq!(report["resumed"], false);
    assert_eq!(report["boards_skipped_done"], 0);
    for id in &boards {
        assert!(
            sim.request_count(&format!("/board/{id}/")) > 0,
            "board {id}"
        );
    }

    // The changes the old run committed are still journaled: one upsert per renamed board.
    let mut renamed: Vec<i64> = util::journal_rows_except(&data, Table::Board, &files_before)
        .iter()
        .map(|r| {
            assert_eq!(r["_OP"], "U");
            r["ID"].as_i64().expect("id")
        })
        .collect();
    renamed.sort_unstable();
    assert_eq!(renamed, boards);
    assert_tables_match(&data, &sim.expected_rows(), &Table::ALL);
    sim.shutdown().await;
}

/// Regression: a board whose listing failed before an interruption was forgotten by the
/// resumed run, which then reported success (exit 0) and ended snapshot mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumed_run_still_reports_a_failed_listing_committed_before_the_crash() {
    let sim = util::start(Site::generate(&spec(8))).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    // One board at a time, in listing order, so the victim is committed first.
    let conf = util::write_config(tmp.path(), &sim.base_url(), "max_concurrency = 1");
    let data = tmp.path().join("data");
    let victim = visible_boards(&sim)[0];
    sim.faults()
        .status(&format!("/board/{victim}/project"), 422, 10_000);
    let (code, _, err) = run_bin(
        util::command(&conf, &data, Some("after_board_commit:2")),
        &["sync"],
    )
    .await;
    assert_eq!(code, 99, "{err}");
    assert!(committed_boards(&data).contains(&victim));

    sim.faults().clear();
    let (code, out, err) = run_bin(util::command(&conf, &data, None), &["sync"]).await;
    assert_eq!(code, 1, "{out}{err}");
    let report = util::last_report(&data);
    assert_eq!(report["status"], "partial");
    assert_eq!(report["failed_boards"][0]["board_id"], victim);
    assert_eq!(report["failed_boards"][0]["http_status"], 422);

    // The run was not complete, so the next one still journals a full snapshot.
    let files_before = util::all_journal_files(&data);
    let (code, _, err) = run_bin(util::command(&conf, &data, None), &["sync"]).await;
    assert_eq!(code, 0, "{err}");
    let rows = util::journal_rows_except(&data, Table::BoardProject, &files_before);
    assert_eq!(rows.len(), read_table(&data, Table::BoardProject).len());
    assert!(!rows.is_empty());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_run_exits_1_and_status_names_the_failed_board() {
    let sim = util::start(Site::generate(&spec(6))).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let conf = util::write_config(tmp.path(), &sim.base_url(), "");
    let data = tmp.path().join("data");
    let victim = visible_boards(&sim)[1];
    sim.faults()
        .status(&format!("/board/{victim}/issue"), 404, 10_000);
    let (code, out, err) = run_bin(util::command(&conf, &data, None), &["sync"]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains(&format!("board {victim}")), "{out}");

    let (code, out, _) = run_bin(util::command(&conf, &data, None), &["status", "--json"]).await;
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["last_run"]["status"], "partial");
    assert_eq!(v["failed_boards"][0]["board_id"], victim);
    assert_eq!(v["failed_boards"][0]["http_status"], 404);
    assert!(v["failed_boards"][0]["endpoint"]
        .as_str()
        .is_some_and(|e| e.ends_with(&format!("/board/{victim}/issue"))));
    let (code, out, _) = run_bin(util::command(&conf, &data, None), &["status"]).await;
    assert_eq!(code, 0);
    assert!(
        out.contains("partial") && out.contains(&format!("failed board {victim}")),
        "{out}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_makes_the_next_run_a_full_snapshot_with_higher_seq() {
    let sim = util::start(Site::generate(&spec(6))).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let conf = util::write_config(tmp.path(), &sim.base_url(), "");
    let data = tmp.path().join("data");
    for _ in 0..2 {
        let (code, _, err) = run_bin(util::command(&conf, &data, None), &["sync"]).await;
        assert_eq!(code, 0, "{err}");
    }
    let before = util::all_journal_files(&data);
    // The largest `_SEQ` journaled so far.
    let seq_before = Table::ALL
        .into_iter()
        .flat_map(|t| util::journal_rows_except(&data, t, &[]))
        .map(|r| r["_SEQ"].as_i64().expect("seq"))
        .max()
        .expect("the first run journaled rows");
    let tables_before: Vec<util::Rows> = Table::ALL
        .into_iter()
        .map(|t| read_table(&data, t))
        .collect();

    let (code, _, err) = run_bin(util::command(&conf, &data, None), &["reset"]).await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run_bin(util::command(&conf, &data, None), &["sync"]).await;
    assert_eq!(code, 0, "{err}");

    for (i, t) in Table::ALL.into_iter().enumerate() {
        let rows = util::journal_rows_except(&data, t, &before);
        assert_eq!(
            rows.len(),
            tables_before[i].len(),
            "{t}: every row journaled"
        );
        assert!(rows.iter().all(|r| r["_OP"] == "U"));
        assert!(
            rows.iter().all(|r| r["_SEQ"].as_i64() > Some(seq_before)),
            "{t}: _SEQ keeps growing after reset"
        );
        assert_eq!(read_table(&data, t), tables_before[i], "{t}: same rows");
    }
    // The snapshot run was complete: the next run journals only changes (none).
    let after = util::all_journal_files(&data);
    let (code, _, err) = run_bin(util::command(&conf, &data, None), &["sync"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(util::all_journal_files(&data), after);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_runs_limits_run_reports_and_loaded_journal_files() {
    let sim = util::start(Site::generate(&spec(5))).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let mut cfg = util::config(&sim.base_url(), &data);
    cfg.ingestion.keep_runs = 2;
    let board = visible_boards(&sim)[0];
    let mut written = Vec::new();
    for i in 0..4 {
        sim.edit(|s| s.rename_board(board, &format!("name {i}")));
        let summary = util::sync(&cfg).await.expect("sync");
        written.extend(
            summary
                .report
                .journal_files
                .iter()
                .filter(|f| f.starts_with("journal/BOARD/"))
                .cloned(),
        );
    }
    assert_eq!(written.len(), 4, "every run journaled BOARD: {written:?}");
    let runs = std::fs::read_dir(data.join("runs")).expect("runs").count();
    assert_eq!(runs, 2, "run reports kept");
    let kept: Vec<String> = util::journal_files(&data, Table::Board)
        .iter()
        .map(|p| {
            p.strip_prefix(&data)
                .expect("inside data dir")
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(
        kept,
        written[2..].to_vec(),
        "the newest journal files are kept"
    );
    {
        let store = Store::open(&data.join("state")).expect("store");
        let recorded: Vec<_> = store
            .journal_files()
            .expect("files")
            .into_iter()
            .filter(|f| f.table == "BOARD")
            .collect();
        assert_eq!(recorded.len(), 2);
        assert!(
            recorded.iter().all(|f| !f.in_outbox),
            "no destination: outbox empty"
        );
    }

    // A journal file the store never recorded is removed when a writer starts.
    let stray = data.join("journal/BOARD/1.parquet");
    std::fs::copy(data.join(&written[3]), &stray).expect("copy");
    util::sync(&cfg).await.expect("sync");
    assert!(!stray.exists());
    assert!(data.join(&written[3]).exists());
    sim.shutdown().await;
}
