//! Bad input, each case through the binary: one clear message naming the cause and the fix, the
//! documented exit code, and the tables of an earlier good sync left exactly as they were.
//!
//! Tests run as root here, where `chmod 0555` does not stop writes, so "data directory not
//! writable" uses a data directory below a regular file (creating it fails for everyone), and
//! "disk full" uses the test-only `JIRA_AGILE_SYNC_FAIL_WRITE` hook (a write to a path holding
//! the substring fails with ENOSPC); mounting a small file system needs privileges the sandbox
//! does not give.

use std::path::{Path, PathBuf};
use std::process::Command;

use jira_agile_sync::schema::Table;
use jira_agile_sync::simulator::Simulator;

use crate::faults::table_hashes;
use crate::util::{self, EMAIL, TOKEN};

/// A config file for the binary: Jira at `url` with fast failure, plus `extra` TOML.
fn write_config(dir: &Path, name: &str, url: &str, extra: &str) -> PathBuf {
    let text = format!(
        "[jira]\nenvironment_url = \"{url}\"\nemail = \"{EMAIL}\"\napi_token = \"{TOKEN}\"\n\
         request_timeout = \"5s\"\nmax_retries = 0\nmax_retry_wait = \"1s\"\n{extra}\n"
    );
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("list").flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

/// One bad-input case run against a fresh copy of a synced data directory.
struct Case<'a> {
    name: &'a str,
    config: PathBuf,
    args: &'a [&'a str],
    env: Vec<(&'a str, String)>,
    /// Every one must appear in stderr or stdout (case-sensitive).
    says: &'a [&'a str],
}

struct Bench {
    work: tempfile::TempDir,
    seed: PathBuf,
    hashes: std::collections::BTreeMap<String, u64>,
    n: usize,
}

impl Bench {
    /// A first good sync of `sim` into a seed data directory.
    async fn new(sim: &Simulator) -> Bench {
        let work = tempfile::tempdir().expect("tempdir");
        let seed = work.path().join("seed");
        let cfg = write_config(work.path(), "good.toml", &sim.base_url(), "");
        let (code, _, err) = util::run_bin(util::command(&cfg, &seed, None), &["sync"]).await;
        assert_eq!(code, 0, "first good sync: {err}");
        util::assert_tables_match(&seed, &sim.expected_rows(), &Table::ALL);
        let hashes = table_hashes(&seed);
        assert_eq!(hashes.len(), 5);
        Bench {
            work,
            seed,
            hashes,
            n: 0,
        }
    }

    /// A fresh copy of the seed.
    fn data_dir(&mut self) -> PathBuf {
        self.n += 1;
        let d = self.work.path().join(format!("data{}", self.n));
        copy_dir(&self.seed, &d);
        d
    }

    fn config(&self, name: &str, url: &str, extra: &str) -> PathBuf {
        write_config(self.work.path(), name, url, extra)
    }

    /// Run `case` on a copy of the seed (or on `data` when given): exit 2, the messages, and
    /// the tables untouched.
    async fn expect_exit_2(&mut self, case: Case<'_>, data: Option<PathBuf>) -> String {
        let data = data.unwrap_or_else(|| self.data_dir());
        let mut cmd = util::command(&case.config, &data, None);
        for k in [
            "JIRA_AGILE_SYNC_FAIL_WRITE",
            "SNOWFLAKE_ACCOUNT",
            "SNOWFLAKE_HOST",
            "SNOWFLAKE_PRIVATE_KEY",
            "SNOWFLAKE_PRIVATE_KEY_PASSWORD",
        ] {
            cmd.env_remove(k);
        }
        for (k, v) in &case.env {
            cmd.env(k, v);
        }
        let (code, out, err) = util::run_bin(cmd, case.args).await;
        let text = format!("{out}{err}");
        assert_eq!(code, 2, "{}: exit code; output:\n{text}", case.name);
        for s in case.says {
            assert!(
                text.contains(s),
                "{}: `{s}` missing from:\n{text}",
                case.name
            );
        }
        assert!(!text.contains("panicked"), "{}: {text}", case.name);
        if data.join("tables").exists() {
            assert_eq!(
                table_hashes(&data),
                self.hashes,
                "{}: tables changed",
                case.name
            );
        }
        text
    }
}

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}");
}

/// A `[snowflake]` section (KEY_PAIR unless `strategy` says otherwise) plus `extra` lines.
fn snowflake_section(strategy: &str, extra: &str, port: u16) -> String {
    format!(
        "[snowflake]\ndatabase = \"D\"\nschema = \"S\"\nrole = \"R\"\nwarehouse = \"W\"\n\
         authentication_strategy = \"{strategy}\"\nbase_url = \"http://127.0.0.1:{port}\"\n{extra}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_config_each_exit_2_naming_the_key_and_leave_tables_intact() {
    let sim = util::start(util::site(11, 4, 5)).await;
    let url = sim.base_url();
    let mut bench = Bench::new(&sim).await;
    let dead = closed_port();
    let keys = bench.work.path().join("keys");
    std::fs::create_dir_all(&keys).expect("mkdir");
    openssl(
        &keys,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "k8.pem",
        ],
    );
    openssl(
        &keys,
        &["rsa", "-traditional", "-in", "k8.pem", "-out", "k1.pem"],
    );
    let k1 = keys.join("k1.pem").display().to_string();
    let k8 = keys.join("k8.pem").display().to_string();
    let requests_before = sim.requests().len();

    let kp = |extra: &str| snowflake_section("KEY_PAIR", extra, dead);
    let tok = |extra: &str| snowflake_section("SNOWFLAKE_MANAGED_TOKEN", extra, dead);
    let account = "account_identifier = \"org-acct\"\nusername = \"u\"\n";
    #[rustfmt::skip]
    let table: Vec<(&str, String, &[&str])> = vec![
        ("malformed TOML", "[ingestion\nmax_concurrency = 2".into(), &["invalid config file"]),
        ("unknown key", "[ingestion]\nenabled_table = [\"SPRINT\"]".into(), &["enabled_table"]),
        ("bad duration", "[ingestion]\nsync_interval = \"often\"".into(), &["ingestion.sync_interval", "often"]),
        ("unknown table", "[ingestion]\nenabled_tables = [\"SPRINTS\"]".into(), &["ingestion.enabled_tables", "SPRINTS", "BOARD_ISSUE"]),
        ("max_concurrency 0", "[ingestion]\nmax_concurrency = 0".into(), &["ingestion.max_concurrency", "between 1 and 64"]),
        ("token strategy with account", tok("account_identifier = \"org-acct\""), &["snowflake.account_identifier", "blank"]),
        ("token strategy with username", tok("username = \"u\""), &["snowflake.username", "blank"]),
        ("token strategy with key", tok(&format!("private_key_file = \"{k8}\"")), &["snowflake.private_key", "must not be set"]),
        ("KEY_PAIR without key", kp(account), &["snowflake.private_key", "SNOWFLAKE_PRIVATE_KEY"]),
        ("KEY_PAIR without account", kp(&format!("username = \"u\"\nprivate_key_file = \"{k8}\"")), &["snowflake.account_identifier", "required"]),
        ("KEY_PAIR with key and key file", kp(&format!("{account}private_key = \"x\"\nprivate_key_file = \"{k8}\"")), &["snowflake.private_key_file", "not both"]),
        ("PKCS#1 key", kp(&format!("{account}private_key_file = \"{k1}\"")), &["PKCS#1", "PKCS#8", "openssl"]),
        ("snowflake http to another host", snowflake_section("KEY_PAIR", &format!("{account}private_key_file = \"{k8}\""), dead).replace("127.0.0.1", "snowflake.invalid"), &["snowflake.base_url", "127.0.0.1"]),
    ];
    let mut tried = 0;
    for (i, (name, extra, says)) in table.iter().enumerate() {
        let config = bench.config(&format!("c{i}.toml"), &url, extra);
        bench
            .expect_exit_2(
                Case {
                    name,
                    config,
                    args: &["sync"],
                    env: vec![],
                    says,
                },
                None,
            )
            .await;
        tried += 1;
    }

    // The [jira] section itself: each case replaces one line of a good file.
    let good = std::fs::read_to_string(bench.config("base.toml", &url, "")).expect("read");
    let token_line = format!("api_token = \"{TOKEN}\"");
    let url_line = format!("environment_url = \"{url}\"");
    #[rustfmt::skip]
    let jira: Vec<(&str, String, String, &[&str])> = vec![
        ("not a URL", url_line.clone(), "environment_url = \"jira at work\"".into(), &["jira.environment_url", "not a URL", "https://"]),
        ("ftp URL", url_line.clone(), "environment_url = \"ftp://127.0.0.1/\"".into(), &["jira.environment_url", "ftp", "https://"]),
        ("plain http to another host", url_line.clone(), "environment_url = \"http://jira.invalid\"".into(), &["jira.environment_url", "127.0.0.1", "https://"]),
        ("empty api token", token_line.clone(), "api_token = \"\"".into(), &["jira.api_token", "empty"]),
        ("email without @", format!("email = \"{EMAIL}\""), "email = \"tester.example.com\"".into(), &["jira.email", "not an email"]),
        ("token file missing", token_line.clone(), "api_token_file = \"no/such/token\"".into(), &["jira.api_token_file", "no/such/token"]),
        ("bad request_timeout", "request_timeout = \"5s\"".into(), "request_timeout = \"5 parsecs\"".into(), &["jira.request_timeout"]),
    ];
    for (i, (name, from, to, says)) in jira.iter().enumerate() {
        assert!(good.contains(from.as_str()), "{name}: template line");
        let path = bench.work.path().join(format!("j{i}.toml"));
        std::fs::write(&path, good.replace(from.as_str(), to)).expect("write");
        bench
            .expect_exit_2(
                Case {
                    name,
                    config: path,
                    args: &["sync"],
                    env: vec![],
                    says,
                },
                None,
            )
            .await;
        tried += 1;
    }

    // A missing config file.
    let missing = bench.work.path().join("nowhere.toml");
    bench
        .expect_exit_2(
            Case {
                name: "missing config file",
                config: missing,
                args: &["sync"],
                env: vec![],
                says: &["cannot read config file", "nowhere.toml"],
            },
            None,
        )
        .await;
    tried += 1;

    assert_eq!(
        sim.requests().len(),
        requests_before,
        "no bad config contacted Jira"
    );
    assert!(tried >= 21, "{tried} cases");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_environment_each_exit_2_with_the_fix_and_leave_tables_intact() {
    let sim = util::start(util::site(12, 4, 5)).await;
    let url = sim.base_url();
    let mut bench = Bench::new(&sim).await;
    let good = bench.config("ok.toml", &url, "");
    sim.edit(|s| {
        let b = s.boards().next().map(|b| b.id).expect("board");
        s.rename_board(b, "changed after the first sync");
    });

    // Wrong credentials: the simulator answers 401.
    let wrong = std::fs::read_to_string(&good)
        .expect("read")
        .replace(TOKEN, "not-the-token");
    let wrong_path = bench.work.path().join("wrong.toml");
    std::fs::write(&wrong_path, wrong).expect("write");
    let case = Case {
        name: "wrong credentials",
        config: wrong_path.clone(),
        args: &["sync"],
        env: vec![],
        says: &["rejected the credentials", "jira.email", "jira.api_token"],
    };
    bench.expect_exit_2(case, None).await;
    let case = Case {
        name: "wrong credentials (check)",
        config: wrong_path,
        args: &["check"],
        env: vec![],
        says: &["FAIL", "jira.email and jira.api_token"],
    };
    bench.expect_exit_2(case, None).await;

    // A scoped token missing a scope: `check` names the scope; `sync` stops at the board listing.
    sim.faults().scope_mismatch("/sprint");
    let case = Case {
        name: "missing sprint scope (check)",
        config: good.clone(),
        args: &["check"],
        env: vec![],
        says: &["FAIL SPRINT", "read:sprint:jira-software"],
    };
    bench.expect_exit_2(case, None).await;
    sim.faults().clear();
    sim.faults().scope_mismatch("/rest/agile/1.0/board?");
    let case = Case {
        name: "missing board scope (sync)",
        config: good.clone(),
        args: &["sync"],
        env: vec![],
        says: &["scope does not match", "api.atlassian.com/ex/jira"],
    };
    bench.expect_exit_2(case, None).await;
    sim.faults().clear();

    // Unreachable host: a closed port on 127.0.0.1.
    let dead = bench.config(
        "dead.toml",
        &format!("http://127.0.0.1:{}", closed_port()),
        "",
    );
    let case = Case {
        name: "unreachable host",
        config: dead.clone(),
        args: &["sync"],
        env: vec![],
        says: &[
            "board listing failed",
            "jira.environment_url",
            "nothing was changed",
        ],
    };
    bench.expect_exit_2(case, None).await;
    let case = Case {
        name: "unreachable host (check)",
        config: dead,
        args: &["check"],
        env: vec![],
        says: &["cannot reach Jira"],
    };
    bench.expect_exit_2(case, None).await;

    // A web server that is not Jira: HTML with 200 for every path.
    let html = axum::Router::new().fallback(|| async {
        axum::response::Html("<html><body><h1>Welcome to the intranet</h1></body></html>")
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, html).await;
    });
    let not_jira = bench.config("html.toml", &format!("http://{addr}"), "");
    let case = Case {
        name: "HTML server (sync)",
        config: not_jira.clone(),
        args: &["sync"],
        env: vec![],
        says: &["board listing failed", "not a paged JSON object"],
    };
    bench.expect_exit_2(case, None).await;
    let case = Case {
        name: "HTML server (check)",
        config: not_jira,
        args: &["check"],
        env: vec![],
        says: &["not a Jira answer", "jira.environment_url"],
    };
    bench.expect_exit_2(case, None).await;
    server.abort();

    // A data directory that cannot be created (below a regular file; see the module docs).
    let file = bench.work.path().join("a-file");
    std::fs::write(&file, "not a folder").expect("write");
    let case = Case {
        name: "data dir not creatable",
        config: good.clone(),
        args: &["sync"],
        env: vec![],
        says: &["data directory", "not usable", "writable"],
    };
    bench.expect_exit_2(case, Some(file.join("sub"))).await;

    // Disk full while writing Parquet, then while writing status.json.
    for (name, needle, says) in [
        (
            "disk full on Parquet",
            "tables/BOARD",
            "writing Parquet failed",
        ),
        ("disk full on status", "status.json", "data directory"),
    ] {
        let case = Case {
            name,
            config: good.clone(),
            args: &["sync"],
            env: vec![("JIRA_AGILE_SYNC_FAIL_WRITE", needle.to_string())],
            says: &[says, "No space left on device", "disk"],
        };
        let data = bench.data_dir();
        bench.expect_exit_2(case, Some(data.clone())).await;
        // No temporary file is left, and the next run (with space) catches up.
        let (code, _, err) = util::run_bin(util::command(&good, &data, None), &["sync"]).await;
        assert_eq!(code, 0, "{name}: rerun: {err}");
        util::assert_tables_match(&data, &sim.expected_rows(), &Table::ALL);
        let leftovers: Vec<_> = std::fs::read_dir(data.join("tables"))
            .expect("tables")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{name}: {leftovers:?}");
    }

    // Corrupt state: garbage in every sled file; a state folder that is not sled at all.
    let data = bench.data_dir();
    for e in std::fs::read_dir(data.join("state"))
        .expect("state")
        .flatten()
    {
        if e.path().is_file() {
            std::fs::write(e.path(), vec![0xA5u8; 300]).expect("garbage");
        }
    }
    let case = Case {
        name: "corrupt state",
        config: good.clone(),
        args: &["sync"],
        env: vec![],
        says: &["state/", "move the state/ folder away"],
    };
    bench.expect_exit_2(case, Some(data)).await;
    let data = bench.data_dir();
    std::fs::remove_dir_all(data.join("state")).expect("rm state");
    std::fs::create_dir_all(data.join("state")).expect("mkdir");
    std::fs::write(data.join("state/README.txt"), "my notes").expect("write");
    let case = Case {
        name: "foreign state folder",
        config: good.clone(),
        args: &["sync"],
        env: vec![],
        says: &["not a sled database", "move the state/ folder away"],
    };
    bench.expect_exit_2(case, Some(data.clone())).await;
    assert_eq!(
        std::fs::read_to_string(data.join("state/README.txt")).expect("read"),
        "my notes",
        "the foreign folder is left alone"
    );

    // A second writer: this process holds the lock.
    let data = bench.data_dir();
    let cfg = util::config(&url, &data);
    let held = jira_agile_sync::pipeline::open_writer(&cfg).expect("writer");
    let case = Case {
        name: "lock held",
        config: good.clone(),
        args: &["sync"],
        env: vec![],
        says: &["another jira-agile-sync process"],
    };
    bench.expect_exit_2(case, Some(data)).await;
    drop(held);
    sim.shutdown().await;
}
