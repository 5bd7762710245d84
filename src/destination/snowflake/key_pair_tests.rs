//! KEY_PAIR keys from the config to a login: keys made with the `openssl` CLI, given inline, by
//! file or by environment, plain or encrypted, logging in to fakesnow (a real Snowflake-protocol
//! server on 127.0.0.1); keys we refuse fail with the error that says how to fix them.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::testkit::FakeSnow;
use super::{ClientOptions, Error, SnowflakeClient};
use crate::config::{Config, Overrides, SnowflakeConfig};

const PASSWORD: &str = "correct horse 7";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// In `dir`: `k.pem` (PKCS#8), `enc.p8` (PKCS#8, AES-256-CBC) and `p1.pem` (PKCS#1).
fn make_keys(dir: &Path) {
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "k.pem",
        ],
    );
    let pass = format!("pass:{PASSWORD}");
    openssl(
        dir,
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-passout",
            &pass,
            "-in",
            "k.pem",
            "-out",
            "enc.p8",
        ],
    );
    openssl(
        dir,
        &["rsa", "-traditional", "-in", "k.pem", "-out", "p1.pem"],
    );
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// A KEY_PAIR `[snowflake]` section on `base_url` plus `extra` lines, loaded with `env`.
fn key_pair_config(
    base_url: &str,
    database: &str,
    extra: &str,
    env: &[(&str, String)],
) -> SnowflakeConfig {
    let text = format!(
        "[snowflake]\n\
         database = \"{database}\"\n\
         schema = \"S\"\n\
         role = \"R\"\n\
         warehouse = \"WH\"\n\
         authentication_strategy = \"KEY_PAIR\"\n\
         account_identifier = \"myorg-acct1\"\n\
         username = \"etl_user\"\n\
         base_url = \"{base_url}\"\n\
         {extra}\n"
    );
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    Config::from_toml(&text, Path::new("/cfg"), &env, &Overrides::default())
        .unwrap()
        .snowflake
        .unwrap()
}

fn options() -> ClientOptions {
    ClientOptions {
        request_timeout: Duration::from_secs(30),
        max_retries: 2,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        query_deadline: Duration::from_secs(20),
        poll_interval: Duration::from_millis(5),
    }
}

#[tokio::test]
async fn fakesnow_key_pair_login_with_keys_inline_by_file_and_by_env() {
    let Some(server) = FakeSnow::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    make_keys(dir.path());
    let base = server.base_url().to_string();
    let database = format!("JAS_KEYS_{}", uuid::Uuid::new_v4().simple());
    let enc_file = dir.path().join("enc.p8");
    let plain = read(dir.path(), "k.pem");
    let encrypted = read(dir.path(), "enc.p8");
    assert!(plain.contains("BEGIN PRIVATE KEY"));
    assert!(encrypted.contains("BEGIN ENCRYPTED PRIVATE KEY"));

    let cases: Vec<(&str, SnowflakeConfig)> = vec![
        (
            "plain key inline",
            key_pair_config(
                &base,
                &database,
                &format!("private_key = '''\n{plain}'''"),
                &[],
            ),
        ),
        (
            "encrypted key by file, password in the file",
            key_pair_config(
                &base,
                &database,
                &format!(
                    "private_key_file = \"{}\"\nprivate_key_password = \"{PASSWORD}\"",
                    enc_file.display()
                ),
                &[],
            ),
        ),
        (
            "encrypted key and password by env",
            key_pair_config(
                &base,
                &database,
                "",
                &[
                    ("SNOWFLAKE_PRIVATE_KEY", encrypted.clone()),
                    ("SNOWFLAKE_PRIVATE_KEY_PASSWORD", PASSWORD.to_string()),
                ],
            ),
        ),
        (
            "plain key by env with \\n escapes",
            key_pair_config(
                &base,
                &database,
                "",
                &[("SNOWFLAKE_PRIVATE_KEY", plain.trim().replace('\n', "\\n"))],
            ),
        ),
    ];

    for (case, cfg) in cases {
        let client = SnowflakeClient::with_options(&cfg, options())
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        client
            .login()
            .await
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        let one = client
            .query("SELECT 1")
            .await
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(one.rows, vec![vec![Some("1".to_string())]], "{case}");
        assert!(!format!("{client:?}").contains("PRIVATE KEY"), "{case}");
    }
}

#[test]
fn wrong_password_missing_password_and_pkcs1_keys_fail_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    make_keys(dir.path());
    let enc = dir.path().join("enc.p8");
    let p1 = dir.path().join("p1.pem");
    let base = "http://127.0.0.1:9/";
    let client_error =
        |extra: String| SnowflakeClient::new(&key_pair_config(base, "D", &extra, &[])).unwrap_err();

    let wrong = client_error(format!(
        "private_key_file = \"{}\"\nprivate_key_password = \"not it\"",
        enc.display()
    ));
    assert!(matches!(wrong, Error::WrongKeyPassword), "{wrong:?}");
    assert!(wrong
        .to_string()
        .contains("openssl pkey -in rsa_key.p8 -noout"));
    assert!(!wrong.to_string().contains("not it"));

    let missing = client_error(format!("private_key_file = \"{}\"", enc.display()));
    assert!(matches!(missing, Error::KeyPasswordMissing), "{missing:?}");
    assert!(missing
        .to_string()
        .contains("SNOWFLAKE_PRIVATE_KEY_PASSWORD"));

    let pkcs1 = client_error(format!("private_key_file = \"{}\"", p1.display()));
    assert!(matches!(pkcs1, Error::Pkcs1Key), "{pkcs1:?}");
    assert!(pkcs1
        .to_string()
        .contains("openssl pkcs8 -topk8 -inform PEM -in rsa_key.p1 -out rsa_key.p8 -nocrypt"));
}

#[test]
fn key_encrypted_with_an_unsupported_scheme_says_how_to_re_encrypt() {
    let dir = tempfile::tempdir().unwrap();
    make_keys(dir.path());
    let pass = format!("pass:{PASSWORD}");
    // PBES1 (PKCS#12 SHA-1 and 3DES) and PBES2 with 3DES: old tools still write both.
    for (name, scheme) in [
        ("pbes1.p8", ["-v1", "PBE-SHA1-3DES"]),
        ("des3.p8", ["-v2", "des3"]),
    ] {
        let mut args = vec!["pkcs8", "-topk8"];
        args.extend(scheme);
        args.extend(["-passout", &pass, "-in", "k.pem", "-out", name]);
        openssl(dir.path(), &args);
        let cfg = key_pair_config(
            "http://127.0.0.1:9/",
            "D",
            &format!(
                "private_key_file = \"{}\"\nprivate_key_password = \"{PASSWORD}\"",
                dir.path().join(name).display()
            ),
            &[],
        );

        let err = SnowflakeClient::new(&cfg).unwrap_err();

        assert!(
            matches!(err, Error::UnsupportedKeyEncryption),
            "{name}: {err:?}"
        );
        assert!(err
            .to_string()
            .contains("openssl pkcs8 -topk8 -v2 aes-256-cbc"));
    }
}
