//! Client tests against small HTTP servers on 127.0.0.1.

use std::io::Write as _;
use std::sync::atomic::AtomicUsize;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::config::Secret;

const TOKEN: &str = "tok-SECRET-a1b2c3d4e5";
const EMAIL: &str = "bot@example.com";

fn basic_value() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}:{TOKEN}"))
}

/// What the test server saw of one request.
#[derive(Clone, Debug)]
struct Hit {
    path: String,
    query: String,
    authorization: Option<String>,
    accept: Option<String>,
    accept_language: Option<String>,
    at: Instant,
}

impl Hit {
    fn param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    fn start_at(&self) -> i64 {
        self.param("startAt")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}

/// The server's answer to one request.
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

impl Reply {
    fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    fn ok(body: serde_json::Value) -> Reply {
        Reply::json(200, body)
    }

    fn html(status: u16) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "text/html".into())],
            body: "<html><body>Too many requests</body></html>".into(),
            delay: Duration::ZERO,
        }
    }

    fn header(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.push((name, value.to_string()));
        self
    }

    fn delayed(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }
}

type Handler = dyn Fn(&Hit, usize) -> Reply + Send + Sync;

struct Server {
    base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    in_flight_max: Arc<AtomicUsize>,
}

impl Server {
    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().expect("hits").clone()
    }
}

/// Serve `handler(hit, index of the hit)` on 127.0.0.1.
async fn serve(handler: impl Fn(&Hit, usize) -> Reply + Send + Sync + 'static) -> Server {
    let handler: Arc<Handler> = Arc::new(handler);
    let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let in_flight_max = Arc::new(AtomicUsize::new(0));
    let (h, hs, inf, infm) = (
        handler.clone(),
        hits.clone(),
        in_flight.clone(),
        in_flight_max.clone(),
    );
    let app = axum::Router::new().fallback(move |req: Request| {
        let (h, hs, inf, infm) = (h.clone(), hs.clone(), inf.clone(), infm.clone());
        async move {
            let (parts, _) = req.into_parts();
            let header = |n: &str| {
                parts
                    .headers
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let hit = Hit {
                path: parts.uri.path().to_string(),
                query: parts.uri.query().unwrap_or_default().to_string(),
                authorization: header("authorization"),
                accept: header("accept"),
                accept_language: header("accept-language"),
                at: Instant::now(),
            };
            let index = {
                let mut all = hs.lock().expect("hits");
                all.push(hit.clone());
                all.len() - 1
            };
            let now = inf.fetch_add(1, Ordering::SeqCst) + 1;
            infm.fetch_max(now, Ordering::SeqCst);
            let reply = h(&hit, index);
            tokio::time::sleep(reply.delay).await;
            inf.fetch_sub(1, Ordering::SeqCst);
            let mut resp = Response::builder().status(reply.status);
            for (k, v) in &reply.headers {
                resp = resp.header(*k, v.as_str());
            }
            resp.body(Body::from(reply.body)).expect("response")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server {
        base: format!("http://{addr}"),
        hits,
        in_flight_max,
    }
}

fn config(base: &str) -> JiraConfig {
    JiraConfig {
        environment_url: url::Url::parse(base).expect("url"),
        email: EMAIL.into(),
        api_token: Secret::new(TOKEN.into()),
        request_timeout: Duration::from_secs(2),
        max_retries: 3,
        max_retry_wait: Duration::from_secs(10),
        ca_file: None,
    }
}

fn client(base: &str) -> JiraClient {
    JiraClient::new(&config(base), 4)
        .expect("client")
        .with_backoff_base(Duration::from_millis(1))
}

fn values_page(start: i64, max: i64, items: &[i64], is_last: Option<bool>) -> serde_json::Value {
    let mut v = serde_json::json!({
        "startAt": start,
        "maxResults": max,
        "values": items.iter().map(|i| serde_json::json!({"id": i, "name": format!("b{i}")}))
            .collect::<Vec<_>>(),
    });
    if let Some(l) = is_last {
        v["isLast"] = serde_json::Value::Bool(l);
    }
    v
}

fn issues_page(start: i64, max: i64, total: i64, ids: &[i64]) -> serde_json::Value {
    serde_json::json!({
        "startAt": start,
        "maxResults": max,
        "total": total,
        "issues": ids.iter().map(|i| serde_json::json!({
            "id": i.to_string(), "key": format!("K-{i}"), "fields": {}
        })).collect::<Vec<_>>(),
    })
}

fn pages(listing: Listing) -> Vec<Page> {
    match listing {
        Listing::Complete(p) => p,
        Listing::Failed(f) => panic!("listing failed: {f}"),
    }
}

fn failed(listing: Listing) -> FetchFailure {
    match listing {
        Listing::Complete(p) => panic!("listing complete with {} pages", p.len()),
        Listing::Failed(f) => f,
    }
}

#[tokio::test]
async fn every_request_sends_basic_auth_accept_and_language() {
    let server = serve(|_, _| Reply::ok(serde_json::json!({"accountId": "abc"}))).await;
    // A base URL with a path (scoped tokens) is kept as a prefix.
    let c = client(&format!("{}/ex/jira/cloud-1", server.base));
    let me = c.myself().await.expect("myself");
    assert_eq!(me["accountId"], "abc");

    let hits = server.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, "/ex/jira/cloud-1/rest/api/3/myself");
    assert_eq!(
        hits[0].authorization.as_deref(),
        Some(format!("Basic {}", basic_value()).as_str())
    );
    assert_eq!(hits[0].accept.as_deref(), Some("application/json"));
    assert_eq!(hits[0].accept_language.as_deref(), Some("en"));
    assert_eq!(c.stats().requests, 1);
    assert_eq!(c.stats().retries, 0);
}

#[tokio::test]
async fn a_429_with_html_body_waits_retry_after_then_succeeds() {
    let server = serve(|_, i| match i {
        0 => Reply::html(429).header("retry-after", "1"),
        _ => Reply::ok(serde_json::json!({"accountId": "abc"})),
    })
    .await;
    let c = client(&server.base);
    c.myself().await.expect("myself after retry");

    let hits = server.hits();
    assert_eq!(hits.len(), 2);
    let gap = hits[1].at - hits[0].at;
    assert!(gap >= Duration::from_millis(950), "retried after {gap:?}");
    let s = c.stats();
    assert_eq!((s.requests, s.retries, s.rate_limited), (2, 1, 1));
    assert!(s.waited_ms >= 1000, "waited {} ms", s.waited_ms);
}

#[tokio::test]
async fn a_503_honours_retry_after_and_other_5xx_back_off() {
    let server = serve(|_, i| match i {
        0 => Reply::html(503).header("retry-after", "1"),
        1 => Reply::json(502, serde_json::json!({})),
        2 => Reply::json(500, serde_json::json!({})),
        _ => Reply::ok(serde_json::json!({})),
    })
    .await;
    let c = client(&server.base);
    c.myself().await.expect("myself after retries");

    let hits = server.hits();
    assert_eq!(hits.len(), 4);
    assert!(hits[1].at - hits[0].at >= Duration::from_millis(950));
    assert!(hits[3].at - hits[1].at < Duration::from_millis(900));
    let s = c.stats();
    assert_eq!((s.retries, s.rate_limited), (3, 0));
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = serve(|hit, _| {
        if hit.path.ends_with("/board/7/configuration") {
            Reply::json(
                404,
                serde_json::json!({
                    "errorMessages": ["Board does not exist or you do not have permission to see it."],
                    "errors": {}
                }),
            )
        } else {
            Reply::json(422, serde_json::json!({"errorMessages": [], "errors": {"x": "bad"}}))
        }
    })
    .await;
    let c = client(&server.base);

    let f = c.board_configuration(7).await.expect_err("404");
    assert_eq!(f.http_status, Some(404));
    assert_eq!(f.endpoint, "/rest/agile/1.0/board/7/configuration");
    assert!(f.message.contains("Board does not exist"), "{}", f.message);
    assert!(!f.is_retryable());

    let f = failed(c.list_board_projects(7).await);
    assert_eq!(f.http_status, Some(422));
    assert_eq!(server.hits().len(), 2);
    assert_eq!(c.stats().retries, 0);
}

/// A server on raw TCP: the first connection gets a truncated body, later ones a full answer.
async fn truncating_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let conns = Arc::new(AtomicUsize::new(0));
    let counter = conns.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let body = r#"{"accountId":"abc"}"#;
                let reply = if n == 0 {
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                     content-length: 100\r\n\r\n{\"acc"
                        .to_string()
                } else {
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                let _ = sock.write_all(reply.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), conns)
}

#[tokio::test]
async fn truncated_body_is_retried() {
    let (base, conns) = truncating_server().await;
    let c = client(&base);
    let me = c.myself().await.expect("myself after a truncated body");
    assert_eq!(me["accountId"], "abc");
    assert_eq!(conns.load(Ordering::SeqCst), 2);
    assert_eq!(c.stats().retries, 1);
}

#[tokio::test]
async fn timeout_is_retried_and_connection_refused_fails_without_status() {
    let server = serve(|_, i| match i {
        0 => Reply::ok(serde_json::json!({})).delayed(Duration::from_millis(1500)),
        _ => Reply::ok(serde_json::json!({"accountId": "abc"})),
    })
    .await;
    let mut cfg = config(&server.base);
    cfg.request_timeout = Duration::from_millis(300);
    let c = JiraClient::new(&cfg, 2)
        .expect("client")
        .with_backoff_base(Duration::from_millis(1));
    c.myself().await.expect("myself after a timeout");
    assert_eq!(c.stats().retries, 1);

    // Nothing listens on a port just released: connect errors are retried, then fail.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let c = client(&format!("http://127.0.0.1:{port}"));
    let f = c.myself().await.expect_err("nobody listens");
    assert_eq!(f.http_status, None);
    assert!(f.is_retryable());
    assert_eq!(c.stats().requests, 4);
    assert!(
        f.message.contains("gave up after 3 retries"),
        "{}",
        f.message
    );
}

#[tokio::test]
async fn max_retries_is_respected() {
    let server =
        serve(|_, _| Reply::json(500, serde_json::json!({"errorMessages": ["boom"]}))).await;
    let c = client(&server.base);
    let f = c.myself().await.expect_err("always 500");
    assert_eq!(server.hits().len(), 4);
    assert_eq!(f.http_status, Some(500));
    assert!(
        f.message.contains("boom") && f.message.contains("gave up"),
        "{}",
        f.message
    );
    assert_eq!(c.stats().retries, 3);
}

#[tokio::test]
async fn max_retry_wait_is_respected() {
    let server = serve(|_, _| Reply::json(500, serde_json::json!({}))).await;
    let mut cfg = config(&server.base);
    cfg.max_retries = 100;
    cfg.max_retry_wait = Duration::from_millis(400);
    let c = JiraClient::new(&cfg, 1)
        .expect("client")
        .with_backoff_base(Duration::from_millis(100));
    let started = Instant::now();
    let f = c.myself().await.expect_err("always 500");
    assert!(f.message.contains("max_retry_wait"), "{}", f.message);
    let s = c.stats();
    assert!(s.waited_ms <= 400, "waited {} ms", s.waited_ms);
    assert!(
        s.requests >= 2 && s.requests <= 6,
        "{} requests",
        s.requests
    );
    assert!(started.elapsed() < Duration::from_secs(2));

    // A Retry-After beyond the budget fails at once instead of sleeping.
    let server = serve(|_, _| Reply::html(429).header("retry-after", "30")).await;
    let mut cfg = config(&server.base);
    cfg.max_retry_wait = Duration::from_secs(2);
    let c = JiraClient::new(&cfg, 1).expect("client");
    let started = Instant::now();
    let f = c.myself().await.expect_err("rate limited");
    assert_eq!(f.http_status, Some(429));
    assert_eq!(server.hits().len(), 1);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_429_pauses_other_requests_too() {
    let server = serve(|hit, _| {
        if hit.path.ends_with("/board/1/configuration") && hit.query.is_empty() {
            // Only the first configuration request is limited.
            Reply::html(429).header("retry-after", "1")
        } else {
            Reply::ok(serde_json::json!({}))
        }
    })
    .await;
    let server_hits = server.hits.clone();
    let c = Arc::new(client(&server.base));

    // Request A is rate limited; once the client has seen the 429, request B starts.
    let a = {
        let c = c.clone();
        tokio::spawn(async move { c.board_configuration(1).await })
    };
    while c.stats().rate_limited == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let limited_at = server_hits.lock().expect("hits")[0].at;
    c.board_configuration(2).await.expect("b");
    let b_at = server
        .hits()
        .iter()
        .find(|h| h.path.ends_with("/board/2/configuration"))
        .map(|h| h.at)
        .expect("b was sent");
    assert!(
        b_at - limited_at >= Duration::from_millis(900),
        "B went out {:?} after the 429",
        b_at - limited_at
    );
    a.abort();
}

#[tokio::test]
async fn concurrency_is_bounded_by_the_semaphore() {
    let server =
        serve(|_, _| Reply::ok(serde_json::json!({})).delayed(Duration::from_millis(100))).await;
    let c = Arc::new(
        JiraClient::new(&config(&server.base), 2)
            .expect("client")
            .with_backoff_base(Duration::from_millis(1)),
    );
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.board_configuration(i).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("join").expect("config");
    }
    assert_eq!(server.in_flight_max.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn board_listing_advances_by_the_page_size_the_server_used() {
    // The server caps pages at 2 whatever is asked; 5 boards in all.
    let server = serve(|hit, _| {
        let start = hit.start_at();
        let ids: Vec<i64> = (start..(start + 2).min(5)).map(|i| i + 1).collect();
        Reply::ok(values_page(start, 2, &ids, Some(start + 2 >= 5)))
    })
    .await;
    let c = client(&server.base);
    let p = pages(c.list_boards().await);
    assert_eq!(p.len(), 3);
    assert_eq!(
        p[1].key, "/rest/agile/1.0/board?startAt=2&maxResults=50",
        "page key"
    );
    let starts: Vec<i64> = server.hits().iter().map(Hit::start_at).collect();
    assert_eq!(starts, vec![0, 2, 4]);
}

#[tokio::test]
async fn short_and_empty_pages_that_are_not_last_continue() {
    let server = serve(|hit, _| match hit.start_at() {
        0 => Reply::ok(values_page(0, 50, &[1], Some(false))),
        50 => Reply::ok(values_page(50, 50, &[], Some(false))),
        _ => Reply::ok(values_page(100, 50, &[3], Some(true))),
    })
    .await;
    let c = client(&server.base);
    let p = pages(c.list_board_sprints(9).await);
    assert_eq!(p.len(), 3);
    let starts: Vec<i64> = server.hits().iter().map(Hit::start_at).collect();
    assert_eq!(starts, vec![0, 50, 100]);
}

#[tokio::test]
async fn issue_listing_without_is_last_stops_at_total_and_sends_fields_and_jql() {
    let server = serve(|hit, _| {
        let start = hit.start_at();
        // Pages of 100 with items the token cannot see removed (short pages).
        Reply::ok(issues_page(start, 100, 230, &[start + 1, start + 2]))
    })
    .await;
    let c = client(&server.base);
    let fields = IssueFields {
        estimation_field_id: Some("customfield_10016".into()),
        rank_custom_field_id: Some(10019),
    };
    let p = pages(c.list_board_issues(5, &fields).await);
    assert_eq!(p.len(), 3);
    let hits = server.hits();
    assert_eq!(
        hits.iter().map(Hit::start_at).collect::<Vec<_>>(),
        vec![0, 100, 200]
    );
    assert_eq!(hits[0].path, "/rest/agile/1.0/board/5/issue");
    assert_eq!(hits[0].param("fields"), Some(fields.fields_param()));
    assert_eq!(hits[0].param("jql").as_deref(), Some("ORDER BY key ASC"));
    assert!(p[2]
        .key
        .starts_with("/rest/agile/1.0/board/5/issue?startAt=200&maxResults=100&fields="));
}

#[tokio::test]
async fn issue_listing_stops_on_an_empty_page() {
    let server = serve(|hit, _| match hit.start_at() {
        0 => Reply::ok(
            serde_json::json!({"startAt": 0, "maxResults": 100, "issues": [
                {"id": "1", "key": "K-1", "fields": {}}
            ]}),
        ),
        _ => Reply::ok(serde_json::json!({"startAt": 100, "maxResults": 100, "issues": []})),
    })
    .await;
    let c = client(&server.base);
    let p = pages(c.list_board_issues(5, &IssueFields::default()).await);
    assert_eq!(p.len(), 2);
}

#[tokio::test]
async fn total_changing_mid_listing_fails_it() {
    let server = serve(|hit, _| {
        let start = hit.start_at();
        let total = if start == 0 { 300 } else { 301 };
        Reply::ok(issues_page(start, 100, total, &[start + 1]))
    })
    .await;
    let c = client(&server.base);
    let f = failed(c.list_board_issues(5, &IssueFields::default()).await);
    assert_eq!(f.endpoint, "/rest/agile/1.0/board/5/issue");
    assert!(f.message.contains("total changed"), "{}", f.message);
}

#[tokio::test]
async fn a_failing_later_page_fails_the_listing() {
    let server = serve(|hit, _| match hit.start_at() {
        0 => Reply::ok(values_page(0, 50, &[1], Some(false))),
        _ => Reply::json(500, serde_json::json!({})),
    })
    .await;
    let mut cfg = config(&server.base);
    cfg.max_retries = 0;
    let c = JiraClient::new(&cfg, 1).expect("client");
    let f = failed(c.list_board_projects(3).await);
    assert_eq!(f.http_status, Some(500));
    assert_eq!(f.endpoint, "/rest/agile/1.0/board/3/project");
}

#[tokio::test]
async fn board_without_sprints_is_an_empty_complete_listing() {
    let server = serve(|hit, _| {
        if hit.path.contains("/board/1/") {
            Reply::json(
                400,
                serde_json::json!({
                    "errorMessages": ["The board does not support sprints"], "errors": {}
                }),
            )
        } else if hit.path.contains("/board/2/") {
            Reply::json(
                400,
                serde_json::json!({"errorMessages": ["startAt must be positive"], "errors": {}}),
            )
        } else {
            // The right message with the wrong status is not "no sprints".
            Reply::json(
                404,
                serde_json::json!({"errorMessages": ["The board does not support sprints"]}),
            )
        }
    })
    .await;
    let c = client(&server.base);
    assert_eq!(c.list_board_sprints(1).await, Listing::Complete(Vec::new()));

    let f = failed(c.list_board_sprints(2).await);
    assert_eq!(f.http_status, Some(400));
    assert!(f.message.contains("startAt must be positive"));

    let f = failed(c.list_board_sprints(3).await);
    assert_eq!(f.http_status, Some(404));
}

#[tokio::test]
async fn check_names_credentials_scopes_and_licence() {
    let server = serve(|hit, _| {
        let p = hit.path.as_str();
        if p.ends_with("/myself") {
            Reply::json(401, serde_json::json!({"errorMessages": ["unauthorized"]}))
        } else if p == "/rest/agile/1.0/board" {
            Reply::ok(values_page(0, 1, &[42], Some(false)))
        } else if p.ends_with("/board/42/project") {
            Reply::json(
                401,
                serde_json::json!({"code": 401, "message": "Unauthorized; scope does not match"}),
            )
        } else if p.ends_with("/board/42/sprint") {
            Reply::json(403, serde_json::json!({"errorMessages": ["forbidden"]}))
        } else {
            Reply::ok(issues_page(0, 1, 1, &[1]))
        }
    })
    .await;
    let c = client(&server.base);
    let r = c
        .check(&[
            Table::Board,
            Table::BoardProject,
            Table::Sprint,
            Table::BoardIssue,
        ])
        .await;
    let by = |n: &str| {
        r.iter()
            .find(|x| x.name.starts_with(n))
            .unwrap_or_else(|| panic!("no result {n}: {r:?}"))
            .clone()
    };
    let me = by("jira credentials");
    assert!(
        !me.ok && me.message.contains("jira.email"),
        "{}",
        me.message
    );
    assert!(by("BOARD").ok);
    let bp = by("BOARD_PROJECT");
    assert!(
        !bp.ok && bp.message.contains("read:board-scope.admin:jira-software"),
        "{}",
        bp.message
    );
    let sp = by("SPRINT");
    assert!(!sp.ok && sp.message.contains("licence"), "{}", sp.message);
    assert!(by("BOARD_ISSUE").ok);
    assert_eq!(r.len(), 5);
}

#[tokio::test]
async fn check_skips_board_tables_without_a_board() {
    let server = serve(|hit, _| {
        if hit.path.ends_with("/myself") {
            Reply::ok(serde_json::json!({"accountId": "a"}))
        } else {
            Reply::ok(values_page(0, 1, &[], Some(true)))
        }
    })
    .await;
    let c = client(&server.base);
    let r = c.check(&[Table::Board, Table::BoardIssue]).await;
    assert_eq!(r.len(), 3);
    assert!(r.iter().all(|x| x.ok));
    assert!(r[2].message.contains("skipped"));
    assert_eq!(server.hits().len(), 2);
}

/// A writer the test subscriber appends to.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn token_and_authorization_never_reach_logs_or_errors() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = serve(|hit, i| {
        if hit.path.ends_with("/myself") {
            Reply::json(
                401,
                serde_json::json!({"errorMessages": ["bad credentials"]}),
            )
        } else if hit.path.ends_with("/configuration") && i < 3 {
            Reply::html(429).header("retry-after", "0")
        } else if hit.path.ends_with("/sprint") {
            Reply::json(500, serde_json::json!({"errorMessages": ["boom"]}))
        } else {
            Reply::ok(values_page(0, 50, &[1], Some(true)))
        }
    })
    .await;
    let c = client(&server.base);
    let mut texts = vec![format!("{c:?}")];
    texts.push(format!("{:?}", c.myself().await));
    texts.push(format!("{:?}", c.board_configuration(1).await));
    texts.push(format!("{:?}", c.list_board_sprints(1).await));
    texts.push(format!("{:?}", c.list_boards().await));
    texts.push(format!("{:?}", c.check(&Table::ALL).await));
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let dead = client(&format!("http://127.0.0.1:{port}"));
    texts.push(format!("{:?}", dead.myself().await));
    let (base, _) = truncating_server().await;
    let mut cfg = config(&base);
    cfg.max_retries = 0;
    let trunc = JiraClient::new(&cfg, 1).expect("client");
    texts.push(format!("{:?}", trunc.myself().await));

    let _ = std::io::stdout().flush();
    let logs = String::from_utf8(capture.0.lock().expect("capture").clone()).expect("utf8");
    // The capture works: retries were logged at warn.
    assert!(logs.contains("retrying"), "nothing captured: {logs}");
    let all = format!("{logs}\n{}", texts.join("\n"));
    for secret in [
        TOKEN.to_string(),
        basic_value(),
        format!("Basic {}", basic_value()),
    ] {
        assert!(!all.contains(&secret), "secret leaked:\n{all}");
    }
    assert!(server.hits().iter().all(|h| h.authorization.is_some()));
}
