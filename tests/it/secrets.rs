//! The API token never leaves memory: a full sync at TRACE level with failing requests (401,
//! 429, 500) leaves no trace of the token, of `base64(email:token)` or of the `Authorization`
//! header value in stdout, stderr or any file of the data directory.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use jira_agile_sync::simulator::BoardKind;

use crate::util::{self, bin, EMAIL, TOKEN};

/// The strings that must never appear.
fn needles() -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}:{TOKEN}"));
    vec![TOKEN.to_string(), format!("Basic {b64}"), b64]
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("list {}: {e}", d.display()));
        for e in entries {
            let path = e.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Where each needle was found: (`place`, needle).
fn leaks(places: &[(String, Vec<u8>)]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (place, bytes) in places {
        for n in needles() {
            if contains(bytes, n.as_bytes()) {
                found.push((place.clone(), n));
            }
        }
    }
    found
}

fn dir_contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files_under(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
            (p.display().to_string(), bytes)
        })
        .collect()
}

#[test]
fn scanner_finds_each_secret_form_in_a_planted_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("state/nested")).expect("mkdir");
    for (i, n) in needles().iter().enumerate() {
        std::fs::write(
            dir.path().join(format!("state/nested/f{i}.bin")),
            format!("\x00prefix{n}suffix\x01"),
        )
        .expect("write");
    }
    let found = leaks(&dir_contents(dir.path()));
    // The `Basic` form also holds the bare base64: four hits over three files.
    assert_eq!(found.len(), 4, "{found:?}");
    for n in needles() {
        assert!(found.iter().any(|(_, f)| *f == n), "{n} not detected");
    }
    assert!(leaks(&[("clean".into(), b"no secret here".to_vec())]).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_and_data_dir_hold_no_secret() {
    let mut site = util::site(5, 6, 20);
    let scrum = site.add_board(BoardKind::Scrum, "Secret-free board", None);
    let p = site.add_project("SEC", "Secrets");
    site.add_issue(scrum, p);
    let sim = util::start(site).await;
    let boards: Vec<i64> = sim
        .site()
        .boards()
        .filter(|b| !b.hidden)
        .map(|b| b.id)
        .collect();
    sim.faults()
        .status(&format!("/board/{}/configuration", boards[0]), 401, 1);
    sim.faults()
        .status(&format!("/board/{}/project", boards[1]), 401, 1);
    sim.faults()
        .rate_limit(&format!("/board/{scrum}/issue"), 1, Some(1));
    sim.faults()
        .status(&format!("/board/{scrum}/sprint"), 500, 1);

    let work = tempfile::tempdir().expect("tempdir");
    let data = work.path().join("data");
    let data_arg = data.display().to_string();
    let out = tokio::process::Command::new(bin())
        .args(["-vv", "--data-dir", &data_arg, "sync"])
        .current_dir(work.path())
        .env("RUST_LOG", "trace")
        .env("JIRA_ENVIRONMENT_URL", sim.base_url())
        .env("JIRA_EMAIL", EMAIL)
        .env("JIRA_API_TOKEN", TOKEN)
        .env_remove("JIRA_AGILE_SYNC_DATA_DIR")
        .output()
        .await
        .expect("binary runs");
    let status_out = tokio::process::Command::new(bin())
        .args(["--data-dir", &data_arg, "status", "--json"])
        .current_dir(work.path())
        .env("JIRA_API_TOKEN", TOKEN)
        .output()
        .await
        .expect("binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);

    // The run really happened, at TRACE level, through every fault.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(sim.faults().pending(), 0, "every fault was served");
    assert!(stderr.contains("TRACE"), "trace level is on");
    assert!(stderr.contains("retrying"), "retries were logged");
    assert!(data.join("tables/BOARD.parquet").exists());
    assert!(data.join("status.json").exists());
    assert!(data.join("state").is_dir());
    let runs = files_under(&data.join("runs"));
    assert_eq!(runs.len(), 1, "{runs:?}");

    let mut places = dir_contents(&data);
    assert!(places.len() > 5, "scanned {} files", places.len());
    places.push(("sync stdout".into(), out.stdout));
    places.push(("sync stderr".into(), out.stderr));
    places.push(("status stdout".into(), status_out.stdout));
    places.push(("status stderr".into(), status_out.stderr));
    let found = leaks(&places);
    assert!(found.is_empty(), "secrets leaked: {found:?}");
    sim.shutdown().await;
}
