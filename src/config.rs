//! Configuration: TOML file, then environment variables, then flags (DESIGN.md section 4).
//!
//! Parsed once at startup into typed values. Unknown keys and bad values are errors naming the
//! key. Secrets live in [`Secret`], whose `Debug` and `Display` print `***`.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::schema::Table;

/// Errors found while reading or checking configuration.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config file could not be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The TOML is malformed or has an unknown key or a value of the wrong type.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What toml said (names the key).
        message: String,
    },
    /// A key has a bad value or is missing.
    #[error("config key `{key}`: {message}")]
    Invalid {
        /// The key, as written in the file (`jira.environment_url`).
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A secret file could not be read.
    #[error("config key `{key}`: cannot read {path}")]
    SecretFile {
        /// The key.
        key: String,
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// Result alias for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn invalid(key: &str, message: impl Into<String>) -> Error {
    Error::Invalid {
        key: key.to_string(),
        message: message.into(),
    }
}

/// A secret value: never shown by `Debug` or `Display`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wrap a secret.
    pub fn new(v: T) -> Self {
        Secret(v)
    }

    /// The secret itself; call only where it is sent, never where it is logged.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        T::deserialize(d).map(Secret)
    }
}

// ---------------------------------------------------------------------------------------------
// Raw file shape (every key optional so that env and flags can fill it).

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    data_dir: Option<PathBuf>,
    jira: Option<RawJira>,
    ingestion: Option<RawIngestion>,
    snowflake: Option<RawSnowflake>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJira {
    environment_url: Option<String>,
    email: Option<String>,
    api_token: Option<Secret<String>>,
    api_token_file: Option<PathBuf>,
    request_timeout: Option<String>,
    max_retries: Option<u32>,
    max_retry_wait: Option<String>,
    ca_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIngestion {
    enabled_tables: Option<Vec<String>>,
    sync_interval: Option<String>,
    merge_interval: Option<String>,
    max_concurrency: Option<usize>,
    resume_max_age: Option<String>,
    keep_runs: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSnowflake {
    database: Option<String>,
    schema: Option<String>,
    authentication_strategy: Option<String>,
    account_identifier: Option<String>,
    username: Option<String>,
    role: Option<String>,
    warehouse: Option<String>,
    private_key: Option<Secret<String>>,
    private_key_file: Option<PathBuf>,
    private_key_password: Option<Secret<String>>,
    token_file: Option<PathBuf>,
    base_url: Option<String>,
    oversized_value_strategy: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Typed configuration.

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data directory (`data_dir`, default `data`).
    pub data_dir: PathBuf,
    /// The `[jira]` section; `None` when no Jira site is configured (only `demo` works then).
    pub jira: Option<JiraConfig>,
    /// The `[ingestion]` section.
    pub ingestion: IngestionConfig,
    /// The `[snowflake]` section when present.
    pub snowflake: Option<SnowflakeConfig>,
}

/// `[jira]`: the site and how to talk to it.
#[derive(Debug, Clone)]
pub struct JiraConfig {
    /// Base URL: `https://<site>.atlassian.net` or `https://api.atlassian.com/ex/jira/<cloudId>`.
    pub environment_url: url::Url,
    /// Account email for basic auth.
    pub email: String,
    /// API token (secret).
    pub api_token: Secret<String>,
    /// Per-request timeout (default 30 s).
    pub request_timeout: Duration,
    /// Retries per request (default 6).
    pub max_retries: u32,
    /// Total wait per request before it counts as failed (default 5 min).
    pub max_retry_wait: Duration,
    /// Extra trusted CA certificate (PEM).
    pub ca_file: Option<PathBuf>,
}

/// `[ingestion]`: what to sync and how often.
#[derive(Debug, Clone)]
pub struct IngestionConfig {
    /// Optional tables to fill (BOARD is always on).
    pub enabled_tables: BTreeSet<Table>,
    /// `run` starts a sync at most this often (default 5 min).
    pub sync_interval: Duration,
    /// `run` loads at most this often (default 1 min).
    pub merge_interval: Duration,
    /// Parallel Jira requests (default 4).
    pub max_concurrency: usize,
    /// An interrupted run older than this restarts instead of resuming (default 24 h).
    pub resume_max_age: Duration,
    /// Run reports and loaded journal files kept locally (default 50).
    pub keep_runs: usize,
}

impl Default for IngestionConfig {
    fn default() -> Self {
        IngestionConfig {
            enabled_tables: [Table::BoardIssue, Table::BoardProject, Table::Sprint]
                .into_iter()
                .collect(),
            sync_interval: Duration::from_secs(300),
            merge_interval: Duration::from_secs(60),
            max_concurrency: 4,
            resume_max_age: Duration::from_secs(24 * 3600),
            keep_runs: 50,
        }
    }
}

impl IngestionConfig {
    /// Whether a table is filled. BOARD always is; BOARD_SPRINT follows SPRINT.
    pub fn is_enabled(&self, table: Table) -> bool {
        match table {
            Table::Board => true,
            Table::BoardSprint => self.enabled_tables.contains(&Table::Sprint),
            t => self.enabled_tables.contains(&t),
        }
    }
}

/// How to log in to Snowflake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnowflakeAuth {
    /// RS256 JWT from a PKCS#8 key.
    KeyPair {
        /// Account identifier (`<org>-<account>`).
        account_identifier: String,
        /// User name.
        username: String,
        /// The PEM text of the private key (secret).
        private_key: Secret<String>,
        /// Password of an encrypted key (secret).
        private_key_password: Option<Secret<String>>,
    },
    /// OAuth token read from `token_file` at every login (Snowflake's container runtime).
    ManagedToken {
        /// Account from `SNOWFLAKE_ACCOUNT`.
        account: Option<String>,
        /// Where the token is.
        token_file: PathBuf,
    },
}

/// What to do with a VARCHAR/VARIANT value over 16 MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OversizedValueStrategy {
    /// Mark the table failed.
    FailTable,
    /// Write NULL and count it.
    SetNull,
}

/// `[snowflake]`: the destination.
#[derive(Debug, Clone)]
pub struct SnowflakeConfig {
    /// Database, case-sensitive, always quoted.
    pub database: String,
    /// Schema, case-sensitive, always quoted.
    pub schema: String,
    /// Role.
    pub role: String,
    /// Warehouse.
    pub warehouse: String,
    /// Login method and its credentials.
    pub auth: SnowflakeAuth,
    /// Base URL of the account's REST endpoints.
    pub base_url: url::Url,
    /// Oversized value handling.
    pub oversized_value_strategy: OversizedValueStrategy,
}

/// Overrides from the command line (highest precedence).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
}

/// A source of environment variables (the process environment, or a map in tests).
pub trait Env {
    /// The variable's value, if set and not empty.
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Env for std::collections::HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned().filter(|v| !v.is_empty())
    }
}

/// Parse a duration string such as `"90s"`, `"5m"`, `"24h"`.
pub fn parse_duration(key: &str, s: &str) -> Result<Duration> {
    humantime::parse_duration(s.trim()).map_err(|e| {
        invalid(
            key,
            format!("`{s}` is not a duration ({e}); write it like \"90s\", \"5m\" or \"24h\""),
        )
    })
}

impl Config {
    /// Load from an explicit file, else `./jira-agile-sync.toml` when present, then the
    /// environment, then the overrides.
    pub fn load(file: Option<&Path>, env: &dyn Env, overrides: &Overrides) -> Result<Config> {
        let (raw, base) = match file {
            Some(path) => (read_file(path)?, parent_dir(path)),
            None => {
                let default = Path::new("jira-agile-sync.toml");
                if default.exists() {
                    (read_file(default)?, PathBuf::from("."))
                } else {
                    tracing::debug!("no config file given and ./jira-agile-sync.toml absent");
                    (RawConfig::default(), PathBuf::from("."))
                }
            }
        };
        Config::from_raw(raw, &base, env, overrides)
    }

    /// Parse TOML text (relative paths resolve against `base`).
    pub fn from_toml(
        text: &str,
        base: &Path,
        env: &dyn Env,
        overrides: &Overrides,
    ) -> Result<Config> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| Error::Parse {
            path: base.join("<config>"),
            message: describe_toml_error(text, &e),
        })?;
        Config::from_raw(raw, base, env, overrides)
    }

    fn from_raw(
        raw: RawConfig,
        base: &Path,
        env: &dyn Env,
        overrides: &Overrides,
    ) -> Result<Config> {
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };

        let data_dir = overrides
            .data_dir
            .clone()
            .or_else(|| env.var("JIRA_AGILE_SYNC_DATA_DIR").map(PathBuf::from))
            .or_else(|| raw.data_dir.map(resolve))
            .unwrap_or_else(|| PathBuf::from("data"));

        let jira = jira_config(raw.jira.unwrap_or_default(), env, &resolve)?;
        let ingestion = ingestion_config(raw.ingestion.unwrap_or_default())?;
        let snowflake = match raw.snowflake {
            Some(s) => Some(snowflake_config(s, env, &resolve)?),
            None => None,
        };

        Ok(Config {
            data_dir,
            jira,
            ingestion,
            snowflake,
        })
    }

    /// The Jira section, or an error saying how to configure it.
    pub fn require_jira(&self) -> Result<&JiraConfig> {
        self.jira.as_ref().ok_or_else(|| {
            invalid(
                "jira.environment_url",
                "no Jira site configured: set [jira] environment_url, email and api_token in the \
                 config file or JIRA_ENVIRONMENT_URL, JIRA_EMAIL and JIRA_API_TOKEN (or run `demo`)",
            )
        })
    }
}

fn read_file(path: &Path) -> Result<RawConfig> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| Error::Parse {
        path: path.to_path_buf(),
        message: describe_toml_error(&text, &e),
    })
}

/// toml's message with the line and the dotted key it concerns. Only key names and the line
/// number are quoted from the file, never a value (it may be a secret).
fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = redact_value(e.message());
    let Some(span) = e.span() else {
        return message;
    };
    let start = span.start.min(text.len());
    let line_no = text[..start].matches('\n').count() + 1;
    let lines: Vec<&str> = text.lines().collect();
    let key = lines.get(line_no - 1).and_then(|l| {
        let (k, _) = l.split_once('=')?;
        let k = k.trim();
        if k.is_empty() || k.starts_with('#') {
            return None;
        }
        let section = lines[..line_no - 1].iter().rev().find_map(|l| {
            let l = l.trim();
            l.strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .map(|r| r.trim_matches(|c| c == '[' || c == ']').trim().to_string())
        });
        Some(match section {
            Some(sec) => format!("{sec}.{k}"),
            None => k.to_string(),
        })
    });
    match key {
        Some(k) => format!("line {line_no}, key `{k}`: {message}"),
        None => format!("line {line_no}: {message}"),
    }
}

/// serde names the offending value in type errors (`invalid type: string "…"`): keep only its
/// kind, since the value may be a secret.
fn redact_value(msg: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            let kind = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .trim_end_matches(',');
            let expected = rest.find(", expected").map_or("", |i| &rest[i..]);
            return format!("{prefix}{kind}{expected}");
        }
    }
    msg.to_string()
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn read_secret_file(key: &str, path: &Path) -> Result<Secret<String>> {
    std::fs::read_to_string(path)
        .map(|s| Secret(s.trim().to_string()))
        .map_err(|source| Error::SecretFile {
            key: key.to_string(),
            path: path.to_path_buf(),
            source,
        })
}

/// Check a base URL: https, or plain http only for 127.0.0.1/localhost.
pub fn parse_base_url(key: &str, s: &str) -> Result<url::Url> {
    let url = url::Url::parse(s.trim()).map_err(|e| {
        invalid(
            key,
            format!("`{s}` is not a URL ({e}); write it like https://your-site.atlassian.net"),
        )
    })?;
    match url.scheme() {
        "https" => {}
        "http" => {
            let host = url.host_str().unwrap_or_default();
            if !(host == "127.0.0.1" || host == "localhost" || host == "[::1]") {
                return Err(invalid(
                    key,
                    "plain http:// is allowed only for 127.0.0.1; use https://",
                ));
            }
        }
        other => {
            return Err(invalid(
                key,
                format!("unsupported scheme `{other}`; use https://"),
            ))
        }
    }
    if url.host_str().is_none() {
        return Err(invalid(key, "the URL has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(key, "the URL must not have a query or fragment"));
    }
    Ok(url)
}

fn jira_config(
    raw: RawJira,
    env: &dyn Env,
    resolve: &dyn Fn(PathBuf) -> PathBuf,
) -> Result<Option<JiraConfig>> {
    let url = env.var("JIRA_ENVIRONMENT_URL").or(raw.environment_url);
    let email = env.var("JIRA_EMAIL").or(raw.email);
    let token = match env.var("JIRA_API_TOKEN") {
        Some(t) => Some(Secret(t)),
        None => match (raw.api_token, raw.api_token_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "jira.api_token_file",
                    "set either jira.api_token or jira.api_token_file, not both",
                ))
            }
            (Some(t), None) => Some(t),
            (None, Some(f)) => Some(read_secret_file("jira.api_token_file", &resolve(f))?),
            (None, None) => None,
        },
    };
    let request_timeout = match &raw.request_timeout {
        Some(s) => parse_duration("jira.request_timeout", s)?,
        None => Duration::from_secs(30),
    };
    let max_retry_wait = match &raw.max_retry_wait {
        Some(s) => parse_duration("jira.max_retry_wait", s)?,
        None => Duration::from_secs(300),
    };
    if request_timeout.is_zero() {
        return Err(invalid("jira.request_timeout", "must be more than zero"));
    }
    let max_retries = raw.max_retries.unwrap_or(6);
    if max_retries > 100 {
        return Err(invalid("jira.max_retries", "must be at most 100"));
    }
    let ca_file = raw.ca_file.map(resolve);
    if let Some(ca) = &ca_file {
        if !ca.is_file() {
            return Err(invalid(
                "jira.ca_file",
                format!("{} is not a readable file", ca.display()),
            ));
        }
    }

    let url = match url {
        None => {
            if email.is_some() || token.is_some() {
                return Err(invalid(
                    "jira.environment_url",
                    "required: https://<site>.atlassian.net",
                ));
            }
            return Ok(None);
        }
        Some(u) => u,
    };
    let mut environment_url = parse_base_url("jira.environment_url", &url)?;
    // Keep a path prefix such as /ex/jira/<cloudId> without a trailing slash.
    let trimmed = environment_url.path().trim_end_matches('/').to_string();
    environment_url.set_path(&trimmed);
    let email = email.ok_or_else(|| {
        invalid(
            "jira.email",
            "required (the Atlassian account email of the API token)",
        )
    })?;
    if !email.contains('@') {
        return Err(invalid("jira.email", "is not an email address"));
    }
    let api_token = token.ok_or_else(|| {
        invalid(
            "jira.api_token",
            "required: set JIRA_API_TOKEN, jira.api_token or jira.api_token_file",
        )
    })?;
    if api_token.expose().is_empty() {
        return Err(invalid("jira.api_token", "is empty"));
    }
    Ok(Some(JiraConfig {
        environment_url,
        email,
        api_token,
        request_timeout,
        max_retries,
        max_retry_wait,
        ca_file,
    }))
}

fn ingestion_config(raw: RawIngestion) -> Result<IngestionConfig> {
    let mut cfg = IngestionConfig::default();
    if let Some(tables) = raw.enabled_tables {
        let mut set = BTreeSet::new();
        for t in tables {
            match Table::from_name(&t) {
                Some(table @ (Table::BoardIssue | Table::BoardProject | Table::Sprint)) => {
                    set.insert(table);
                }
                _ => {
                    return Err(invalid(
                        "ingestion.enabled_tables",
                        if t.eq_ignore_ascii_case("BOARD") || t.eq_ignore_ascii_case("BOARD_SPRINT")
                        {
                            format!(
                                "`{t}` cannot be listed: BOARD is always synced and BOARD_SPRINT \
                                 follows SPRINT; allowed: BOARD_ISSUE, BOARD_PROJECT, SPRINT"
                            )
                        } else {
                            format!(
                                "unknown table `{t}`; allowed: BOARD_ISSUE, BOARD_PROJECT, SPRINT"
                            )
                        },
                    ))
                }
            }
        }
        cfg.enabled_tables = set;
    }
    if let Some(s) = raw.sync_interval {
        cfg.sync_interval = parse_duration("ingestion.sync_interval", &s)?;
    }
    if let Some(s) = raw.merge_interval {
        cfg.merge_interval = parse_duration("ingestion.merge_interval", &s)?;
    }
    for (key, d) in [
        ("ingestion.sync_interval", cfg.sync_interval),
        ("ingestion.merge_interval", cfg.merge_interval),
    ] {
        if d < Duration::from_secs(1) {
            return Err(invalid(key, "must be at least 1s"));
        }
    }
    if let Some(s) = raw.resume_max_age {
        cfg.resume_max_age = parse_duration("ingestion.resume_max_age", &s)?;
    }
    if let Some(n) = raw.max_concurrency {
        if n == 0 || n > 64 {
            return Err(invalid(
                "ingestion.max_concurrency",
                "must be between 1 and 64",
            ));
        }
        cfg.max_concurrency = n;
    }
    if let Some(n) = raw.keep_runs {
        if n == 0 {
            return Err(invalid("ingestion.keep_runs", "must be at least 1"));
        }
        cfg.keep_runs = n;
    }
    Ok(cfg)
}

fn snowflake_config(
    raw: RawSnowflake,
    env: &dyn Env,
    resolve: &dyn Fn(PathBuf) -> PathBuf,
) -> Result<SnowflakeConfig> {
    let required = |v: Option<String>, key: &str| -> Result<String> {
        match v {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(invalid(key, "required")),
        }
    };
    let database = required(raw.database, "snowflake.database")?;
    let schema = required(raw.schema, "snowflake.schema")?;
    let role = required(raw.role, "snowflake.role")?;
    let warehouse = required(raw.warehouse, "snowflake.warehouse")?;
    let strategy = required(
        raw.authentication_strategy,
        "snowflake.authentication_strategy",
    )?;
    let oversized_value_strategy = match raw.oversized_value_strategy.as_deref() {
        None | Some("FAIL_TABLE") => OversizedValueStrategy::FailTable,
        Some("SET_NULL") => OversizedValueStrategy::SetNull,
        Some(other) => {
            return Err(invalid(
                "snowflake.oversized_value_strategy",
                format!("unknown value `{other}`; allowed: FAIL_TABLE, SET_NULL"),
            ))
        }
    };
    let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());

    let (auth, default_base) = match strategy.as_str() {
        "KEY_PAIR" => {
            let account = env
                .var("SNOWFLAKE_ACCOUNT")
                .or(raw.account_identifier.filter(|s| !s.trim().is_empty()))
                .ok_or_else(|| {
                    invalid(
                        "snowflake.account_identifier",
                        "required for KEY_PAIR (<org>-<account>)",
                    )
                })?;
            let username = raw
                .username
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| invalid("snowflake.username", "required for KEY_PAIR"))?;
            let private_key = match (raw.private_key, raw.private_key_file) {
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        "snowflake.private_key_file",
                        "set either snowflake.private_key or snowflake.private_key_file, not both",
                    ))
                }
                (Some(k), None) => k,
                (None, Some(f)) => read_secret_file("snowflake.private_key_file", &resolve(f))?,
                (None, None) => env.var("SNOWFLAKE_PRIVATE_KEY").map(Secret).ok_or_else(|| {
                    invalid(
                        "snowflake.private_key",
                        "KEY_PAIR needs snowflake.private_key, snowflake.private_key_file or SNOWFLAKE_PRIVATE_KEY",
                    )
                })?,
            };
            let private_key_password = env
                .var("SNOWFLAKE_PRIVATE_KEY_PASSWORD")
                .map(Secret)
                .or(raw.private_key_password);
            let base = format!(
                "https://{}.snowflakecomputing.com",
                account.to_ascii_lowercase()
            );
            (
                SnowflakeAuth::KeyPair {
                    account_identifier: account,
                    username,
                    private_key,
                    private_key_password,
                },
                Some(base),
            )
        }
        "SNOWFLAKE_MANAGED_TOKEN" => {
            if !blank(&raw.account_identifier) {
                return Err(invalid(
                    "snowflake.account_identifier",
                    "must be blank for SNOWFLAKE_MANAGED_TOKEN (the account comes from SNOWFLAKE_ACCOUNT)",
                ));
            }
            if !blank(&raw.username) {
                return Err(invalid(
                    "snowflake.username",
                    "must be blank for SNOWFLAKE_MANAGED_TOKEN",
                ));
            }
            if raw.private_key.is_some() || raw.private_key_file.is_some() {
                return Err(invalid(
                    "snowflake.private_key",
                    "must not be set for SNOWFLAKE_MANAGED_TOKEN",
                ));
            }
            let token_file = raw
                .token_file
                .map(resolve)
                .unwrap_or_else(|| PathBuf::from("/snowflake/session/token"));
            let base = env.var("SNOWFLAKE_HOST").map(|h| format!("https://{h}"));
            (
                SnowflakeAuth::ManagedToken {
                    account: env.var("SNOWFLAKE_ACCOUNT"),
                    token_file,
                },
                base,
            )
        }
        other => {
            return Err(invalid(
                "snowflake.authentication_strategy",
                format!("unknown value `{other}`; allowed: KEY_PAIR, SNOWFLAKE_MANAGED_TOKEN"),
            ))
        }
    };
    let base = raw.base_url.or(default_base).ok_or_else(|| {
        invalid(
            "snowflake.base_url",
            "required: set snowflake.base_url or SNOWFLAKE_HOST",
        )
    })?;
    let base_url = parse_base_url("snowflake.base_url", &base)?;
    Ok(SnowflakeConfig {
        database,
        schema,
        role,
        warehouse,
        auth,
        base_url,
        oversized_value_strategy,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_toml(text, Path::new("/cfg"), &env, &Overrides::default())
    }

    const JIRA: &str = r#"
[jira]
environment_url = "https://example.atlassian.net/"
email = "a@b.c"
api_token = "tok-SECRET-123"
"#;

    #[test]
    fn defaults_and_secret_masking() {
        let cfg = load(JIRA, &[]).expect("config");
        let jira = cfg.jira.as_ref().expect("jira");
        assert_eq!(
            jira.environment_url.as_str(),
            "https://example.atlassian.net/"
        );
        assert_eq!(jira.max_retries, 6);
        assert_eq!(cfg.ingestion.max_concurrency, 4);
        assert!(cfg.ingestion.is_enabled(Table::BoardSprint));
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("tok-SECRET-123"), "{dbg}");
        assert!(dbg.contains("***"));
    }

    #[test]
    fn unknown_key_is_named() {
        let err = load("[jira]\nemial = \"x\"\n", &[]).expect_err("unknown key");
        assert!(err.to_string().contains("emial"), "{err}");
    }

    #[test]
    fn type_error_names_dotted_key_and_line_but_not_the_value() {
        let err = load(
            "[jira]\nemail = \"a@b.c\"\nmax_retries = \"SECRETVALUE\"\n",
            &[],
        )
        .expect_err("wrong type");
        let msg = err.to_string();
        assert!(
            msg.contains("line 3") && msg.contains("jira.max_retries"),
            "{msg}"
        );
        assert!(!msg.contains("SECRETVALUE"), "{msg}");
    }

    #[test]
    fn bad_duration_names_key() {
        let err =
            load(&format!("{JIRA}\nrequest_timeout = \"soon\"\n"), &[]).expect_err("bad duration");
        assert!(err.to_string().contains("jira.request_timeout"), "{err}");
    }

    #[test]
    fn env_overrides_file() {
        let cfg = load(
            JIRA,
            &[
                ("JIRA_EMAIL", "x@y.z"),
                ("JIRA_AGILE_SYNC_DATA_DIR", "/tmp/d"),
            ],
        )
        .expect("config");
        assert_eq!(cfg.jira.expect("jira").email, "x@y.z");
        assert_eq!(cfg.data_dir, PathBuf::from("/tmp/d"));
    }

    #[test]
    fn plain_http_only_for_loopback() {
        let err = load("[jira]\nenvironment_url = \"http://example.com\"\nemail = \"a@b\"\napi_token = \"t\"\n", &[])
            .expect_err("http");
        assert!(err.to_string().contains("127.0.0.1"), "{err}");
        let ok = load("[jira]\nenvironment_url = \"http://127.0.0.1:9/\"\nemail = \"a@b\"\napi_token = \"t\"\n", &[]);
        assert!(ok.is_ok());
    }

    #[test]
    fn scoped_token_base_url_keeps_path() {
        let cfg = load(
            "[jira]\nenvironment_url = \"https://api.atlassian.com/ex/jira/abc-123/\"\nemail = \"a@b\"\napi_token = \"t\"\n",
            &[],
        )
        .expect("config");
        assert_eq!(
            cfg.jira.expect("jira").environment_url.path(),
            "/ex/jira/abc-123"
        );
    }

    #[test]
    fn token_strategy_rejects_account() {
        let text = r#"
[snowflake]
database = "D"
schema = "S"
role = "R"
warehouse = "W"
authentication_strategy = "SNOWFLAKE_MANAGED_TOKEN"
account_identifier = "org-acct"
"#;
        let err = load(text, &[("SNOWFLAKE_HOST", "h.example")]).expect_err("invalid combo");
        assert!(
            err.to_string().contains("snowflake.account_identifier"),
            "{err}"
        );
    }

    #[test]
    fn key_pair_requires_key_and_rejects_both() {
        let base = r#"
[snowflake]
database = "D"
schema = "S"
role = "R"
warehouse = "W"
authentication_strategy = "KEY_PAIR"
account_identifier = "org-acct"
username = "U"
"#;
        let err = load(base, &[]).expect_err("no key");
        assert!(err.to_string().contains("snowflake.private_key"), "{err}");
        let err = load(
            &format!("{base}private_key = \"k\"\nprivate_key_file = \"f\"\n"),
            &[],
        )
        .expect_err("both");
        assert!(err.to_string().contains("private_key_file"), "{err}");
        let cfg = load(&format!("{base}private_key = \"PEMSECRET\"\n"), &[]).expect("ok");
        let sf = cfg.snowflake.expect("sf");
        assert_eq!(
            sf.base_url.as_str(),
            "https://org-acct.snowflakecomputing.com/"
        );
        assert!(!format!("{sf:?}").contains("PEMSECRET"));
    }
}
