//! Tests of the simulator over real HTTP on 127.0.0.1.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::*;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client builds")
}

struct Got {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).expect("body is JSON")
    }
}

async fn get_with(sim: &Simulator, path: &str, auth: &SimAuth, lang: Option<&str>) -> Got {
    let mut req = client()
        .get(format!("{}{}", sim.base_url(), path))
        .basic_auth(&auth.email, Some(&auth.token));
    if let Some(lang) = lang {
        req = req.header("Accept-Language", lang);
    }
    let resp = req.send().await.expect("request succeeds");
    Got {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        text: resp.text().await.expect("body reads"),
    }
}

async fn get(sim: &Simulator, path: &str) -> Got {
    get_with(sim, path, &SimAuth::test(), Some("en")).await
}

async fn start(site: Site) -> Simulator {
    Simulator::start(site, SimAuth::test())
        .await
        .expect("simulator starts")
}

/// A site with one scrum board holding `issues` issues and `sprints` sprints.
fn one_board_site(issues: usize, sprints: usize) -> (Site, i64, Vec<i64>) {
    let mut site = Site::empty();
    let p = site.add_project("AB", "Alpha Beta");
    let loc = BoardLocation::project(site.project(p).expect("project exists"));
    let b = site.add_board(BoardKind::Scrum, "AB board", Some(loc));
    for k in 0..sprints {
        let state = if k + 1 == sprints {
            SprintState::Future
        } else if k + 2 == sprints {
            SprintState::Active
        } else {
            SprintState::Closed
        };
        site.add_sprint(b, state, &format!("S{k}"));
    }
    let ids = (0..issues).map(|_| site.add_issue(b, p)).collect();
    (site, b, ids)
}

fn rows<'a>(t: &'a ExpectedTables, table: &str) -> &'a Vec<ExpectedRow> {
    t.get(table).expect("table present")
}

#[tokio::test]
async fn board_pages_are_capped_at_50_whatever_max_results_asks() {
    let mut site = Site::empty();
    for i in 0..120 {
        site.add_board(BoardKind::Kanban, &format!("B{i}"), None);
    }
    let sim = start(site).await;

    let first = get(&sim, "/rest/agile/1.0/board?maxResults=1000")
        .await
        .json();
    assert_eq!(first["values"].as_array().map(Vec::len), Some(50));
    assert_eq!(first["maxResults"], 50);
    assert_eq!(first["total"], 120);
    assert_eq!(first["isLast"], false);

    let last = get(&sim, "/rest/agile/1.0/board?startAt=100&maxResults=50")
        .await
        .json();
    assert_eq!(last["values"].as_array().map(Vec::len), Some(20));
    assert_eq!(last["isLast"], true);

    let small = get(&sim, "/rest/agile/1.0/board?maxResults=7").await.json();
    assert_eq!(small["maxResults"], 7);
    assert_eq!(small["values"].as_array().map(Vec::len), Some(7));
    sim.shutdown().await;
}

#[tokio::test]
async fn issue_pages_are_capped_at_100_and_have_no_is_last() {
    let (site, b, ids) = one_board_site(250, 0);
    let sim = start(site).await;

    let page = get(
        &sim,
        &format!("/rest/agile/1.0/board/{b}/issue?maxResults=500"),
    )
    .await
    .json();
    assert_eq!(page["maxResults"], 100);
    assert_eq!(page["total"], 250);
    assert!(page.get("isLast").is_none(), "issue pages carry no isLast");
    let issues = page["issues"].as_array().expect("issues array");
    assert_eq!(issues.len(), 100);
    assert_eq!(
        issues[0]["id"],
        Value::from(ids[0].to_string()),
        "issue ids are strings"
    );

    sim.edit(|s| s.quirks.issue_is_last = true);
    let page = get(
        &sim,
        &format!("/rest/agile/1.0/board/{b}/issue?startAt=200"),
    )
    .await
    .json();
    assert_eq!(page["isLast"], true, "quirk switched off");
    sim.shutdown().await;
}

#[tokio::test]
async fn sprint_pages_have_no_total_and_list_closed_active_future() {
    let (site, b, _) = one_board_site(0, 60);
    let sim = start(site).await;

    let first = get(
        &sim,
        &format!("/rest/agile/1.0/board/{b}/sprint?maxResults=100"),
    )
    .await
    .json();
    assert!(first.get("total").is_none());
    assert_eq!(first["maxResults"], 50);
    assert_eq!(first["isLast"], false);
    let second = get(
        &sim,
        &format!("/rest/agile/1.0/board/{b}/sprint?startAt=50"),
    )
    .await
    .json();
    assert_eq!(second["isLast"], true);
    let states: Vec<String> = first["values"]
        .as_array()
        .into_iter()
        .chain(second["values"].as_array())
        .flatten()
        .map(|s| s["state"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(states.len(), 60);
    assert_eq!(states[57], "closed");
    assert_eq!(states[58], "active");
    assert_eq!(states[59], "future");
    let future = &second["values"][9];
    assert!(future.get("startDate").is_none() && future.get("endDate").is_none());

    sim.edit(|s| s.quirks.sprint_total = true);
    let page = get(&sim, &format!("/rest/agile/1.0/board/{b}/sprint"))
        .await
        .json();
    assert_eq!(page["total"], 60);
    sim.shutdown().await;
}

#[tokio::test]
async fn hidden_issues_make_short_and_empty_pages_that_are_not_last() {
    let (mut site, b, ids) = one_board_site(300, 0);
    for id in &ids[100..200] {
        site.set_issue_hidden(*id, true);
    }
    site.set_issue_hidden(ids[5], true);
    let sim = start(site).await;

    let p0 = get(&sim, &format!("/rest/agile/1.0/board/{b}/issue"))
        .await
        .json();
    assert_eq!(
        p0["issues"].as_array().map(Vec::len),
        Some(99),
        "short page"
    );
    assert_eq!(p0["total"], 300);
    let p1 = get(
        &sim,
        &format!("/rest/agile/1.0/board/{b}/issue?startAt=100"),
    )
    .await
    .json();
    assert_eq!(p1["issues"].as_array().map(Vec::len), Some(0), "empty page");
    assert_eq!(p1["total"], 300, "startAt < total: not the end");
    let p2 = get(
        &sim,
        &format!("/rest/agile/1.0/board/{b}/issue?startAt=200"),
    )
    .await
    .json();
    assert_eq!(p2["issues"].as_array().map(Vec::len), Some(100));
    assert_eq!(rows(&sim.expected_rows(), "BOARD_ISSUE").len(), 199);

    sim.edit(|s| s.quirks.hide_after_cut = false);
    let p1 = get(
        &sim,
        &format!("/rest/agile/1.0/board/{b}/issue?startAt=100"),
    )
    .await
    .json();
    assert_eq!(p1["issues"].as_array().map(Vec::len), Some(99));
    assert_eq!(p1["total"], 199);
    sim.shutdown().await;
}

#[tokio::test]
async fn kanban_sprint_listing_answers_400_translated_unless_english() {
    let mut site = Site::empty();
    let k = site.add_board(BoardKind::Kanban, "K", None);
    let simple_no = site.add_board(BoardKind::Simple, "S1", None);
    site.board_mut(simple_no).expect("board").supports_sprints = false;
    let simple_yes = site.add_board(BoardKind::Simple, "S2", None);
    site.add_sprint(simple_yes, SprintState::Active, "S2 sprint");
    let sim = start(site).await;

    let en = get(&sim, &format!("/rest/agile/1.0/board/{k}/sprint")).await;
    assert_eq!(en.status, 400);
    assert_eq!(
        en.json(),
        serde_json::json!({"errorMessages":["The board does not support sprints"],"errors":{}})
    );
    let de = get_with(
        &sim,
        &format!("/rest/agile/1.0/board/{k}/sprint"),
        &SimAuth::test(),
        None,
    )
    .await;
    assert_eq!(de.status, 400);
    assert_ne!(
        de.json()["errorMessages"][0],
        "The board does not support sprints"
    );

    assert_eq!(
        get(&sim, &format!("/rest/agile/1.0/board/{simple_no}/sprint"))
            .await
            .status,
        400
    );
    let ok = get(&sim, &format!("/rest/agile/1.0/board/{simple_yes}/sprint")).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["values"].as_array().map(Vec::len), Some(1));
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_credentials_get_401() {
    let sim = start(Site::empty()).await;
    let bad = SimAuth {
        email: "sim@example.com".into(),
        token: "wrong".into(),
    };
    let got = get_with(&sim, "/rest/api/3/myself", &bad, Some("en")).await;
    assert_eq!(got.status, 401);
    assert!(got.json()["errorMessages"].is_array());

    let anonymous = client()
        .get(format!("{}/rest/agile/1.0/board", sim.base_url()))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status().as_u16(), 401);

    let me = get(&sim, "/rest/api/3/myself").await;
    assert_eq!(me.status, 200);
    assert!(me.json()["accountId"].is_string());
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limit_fault_sends_retry_after_and_html_then_recovers() {
    let (site, b, _) = one_board_site(3, 0);
    let sim = start(site).await;
    sim.faults().rate_limit("/issue", 1, Some(7));
    sim.faults().rate_limit("/project", 1, None);

    let limited = get(&sim, &format!("/rest/agile/1.0/board/{b}/issue")).await;
    assert_eq!(limited.status, 429);
    assert_eq!(
        limited.headers.get("retry-after").map(|v| v.as_bytes()),
        Some(&b"7"[..])
    );
    assert!(limited.text.starts_with("<html>"));
    assert_eq!(
        limited
            .headers
            .get("ratelimit-reason")
            .map(|v| v.as_bytes()),
        Some(&b"jira-burst-based"[..])
    );
    assert!(serde_json::from_str::<Value>(&limited.text).is_err());

    let after = get(&sim, &format!("/rest/agile/1.0/board/{b}/issue")).await;
    assert_eq!(after.status, 200, "rule used up");

    let no_header = get(&sim, &format!("/rest/agile/1.0/board/{b}/project")).await;
    assert_eq!(no_header.status, 429);
    assert!(no_header.headers.get("retry-after").is_none());

    sim.faults().unavailable("/board", 1, 3);
    let unavailable = get(&sim, "/rest/agile/1.0/board").await;
    assert_eq!(unavailable.status, 503);
    assert_eq!(
        unavailable.headers.get("retry-after").map(|v| v.as_bytes()),
        Some(&b"3"[..])
    );
    sim.faults().status("/board", 500, 1);
    assert_eq!(get(&sim, "/rest/agile/1.0/board").await.status, 500);
    assert_eq!(sim.faults().pending(), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn reset_fault_drops_the_connection_without_a_response() {
    let sim = start(Site::empty()).await;
    sim.faults().reset("/board", 1);
    let auth = SimAuth::test();
    let err = client()
        .get(format!("{}/rest/agile/1.0/board", sim.base_url()))
        .basic_auth(&auth.email, Some(&auth.token))
        .send()
        .await
        .expect_err("connection is reset");
    assert!(!err.is_timeout());
    assert_eq!(get(&sim, "/rest/agile/1.0/board").await.status, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn stall_fault_outlasts_the_client_timeout() {
    let sim = start(Site::empty()).await;
    sim.faults().stall("/board", Duration::from_secs(3), 1);
    let auth = SimAuth::test();
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let err = quick
        .get(format!("{}/rest/agile/1.0/board", sim.base_url()))
        .basic_auth(&auth.email, Some(&auth.token))
        .send()
        .await
        .expect_err("times out");
    assert!(err.is_timeout());
    sim.shutdown().await;
}

#[tokio::test]
async fn truncated_and_invalid_bodies() {
    let (site, b, _) = one_board_site(20, 0);
    let sim = start(site).await;
    let auth = SimAuth::test();
    let url = format!("{}/rest/agile/1.0/board/{b}/issue", sim.base_url());

    sim.faults().truncate("/issue", 1);
    let resp = client()
        .get(&url)
        .basic_auth(&auth.email, Some(&auth.token))
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.bytes().await.is_err(), "body aborted mid-way");

    sim.faults().invalid_json("/issue", 1);
    let got = get(&sim, &format!("/rest/agile/1.0/board/{b}/issue")).await;
    assert_eq!(got.status, 200);
    assert!(serde_json::from_str::<Value>(&got.text).is_err());
    assert!(got.text.starts_with('{'));

    let whole = get(&sim, &format!("/rest/agile/1.0/board/{b}/issue"))
        .await
        .json();
    assert_eq!(whole["issues"].as_array().map(Vec::len), Some(20));
    sim.shutdown().await;
}

#[tokio::test]
async fn total_can_change_mid_listing() {
    let (site, b, _) = one_board_site(150, 0);
    let sim = start(site).await;
    sim.faults().shift_total("startAt=100", 5, 1);
    let p0 = get(&sim, &format!("/rest/agile/1.0/board/{b}/issue"))
        .await
        .json();
    let p1 = get(
        &sim,
        &format!("/rest/agile/1.0/board/{b}/issue?startAt=100"),
    )
    .await
    .json();
    assert_eq!(p0["total"], 150);
    assert_eq!(p1["total"], 155);
    sim.shutdown().await;
}

#[tokio::test]
async fn scoped_token_401_and_base_path() {
    let (site, b, _) = one_board_site(1, 1);
    let options = SimOptions {
        base_path: "/ex/jira/0000-cloud".into(),
        ..SimOptions::default()
    };
    let sim = Simulator::start_with(site, SimAuth::test(), options)
        .await
        .expect("starts");
    assert!(sim.base_url().ends_with("/ex/jira/0000-cloud"));
    assert_eq!(get(&sim, "/rest/api/3/myself").await.status, 200);

    let root = format!("http://{}/rest/api/3/myself", sim.addr());
    let auth = SimAuth::test();
    let outside = client()
        .get(root)
        .basic_auth(&auth.email, Some(&auth.token))
        .send()
        .await
        .expect("request");
    assert_eq!(outside.status().as_u16(), 404);

    sim.faults().scope_mismatch("/configuration");
    let scoped = get(&sim, &format!("/rest/agile/1.0/board/{b}/configuration")).await;
    assert_eq!(scoped.status, 401);
    assert_eq!(
        scoped.json(),
        serde_json::json!({"code":401,"message":"Unauthorized; scope does not match"})
    );
    assert_eq!(
        get(&sim, "/rest/api/3/myself").await.status,
        200,
        "myself passes"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn unreadable_configuration_keeps_the_last_served_values() {
    let (mut site, b, _) = one_board_site(2, 1);
    let never = site.add_board(BoardKind::Scrum, "never readable", None);
    site.set_config_status(never, Some(403));
    let sim = start(site).await;

    assert_eq!(
        get(
            &sim,
            &format!("/rest/agile/1.0/board/{never}/configuration")
        )
        .await
        .status,
        403
    );
    let config = get(&sim, &format!("/rest/agile/1.0/board/{b}/configuration"))
        .await
        .json();
    assert_eq!(config["filter"]["id"], Value::from((10000 + b).to_string()));
    assert_eq!(config["ranking"]["rankCustomFieldId"], 10019);

    sim.edit(|s| s.set_config_status(b, Some(401)));
    assert_eq!(
        get(&sim, &format!("/rest/agile/1.0/board/{b}/configuration"))
            .await
            .status,
        401
    );
    let expected = sim.expected_rows();
    let boards = rows(&expected, "BOARD");
    let row_b = boards.iter().find(|r| r["ID"] == b).expect("board row");
    let row_never = boards.iter().find(|r| r["ID"] == never).expect("board row");
    assert_eq!(row_b["FILTER_ID"], 10000 + b, "last served config kept");
    assert_eq!(row_never["FILTER_ID"], Value::Null);
    assert_eq!(row_never["ESTIMATION_FIELD_ID"], Value::Null);

    // The pure model has never served anything.
    let model_only = sim.site().expected_rows();
    let row_b = rows(&model_only, "BOARD")
        .iter()
        .find(|r| r["ID"] == b)
        .cloned();
    assert_eq!(row_b.map(|r| r["FILTER_ID"].clone()), Some(Value::Null));
    sim.shutdown().await;
}

#[tokio::test]
async fn edits_change_served_data_and_expected_rows() {
    let (mut site, b, ids) = one_board_site(5, 2);
    let p = site.add_project("CD", "Charlie Delta");
    let other = site.add_board(BoardKind::Scrum, "other", None);
    site.add_board_project(other, p);
    let sim = start(site).await;
    let active = sim.site().board(b).expect("board").sprints[0];
    sim.edit(|s| {
        s.update_issue(ids[0], |i| i.sprint_id = Some(active));
    });

    sim.edit(|s| {
        s.rename_board(b, "renamed");
        s.move_issue(ids[1], b, other);
        s.delete_issue(ids[2]);
        s.close_sprint(active);
        s.link_sprint(other, active);
    });
    let board = get(&sim, &format!("/rest/agile/1.0/board/{b}"))
        .await
        .json();
    assert_eq!(board["name"], "renamed");
    let issues = get(&sim, &format!("/rest/agile/1.0/board/{b}/issue"))
        .await
        .json();
    let served: Vec<&str> = issues["issues"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(served.len(), 3);
    let first = &issues["issues"][0]["fields"];
    assert_eq!(first["sprint"], Value::Null);
    assert_eq!(first["closedSprints"][0]["id"], active);
    assert_eq!(first["closedSprints"][0]["state"], "closed");

    let expected = sim.expected_rows();
    let keys: BTreeSet<(i64, i64)> = rows(&expected, "BOARD_ISSUE")
        .iter()
        .map(|r| {
            (
                r["BOARD_ID"].as_i64().unwrap_or(0),
                r["ISSUE_ID"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert!(keys.contains(&(other, ids[1])) && !keys.contains(&(b, ids[1])));
    assert!(!keys.iter().any(|k| k.1 == ids[2]));
    let moved_row = rows(&expected, "BOARD_ISSUE")
        .iter()
        .find(|r| r["ISSUE_ID"] == ids[0])
        .expect("row");
    assert_eq!(moved_row["CLOSED_SPRINT_IDS"], serde_json::json!([active]));
    assert_eq!(moved_row["SPRINT_ID"], Value::Null);
    assert!(rows(&expected, "BOARD")
        .iter()
        .any(|r| r["NAME"] == "renamed"));
    assert_eq!(
        rows(&expected, "BOARD_SPRINT").len(),
        3,
        "shared sprint listed twice"
    );
    assert_eq!(rows(&expected, "SPRINT").len(), 2, "one row per sprint id");

    sim.edit(|s| {
        s.unlink_sprint(other, active);
        s.delete_board(other);
    });
    assert_eq!(
        get(&sim, &format!("/rest/agile/1.0/board/{other}"))
            .await
            .status,
        404
    );
    let expected = sim.expected_rows();
    assert!(!rows(&expected, "BOARD_PROJECT")
        .iter()
        .any(|r| r["BOARD_ID"] == other));
    assert_eq!(rows(&expected, "BOARD_SPRINT").len(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn fields_parameter_limits_the_served_fields() {
    let (mut site, b, ids) = one_board_site(1, 0);
    site.update_issue(ids[0], |i| {
        i.custom_fields
            .insert("customfield_10016".into(), Value::from(5.0));
    });
    let sim = start(site).await;
    let page = get(
        &sim,
        &format!("/rest/agile/1.0/board/{b}/issue?fields=status,customfield_10016,customfield_99999&jql=ORDER%20BY%20id"),
    )
    .await
    .json();
    let issue = &page["issues"][0];
    assert!(issue["id"].is_string() && issue["key"].is_string() && issue["self"].is_string());
    let keys: Vec<&String> = issue["fields"]
        .as_object()
        .expect("fields")
        .keys()
        .collect();
    assert_eq!(keys, ["status", "customfield_10016", "customfield_99999"]);
    assert_eq!(issue["fields"]["customfield_10016"], 5.0);
    assert_eq!(issue["fields"]["customfield_99999"], Value::Null);
    assert_eq!(issue["fields"]["status"]["id"], "10000");

    let filtered = get(
        &sim,
        &format!("/rest/agile/1.0/board/{b}/issue?jql=project%3DAB"),
    )
    .await;
    assert_eq!(filtered.status, 400, "JQL filters are refused, not ignored");
    sim.shutdown().await;
}

#[tokio::test]
async fn timestamps_use_both_jira_styles() {
    let mut site = Site::generate(&SiteSpec::demo());
    site.quirks.page_cap = 50;
    let sprint_re = |s: &str| s.ends_with('Z') || s.as_bytes().get(s.len() - 3) == Some(&b':');
    let mut zulu = 0;
    let mut colon = 0;
    for b in site.boards() {
        for s in &b.sprints {
            if let Some(d) = site.sprint(*s).and_then(|s| s.start_date.clone()) {
                assert!(sprint_re(&d), "{d}");
                assert!(d.contains(".000"));
                if d.ends_with('Z') {
                    zulu += 1;
                } else {
                    colon += 1;
                }
            }
        }
    }
    assert!(zulu > 0 && colon > 0);
    let issue = site.issue(10_000).expect("first issue");
    let tail = &issue.updated[issue.updated.len() - 5..];
    assert!(tail.starts_with('+') || tail.starts_with('-'));
    assert!(
        !tail.contains(':'),
        "issue offsets have no colon: {}",
        issue.updated
    );
}

#[test]
fn demo_site_has_every_quirk() {
    let site = Site::generate(&SiteSpec::demo());
    let boards: Vec<&Board> = site.boards().collect();
    assert!(boards.len() >= 30);
    assert!(boards.iter().any(|b| b.location.is_none()));
    assert!(boards.iter().any(|b| b.projects.len() > 1));
    assert!(boards.iter().any(|b| b.kind == BoardKind::Kanban));
    assert!(boards
        .iter()
        .any(|b| b.kind == BoardKind::Simple && b.supports_sprints));
    assert!(boards
        .iter()
        .any(|b| b.kind == BoardKind::Simple && !b.supports_sprints));
    assert!(boards.iter().any(|b| b.config_status.is_some()));
    let mut sprint_boards: BTreeMap<i64, usize> = BTreeMap::new();
    for b in &boards {
        for s in &b.sprints {
            *sprint_boards.entry(*s).or_default() += 1;
        }
    }
    assert!(sprint_boards.values().any(|n| *n > 1), "a shared sprint");
    let expected = site.expected_rows();
    let issues = rows(&expected, "BOARD_ISSUE").len();
    assert!((1000..10_000).contains(&issues), "{issues}");
    assert!(rows(&expected, "SPRINT").iter().any(|r| r["GOAL"] == ""));
    assert!(rows(&expected, "SPRINT")
        .iter()
        .any(|r| r["START_DATE"].is_null()));
    assert!(site.issue_count() > issues / 2);
    assert!(
        rows(&expected, "SPRINT").iter().any(|r| !r["SELF"]
            .as_str()
            .unwrap_or("")
            .ends_with(&format!("/{}", r["ID"]))),
        "a sprint whose self names another id"
    );
    assert!(rows(&expected, "BOARD")
        .iter()
        .any(|r| r["LOCATION_TYPE"] == "user"));
    assert!(rows(&expected, "BOARD")
        .iter()
        .any(|r| r["IS_PRIVATE"].is_null()));
}

#[tokio::test]
async fn same_seed_serves_the_same_json() {
    let spec = SiteSpec::demo();
    assert_eq!(Site::generate(&spec), Site::generate(&spec));
    let other = SiteSpec {
        seed: 43,
        ..spec.clone()
    };
    assert_ne!(Site::generate(&spec), Site::generate(&other));

    let a = start(Site::generate(&spec)).await;
    let b = start(Site::generate(&spec)).await;
    for path in [
        "/rest/agile/1.0/board",
        "/rest/agile/1.0/board/1/issue",
        "/rest/agile/1.0/board/2/sprint",
    ] {
        let x = get(&a, path).await;
        let y = get(&b, path).await;
        assert_eq!((x.status, &x.text), (y.status, &y.text), "{path}");
    }
    assert_eq!(a.expected_rows(), b.expected_rows());
    a.shutdown().await;
    b.shutdown().await;
}

/// A few BOARD_ISSUE columns read straight from served issue fields (test-only mapping).
fn served_issue_columns(f: &Value) -> Vec<(String, Value)> {
    let num = |v: &Value| -> Value {
        v.as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .map_or(Value::Null, Value::from)
    };
    let closed: Vec<Value> = f["closedSprints"]
        .as_array()
        .map(|a| a.iter().map(|s| s["id"].clone()).collect())
        .unwrap_or_default();
    let updated = f["updated"].as_str().expect("updated served");
    let micros = chrono::DateTime::parse_from_str(updated, "%Y-%m-%dT%H:%M:%S%.3f%z")
        .expect("issue timestamp style")
        .timestamp_micros();
    vec![
        ("STATUS_ID".into(), num(&f["status"]["id"])),
        ("PROJECT_ID".into(), num(&f["project"]["id"])),
        ("SPRINT_ID".into(), f["sprint"]["id"].clone()),
        (
            "CLOSED_SPRINT_IDS".into(),
            if closed.is_empty() {
                Value::Null
            } else {
                Value::Array(closed)
            },
        ),
        ("FLAGGED".into(), f["flagged"].clone()),
        ("PARENT_ID".into(), num(&f["parent"]["id"])),
        ("ISSUE_UPDATED".into(), Value::from(micros)),
    ]
}

/// Walk the whole site over HTTP the way JIRA-FACTS.md says and compare with the expected rows:
/// the simulator's served data and its expected rows must agree.
#[tokio::test]
async fn a_full_walk_finds_exactly_the_expected_rows() {
    let sim = start(Site::generate(&SiteSpec::demo())).await;
    let mut boards = Vec::new();
    let mut start_at = 0;
    loop {
        let page = get(&sim, &format!("/rest/agile/1.0/board?startAt={start_at}"))
            .await
            .json();
        boards.extend(page["values"].as_array().cloned().unwrap_or_default());
        if page["isLast"] == true {
            break;
        }
        start_at += page["maxResults"].as_u64().unwrap_or(50) as usize;
    }
    let expected = sim.expected_rows();
    let raws: Vec<Value> = rows(&expected, "BOARD")
        .iter()
        .map(|r| r["RAW"].clone())
        .collect();
    assert_eq!(boards, raws);

    let mut board_issues = BTreeSet::new();
    let mut served_rows = BTreeMap::new();
    let mut served_sprints = BTreeMap::new();
    let mut sprints = BTreeSet::new();
    for board in &boards {
        let id = board["id"].as_i64().expect("board id");
        let mut start_at = 0;
        loop {
            let page = get(
                &sim,
                &format!(
                    "/rest/agile/1.0/board/{id}/issue?startAt={start_at}\
                     &fields=status,project,sprint,closedSprints,flagged,parent,updated"
                ),
            )
            .await
            .json();
            let got = page["issues"].as_array().cloned().unwrap_or_default();
            for i in &got {
                let issue: i64 = i["id"].as_str().and_then(|s| s.parse().ok()).expect("id");
                board_issues.insert((id, issue));
                served_rows.insert((id, issue), served_issue_columns(&i["fields"]));
            }
            start_at += page["maxResults"].as_u64().unwrap_or(100) as usize;
            if start_at >= page["total"].as_u64().unwrap_or(0) as usize {
                break;
            }
        }
        let sprint_page = get(&sim, &format!("/rest/agile/1.0/board/{id}/sprint")).await;
        if sprint_page.status == 200 {
            for s in sprint_page.json()["values"]
                .as_array()
                .into_iter()
                .flatten()
            {
                sprints.insert(s["id"].as_i64().expect("sprint id"));
                served_sprints.insert(s["id"].as_i64().unwrap_or(0), s.clone());
            }
        }
    }
    let want: BTreeSet<(i64, i64)> = rows(&expected, "BOARD_ISSUE")
        .iter()
        .map(|r| {
            (
                r["BOARD_ID"].as_i64().unwrap_or(0),
                r["ISSUE_ID"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(board_issues, want);
    for r in rows(&expected, "BOARD_ISSUE") {
        let key = (
            r["BOARD_ID"].as_i64().unwrap_or(0),
            r["ISSUE_ID"].as_i64().unwrap_or(0),
        );
        let served = served_rows.get(&key).expect("served");
        for (column, value) in served {
            assert_eq!(&r[column.as_str()], value, "{column} of {key:?}");
        }
    }
    let want: BTreeSet<i64> = rows(&expected, "SPRINT")
        .iter()
        .filter_map(|r| r["ID"].as_i64())
        .collect();
    assert_eq!(sprints, want);
    for r in rows(&expected, "SPRINT") {
        let served = &served_sprints[&r["ID"].as_i64().unwrap_or(0)];
        assert_eq!(&r["RAW"], served);
        let start = served["startDate"].as_str().map(|d| {
            chrono::DateTime::parse_from_rfc3339(d)
                .expect("sprint timestamp style")
                .timestamp_micros()
        });
        assert_eq!(r["START_DATE"], start.map_or(Value::Null, Value::from));
        assert_eq!(
            r["GOAL"],
            served.get("goal").cloned().unwrap_or(Value::Null)
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn static_bodies_replay_recorded_payloads() {
    let sim = start(Site::empty()).await;
    let fixture = include_str!("../../tests/fixtures/jira/board_sprint_page_no_total.json");
    sim.set_static("/rest/agile/1.0/board/309/sprint", 200, fixture);
    sim.set_static(
        "/rest/agile/1.0/board/301/sprint",
        400,
        include_str!("../../tests/fixtures/jira/sprint_unsupported_400.json"),
    );
    let got = get(&sim, "/rest/agile/1.0/board/309/sprint?startAt=0").await;
    assert_eq!(got.status, 200);
    assert_eq!(got.text, fixture);
    assert_eq!(
        get(&sim, "/rest/agile/1.0/board/301/sprint").await.status,
        400
    );
    assert_eq!(
        get(&sim, "/rest/agile/1.0/board/309").await.status,
        404,
        "model answers the rest"
    );
    assert_eq!(sim.request_count("/board/309"), 2);
    assert_eq!(sim.total_requests(), 3);
    sim.reset_counts();
    assert_eq!(sim.total_requests(), 0);
    sim.shutdown().await;
}

#[test]
fn fixtures_keep_jira_id_types() {
    let issues: Value = serde_json::from_str(include_str!(
        "../../tests/fixtures/jira/board_issue_page.json"
    ))
    .expect("fixture is JSON");
    assert!(issues.get("isLast").is_none());
    assert!(issues["issues"][0]["id"].is_string());
    let boards: Value = serde_json::from_str(include_str!(
        "../../tests/fixtures/jira/board_list_page.json"
    ))
    .expect("fixture is JSON");
    assert!(boards["values"][0]["id"].is_i64());
    assert!(boards["values"][0].get("location").is_none());
}

#[tokio::test]
async fn large_site_generates_and_serves_quickly() {
    let started = Instant::now();
    let spec = SiteSpec {
        boards: 3000,
        issues_per_board: 100,
        ..SiteSpec::large()
    };
    let site = Site::generate(&spec);
    let generated = started.elapsed();
    eprintln!("TIMING generate {generated:?}");
    assert!(site.issue_count() > 250_000);
    let last_board = site.boards().last().map(|b| b.id).expect("boards");
    let sim = start(site).await;
    let page = get(&sim, "/rest/agile/1.0/board?startAt=2950").await.json();
    assert_eq!(page["isLast"], true);
    let issues = get(&sim, &format!("/rest/agile/1.0/board/{last_board}/issue")).await;
    assert_eq!(issues.status, 200);
    let rows_started = Instant::now();
    let expected = sim.expected_rows();
    assert!(rows(&expected, "BOARD_ISSUE").len() > 250_000);
    eprintln!(
        "TIMING rows {:?} total {:?}",
        rows_started.elapsed(),
        started.elapsed()
    );
    // Generous bounds: debug builds are slow; this guards against accidental O(n^2).
    assert!(generated < Duration::from_secs(30), "{generated:?}");
    assert!(rows_started.elapsed() < Duration::from_secs(30));
    sim.shutdown().await;
}

#[test]
fn timestamps_format_like_jira_and_parse_back() {
    use super::model::{issue_date, sprint_date};

    assert_eq!(
        sprint_date(1_428_729_720, 36_000),
        "2015-04-11T15:22:00.000+10:00"
    );
    assert_eq!(sprint_date(1_428_729_720, 0), "2015-04-11T05:22:00.000Z");
    assert_eq!(
        issue_date(1_711_845_000, 3600),
        "2024-03-31T01:30:00.000+0100"
    );
    assert_eq!(
        issue_date(1_711_845_000, -19_800),
        "2024-03-30T19:00:00.000-0530"
    );
}
