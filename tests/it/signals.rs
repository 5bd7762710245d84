//! SIGINT and SIGTERM while the binary is mid-run (a Jira request stalled by the simulator):
//! `sync` exits 130 leaving consistent files and resumes on the next run; `run` exits 0. The
//! only process signalled is the child this test spawned, by its PID.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use jira_agile_sync::schema::Table;
use jira_agile_sync::simulator::{Simulator, Site};
use jira_agile_sync::state::Store;

use crate::util::{self, run_bin};

fn site() -> Site {
    util::site(21, 6, 6)
}

fn visible_boards(sim: &Simulator) -> Vec<i64> {
    sim.site()
        .boards()
        .filter(|b| !b.hidden)
        .map(|b| b.id)
        .collect()
}

/// Spawn the binary with `args`, its output discarded.
fn spawn(conf: &Path, data: &Path, args: &[&str]) -> Child {
    util::command(conf, data, None)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn")
}

/// Wait (bounded) until the stalled request has reached the simulator.
async fn wait_for_request(sim: &Simulator, path: &str) {
    for _ in 0..1200 {
        if sim.request_count(path) > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no request for {path} arrived");
}

/// Send `signal` to the child's PID and wait (bounded) for its exit code.
async fn signal_and_wait(mut child: Child, signal: libc::c_int) -> Option<i32> {
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits");
    // SAFETY: kill(2) with the PID of a child this test spawned and has not reaped yet.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(rc, 0, "signal sent");
    for _ in 0..1200 {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the child did not exit after the signal");
}

/// No temporary file anywhere under `dir` (recursively).
fn assert_no_temp_files(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        assert!(
            !e.file_name().to_string_lossy().contains(".tmp-"),
            "partial file left: {}",
            p.display()
        );
        if p.is_dir() {
            assert_no_temp_files(&p);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_and_sigterm_during_sync_exit_130_and_the_next_sync_resumes() {
    for (signal, name) in [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM")] {
        let sim = util::start(site()).await;
        let tmp = tempfile::tempdir().expect("tempdir");
        // One board at a time, in listing order: the boards before the stalled one are
        // committed when the signal comes.
        let conf = util::write_config(tmp.path(), &sim.base_url(), "max_concurrency = 1");
        let data = tmp.path().join("data");
        let boards = visible_boards(&sim);
        let stalled = format!("/board/{}/configuration", boards[3]);
        sim.faults().stall(&stalled, Duration::from_secs(600), 1);

        let child = spawn(&conf, &data, &["sync"]);
        wait_for_request(&sim, &stalled).await;
        let code = signal_and_wait(child, signal).await;
        assert_eq!(code, Some(130), "{name}: sync exit code");

        // Consistent files: nothing partial, every current table readable.
        assert_no_temp_files(&data.join("tables"));
        assert_no_temp_files(&data.join("journal"));
        if let Ok(rd) = std::fs::read_dir(data.join("tables")) {
            for e in rd.flatten() {
                jira_agile_sync::materialize::read_file(&e.path()).expect("table readable");
            }
        }
        let committed: Vec<i64> = {
            let store = Store::open(&data.join("state")).expect("open store");
            store.done_boards().expect("done").into_iter().collect()
        };
        assert_eq!(committed, boards[..3].to_vec(), "{name}: committed boards");

        // The lock is free; the next sync resumes without fetching committed boards again.
        sim.faults().clear();
        sim.reset_counts();
        let (code, out, err) = run_bin(util::command(&conf, &data, None), &["sync"]).await;
        assert_eq!(code, 0, "{name}: {out}{err}");
        for id in &boards {
            let requests = sim.request_count(&format!("/board/{id}/"));
            if committed.contains(id) {
                assert_eq!(requests, 0, "{name}: board {id} fetched again");
            } else {
                assert!(requests > 0, "{name}: board {id} fetched");
            }
        }
        assert_eq!(util::last_report(&data)["resumed"], true);
        util::assert_tables_match(&data, &sim.expected_rows(), &Table::ALL);
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_run_exits_0_and_releases_the_lock() {
    let sim = util::start(site()).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let conf = util::write_config(tmp.path(), &sim.base_url(), "sync_interval = \"1h\"");
    let data = tmp.path().join("data");
    let stalled = format!("/board/{}/issue", visible_boards(&sim)[1]);
    sim.faults().stall(&stalled, Duration::from_secs(600), 1);

    let child = spawn(&conf, &data, &["run"]);
    wait_for_request(&sim, &stalled).await;
    let code = signal_and_wait(child, libc::SIGTERM).await;
    assert_eq!(code, Some(0), "run exit code");
    assert_no_temp_files(&data.join("tables"));
    assert_no_temp_files(&data.join("journal"));

    sim.faults().clear();
    let (code, out, err) = run_bin(util::command(&conf, &data, None), &["sync"]).await;
    assert_eq!(code, 0, "the lock was released: {out}{err}");
    util::assert_tables_match(&data, &sim.expected_rows(), &Table::ALL);
    sim.shutdown().await;
}

/// The board listing is abandoned too: a signal while its request is stalled (longer than the
/// bounded wait here) ends `sync` with 130 without waiting for Jira.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_the_board_listing_abandons_the_request_and_exits_130() {
    let sim = util::start(site()).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let conf = util::write_config(tmp.path(), &sim.base_url(), "");
    let data = tmp.path().join("data");
    let listing = "/rest/agile/1.0/board?";
    sim.faults().stall(listing, Duration::from_secs(600), 1);

    let child = spawn(&conf, &data, &["sync"]);
    wait_for_request(&sim, listing).await;
    let code = signal_and_wait(child, libc::SIGTERM).await;
    assert_eq!(code, Some(130), "sync exit code");
    assert_eq!(
        util::last_report(&data)["status"],
        "interrupted",
        "the run report says why it stopped"
    );

    let (code, out, err) = run_bin(util::command(&conf, &data, None), &["sync"]).await;
    assert_eq!(code, 0, "the lock was released: {out}{err}");
    util::assert_tables_match(&data, &sim.expected_rows(), &Table::ALL);
    sim.shutdown().await;
}
