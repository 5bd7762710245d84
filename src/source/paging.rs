//! Paging of Jira's list endpoints, as pure state machines the client drives.
//!
//! Rules (`JIRA-FACTS.md`, "Paging"):
//! - advance `startAt` by the response's `maxResults`, or by the items received when it is absent;
//! - stop when `isLast` is true; an empty page with `isLast: false` is not the end, because Jira
//!   removes items the token may not see after cutting the page;
//! - where `isLast` is absent (board issues), stop when `startAt >= total`, or on an empty page
//!   when there is no `total`: with a `total`, an empty page before it is items hidden from the
//!   token after the page cut, not the end (the simulator serves such pages);
//! - a `total` that changes during a listing makes it incomplete.
//!
//! Guards against a server that never ends a listing: a page-count cap and a cap on consecutive
//! empty pages. A pager is behind the [`Pager`] trait so that token paging (`nextPageToken`,
//! Atlassian's RFC-127 for the agile issue endpoints) can be added without touching the client.

use serde::Deserialize;

/// Most pages one listing may take (100 000 pages of 50 = five million items).
pub const MAX_PAGES: usize = 100_000;

/// Most consecutive empty pages with `isLast: false` before the listing is given up.
pub const MAX_EMPTY_PAGES: usize = 200;

/// What to do after a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Ask for the next page.
    Next,
    /// The listing ended by the rules.
    Done,
    /// The listing cannot be complete (reason, free of body content).
    Incomplete(String),
}

/// A paging scheme: which query parameters ask for the next page, and what a page means.
pub trait Pager: Send {
    /// Query parameters of the next request, in a stable order.
    fn params(&self) -> Vec<(&'static str, String)>;

    /// Take one page body (a 200 answer) and decide what comes next.
    fn advance(&mut self, body: &[u8]) -> Step;
}

/// The paging fields of an offset-paged answer.
#[derive(Debug, Deserialize)]
struct OffsetMeta {
    #[serde(rename = "startAt")]
    start_at: Option<i64>,
    #[serde(rename = "maxResults")]
    max_results: Option<i64>,
    total: Option<i64>,
    #[serde(rename = "isLast")]
    is_last: Option<bool>,
}

/// Number of items in the array named `items_key` of a page, if the page has such an array.
pub(crate) fn count_items(body: &[u8], items_key: &str) -> Option<usize> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get(items_key)?.as_array().map(Vec::len)
}

/// `startAt`/`maxResults` paging of the agile endpoints.
#[derive(Debug, Clone)]
pub struct OffsetPager {
    items_key: &'static str,
    start_at: i64,
    max_results: i64,
    first_total: Option<i64>,
    pages: usize,
    empty_run: usize,
    max_pages: usize,
}

impl OffsetPager {
    /// A pager over the array `items_key` (`values` or `issues`), asking for `max_results` items.
    pub fn new(items_key: &'static str, max_results: i64) -> OffsetPager {
        OffsetPager {
            items_key,
            start_at: 0,
            max_results,
            first_total: None,
            pages: 0,
            empty_run: 0,
            max_pages: MAX_PAGES,
        }
    }

    /// Lower the page cap (tests).
    pub fn with_max_pages(mut self, max_pages: usize) -> OffsetPager {
        self.max_pages = max_pages;
        self
    }

    /// The `startAt` the next request uses.
    pub fn start_at(&self) -> i64 {
        self.start_at
    }
}

impl Pager for OffsetPager {
    fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("startAt", self.start_at.to_string()),
            ("maxResults", self.max_results.to_string()),
        ]
    }

    fn advance(&mut self, body: &[u8]) -> Step {
        let meta: OffsetMeta = match serde_json::from_slice(body) {
            Ok(m) => m,
            Err(_) => return Step::Incomplete("page is not a paged JSON object".into()),
        };
        let Some(items) = count_items(body, self.items_key) else {
            return Step::Incomplete(format!("page has no `{}` array", self.items_key));
        };
        self.pages += 1;

        // A changed total means items were added or removed while paging: one may be missed.
        if let Some(t) = meta.total {
            match self.first_total {
                None => self.first_total = Some(t),
                Some(first) if first != t => {
                    return Step::Incomplete(format!(
                        "total changed from {first} to {t} during the listing"
                    ))
                }
                Some(_) => {}
            }
        }

        // Advance by what the server says it used, which may be below what was asked.
        let step = match meta.max_results {
            Some(m) if m > 0 => m,
            _ => i64::try_from(items).unwrap_or(i64::MAX),
        };
        let served_at = meta.start_at.unwrap_or(self.start_at);
        let next = served_at.saturating_add(step);

        let done = match meta.is_last {
            Some(true) => true,
            Some(false) => false,
            // An empty page short of `total` is hidden items removed after the cut.
            None => match meta.total {
                Some(t) => next >= t,
                None => items == 0,
            },
        };
        if done {
            return Step::Done;
        }

        // Guards: never loop on a page that cannot advance or on a server that never ends.
        if step <= 0 || next <= self.start_at {
            return Step::Incomplete(format!(
                "cannot advance past startAt {} (empty page without maxResults)",
                self.start_at
            ));
        }
        self.empty_run = if items == 0 { self.empty_run + 1 } else { 0 };
        if self.empty_run >= MAX_EMPTY_PAGES {
            return Step::Incomplete(format!(
                "{} empty pages in a row without isLast",
                self.empty_run
            ));
        }
        if self.pages >= self.max_pages {
            return Step::Incomplete(format!("more than {} pages", self.max_pages));
        }
        self.start_at = next;
        Step::Next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(v: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&v).expect("json")
    }

    #[test]
    fn paging_advances_by_response_max_results_not_items() {
        let mut p = OffsetPager::new("values", 100);
        let body = page(serde_json::json!({
            "startAt": 0, "maxResults": 50, "isLast": false, "values": [1, 2, 3]
        }));
        assert_eq!(p.advance(&body), Step::Next);
        assert_eq!(p.start_at(), 50);
        assert_eq!(p.params()[0], ("startAt", "50".to_string()));
    }

    #[test]
    fn paging_advances_by_items_when_max_results_absent() {
        let mut p = OffsetPager::new("values", 50);
        let body = page(serde_json::json!({"startAt": 0, "isLast": false, "values": [1, 2]}));
        assert_eq!(p.advance(&body), Step::Next);
        assert_eq!(p.start_at(), 2);
    }

    #[test]
    fn empty_page_with_is_last_false_is_not_the_end() {
        let mut p = OffsetPager::new("values", 50);
        let body = page(serde_json::json!({
            "startAt": 0, "maxResults": 50, "isLast": false, "values": []
        }));
        assert_eq!(p.advance(&body), Step::Next);
        let last = page(serde_json::json!({
            "startAt": 50, "maxResults": 50, "isLast": true, "values": [1]
        }));
        assert_eq!(p.advance(&last), Step::Done);
    }

    #[test]
    fn empty_page_without_max_results_cannot_advance() {
        let mut p = OffsetPager::new("values", 50);
        let body = page(serde_json::json!({"isLast": false, "values": []}));
        assert!(matches!(p.advance(&body), Step::Incomplete(_)));
    }

    #[test]
    fn issue_paging_stops_on_total_or_empty_page() {
        let mut p = OffsetPager::new("issues", 100);
        let first = page(serde_json::json!({
            "startAt": 0, "maxResults": 100, "total": 150, "issues": [1]
        }));
        assert_eq!(p.advance(&first), Step::Next);
        let second = page(serde_json::json!({
            "startAt": 100, "maxResults": 100, "total": 150, "issues": [1]
        }));
        assert_eq!(p.advance(&second), Step::Done);

        let mut q = OffsetPager::new("issues", 100);
        let empty = page(serde_json::json!({"startAt": 0, "maxResults": 100, "issues": []}));
        assert_eq!(q.advance(&empty), Step::Done);
    }

    #[test]
    fn empty_issue_page_short_of_total_is_not_the_end() {
        let mut p = OffsetPager::new("issues", 100);
        let hidden = page(serde_json::json!({
            "startAt": 100, "maxResults": 100, "total": 250, "issues": []
        }));
        assert_eq!(p.advance(&hidden), Step::Next);
        assert_eq!(p.start_at(), 200);
        let last = page(serde_json::json!({
            "startAt": 200, "maxResults": 100, "total": 250, "issues": [1]
        }));
        assert_eq!(p.advance(&last), Step::Done);
    }

    #[test]
    fn changed_total_makes_listing_incomplete() {
        let mut p = OffsetPager::new("issues", 100);
        let a = page(serde_json::json!({
            "startAt": 0, "maxResults": 100, "total": 300, "issues": [1]
        }));
        let b = page(serde_json::json!({
            "startAt": 100, "maxResults": 100, "total": 299, "issues": [1]
        }));
        assert_eq!(p.advance(&a), Step::Next);
        assert!(matches!(p.advance(&b), Step::Incomplete(m) if m.contains("total changed")));
    }

    #[test]
    fn endless_listing_hits_the_page_cap() {
        let mut p = OffsetPager::new("values", 50).with_max_pages(5);
        let body = page(serde_json::json!({"maxResults": 50, "isLast": false, "values": [1]}));
        let mut steps = 0;
        loop {
            match p.advance(&body) {
                Step::Next => steps += 1,
                Step::Incomplete(_) => break,
                Step::Done => panic!("endless listing reported done"),
            }
            assert!(steps < 10, "page cap not honoured");
        }
        assert_eq!(steps, 4);
    }

    #[test]
    fn endless_empty_pages_are_given_up() {
        let mut p = OffsetPager::new("values", 50);
        let mut n = 0;
        loop {
            let body = page(serde_json::json!({
                "startAt": n * 50, "maxResults": 50, "isLast": false, "values": []
            }));
            match p.advance(&body) {
                Step::Next => n += 1,
                Step::Incomplete(_) => break,
                Step::Done => panic!("empty pages reported done"),
            }
            assert!(n <= MAX_EMPTY_PAGES as i64, "empty-page guard not honoured");
        }
    }

    #[test]
    fn page_without_items_array_is_incomplete() {
        let mut p = OffsetPager::new("values", 50);
        assert!(matches!(
            p.advance(b"<html>oops</html>"),
            Step::Incomplete(_)
        ));
        assert!(matches!(
            p.advance(br#"{"isLast":true}"#),
            Step::Incomplete(_)
        ));
    }
}
