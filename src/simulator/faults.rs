//! Fault injection: rules matched by a substring of the request's path and query, each with a
//! remaining count, consulted before the simulator answers.

use std::sync::Mutex;
use std::time::Duration;

/// What a matching request gets instead of (or on top of) its normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer `status` with `body` (served as `content_type`), plus `Retry-After: secs` when
    /// set. Authentication is not checked first, as with Atlassian's edge rate limiter.
    Status {
        /// HTTP status, e.g. 429, 503, 500, 422, 404.
        status: u16,
        /// `Retry-After` header value in seconds.
        retry_after: Option<u64>,
        /// Response body.
        body: String,
        /// `Content-Type` of the body.
        content_type: String,
        /// Further headers, e.g. `RateLimit-Reason`.
        headers: Vec<(String, String)>,
    },
    /// Reset the TCP connection (RST) without sending any response.
    Reset,
    /// Wait this long, then answer normally (longer than the client's timeout = a timeout).
    Stall(Duration),
    /// Send the normal status and headers, then half of the body, then abort the connection.
    Truncate,
    /// Answer 200 with the normal body cut in half: a complete HTTP message that is not JSON.
    InvalidJson,
    /// Answer normally but add this to the page's `total` (a listing whose total changes).
    ShiftTotal(i64),
    /// Answer 401 `{"code":401,"message":"Unauthorized; scope does not match"}` like a scoped
    /// API token missing a scope.
    ScopeMismatch,
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// Matches requests whose path and query contain this string (`""` matches all).
    pub path_contains: String,
    /// The fault.
    pub action: FaultAction,
    /// How many more requests it applies to; `None` = every matching request.
    pub remaining: Option<usize>,
}

/// Thread-safe list of fault rules; the first matching rule with requests left applies.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
}

impl Faults {
    /// Add a rule.
    pub fn add(&self, rule: FaultRule) {
        self.lock().push(rule);
    }

    /// Apply `action` to the next `times` requests whose path contains `path_contains`.
    pub fn inject(&self, path_contains: &str, action: FaultAction, times: usize) {
        self.add(FaultRule {
            path_contains: path_contains.into(),
            action,
            remaining: Some(times),
        });
    }

    /// 429 with an HTML body (as Atlassian's edge sends), with or without `Retry-After`.
    pub fn rate_limit(&self, path_contains: &str, times: usize, retry_after: Option<u64>) {
        let action = FaultAction::Status {
            status: 429,
            retry_after,
            body: "<html><head><title>429 Too Many Requests</title></head>\
                   <body><h1>Too Many Requests</h1></body></html>"
                .into(),
            content_type: "text/html; charset=utf-8".into(),
            headers: vec![
                ("X-RateLimit-Limit".into(), "100".into()),
                ("X-RateLimit-Remaining".into(), "0".into()),
                ("RateLimit-Reason".into(), "jira-burst-based".into()),
            ],
        };
        self.inject(path_contains, action, times);
    }

    /// 503 with `Retry-After` and a JSON body.
    pub fn unavailable(&self, path_contains: &str, times: usize, retry_after: u64) {
        let action = FaultAction::Status {
            status: 503,
            retry_after: Some(retry_after),
            body: r#"{"errorMessages":["Service unavailable"],"errors":{}}"#.into(),
            content_type: "application/json;charset=UTF-8".into(),
            headers: Vec::new(),
        };
        self.inject(path_contains, action, times);
    }

    /// Any status with a Jira-style JSON error body (500, 422, 404, ...).
    pub fn status(&self, path_contains: &str, status: u16, times: usize) {
        let action = FaultAction::Status {
            status,
            retry_after: None,
            body: format!(r#"{{"errorMessages":["Simulated error {status}"],"errors":{{}}}}"#),
            content_type: "application/json;charset=UTF-8".into(),
            headers: Vec::new(),
        };
        self.inject(path_contains, action, times);
    }

    /// Reset the connection of the next `times` matching requests.
    pub fn reset(&self, path_contains: &str, times: usize) {
        self.inject(path_contains, FaultAction::Reset, times);
    }

    /// Stall the next `times` matching requests for `dur` before answering.
    pub fn stall(&self, path_contains: &str, dur: Duration, times: usize) {
        self.inject(path_contains, FaultAction::Stall(dur), times);
    }

    /// Truncate the body of the next `times` matching requests (connection aborted).
    pub fn truncate(&self, path_contains: &str, times: usize) {
        self.inject(path_contains, FaultAction::Truncate, times);
    }

    /// Serve invalid JSON (a complete 200 response) to the next `times` matching requests.
    pub fn invalid_json(&self, path_contains: &str, times: usize) {
        self.inject(path_contains, FaultAction::InvalidJson, times);
    }

    /// Add `delta` to `total` for the next `times` matching requests.
    pub fn shift_total(&self, path_contains: &str, delta: i64, times: usize) {
        self.inject(path_contains, FaultAction::ShiftTotal(delta), times);
    }

    /// Answer every matching request with the scoped-token 401 until cleared.
    pub fn scope_mismatch(&self, path_contains: &str) {
        self.add(FaultRule {
            path_contains: path_contains.into(),
            action: FaultAction::ScopeMismatch,
            remaining: None,
        });
    }

    /// Remove every rule.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Number of rules that can still apply.
    pub fn pending(&self) -> usize {
        self.lock()
            .iter()
            .filter(|r| r.remaining != Some(0))
            .count()
    }

    /// The action for a request, consuming one use of the matching rule.
    pub(crate) fn take(&self, path_and_query: &str) -> Option<FaultAction> {
        let mut rules = self.lock();
        let rule = rules.iter_mut().find(|r| {
            r.remaining != Some(0) && path_and_query.contains(r.path_contains.as_str())
        })?;
        if let Some(n) = rule.remaining.as_mut() {
            *n -= 1;
        }
        Some(rule.action.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FaultRule>> {
        // A panicking test thread cannot leave the rule list half-updated, so poison is moot.
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }
}
