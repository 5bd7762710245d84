use std::path::{Path, PathBuf};

use super::*;
use crate::row::canonical_json;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/jira/source")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn col(table: Table, row: &Row, name: &str) -> Value {
    let i = table
        .def()
        .index_of(name)
        .unwrap_or_else(|| panic!("{table} has no column {name}"));
    row.values[i].clone()
}

fn ts(s: &str) -> Value {
    Value::Ts(parse_jira_timestamp(&Json::from(s)).expect("timestamp"))
}

fn scrum_config() -> BoardConfig {
    parse_board_config(&fixture("board_config_scrum.json")).expect("config")
}

#[test]
fn board_config_reads_filter_estimation_and_rank() {
    let c = scrum_config();
    assert_eq!(c.filter_id, Some(30001));
    assert_eq!(c.sub_query, None);
    assert_eq!(c.estimation_type.as_deref(), Some("field"));
    assert_eq!(c.estimation_field_id.as_deref(), Some("customfield_10016"));
    assert_eq!(
        c.estimation_field_name.as_deref(),
        Some("Story point estimate")
    );
    assert_eq!(c.rank_custom_field_id, Some(10019));
    assert!(c.column_config.is_some());

    let k = parse_board_config(&fixture("board_config_kanban.json")).expect("kanban config");
    assert_eq!(k.filter_id, Some(30002));
    assert_eq!(
        k.sub_query.as_deref(),
        Some("fixVersion in unreleasedVersions() OR fixVersion is EMPTY")
    );
    assert_eq!(k.estimation_field_id, None);
    assert_eq!(k.estimation_type, None);
}

#[test]
fn boards_map_with_and_without_location_and_config() {
    let t = Table::Board;
    let boards = parse_board_page(&fixture("boards_page.json")).expect("boards");
    assert_eq!(
        boards.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        vec![101, 102, 103, 104]
    );

    let cfg = scrum_config();
    let scrum = board_row(&boards[0].1, Some(&cfg)).expect("scrum row");
    assert_eq!(col(t, &scrum, "ID"), Value::Int(101));
    assert_eq!(col(t, &scrum, "TYPE"), Value::Str("scrum".into()));
    assert_eq!(col(t, &scrum, "IS_PRIVATE"), Value::Bool(false));
    assert_eq!(
        col(t, &scrum, "LOCATION_TYPE"),
        Value::Str("project".into())
    );
    assert_eq!(col(t, &scrum, "LOCATION_PROJECT_ID"), Value::Int(20001));
    assert_eq!(
        col(t, &scrum, "LOCATION_PROJECT_KEY"),
        Value::Str("PAY".into())
    );
    assert_eq!(
        col(t, &scrum, "LOCATION_DISPLAY_NAME"),
        Value::Str("Payments (PAY)".into())
    );
    assert_eq!(col(t, &scrum, "FILTER_ID"), Value::Int(30001));
    assert_eq!(col(t, &scrum, "SUB_QUERY"), Value::Null);
    assert_eq!(
        col(t, &scrum, "ESTIMATION_FIELD_ID"),
        Value::Str("customfield_10016".into())
    );
    assert_eq!(col(t, &scrum, "RANK_CUSTOM_FIELD_ID"), Value::Int(10019));
    let cc = col(t, &scrum, "COLUMN_CONFIG");
    assert!(matches!(&cc, Value::Json(s) if s.contains("\"constraintType\":\"issueCount\"")));
    assert_eq!(
        col(t, &scrum, "RAW"),
        Value::Json(canonical_json(&boards[0].1))
    );

    // No location, no configuration: location and config columns are NULL.
    let kanban = board_row(&boards[1].1, None).expect("kanban row");
    for c in [
        "IS_PRIVATE",
        "LOCATION_TYPE",
        "LOCATION_PROJECT_ID",
        "LOCATION_NAME",
        "FILTER_ID",
        "COLUMN_CONFIG",
        "RANK_CUSTOM_FIELD_ID",
    ] {
        assert_eq!(col(t, &kanban, c), Value::Null, "{c}");
    }
    assert_eq!(
        col(t, &kanban, "NAME"),
        Value::Str("Cross-team kanban".into())
    );

    // A project id sent as a string still maps; a user location keeps its account id.
    let simple = board_row(&boards[2].1, None).expect("simple row");
    assert_eq!(col(t, &simple, "LOCATION_PROJECT_ID"), Value::Int(20002));
    assert_eq!(col(t, &simple, "TYPE"), Value::Str("simple".into()));
    let user = board_row(&boards[3].1, None).expect("user row");
    assert_eq!(col(t, &user, "LOCATION_TYPE"), Value::Str("user".into()));
    assert_eq!(
        col(t, &user, "LOCATION_USER_ACCOUNT_ID"),
        Value::Str("000000:aaaaaaaa-bbbb-cccc-dddd-000000000042".into())
    );
    assert_eq!(col(t, &user, "LOCATION_PROJECT_ID"), Value::Null);
    assert_eq!(col(t, &user, "IS_PRIVATE"), Value::Bool(true));
}

#[test]
fn board_raw_ignores_key_order() {
    let a: Json = serde_json::from_str(r#"{"id":7,"name":"x","type":"kanban"}"#).expect("json");
    let b: Json = serde_json::from_str(r#"{ "type":"kanban", "name":"x", "id":7 }"#).expect("json");
    assert_eq!(board_row(&a, None), board_row(&b, None));
}

#[test]
fn projects_map_string_ids() {
    let t = Table::BoardProject;
    let rows = map_projects(101, &fixture("projects_page.json")).expect("projects");
    assert_eq!(rows.len(), 2);
    assert_eq!(col(t, &rows[0], "BOARD_ID"), Value::Int(101));
    assert_eq!(col(t, &rows[0], "PROJECT_ID"), Value::Int(20001));
    assert_eq!(col(t, &rows[0], "PROJECT_KEY"), Value::Str("PAY".into()));
    assert_eq!(
        col(t, &rows[0], "PROJECT_STYLE"),
        Value::Str("classic".into())
    );
    assert_eq!(col(t, &rows[0], "PROJECT_SIMPLIFIED"), Value::Bool(false));
    assert_eq!(
        col(t, &rows[1], "PROJECT_TYPE_KEY"),
        Value::Str("service_desk".into())
    );
    assert_eq!(col(t, &rows[1], "PROJECT_SIMPLIFIED"), Value::Bool(true));
}

#[test]
fn sprints_map_dates_goal_and_links() {
    let t = Table::Sprint;
    let (sprints, links) = map_sprints(101, &fixture("sprints_page.json")).expect("sprints");
    assert_eq!(sprints.len(), 4);
    assert_eq!(links.len(), 4);

    // The id comes from `id`, never from `self` (which names 499 here).
    assert_eq!(col(t, &sprints[0], "ID"), Value::Int(501));
    assert_eq!(
        col(t, &sprints[0], "COMPLETE_DATE"),
        ts("2024-01-22T16:30:00.000Z")
    );
    assert_eq!(col(t, &sprints[0], "ORIGIN_BOARD_ID"), Value::Int(101));

    // Both offset styles are UTC instants; an empty goal stays empty.
    assert_eq!(
        col(t, &sprints[1], "START_DATE"),
        ts("2024-01-23T00:00:00.000Z")
    );
    assert_eq!(
        col(t, &sprints[1], "CREATED_DATE"),
        ts("2024-01-20T07:15:00.000Z")
    );
    assert_eq!(col(t, &sprints[1], "COMPLETE_DATE"), Value::Null);
    assert_eq!(col(t, &sprints[1], "GOAL"), Value::Str(String::new()));

    // A future sprint has no dates and no goal.
    for c in ["START_DATE", "END_DATE", "COMPLETE_DATE", "GOAL"] {
        assert_eq!(col(t, &sprints[2], c), Value::Null, "{c}");
    }
    assert_eq!(col(t, &sprints[3], "SELF"), Value::Null);
    assert_eq!(col(t, &sprints[3], "ORIGIN_BOARD_ID"), Value::Int(999));

    assert_eq!(links[3].values, vec![Value::Int(101), Value::Int(504)]);
}

fn issue_fields() -> IssueFields {
    IssueFields::from_config(Some(&scrum_config()))
}

#[test]
fn issues_map_agile_fields_estimate_and_rank() {
    let t = Table::BoardIssue;
    let rows = map_issues(101, &fixture("issues_page.json"), &issue_fields()).expect("issues");
    assert_eq!(rows.len(), 3);

    let a = &rows[0];
    assert_eq!(col(t, a, "ISSUE_ID"), Value::Int(40001));
    assert_eq!(col(t, a, "ISSUE_KEY"), Value::Str("PAY-1".into()));
    assert_eq!(col(t, a, "PROJECT_ID"), Value::Int(20001));
    assert_eq!(col(t, a, "STATUS_ID"), Value::Int(10001));
    assert_eq!(col(t, a, "SPRINT_ID"), Value::Int(502));
    assert_eq!(
        col(t, a, "CLOSED_SPRINT_IDS"),
        Value::Json("[501,488]".into())
    );
    assert_eq!(col(t, a, "FLAGGED"), Value::Bool(true));
    assert_eq!(col(t, a, "PARENT_ID"), Value::Int(40000));
    assert_eq!(col(t, a, "ESTIMATE"), Value::Float(5.0));
    assert_eq!(col(t, a, "RANK"), Value::Str("0|i0008f:".into()));
    assert_eq!(col(t, a, "ISSUE_UPDATED"), ts("2024-03-31T00:30:00.000Z"));

    // Null sprint, absent closedSprints and parent, null estimate, epoch-ms `updated`.
    let b = &rows[1];
    assert_eq!(col(t, b, "SPRINT_ID"), Value::Null);
    assert_eq!(col(t, b, "CLOSED_SPRINT_IDS"), Value::Null);
    assert_eq!(col(t, b, "PARENT_ID"), Value::Null);
    assert_eq!(col(t, b, "ESTIMATE"), Value::Null);
    assert_eq!(col(t, b, "FLAGGED"), Value::Bool(false));
    assert_eq!(col(t, b, "ISSUE_UPDATED"), Value::Ts(1_711_845_000_000_000));

    // An empty closedSprints list stays `[]`; a numeric-string estimate maps; no rank sent.
    let c = &rows[2];
    assert_eq!(col(t, c, "CLOSED_SPRINT_IDS"), Value::Json("[]".into()));
    assert_eq!(col(t, c, "ESTIMATE"), Value::Float(2.5));
    assert_eq!(col(t, c, "RANK"), Value::Null);
    assert_eq!(col(t, c, "FLAGGED"), Value::Null);
}

#[test]
fn issues_without_board_fields_leave_estimate_and_rank_null() {
    let t = Table::BoardIssue;
    let rows =
        map_issues(101, &fixture("issues_page.json"), &IssueFields::default()).expect("issues");
    assert!(rows
        .iter()
        .all(|r| col(t, r, "ESTIMATE").is_null() && col(t, r, "RANK").is_null()));
}

#[test]
fn malformed_ids_name_the_field() {
    let err = map_issues(1, &fixture("issues_bad_id.json"), &IssueFields::default())
        .expect_err("issue id `PAY-1` is not an id");
    assert_eq!(
        err,
        MapError::BadId {
            field: "issues[].id".into()
        }
    );
    let err = map_projects(1, &fixture("projects_bad_id.json")).expect_err("object id");
    assert!(matches!(err, MapError::BadId { field } if field == "values[].id"));
    assert!(matches!(
        map_sprints(1, b"<html>busy</html>"),
        Err(MapError::Json(_))
    ));
    assert!(matches!(
        map_sprints(1, br#"{"isLast":true}"#),
        Err(MapError::Shape(_))
    ));
}

#[test]
fn page_item_count_counts_values_or_issues() {
    assert_eq!(page_item_count(&fixture("boards_page.json")), Ok(4));
    assert_eq!(page_item_count(&fixture("issues_page.json")), Ok(3));
    assert!(page_item_count(b"{}").is_err());
}

#[test]
fn dedup_keeps_first_row_per_key() {
    let rows = vec![
        Row::new(vec![Value::Int(1), Value::Int(2)]),
        Row::new(vec![Value::Int(1), Value::Int(3)]),
        Row::new(vec![Value::Int(1), Value::Int(2)]),
    ];
    let out = dedup_rows(Table::BoardSprint, rows);
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].values[1], Value::Int(3));
}

/// Every public sample that is an agile board, sprint, project or issue page maps, and each
/// row validates against its table.
#[test]
fn shared_samples_map() {
    let dir = PathBuf::from("/work/shared/jira-samples");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!(
            "{} not found; skipping the shared-sample test",
            dir.display()
        );
        return;
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();

    let fields = IssueFields {
        estimation_field_id: Some("customfield_10002".into()),
        rank_custom_field_id: Some(10009),
    };
    let mut mapped = 0;
    for name in &names {
        let body = std::fs::read(dir.join(name)).expect("read sample");
        if name.contains("board_list") {
            for (_, raw) in parse_board_page(&body).unwrap_or_else(|e| panic!("{name}: {e}")) {
                let row = board_row(&raw, None).unwrap_or_else(|e| panic!("{name}: {e}"));
                row.validate(Table::Board).expect("valid");
            }
        } else if name.contains("board_sprint") {
            let (s, l) = map_sprints(1, &body).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(s.len(), l.len());
            assert!(!s.is_empty(), "{name}: no sprints");
        } else if name.contains("board_project") {
            let p = map_projects(1, &body).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!p.is_empty(), "{name}: no projects");
        } else if name.contains("_issue") {
            let i = map_issues(1, &body, &fields).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!i.is_empty(), "{name}: no issues");
        } else if name.contains("board_configuration") {
            parse_board_config(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        } else {
            continue;
        }
        println!("mapped {name}");
        mapped += 1;
    }
    assert!(mapped > 0, "no agile page among the samples");
}
