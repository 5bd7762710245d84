//! The HTTP side of the simulator: an axum server on 127.0.0.1 that answers the Jira endpoints
//! from the site model, after fault rules and static bodies had their say.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::serve::{IncomingStream, Listener};
use axum::Router;
use base64::Engine;
use futures::StreamExt;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::faults::{FaultAction, Faults};
use super::model::{BoardConfig, ExpectedTables, Site, SprintState};

const JSON: &str = "application/json;charset=UTF-8";

/// Basic-auth credentials the simulator accepts (`email:token`); anything else gets a 401.
#[derive(Clone, PartialEq, Eq)]
pub struct SimAuth {
    /// Account email.
    pub email: String,
    /// API token.
    pub token: String,
}

impl std::fmt::Debug for SimAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimAuth")
            .field("email", &self.email)
            .field("token", &"***")
            .finish()
    }
}

impl SimAuth {
    /// Credentials for tests: `sim@example.com` / `sim-token`.
    pub fn test() -> SimAuth {
        SimAuth {
            email: "sim@example.com".into(),
            token: "sim-token".into(),
        }
    }
}

/// Server options beyond the site.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimOptions {
    /// Path prefix the site is served under, e.g. `/ex/jira/<cloudId>` as for scoped tokens;
    /// empty for none. Requests outside it answer 404.
    pub base_path: String,
    /// Port on 127.0.0.1; 0 (the default) picks a free one.
    pub port: u16,
}

struct StaticReply {
    prefix: String,
    status: u16,
    body: String,
}

struct Shared {
    site: RwLock<Site>,
    faults: Faults,
    auth: SimAuth,
    base_path: String,
    requests: Mutex<Vec<String>>,
    statics: RwLock<Vec<StaticReply>>,
    served_config: Mutex<HashMap<i64, BoardConfig>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The simulator's locks guard plain data updated in one step; poison carries no meaning.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running simulator. Dropping it stops the server.
pub struct Simulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Simulator {
    /// Serve `site` on 127.0.0.1 at a free port.
    pub async fn start(site: Site, auth: SimAuth) -> io::Result<Simulator> {
        Simulator::start_with(site, auth, SimOptions::default()).await
    }

    /// Serve `site` on 127.0.0.1 with options (base path, port).
    pub async fn start_with(
        site: Site,
        auth: SimAuth,
        options: SimOptions,
    ) -> io::Result<Simulator> {
        let listener = TcpListener::bind(("127.0.0.1", options.port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            site: RwLock::new(site),
            faults: Faults::default(),
            auth,
            base_path: options.base_path.trim_end_matches('/').to_string(),
            requests: Mutex::new(Vec::new()),
            statics: RwLock::new(Vec::new()),
            served_config: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .fallback(answer)
            .with_state(shared.clone())
            .into_make_service_with_connect_info::<ConnHandle>();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(ResettableListener(listener), app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "simulator server stopped");
            }
        });
        tracing::debug!(%addr, "simulator listening");
        Ok(Simulator {
            shared,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT` plus the base path, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, self.shared.base_path)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Change the site; later requests see the change.
    pub fn edit(&self, f: impl FnOnce(&mut Site)) {
        let mut site = self.shared.site.write().unwrap_or_else(|e| e.into_inner());
        f(&mut site);
    }

    /// A copy of the current site.
    pub fn site(&self) -> Site {
        self.shared
            .site
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The rows a complete sync must now hold. A board whose configuration is unreadable keeps
    /// the configuration this simulator last served for it (null if never served).
    pub fn expected_rows(&self) -> ExpectedTables {
        let served = lock(&self.shared.served_config).clone();
        self.shared
            .site
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .expected_rows_with(&served)
    }

    /// Fault rules, consulted on every request.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Serve `body` with `status` for every request whose path and query (after the base path)
    /// start with `path_and_query_prefix`, instead of the model; for replaying recorded payloads.
    /// The longest matching prefix wins; authentication still applies.
    pub fn set_static(&self, path_and_query_prefix: &str, status: u16, body: impl Into<String>) {
        let mut statics = self
            .shared
            .statics
            .write()
            .unwrap_or_else(|e| e.into_inner());
        statics.retain(|s| s.prefix != path_and_query_prefix);
        statics.push(StaticReply {
            prefix: path_and_query_prefix.into(),
            status,
            body: body.into(),
        });
        statics.sort_by_key(|s| std::cmp::Reverse(s.prefix.len()));
    }

    /// Remove every static body.
    pub fn clear_static(&self) {
        self.shared
            .statics
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Number of requests whose path and query contain `path_contains`.
    pub fn request_count(&self, path_contains: &str) -> usize {
        lock(&self.shared.requests)
            .iter()
            .filter(|p| p.contains(path_contains))
            .count()
    }

    /// Number of requests received.
    pub fn total_requests(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    /// Path and query of every request received, in order.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.shared.requests).clone()
    }

    /// Forget the requests received so far.
    pub fn reset_counts(&self) {
        lock(&self.shared.requests).clear();
    }

    /// Stop the server: graceful for up to one second, then in-flight requests are dropped.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(1), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Serve a generated site on `127.0.0.1:port` until Ctrl-C (for manual exploration and demos).
pub async fn run_standalone(spec: &super::SiteSpec, port: u16, auth: SimAuth) -> io::Result<()> {
    let options = SimOptions {
        port,
        ..SimOptions::default()
    };
    let sim = Simulator::start_with(Site::generate(spec), auth, options).await?;
    tracing::info!(base_url = %sim.base_url(), "simulator serving until interrupted");
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}

// ----- connection handling: lets a handler reset its own TCP connection -----

/// Per-connection switch a handler flips to have the connection reset.
#[derive(Clone, Debug)]
struct ConnHandle(Arc<AtomicBool>);

struct ResettableListener(TcpListener);

struct ResettableStream {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
}

impl Listener for ResettableListener {
    type Io = ResettableStream;
    type Addr = ConnHandle;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((inner, _)) => {
                    let kill = Arc::new(AtomicBool::new(false));
                    let handle = ConnHandle(kill.clone());
                    return (ResettableStream { inner, kill }, handle);
                }
                Err(error) => {
                    tracing::debug!(%error, "simulator accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ConnHandle(Arc::new(AtomicBool::new(false))))
    }
}

impl Connected<IncomingStream<'_, ResettableListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, ResettableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

impl ResettableStream {
    /// When the handler asked for a reset: linger 0 makes the close an RST, and the error makes
    /// hyper drop the connection without writing the response.
    fn check_kill(&self) -> io::Result<()> {
        if self.kill.load(Ordering::SeqCst) {
            #[expect(deprecated, reason = "linger 0 never blocks; it is how an RST is sent")]
            let _ = self.inner.set_linger(Some(Duration::ZERO));
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "simulated reset",
            ));
        }
        Ok(())
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check_kill()?;
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check_kill()?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check_kill()?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

// ----- request handling -----

/// A reply before faults that modify bodies are applied.
struct Reply {
    status: u16,
    body: Value,
}

impl Reply {
    fn ok(body: Value) -> Reply {
        Reply { status: 200, body }
    }
}

fn jira_error(status: u16, message: &str) -> Reply {
    Reply {
        status,
        body: json!({"errorMessages": [message], "errors": {}}),
    }
}

fn raw_response(status: u16, content_type: &str, body: impl Into<Body>) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

async fn answer(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    req: Request,
) -> Response {
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
    lock(&shared.requests).push(path_and_query.clone());

    // Faults that replace the answer.
    let fault = shared.faults.take(&path_and_query);
    match &fault {
        Some(FaultAction::Status {
            status,
            retry_after,
            body,
            content_type,
            headers,
        }) => {
            tracing::debug!(path = %path_and_query, status, "simulator fault");
            let mut resp = raw_response(*status, content_type, body.clone());
            for (name, value) in headers {
                if let (Ok(n), Ok(v)) = (
                    header::HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(value),
                ) {
                    resp.headers_mut().insert(n, v);
                }
            }
            if let Some(secs) = retry_after {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            }
            return resp;
        }
        Some(FaultAction::Reset) => {
            conn.0.store(true, Ordering::SeqCst);
            return raw_response(500, JSON, "");
        }
        Some(FaultAction::ScopeMismatch) => {
            let body = json!({"code": 401, "message": "Unauthorized; scope does not match"});
            return raw_response(401, JSON, body.to_string());
        }
        Some(FaultAction::Stall(d)) => tokio::time::sleep(*d).await,
        _ => {}
    }

    // The model's (or a static) answer.
    let reply = match authorize(&shared, req.headers()) {
        Err(r) => r,
        Ok(()) => match strip_base(&shared.base_path, &path_and_query) {
            None => jira_error(404, "Not found"),
            Some(local) => match static_reply(&shared, local) {
                Some(resp) => return resp,
                None => route(&shared, req.method(), local, req.headers()),
            },
        },
    };

    // Faults that alter the answer.
    let mut body = reply.body;
    if let Some(FaultAction::ShiftTotal(delta)) = fault {
        if let Some(total) = body.get("total").and_then(Value::as_i64) {
            body["total"] = Value::from(total + delta);
        }
    }
    let bytes = body.to_string().into_bytes();
    match fault {
        Some(FaultAction::InvalidJson) => {
            let half = bytes[..bytes.len() / 2].to_vec();
            raw_response(200, JSON, half)
        }
        Some(FaultAction::Truncate) => {
            // Headers promise the whole body; half of it goes out, then the connection aborts.
            // The pause lets the first half reach the client before the abort.
            let full_len = bytes.len();
            let half = bytes[..full_len / 2].to_vec();
            let first = futures::stream::once(async move { Ok::<_, io::Error>(half) });
            let abort = futures::stream::once(async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "simulated truncation",
                ))
            });
            let mut resp = raw_response(reply.status, JSON, Body::from_stream(first.chain(abort)));
            resp.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(full_len));
            resp
        }
        _ => raw_response(reply.status, JSON, bytes),
    }
}

fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<(), Reply> {
    let expected = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", shared.auth.email, shared.auth.token));
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    if given == Some(expected.as_str()) {
        Ok(())
    } else {
        Err(jira_error(
            401,
            "Client must be authenticated to access this resource.",
        ))
    }
}

fn strip_base<'a>(base: &str, path_and_query: &'a str) -> Option<&'a str> {
    if base.is_empty() {
        return Some(path_and_query);
    }
    let rest = path_and_query.strip_prefix(base)?;
    (rest.starts_with('/') || rest.is_empty()).then_some(rest)
}

fn static_reply(shared: &Shared, local: &str) -> Option<Response> {
    let statics = shared.statics.read().unwrap_or_else(|e| e.into_inner());
    let s = statics
        .iter()
        .find(|s| local.starts_with(s.prefix.as_str()))?;
    Some(raw_response(s.status, JSON, s.body.clone()))
}

/// Query parameters, last value wins.
fn params(query: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn route(shared: &Shared, method: &axum::http::Method, local: &str, headers: &HeaderMap) -> Reply {
    if method != axum::http::Method::GET {
        return jira_error(405, "Method not allowed");
    }
    let (path, query) = local.split_once('?').unwrap_or((local, ""));
    let q = params(query);
    let site = shared.site.read().unwrap_or_else(|e| e.into_inner());
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match segments.as_slice() {
        ["rest", "api", "3", "myself"] => Reply::ok(myself(&site, &shared.auth)),
        ["rest", "agile", "1.0", "board"] => list_boards(&site, &q),
        ["rest", "agile", "1.0", "board", id, rest @ ..] => {
            let Some(board) = id
                .parse::<i64>()
                .ok()
                .and_then(|id| site.board(id))
                .filter(|b| !b.hidden)
            else {
                return jira_error(
                    404,
                    "Board does not exist or you do not have permission to see it.",
                );
            };
            match rest {
                [] => Reply::ok(site.board_json(board)),
                ["configuration"] => match board.config_status {
                    Some(status) => jira_error(status, config_error(status)),
                    None => {
                        lock(&shared.served_config).insert(board.id, board.config.clone());
                        Reply::ok(site.config_json(board))
                    }
                },
                ["project"] => list_projects(&site, board.id, &q),
                ["sprint"] => list_sprints(&site, board.id, &q, headers),
                ["issue"] => list_issues(&site, board.id, &q),
                _ => jira_error(404, "Not found"),
            }
        }
        _ => jira_error(404, "Not found"),
    }
}

fn config_error(status: u16) -> &'static str {
    match status {
        401 => "You are not authorised to view the board configuration.",
        403 => "You do not have the permission to view the board configuration.",
        _ => "Board does not exist or you do not have permission to see it.",
    }
}

fn myself(site: &Site, auth: &SimAuth) -> Value {
    json!({
        "self": format!("{}/rest/api/3/user?accountId=712020:sim", site.site_url),
        "accountId": "712020:00000000-0000-4000-8000-000000000000",
        "accountType": "atlassian",
        "emailAddress": auth.email,
        "displayName": "Simulated User",
        "active": true,
        "timeZone": "Europe/Berlin",
        "locale": site.quirks.owner_language,
    })
}

/// `startAt` and the page size actually used (requested, capped, default = cap).
fn page_window(q: &HashMap<String, String>, cap: usize) -> Result<(usize, usize), Reply> {
    let num = |name: &str| -> Result<Option<i64>, Reply> {
        match q.get(name) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| jira_error(400, &format!("The '{name}' parameter must be a number."))),
        }
    };
    let start = num("startAt")?.unwrap_or(0).max(0) as usize;
    let max = match num("maxResults")? {
        Some(m) if m > 0 => (m as usize).min(cap),
        _ => cap,
    };
    Ok((start, max))
}

/// Cut a page of `all` (ids), dropping `hidden` ones after (Jira) or before the cut.
/// Returns (items, total, used page size, is last).
fn cut_page<T: Copy>(
    all: &[T],
    hidden: impl Fn(T) -> bool,
    start: usize,
    max: usize,
    after_cut: bool,
) -> (Vec<T>, usize, bool) {
    if after_cut {
        let end = (start + max).min(all.len());
        let page = all
            .get(start.min(all.len())..end)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|x| !hidden(*x))
            .collect();
        (page, all.len(), end >= all.len())
    } else {
        let visible: Vec<T> = all.iter().copied().filter(|x| !hidden(*x)).collect();
        let end = (start + max).min(visible.len());
        let page = visible
            .get(start.min(visible.len())..end)
            .unwrap_or_default()
            .to_vec();
        (page, visible.len(), end >= visible.len())
    }
}

fn list_boards(site: &Site, q: &HashMap<String, String>) -> Reply {
    let (start, max) = match page_window(q, site.quirks.page_cap) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let ids: Vec<i64> = site.boards().map(|b| b.id).collect();
    let hidden = |id: i64| site.board(id).is_none_or(|b| b.hidden);
    let (page, total, is_last) = cut_page(&ids, hidden, start, max, site.quirks.hide_after_cut);
    let values: Vec<Value> = page
        .iter()
        .filter_map(|id| site.board(*id))
        .map(|b| site.board_json(b))
        .collect();
    Reply::ok(json!({
        "maxResults": max, "startAt": start, "total": total, "isLast": is_last, "values": values,
    }))
}

fn list_projects(site: &Site, board_id: i64, q: &HashMap<String, String>) -> Reply {
    let (start, max) = match page_window(q, site.quirks.page_cap) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let ids: Vec<i64> = site
        .board(board_id)
        .map(|b| b.projects.clone())
        .unwrap_or_default();
    let (page, total, is_last) = cut_page(&ids, |id| site.project(id).is_none(), start, max, true);
    let values: Vec<Value> = page
        .iter()
        .filter_map(|id| site.project(*id))
        .map(|p| site.project_json(p))
        .collect();
    Reply::ok(json!({
        "maxResults": max, "startAt": start, "total": total, "isLast": is_last, "values": values,
    }))
}

fn sprints_unsupported(headers: &HeaderMap, owner_language: &str) -> Reply {
    let english = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("en"));
    let message = match (english, owner_language) {
        (false, "de") => "Das Board unterstützt keine Sprints",
        (false, "fr") => "Le tableau ne prend pas en charge les sprints",
        _ => "The board does not support sprints",
    };
    jira_error(400, message)
}

fn list_sprints(
    site: &Site,
    board_id: i64,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Reply {
    let Some(board) = site.board(board_id) else {
        return jira_error(
            404,
            "Board does not exist or you do not have permission to see it.",
        );
    };
    if !board.supports_sprints {
        return sprints_unsupported(headers, &site.quirks.owner_language);
    }
    let (start, max) = match page_window(q, site.quirks.page_cap) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let states: Option<Vec<&str>> = q
        .get("state")
        .map(|s| s.split(',').map(str::trim).collect());
    let mut sprints: Vec<(SprintState, i64)> = board
        .sprints
        .iter()
        .filter_map(|id| site.sprint(*id))
        .filter(|s| {
            states
                .as_ref()
                .is_none_or(|st| st.contains(&s.state.as_str()))
        })
        .map(|s| (s.state, s.id))
        .collect();
    sprints.sort_unstable();
    sprints.dedup();
    let ids: Vec<i64> = sprints.into_iter().map(|(_, id)| id).collect();
    let (page, total, is_last) = cut_page(&ids, |_| false, start, max, true);
    let values: Vec<Value> = page
        .iter()
        .filter_map(|id| site.sprint(*id))
        .map(|s| site.sprint_json(s))
        .collect();
    let mut body =
        json!({"maxResults": max, "startAt": start, "isLast": is_last, "values": values});
    if site.quirks.sprint_total {
        body["total"] = Value::from(total);
    }
    Reply::ok(body)
}

fn list_issues(site: &Site, board_id: i64, q: &HashMap<String, String>) -> Reply {
    let Some(board) = site.board(board_id) else {
        return jira_error(
            404,
            "Board does not exist or you do not have permission to see it.",
        );
    };
    let (start, max) = match page_window(q, site.quirks.issue_page_cap) {
        Ok(w) => w,
        Err(r) => return r,
    };

    // JQL: only an ORDER BY is honoured; a filter would make the model's expected rows lie.
    let descending = match q.get("jql").map(|j| j.trim()) {
        None | Some("") => false,
        Some(jql) => {
            let lower = jql.to_ascii_lowercase();
            if !lower.starts_with("order by") {
                return jira_error(
                    400,
                    "The simulator supports only an ORDER BY clause in 'jql'.",
                );
            }
            lower.ends_with(" desc")
        }
    };
    let fields: Option<Vec<String>> = q.get("fields").and_then(|f| {
        let list: Vec<String> = f
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let all = list.is_empty() || list.iter().any(|s| s == "*all" || s == "*navigable");
        (!all).then_some(list)
    });

    let reversed: Vec<i64>;
    let ids: &[i64] = if descending {
        reversed = board.issues.iter().rev().copied().collect();
        &reversed
    } else {
        &board.issues
    };
    let hidden = |id: i64| site.issue(id).is_none_or(|i| i.hidden);
    let (page, total, is_last) = cut_page(ids, hidden, start, max, site.quirks.hide_after_cut);
    let issues: Vec<Value> = page
        .iter()
        .filter_map(|id| site.issue(*id))
        .map(|i| site.issue_json(i, fields.as_deref()))
        .collect();
    let mut body = json!({
        "expand": "schema,names", "startAt": start, "maxResults": max, "total": total, "issues": issues,
    });
    if site.quirks.issue_is_last {
        body["isLast"] = Value::from(is_last);
    }
    Reply::ok(body)
}
