//! Faults from Jira (injected by the simulator) and from Snowflake (fakesnow behind a switchable
//! proxy on 127.0.0.1): a run either ends with tables equal to the simulator's model, or with the
//! documented exit code naming what failed; a failed listing never deletes rows; retries stay
//! within `max_retries` and `max_retry_wait` and show in the run report; a failed load keeps its
//! files in the outbox and the next load delivers everything exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jira_agile_sync::config::Config;
use jira_agile_sync::destination::snowflake::testkit::FakeSnow;
use jira_agile_sync::destination::snowflake::SnowflakeClient;
use jira_agile_sync::pipeline::{self, RunStatus, RunSummary};
use jira_agile_sync::schema::Table;
use jira_agile_sync::simulator::{BoardKind, Simulator, Site, SprintState};

use crate::util::{self, assert_tables_match, read_table};

const MAX_RETRIES: u32 = 3;

/// Six boards; each has sprints (scrum), two projects and four issues.
fn site() -> (Site, Vec<i64>) {
    let mut site = Site::empty();
    let p = site.add_project("FLT", "Faults");
    let q = site.add_project("FLQ", "Faults too");
    let boards: Vec<i64> = (0..6)
        .map(|n| site.add_board(BoardKind::Scrum, &format!("F{n}"), None))
        .collect();
    for b in &boards {
        site.add_sprint(*b, SprintState::Closed, "Old");
        site.add_sprint(*b, SprintState::Active, "Now");
        site.add_board_project(*b, p);
        site.add_board_project(*b, q);
        for _ in 0..4 {
            site.add_issue(*b, p);
        }
    }
    (site, boards)
}

fn config(sim: &Simulator, dir: &Path) -> Config {
    let mut cfg = util::config(&sim.base_url(), dir);
    if let Some(j) = cfg.jira.as_mut() {
        j.max_retries = MAX_RETRIES;
        j.request_timeout = Duration::from_millis(600);
        j.max_retry_wait = Duration::from_secs(10);
    }
    cfg
}

/// Hash of every file under `dir/tables`, by name.
pub(crate) fn table_hashes(dir: &Path) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir(dir.join("tables")) {
        for e in rd.flatten() {
            let bytes = std::fs::read(e.path()).expect("read table file");
            out.insert(
                e.file_name().to_string_lossy().into_owned(),
                xxhash_rust::xxh3::xxh3_64(&bytes),
            );
        }
    }
    out
}

fn assert_report_file_agrees(dir: &Path, summary: &RunSummary) {
    let report = util::last_report(dir);
    assert_eq!(report["id"], summary.report.id.as_str());
    for k in ["requests", "retries", "rate_limited", "waited_ms"] {
        assert!(
            report[k].is_u64(),
            "{k} missing in runs/<id>.json: {report}"
        );
    }
    assert_eq!(report["retries"], summary.report.retries);
    assert_eq!(report["rate_limited"], summary.report.rate_limited);
    assert_eq!(report["waited_ms"], summary.report.waited_ms);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_on_every_endpoint_are_retried_to_correct_tables() {
    let (site, b) = site();
    let sim = util::start(site).await;
    let f = sim.faults();
    let stall = Duration::from_millis(1500);
    // (endpoint, faults served in order); never more than MAX_RETRIES per endpoint.
    let list = "/rest/agile/1.0/board?";
    f.rate_limit(list, 2, None);
    f.status(list, 500, 1);
    let sprint = format!("/board/{}/sprint", b[0]);
    f.unavailable(&sprint, 1, 1);
    f.reset(&sprint, 1);
    let project = format!("/board/{}/project", b[1]);
    f.truncate(&project, 1);
    f.stall(&project, stall, 1);
    let issue = format!("/board/{}/issue", b[2]);
    f.rate_limit(&issue, 1, Some(1));
    f.reset(&issue, 1);
    f.status(&issue, 502, 1);
    let config0 = format!("/board/{}/configuration", b[0]);
    f.stall(&config0, stall, 1);
    f.truncate(&config0, 1);
    f.rate_limit(&config0, 1, None);
    let config1 = format!("/board/{}/configuration", b[1]);
    f.status(&config1, 500, 2);
    let one_board = format!("/rest/agile/1.0/board/{}/issue", b[3]);
    f.status(&one_board, 503, 1);
    let injected = 2 + 1 + 2 + 2 + 3 + 3 + 2 + 1;

    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(&sim, dir.path());
    let summary = util::sync(&cfg).await.expect("sync");

    assert_eq!(
        summary.report.status,
        Some(RunStatus::Ok),
        "{:?}",
        summary.report.failed_boards
    );
    assert_eq!(summary.exit_code(), 0);
    assert_eq!(f.pending(), 0, "every fault was served");
    assert!(summary.report.config_warnings.is_empty());
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    for (needle, faults) in [
        (list, 3),
        (sprint.as_str(), 2),
        (project.as_str(), 2),
        (issue.as_str(), 3),
        (config0.as_str(), 3),
        (config1.as_str(), 2),
    ] {
        let n = sim.request_count(needle);
        assert_eq!(
            n,
            faults + 1,
            "{needle}: one request per fault, then success"
        );
        assert!(n <= 1 + MAX_RETRIES as usize, "{needle}: {n} requests");
    }
    let r = &summary.report;
    assert_eq!(r.rate_limited, 4, "429s counted");
    assert_eq!(r.retries, injected, "one retry per fault");
    assert!(r.waited_ms >= 2000, "Retry-After honoured: {}", r.waited_ms);
    assert_report_file_agrees(dir.path(), &summary);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_that_keep_failing_keep_their_rows_and_stop_at_max_retries() {
    let (mut site, b) = site();
    // Two issues a page, so a total can change between pages.
    site.quirks.issue_page_cap = 2;
    let sim = util::start(site).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(&sim, dir.path());
    let first = util::sync(&cfg).await.expect("first sync");
    assert_eq!(first.exit_code(), 0);
    let before: BTreeMap<Table, util::Rows> =
        Table::ALL.map(|t| (t, read_table(dir.path(), t))).into();

    // Jira loses rows on every board; then every listing of boards 0..5 fails in its own way.
    sim.edit(|s| {
        let ids: Vec<(i64, i64, i64)> = s
            .boards()
            .map(|bd| (bd.id, bd.issues[0], bd.sprints[0]))
            .collect();
        for (board, issue, sprint) in ids {
            s.delete_issue(issue);
            s.unlink_sprint(board, sprint);
        }
    });
    let f = sim.faults();
    let tries = MAX_RETRIES as usize + 1;
    let failing = [
        (format!("/board/{}/issue", b[0]), Some(500)),
        (format!("/board/{}/sprint", b[1]), None), // connection reset
        (format!("/board/{}/project", b[2]), Some(429)),
        (format!("/board/{}/issue", b[3]), None), // stalled past the timeout
        (format!("/board/{}/issue", b[4]), Some(200)), // invalid JSON
        (format!("/board/{}/issue?startAt=0", b[5]), Some(200)), // total changes mid-way
    ];
    f.status(&failing[0].0, 500, tries);
    f.reset(&failing[1].0, tries);
    f.rate_limit(&failing[2].0, tries, None);
    f.stall(&failing[3].0, Duration::from_millis(1500), tries);
    f.invalid_json(&failing[4].0, 1);
    f.shift_total(&failing[5].0, 1, 1);
    sim.reset_counts();

    let summary = util::sync(&cfg).await.expect("second sync");
    assert_eq!(f.pending(), 0, "every fault was served");
    assert_eq!(summary.exit_code(), 1);
    assert_eq!(summary.report.status, Some(RunStatus::Partial));
    let failed: BTreeMap<i64, (String, Option<u16>)> = summary
        .report
        .failed_boards
        .iter()
        .map(|fb| (fb.board_id, (fb.endpoint.clone(), fb.http_status)))
        .collect();
    assert_eq!(failed.len(), 6, "{:?}", summary.report.failed_boards);
    for (board, (needle, status)) in b.iter().zip(&failing) {
        let (endpoint, got) = &failed[board];
        let tail = endpoint.rsplit('/').next().unwrap_or("");
        assert!(
            needle.contains(&format!("/{tail}")),
            "{needle} vs {endpoint}"
        );
        assert_eq!(got, status, "board {board}");
    }
    // Retried ones stop at 1 + max_retries; invalid JSON and a changed total are not retried
    // (the stalled one may also be cut short by the wait budget, never more).
    for (needle, want) in [
        (&failing[0].0, tries),
        (&failing[1].0, tries),
        (&failing[2].0, tries),
    ] {
        assert_eq!(sim.request_count(needle), want, "{needle}");
    }
    assert!(sim.request_count(&failing[3].0) <= tries);
    assert_eq!(sim.request_count(&failing[4].0), 1);
    assert_eq!(summary.report.rate_limited, tries as u64);
    assert!(summary.report.retries >= 3 * MAX_RETRIES as u64);
    assert_report_file_agrees(dir.path(), &summary);

    // Every board failed one listing: none of its rows of that table went.
    let issues = read_table(dir.path(), Table::BoardIssue);
    for board in [b[0], b[3], b[4], b[5]] {
        let was: Vec<_> = before[&Table::BoardIssue]
            .iter()
            .filter(|r| r["BOARD_ID"] == board)
            .collect();
        let now: Vec<_> = issues.iter().filter(|r| r["BOARD_ID"] == board).collect();
        assert_eq!(now, was, "board {board}: issue rows kept");
    }
    let links = read_table(dir.path(), Table::BoardSprint);
    assert_eq!(
        links.iter().filter(|r| r["BOARD_ID"] == b[1]).count(),
        2,
        "sprint links of the failed listing kept"
    );
    let projects = read_table(dir.path(), Table::BoardProject);
    assert_eq!(projects, before[&Table::BoardProject]);
    // Listings that did complete applied Jira's deletes (the run is partial, not frozen).
    assert!(issues.len() < before[&Table::BoardIssue].len());

    // Faults gone: the next run catches up with Jira.
    let third = util::sync(&cfg).await.expect("third sync");
    assert_eq!(third.exit_code(), 0, "{:?}", third.report.failed_boards);
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_board_listing_stops_the_run_and_deletes_nothing() {
    let (site, b) = site();
    let sim = util::start(site).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(&sim, dir.path());
    assert_eq!(util::sync(&cfg).await.expect("first sync").exit_code(), 0);
    let hashes = table_hashes(dir.path());
    assert_eq!(hashes.len(), 5);
    sim.edit(|s| {
        s.delete_board(b[0]);
        s.delete_board(b[1]);
    });
    let list = "/rest/agile/1.0/board?";
    let tries = MAX_RETRIES as usize + 1;

    // 1. 5xx past max_retries, 2. a reset every time, 3. invalid JSON, 4. a changed total
    //    (two pages needed: a smaller page cap), 5. a Retry-After longer than max_retry_wait.
    type Inject = Box<dyn Fn(&Simulator)>;
    let cases: Vec<(&str, Inject, usize, Option<u16>)> = vec![
        (
            "500",
            Box::new(move |s| s.faults().status(list, 500, tries)),
            tries,
            Some(500),
        ),
        (
            "reset",
            Box::new(move |s| s.faults().reset(list, tries)),
            tries,
            None,
        ),
        (
            "invalid json",
            Box::new(|s| s.faults().invalid_json(list, 1)),
            1,
            Some(200),
        ),
        (
            "retry-after past the budget",
            Box::new(|s| s.faults().rate_limit(list, 1, Some(60))),
            1,
            Some(429),
        ),
    ];
    for (name, inject, requests, status) in cases {
        sim.reset_counts();
        inject(&sim);
        let err = util::sync(&cfg).await.expect_err(name);
        assert_eq!(err.exit_code(), 2, "{name}");
        match &err {
            pipeline::Error::BoardListing {
                endpoint,
                status: s,
                ..
            } => {
                assert_eq!(endpoint, "/rest/agile/1.0/board", "{name}");
                assert_eq!(*s, status, "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
        if name.starts_with("retry-after") {
            assert!(err.to_string().contains("max_retry_wait"), "{err}");
        }
        assert_eq!(sim.request_count(list), requests, "{name}");
        assert_eq!(sim.faults().pending(), 0, "{name}");
        assert_eq!(table_hashes(dir.path()), hashes, "{name}: tables untouched");
        let report = util::last_report(dir.path());
        assert_eq!(report["status"], "failed", "{name}");
    }

    // A total that changes between the two pages of the board listing.
    sim.edit(|s| {
        s.quirks.page_cap = 2;
    });
    sim.faults()
        .shift_total("/rest/agile/1.0/board?startAt=0", 1, 1);
    let err = util::sync(&cfg).await.expect_err("changed total");
    assert!(
        matches!(err, pipeline::Error::BoardListing { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("total"), "{err}");
    assert_eq!(table_hashes(dir.path()), hashes);

    // Without faults the deleted boards go.
    let ok = util::sync(&cfg).await.expect("sync");
    assert_eq!(ok.exit_code(), 0);
    assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
    sim.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Snowflake

/// What the proxy does with a request whose number (from 0) is at least `fail_from`.
#[derive(Clone, Copy)]
enum Mode {
    Pass = 0,
    Status503 = 1,
    Status500 = 2,
    /// Send a 200 head, then abort the connection mid-body.
    Cut = 3,
}

/// An HTTP proxy on 127.0.0.1 in front of fakesnow that can be switched to fail requests.
pub(crate) struct Proxy {
    addr: std::net::SocketAddr,
    seen: Arc<AtomicUsize>,
    fail_from: Arc<AtomicUsize>,
    mode: Arc<AtomicU16>,
    /// Session tokens that passed through in login answers.
    pub(crate) tokens: Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub(crate) async fn start(upstream: url::Url) -> Proxy {
        let seen = Arc::new(AtomicUsize::new(0));
        let fail_from = Arc::new(AtomicUsize::new(usize::MAX));
        let mode = Arc::new(AtomicU16::new(Mode::Pass as u16));
        let tokens = Arc::new(std::sync::Mutex::new(Vec::new()));
        let http = reqwest::Client::new();
        let (s, f, m, t) = (
            seen.clone(),
            fail_from.clone(),
            mode.clone(),
            tokens.clone(),
        );
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let (s, f, m, t) = (s.clone(), f.clone(), m.clone(), t.clone());
            let (http, upstream) = (http.clone(), upstream.clone());
            async move { forward(req, &s, &f, &m, &t, &http, &upstream).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Proxy {
            addr,
            seen,
            fail_from,
            mode,
            tokens,
            task,
        }
    }

    pub(crate) fn url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}/", self.addr)).expect("url")
    }

    /// Fail every request after the next `after` ones with `mode`.
    fn fail_after(&self, after: usize, mode: Mode) {
        self.mode.store(mode as u16, Ordering::SeqCst);
        self.fail_from
            .store(self.seen.load(Ordering::SeqCst) + after, Ordering::SeqCst);
    }

    fn heal(&self) {
        self.fail_from.store(usize::MAX, Ordering::SeqCst);
    }

    fn seen(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(
    req: axum::extract::Request,
    seen: &AtomicUsize,
    fail_from: &AtomicUsize,
    mode: &AtomicU16,
    tokens: &std::sync::Mutex<Vec<String>>,
    http: &reqwest::Client,
    upstream: &url::Url,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let n = seen.fetch_add(1, Ordering::SeqCst);
    if n >= fail_from.load(Ordering::SeqCst) {
        let m = mode.load(Ordering::SeqCst);
        return match m {
            1 => (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down").into_response(),
            2 => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
            _ => {
                let cut = futures::stream::once(async {
                    Err::<bytes::Bytes, std::io::Error>(std::io::Error::other("cut"))
                });
                axum::response::Response::new(axum::body::Body::from_stream(cut))
            }
        };
    }
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .trim_start_matches('/');
    let url = upstream.join(path).expect("upstream url");
    let mut out = http.request(parts.method.clone(), url).body(body);
    for (k, v) in &parts.headers {
        if k != axum::http::header::HOST && k != axum::http::header::CONTENT_LENGTH {
            out = out.header(k, v);
        }
    }
    match out.send().await {
        Ok(resp) => {
            let status = resp.status();
            let headers = resp.headers().clone();
            let bytes = resp.bytes().await.unwrap_or_default();
            if path.contains("session") {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                    for k in ["token", "masterToken", "sessionToken"] {
                        if let Some(t) = v["data"][k].as_str() {
                            tokens.lock().expect("tokens").push(t.to_string());
                        }
                    }
                }
            }
            let mut r = axum::response::Response::new(axum::body::Body::from(bytes));
            *r.status_mut() = status;
            for (k, v) in &headers {
                if k != axum::http::header::CONTENT_LENGTH
                    && k != axum::http::header::TRANSFER_ENCODING
                    && k != axum::http::header::CONNECTION
                {
                    r.headers_mut().insert(k, v.clone());
                }
            }
            r
        }
        Err(_) => (axum::http::StatusCode::BAD_GATEWAY, "upstream").into_response(),
    }
}

fn closed_port_url() -> url::Url {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    url::Url::parse(&format!("http://127.0.0.1:{port}/")).expect("url")
}

fn outbox_files(dir: &Path) -> Vec<PathBuf> {
    util::all_journal_files(dir)
}

async fn journal_rows_in_destination(cfg: &Config) -> u64 {
    let sf = cfg.snowflake.as_ref().expect("snowflake");
    let client = SnowflakeClient::new(sf).expect("client");
    let mut total = 0;
    for t in Table::ALL {
        let r = client
            .query(&format!(
                "SELECT COUNT(*) FROM \"{}\".\"{}\".\"_JAS_JOURNAL_{}\"",
                sf.database,
                sf.schema,
                t.name()
            ))
            .await
            .expect("count journal");
        total += r.rows[0][0]
            .as_deref()
            .and_then(|v| v.parse::<u64>().ok())
            .expect("a count");
    }
    total
}

async fn assert_no_duplicate_keys(cfg: &Config) {
    let sf = cfg.snowflake.as_ref().expect("snowflake");
    for t in Table::ALL {
        let rows = crate::snowflake::read_snowflake(sf, t).await;
        let keys: BTreeSet<Vec<i64>> = rows.iter().map(|r| util::key_of(t, r)).collect();
        assert_eq!(keys.len(), rows.len(), "{t}: duplicate keys in Snowflake");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snowflake_failures_keep_the_outbox_and_the_next_load_delivers_once() {
    let Some(fs) = FakeSnow::start() else { return };
    let (site, b) = site();
    let sim = util::start(site).await;
    let proxy = Proxy::start(fs.base_url()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(&sim, dir.path());
    let mut sf = crate::snowflake::snowflake_config(&fs, dir.path());
    sf.base_url = proxy.url();
    cfg.snowflake = Some(sf.clone());

    let first = pipeline::sync_and_load(&cfg, &util::opts())
        .await
        .expect("first");
    assert_eq!(first.exit_code(), 0, "{:?}", first.report.load_errors);
    assert!(proxy.seen() > 5, "the load went through the proxy");

    // Each round: Jira changes, the destination fails in its own way mid-load; the local sync
    // goes on (tables updated, exit 1) and the files stay in the outbox.
    let rounds: [(&str, Option<Mode>); 4] = [
        ("503 mid-load", Some(Mode::Status503)),
        ("500 mid-load", Some(Mode::Status500)),
        ("connections cut mid-load", Some(Mode::Cut)),
        ("server stopped", None),
    ];
    for (i, (name, mode)) in rounds.into_iter().enumerate() {
        sim.edit(|s| {
            s.rename_board(b[i], &format!("renamed in round {i}"));
            let issue = s.boards().find(|bd| bd.id == b[i]).map(|bd| bd.issues[0]);
            if let Some(issue) = issue {
                s.delete_issue(issue);
            }
        });
        let mut round_cfg = cfg.clone();
        match mode {
            Some(m) => proxy.fail_after(3 + 2 * i, m),
            None => {
                if let Some(s) = round_cfg.snowflake.as_mut() {
                    s.base_url = closed_port_url();
                }
            }
        }
        let summary = pipeline::sync_and_load(&round_cfg, &util::opts())
            .await
            .expect(name);
        proxy.heal();
        assert_eq!(summary.exit_code(), 1, "{name}");
        assert_eq!(summary.report.status, Some(RunStatus::Partial), "{name}");
        assert!(!summary.report.load_errors.is_empty(), "{name}");
        assert_tables_match(dir.path(), &sim.expected_rows(), &Table::ALL);
        let status = pipeline::Status::read(&pipeline::DataDir::new(dir.path())).expect("status");
        assert!(status.outbox.files >= 1, "{name}: files stay in the outbox");
        assert_eq!(status.last_load.status.as_deref(), Some("failed"), "{name}");
        assert!(!outbox_files(dir.path()).is_empty(), "{name}");
        let report = util::last_report(dir.path());
        assert_eq!(report["status"], "partial", "{name}");
    }

    // Healthy again: one load delivers everything, exactly once.
    let last = pipeline::sync_and_load(&cfg, &util::opts())
        .await
        .expect("last");
    assert_eq!(last.exit_code(), 0, "{:?}", last.report.load_errors);
    let status = pipeline::Status::read(&pipeline::DataDir::new(dir.path())).expect("status");
    assert_eq!(status.outbox.files, 0);
    assert_eq!(status.last_load.status.as_deref(), Some("ok"));
    crate::snowflake::assert_destination_matches_local(&sf, dir.path()).await;
    assert_no_duplicate_keys(&cfg).await;
    assert_eq!(
        journal_rows_in_destination(&cfg).await,
        0,
        "journal tables empty"
    );
    sim.shutdown().await;
}
