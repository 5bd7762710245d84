//! Test support: real servers on 127.0.0.1, one per test, started from the tools that
//! `scripts/setup-test-env.sh` installs:
//! - fakesnow (Snowflake protocol) and moto (S3) from `.venv`;
//! - azurite (Azure Blob storage) from `node_modules`.
//!
//! Without a tool, tests skip with a message, except under `CI=true`, where a missing tool is a
//! failure (CI must never skip them). Every server is killed by its PID when dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process on a loopback port, killed (by its PID) when dropped.
pub struct ChildServer {
    child: Child,
    port: u16,
}

impl ChildServer {
    /// The executable at `relative` (from the repository root), or `None` after saying so when
    /// it is missing outside CI. Under `CI=true` a missing tool panics.
    pub fn tool(relative: &str) -> Option<PathBuf> {
        let exe = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative);
        if exe.exists() {
            return Some(exe);
        }
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{relative} not installed in CI (run scripts/setup-test-env.sh)");
        }
        eprintln!("skipped: {relative} not installed (run scripts/setup-test-env.sh)");
        None
    }

    /// Start `exe` with the arguments `args(port)` for a free port and wait until it accepts
    /// connections on 127.0.0.1.
    pub fn start(exe: &Path, args: impl Fn(u16) -> Vec<String>) -> ChildServer {
        // Two tries: another process may take the free port between probe and bind.
        for _ in 0..2 {
            let port = free_port();
            let child = Command::new(exe)
                .args(args(port))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("{} starts: {e}", exe.display()));
            let mut server = ChildServer { child, port };
            if server.wait_ready(Duration::from_secs(60)) {
                return server;
            }
        }
        panic!("{} did not answer on 127.0.0.1", exe.display());
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    fn wait_ready(&mut self, limit: Duration) -> bool {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        // Child::kill signals exactly this child's PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running fakesnow server.
pub struct FakeSnow {
    server: ChildServer,
}

impl FakeSnow {
    /// Start fakesnow, or `None` (after saying so) when it is not installed outside CI.
    pub fn start() -> Option<FakeSnow> {
        let exe = ChildServer::tool(".venv/bin/fakesnow")?;
        let server = ChildServer::start(&exe, |port| {
            ["-s", "-p", &port.to_string(), "--host", "127.0.0.1"]
                .map(String::from)
                .to_vec()
        });
        Some(FakeSnow { server })
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn base_url(&self) -> url::Url {
        loopback_url(self.server.port())
    }
}

/// A running moto server (S3 and the other AWS APIs, in memory).
pub struct Moto {
    server: ChildServer,
}

impl Moto {
    /// Start moto, or `None` (after saying so) when it is not installed outside CI.
    pub fn start() -> Option<Moto> {
        let exe = ChildServer::tool(".venv/bin/moto_server")?;
        let server = ChildServer::start(&exe, |port| {
            ["-H", "127.0.0.1", "-p", &port.to_string()]
                .map(String::from)
                .to_vec()
        });
        Some(Moto { server })
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn base_url(&self) -> url::Url {
        loopback_url(self.server.port())
    }
}

/// A running azurite Blob server with its data in a temporary folder.
pub struct Azurite {
    server: ChildServer,
    _data: tempfile::TempDir,
}

impl Azurite {
    /// The emulator's fixed account and its published key.
    pub const ACCOUNT: &'static str = "devstoreaccount1";
    /// The well-known development account key azurite accepts.
    pub const KEY: &'static str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// Start azurite-blob, or `None` (after saying so) when it is not installed outside CI.
    pub fn start() -> Option<Azurite> {
        let exe = ChildServer::tool("node_modules/.bin/azurite-blob")?;
        let data = tempfile::tempdir().expect("a temporary folder");
        let location = data.path().to_string_lossy().into_owned();
        let server = ChildServer::start(&exe, |port| {
            vec![
                "--blobHost".to_string(),
                "127.0.0.1".to_string(),
                "--blobPort".to_string(),
                port.to_string(),
                "--location".to_string(),
                location.clone(),
                "--silent".to_string(),
                "--skipApiVersionCheck".to_string(),
            ]
        });
        Some(Azurite {
            server,
            _data: data,
        })
    }

    /// The account's root, `http://127.0.0.1:<port>/devstoreaccount1`.
    pub fn account_url(&self) -> url::Url {
        loopback_url(self.server.port())
            .join(Self::ACCOUNT)
            .expect("a valid URL")
    }
}

fn loopback_url(port: u16) -> url::Url {
    url::Url::parse(&format!("http://127.0.0.1:{port}/")).expect("a valid URL")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// Client options for tests: short backoffs and polls.
#[cfg(test)]
pub(crate) fn fast_options() -> super::ClientOptions {
    super::ClientOptions {
        request_timeout: Duration::from_secs(30),
        max_retries: 3,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        query_deadline: Duration::from_secs(20),
        poll_interval: Duration::from_millis(5),
    }
}

/// A config for the token strategy against `base_url`.
#[cfg(test)]
pub(crate) fn token_config(
    base_url: url::Url,
    database: &str,
    schema: &str,
    token_file: &Path,
) -> crate::config::SnowflakeConfig {
    crate::config::SnowflakeConfig {
        database: database.to_string(),
        schema: schema.to_string(),
        role: "SYSADMIN".to_string(),
        warehouse: "WH".to_string(),
        auth: crate::config::SnowflakeAuth::ManagedToken {
            account: Some("myorg-acct1".to_string()),
            token_file: token_file.to_path_buf(),
        },
        base_url,
        oversized_value_strategy: crate::config::OversizedValueStrategy::FailTable,
    }
}

/// An in-process mock Snowflake: `app` served on a free 127.0.0.1 port, and an OAuth token
/// file for the clients that talk to it.
#[cfg(test)]
pub(crate) struct MockBase {
    /// `http://127.0.0.1:<port>/`.
    pub(crate) base: url::Url,
    /// The token file (inside `_dir`).
    pub(crate) token_file: PathBuf,
    _dir: tempfile::TempDir,
}

#[cfg(test)]
impl MockBase {
    /// Serve `app` until the test's runtime ends.
    pub(crate) async fn serve(app: axum::Router) -> MockBase {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port on 127.0.0.1");
        let addr = listener.local_addr().expect("a bound address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let dir = tempfile::tempdir().expect("a temporary folder");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "oauth-1\n").expect("the token file");
        MockBase {
            base: url::Url::parse(&format!("http://{addr}/")).expect("a valid URL"),
            token_file,
            _dir: dir,
        }
    }
}
