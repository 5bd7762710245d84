//! Edge cases a reviewer tried in order to break the sync: boards that vanish and return, issues
//! on several boards, tables switched off and on, shared sprints with a failed board, board
//! configuration changes, duplicates across pages, `reset`, a large board with one change, and
//! odd values. Each sync is compared with the simulator's model.

use std::collections::BTreeSet;
use std::path::Path;

use jira_agile_sync::config::Config;
use jira_agile_sync::pipeline::{self, DataDir, RunStatus, RunSummary, Status};
use jira_agile_sync::schema::Table;
use jira_agile_sync::simulator::{BoardKind, BoardLocation, Estimation, Site, SprintState};

use crate::util::{self, assert_tables_match, read_table};

/// Two scrum boards on one project: A with issues 0..n, B with its own issues, one issue on
/// both, and a sprint of A also listed by B. Returns (site, a, b, shared issue, shared sprint).
fn two_boards(issues_each: usize) -> (Site, i64, i64, i64, i64) {
    let mut site = Site::empty();
    let p = site.add_project("PA", "Alpha");
    let loc = site.project(p).map(BoardLocation::project);
    let a = site.add_board(BoardKind::Scrum, "Board A", loc.clone());
    let b = site.add_board(BoardKind::Scrum, "Board B", loc);
    let s_shared = site.add_sprint(a, SprintState::Active, "Shared sprint");
    site.add_sprint(a, SprintState::Future, "A only");
    site.add_sprint(b, SprintState::Closed, "B only");
    site.link_sprint(b, s_shared);
    for _ in 0..issues_each {
        site.add_issue(a, p);
        site.add_issue(b, p);
    }
    let shared_issue = site.add_issue(a, p);
    site.add_issue_to_board(b, shared_issue);
    site.update_issue(shared_issue, |i| i.sprint_id = Some(s_shared));
    (site, a, b, shared_issue, s_shared)
}

async fn sync_ok(cfg: &Config) -> RunSummary {
    let s = util::sync(cfg).await.expect("sync");
    assert_eq!(
        s.report.status,
        Some(RunStatus::Ok),
        "{:?}",
        s.report.failed_boards
    );
    s
}

fn board_ids_in(dir: &Path, table: Table) -> BTreeSet<i64> {
    read_table(dir, table)
        .iter()
        .map(|r| util::key_of(table, r)[0])
        .collect()
}

/// The rows of the newest journal file of a table.
fn last_journal(dir: &Path, table: Table) -> util::Rows {
    let files = util::journal_files(dir, table);
    let last = files.last().expect("a journal file");
    util::read_parquet(last, table)
}

// 1 -----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_hidden_then_visible_again() {
    let (site, a, b, shared_issue, s_shared) = two_boards(3);
    let sim = util::start(site).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());
    sync_ok(&cfg).await;
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);

    sim.edit(|s| s.set_board_hidden(b, true));
    let r = sync_ok(&cfg).await;
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    for t in [Table::BoardIssue, Table::BoardSprint, Table::BoardProject] {
        assert!(
            !board_ids_in(dir.path(), t).contains(&b),
            "{t}: B's rows gone"
        );
    }
    assert_eq!(r.report.tables["BOARD"].deleted, 1);
    // The shared sprint stays (A links it), B's own sprint went.
    let sprints: BTreeSet<i64> = read_table(dir.path(), Table::Sprint)
        .iter()
        .map(|r| util::key_of(Table::Sprint, r)[0])
        .collect();
    assert!(sprints.contains(&s_shared));
    assert_eq!(
        sprints.len(),
        2,
        "B's own sprint deleted with its last link"
    );

    sim.edit(|s| s.set_board_hidden(b, false));
    let r = sync_ok(&cfg).await;
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    assert!(board_ids_in(dir.path(), Table::BoardIssue).contains(&b));
    // Nothing of B may come from a stale page cache: every page of B was parsed.
    assert!(r.report.pages_parsed >= 3, "B's pages parsed again");
    let bi = read_table(dir.path(), Table::BoardIssue);
    assert!(bi
        .iter()
        .any(|r| util::key_of(Table::BoardIssue, r) == vec![b, shared_issue]));

    // And a quiet sync afterwards journals nothing.
    let before = util::all_journal_files(dir.path()).len();
    sync_ok(&cfg).await;
    assert_eq!(util::all_journal_files(dir.path()).len(), before);
    let _ = a;
    sim.shutdown().await;
}

// 2 -----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_on_two_boards_moved_off_one_then_deleted() {
    let (site, a, b, shared_issue, _) = two_boards(3);
    let sim = util::start(site).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());
    sync_ok(&cfg).await;
    let keys = |dir: &Path| -> BTreeSet<Vec<i64>> {
        read_table(dir, Table::BoardIssue)
            .iter()
            .map(|r| util::key_of(Table::BoardIssue, r))
            .filter(|k| k[1] == shared_issue)
            .collect()
    };
    assert_eq!(keys(dir.path()).len(), 2);

    sim.edit(|s| {
        if let Some(board) = s.board_mut(a) {
            board.issues.retain(|i| *i != shared_issue);
        }
    });
    let r = sync_ok(&cfg).await;
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    assert_eq!(keys(dir.path()), BTreeSet::from([vec![b, shared_issue]]));
    assert_eq!(r.report.tables["BOARD_ISSUE"].deleted, 1);
    assert_eq!(r.report.tables["BOARD_ISSUE"].changed, 0);
    let j = last_journal(dir.path(), Table::BoardIssue);
    assert_eq!(j.len(), 1);
    assert_eq!(j[0]["_OP"], "D");
    assert_eq!(j[0]["BOARD_ID"], a);

    sim.edit(|s| s.delete_issue(shared_issue));
    let r = sync_ok(&cfg).await;
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    assert!(keys(dir.path()).is_empty());
    assert_eq!(r.report.tables["BOARD_ISSUE"].deleted, 1);
    sim.shutdown().await;
}

// 3 -----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_table_keeps_rows_of_deleted_board_until_reenabled() {
    let (site, a, b, _, _) = two_boards(3);
    let sim = util::start(site).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = util::config(&sim.base_url(), dir.path());
    sync_ok(&cfg).await;
    let issues_before = read_table(dir.path(), Table::BoardIssue);

    // BOARD_ISSUE off; B deleted meanwhile.
    cfg.ingestion.enabled_tables = [Table::BoardProject, Table::Sprint].into_iter().collect();
    sim.edit(|s| s.delete_board(b));
    sync_ok(&cfg).await;
    let exp = sim.expected_rows();
    assert_tables_match(
        dir.path(),
        &exp,
        &[
            Table::Board,
            Table::Sprint,
            Table::BoardSprint,
            Table::BoardProject,
        ],
    );
    // The disabled table stops being updated: its rows stay, B's included.
    assert_eq!(read_table(dir.path(), Table::BoardIssue), issues_before);
    assert!(board_ids_in(dir.path(), Table::BoardIssue).contains(&b));
    let status = Status::read(&DataDir::new(dir.path())).expect("status");
    assert!(!status.tables["BOARD_ISSUE"].enabled);
    assert!(status.tables["BOARD"].enabled);

    // On again: the table follows the model, B's rows go.
    cfg.ingestion.enabled_tables = [Table::BoardIssue, Table::BoardProject, Table::Sprint]
        .into_iter()
        .collect();
    sync_ok(&cfg).await;
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    assert_eq!(
        board_ids_in(dir.path(), Table::BoardIssue),
        BTreeSet::from([a])
    );
    let j = last_journal(dir.path(), Table::BoardIssue);
    assert!(!j.is_empty() && j.iter().all(|r| r["_OP"] == "D" && r["BOARD_ID"] == b));

    // The same with SPRINT (and BOARD_SPRINT with it) switched off while a board goes.
    sim.edit(|s| {
        let loc = s
            .boards()
            .next()
            .and_then(|x| x.projects.first().copied())
            .and_then(|p| s.project(p))
            .map(BoardLocation::project);
        let c = s.add_board(BoardKind::Scrum, "Board C", loc);
        s.add_sprint(c, SprintState::Active, "C only");
    });
    sync_ok(&cfg).await;
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    let c = sim.site().boards().map(|x| x.id).max().expect("board C");
    let sprints_before = read_table(dir.path(), Table::Sprint);
    cfg.ingestion.enabled_tables.remove(&Table::Sprint);
    sim.edit(|s| s.delete_board(c));
    sync_ok(&cfg).await;
    assert!(board_ids_in(dir.path(), Table::BoardSprint).contains(&c));
    assert_eq!(read_table(dir.path(), Table::Sprint), sprints_before);
    cfg.ingestion.enabled_tables.insert(Table::Sprint);
    sync_ok(&cfg).await;
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    assert!(!board_ids_in(dir.path(), Table::BoardSprint).contains(&c));
    sim.shutdown().await;
}

// 4 -----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_sprint_stays_while_a_linking_board_failed() {
    let (site, a, b, _, s_shared) = two_boards(2);
    let sim = util::start(site).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());
    sync_ok(&cfg).await;

    // A's sprint listing fails (404 is not retried); B stops listing the shared sprint.
    sim.faults()
        .status(&format!("/rest/agile/1.0/board/{a}/sprint"), 404, 1);
    sim.edit(|s| s.unlink_sprint(b, s_shared));
    let r = util::sync(&cfg).await.expect("sync");
    assert_eq!(r.report.status, Some(RunStatus::Partial));
    assert_eq!(r.report.failed_boards.len(), 1);
    assert_eq!(r.report.failed_boards[0].board_id, a);
    let links: BTreeSet<Vec<i64>> = read_table(dir.path(), Table::BoardSprint)
        .iter()
        .map(|r| util::key_of(Table::BoardSprint, r))
        .collect();
    assert!(links.contains(&vec![a, s_shared]), "A's link kept");
    assert!(!links.contains(&vec![b, s_shared]), "B's link deleted");
    assert!(read_table(dir.path(), Table::Sprint)
        .iter()
        .any(|r| r["ID"] == s_shared));

    sim.faults().clear();
    sync_ok(&cfg).await;
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);

    // Now A unlinks it too: the sprint goes.
    sim.edit(|s| s.unlink_sprint(a, s_shared));
    sync_ok(&cfg).await;
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    assert!(!read_table(dir.path(), Table::Sprint)
        .iter()
        .any(|r| r["ID"] == s_shared));
    sim.shutdown().await;
}

// 5 -----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_configuration_changes_follow_into_issue_columns() {
    let (site, a, b, _, _) = two_boards(3);
    let sim = util::start(site).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());

    // Give every issue values in two estimate fields and two rank fields.
    sim.edit(|s| {
        let ids: Vec<i64> = s.boards().flat_map(|x| x.issues.clone()).collect();
        for id in ids {
            s.update_issue(id, |i| {
                i.custom_fields
                    .insert("customfield_10016".into(), serde_json::json!(id % 7));
                i.custom_fields
                    .insert("customfield_10026".into(), serde_json::json!(100 + id % 5));
                i.custom_fields.insert(
                    "customfield_10099".into(),
                    serde_json::json!(format!("1|z{id}:")),
                );
            });
        }
    });
    // A's configuration is unreadable on the first run: its columns and the issue fields are null.
    sim.edit(|s| s.set_config_status(a, Some(403)));
    let r = sync_ok(&cfg).await;
    assert_eq!(r.report.config_warnings.len(), 1);
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    let est_of = |dir: &Path, board: i64| -> Vec<serde_json::Value> {
        read_table(dir, Table::BoardIssue)
            .into_iter()
            .filter(|r| r["BOARD_ID"] == board)
            .map(|r| r["ESTIMATE"].clone())
            .collect()
    };
    assert!(est_of(dir.path(), a).iter().all(|v| v.is_null()));
    assert!(est_of(dir.path(), b).iter().any(|v| !v.is_null()));

    // Readable now, with another estimation field and rank field on B.
    sim.edit(|s| {
        s.set_config_status(a, None);
        if let Some(board) = s.board_mut(b) {
            board.config.estimation = Some(Estimation {
                estimation_type: "field".into(),
                field_id: Some("customfield_10026".into()),
                field_name: Some("Size".into()),
            });
            board.config.rank_custom_field_id = Some(10099);
        }
    });
    sync_ok(&cfg).await;
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    assert!(est_of(dir.path(), a).iter().all(|v| !v.is_null()));
    assert!(est_of(dir.path(), b)
        .iter()
        .all(|v| v.as_f64().is_some_and(|f| f >= 100.0)));

    // Unreadable again after being read: the last known values stay, issue fields included.
    sim.edit(|s| s.set_config_status(b, Some(404)));
    sync_ok(&cfg).await;
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    assert!(est_of(dir.path(), b)
        .iter()
        .all(|v| v.as_f64().is_some_and(|f| f >= 100.0)));
    sim.shutdown().await;
}

// 6 -----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_issue_across_pages_first_one_wins() {
    let mut site = Site::empty();
    let p = site.add_project("PA", "Alpha");
    let loc = site.project(p).map(BoardLocation::project);
    let a = site.add_board(BoardKind::Scrum, "Board A", loc);
    let first_issue = site.add_issue(a, p);
    for _ in 0..149 {
        site.add_issue(a, p);
    }
    let sim = util::start(site).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());
    sync_ok(&cfg).await;

    // Page 2 (startAt 100) also carries the first issue of page 1, with another status.
    let page2 = sim
        .requests()
        .into_iter()
        .find(|p| p.starts_with(&format!("/rest/agile/1.0/board/{a}/issue?startAt=100&")))
        .expect("second issue page requested");
    let body = reqwest::Client::new()
        .get(format!("{}{}", sim.base_url(), page2))
        .basic_auth(util::EMAIL, Some(util::TOKEN))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    let mut v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let site = sim.site();
    let fields: Vec<String> = url::Url::parse(&format!("http://x{page2}"))
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "fields")
        .map(|(_, f)| f.split(',').map(String::from).collect())
        .expect("fields param");
    let mut dup = site.issue_json(site.issue(first_issue).expect("issue"), Some(&fields));
    dup["fields"]["status"]["id"] = "3".into();
    dup["key"] = "PA-DUP".into();
    let issues = v["issues"].as_array_mut().expect("issues");
    issues.insert(10, dup);
    let prefix = page2
        .split("&maxResults")
        .next()
        .expect("prefix")
        .to_string()
        + "&";
    sim.set_static(&prefix, 200, v.to_string());

    let r = sync_ok(&cfg).await;
    assert_eq!(r.report.tables["BOARD_ISSUE"].read, 150);
    assert_eq!(r.report.tables["BOARD_ISSUE"].changed, 0);
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    let row = read_table(dir.path(), Table::BoardIssue)
        .into_iter()
        .find(|r| r["ISSUE_ID"] == first_issue)
        .expect("row");
    assert_ne!(row["ISSUE_KEY"], "PA-DUP");

    // The first page changes too (parsed again): still the first occurrence wins.
    sim.edit(|s| s.update_issue(first_issue, |i| i.status_id = 10001));
    let r = sync_ok(&cfg).await;
    assert_eq!(r.report.tables["BOARD_ISSUE"].changed, 1);
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    // Without the duplicate, nothing changes.
    sim.clear_static();
    sync_ok(&cfg).await;
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    sim.shutdown().await;
}

// 7 -----------------------------------------------------------------------------------------

fn reset(cfg: &Config) {
    let (_dd, lock, store) = pipeline::open_writer(cfg).expect("open");
    pipeline::reset(&store).expect("reset");
    drop(store);
    drop(lock);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_between_runs_with_edits_journals_a_snapshot() {
    let (site, a, b, shared_issue, s_shared) = two_boards(3);
    let sim = util::start(site).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());
    sync_ok(&cfg).await;

    reset(&cfg);
    sim.edit(|s| {
        s.delete_board(b);
        s.delete_issue(shared_issue);
        s.rename_sprint(s_shared, "renamed after reset");
    });
    let r = sync_ok(&cfg).await;
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    for t in Table::ALL {
        assert!(
            r.report
                .journal_files
                .iter()
                .any(|f| f.contains(&format!("/{}/", t.name()))),
            "{t}: journaled after reset"
        );
        let j = last_journal(dir.path(), t);
        let cur = read_table(dir.path(), t);
        assert_eq!(j.len(), cur.len(), "{t}: snapshot holds every row");
        assert!(
            j.iter().all(|r| r["_OP"] == "U"),
            "{t}: snapshot rows are upserts"
        );
    }
    // The snapshot is done: the next quiet run journals nothing.
    let before = util::all_journal_files(dir.path()).len();
    sync_ok(&cfg).await;
    assert_eq!(util::all_journal_files(dir.path()).len(), before);
    let _ = a;
    sim.shutdown().await;
}

// 8 -----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_board_one_change_in_middle_page() {
    let mut site = Site::empty();
    let p = site.add_project("PA", "Alpha");
    let loc = site.project(p).map(BoardLocation::project);
    let a = site.add_board(BoardKind::Scrum, "Big", loc);
    site.add_sprint(a, SprintState::Active, "S1");
    let mut ids = Vec::new();
    for _ in 0..2500 {
        ids.push(site.add_issue(a, p));
    }
    let sim = util::start(site).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());
    let r = sync_ok(&cfg).await;
    assert_eq!(
        r.report.pages_parsed, 27,
        "1 project + 1 sprint + 25 issue pages"
    );

    let middle = ids[1250];
    sim.edit(|s| s.update_issue(middle, |i| i.flagged = true));
    let r = sync_ok(&cfg).await;
    assert_eq!(r.report.pages_parsed, 1);
    assert_eq!(r.report.pages_cached, 26);
    assert_eq!(r.report.tables["BOARD_ISSUE"].read, 2500);
    assert_eq!(r.report.tables["BOARD_ISSUE"].changed, 1);
    assert_eq!(r.report.tables["BOARD_ISSUE"].deleted, 0);
    let j = last_journal(dir.path(), Table::BoardIssue);
    assert_eq!(j.len(), 1);
    assert_eq!(j[0]["ISSUE_ID"], middle);
    assert_eq!(j[0]["FLAGGED"], true);
    assert_eq!(r.report.journal_files.len(), 1);
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    sim.shutdown().await;
}

// 9 -----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unicode_names_and_ids_shared_across_kinds() {
    // Board 1 and sprint 1 share an id; names in several scripts and emoji.
    let (site, a, _b, shared_issue, s_shared) = two_boards(2);
    assert_eq!(a, s_shared, "board and sprint share id 1");
    let sim = util::start(site).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());
    sim.edit(|s| {
        s.rename_board(a, "Доска 板 🚀 \"quoted\" \\ back\u{0}slash");
        s.rename_sprint(s_shared, "Sprint ✓ ünïcödé \u{202e}rtl");
        s.update_issue(shared_issue, |i| i.sprint_id = None);
    });
    sync_ok(&cfg).await;
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    let boards = read_table(dir.path(), Table::Board);
    assert!(boards
        .iter()
        .any(|r| r["NAME"].as_str().is_some_and(|n| n.contains('🚀'))));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_listing_with_a_non_object_changes_nothing() {
    let (site, _a, _b, _, _) = two_boards(2);
    let sim = util::start(site).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());
    sync_ok(&cfg).await;
    let before: Vec<util::Rows> = Table::ALL
        .iter()
        .map(|t| read_table(dir.path(), *t))
        .collect();

    let body = serde_json::json!({
        "maxResults": 50, "startAt": 0, "total": 1, "isLast": true,
        "values": [42],
    });
    sim.set_static("/rest/agile/1.0/board?", 200, body.to_string());
    let err = util::sync(&cfg)
        .await
        .expect_err("a malformed board listing fails the run");
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("board listing failed"), "{err}");
    let after: Vec<util::Rows> = Table::ALL
        .iter()
        .map(|t| read_table(dir.path(), *t))
        .collect();
    assert_eq!(before, after, "nothing deleted");

    sim.clear_static();
    sync_ok(&cfg).await;
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    sim.shutdown().await;
}
