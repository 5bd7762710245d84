//! Full syncs of simulated sites over real HTTP on 127.0.0.1, compared with the simulator's own
//! site model.

use jira_agile_sync::pipeline::RunStatus;
use jira_agile_sync::schema::Table;
use jira_agile_sync::simulator::{BoardKind, Site, SiteSpec};

use crate::util::{self, assert_tables_match, read_table};

fn spec(boards: usize) -> SiteSpec {
    SiteSpec {
        seed: 11,
        boards,
        ..SiteSpec::demo()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_matches_site_model() {
    let sim = util::start(Site::generate(&spec(30))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());
    let summary = util::sync(&cfg).await.expect("sync");
    assert_eq!(
        summary.report.status,
        Some(RunStatus::Ok),
        "{:?}",
        summary.report.failed_boards
    );
    let exp = sim.expected_rows();
    assert!(exp["BOARD_ISSUE"].len() > 100, "the site has issues");
    assert!(exp["SPRINT"].len() > 5, "the site has sprints");
    assert_tables_match(dir.path(), &exp, &Table::ALL);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_after_edits_equals_fresh_full_sync() {
    let sim = util::start(Site::generate(&spec(20))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());
    util::sync(&cfg).await.expect("first sync");

    // Edits of every kind between runs.
    sim.edit(|site| {
        let ids: Vec<i64> = site.boards().map(|b| b.id).collect();
        site.rename_board(ids[0], "Renamed board");
        site.delete_board(ids[1]);
        let scrum: Vec<i64> = site
            .boards()
            .filter(|b| b.kind == BoardKind::Scrum)
            .map(|b| b.id)
            .collect();
        let issue = site
            .boards()
            .find(|b| b.id == scrum[0])
            .and_then(|b| b.issues.first().copied());
        if let (Some(issue), Some(to)) = (issue, scrum.get(1)) {
            site.move_issue(issue, scrum[0], *to);
        }
        let sprint = site
            .boards()
            .find(|b| b.id == scrum[0])
            .and_then(|b| b.sprints.last().copied());
        if let Some(s) = sprint {
            site.close_sprint(s);
        }
    });
    let summary = util::sync(&cfg).await.expect("second sync");
    assert_eq!(summary.report.status, Some(RunStatus::Ok));
    let c = &summary.report.tables;
    assert_eq!(c["BOARD"].deleted, 1, "{c:?}");
    assert!(c["BOARD"].changed >= 1, "{c:?}");
    assert!(
        c["BOARD_ISSUE"].deleted >= 1 && c["BOARD_ISSUE"].changed >= 1,
        "{c:?}"
    );
    let exp = sim.expected_rows();
    assert_tables_match(dir.path(), &exp, &Table::ALL);

    // A fresh data directory synced once holds the same rows.
    let fresh = tempfile::tempdir().expect("tempdir");
    util::sync(&util::config(&sim.base_url(), fresh.path()))
        .await
        .expect("fresh sync");
    for t in Table::ALL {
        assert_eq!(
            read_table(dir.path(), t),
            read_table(fresh.path(), t),
            "{t}"
        );
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_sync_without_edits_changes_nothing_and_parses_no_page() {
    let sim = util::start(Site::generate(&spec(12))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());
    let first = util::sync(&cfg).await.expect("first sync");
    assert!(first.report.pages_parsed > 0);
    let mtime = std::fs::metadata(dir.path().join("tables/BOARD_ISSUE.parquet"))
        .and_then(|m| m.modified())
        .expect("mtime");
    let second = util::sync(&cfg).await.expect("second sync");
    assert_eq!(
        second.report.pages_parsed, 0,
        "every page came from the page cache"
    );
    assert!(second.report.pages_cached > 0);
    assert!(
        second.report.journal_files.is_empty(),
        "{:?}",
        second.report.journal_files
    );
    assert!(
        second.report.tables_rewritten.is_empty(),
        "{:?}",
        second.report.tables_rewritten
    );
    for c in second.report.tables.values() {
        assert_eq!((c.changed, c.deleted), (0, 0));
    }
    let mtime2 = std::fs::metadata(dir.path().join("tables/BOARD_ISSUE.parquet"))
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(mtime, mtime2, "unchanged table file is not rewritten");
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_board_listing_keeps_its_rows_and_names_board() {
    let sim = util::start(Site::generate(&spec(10))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());
    util::sync(&cfg).await.expect("first sync");
    let before = read_table(dir.path(), Table::BoardIssue);

    let (victim, other) = {
        let mut ids = Vec::new();
        sim.edit(|s| {
            ids = s
                .boards()
                .filter(|b| !b.issues.is_empty())
                .map(|b| b.id)
                .collect()
        });
        (ids[0], ids[1])
    };
    // The victim's issues vanish in Jira, but its listing fails: nothing may be deleted.
    sim.edit(|s| {
        let issues: Vec<i64> = s
            .boards()
            .find(|b| b.id == victim)
            .map(|b| b.issues.clone())
            .unwrap_or_default();
        for i in issues {
            s.delete_issue(i);
        }
        s.rename_board(other, "Other board renamed");
    });
    for status in [500u16, 422, 404] {
        sim.faults()
            .status(&format!("/board/{victim}/issue"), status, 1000);
        let summary = util::sync(&cfg).await.expect("sync finishes");
        assert_eq!(summary.exit_code(), 1);
        let f = &summary.report.failed_boards;
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].board_id, victim);
        assert!(
            f[0].endpoint.ends_with(&format!("/board/{victim}/issue")),
            "{f:?}"
        );
        assert_eq!(f[0].http_status, Some(status));
        let after = read_table(dir.path(), Table::BoardIssue);
        let kept = |rows: &util::Rows| rows.iter().filter(|r| r["BOARD_ID"] == victim).count();
        assert_eq!(
            kept(&after),
            kept(&before),
            "the failed board's rows are kept"
        );
        assert!(kept(&after) > 0);
        let boards = read_table(dir.path(), Table::Board);
        assert!(
            boards.iter().any(|b| b["NAME"] == "Other board renamed"),
            "other boards still sync"
        );
        sim.faults().clear();
    }
    // The next successful run catches up.
    let summary = util::sync(&cfg).await.expect("sync");
    assert_eq!(summary.exit_code(), 0);
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    sim.shutdown().await;
}
