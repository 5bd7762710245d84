//! A small hand-built site whose expected rows are written out literally, column by column, so the
//! product is checked against values a person worked out rather than against the simulator's own
//! expected-row computation.

use jira_agile_sync::schema::Table;
use jira_agile_sync::simulator::{BoardKind, BoardLocation, Site, SprintState};
use serde_json::{json, Value};

use crate::util::{self, read_table, rows, Rows};

/// Boards: 1 scrum in project ALPHA (sprints, issues); 2 kanban without location over ALPHA and
/// BETA; 3 simple without sprints, located in a user; 4 scrum in BETA sharing sprint 2 with board 1.
fn site() -> Site {
    let mut site = Site::empty();
    let alpha = site.add_project("ALPHA", "Alpha");
    let beta = site.add_project("BETA", "Beta");
    let alpha_loc = site.project(alpha).map(BoardLocation::project);
    let beta_loc = site.project(beta).map(BoardLocation::project);

    let scrum = site.add_board(BoardKind::Scrum, "Alpha scrum", alpha_loc);
    let kanban = site.add_board(BoardKind::Kanban, "Beta kanban", None);
    site.add_board_project(kanban, alpha);
    site.add_board_project(kanban, beta);
    let user = site.add_board(
        BoardKind::Simple,
        "Personal board",
        Some(BoardLocation::user("712020:pat-0001", "Pat Person")),
    );
    let gamma = site.add_board(BoardKind::Scrum, "Gamma scrum", beta_loc);
    if let Some(b) = site.board_mut(kanban) {
        b.is_private = None;
    }
    if let Some(b) = site.board_mut(user) {
        b.is_private = Some(true);
        b.supports_sprints = false;
    }

    let s1 = site.add_sprint(scrum, SprintState::Closed, "Alpha 1");
    let s2 = site.add_sprint(scrum, SprintState::Active, "Alpha 2");
    let s3 = site.add_sprint(gamma, SprintState::Future, "Gamma 1");
    site.link_sprint(gamma, s2);
    if let Some(s) = site.sprint_mut(s1) {
        s.start_date = Some("2024-01-15T09:00:00.000+10:00".into());
        s.end_date = Some("2024-01-29T09:00:00.000+10:00".into());
        s.complete_date = Some("2024-01-29T17:30:00.000+10:00".into());
        s.created_date = Some("2024-01-08T09:00:00.000+10:00".into());
        s.activated_date = Some("2024-01-15T09:05:00.000+10:00".into());
        s.goal = Some("Ship the MVP".into());
    }
    if let Some(s) = site.sprint_mut(s2) {
        s.start_date = Some("2024-01-29T00:00:00.000Z".into());
        s.end_date = Some("2024-02-12T00:00:00.000Z".into());
        s.complete_date = None;
        s.created_date = Some("2024-01-22T00:00:00.000Z".into());
        s.activated_date = Some("2024-01-29T00:01:00.000Z".into());
        s.goal = None;
    }
    if let Some(s) = site.sprint_mut(s3) {
        s.created_date = Some("2024-02-01T12:00:00.000Z".into());
        s.origin_board_id = None;
        s.goal = Some(String::new());
    }

    let a1 = site.add_issue(scrum, alpha);
    let a2 = site.add_issue(scrum, alpha);
    site.add_issue_to_board(kanban, a1);
    let b1 = site.add_issue(kanban, beta);
    let b2 = site.add_issue(gamma, beta);
    let b3 = site.add_issue(gamma, beta);
    site.set_issue_hidden(b3, true);
    let rank = |n: u32| Value::from(format!("0|i0000{n}:"));
    site.update_issue(a1, |i| {
        i.status_id = 3;
        i.sprint_id = Some(s2);
        i.closed_sprint_ids = vec![s1];
        i.flagged = true;
        i.custom_fields
            .insert("customfield_10016".into(), json!(5.0));
        i.custom_fields.insert("customfield_10019".into(), rank(1));
        i.updated = "2024-03-31T01:30:00.000+0100".into();
    });
    site.update_issue(a2, |i| {
        i.status_id = 10001;
        i.closed_sprint_ids = vec![s1];
        i.parent_id = Some(a1);
        i.custom_fields.insert("customfield_10019".into(), rank(2));
        i.updated = "2024-02-10T08:00:00.000-0800".into();
    });
    site.update_issue(b1, |i| {
        i.status_id = 1;
        i.custom_fields
            .insert("customfield_10016".into(), json!(3.0));
        i.custom_fields.insert("customfield_10019".into(), rank(3));
        i.updated = "2024-04-01T00:00:00.000+0000".into();
    });
    site.update_issue(b2, |i| {
        i.sprint_id = Some(s3);
        i.custom_fields
            .insert("customfield_10016".into(), json!(8.0));
        i.custom_fields.insert("customfield_10019".into(), rank(4));
        i.updated = "2024-04-02T10:00:00.000+0530".into();
    });
    site
}

const SITE: &str = "https://sim-site.atlassian.net";

fn column_config() -> Value {
    json!({
        "columns": [
            {"name": "To Do", "statuses": [{"id": "10000"}, {"id": "1"}]},
            {"name": "In Progress", "statuses": [{"id": "3"}, {"id": "10002"}]},
            {"name": "Done", "statuses": [{"id": "10001"}]}
        ],
        "constraintType": "issueCount"
    })
}

fn expected_boards() -> Rows {
    let cc = column_config();
    rows(
        Table::Board,
        json!([
            {
                "ID": 1, "NAME": "Alpha scrum", "TYPE": "scrum",
                "SELF": format!("{SITE}/rest/agile/1.0/board/1"), "IS_PRIVATE": false,
                "LOCATION_TYPE": "project", "LOCATION_PROJECT_ID": 10000,
                "LOCATION_PROJECT_KEY": "ALPHA", "LOCATION_PROJECT_NAME": "Alpha",
                "LOCATION_PROJECT_TYPE_KEY": "software", "LOCATION_DISPLAY_NAME": "Alpha (ALPHA)",
                "LOCATION_NAME": "Alpha (ALPHA)", "LOCATION_USER_ACCOUNT_ID": null,
                "FILTER_ID": 10001, "SUB_QUERY": null, "COLUMN_CONFIG": cc,
                "ESTIMATION_TYPE": "field", "ESTIMATION_FIELD_ID": "customfield_10016",
                "ESTIMATION_FIELD_NAME": "Story point estimate", "RANK_CUSTOM_FIELD_ID": 10019,
                "RAW": {
                    "id": 1, "self": format!("{SITE}/rest/agile/1.0/board/1"),
                    "name": "Alpha scrum", "type": "scrum", "isPrivate": false,
                    "location": {
                        "type": "project", "projectId": 10000, "displayName": "Alpha (ALPHA)",
                        "projectName": "Alpha", "projectKey": "ALPHA",
                        "projectTypeKey": "software", "name": "Alpha (ALPHA)"
                    }
                }
            },
            {
                "ID": 2, "NAME": "Beta kanban", "TYPE": "kanban",
                "SELF": format!("{SITE}/rest/agile/1.0/board/2"), "IS_PRIVATE": null,
                "LOCATION_TYPE": null, "LOCATION_PROJECT_ID": null,
                "LOCATION_PROJECT_KEY": null, "LOCATION_PROJECT_NAME": null,
                "LOCATION_PROJECT_TYPE_KEY": null, "LOCATION_DISPLAY_NAME": null,
                "LOCATION_NAME": null, "LOCATION_USER_ACCOUNT_ID": null,
                "FILTER_ID": 10002,
                "SUB_QUERY": "fixVersion in unreleasedVersions() OR fixVersion is EMPTY",
                "COLUMN_CONFIG": cc,
                "ESTIMATION_TYPE": null, "ESTIMATION_FIELD_ID": null,
                "ESTIMATION_FIELD_NAME": null, "RANK_CUSTOM_FIELD_ID": 10019,
                "RAW": {
                    "id": 2, "self": format!("{SITE}/rest/agile/1.0/board/2"),
                    "name": "Beta kanban", "type": "kanban"
                }
            },
            {
                "ID": 3, "NAME": "Personal board", "TYPE": "simple",
                "SELF": format!("{SITE}/rest/agile/1.0/board/3"), "IS_PRIVATE": true,
                "LOCATION_TYPE": "user", "LOCATION_PROJECT_ID": null,
                "LOCATION_PROJECT_KEY": null, "LOCATION_PROJECT_NAME": null,
                "LOCATION_PROJECT_TYPE_KEY": null, "LOCATION_DISPLAY_NAME": "Pat Person",
                "LOCATION_NAME": "Pat Person", "LOCATION_USER_ACCOUNT_ID": "712020:pat-0001",
                "FILTER_ID": 10003, "SUB_QUERY": null, "COLUMN_CONFIG": cc,
                "ESTIMATION_TYPE": "field", "ESTIMATION_FIELD_ID": "customfield_10016",
                "ESTIMATION_FIELD_NAME": "Story point estimate", "RANK_CUSTOM_FIELD_ID": 10019,
                "RAW": {
                    "id": 3, "self": format!("{SITE}/rest/agile/1.0/board/3"),
                    "name": "Personal board", "type": "simple", "isPrivate": true,
                    "location": {
                        "type": "user", "userAccountId": "712020:pat-0001",
                        "displayName": "Pat Person", "name": "Pat Person"
                    }
                }
            },
            {
                "ID": 4, "NAME": "Gamma scrum", "TYPE": "scrum",
                "SELF": format!("{SITE}/rest/agile/1.0/board/4"), "IS_PRIVATE": false,
                "LOCATION_TYPE": "project", "LOCATION_PROJECT_ID": 10001,
                "LOCATION_PROJECT_KEY": "BETA", "LOCATION_PROJECT_NAME": "Beta",
                "LOCATION_PROJECT_TYPE_KEY": "software", "LOCATION_DISPLAY_NAME": "Beta (BETA)",
                "LOCATION_NAME": "Beta (BETA)", "LOCATION_USER_ACCOUNT_ID": null,
                "FILTER_ID": 10004, "SUB_QUERY": null, "COLUMN_CONFIG": cc,
                "ESTIMATION_TYPE": "field", "ESTIMATION_FIELD_ID": "customfield_10016",
                "ESTIMATION_FIELD_NAME": "Story point estimate", "RANK_CUSTOM_FIELD_ID": 10019,
                "RAW": {
                    "id": 4, "self": format!("{SITE}/rest/agile/1.0/board/4"),
                    "name": "Gamma scrum", "type": "scrum", "isPrivate": false,
                    "location": {
                        "type": "project", "projectId": 10001, "displayName": "Beta (BETA)",
                        "projectName": "Beta", "projectKey": "BETA",
                        "projectTypeKey": "software", "name": "Beta (BETA)"
                    }
                }
            }
        ]),
    )
}

fn expected_sprints() -> Rows {
    rows(
        Table::Sprint,
        json!([
            {
                "ID": 1, "SELF": format!("{SITE}/rest/agile/1.0/sprint/1"), "STATE": "closed",
                "NAME": "Alpha 1",
                "START_DATE": 1_705_273_200_000_000i64,    // 2024-01-14T23:00:00Z
                "END_DATE": 1_706_482_800_000_000i64,      // 2024-01-28T23:00:00Z
                "COMPLETE_DATE": 1_706_513_400_000_000i64, // 2024-01-29T07:30:00Z
                "CREATED_DATE": 1_704_668_400_000_000i64,  // 2024-01-07T23:00:00Z
                "ACTIVATED_DATE": 1_705_273_500_000_000i64, // 2024-01-14T23:05:00Z
                "ORIGIN_BOARD_ID": 1, "GOAL": "Ship the MVP",
                "RAW": {
                    "id": 1, "self": format!("{SITE}/rest/agile/1.0/sprint/1"),
                    "state": "closed", "name": "Alpha 1",
                    "startDate": "2024-01-15T09:00:00.000+10:00",
                    "endDate": "2024-01-29T09:00:00.000+10:00",
                    "completeDate": "2024-01-29T17:30:00.000+10:00",
                    "createdDate": "2024-01-08T09:00:00.000+10:00",
                    "activatedDate": "2024-01-15T09:05:00.000+10:00",
                    "originBoardId": 1, "goal": "Ship the MVP"
                }
            },
            {
                "ID": 2, "SELF": format!("{SITE}/rest/agile/1.0/sprint/2"), "STATE": "active",
                "NAME": "Alpha 2",
                "START_DATE": 1_706_486_400_000_000i64,    // 2024-01-29T00:00:00Z
                "END_DATE": 1_707_696_000_000_000i64,      // 2024-02-12T00:00:00Z
                "COMPLETE_DATE": null,
                "CREATED_DATE": 1_705_881_600_000_000i64,  // 2024-01-22T00:00:00Z
                "ACTIVATED_DATE": 1_706_486_460_000_000i64, // 2024-01-29T00:01:00Z
                "ORIGIN_BOARD_ID": 1, "GOAL": null,
                "RAW": {
                    "id": 2, "self": format!("{SITE}/rest/agile/1.0/sprint/2"),
                    "state": "active", "name": "Alpha 2",
                    "startDate": "2024-01-29T00:00:00.000Z",
                    "endDate": "2024-02-12T00:00:00.000Z",
                    "createdDate": "2024-01-22T00:00:00.000Z",
                    "activatedDate": "2024-01-29T00:01:00.000Z",
                    "originBoardId": 1
                }
            },
            {
                "ID": 3, "SELF": format!("{SITE}/rest/agile/1.0/sprint/3"), "STATE": "future",
                "NAME": "Gamma 1",
                "START_DATE": null, "END_DATE": null, "COMPLETE_DATE": null,
                "CREATED_DATE": 1_706_788_800_000_000i64, // 2024-02-01T12:00:00Z
                "ACTIVATED_DATE": null, "ORIGIN_BOARD_ID": null, "GOAL": "",
                "RAW": {
                    "id": 3, "self": format!("{SITE}/rest/agile/1.0/sprint/3"),
                    "state": "future", "name": "Gamma 1",
                    "createdDate": "2024-02-01T12:00:00.000Z", "goal": ""
                }
            }
        ]),
    )
}

fn expected_board_sprints() -> Rows {
    rows(
        Table::BoardSprint,
        json!([
            {"BOARD_ID": 1, "SPRINT_ID": 1},
            {"BOARD_ID": 1, "SPRINT_ID": 2},
            {"BOARD_ID": 4, "SPRINT_ID": 2},
            {"BOARD_ID": 4, "SPRINT_ID": 3}
        ]),
    )
}

fn expected_board_projects() -> Rows {
    let alpha = |board: i64| {
        json!({
            "BOARD_ID": board, "PROJECT_ID": 10000, "PROJECT_KEY": "ALPHA",
            "PROJECT_NAME": "Alpha", "PROJECT_TYPE_KEY": "software", "PROJECT_STYLE": "classic",
            "PROJECT_SIMPLIFIED": false
        })
    };
    let beta = |board: i64| {
        json!({
            "BOARD_ID": board, "PROJECT_ID": 10001, "PROJECT_KEY": "BETA",
            "PROJECT_NAME": "Beta", "PROJECT_TYPE_KEY": "software", "PROJECT_STYLE": "classic",
            "PROJECT_SIMPLIFIED": false
        })
    };
    rows(
        Table::BoardProject,
        json!([alpha(1), alpha(2), beta(2), beta(4)]),
    )
}

fn expected_board_issues() -> Rows {
    rows(
        Table::BoardIssue,
        json!([
            {
                "BOARD_ID": 1, "ISSUE_ID": 10000, "ISSUE_KEY": "ALPHA-1", "PROJECT_ID": 10000,
                "STATUS_ID": 3, "SPRINT_ID": 2, "CLOSED_SPRINT_IDS": [1], "FLAGGED": true,
                "PARENT_ID": null, "ESTIMATE": 5.0, "RANK": "0|i00001:",
                "ISSUE_UPDATED": 1_711_845_000_000_000i64 // 2024-03-31T00:30:00Z
            },
            {
                "BOARD_ID": 1, "ISSUE_ID": 10001, "ISSUE_KEY": "ALPHA-2", "PROJECT_ID": 10000,
                "STATUS_ID": 10001, "SPRINT_ID": null, "CLOSED_SPRINT_IDS": [1], "FLAGGED": false,
                "PARENT_ID": 10000, "ESTIMATE": null, "RANK": "0|i00002:",
                "ISSUE_UPDATED": 1_707_580_800_000_000i64 // 2024-02-10T16:00:00Z
            },
            {
                // The same issue on the kanban board: no estimation field there.
                "BOARD_ID": 2, "ISSUE_ID": 10000, "ISSUE_KEY": "ALPHA-1", "PROJECT_ID": 10000,
                "STATUS_ID": 3, "SPRINT_ID": 2, "CLOSED_SPRINT_IDS": [1], "FLAGGED": true,
                "PARENT_ID": null, "ESTIMATE": null, "RANK": "0|i00001:",
                "ISSUE_UPDATED": 1_711_845_000_000_000i64
            },
            {
                "BOARD_ID": 2, "ISSUE_ID": 10002, "ISSUE_KEY": "BETA-1", "PROJECT_ID": 10001,
                "STATUS_ID": 1, "SPRINT_ID": null, "CLOSED_SPRINT_IDS": null, "FLAGGED": false,
                "PARENT_ID": null, "ESTIMATE": null, "RANK": "0|i00003:",
                "ISSUE_UPDATED": 1_711_929_600_000_000i64 // 2024-04-01T00:00:00Z
            },
            {
                "BOARD_ID": 4, "ISSUE_ID": 10003, "ISSUE_KEY": "BETA-2", "PROJECT_ID": 10001,
                "STATUS_ID": 10000, "SPRINT_ID": 3, "CLOSED_SPRINT_IDS": null, "FLAGGED": false,
                "PARENT_ID": null, "ESTIMATE": 8.0, "RANK": "0|i00004:",
                "ISSUE_UPDATED": 1_712_032_200_000_000i64 // 2024-04-02T04:30:00Z
            }
        ]),
    )
}

fn assert_rows(got: &Rows, want: &Rows, table: Table) {
    assert_eq!(got.len(), want.len(), "{table}: row count");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g, w, "{table}: first differing row");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_built_site_yields_the_rows_written_out_here() {
    let sim = util::start(site()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());
    let summary = util::sync(&cfg).await.expect("sync");
    assert_eq!(summary.exit_code(), 0, "{:?}", summary.report.failed_boards);

    let d = dir.path();
    assert_rows(
        &read_table(d, Table::Board),
        &expected_boards(),
        Table::Board,
    );
    assert_rows(
        &read_table(d, Table::Sprint),
        &expected_sprints(),
        Table::Sprint,
    );
    assert_rows(
        &read_table(d, Table::BoardSprint),
        &expected_board_sprints(),
        Table::BoardSprint,
    );
    assert_rows(
        &read_table(d, Table::BoardProject),
        &expected_board_projects(),
        Table::BoardProject,
    );
    assert_rows(
        &read_table(d, Table::BoardIssue),
        &expected_board_issues(),
        Table::BoardIssue,
    );
    sim.shutdown().await;
}
