//! Every secret, after runs that include Snowflake (fakesnow, KEY_PAIR with an encrypted key
//! made by openssl) and failures: none of the Jira token, `base64(email:token)`, the private
//! key's PEM body lines, its password, or a Snowflake session token (captured by a proxy in front
//! of fakesnow) appears in any file under the data directory or in anything printed at `-vv`
//! with `RUST_LOG=trace`; neither does a `Snowflake Token=` header value or a JWT.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use jira_agile_sync::destination::snowflake::testkit::FakeSnow;

use crate::faults::Proxy;
use crate::util::{self, EMAIL, TOKEN};

const PASSWORD: &str = "pw-Unl1kely-9c2e";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}");
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("list").flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// A JWT: `eyJ`, base64url, a dot, more base64url (header.payload).
fn has_jwt(text: &str) -> bool {
    text.match_indices("eyJ").any(|(i, _)| {
        let rest = &text[i..];
        let head: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        head.len() >= 10 && rest[head.len()..].starts_with('.')
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_with_snowflake_and_failures_leak_no_secret() {
    let Some(fs) = FakeSnow::start() else { return };
    let proxy = Proxy::start(fs.base_url()).await;
    let sim = util::start(util::site(21, 5, 8)).await;
    let boards: Vec<i64> = sim.site().boards().map(|b| b.id).collect();
    let work = tempfile::tempdir().expect("tempdir");
    let keys = work.path().join("keys");
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
            "plain.pem",
        ],
    );
    let pass = format!("pass:{PASSWORD}");
    openssl(
        &keys,
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-passout",
            &pass,
            "-in",
            "plain.pem",
            "-out",
            "enc.p8",
        ],
    );
    let key_file = keys.join("enc.p8");
    let pem_lines: Vec<String> = ["plain.pem", "enc.p8"]
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(keys.join(f))
                .expect("pem")
                .lines()
                .filter(|l| !l.starts_with("-----") && l.len() > 16)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(pem_lines.len() > 20);

    let data = work.path().join("data");
    let config = work.path().join("c.toml");
    let n = std::process::id();
    std::fs::write(
        &config,
        format!(
            "[jira]\nenvironment_url = \"{}\"\nemail = \"{EMAIL}\"\napi_token_file = \"tok\"\n\
             request_timeout = \"5s\"\nmax_retries = 2\nmax_retry_wait = \"5s\"\n\n\
             [snowflake]\ndatabase = \"SECRETS_{n}\"\nschema = \"JIRA\"\nrole = \"R\"\n\
             warehouse = \"W\"\nauthentication_strategy = \"KEY_PAIR\"\n\
             account_identifier = \"org-acct\"\nusername = \"etl\"\n\
             private_key_file = \"{}\"\nbase_url = \"{}\"\n",
            sim.base_url(),
            key_file.display(),
            proxy.url()
        ),
    )
    .expect("config");
    std::fs::write(work.path().join("tok"), format!("{TOKEN}\n")).expect("token file");

    let run = |args: &[&str]| {
        let mut cmd = Command::new(util::bin());
        cmd.arg("-vv")
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .env("RUST_LOG", "trace")
            .env("SNOWFLAKE_PRIVATE_KEY_PASSWORD", PASSWORD)
            .env_remove("JIRA_API_TOKEN")
            .env_remove("JIRA_AGILE_SYNC_DATA_DIR")
            .env_remove("SNOWFLAKE_PRIVATE_KEY");
        cmd
    };

    // 1. A sync with Jira failures (401 on a configuration, 429, 500 past the retries) that
    //    still loads Snowflake. 2. A clean sync and load. 3. Wrong credentials (exit 2).
    //    4. `check` and `status`.
    sim.faults()
        .status(&format!("/board/{}/configuration", boards[0]), 401, 1);
    sim.faults()
        .rate_limit(&format!("/board/{}/issue", boards[1]), 1, None);
    sim.faults()
        .status(&format!("/board/{}/project", boards[2]), 500, 3);
    let mut outputs = Vec::new();
    let (code, out, err) = util::run_bin(run(&[]), &["sync"]).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("TRACE"), "trace logging is on");
    outputs.push(("sync 1".to_string(), out, err));
    sim.edit(|s| s.rename_board(boards[3], "renamed"));
    let (code, out, err) = util::run_bin(run(&[]), &["sync"]).await;
    assert_eq!(code, 0, "{err}");
    outputs.push(("sync 2".to_string(), out, err));
    let status: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("status.json")).expect("status"))
            .expect("json");
    assert_eq!(status["last_load"]["status"], "ok", "Snowflake was loaded");
    let (code, out, err) = util::run_bin(run(&[]), &["check"]).await;
    outputs.push((format!("check ({code})"), out, err));
    let (_, out, err) = util::run_bin(run(&[]), &["status", "--json"]).await;
    outputs.push(("status".to_string(), out, err));
    std::fs::write(work.path().join("tok"), "wrong-token").expect("token file");
    let (code, out, err) = util::run_bin(run(&[]), &["sync"]).await;
    assert_eq!(code, 2, "{err}");
    outputs.push(("wrong token".to_string(), out, err));

    let sessions = proxy.tokens.lock().expect("tokens").clone();
    assert!(
        sessions.len() >= 2,
        "session tokens captured: {}",
        sessions.len()
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}:{TOKEN}"));
    let mut needles: Vec<String> = vec![TOKEN.into(), b64, PASSWORD.into()];
    needles.extend(pem_lines);
    needles.extend(sessions);

    let mut leaks = Vec::new();
    let files = files_under(&data);
    assert!(files.len() > 10, "{} files", files.len());
    for p in &files {
        let bytes = std::fs::read(p).expect("read");
        for n in &needles {
            if contains(&bytes, n.as_bytes()) {
                leaks.push(format!("{}: {n}", p.display()));
            }
        }
        let is_text = p.extension().is_some_and(|e| e == "json");
        if is_text && has_jwt(&String::from_utf8_lossy(&bytes)) {
            leaks.push(format!("{}: a JWT", p.display()));
        }
    }
    for (name, out, err) in &outputs {
        for text in [out, err] {
            for n in &needles {
                if text.contains(n.as_str()) {
                    leaks.push(format!("{name}: {n}"));
                }
            }
            if has_jwt(text) {
                leaks.push(format!("{name}: a JWT"));
            }
            if text.contains("Snowflake Token=") {
                leaks.push(format!("{name}: a Snowflake Token= header"));
            }
        }
    }
    assert!(leaks.is_empty(), "secrets leaked: {leaks:?}");
    assert!(
        has_jwt("x eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig y"),
        "detector works"
    );
    sim.shutdown().await;
}
