//! Recorded and hand-written Jira payloads replayed through the simulator's static bodies
//! ([`Simulator::set_static`]) into a full sync; the rows are checked against values written out
//! here.
//!
//! (a) The tool's own fixtures (`tests/fixtures/jira/source/` and `tests/fixtures/jira/replay/`).
//! (b) The public samples in `../shared/jira-samples` (skipped when that folder is missing).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jira_agile_sync::schema::Table;
use jira_agile_sync::simulator::{Simulator, Site};
use serde_json::{json, Value};

use crate::util::{self, read_table, rows, Rows};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jira")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Serve a file for every request whose path and query start with `prefix`.
fn serve(sim: &Simulator, prefix: &str, status: u16, file: &Path) {
    sim.set_static(prefix, status, read(file));
}

/// The object with `id` in the array `key` of a JSON file (the RAW a row must carry).
fn raw_item(file: &Path, key: &str, id: i64) -> Value {
    let page: Value = serde_json::from_str(&read(file)).expect("JSON fixture");
    page[key]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["id"] == id))
        .cloned()
        .unwrap_or_else(|| panic!("{} has no item {id}", file.display()))
}

/// The table's rows with the RAW column taken out (checked separately).
fn without_raw(mut rows: Rows) -> Rows {
    for r in &mut rows {
        r.remove("RAW");
    }
    rows
}

fn assert_rows(got: &Rows, want: &Rows, table: Table) {
    assert_eq!(got.len(), want.len(), "{table}: row count");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g, w, "{table}: first differing row");
    }
}

fn find(rows: &Rows, col: &str, id: i64) -> BTreeMap<String, Value> {
    rows.iter()
        .find(|r| r[col] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no row with {col} = {id}"))
}

async fn sync_replay(
    sim: &Simulator,
) -> (jira_agile_sync::pipeline::RunSummary, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());
    let summary = util::sync(&cfg).await.expect("sync");
    (summary, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_fixtures_replayed_into_a_full_sync() {
    let src = fixture_dir().join("source");
    let rep = fixture_dir().join("replay");
    let sim = util::start(Site::empty()).await;
    let b = "/rest/agile/1.0/board";
    serve(&sim, &format!("{b}?"), 200, &src.join("boards_page.json"));
    // Board 101: scrum with everything.
    serve(
        &sim,
        &format!("{b}/101/configuration"),
        200,
        &src.join("board_config_scrum.json"),
    );
    serve(
        &sim,
        &format!("{b}/101/project"),
        200,
        &src.join("projects_page.json"),
    );
    serve(
        &sim,
        &format!("{b}/101/sprint"),
        200,
        &src.join("sprints_page.json"),
    );
    serve(
        &sim,
        &format!("{b}/101/issue"),
        200,
        &src.join("issues_page.json"),
    );
    // Board 102: kanban without location.
    serve(
        &sim,
        &format!("{b}/102/configuration"),
        200,
        &src.join("board_config_kanban.json"),
    );
    // Board 103: simple, configuration forbidden, sharing sprint 502 with board 101.
    serve(
        &sim,
        &format!("{b}/103/configuration"),
        403,
        &rep.join("configuration_403.json"),
    );
    serve(
        &sim,
        &format!("{b}/103/project"),
        200,
        &rep.join("board_103_projects.json"),
    );
    serve(
        &sim,
        &format!("{b}/103/sprint"),
        200,
        &rep.join("board_103_sprints.json"),
    );
    serve(
        &sim,
        &format!("{b}/103/issue"),
        200,
        &rep.join("board_103_issues.json"),
    );
    // Board 104: kanban located in a user.
    serve(
        &sim,
        &format!("{b}/104/configuration"),
        200,
        &rep.join("board_104_configuration.json"),
    );
    for id in [102, 104] {
        serve(
            &sim,
            &format!("{b}/{id}/project"),
            200,
            &rep.join("empty_values_page.json"),
        );
        serve(
            &sim,
            &format!("{b}/{id}/sprint"),
            400,
            &rep.join("no_sprints_400.json"),
        );
        serve(
            &sim,
            &format!("{b}/{id}/issue"),
            200,
            &rep.join("empty_issues_page.json"),
        );
    }

    let (summary, dir) = sync_replay(&sim).await;
    assert_eq!(summary.exit_code(), 0, "{:?}", summary.report.failed_boards);
    let w: Vec<(i64, Option<u16>)> = summary
        .report
        .config_warnings
        .iter()
        .map(|w| (w.board_id, w.http_status))
        .collect();
    assert_eq!(w, [(103, Some(403))]);
    let d = dir.path();

    let fx = "https://fixture.example.invalid";
    let boards = read_table(d, Table::Board);
    for id in [101, 102, 103, 104] {
        assert_eq!(
            find(&boards, "ID", id)["RAW"],
            raw_item(&src.join("boards_page.json"), "values", id),
            "RAW of board {id} is the object as served"
        );
    }
    let want_boards = rows(
        Table::Board,
        json!([
            {
                "ID": 101, "NAME": "Payments scrum", "TYPE": "scrum",
                "SELF": format!("{fx}/rest/agile/1.0/board/101"), "IS_PRIVATE": false,
                "LOCATION_TYPE": "project", "LOCATION_PROJECT_ID": 20001,
                "LOCATION_PROJECT_KEY": "PAY", "LOCATION_PROJECT_NAME": "Payments",
                "LOCATION_PROJECT_TYPE_KEY": "software",
                "LOCATION_DISPLAY_NAME": "Payments (PAY)", "LOCATION_NAME": "Payments (PAY)",
                "LOCATION_USER_ACCOUNT_ID": null, "FILTER_ID": 30001, "SUB_QUERY": null,
                "COLUMN_CONFIG": {
                    "columns": [
                        {"name": "To Do", "statuses": [{"id": "10000"}]},
                        {"name": "Doing", "statuses": [{"id": "3"}], "max": 4},
                        {"name": "Done", "statuses": [{"id": "10001"}]}
                    ],
                    "constraintType": "issueCount"
                },
                "ESTIMATION_TYPE": "field", "ESTIMATION_FIELD_ID": "customfield_10016",
                "ESTIMATION_FIELD_NAME": "Story point estimate", "RANK_CUSTOM_FIELD_ID": 10019
            },
            {
                "ID": 102, "NAME": "Cross-team kanban", "TYPE": "kanban",
                "SELF": format!("{fx}/rest/agile/1.0/board/102"), "IS_PRIVATE": null,
                "LOCATION_TYPE": null, "LOCATION_PROJECT_ID": null, "LOCATION_PROJECT_KEY": null,
                "LOCATION_PROJECT_NAME": null, "LOCATION_PROJECT_TYPE_KEY": null,
                "LOCATION_DISPLAY_NAME": null, "LOCATION_NAME": null,
                "LOCATION_USER_ACCOUNT_ID": null, "FILTER_ID": 30002,
                "SUB_QUERY": "fixVersion in unreleasedVersions() OR fixVersion is EMPTY",
                "COLUMN_CONFIG": {
                    "constraintType": "none", "columns": [{"name": "Backlog", "statuses": []}]
                },
                "ESTIMATION_TYPE": null, "ESTIMATION_FIELD_ID": null,
                "ESTIMATION_FIELD_NAME": null, "RANK_CUSTOM_FIELD_ID": 10019
            },
            {
                // A string projectId and no location type; configuration never readable.
                "ID": 103, "NAME": "Team board", "TYPE": "simple",
                "SELF": format!("{fx}/rest/agile/1.0/board/103"), "IS_PRIVATE": null,
                "LOCATION_TYPE": null, "LOCATION_PROJECT_ID": 20002,
                "LOCATION_PROJECT_KEY": "GRD", "LOCATION_PROJECT_NAME": "Gardening",
                "LOCATION_PROJECT_TYPE_KEY": "software",
                "LOCATION_DISPLAY_NAME": "Gardening (GRD)", "LOCATION_NAME": "Gardening (GRD)",
                "LOCATION_USER_ACCOUNT_ID": null, "FILTER_ID": null, "SUB_QUERY": null,
                "COLUMN_CONFIG": null, "ESTIMATION_TYPE": null, "ESTIMATION_FIELD_ID": null,
                "ESTIMATION_FIELD_NAME": null, "RANK_CUSTOM_FIELD_ID": null
            },
            {
                "ID": 104, "NAME": "My personal board", "TYPE": "kanban",
                "SELF": format!("{fx}/rest/agile/1.0/board/104"), "IS_PRIVATE": true,
                "LOCATION_TYPE": "user", "LOCATION_PROJECT_ID": null,
                "LOCATION_PROJECT_KEY": null, "LOCATION_PROJECT_NAME": null,
                "LOCATION_PROJECT_TYPE_KEY": null, "LOCATION_DISPLAY_NAME": "Fixture Person",
                "LOCATION_NAME": "Fixture Person",
                "LOCATION_USER_ACCOUNT_ID": "000000:aaaaaaaa-bbbb-cccc-dddd-000000000042",
                "FILTER_ID": 30004, "SUB_QUERY": "resolution = EMPTY",
                "COLUMN_CONFIG": {
                    "columns": [{"name": "Now", "statuses": [{"id": "3"}], "min": 1}],
                    "constraintType": "issueCountExclSubs"
                },
                "ESTIMATION_TYPE": null, "ESTIMATION_FIELD_ID": null,
                "ESTIMATION_FIELD_NAME": null, "RANK_CUSTOM_FIELD_ID": 10019
            }
        ]),
    );
    assert_rows(&without_raw(boards), &want_boards, Table::Board);

    let sprints = read_table(d, Table::Sprint);
    for id in [501, 502, 503, 504] {
        assert_eq!(
            find(&sprints, "ID", id)["RAW"],
            raw_item(&src.join("sprints_page.json"), "values", id)
        );
    }
    assert_eq!(
        find(&sprints, "ID", 601)["RAW"],
        raw_item(&rep.join("board_103_sprints.json"), "values", 601)
    );
    let want_sprints = rows(
        Table::Sprint,
        json!([
            {
                // `self` names sprint 499: the id comes from `id`, never from `self`.
                "ID": 501, "SELF": format!("{fx}/rest/agile/1.0/sprint/499"), "STATE": "closed",
                "NAME": "PAY Sprint 1",
                "START_DATE": 1_704_704_400_000_000i64,    // 2024-01-08T09:00:00Z
                "END_DATE": 1_705_914_000_000_000i64,      // 2024-01-22T09:00:00Z
                "COMPLETE_DATE": 1_705_941_000_000_000i64, // 2024-01-22T16:30:00Z
                "CREATED_DATE": 1_704_456_000_000_000i64,  // 2024-01-05T12:00:00Z
                "ACTIVATED_DATE": null, "ORIGIN_BOARD_ID": 101, "GOAL": "Ship card refunds"
            },
            {
                "ID": 502, "SELF": format!("{fx}/rest/agile/1.0/sprint/502"), "STATE": "active",
                "NAME": "PAY Sprint 2",
                "START_DATE": 1_705_968_000_000_000i64,   // 2024-01-23T00:00:00Z
                "END_DATE": 1_707_177_600_000_000i64,     // 2024-02-06T00:00:00Z
                "COMPLETE_DATE": null,
                "CREATED_DATE": 1_705_734_900_000_000i64, // 2024-01-20T07:15:00Z
                "ACTIVATED_DATE": null, "ORIGIN_BOARD_ID": 101, "GOAL": ""
            },
            {
                "ID": 503, "SELF": format!("{fx}/rest/agile/1.0/sprint/503"), "STATE": "future",
                "NAME": "PAY Sprint 3", "START_DATE": null, "END_DATE": null,
                "COMPLETE_DATE": null, "CREATED_DATE": null, "ACTIVATED_DATE": null,
                "ORIGIN_BOARD_ID": null, "GOAL": null
            },
            {
                "ID": 504, "SELF": null, "STATE": "future",
                "NAME": "Shared sprint from another board", "START_DATE": null,
                "END_DATE": null, "COMPLETE_DATE": null, "CREATED_DATE": null,
                "ACTIVATED_DATE": null, "ORIGIN_BOARD_ID": 999, "GOAL": null
            },
            {
                "ID": 601, "SELF": format!("{fx}/rest/agile/1.0/sprint/601"), "STATE": "active",
                "NAME": "Garden week",
                "START_DATE": 1_707_138_000_000_000i64,   // 2024-02-05T13:00:00Z
                "END_DATE": 1_708_347_600_000_000i64,     // 2024-02-19T13:00:00Z
                "COMPLETE_DATE": null,
                "CREATED_DATE": 1_706_745_600_000_000i64, // 2024-02-01T00:00:00Z
                "ACTIVATED_DATE": null, "ORIGIN_BOARD_ID": 103, "GOAL": null
            }
        ]),
    );
    assert_rows(&without_raw(sprints), &want_sprints, Table::Sprint);

    let want_links = rows(
        Table::BoardSprint,
        json!([
            {"BOARD_ID": 101, "SPRINT_ID": 501}, {"BOARD_ID": 101, "SPRINT_ID": 502},
            {"BOARD_ID": 101, "SPRINT_ID": 503}, {"BOARD_ID": 101, "SPRINT_ID": 504},
            {"BOARD_ID": 103, "SPRINT_ID": 502}, {"BOARD_ID": 103, "SPRINT_ID": 601}
        ]),
    );
    assert_rows(
        &read_table(d, Table::BoardSprint),
        &want_links,
        Table::BoardSprint,
    );

    let want_projects = rows(
        Table::BoardProject,
        json!([
            {
                "BOARD_ID": 101, "PROJECT_ID": 20001, "PROJECT_KEY": "PAY",
                "PROJECT_NAME": "Payments", "PROJECT_TYPE_KEY": "software",
                "PROJECT_STYLE": "classic", "PROJECT_SIMPLIFIED": false
            },
            {
                "BOARD_ID": 101, "PROJECT_ID": 20003, "PROJECT_KEY": "OPS",
                "PROJECT_NAME": "Operations", "PROJECT_TYPE_KEY": "service_desk",
                "PROJECT_STYLE": "next-gen", "PROJECT_SIMPLIFIED": true
            },
            {
                "BOARD_ID": 103, "PROJECT_ID": 20002, "PROJECT_KEY": "GRD",
                "PROJECT_NAME": "Gardening", "PROJECT_TYPE_KEY": "software",
                "PROJECT_STYLE": "next-gen", "PROJECT_SIMPLIFIED": true
            }
        ]),
    );
    assert_rows(
        &read_table(d, Table::BoardProject),
        &want_projects,
        Table::BoardProject,
    );

    // 2024-03-31T00:30:00Z, written in three styles (+0100, epoch ms, Z) and +0530.
    let t = 1_711_845_000_000_000i64;
    let want_issues = rows(
        Table::BoardIssue,
        json!([
            {
                "BOARD_ID": 101, "ISSUE_ID": 40001, "ISSUE_KEY": "PAY-1", "PROJECT_ID": 20001,
                "STATUS_ID": 10001, "SPRINT_ID": 502, "CLOSED_SPRINT_IDS": [501, 488],
                "FLAGGED": true, "PARENT_ID": 40000, "ESTIMATE": 5.0, "RANK": "0|i0008f:",
                "ISSUE_UPDATED": t
            },
            {
                "BOARD_ID": 101, "ISSUE_ID": 40002, "ISSUE_KEY": "PAY-2", "PROJECT_ID": 20001,
                "STATUS_ID": 3, "SPRINT_ID": null, "CLOSED_SPRINT_IDS": null, "FLAGGED": false,
                "PARENT_ID": null, "ESTIMATE": null, "RANK": "0|i0008h:", "ISSUE_UPDATED": t
            },
            {
                "BOARD_ID": 101, "ISSUE_ID": 40003, "ISSUE_KEY": "GRD-7", "PROJECT_ID": 20002,
                "STATUS_ID": 10000, "SPRINT_ID": null, "CLOSED_SPRINT_IDS": [],
                "FLAGGED": null, "PARENT_ID": null, "ESTIMATE": 2.5, "RANK": null,
                "ISSUE_UPDATED": t
            },
            {
                // Board 103's configuration was never readable: no rank field was asked for.
                "BOARD_ID": 103, "ISSUE_ID": 40003, "ISSUE_KEY": "GRD-7", "PROJECT_ID": 20002,
                "STATUS_ID": 10000, "SPRINT_ID": 601, "CLOSED_SPRINT_IDS": null,
                "FLAGGED": null, "PARENT_ID": null, "ESTIMATE": null, "RANK": null,
                "ISSUE_UPDATED": t
            }
        ]),
    );
    assert_rows(
        &read_table(d, Table::BoardIssue),
        &want_issues,
        Table::BoardIssue,
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_jira_samples_replayed_into_a_full_sync() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/jira-samples");
    if !samples.is_dir() {
        println!("skipped: ../shared/jira-samples not found");
        return;
    }
    let s = |name: &str| samples.join(name);
    let rep = fixture_dir().join("replay");
    let sim = util::start(Site::empty()).await;
    let b = "/rest/agile/1.0/board";

    // Per-board answers. Anything not named: an empty page (projects); configuration of the
    // boards without a sample answers 404.
    let mut statics: Vec<(String, u16, PathBuf)> =
        vec![(format!("{b}/"), 200, rep.join("empty_values_page.json"))];
    let mut add = |prefix: String, status: u16, file: PathBuf| statics.push((prefix, status, file));
    for id in [1, 4, 5, 6, 7, 9] {
        add(
            format!("{b}/{id}/configuration"),
            404,
            rep.join("configuration_403.json"),
        );
    }
    for id in [1, 5, 6, 7, 9, 92] {
        add(
            format!("{b}/{id}/issue"),
            200,
            rep.join("empty_issues_page.json"),
        );
        add(
            format!("{b}/{id}/sprint"),
            400,
            rep.join("no_sprints_400.json"),
        );
    }
    add(
        format!("{b}/84/configuration"),
        200,
        s("agile_board_configuration_scrum.spec-example.json"),
    );
    add(
        format!("{b}/92/configuration"),
        200,
        s("go-jira_agile_board_configuration_kanban.json"),
    );
    add(
        format!("{b}/84/project"),
        200,
        s("agile_board_project.spec-example.json"),
    );
    // Board 84's sprints: a first page without total, then a page repeating three of them.
    add(
        format!("{b}/84/sprint?startAt=0&"),
        200,
        s("jira-cli_agile_board_sprint_page1_no_total.json"),
    );
    add(
        format!("{b}/84/sprint?startAt=3&"),
        200,
        s("jira-cli_agile_board_sprint_no_self.json"),
    );
    // Board 4's sprints: the spec's middle page, then go-jira's sprints of every state.
    add(
        format!("{b}/4/sprint?startAt=0&"),
        200,
        s("agile_board_sprint.spec-example.json"),
    );
    add(
        format!("{b}/4/sprint?startAt=3&"),
        200,
        s("go-jira_agile_board_sprint_all_states.json"),
    );
    add(
        format!("{b}/84/issue"),
        200,
        s("agile_board_issue.spec-example.json"),
    );
    add(
        format!("{b}/4/issue"),
        200,
        s("go-jira_agile_sprint_issue_customfields.json"),
    );
    for (prefix, status, file) in &statics {
        serve(&sim, prefix, *status, file);
    }

    // Sync A: the spec's middle board page (startAt 1, maxResults 2, isLast false, total 5)
    // makes the product ask for startAt 3, where an empty last page with the same total ends it.
    serve(
        &sim,
        &format!("{b}?startAt=0&"),
        200,
        &s("agile_board_list.spec-example.json"),
    );
    serve(
        &sim,
        &format!("{b}?startAt=3&"),
        200,
        &rep.join("board_list_closing_page.json"),
    );
    let (summary, dir_a) = sync_replay(&sim).await;
    assert_eq!(summary.exit_code(), 0, "{:?}", summary.report.failed_boards);
    assert!(summary.report.config_warnings.is_empty());
    assert_eq!(
        sim.request_count("/rest/agile/1.0/board?startAt=3&maxResults=50"),
        1
    );

    // Sync B, into another directory: go-jira's board page (six boards, one with a location).
    sim.clear_static();
    serve(
        &sim,
        &format!("{b}?"),
        200,
        &s("go-jira_agile_board_list_mixed.json"),
    );
    for (prefix, status, file) in &statics {
        serve(&sim, prefix, *status, file);
    }
    let (summary, dir_b) = sync_replay(&sim).await;
    assert_eq!(summary.exit_code(), 0, "{:?}", summary.report.failed_boards);
    assert_eq!(summary.report.config_warnings.len(), 6);

    let (a, b) = (dir_a.path(), dir_b.path());

    // Boards: ids, locations (only board 1 has one, with an integer projectId), configuration.
    let ids = |d: &Path| -> Vec<i64> {
        read_table(d, Table::Board)
            .iter()
            .filter_map(|r| r["ID"].as_i64())
            .collect()
    };
    assert_eq!(ids(a), [84, 92]);
    assert_eq!(ids(b), [1, 4, 5, 6, 7, 9]);
    let boards = read_table(b, Table::Board);
    let one = find(&boards, "ID", 1);
    assert_eq!(one["LOCATION_PROJECT_ID"], 10000);
    assert_eq!(one["LOCATION_PROJECT_KEY"], "AP");
    assert_eq!(one["LOCATION_TYPE"], Value::Null);
    assert_eq!(one["FILTER_ID"], Value::Null);
    assert_eq!(one["SELF"], "https://test.jira.org/rest/agile/1.0/board/1");
    assert_eq!(find(&boards, "ID", 4)["LOCATION_NAME"], Value::Null);
    let boards = read_table(a, Table::Board);
    let scrum = find(&boards, "ID", 84);
    assert_eq!(scrum["LOCATION_PROJECT_ID"], Value::Null);
    assert_eq!(scrum["IS_PRIVATE"], Value::Null);
    assert_eq!(scrum["FILTER_ID"], 1001);
    assert_eq!(scrum["ESTIMATION_TYPE"], "field");
    assert_eq!(scrum["ESTIMATION_FIELD_ID"], "customfield_10002");
    assert_eq!(scrum["ESTIMATION_FIELD_NAME"], "Story Points");
    assert_eq!(scrum["RANK_CUSTOM_FIELD_ID"], 10020);
    assert_eq!(scrum["COLUMN_CONFIG"]["columns"][1]["min"], 2);
    let kanban = find(&boards, "ID", 92);
    assert_eq!(kanban["FILTER_ID"], 12116);
    assert_eq!(
        kanban["SUB_QUERY"],
        "fixVersion in unreleasedVersions() OR fixVersion is EMPTY"
    );
    assert_eq!(kanban["ESTIMATION_TYPE"], Value::Null);
    assert_eq!(kanban["RANK_CUSTOM_FIELD_ID"], 10002);

    // Sprints: ids from `id` (not `self`), both timestamp styles, absent dates and fields;
    // the three sprints repeated on board 84's second page count once.
    let sprint_ids = |d: &Path| -> Vec<i64> {
        read_table(d, Table::Sprint)
            .iter()
            .filter_map(|r| r["ID"].as_i64())
            .collect()
    };
    assert_eq!(sprint_ids(a), [1, 2, 3, 4, 5]);
    assert_eq!(sprint_ids(b), [37, 72, 740, 776, 807, 832, 845, 846]);
    let sprints = read_table(a, Table::Sprint);
    let s5 = find(&sprints, "ID", 5);
    assert_eq!(s5["SELF"], Value::Null);
    assert_eq!(s5["ORIGIN_BOARD_ID"], Value::Null);
    assert_eq!(s5["COMPLETE_DATE"], Value::Null);
    assert_eq!(s5["START_DATE"], 1_606_632_564_463_000i64); // 2020-11-29T06:49:24.463Z
    assert_eq!(s5["END_DATE"], 1_607_843_364_463_000i64); // 2020-12-13T07:09:24.463Z
    let s1 = find(&sprints, "ID", 1);
    assert_eq!(s1["START_DATE"], 1_605_418_764_463_000i64); // 2020-11-15T05:39:24.463Z
    assert_eq!(s1["ORIGIN_BOARD_ID"], 2);
    let sprints = read_table(b, Table::Sprint);
    let s37 = find(&sprints, "ID", 37);
    assert_eq!(
        s37["SELF"],
        "https://your-domain.atlassian.net/rest/agile/1.0/sprint/23"
    );
    assert_eq!(s37["START_DATE"], 1_428_729_720_000_000i64); // 2015-04-11T05:22:00Z
    assert_eq!(s37["END_DATE"], 1_429_456_920_000_000i64); // 2015-04-19T15:22:00Z
    assert_eq!(s37["COMPLETE_DATE"], 1_429_491_840_000_000i64); // 2015-04-20T01:04:00Z
    assert_eq!(s37["ORIGIN_BOARD_ID"], 5);
    assert_eq!(s37["GOAL"], "sprint 1 goal");
    let s72 = find(&sprints, "ID", 72);
    for col in ["START_DATE", "END_DATE", "COMPLETE_DATE", "CREATED_DATE"] {
        assert_eq!(s72[col], Value::Null, "{col}");
    }
    assert_eq!(s72["ORIGIN_BOARD_ID"], Value::Null);
    let s740 = find(&sprints, "ID", 740);
    assert_eq!(s740["START_DATE"], 1_460_384_943_294_000i64); // 2016-04-11T14:29:03.294Z
    let s832 = find(&sprints, "ID", 832);
    assert_eq!(s832["START_DATE"], 1_466_454_279_161_000i64); // 2016-06-20T20:24:39.161Z
    assert_eq!(s832["COMPLETE_DATE"], Value::Null);
    assert_eq!(find(&sprints, "ID", 845)["GOAL"], Value::Null);
    assert_eq!(find(&sprints, "ID", 846)["GOAL"], "My Goal");

    let links = |d: &Path, board: i64| {
        read_table(d, Table::BoardSprint)
            .iter()
            .filter(|r| r["BOARD_ID"] == board)
            .count()
    };
    assert_eq!((links(a, 84), links(a, 92)), (5, 0));
    assert_eq!((links(b, 4), links(b, 1)), (8, 0));

    let projects = read_table(a, Table::BoardProject);
    let keys: Vec<(&Value, &Value, &Value)> = projects
        .iter()
        .map(|r| (&r["BOARD_ID"], &r["PROJECT_ID"], &r["PROJECT_KEY"]))
        .collect();
    assert_eq!(
        keys,
        [
            (&json!(84), &json!(10000), &json!("EX")),
            (&json!(84), &json!(10001), &json!("ABC"))
        ]
    );
    assert_eq!(projects[0]["PROJECT_STYLE"], "classic");
    assert_eq!(projects[0]["PROJECT_SIMPLIFIED"], false);
    assert_eq!(projects[0]["PROJECT_TYPE_KEY"], Value::Null);
    assert!(read_table(b, Table::BoardProject).is_empty());

    // The spec's issue: numeric `updated` (epoch ms 1), no status; board 84's estimation and
    // rank fields (customfield_10002, customfield_10020) are absent from it.
    let want = rows(
        Table::BoardIssue,
        json!([{
            "BOARD_ID": 84, "ISSUE_ID": 10001, "ISSUE_KEY": "HSP-1", "PROJECT_ID": 10000,
            "STATUS_ID": null, "SPRINT_ID": 37, "CLOSED_SPRINT_IDS": [37],
            "FLAGGED": true, "PARENT_ID": null, "ESTIMATE": null, "RANK": null,
            "ISSUE_UPDATED": 1000
        }]),
    );
    assert_rows(&read_table(a, Table::BoardIssue), &want, Table::BoardIssue);
    // go-jira's issue on board 4 (configuration unreadable: no estimate, no rank).
    let want = rows(
        Table::BoardIssue,
        json!([{
            "BOARD_ID": 4, "ISSUE_ID": 12338, "ISSUE_KEY": "AR-86", "PROJECT_ID": 10302,
            "STATUS_ID": 10000, "SPRINT_ID": null, "CLOSED_SPRINT_IDS": null,
            "FLAGGED": null, "PARENT_ID": null, "ESTIMATE": null, "RANK": null,
            "ISSUE_UPDATED": 1_454_343_424_000_000i64 // 2016-02-01T16:17:04Z
        }]),
    );
    assert_rows(&read_table(b, Table::BoardIssue), &want, Table::BoardIssue);
    sim.shutdown().await;
}
