//! Change tracking: after each kind of edit in Jira, a sync journals exactly the rows that
//! changed (read back from the journal Parquet files) and leaves the current tables equal to a
//! fresh full sync. A board whose listing fails loses nothing and journals no delete.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use jira_agile_sync::config::Config;
use jira_agile_sync::pipeline::RunStatus;
use jira_agile_sync::schema::Table;
use jira_agile_sync::simulator::{ExpectedTables, Site, SiteSpec, SprintState};

use crate::util::{self, assert_tables_match, read_table};

/// (table, key) → (`_OP`, row without `_OP`/`_SEQ`; for a delete, the last known row).
type Changes = BTreeMap<(Table, Vec<i64>), (String, BTreeMap<String, serde_json::Value>)>;

/// The changes that turn `before` into `after`, from the simulator's model alone.
fn model_diff(before: &ExpectedTables, after: &ExpectedTables) -> Changes {
    let mut out = Changes::new();
    for t in Table::ALL {
        let index = |tables: &ExpectedTables| -> BTreeMap<Vec<i64>, _> {
            util::expected(tables, t)
                .into_iter()
                .map(|r| (util::key_of(t, &r), r))
                .collect()
        };
        let (b, a) = (index(before), index(after));
        for (k, row) in &a {
            if b.get(k) != Some(row) {
                out.insert((t, k.clone()), ("U".into(), row.clone()));
            }
        }
        for (k, row) in b {
            if !a.contains_key(&k) {
                out.insert((t, k), ("D".into(), row));
            }
        }
    }
    out
}

/// The rows journaled in files other than `skip`; a key journaled twice fails the test.
fn journaled(dir: &Path, skip: &[PathBuf]) -> Changes {
    let mut out = Changes::new();
    for t in Table::ALL {
        for mut row in util::journal_rows_except(dir, t, skip) {
            let op = row.remove("_OP").and_then(|v| v.as_str().map(String::from));
            row.remove("_SEQ");
            let key = util::key_of(t, &row);
            let op = op.expect("journal rows carry _OP");
            assert!(op == "U" || op == "D", "{t}: _OP {op}");
            let dup = out.insert((t, key.clone()), (op, row));
            assert!(dup.is_none(), "{t} {key:?} journaled twice");
        }
    }
    out
}

fn spec() -> SiteSpec {
    SiteSpec {
        seed: 23,
        boards: 22,
        issues_per_board: 30,
        ..SiteSpec::demo()
    }
}

/// Visible boards that list sprints and issues.
fn scrum_boards(site: &Site) -> Vec<i64> {
    site.boards()
        .filter(|b| {
            !b.hidden && b.supports_sprints && !b.sprints.is_empty() && !b.issues.is_empty()
        })
        .map(|b| b.id)
        .collect()
}

/// What one edit must produce, besides matching the model's diff exactly.
enum Compare {
    /// Current tables equal a fresh full sync of the site.
    FreshSync,
    /// Current tables equal the model with the last served configuration (a fresh sync cannot
    /// know a configuration that is no longer readable).
    LastKnownConfig,
}

/// Apply `edit`, sync, and check the journal and the tables. Returns the journaled changes.
async fn sync_after_edit(
    sim: &jira_agile_sync::simulator::Simulator,
    cfg: &Config,
    name: &str,
    edit: impl FnOnce(&mut Site),
    compare: Compare,
) -> Changes {
    let dir = cfg.data_dir.as_path();
    let old_files = util::all_journal_files(dir);
    let before = sim.expected_rows();
    sim.edit(edit);

    let summary = util::sync(cfg).await.expect("sync");
    assert_eq!(summary.report.status, Some(RunStatus::Ok), "{name}");

    let want = model_diff(&before, &sim.expected_rows());
    let got = journaled(dir, &old_files);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{name}: journaled keys"
    );
    assert_eq!(got, want, "{name}: journaled rows");
    match compare {
        Compare::FreshSync => {
            let fresh = tempfile::tempdir().expect("tempdir");
            util::sync(&util::config(&sim.base_url(), fresh.path()))
                .await
                .expect("fresh sync");
            for t in Table::ALL {
                assert_eq!(
                    read_table(dir, t),
                    read_table(fresh.path(), t),
                    "{name}: {t}"
                );
            }
        }
        Compare::LastKnownConfig => assert_tables_match(dir, &sim.expected_rows(), &Table::ALL),
    }
    got
}

fn ops(changes: &Changes, table: Table) -> Vec<(Vec<i64>, String)> {
    changes
        .iter()
        .filter(|((t, _), _)| *t == table)
        .map(|((_, k), (op, _))| (k.clone(), op.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_edit_journals_exactly_its_changes() {
    // A sprint shared by two boards, so that one board can stop listing it.
    let mut site = Site::generate(&spec());
    let scrum = scrum_boards(&site);
    assert!(
        scrum.len() >= 6,
        "the site has enough scrum boards: {scrum:?}"
    );
    let (a, b) = (scrum[0], scrum[1]);
    let shared = site
        .board(a)
        .and_then(|x| {
            x.sprints
                .iter()
                .copied()
                .find(|s| site.board(b).is_some_and(|y| !y.sprints.contains(s)))
        })
        .expect("a sprint of A that B does not list");
    site.link_sprint(b, shared);
    let sim = util::start(site).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());
    util::sync(&cfg).await.expect("first sync");
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    let site = sim.site();

    // Rename a board: one BOARD upsert.
    let renamed = scrum[2];
    let got = sync_after_edit(
        &sim,
        &cfg,
        "rename board",
        |s| s.rename_board(renamed, "A brand new name"),
        Compare::FreshSync,
    )
    .await;
    assert_eq!(ops(&got, Table::Board), vec![(vec![renamed], "U".into())]);
    assert_eq!(got.len(), 1, "{got:?}");

    // Delete a board: it and its child rows (and sprints only it listed) are deleted.
    let deleted = scrum[3];
    let got = sync_after_edit(
        &sim,
        &cfg,
        "board deleted",
        |s| s.delete_board(deleted),
        Compare::FreshSync,
    )
    .await;
    assert_eq!(ops(&got, Table::Board), vec![(vec![deleted], "D".into())]);
    let issues_of_deleted = site.board(deleted).map_or(0, |b| b.issues.len());
    assert!(ops(&got, Table::BoardIssue).len() >= issues_of_deleted.min(1));
    assert!(got.values().all(|(op, _)| op == "D"), "{got:?}");

    // Move an issue: a delete on the old board, an insert on the new one.
    let (from, to) = (scrum[4], scrum[2]);
    let moved = site
        .board(from)
        .and_then(|f| {
            f.issues
                .iter()
                .copied()
                .find(|i| site.board(to).is_some_and(|t| !t.issues.contains(i)))
        })
        .expect("an issue to move");
    let got = sync_after_edit(
        &sim,
        &cfg,
        "issue moved",
        |s| s.move_issue(moved, from, to),
        Compare::FreshSync,
    )
    .await;
    let issue_ops = ops(&got, Table::BoardIssue);
    assert!(
        issue_ops.contains(&(vec![from, moved], "D".into())),
        "{issue_ops:?}"
    );
    assert!(
        issue_ops.contains(&(vec![to, moved], "U".into())),
        "{issue_ops:?}"
    );

    // Delete an issue: deleted from every board that listed it.
    let gone = site
        .board(scrum[5])
        .and_then(|b| b.issues.iter().copied().find(|i| *i != moved))
        .expect("an issue to delete");
    let got = sync_after_edit(
        &sim,
        &cfg,
        "issue deleted",
        |s| s.delete_issue(gone),
        Compare::FreshSync,
    )
    .await;
    assert!(ops(&got, Table::BoardIssue).contains(&(vec![scrum[5], gone], "D".into())));

    // Close a sprint: the sprint and the issues whose current sprint it was change.
    let site = sim.site();
    let open_sprint = site
        .boards()
        .filter(|b| !b.hidden && b.supports_sprints)
        .flat_map(|b| b.sprints.iter().copied())
        .find(|s| {
            site.sprint(*s)
                .is_some_and(|x| x.state == SprintState::Active)
        })
        .or_else(|| {
            site.boards()
                .filter(|b| !b.hidden && b.supports_sprints)
                .flat_map(|b| b.sprints.iter().copied())
                .find(|s| {
                    site.sprint(*s)
                        .is_some_and(|x| x.state != SprintState::Closed)
                })
        })
        .expect("an open sprint");
    let got = sync_after_edit(
        &sim,
        &cfg,
        "sprint closed",
        |s| s.close_sprint(open_sprint),
        Compare::FreshSync,
    )
    .await;
    assert_eq!(
        ops(&got, Table::Sprint),
        vec![(vec![open_sprint], "U".into())]
    );

    // A shared sprint loses one of its boards: only that link goes; the sprint stays.
    let got = sync_after_edit(
        &sim,
        &cfg,
        "shared sprint unlinked",
        |s| s.unlink_sprint(b, shared),
        Compare::FreshSync,
    )
    .await;
    assert_eq!(
        got.keys().cloned().collect::<Vec<_>>(),
        vec![(Table::BoardSprint, vec![b, shared])]
    );
    assert_eq!(got.values().next().map(|(op, _)| op.as_str()), Some("D"));
    assert!(read_table(dir.path(), Table::Sprint)
        .iter()
        .any(|r| r["ID"] == shared));

    // Configuration becoming unreadable: the last known values stay, nothing is journaled.
    let site = sim.site();
    let blind = site
        .boards()
        .find(|x| {
            !x.hidden
                && x.config_status.is_none()
                && x.config.estimation.is_some()
                && x.id != deleted
        })
        .map(|x| x.id)
        .expect("a board with a readable configuration and an estimation field");
    let got = sync_after_edit(
        &sim,
        &cfg,
        "configuration unreadable",
        |s| s.set_config_status(blind, Some(403)),
        Compare::LastKnownConfig,
    )
    .await;
    assert!(got.is_empty(), "{got:?}");
    let board = read_table(dir.path(), Table::Board)
        .into_iter()
        .find(|r| r["ID"] == blind)
        .expect("board row");
    assert!(
        !board["ESTIMATION_TYPE"].is_null(),
        "last known configuration kept: {board:?}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_listing_keeps_rows_journals_no_delete_and_next_run_catches_up() {
    let sim = util::start(Site::generate(&spec())).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());
    util::sync(&cfg).await.expect("first sync");
    let site = sim.site();
    let victim = scrum_boards(&site)[0];
    let before = sim.expected_rows();
    let tables_before: BTreeMap<Table, util::Rows> = Table::ALL
        .into_iter()
        .map(|t| (t, read_table(dir.path(), t)))
        .collect();

    // In Jira the victim loses every issue and sprint, but its listings fail.
    sim.edit(|s| {
        if let Some(b) = s.board_mut(victim) {
            b.issues.clear();
            b.sprints.clear();
        }
    });
    sim.faults()
        .status(&format!("/board/{victim}/issue"), 500, 10_000);
    sim.faults()
        .status(&format!("/board/{victim}/sprint"), 503, 10_000);
    let old_files = util::all_journal_files(dir.path());
    let summary = util::sync(&cfg).await.expect("sync finishes");
    assert_eq!(summary.exit_code(), 1);
    let failed: BTreeSet<i64> = summary
        .report
        .failed_boards
        .iter()
        .map(|f| f.board_id)
        .collect();
    assert_eq!(failed, [victim].into());

    // Nothing of the victim was deleted, in the tables or the journal: only the victim changed
    // in Jira, so this run journals nothing at all.
    let got = journaled(dir.path(), &old_files);
    assert!(got.is_empty(), "{got:?}");
    for t in [Table::BoardIssue, Table::BoardSprint, Table::Sprint] {
        assert_eq!(read_table(dir.path(), t), tables_before[&t], "{t} kept");
    }
    assert!(read_table(dir.path(), Table::BoardIssue)
        .iter()
        .any(|r| r["BOARD_ID"] == victim));

    // The next successful run catches up with exactly the model's changes.
    sim.faults().clear();
    let summary = util::sync(&cfg).await.expect("sync");
    assert_eq!(summary.exit_code(), 0);
    let got = journaled(dir.path(), &old_files);
    assert_eq!(got, model_diff(&before, &sim.expected_rows()));
    assert!(ops(&got, Table::BoardIssue)
        .iter()
        .any(|(k, op)| k[0] == victim && op == "D"));
    assert!(ops(&got, Table::BoardSprint)
        .iter()
        .any(|(k, op)| k[0] == victim && op == "D"));
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    sim.shutdown().await;
}
