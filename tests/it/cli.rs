//! The binary's command line: exit codes, messages, read-only commands.

use std::process::Command;

use crate::util::bin;

fn run(args: &[&str], dir: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env_remove("JIRA_ENVIRONMENT_URL")
        .env_remove("JIRA_EMAIL")
        .env_remove("JIRA_API_TOKEN")
        .env_remove("JIRA_AGILE_SYNC_DATA_DIR")
        .output()
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn unknown_config_key_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("c.toml"),
        "[jira]\nenvironment_url = \"https://x.atlassian.net\"\nmax_retrys = 3\n",
    )
    .expect("write");
    let (code, _, err) = run(&["--config", "c.toml", "sync"], dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("max_retrys"), "{err}");
}

#[test]
fn missing_jira_config_says_how_to_set_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = run(&["sync"], dir.path());
    assert_eq!(code, 2);
    assert!(
        err.contains("JIRA_API_TOKEN") && err.contains("demo"),
        "{err}"
    );
}

#[test]
fn bad_duration_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("c.toml"),
        "[ingestion]\nsync_interval = \"often\"\n",
    )
    .expect("write");
    let (code, _, err) = run(&["--config", "c.toml", "status"], dir.path());
    assert_eq!(code, 2);
    assert!(err.contains("ingestion.sync_interval"), "{err}");
}

#[test]
fn status_json_before_any_run_has_the_documented_fields() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = run(&["--data-dir", "d", "status", "--json"], dir.path());
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    for k in ["last_run", "tables", "outbox", "last_load", "failed_boards"] {
        assert!(v.get(k).is_some(), "missing {k}: {out}");
    }
    assert!(
        !dir.path().join("d/lock").exists(),
        "status never takes the lock"
    );
}

#[test]
fn snapshots_show_unknown_table_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = run(&["snapshots", "show", "NOPE"], dir.path());
    assert_eq!(code, 2);
    assert!(err.contains("unknown table"), "{err}");
}

#[test]
fn demo_prints_rows_per_table_and_writes_parquet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = run(
        &[
            "--data-dir",
            "data",
            "demo",
            "--boards",
            "8",
            "--issues-per-board",
            "20",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "stdout:{out}\nstderr:{err}");
    for t in [
        "BOARD",
        "BOARD_PROJECT",
        "SPRINT",
        "BOARD_SPRINT",
        "BOARD_ISSUE",
    ] {
        assert!(out.contains(t), "{t} missing from {out}");
        assert!(dir
            .path()
            .join(format!("data/demo/tables/{t}.parquet"))
            .exists());
    }
    let (code, out, _) = run(
        &[
            "--data-dir",
            "data/demo",
            "snapshots",
            "show",
            "BOARD",
            "--limit",
            "3",
        ],
        dir.path(),
    );
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 4, "header plus 3 rows: {out}");
    // Every row has a value under every header field, timestamps included.
    for t in [
        "BOARD",
        "BOARD_PROJECT",
        "SPRINT",
        "BOARD_SPRINT",
        "BOARD_ISSUE",
    ] {
        let (code, out, err) = run(
            &[
                "--data-dir",
                "data/demo",
                "snapshots",
                "show",
                t,
                "--limit",
                "50",
            ],
            dir.path(),
        );
        assert_eq!(code, 0, "{err}");
        let mut lines = out.lines();
        let header = lines.next().expect("header").split('\t').count();
        for line in lines {
            assert_eq!(line.split('\t').count(), header, "{t}: {line}");
        }
    }
    let (_, out, _) = run(
        &[
            "--data-dir",
            "data/demo",
            "snapshots",
            "show",
            "SPRINT",
            "--limit",
            "50",
        ],
        dir.path(),
    );
    let header: Vec<&str> = out.lines().next().expect("header").split('\t').collect();
    let changed = header
        .iter()
        .position(|h| *h == "_CHANGED_AT")
        .expect("_CHANGED_AT");
    let row: Vec<&str> = out.lines().nth(1).expect("a sprint").split('\t').collect();
    assert!(
        chrono::DateTime::parse_from_rfc3339(row[changed]).is_ok(),
        "timestamps print as RFC 3339: {}",
        row[changed]
    );
    let (code, out, _) = run(&["--data-dir", "data/demo", "status"], dir.path());
    assert_eq!(code, 0);
    assert!(out.contains("ok"), "{out}");
}
