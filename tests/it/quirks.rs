//! One test per simulator quirk (`JIRA-FACTS.md`): the product syncs a site that shows the quirk,
//! the rows must equal the simulator's model, and each test also proves the quirk really happened
//! (from the request log or the served JSON), so it would fail without the product's handling.

use jira_agile_sync::pipeline::{RunStatus, RunSummary};
use jira_agile_sync::schema::Table;
use jira_agile_sync::simulator::{
    BoardKind, BoardLocation, FaultAction, SimOptions, Simulator, Site, SprintState,
};
use serde_json::Value;

use crate::util::{self, assert_tables_match, read_table, EMAIL, TOKEN};

/// GET a path of the simulator directly (not through the product), as the token would.
async fn get(sim: &Simulator, path: &str, english: bool) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .get(format!("{}{path}", sim.base_url()))
        .basic_auth(EMAIL, Some(TOKEN));
    if english {
        req = req.header("Accept-Language", "en");
    }
    let resp = req.send().await.expect("simulator answers");
    let status = resp.status().as_u16();
    let body = resp.json().await.expect("JSON body");
    (status, body)
}

/// Sync once into a fresh directory; returns the summary and the directory.
async fn sync_fresh(sim: &Simulator) -> (RunSummary, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());
    let summary = util::sync(&cfg).await.expect("sync");
    (summary, dir)
}

fn assert_ok(summary: &RunSummary) {
    assert_eq!(
        summary.report.status,
        Some(RunStatus::Ok),
        "failed boards: {:?}",
        summary.report.failed_boards
    );
    assert_eq!(summary.exit_code(), 0);
}

fn count_where(rows: &util::Rows, col: &str, v: i64) -> usize {
    rows.iter().filter(|r| r[col] == v).count()
}

/// 60 boards, one with 55 sprints, one with 130 issues, one with 55 projects.
fn big_site() -> (Site, i64, i64, i64) {
    let mut site = Site::empty();
    let main = site.add_project("BIG", "Big project");
    let first = site.add_board(BoardKind::Scrum, "Sprinty", None);
    for n in 0..55 {
        let state = if n < 53 {
            SprintState::Closed
        } else {
            SprintState::Future
        };
        site.add_sprint(first, state, &format!("Sprint {n}"));
    }
    let issues = site.add_board(BoardKind::Kanban, "Issuey", None);
    for _ in 0..130 {
        site.add_issue(issues, main);
    }
    let projects = site.add_board(BoardKind::Kanban, "Projecty", None);
    for n in 0..55 {
        let p = site.add_project(&format!("Q{n}"), &format!("Project {n}"));
        site.add_board_project(projects, p);
    }
    for n in 3..60 {
        site.add_board(BoardKind::Kanban, &format!("Board {n}"), None);
    }
    (site, first, issues, projects)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_caps_hold_whatever_max_results_asks() {
    let (site, sprinty, issuey, projecty) = big_site();
    let sim = util::start(site).await;

    // The caps are real: asking for 1000 yields 50 (100 for issues), stated in maxResults.
    let (_, boards) = get(&sim, "/rest/agile/1.0/board?maxResults=1000", true).await;
    assert_eq!(boards["values"].as_array().map(Vec::len), Some(50));
    assert_eq!(boards["maxResults"], 50);
    let (_, sprints) = get(
        &sim,
        &format!("/rest/agile/1.0/board/{sprinty}/sprint?maxResults=1000"),
        true,
    )
    .await;
    assert_eq!(sprints["values"].as_array().map(Vec::len), Some(50));
    let (_, projects) = get(
        &sim,
        &format!("/rest/agile/1.0/board/{projecty}/project?maxResults=1000"),
        true,
    )
    .await;
    assert_eq!(projects["values"].as_array().map(Vec::len), Some(50));
    let (_, issues) = get(
        &sim,
        &format!("/rest/agile/1.0/board/{issuey}/issue?maxResults=1000"),
        true,
    )
    .await;
    assert_eq!(issues["issues"].as_array().map(Vec::len), Some(100));
    assert_eq!(issues["maxResults"], 100);
    sim.reset_counts();

    let (summary, dir) = sync_fresh(&sim).await;
    assert_ok(&summary);
    let exp = sim.expected_rows();
    assert_eq!(exp["BOARD"].len(), 60);
    assert_eq!(count_where(&exp["BOARD_SPRINT"], "BOARD_ID", sprinty), 55);
    assert_eq!(count_where(&exp["BOARD_ISSUE"], "BOARD_ID", issuey), 130);
    assert_eq!(count_where(&exp["BOARD_PROJECT"], "BOARD_ID", projecty), 55);
    assert_tables_match(dir.path(), &exp, &Table::ALL);

    // Each listing took a second page.
    assert_eq!(sim.request_count("/rest/agile/1.0/board?startAt=50"), 1);
    assert_eq!(
        sim.request_count(&format!("/board/{sprinty}/sprint?startAt=50")),
        1
    );
    assert_eq!(
        sim.request_count(&format!("/board/{projecty}/project?startAt=50")),
        1
    );
    assert_eq!(
        sim.request_count(&format!("/board/{issuey}/issue?startAt=100")),
        1
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smaller_server_caps_advance_by_served_max_results() {
    let (mut site, sprinty, issuey, projecty) = big_site();
    site.quirks.page_cap = 20;
    site.quirks.issue_page_cap = 30;
    let sim = util::start(site).await;

    let (summary, dir) = sync_fresh(&sim).await;
    assert_ok(&summary);
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);

    // The product asked for more than the cap and advanced by what the server used.
    let reqs = sim.requests();
    let asked = |needle: &str| reqs.iter().filter(|r| r.contains(needle)).count();
    assert_eq!(asked("/rest/agile/1.0/board?startAt=20&maxResults=50"), 1);
    assert_eq!(asked("/rest/agile/1.0/board?startAt=40&maxResults=50"), 1);
    assert_eq!(
        asked(&format!("/board/{sprinty}/sprint?startAt=40&maxResults=50")),
        1
    );
    assert_eq!(
        asked(&format!(
            "/board/{projecty}/project?startAt=40&maxResults=50"
        )),
        1
    );
    assert_eq!(
        asked(&format!("/board/{issuey}/issue?startAt=120&maxResults=100")),
        1
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sprint_pages_without_total_and_issue_pages_without_is_last() {
    let (site, sprinty, issuey, _) = big_site();
    let sim = util::start(site).await;

    let (_, sprints) = get(
        &sim,
        &format!("/rest/agile/1.0/board/{sprinty}/sprint"),
        true,
    )
    .await;
    assert!(sprints.get("total").is_none(), "sprint page has no total");
    assert_eq!(sprints["isLast"], false);
    let (_, issues) = get(&sim, &format!("/rest/agile/1.0/board/{issuey}/issue"), true).await;
    assert!(issues.get("isLast").is_none(), "issue page has no isLast");
    assert_eq!(issues["total"], 130);
    sim.reset_counts();

    let (summary, dir) = sync_fresh(&sim).await;
    assert_ok(&summary);
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    let got = read_table(dir.path(), Table::BoardSprint);
    assert_eq!(count_where(&got, "BOARD_ID", sprinty), 55);
    let got = read_table(dir.path(), Table::BoardIssue);
    assert_eq!(count_where(&got, "BOARD_ID", issuey), 130);
    // Issue paging stopped by `total`: no request past the last page.
    assert_eq!(
        sim.request_count(&format!("/board/{issuey}/issue?startAt=200")),
        0
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_and_empty_pages_before_the_last_are_not_the_end() {
    let mut site = Site::empty();
    let p = site.add_project("HID", "Hidden things");
    let mut boards = Vec::new();
    for n in 0..130 {
        boards.push(site.add_board(BoardKind::Kanban, &format!("B{n}"), None));
    }
    // Boards 10..20 hidden: page 1 short. Boards 50..100 hidden: page 2 empty, not last.
    for b in boards[10..20].iter().chain(&boards[50..100]) {
        site.set_board_hidden(*b, true);
    }
    // Issues: page 1 short, page 2 entirely hidden, page 3 has the rest.
    let host = boards[0];
    let mut issues = Vec::new();
    for _ in 0..250 {
        issues.push(site.add_issue(host, p));
    }
    for i in issues[5..10].iter().chain(&issues[100..200]) {
        site.set_issue_hidden(*i, true);
    }
    let sim = util::start(site).await;

    let (_, page2) = get(&sim, "/rest/agile/1.0/board?startAt=50", true).await;
    assert_eq!(page2["values"].as_array().map(Vec::len), Some(0));
    assert_eq!(page2["isLast"], false);
    let (_, ipage2) = get(
        &sim,
        &format!("/rest/agile/1.0/board/{host}/issue?startAt=100"),
        true,
    )
    .await;
    assert_eq!(ipage2["issues"].as_array().map(Vec::len), Some(0));
    assert_eq!(ipage2["total"], 250);

    let (summary, dir) = sync_fresh(&sim).await;
    assert_ok(&summary);
    let exp = sim.expected_rows();
    assert_eq!(exp["BOARD"].len(), 70);
    assert_eq!(exp["BOARD_ISSUE"].len(), 145);
    assert_tables_match(dir.path(), &exp, &Table::ALL);
    let got = read_table(dir.path(), Table::Board);
    assert!(got.iter().any(|r| r["ID"] == boards[129]), "last page read");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boards_without_sprints_answer_400_and_the_product_asks_in_english() {
    let mut site = Site::empty();
    site.quirks.owner_language = "de".into();
    let p = site.add_project("SPR", "Sprints");
    let scrum = site.add_board(
        BoardKind::Scrum,
        "Scrum",
        site.project(p).map(BoardLocation::project),
    );
    site.add_sprint(scrum, SprintState::Active, "S1");
    let kanban = site.add_board(BoardKind::Kanban, "Kanban", None);
    let simple_without = site.add_board(BoardKind::Simple, "Simple without", None);
    if let Some(b) = site.board_mut(simple_without) {
        b.supports_sprints = false;
    }
    let simple_with = site.add_board(BoardKind::Simple, "Simple with", None);
    site.add_sprint(simple_with, SprintState::Future, "T1");
    let sim = util::start(site).await;

    // Without `Accept-Language: en` the message is translated; with it, it is English.
    let path = format!("/rest/agile/1.0/board/{kanban}/sprint");
    let (status, body) = get(&sim, &path, false).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errorMessages"][0],
        "Das Board unterstützt keine Sprints"
    );
    let (status, body) = get(&sim, &path, true).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errorMessages"][0],
        "The board does not support sprints"
    );
    sim.reset_counts();

    let (summary, dir) = sync_fresh(&sim).await;
    assert_ok(&summary);
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    for b in [kanban, simple_without] {
        assert_eq!(sim.request_count(&format!("/board/{b}/sprint")), 1);
    }
    let links = read_table(dir.path(), Table::BoardSprint);
    let boards: Vec<&Value> = links.iter().map(|r| &r["BOARD_ID"]).collect();
    assert_eq!(boards, [&Value::from(scrum), &Value::from(simple_with)]);

    // A 400 with any other message is not "no sprints": that board's listing fails.
    let translated = FaultAction::Status {
        status: 400,
        retry_after: None,
        body: r#"{"errorMessages":["Das Board unterstützt keine Sprints"],"errors":{}}"#.into(),
        content_type: "application/json".into(),
        headers: Vec::new(),
    };
    sim.faults()
        .inject(&format!("/board/{kanban}/sprint"), translated, 1);
    let cfg = util::config(&sim.base_url(), dir.path());
    let summary = util::sync(&cfg).await.expect("sync");
    assert_eq!(summary.exit_code(), 1);
    let f = &summary.report.failed_boards;
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].board_id, f[0].http_status), (kanban, Some(400)));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sprint_listed_on_several_boards_is_one_sprint_row() {
    let mut site = Site::empty();
    let a = site.add_board(BoardKind::Scrum, "A", None);
    let b = site.add_board(BoardKind::Scrum, "B", None);
    let c = site.add_board(BoardKind::Simple, "C", None);
    let shared = site.add_sprint(a, SprintState::Active, "Shared");
    site.add_sprint(b, SprintState::Closed, "Own");
    site.link_sprint(b, shared);
    site.link_sprint(c, shared);
    let sim = util::start(site).await;
    for board in [a, b, c] {
        let (_, page) = get(&sim, &format!("/rest/agile/1.0/board/{board}/sprint"), true).await;
        let ids: Vec<i64> = page["values"]
            .as_array()
            .expect("values")
            .iter()
            .filter_map(|s| s["id"].as_i64())
            .collect();
        assert!(ids.contains(&shared), "board {board} lists the sprint");
    }

    let (summary, dir) = sync_fresh(&sim).await;
    assert_ok(&summary);
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    let sprints = read_table(dir.path(), Table::Sprint);
    assert_eq!(count_where(&sprints, "ID", shared), 1);
    assert_eq!(sprints.len(), 2);
    let links = read_table(dir.path(), Table::BoardSprint);
    assert_eq!(count_where(&links, "SPRINT_ID", shared), 3);
    assert_eq!(
        sprints.iter().find(|s| s["ID"] == shared).expect("row")["ORIGIN_BOARD_ID"],
        a
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boards_without_location_in_a_user_or_over_several_projects() {
    let mut site = Site::empty();
    let p1 = site.add_project("ONE", "One");
    let p2 = site.add_project("TWO", "Two");
    let p3 = site.add_project("THR", "Three");
    let nowhere = site.add_board(BoardKind::Kanban, "Filter board", None);
    for p in [p1, p2, p3] {
        site.add_board_project(nowhere, p);
    }
    let user = site.add_board(
        BoardKind::Kanban,
        "Mine",
        Some(BoardLocation::user("712020:abc", "Some Body")),
    );
    let located = site.add_board(
        BoardKind::Scrum,
        "Located",
        site.project(p2).map(BoardLocation::project),
    );
    site.add_board_project(located, p3);
    let sim = util::start(site).await;
    let (_, raw) = get(&sim, &format!("/rest/agile/1.0/board/{nowhere}"), true).await;
    assert!(raw.get("location").is_none(), "served without location");

    let (summary, dir) = sync_fresh(&sim).await;
    assert_ok(&summary);
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    let boards = read_table(dir.path(), Table::Board);
    let row = |id: i64| boards.iter().find(|b| b["ID"] == id).expect("board row");
    for col in ["LOCATION_TYPE", "LOCATION_PROJECT_ID", "LOCATION_NAME"] {
        assert_eq!(row(nowhere)[col], Value::Null, "{col}");
    }
    assert_eq!(row(user)["LOCATION_TYPE"], "user");
    assert_eq!(row(user)["LOCATION_USER_ACCOUNT_ID"], "712020:abc");
    assert_eq!(row(user)["LOCATION_PROJECT_ID"], Value::Null);
    assert_eq!(row(located)["LOCATION_PROJECT_ID"], p2);
    let projects = read_table(dir.path(), Table::BoardProject);
    assert_eq!(count_where(&projects, "BOARD_ID", nowhere), 3);
    assert_eq!(count_where(&projects, "BOARD_ID", located), 2);
    assert_eq!(count_where(&projects, "BOARD_ID", user), 0);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_configuration_keeps_last_known_values_or_stays_null() {
    let mut site = Site::empty();
    let p = site.add_project("CFG", "Config");
    let ids: Vec<i64> = (0..4)
        .map(|n| site.add_board(BoardKind::Scrum, &format!("C{n}"), None))
        .collect();
    for b in &ids {
        site.add_issue(*b, p);
    }
    let never = ids[3];
    site.set_config_status(never, Some(404));
    let sim = util::start(site).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());

    let first = util::sync(&cfg).await.expect("first sync");
    assert_eq!(first.exit_code(), 0);
    let w = &first.report.config_warnings;
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!((w[0].board_id, w[0].http_status), (never, Some(404)));
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    let before = read_table(dir.path(), Table::Board);

    // Configuration becomes unreadable (and changes behind the wall).
    sim.edit(|s| {
        for (b, status) in ids.iter().zip([401u16, 403, 404]) {
            s.set_config_status(*b, Some(status));
            if let Some(board) = s.board_mut(*b) {
                board.config.filter_id += 500;
                board.config.rank_custom_field_id = Some(10999);
            }
        }
    });
    let second = util::sync(&cfg).await.expect("second sync");
    assert_eq!(second.exit_code(), 0);
    assert_eq!(second.report.status, Some(RunStatus::Ok));
    let mut warned: Vec<(i64, Option<u16>)> = second
        .report
        .config_warnings
        .iter()
        .map(|w| (w.board_id, w.http_status))
        .collect();
    warned.sort_unstable();
    assert_eq!(
        warned,
        [
            (ids[0], Some(401)),
            (ids[1], Some(403)),
            (ids[2], Some(404)),
            (never, Some(404))
        ]
    );
    for b in &ids {
        assert!(sim.request_count(&format!("/board/{b}/configuration")) >= 2);
    }
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    let after = read_table(dir.path(), Table::Board);
    assert_eq!(
        before, after,
        "last known values kept, never-read stays null"
    );
    let row = |id: i64| after.iter().find(|b| b["ID"] == id).expect("row").clone();
    assert_eq!(row(ids[0])["FILTER_ID"], 10000 + ids[0]);
    assert_eq!(row(ids[0])["RANK_CUSTOM_FIELD_ID"], 10019);
    assert_eq!(row(never)["FILTER_ID"], Value::Null);
    assert_eq!(row(never)["COLUMN_CONFIG"], Value::Null);
    // Issues of a board with last known config still get its rank field.
    let issues = read_table(dir.path(), Table::BoardIssue);
    let issue = |b: i64| issues.iter().find(|r| r["BOARD_ID"] == b).expect("issue");
    assert!(issue(ids[0])["RANK"].is_string());
    assert_eq!(issue(never)["RANK"], Value::Null);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issues_hidden_from_the_token_are_not_rows() {
    let mut site = Site::empty();
    let p = site.add_project("HID", "Hidden");
    let b = site.add_board(BoardKind::Kanban, "K", None);
    let issues: Vec<i64> = (0..20).map(|_| site.add_issue(b, p)).collect();
    let hidden = [issues[0], issues[7], issues[19]];
    for i in hidden {
        site.set_issue_hidden(i, true);
    }
    let sim = util::start(site).await;
    let (_, page) = get(&sim, &format!("/rest/agile/1.0/board/{b}/issue"), true).await;
    assert_eq!(page["total"], 20, "total counts hidden issues");
    assert_eq!(page["issues"].as_array().map(Vec::len), Some(17));

    let (summary, dir) = sync_fresh(&sim).await;
    assert_ok(&summary);
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    let got = read_table(dir.path(), Table::BoardIssue);
    assert_eq!(got.len(), 17);
    for i in hidden {
        assert_eq!(count_where(&got, "ISSUE_ID", i), 0);
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_future_sprints_and_goals() {
    let mut site = Site::empty();
    let p = site.add_project("TS", "Times");
    let b = site.add_board(BoardKind::Scrum, "Times", None);
    let offset = site.add_sprint(b, SprintState::Closed, "Offset style");
    let zulu = site.add_sprint(b, SprintState::Closed, "Zulu style");
    let future = site.add_sprint(b, SprintState::Future, "Future");
    let empty_goal = site.add_sprint(b, SprintState::Active, "Empty goal");
    let issue = site.add_issue(b, p);
    if let Some(s) = site.sprint_mut(offset) {
        s.start_date = Some("2015-04-11T15:22:00.000+10:00".into());
        s.goal = Some("Ship it".into());
    }
    if let Some(s) = site.sprint_mut(zulu) {
        s.start_date = Some("2015-04-11T05:22:00.000Z".into());
        s.goal = None;
    }
    if let Some(s) = site.sprint_mut(empty_goal) {
        s.goal = Some(String::new());
    }
    site.update_issue(issue, |i| i.updated = "2024-03-31T01:30:00.000+0100".into());
    let sim = util::start(site).await;
    let (_, page) = get(&sim, &format!("/rest/agile/1.0/board/{b}/sprint"), true).await;
    let served = |id: i64| {
        page["values"]
            .as_array()
            .and_then(|v| v.iter().find(|s| s["id"] == id))
            .cloned()
            .expect("served")
    };
    assert_eq!(served(offset)["startDate"], "2015-04-11T15:22:00.000+10:00");
    assert_eq!(served(zulu)["startDate"], "2015-04-11T05:22:00.000Z");
    assert!(served(future).get("startDate").is_none());
    assert!(served(future).get("endDate").is_none());
    assert!(served(zulu).get("goal").is_none());
    assert_eq!(served(empty_goal)["goal"], "");

    let (summary, dir) = sync_fresh(&sim).await;
    assert_ok(&summary);
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    let sprints = read_table(dir.path(), Table::Sprint);
    let row = |id: i64| sprints.iter().find(|s| s["ID"] == id).expect("row").clone();
    // 2015-04-11T05:22:00Z in microseconds.
    assert_eq!(row(offset)["START_DATE"], 1_428_729_720_000_000i64);
    assert_eq!(row(zulu)["START_DATE"], 1_428_729_720_000_000i64);
    for col in ["START_DATE", "END_DATE", "COMPLETE_DATE", "ACTIVATED_DATE"] {
        assert_eq!(row(future)[col], Value::Null, "{col}");
    }
    assert!(row(future)["CREATED_DATE"].is_i64());
    assert_eq!(row(empty_goal)["GOAL"], "");
    assert_eq!(row(zulu)["GOAL"], Value::Null);
    assert_eq!(row(offset)["GOAL"], "Ship it");
    let issues = read_table(dir.path(), Table::BoardIssue);
    // 2024-03-31T00:30:00Z in microseconds.
    assert_eq!(issues[0]["ISSUE_UPDATED"], 1_711_845_000_000_000i64);
    sim.shutdown().await;
}

/// A small site of three boards with issues, for the retry tests.
fn retry_site() -> (Site, Vec<i64>) {
    let mut site = Site::empty();
    let p = site.add_project("RT", "Retry");
    let boards: Vec<i64> = (0..3)
        .map(|n| site.add_board(BoardKind::Scrum, &format!("R{n}"), None))
        .collect();
    for b in &boards {
        site.add_sprint(*b, SprintState::Active, "S");
        for _ in 0..3 {
            site.add_issue(*b, p);
        }
    }
    (site, boards)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_429_with_retry_after_and_html_body_is_retried() {
    let (site, boards) = retry_site();
    let sim = util::start(site).await;
    let target = format!("/board/{}/issue", boards[1]);
    sim.faults().rate_limit(&target, 2, Some(1));

    let (summary, dir) = sync_fresh(&sim).await;
    assert_ok(&summary);
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    assert_eq!(sim.faults().pending(), 0, "both 429s were served");
    assert_eq!(sim.request_count(&target), 3);
    assert_eq!(summary.report.rate_limited, 2);
    assert!(summary.report.retries >= 2);
    assert!(summary.report.waited_ms >= 2000, "Retry-After honoured");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_503_with_retry_after_is_retried() {
    let (site, boards) = retry_site();
    let sim = util::start(site).await;
    let target = format!("/board/{}/sprint", boards[0]);
    sim.faults().unavailable(&target, 1, 1);

    let (summary, dir) = sync_fresh(&sim).await;
    assert_ok(&summary);
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    assert_eq!(sim.request_count(&target), 2);
    assert_eq!(summary.report.retries, 1);
    assert_eq!(summary.report.rate_limited, 0);
    assert!(summary.report.waited_ms >= 1000, "Retry-After honoured");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_of_5xx_are_retried_and_counted() {
    let (site, boards) = retry_site();
    let sim = util::start(site).await;
    sim.faults().status("/rest/agile/1.0/board?", 500, 2);
    sim.faults()
        .status(&format!("/board/{}/issue", boards[0]), 502, 3);
    sim.faults()
        .status(&format!("/board/{}/project", boards[1]), 504, 2);
    sim.faults()
        .status(&format!("/board/{}/configuration", boards[2]), 500, 1);

    let (summary, dir) = sync_fresh(&sim).await;
    assert_ok(&summary);
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    assert_eq!(sim.faults().pending(), 0, "every burst was served");
    assert_eq!(summary.report.retries, 8);
    assert_eq!(summary.report.rate_limited, 0);
    assert!(summary.report.config_warnings.is_empty());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn total_changing_mid_listing_fails_that_board_and_keeps_its_rows() {
    let mut site = Site::empty();
    let p = site.add_project("TOT", "Totals");
    let victim = site.add_board(BoardKind::Kanban, "Victim", None);
    let other = site.add_board(BoardKind::Kanban, "Other", None);
    let issues: Vec<i64> = (0..150).map(|_| site.add_issue(victim, p)).collect();
    site.add_issue(other, p);
    let sim = util::start(site).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());
    assert_ok(&util::sync(&cfg).await.expect("first sync"));
    let before = read_table(dir.path(), Table::BoardIssue);
    assert_eq!(count_where(&before, "BOARD_ID", victim), 150);

    sim.edit(|s| {
        s.delete_issue(issues[0]);
        s.rename_board(other, "Other renamed");
    });
    let page2 = format!("/board/{victim}/issue?startAt=100");
    sim.faults().shift_total(&page2, 1, 1);
    let summary = util::sync(&cfg).await.expect("second sync");
    assert_eq!(sim.faults().pending(), 0, "the shifted page was served");
    assert_eq!(summary.exit_code(), 1);
    assert_eq!(summary.report.status, Some(RunStatus::Partial));
    let f = &summary.report.failed_boards;
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].board_id, victim);
    assert!(f[0].endpoint.ends_with("/issue"), "{f:?}");
    assert!(f[0].message.contains("total"), "{f:?}");
    let after = read_table(dir.path(), Table::BoardIssue);
    assert_eq!(
        count_where(&after, "BOARD_ID", victim),
        150,
        "rows of the incomplete listing are kept"
    );
    assert_eq!(count_where(&after, "ISSUE_ID", issues[0]), 1);
    let boards = read_table(dir.path(), Table::Board);
    assert!(boards.iter().any(|b| b["NAME"] == "Other renamed"));

    // Without the fault the next run catches up.
    assert_ok(&util::sync(&cfg).await.expect("third sync"));
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_token_base_url_with_cloud_id_path_works() {
    let (site, _) = retry_site();
    let base = "/ex/jira/11111111-2222-4333-8444-555555555555";
    let sim = Simulator::start_with(
        site,
        util::auth(),
        SimOptions {
            base_path: base.into(),
            ..SimOptions::default()
        },
    )
    .await
    .expect("simulator starts");
    assert!(sim.base_url().ends_with(base));
    // Outside the base path the site does not answer.
    let bare = reqwest::Client::new()
        .get(format!("http://{}/rest/agile/1.0/board", sim.addr()))
        .basic_auth(EMAIL, Some(TOKEN))
        .send()
        .await
        .expect("answer");
    assert_eq!(bare.status().as_u16(), 404);
    sim.reset_counts();

    let (summary, dir) = sync_fresh(&sim).await;
    assert_ok(&summary);
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    let reqs = sim.requests();
    assert!(reqs.len() > 5);
    assert!(reqs.iter().all(|r| r.starts_with(base)), "{reqs:?}");
    sim.shutdown().await;
}
