//! Smoke tests against a real Jira Cloud site and a real Snowflake account. They run only when
//! their credentials are in the environment and say so when skipped:
//! - Jira: `JAS_LIVE_JIRA_URL`, `JAS_LIVE_JIRA_EMAIL`, `JAS_LIVE_JIRA_TOKEN`;
//! - Snowflake: `JAS_LIVE_SF_ACCOUNT`, `JAS_LIVE_SF_USER`, `JAS_LIVE_SF_PRIVATE_KEY_FILE`,
//!   `JAS_LIVE_SF_ROLE`, `JAS_LIVE_SF_WAREHOUSE`, `JAS_LIVE_SF_DATABASE`, `JAS_LIVE_SF_SCHEMA`
//!   (a schema of its own; the test loads a simulated site into it).

use std::time::Duration;

use jira_agile_sync::config::{Config, IngestionConfig, JiraConfig, Secret};
use jira_agile_sync::pipeline::{self, RunStatus};
use jira_agile_sync::schema::Table;
use jira_agile_sync::simulator::{Site, SiteSpec};

use crate::util;

fn vars(names: &[&str]) -> Option<Vec<String>> {
    let values: Vec<Option<String>> = names
        .iter()
        .map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
        .collect();
    if values.iter().all(Option::is_some) {
        Some(values.into_iter().flatten().collect())
    } else {
        eprintln!("skipped: set {} to run this live test", names.join(", "));
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_jira_site_syncs() {
    let Some(v) = vars(&[
        "JAS_LIVE_JIRA_URL",
        "JAS_LIVE_JIRA_EMAIL",
        "JAS_LIVE_JIRA_TOKEN",
    ]) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = Config {
        data_dir: dir.path().to_path_buf(),
        jira: Some(JiraConfig {
            environment_url: jira_agile_sync::config::parse_base_url("jira.environment_url", &v[0])
                .expect("url"),
            email: v[1].clone(),
            api_token: Secret::new(v[2].clone()),
            request_timeout: Duration::from_secs(30),
            max_retries: 6,
            max_retry_wait: Duration::from_secs(300),
            ca_file: None,
        }),
        ingestion: IngestionConfig::default(),
        snowflake: None,
    };
    let summary = util::sync(&cfg).await.expect("a live sync finishes");
    assert!(matches!(
        summary.report.status,
        Some(RunStatus::Ok | RunStatus::Partial)
    ));
    assert!(
        summary.rows[&Table::Board] > 0,
        "the token sees at least one board"
    );
    for t in Table::ALL {
        assert!(dir
            .path()
            .join(format!("tables/{}.parquet", t.name()))
            .exists());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_snowflake_account_loads_a_simulated_site() {
    let Some(v) = vars(&[
        "JAS_LIVE_SF_ACCOUNT",
        "JAS_LIVE_SF_USER",
        "JAS_LIVE_SF_PRIVATE_KEY_FILE",
        "JAS_LIVE_SF_ROLE",
        "JAS_LIVE_SF_WAREHOUSE",
        "JAS_LIVE_SF_DATABASE",
        "JAS_LIVE_SF_SCHEMA",
    ]) else {
        return;
    };
    let sim = util::start(Site::generate(&SiteSpec {
        boards: 5,
        issues_per_board: 10,
        ..SiteSpec::demo()
    }))
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "[jira]\nenvironment_url = \"{}\"\nemail = \"{}\"\napi_token = \"{}\"\n\n[snowflake]\n\
         database = \"{}\"\nschema = \"{}\"\nrole = \"{}\"\nwarehouse = \"{}\"\n\
         authentication_strategy = \"KEY_PAIR\"\naccount_identifier = \"{}\"\nusername = \"{}\"\n\
         private_key_file = \"{}\"\n",
        sim.base_url(),
        util::EMAIL,
        util::TOKEN,
        v[5],
        v[6],
        v[3],
        v[4],
        v[0],
        v[1],
        v[2]
    );
    let mut cfg = Config::from_toml(
        &text,
        dir.path(),
        &std::collections::HashMap::<String, String>::new(),
        &jira_agile_sync::config::Overrides::default(),
    )
    .expect("config");
    cfg.data_dir = dir.path().to_path_buf();
    let summary = pipeline::sync_and_load(&cfg, &util::opts())
        .await
        .expect("sync and load");
    assert_eq!(
        summary.report.status,
        Some(RunStatus::Ok),
        "{:?}",
        summary.report.load_errors
    );
    let sf = cfg.snowflake.clone().expect("snowflake");
    crate::snowflake::assert_destination_matches_local(&sf, dir.path()).await;
    sim.shutdown().await;
}
