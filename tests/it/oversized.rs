//! Values over 16 MiB (DESIGN.md section 7) under both strategies, locally and in Snowflake.

use jira_agile_sync::config::OversizedValueStrategy;
use jira_agile_sync::destination::snowflake::testkit::FakeSnow;
use jira_agile_sync::pipeline::{self, DataDir, RunStatus, Status};
use jira_agile_sync::schema::Table;

use crate::snowflake::{assert_destination_matches_local, read_snowflake, snowflake_config};
use crate::util::{self, read_table};

const BIG: usize = 17 * 1000 * 1000;

async fn site_with_big_goal() -> (jira_agile_sync::simulator::Simulator, i64) {
    let sim = util::start(util::site(21, 5, 5)).await;
    let sprint = sim
        .site()
        .boards()
        .find_map(|b| b.sprints.first().copied())
        .expect("a sprint");
    (sim, sprint)
}

fn set_goal(sim: &jira_agile_sync::simulator::Simulator, sprint: i64, goal: String) {
    sim.edit(|s| {
        if let Some(sp) = s.sprint_mut(sprint) {
            sp.goal = Some(goal);
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_null_writes_null_locally_and_in_snowflake() {
    let Some(fs) = FakeSnow::start() else { return };
    let (sim, sprint) = site_with_big_goal().await;
    set_goal(&sim, sprint, "g".repeat(BIG));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = util::config(&sim.base_url(), dir.path());
    let mut sf = snowflake_config(&fs, dir.path());
    sf.oversized_value_strategy = OversizedValueStrategy::SetNull;
    cfg.snowflake = Some(sf.clone());

    let summary = pipeline::sync_and_load(&cfg, &util::opts())
        .await
        .expect("sync");
    assert_eq!(
        summary.report.status,
        Some(RunStatus::Ok),
        "{:?}",
        summary.report.load_errors
    );
    // GOAL and the RAW object that carries it.
    assert_eq!(summary.report.oversized_nulled.get("SPRINT"), Some(&2));
    let local = read_table(dir.path(), Table::Sprint);
    let row = local
        .iter()
        .find(|r| r["ID"] == sprint)
        .expect("sprint row");
    assert!(
        row["GOAL"].is_null() && row["RAW"].is_null(),
        "oversized values are NULL"
    );
    assert!(!row["NAME"].is_null(), "other values stay");
    let remote = read_snowflake(&sf, Table::Sprint).await;
    let rrow = remote
        .iter()
        .find(|r| r["ID"] == sprint)
        .expect("sprint row in snowflake");
    assert!(rrow["GOAL"].is_null());
    assert_destination_matches_local(&sf, dir.path()).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_table_stops_the_table_until_reset_and_others_go_on() {
    let Some(fs) = FakeSnow::start() else { return };
    let (sim, sprint) = site_with_big_goal().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = util::config(&sim.base_url(), dir.path());
    let sf = snowflake_config(&fs, dir.path());
    cfg.snowflake = Some(sf.clone());
    let first = pipeline::sync_and_load(&cfg, &util::opts())
        .await
        .expect("sync");
    assert_eq!(first.exit_code(), 0, "{:?}", first.report.load_errors);
    let sprints_before = read_table(dir.path(), Table::Sprint);

    // A 17 MB goal and a board rename in the same run.
    set_goal(&sim, sprint, "g".repeat(BIG));
    let board = sim.site().boards().next().map(|b| b.id).expect("board");
    sim.edit(|s| s.rename_board(board, "Renamed while SPRINT failed"));
    let second = pipeline::sync_and_load(&cfg, &util::opts())
        .await
        .expect("sync");
    assert_eq!(second.exit_code(), 1);
    assert_eq!(second.report.failed_tables, vec!["SPRINT".to_string()]);
    let status = Status::read(&DataDir::new(dir.path())).expect("status");
    assert!(status.tables["SPRINT"].failed);
    assert!(!status.tables["BOARD"].failed);
    assert_eq!(
        read_table(dir.path(), Table::Sprint),
        sprints_before,
        "SPRINT stops updating"
    );
    let boards = read_table(dir.path(), Table::Board);
    assert!(
        boards
            .iter()
            .any(|b| b["NAME"] == "Renamed while SPRINT failed"),
        "others go on"
    );
    assert_destination_matches_local(&sf, dir.path()).await;

    // Still failed on the next run, even with the value fixed, until `reset`.
    set_goal(&sim, sprint, "short goal".into());
    let third = pipeline::sync_and_load(&cfg, &util::opts())
        .await
        .expect("sync");
    assert_eq!(third.exit_code(), 1);
    {
        let (_dd, _lock, store) = pipeline::open_writer(&cfg).expect("writer");
        pipeline::reset(&store).expect("reset");
    }
    let fourth = pipeline::sync_and_load(&cfg, &util::opts())
        .await
        .expect("sync");
    assert_eq!(fourth.exit_code(), 0, "{:?}", fourth.report);
    let status = Status::read(&DataDir::new(dir.path())).expect("status");
    assert!(!status.tables["SPRINT"].failed);
    util::assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    assert_destination_matches_local(&sf, dir.path()).await;
    sim.shutdown().await;
}
