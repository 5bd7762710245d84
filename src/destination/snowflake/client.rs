//! The v1 REST client: login, statements, polling, re-login and retries.
//!
//! The protocol is the one Snowflake's own drivers speak (no public reference; the facts here
//! match the official connectors): `POST /session/v1/login-request` returns a session token,
//! sent as `Authorization: Snowflake Token="<token>"` on `POST /queries/v1/query-request`.
//! A query still running answers code 333333/333334 with a `getResultUrl` to poll; an expired
//! session answers 390112 and the statement is replayed after a new login. Transport errors,
//! 5xx and 429 are retried with the same request id, marked `retry=true&retryCount=N`, so the
//! server can tell a retry from a new statement.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::{RequestBuilder, StatusCode};
use serde::Deserialize;
use tokio::sync::RwLock;
use tracing::{debug, instrument, warn};
use uuid::Uuid;

use super::auth::{jwt_account, KeyPair};
use super::error::{Error, Result};
use super::put::{url_is_loopback, UploadLimits};
use super::result::{decode_arrow, decode_json_rows, parse_json_chunk, ColumnMeta, QueryResult};
use crate::config::{Secret, SnowflakeAuth, SnowflakeConfig};

/// Codes of a query that is still running; poll `getResultUrl`.
const QUERY_IN_PROGRESS: &str = "333333";
const QUERY_IN_PROGRESS_ASYNC: &str = "333334";
/// Codes that mean the session is gone: log in again and replay.
const SESSION_GONE: [&str; 3] = [
    "390112", // session expired
    "390114", // authentication token expired
    "390104", // user must login again
];
/// How often a statement is replayed after a new login before giving up.
const MAX_RELOGINS: u32 = 2;

/// Timeouts and backoff; the defaults suit a real account, tests shorten them.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// Retries of one request after a transport error, 5xx or 429.
    pub max_retries: u32,
    /// First backoff; doubles per retry.
    pub initial_backoff: Duration,
    /// Longest single backoff (also caps a 429's `Retry-After`).
    pub max_backoff: Duration,
    /// How long a statement may run (polling included) before it counts as failed.
    pub query_deadline: Duration,
    /// Pause between polls of a running query.
    pub poll_interval: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            request_timeout: Duration::from_secs(60),
            max_retries: 6,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            query_deadline: Duration::from_secs(3600),
            poll_interval: Duration::from_secs(1),
        }
    }
}

enum Credentials {
    KeyPair(Box<KeyPair>),
    Token {
        account: Option<String>,
        token_file: std::path::PathBuf,
    },
}

/// A Snowflake session: logs in lazily, runs statements, uploads files to stages.
pub struct SnowflakeClient {
    pub(super) http: reqwest::Client,
    base_url: url::Url,
    database: String,
    schema: String,
    warehouse: String,
    role: String,
    credentials: Credentials,
    pub(super) options: ClientOptions,
    session: RwLock<Option<Secret<String>>>,
    requests: AtomicU64,
    sequence: AtomicU64,
    pub(super) upload_limits: UploadLimits,
}

impl std::fmt::Debug for SnowflakeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnowflakeClient")
            .field("base_url", &self.base_url.as_str())
            .field("database", &self.database)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// The JSON envelope of every v1 response; every field may be absent.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Envelope {
    data: serde_json::Value,
    code: Option<serde_json::Value>,
    message: Option<String>,
    success: bool,
}

impl Envelope {
    fn code(&self) -> Option<String> {
        match &self.code {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(format!("{n:06}")),
            _ => None,
        }
    }
}

/// `data` of a query response. Never `Debug`: it holds presigned URLs and credentials.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct QueryData {
    pub(super) query_id: Option<String>,
    pub(super) rowtype: Option<Vec<ColumnMeta>>,
    pub(super) rowset: Option<Vec<Vec<serde_json::Value>>>,
    pub(super) rowset_base64: Option<String>,
    pub(super) query_result_format: Option<String>,
    pub(super) chunks: Option<Vec<Chunk>>,
    pub(super) chunk_headers: Option<HashMap<String, String>>,
    pub(super) qrmk: Option<String>,
    pub(super) get_result_url: Option<String>,
    pub(super) stage_info: Option<serde_json::Value>,
    pub(super) encryption_material: Option<serde_json::Value>,
    pub(super) sql_state: Option<String>,
}

/// One result chunk; `url` is presigned (a secret).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct Chunk {
    pub(super) url: String,
    pub(super) row_count: Option<u64>,
}

impl SnowflakeClient {
    /// A client for `cfg` with default timeouts. Parses the private key; does not connect.
    pub fn new(cfg: &SnowflakeConfig) -> Result<Self> {
        Self::with_options(cfg, ClientOptions::default())
    }

    /// A client with explicit timeouts and backoff.
    pub fn with_options(cfg: &SnowflakeConfig, options: ClientOptions) -> Result<Self> {
        let credentials = match &cfg.auth {
            SnowflakeAuth::KeyPair {
                account_identifier,
                username,
                private_key,
                private_key_password,
            } => Credentials::KeyPair(Box::new(KeyPair::try_new(
                private_key.expose(),
                private_key_password.as_ref().map(|p| p.expose().as_str()),
                account_identifier,
                username,
            )?)),
            SnowflakeAuth::ManagedToken {
                account,
                token_file,
            } => Credentials::Token {
                account: account.clone(),
                token_file: token_file.clone(),
            },
        };
        if cfg.base_url.cannot_be_a_base() {
            return Err(Error::Config {
                message: "snowflake.base_url cannot take a path".to_string(),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(options.request_timeout)
            .user_agent(concat!("jira-agile-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config {
                message: format!("cannot build HTTP client: {e}"),
            })?;
        Ok(SnowflakeClient {
            http,
            base_url: cfg.base_url.clone(),
            database: cfg.database.clone(),
            schema: cfg.schema.clone(),
            warehouse: cfg.warehouse.clone(),
            role: cfg.role.clone(),
            credentials,
            options,
            session: RwLock::new(None),
            requests: AtomicU64::new(0),
            sequence: AtomicU64::new(0),
            upload_limits: UploadLimits::default(),
        })
    }

    /// Change when stage uploads go up in parts and how big the parts are.
    pub fn with_upload_limits(mut self, limits: UploadLimits) -> Self {
        self.upload_limits = limits;
        self
    }

    /// HTTP requests sent so far (retries, polls and chunk downloads included).
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Log in now (replacing any session). Statements log in by themselves when needed.
    #[instrument(skip_all, fields(database = %self.database, schema = %self.schema))]
    pub async fn login(&self) -> Result<()> {
        let mut session = self.session.write().await;
        *session = Some(self.request_session().await?);
        debug!("snowflake login succeeded");
        Ok(())
    }

    /// Run one statement and return its rows.
    pub async fn query(&self, sql: &str) -> Result<QueryResult> {
        let data = self.execute(sql).await?;
        let query_id = data.query_id.clone();
        let meta = data.rowtype.clone().unwrap_or_default();
        let rows = self.read_rows(data, &meta).await?;
        Ok(QueryResult {
            columns: meta.iter().map(|m| m.name.clone()).collect(),
            column_meta: meta,
            rows,
            query_id,
        })
    }

    async fn request_session(&self) -> Result<Secret<String>> {
        let request_id = Uuid::new_v4();
        let mut url = self.endpoint("/session/v1/login-request");
        url.query_pairs_mut()
            .append_pair("databaseName", &self.database)
            .append_pair("schemaName", &self.schema)
            .append_pair("warehouse", &self.warehouse)
            .append_pair("roleName", &self.role)
            .append_pair("request_id", &request_id.to_string());

        let mut data = serde_json::json!({
            "CLIENT_APP_ID": "jira-agile-sync",
            "CLIENT_APP_VERSION": env!("CARGO_PKG_VERSION"),
            "SESSION_PARAMETERS": { "TIMEZONE": "UTC", "QUERY_TAG": "jira-agile-sync" },
        });
        match &self.credentials {
            Credentials::KeyPair(kp) => {
                // The fingerprint is public; it tells which key Snowflake must hold.
                debug!(public_key_fingerprint = kp.fingerprint(), "key pair login");
                data["ACCOUNT_NAME"] = kp.account().into();
                data["LOGIN_NAME"] = kp.user().into();
                data["AUTHENTICATOR"] = "SNOWFLAKE_JWT".into();
                data["TOKEN"] = kp.jwt(chrono::Utc::now().timestamp())?.into();
            }
            Credentials::Token {
                account,
                token_file,
            } => {
                // Read at every login: the container runtime refreshes the file.
                let token =
                    std::fs::read_to_string(token_file).map_err(|source| Error::TokenFile {
                        path: token_file.clone(),
                        source,
                    })?;
                if let Some(account) = account {
                    data["ACCOUNT_NAME"] = jwt_account(account).into();
                }
                data["AUTHENTICATOR"] = "OAUTH".into();
                data["TOKEN"] = token.trim().into();
            }
        }
        let body = serde_json::json!({ "data": data });

        let endpoint = "/session/v1/login-request";
        let (status, bytes) = self
            .send(endpoint, |attempt| {
                self.http
                    .post(with_retry_params(&url, attempt))
                    .header(ACCEPT, "application/json")
                    .json(&body)
            })
            .await?;
        let env = parse_envelope(endpoint, status, &bytes)?;
        if !env.success {
            return Err(Error::Login {
                code: env.code().unwrap_or_default(),
                message: env.message.unwrap_or_default(),
            });
        }
        env.data
            .get("token")
            .and_then(|t| t.as_str())
            .map(|t| Secret::new(t.to_string()))
            .ok_or_else(|| Error::Response {
                endpoint: endpoint.to_string(),
                message: "login answer has no token".to_string(),
            })
    }

    /// The current session token, logging in first when there is none.
    async fn session_token(&self) -> Result<Secret<String>> {
        if let Some(token) = self.session.read().await.as_ref() {
            return Ok(token.clone());
        }
        let mut session = self.session.write().await;
        if let Some(token) = session.as_ref() {
            return Ok(token.clone());
        }
        let token = self.request_session().await?;
        *session = Some(token.clone());
        Ok(token)
    }

    /// Drop `stale` (if still current) and log in again.
    async fn renew_session(&self, stale: &Secret<String>) -> Result<()> {
        let mut session = self.session.write().await;
        if session.as_ref() == Some(stale) {
            *session = Some(self.request_session().await?);
        }
        Ok(())
    }

    /// Run a statement and return the raw `data` of its final answer.
    #[instrument(skip_all, fields(request_id = tracing::field::Empty, query_id = tracing::field::Empty))]
    pub(super) async fn execute(&self, sql: &str) -> Result<QueryData> {
        let started = Instant::now();
        let request_id = Uuid::new_v4();
        tracing::Span::current().record("request_id", tracing::field::display(request_id));
        let body = serde_json::json!({
            "sqlText": sql,
            "asyncExec": false,
            "sequenceId": self.sequence.fetch_add(1, Ordering::Relaxed) + 1,
            "querySubmissionTime": chrono::Utc::now().timestamp_millis(),
        });
        let mut url = self.endpoint("/queries/v1/query-request");
        url.query_pairs_mut()
            .append_pair("requestId", &request_id.to_string());
        let endpoint = "/queries/v1/query-request";

        let mut relogins = 0;
        let mut env = loop {
            let token = self.session_token().await?;
            let (status, bytes) = self
                .send(endpoint, |attempt| {
                    self.http
                        .post(with_retry_params(&url, attempt))
                        .header(AUTHORIZATION, auth_header(&token))
                        .header(ACCEPT, "application/snowflake")
                        .json(&body)
                })
                .await?;
            let env = parse_envelope(endpoint, status, &bytes)?;
            if self.should_relogin(&env, &token, &mut relogins).await? {
                continue;
            }
            break env;
        };

        // A long statement answers "in progress"; poll its result URL until it ends.
        while is_in_progress(&env) {
            let waited = started.elapsed();
            let query_id = env
                .data
                .get("queryId")
                .and_then(|q| q.as_str())
                .unwrap_or_default()
                .to_string();
            if waited >= self.options.query_deadline {
                return Err(Error::QueryTimeout {
                    query_id,
                    waited_ms: waited.as_millis(),
                });
            }
            let result_path = env
                .data
                .get("getResultUrl")
                .and_then(|u| u.as_str())
                .ok_or_else(|| Error::Response {
                    endpoint: endpoint.to_string(),
                    message: "query in progress without getResultUrl".to_string(),
                })?
                .to_string();
            tokio::time::sleep(self.options.poll_interval).await;
            env = self.poll_result(&result_path, &mut relogins).await?;
        }

        let code = env.code();
        let data: QueryData = if env.data.is_null() {
            QueryData::default()
        } else {
            serde_json::from_value(env.data).map_err(|e| Error::Response {
                endpoint: endpoint.to_string(),
                message: format!("query answer: {e}"),
            })?
        };
        if let Some(q) = &data.query_id {
            tracing::Span::current().record("query_id", q.as_str());
        }
        if !env.success {
            return Err(Error::Statement {
                code: code.unwrap_or_default(),
                message: env.message.unwrap_or_default(),
                query_id: data.query_id,
                sql_state: data.sql_state,
            });
        }
        debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "statement done"
        );
        Ok(data)
    }

    async fn poll_result(&self, result_path: &str, relogins: &mut u32) -> Result<Envelope> {
        let url = self.same_origin_url(result_path)?;
        let endpoint = "getResultUrl";
        loop {
            let token = self.session_token().await?;
            let (status, bytes) = self
                .send(endpoint, |_| {
                    self.http
                        .get(url.clone())
                        .header(AUTHORIZATION, auth_header(&token))
                        .header(ACCEPT, "application/snowflake")
                })
                .await?;
            let env = parse_envelope(endpoint, status, &bytes)?;
            if self.should_relogin(&env, &token, relogins).await? {
                continue;
            }
            return Ok(env);
        }
    }

    /// True (after logging in again) when `env` says the session is gone and a replay is due.
    async fn should_relogin(
        &self,
        env: &Envelope,
        token: &Secret<String>,
        relogins: &mut u32,
    ) -> Result<bool> {
        let gone = !env.success
            && env
                .code()
                .is_some_and(|c| SESSION_GONE.contains(&c.as_str()));
        if !gone || *relogins >= MAX_RELOGINS {
            return Ok(false);
        }
        *relogins += 1;
        warn!(
            relogins = *relogins,
            "snowflake session expired, logging in again"
        );
        self.renew_session(token).await?;
        Ok(true)
    }

    /// All rows of a result: the inline rowset, then each chunk in order.
    async fn read_rows(
        &self,
        data: QueryData,
        meta: &[ColumnMeta],
    ) -> Result<Vec<Vec<Option<String>>>> {
        let arrow = data.query_result_format.as_deref() == Some("arrow")
            || data.rowset_base64.as_deref().is_some_and(|s| !s.is_empty());

        let mut rows = if arrow {
            let bytes = STANDARD
                .decode(data.rowset_base64.as_deref().unwrap_or_default())
                .map_err(|e| Error::Decode {
                    message: format!("rowsetBase64: {e}"),
                })?;
            decode_arrow(&bytes, meta)?
        } else {
            decode_json_rows(data.rowset.unwrap_or_default(), meta)?
        };

        let chunks = data.chunks.unwrap_or_default();
        let headers = chunk_headers(data.chunk_headers.as_ref(), data.qrmk.as_deref())?;
        for (i, chunk) in chunks.iter().enumerate() {
            let bytes = self.fetch_chunk(&chunk.url, &headers).await?;
            let before = rows.len();
            if arrow {
                rows.extend(decode_arrow(&bytes, meta)?);
            } else {
                rows.extend(decode_json_rows(parse_json_chunk(&bytes)?, meta)?);
            }
            debug!(
                chunk = i,
                rows = rows.len() - before,
                expected_rows = chunk.row_count,
                "chunk read"
            );
        }
        Ok(rows)
    }

    async fn fetch_chunk(&self, url: &str, headers: &HeaderMap) -> Result<Bytes> {
        let url = url::Url::parse(url).map_err(|_| Error::Response {
            endpoint: "chunk".to_string(),
            message: "chunk url is not a URL".to_string(),
        })?;
        let (status, bytes) = self
            .send("chunk", |_| {
                self.http.get(url.clone()).headers(headers.clone())
            })
            .await?;
        if !status.is_success() {
            return Err(Error::Status {
                endpoint: "chunk".to_string(),
                status: status.as_u16(),
            });
        }
        gunzip_if_compressed(bytes)
    }

    /// Send a request built by `build(attempt)`, retrying transport errors, 5xx and 429 with
    /// backoff. Any other answer (2xx or 4xx) is returned with its body.
    pub(super) async fn send(
        &self,
        endpoint: &str,
        build: impl Fn(u32) -> RequestBuilder,
    ) -> Result<(StatusCode, Bytes)> {
        let mut attempt = 0;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let retry_after = match build(attempt).send().await {
                Ok(resp) => {
                    let status = resp.status();
                    if !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS) {
                        let bytes = resp.bytes().await.map_err(|source| Error::Transport {
                            endpoint: endpoint.to_string(),
                            attempts: attempt + 1,
                            source: source.without_url(),
                        })?;
                        return Ok((status, bytes));
                    }
                    if attempt >= self.options.max_retries {
                        return Err(Error::Status {
                            endpoint: endpoint.to_string(),
                            status: status.as_u16(),
                        });
                    }
                    warn!(
                        endpoint,
                        status = status.as_u16(),
                        attempt,
                        "snowflake request failed, retrying"
                    );
                    retry_after_header(&resp)
                }
                Err(source) => {
                    if attempt >= self.options.max_retries {
                        // Without the URL: chunk and upload URLs are presigned (secrets).
                        return Err(Error::Transport {
                            endpoint: endpoint.to_string(),
                            attempts: attempt + 1,
                            source: source.without_url(),
                        });
                    }
                    warn!(endpoint, attempt, error = %source.without_url(), "snowflake request failed, retrying");
                    None
                }
            };
            attempt += 1;
            tokio::time::sleep(self.backoff(attempt, retry_after)).await;
        }
    }

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .options
            .initial_backoff
            .saturating_mul(2_u32.saturating_pow(attempt.saturating_sub(1)));
        retry_after.unwrap_or(exp).min(self.options.max_backoff)
    }

    /// `path` appended to the base URL's path.
    pub(super) fn endpoint(&self, path: &str) -> url::Url {
        let mut url = self.base_url.clone();
        let joined = format!("{}{}", self.base_url.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        url.set_query(None);
        url
    }

    /// A server-given result URL: a path on our base URL, or an absolute URL on the same
    /// origin (the session token is never sent anywhere else).
    fn same_origin_url(&self, given: &str) -> Result<url::Url> {
        if given.starts_with('/') {
            let (path, query) = given.split_once('?').unwrap_or((given, ""));
            let mut url = self.endpoint(path);
            if !query.is_empty() {
                url.set_query(Some(query));
            }
            return Ok(url);
        }
        match url::Url::parse(given) {
            Ok(u) if u.origin() == self.base_url.origin() => Ok(u),
            _ => Err(Error::Response {
                endpoint: "getResultUrl".to_string(),
                message: "result URL is not on the account's host".to_string(),
            }),
        }
    }
}

/// Chunks may be stored gzip-compressed without a `Content-Encoding` header: check the magic.
fn gunzip_if_compressed(bytes: Bytes) -> Result<Bytes> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() * 4);
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut out)
        .map_err(|e| Error::Decode {
            message: format!("gzip chunk: {e}"),
        })?;
    Ok(Bytes::from(out))
}

/// The session's `Authorization` value, marked sensitive so that no HTTP-layer log or `Debug`
/// output shows it.
fn auth_header(token: &Secret<String>) -> reqwest::header::HeaderValue {
    let text = format!("Snowflake Token=\"{}\"", token.expose());
    let mut value = reqwest::header::HeaderValue::from_str(&text)
        .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static("Snowflake Token=\"\""));
    value.set_sensitive(true);
    value
}

/// The request URL of attempt `attempt`: retries say so, keeping the same request id.
fn with_retry_params(url: &url::Url, attempt: u32) -> url::Url {
    let mut url = url.clone();
    if attempt > 0 {
        url.query_pairs_mut()
            .append_pair("retryCount", &attempt.to_string())
            .append_pair("retry", "true");
    }
    url
}

fn retry_after_header(resp: &reqwest::Response) -> Option<Duration> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn parse_envelope(endpoint: &str, status: StatusCode, bytes: &[u8]) -> Result<Envelope> {
    match serde_json::from_slice::<Envelope>(bytes) {
        Ok(env) => Ok(env),
        Err(_) if !status.is_success() => Err(Error::Status {
            endpoint: endpoint.to_string(),
            status: status.as_u16(),
        }),
        Err(e) => Err(Error::Response {
            endpoint: endpoint.to_string(),
            message: format!("not the expected JSON: {e}"),
        }),
    }
}

fn is_in_progress(env: &Envelope) -> bool {
    env.code()
        .is_some_and(|c| c == QUERY_IN_PROGRESS || c == QUERY_IN_PROGRESS_ASYNC)
}

/// Headers for chunk downloads: `chunkHeaders` as given, else the SSE-C key from `qrmk`.
fn chunk_headers(given: Option<&HashMap<String, String>>, qrmk: Option<&str>) -> Result<HeaderMap> {
    let bad = || Error::Response {
        endpoint: "query-request".to_string(),
        message: "chunk header is not a valid HTTP header".to_string(),
    };
    let mut headers = HeaderMap::new();
    match (given, qrmk) {
        (Some(given), _) if !given.is_empty() => {
            for (k, v) in given {
                let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| bad())?;
                let mut value = HeaderValue::from_str(v).map_err(|_| bad())?;
                value.set_sensitive(true);
                headers.insert(name, value);
            }
        }
        (_, Some(qrmk)) => {
            headers.insert(
                "x-amz-server-side-encryption-customer-algorithm",
                HeaderValue::from_static("AES256"),
            );
            let mut value = HeaderValue::from_str(qrmk).map_err(|_| bad())?;
            value.set_sensitive(true);
            headers.insert("x-amz-server-side-encryption-customer-key", value);
        }
        _ => {}
    }
    Ok(headers)
}

impl SnowflakeClient {
    /// True when the server is on this machine (127.0.0.1, ::1 or localhost).
    pub(super) fn is_loopback(&self) -> bool {
        url_is_loopback(&self.base_url)
    }
}
