//! The Jira Cloud HTTP client: one per run, shared by every board's fetches.
//!
//! - Basic auth (`email:token`); the header value is marked sensitive and never logged.
//! - TLS with the system roots plus `jira.ca_file`; `HTTPS_PROXY`/`NO_PROXY` are honoured (the
//!   reqwest default, left on on purpose).
//! - A semaphore bounds the requests in flight across all callers.
//! - Retries: 429 and 503 wait the `Retry-After` seconds when given; those and other 5xx and
//!   transport errors otherwise back off exponentially with jitter (Atlassian's guidance: about
//!   5 s doubling to a 30 s cap). Other 4xx are answers and are never retried. A request gives
//!   up after `max_retries` retries or once its waiting would pass `max_retry_wait`.
//! - A shared rate budget: a 429 pauses every request until its `Retry-After` has passed,
//!   because retrying earlier extends Atlassian's penalty.
//!
//! <https://developer.atlassian.com/cloud/jira/platform/rate-limiting/>

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, ACCEPT_LANGUAGE, AUTHORIZATION};
use reqwest::StatusCode;
use tokio::sync::Semaphore;
use tracing::{debug, warn};

use super::paging::{OffsetPager, Pager, Step};
use super::{BoardConfig, CheckResult, Error, FetchFailure, IssueFields, Listing, Page};
use crate::config::JiraConfig;
use crate::schema::Table;

/// Default first backoff step (Atlassian: ~5 s).
const DEFAULT_BACKOFF_BASE: Duration = Duration::from_secs(5);

/// The backoff cap is this many times the base (5 s -> 30 s).
const BACKOFF_CAP_FACTOR: u32 = 6;

/// Page size asked of the board, project and sprint endpoints (Jira caps them at 50).
const LIST_PAGE_SIZE: i64 = 50;

/// Page size asked of the board-issue endpoint (Jira caps it by an instance setting).
const ISSUE_PAGE_SIZE: i64 = 100;

/// Stable order for board issues, so that a rank change mid-listing cannot skip an issue.
const ISSUE_JQL: &str = "ORDER BY key ASC";

/// Longest error text taken from a Jira error body.
const MAX_ERROR_TEXT: usize = 300;

/// Counters of one client's traffic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Requests sent (every attempt counts).
    pub requests: u64,
    /// Attempts that were retries.
    pub retries: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    /// Total time spent waiting for backoff, `Retry-After` or the shared rate pause (ms).
    pub waited_ms: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    waited_ms: AtomicU64,
}

/// The outcome of one request after retries.
enum Answer {
    /// 2xx with its body.
    Ok(Bytes),
    /// A non-2xx answer that is final (not retried, or retries exhausted).
    Status {
        status: u16,
        body: Bytes,
        /// Set when retries were exhausted or the wait budget was spent.
        gave_up: Option<String>,
    },
    /// No answer: transport error after retries.
    Transport(String),
}

/// The Jira Cloud client. Cheap to share by reference; all methods take `&self`.
pub struct JiraClient {
    http: reqwest::Client,
    base: String,
    permits: Semaphore,
    max_retries: u32,
    max_retry_wait: Duration,
    backoff_base: Duration,
    paused_until: Arc<Mutex<Option<Instant>>>,
    counters: Counters,
}

impl std::fmt::Debug for JiraClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraClient")
            .field("base", &self.base)
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

impl JiraClient {
    /// A client for the configured site with at most `max_concurrency` requests in flight.
    pub fn new(cfg: &JiraConfig, max_concurrency: usize) -> Result<JiraClient, Error> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("en"));
        headers.insert(AUTHORIZATION, basic_auth(cfg)?);

        // System proxies (HTTPS_PROXY, NO_PROXY) stay on: reqwest reads them by default.
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(cfg.request_timeout)
            .connect_timeout(cfg.request_timeout)
            .user_agent(concat!("jira-agile-sync/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &cfg.ca_file {
            let pem = std::fs::read(path).map_err(|source| Error::CaFileRead {
                path: path.clone(),
                source,
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| {
                Error::CaFileParse {
                    path: path.clone(),
                    source,
                }
            })?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(Error::Build)?;

        Ok(JiraClient {
            http,
            base: cfg
                .environment_url
                .as_str()
                .trim_end_matches('/')
                .to_string(),
            permits: Semaphore::new(max_concurrency.max(1)),
            max_retries: cfg.max_retries,
            max_retry_wait: cfg.max_retry_wait,
            backoff_base: DEFAULT_BACKOFF_BASE,
            paused_until: Arc::new(Mutex::new(None)),
            counters: Counters::default(),
        })
    }

    /// Set the first backoff step (default 5 s; the cap is six times it). Tests use ms.
    pub fn with_backoff_base(mut self, base: Duration) -> Self {
        self.backoff_base = base;
        self
    }

    /// Counters so far.
    pub fn stats(&self) -> ClientStats {
        ClientStats {
            requests: self.counters.requests.load(Ordering::Relaxed),
            retries: self.counters.retries.load(Ordering::Relaxed),
            rate_limited: self.counters.rate_limited.load(Ordering::Relaxed),
            waited_ms: self.counters.waited_ms.load(Ordering::Relaxed),
        }
    }

    /// `GET /rest/api/3/myself`: proves the credentials.
    pub async fn myself(&self) -> Result<serde_json::Value, FetchFailure> {
        let endpoint = "/rest/api/3/myself";
        let body = self.get_json_object(endpoint, endpoint).await?;
        serde_json::from_slice(&body).map_err(|_| malformed(endpoint, "answer is not JSON"))
    }

    /// All boards the token may view (`GET /rest/agile/1.0/board`).
    pub async fn list_boards(&self) -> Listing {
        let mut pager = OffsetPager::new("values", LIST_PAGE_SIZE);
        self.fetch_listing("/rest/agile/1.0/board", &[], &mut pager, false)
            .await
    }

    /// A board's configuration (`GET /rest/agile/1.0/board/{id}/configuration`).
    pub async fn board_configuration(&self, board_id: i64) -> Result<BoardConfig, FetchFailure> {
        let endpoint = format!("/rest/agile/1.0/board/{board_id}/configuration");
        let body = self.get_json_object(&endpoint, &endpoint).await?;
        super::map::parse_board_config(&body).map_err(|e| malformed(&endpoint, &e.to_string()))
    }

    /// The projects a board uses (`GET /rest/agile/1.0/board/{id}/project`).
    pub async fn list_board_projects(&self, board_id: i64) -> Listing {
        let endpoint = format!("/rest/agile/1.0/board/{board_id}/project");
        let mut pager = OffsetPager::new("values", LIST_PAGE_SIZE);
        self.fetch_listing(&endpoint, &[], &mut pager, false).await
    }

    /// A board's sprints (`GET /rest/agile/1.0/board/{id}/sprint`). A board that does not
    /// support sprints (400 with that message) is a complete empty listing.
    pub async fn list_board_sprints(&self, board_id: i64) -> Listing {
        let endpoint = format!("/rest/agile/1.0/board/{board_id}/sprint");
        let mut pager = OffsetPager::new("values", LIST_PAGE_SIZE);
        self.fetch_listing(&endpoint, &[], &mut pager, true).await
    }

    /// A board's issues with an explicit `fields=` list, in a stable order by key.
    pub async fn list_board_issues(&self, board_id: i64, fields: &IssueFields) -> Listing {
        let mut pager = OffsetPager::new("issues", ISSUE_PAGE_SIZE);
        self.list_board_issues_with(board_id, fields, &mut pager)
            .await
    }

    /// A board's issues, paged by any [`Pager`] (token paging can slot in here).
    pub async fn list_board_issues_with(
        &self,
        board_id: i64,
        fields: &IssueFields,
        pager: &mut dyn Pager,
    ) -> Listing {
        let endpoint = format!("/rest/agile/1.0/board/{board_id}/issue");
        let fixed = [
            ("fields", fields.fields_param()),
            ("jql", ISSUE_JQL.to_string()),
        ];
        self.fetch_listing(&endpoint, &fixed, pager, false).await
    }

    /// `check`: `/myself`, then one request per enabled table's endpoint. Writes nothing.
    pub async fn check(&self, tables: &[Table]) -> Vec<CheckResult> {
        let mut results = Vec::new();

        let myself = self.request("/rest/api/3/myself").await;
        results.push(check_result(
            "jira credentials (/rest/api/3/myself)",
            &myself,
            CheckKind::Myself,
        ));

        let boards_path = "/rest/agile/1.0/board?startAt=0&maxResults=1";
        let boards = self.request(boards_path).await;
        results.push(check_result("BOARD", &boards, CheckKind::Boards));
        let first_board = match &boards {
            Answer::Ok(body) => super::map::parse_board_page(body)
                .ok()
                .and_then(|b| b.first().map(|(id, _)| *id)),
            _ => None,
        };

        let wanted = |t: Table| tables.contains(&t);
        let mut probes: Vec<(&str, String, CheckKind)> = Vec::new();
        if wanted(Table::BoardProject) {
            probes.push(("BOARD_PROJECT", "project".into(), CheckKind::Projects));
        }
        if wanted(Table::Sprint) || wanted(Table::BoardSprint) {
            probes.push(("SPRINT", "sprint".into(), CheckKind::Sprints));
        }
        if wanted(Table::BoardIssue) {
            probes.push(("BOARD_ISSUE", "issue".into(), CheckKind::Issues));
        }
        for (name, tail, kind) in probes {
            let Some(id) = first_board else {
                results.push(CheckResult {
                    name: name.to_string(),
                    ok: true,
                    message: "skipped: the token sees no board to test with".into(),
                });
                continue;
            };
            let extra = if kind == CheckKind::Issues {
                "&fields=updated"
            } else {
                ""
            };
            let path = format!("/rest/agile/1.0/board/{id}/{tail}?startAt=0&maxResults=1{extra}");
            let answer = self.request(&path).await;
            results.push(check_result(name, &answer, kind));
        }
        results
    }

    /// GET a single object; any non-2xx is a failure.
    async fn get_json_object(&self, endpoint: &str, path: &str) -> Result<Bytes, FetchFailure> {
        match self.request(path).await {
            Answer::Ok(body) => Ok(body),
            other => Err(failure(endpoint, &other)),
        }
    }

    /// Fetch every page of a listing.
    #[tracing::instrument(name = "fetch", skip_all, fields(endpoint = %endpoint))]
    async fn fetch_listing(
        &self,
        endpoint: &str,
        fixed: &[(&str, String)],
        pager: &mut dyn Pager,
        sprints: bool,
    ) -> Listing {
        let mut pages = Vec::new();
        loop {
            let key = page_key(endpoint, &pager.params(), fixed);
            let body = match self.request(&key).await {
                Answer::Ok(body) => body,
                Answer::Status { status, body, .. }
                    if sprints && pages.is_empty() && is_no_sprints(status, &body) =>
                {
                    debug!(endpoint, "board does not support sprints");
                    return Listing::Complete(Vec::new());
                }
                other => return Listing::Failed(failure(endpoint, &other)),
            };
            let step = pager.advance(&body);
            pages.push(Page { key, body });
            crate::failpoint::failpoint("after_page_fetched");
            match step {
                Step::Next => {}
                Step::Done => {
                    debug!(endpoint, pages = pages.len(), "listing complete");
                    return Listing::Complete(pages);
                }
                Step::Incomplete(reason) => {
                    return Listing::Failed(FetchFailure {
                        endpoint: endpoint.to_string(),
                        http_status: Some(200),
                        message: format!("incomplete listing: {reason}"),
                    })
                }
            }
        }
    }

    /// One GET with retries; `path` is the endpoint path plus query.
    async fn request(&self, path: &str) -> Answer {
        let url = format!("{}{}", self.base, path);
        let endpoint = path.split('?').next().unwrap_or(path);
        let mut retries: u32 = 0;
        let mut waited = Duration::ZERO;
        loop {
            // The shared rate pause counts against this request's wait budget.
            if let Some(pause) = self.pause_remaining() {
                if waited + pause > self.max_retry_wait {
                    return Answer::Status {
                        status: 429,
                        body: Bytes::new(),
                        gave_up: Some(
                            "rate limited: the shared pause outlasts the wait budget".into(),
                        ),
                    };
                }
                self.sleep(pause).await;
                waited += pause;
            }

            let attempt = self.send_once(&url).await;
            let (retry_after, outcome) = match attempt {
                Ok((status, headers, body)) => {
                    if status.is_success() {
                        debug!(endpoint, status = status.as_u16(), retries, "request ok");
                        return Answer::Ok(body);
                    }
                    let code = status.as_u16();
                    if !is_retryable_status(status) {
                        debug!(endpoint, status = code, "request answered");
                        return Answer::Status {
                            status: code,
                            body,
                            gave_up: None,
                        };
                    }
                    let ra = if code == 429 || code == 503 {
                        retry_after(&headers)
                    } else {
                        None
                    };
                    if code == 429 {
                        self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                    }
                    (
                        ra,
                        Answer::Status {
                            status: code,
                            body,
                            gave_up: None,
                        },
                    )
                }
                Err(message) => (None, Answer::Transport(message)),
            };

            let delay = retry_after.unwrap_or_else(|| self.backoff(retries));
            if matches!(outcome, Answer::Status { status: 429, .. }) {
                self.pause_all(delay);
            }
            if retries >= self.max_retries {
                return give_up(outcome, format!("gave up after {retries} retries"));
            }
            if waited + delay > self.max_retry_wait {
                return give_up(
                    outcome,
                    format!(
                        "gave up: waiting {} ms more would pass jira.max_retry_wait",
                        delay.as_millis()
                    ),
                );
            }
            let status = match &outcome {
                Answer::Status { status, .. } => Some(*status),
                _ => None,
            };
            warn!(
                endpoint,
                status,
                retry = retries + 1,
                delay_ms = delay.as_millis() as u64,
                "jira request failed, retrying"
            );
            self.sleep(delay).await;
            waited += delay;
            retries += 1;
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One attempt under a concurrency permit: status, headers and the whole body.
    async fn send_once(&self, url: &str) -> Result<(StatusCode, HeaderMap, Bytes), String> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| "client is shutting down".to_string())?;
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let response = self.http.get(url).send().await.map_err(transport_message)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport_message)?;
        Ok((status, headers, body))
    }

    fn backoff(&self, retries: u32) -> Duration {
        let cap = self.backoff_base.saturating_mul(BACKOFF_CAP_FACTOR);
        let exp = self
            .backoff_base
            .saturating_mul(1u32.checked_shl(retries.min(20)).unwrap_or(u32::MAX))
            .min(cap);
        // Jitter: somewhere between half and all of the step, so clients do not retry in step.
        let factor: f64 = rand::rng().random_range(0.5..=1.0);
        exp.mul_f64(factor)
    }

    fn pause_all(&self, d: Duration) {
        let until = Instant::now() + d;
        let mut guard = self
            .paused_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if guard.is_none_or(|u| u < until) {
            *guard = Some(until);
        }
    }

    fn pause_remaining(&self) -> Option<Duration> {
        let guard = self
            .paused_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let until = (*guard)?;
        let now = Instant::now();
        (until > now).then(|| until - now)
    }

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
        self.counters
            .waited_ms
            .fetch_add(d.as_millis() as u64, Ordering::Relaxed);
    }
}

fn basic_auth(cfg: &JiraConfig) -> Result<HeaderValue, Error> {
    use base64::Engine as _;
    let raw = format!("{}:{}", cfg.email, cfg.api_token.expose());
    let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
    let mut value =
        HeaderValue::from_str(&format!("Basic {encoded}")).map_err(|_| Error::BadCredentials)?;
    value.set_sensitive(true);
    Ok(value)
}

fn is_retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// `Retry-After` in seconds (Jira sends seconds; an HTTP date is not honoured, so backoff
/// applies then).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = v.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// Describe a transport error without its URL (and so without any query) or a body.
fn transport_message(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect error"
    } else if e.is_body() || e.is_decode() {
        "body read error"
    } else {
        "transport error"
    };
    let mut msg = kind.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

fn give_up(outcome: Answer, why: String) -> Answer {
    match outcome {
        Answer::Status { status, body, .. } => Answer::Status {
            status,
            body,
            gave_up: Some(why),
        },
        Answer::Transport(m) => Answer::Transport(format!("{m} ({why})")),
        ok @ Answer::Ok(_) => ok,
    }
}

fn page_key(endpoint: &str, paging: &[(&'static str, String)], fixed: &[(&str, String)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in paging {
        query.append_pair(k, v);
    }
    for (k, v) in fixed {
        query.append_pair(k, v);
    }
    format!("{endpoint}?{}", query.finish())
}

fn malformed(endpoint: &str, why: &str) -> FetchFailure {
    FetchFailure {
        endpoint: endpoint.to_string(),
        http_status: Some(200),
        message: format!("malformed answer: {why}"),
    }
}

/// Jira's error texts from an error body: `errorMessages`, `errors` values, or the gateway's
/// `message` (`{"code":401,"message":"Unauthorized; scope does not match"}`). Nothing else of
/// the body is used, and an HTML body yields nothing.
fn error_text(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::new();
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(msgs) = v.get("errorMessages").and_then(|m| m.as_array()) {
        parts.extend(msgs.iter().filter_map(|m| m.as_str()).map(str::to_string));
    }
    if let Some(errs) = v.get("errors").and_then(|m| m.as_object()) {
        parts.extend(
            errs.iter()
                .filter_map(|(k, m)| m.as_str().map(|m| format!("{k}: {m}"))),
        );
    }
    if parts.is_empty() {
        if let Some(m) = v.get("message").and_then(|m| m.as_str()) {
            parts.push(m.to_string());
        }
    }
    let mut text = parts.join("; ");
    if text.len() > MAX_ERROR_TEXT {
        let mut cut = MAX_ERROR_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

fn is_no_sprints(status: u16, body: &[u8]) -> bool {
    status == 400
        && error_text(body)
            .to_ascii_lowercase()
            .contains("does not support sprints")
}

fn failure(endpoint: &str, answer: &Answer) -> FetchFailure {
    match answer {
        Answer::Ok(_) => malformed(endpoint, "unexpected success"),
        Answer::Status {
            status,
            body,
            gave_up,
        } => {
            let text = error_text(body);
            let mut message = match text.is_empty() {
                true => format!("HTTP {status}"),
                false => format!("HTTP {status}: {text}"),
            };
            if let Some(why) = gave_up {
                message.push_str(&format!(" ({why})"));
            }
            FetchFailure {
                endpoint: endpoint.to_string(),
                http_status: Some(*status),
                message,
            }
        }
        Answer::Transport(m) => FetchFailure {
            endpoint: endpoint.to_string(),
            http_status: None,
            message: m.clone(),
        },
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CheckKind {
    Myself,
    Boards,
    Projects,
    Sprints,
    Issues,
}

impl CheckKind {
    fn scopes(self) -> &'static str {
        match self {
            CheckKind::Myself => "read:jira-user",
            CheckKind::Boards => "read:board-scope:jira-software and read:project:jira",
            CheckKind::Projects => "read:board-scope.admin:jira-software and read:project:jira",
            CheckKind::Sprints => "read:sprint:jira-software",
            CheckKind::Issues => {
                "read:jira-work (granular: read:issue-details:jira) and read:board-scope:jira-software"
            }
        }
    }
}

/// Whether a 200 body looks like Jira's answer for `kind` (a JSON object; `/myself` with an
/// `accountId`). A proxy or web server answering HTML with 200 is not Jira.
fn looks_like_jira(body: &[u8], kind: CheckKind) -> bool {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) if kind == CheckKind::Myself => v.get("accountId").is_some(),
        Ok(v) => v.is_object(),
        Err(_) => false,
    }
}

fn check_result(name: &str, answer: &Answer, kind: CheckKind) -> CheckResult {
    let (ok, message) = match answer {
        Answer::Ok(body) if !looks_like_jira(body, kind) => (
            false,
            "HTTP 200 but not a Jira answer (not the expected JSON): check that \
             jira.environment_url is the Jira site (https://<site>.atlassian.net) and not a \
             login page or proxy"
                .to_string(),
        ),
        Answer::Ok(_) => (true, "ok".to_string()),
        Answer::Status {
            status: 400, body, ..
        } if kind == CheckKind::Sprints && is_no_sprints(400, body) => (
            true,
            "ok (the first board does not support sprints)".to_string(),
        ),
        Answer::Status { status, body, .. } => {
            let text = error_text(body);
            let scope_mismatch = text.to_ascii_lowercase().contains("scope does not match");
            let hint = match (*status, kind) {
                (401, _) if scope_mismatch => format!(
                    "the token lacks a scope ({}), or a scoped token is used with the site URL \
                     instead of https://api.atlassian.com/ex/jira/<cloudId>",
                    kind.scopes()
                ),
                (401, CheckKind::Myself) => {
                    "Jira rejected the credentials: check jira.email and jira.api_token".to_string()
                }
                (401, _) => format!("unauthorized: the token needs {}", kind.scopes()),
                (403, CheckKind::Myself) => {
                    format!("forbidden: the token needs {}", kind.scopes())
                }
                (403, _) => "forbidden: the account likely has no Jira Software licence \
                             (agile endpoints answer 403 without one)"
                    .to_string(),
                (404, CheckKind::Myself) => "not found: check jira.environment_url (site URL or \
                     https://api.atlassian.com/ex/jira/<cloudId>)"
                    .to_string(),
                _ if text.is_empty() => "unexpected answer".to_string(),
                _ => text.clone(),
            };
            let hint = if text.is_empty() || hint.contains(&text) {
                format!("HTTP {status}: {hint}")
            } else {
                format!("HTTP {status}: {hint} (Jira said: {text})")
            };
            (false, hint)
        }
        Answer::Transport(m) => (false, format!("cannot reach Jira: {m}")),
    };
    CheckResult {
        name: name.to_string(),
        ok,
        message,
    }
}

#[cfg(test)]
mod tests;
