//! Test support: a real Snowflake-protocol server (fakesnow) on 127.0.0.1, one per test.
//!
//! `scripts/setup-test-env.sh` installs it into `.venv`. Without it, tests skip with a message,
//! except under `CI=true`, where a missing server is a failure (CI must never skip them).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running fakesnow server, killed (by its PID) when dropped.
pub struct FakeSnow {
    child: Child,
    port: u16,
}

impl FakeSnow {
    /// Start fakesnow, or `None` (after saying so) when it is not installed outside CI.
    pub fn start() -> Option<FakeSnow> {
        let exe = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/fakesnow");
        if !exe.exists() {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("fakesnow not installed in CI (run scripts/setup-test-env.sh)");
            }
            eprintln!("skipped: fakesnow not installed (run scripts/setup-test-env.sh)");
            return None;
        }

        // Two tries: another process may take the free port between probe and bind.
        for _ in 0..2 {
            let port = free_port();
            let child = Command::new(&exe)
                .args(["-s", "-p", &port.to_string(), "--host", "127.0.0.1"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("fakesnow starts");
            let mut server = FakeSnow { child, port };
            if server.wait_ready(Duration::from_secs(30)) {
                return Some(server);
            }
        }
        panic!("fakesnow did not answer on 127.0.0.1");
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn base_url(&self) -> url::Url {
        url::Url::parse(&format!("http://127.0.0.1:{}/", self.port)).expect("a valid URL")
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

impl Drop for FakeSnow {
    fn drop(&mut self) {
        // Child::kill signals exactly this child's PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}
