//! Stage 1, PULL: the Jira Cloud client, paging of the agile list endpoints, and the mapping of
//! page bodies to typed rows.
//!
//! What this module owns:
//! - [`JiraClient`]: basic auth, TLS (system roots plus an optional extra CA), `HTTPS_PROXY`,
//!   per-request timeout, bounded concurrency, a shared rate budget, and retries with backoff.
//! - Paging ([`paging`]): a [`Listing`] is [`Listing::Complete`] only when every page answered
//!   200, paging ended by the rules of `JIRA-FACTS.md`, and `total` did not change on the way.
//!   Anything else is [`Listing::Failed`], never an empty answer. The one exception is the
//!   sprint endpoint's 400 "does not support sprints", which is a complete empty listing.
//! - Mapping ([`map`]): pure functions from one page body to rows in the column order of
//!   `schemas/<TABLE>.toml`.
//!
//! Invariants:
//! - The API token and the `Authorization` header never reach a log line or an error message.
//! - Page bodies are never logged; ids, counts, statuses and endpoints are.

pub mod client;
pub mod map;
pub mod paging;

use serde::{Deserialize, Serialize};

pub use client::{ClientStats, JiraClient};
pub use map::{
    board_row, dedup_rows, map_issues, map_projects, map_sprints, page_item_count,
    parse_board_config, parse_board_page, MapError,
};
pub use paging::{OffsetPager, Pager, Step};

/// Errors building a [`JiraClient`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The extra CA file (`jira.ca_file`) could not be read.
    #[error("cannot read jira.ca_file {path}")]
    CaFileRead {
        /// The file.
        path: std::path::PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The extra CA file holds no usable PEM certificate.
    #[error("jira.ca_file {path} holds no usable PEM certificate")]
    CaFileParse {
        /// The file.
        path: std::path::PathBuf,
        /// Cause.
        #[source]
        source: reqwest::Error,
    },
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot build the Jira HTTP client")]
    Build(#[source] reqwest::Error),
    /// The email cannot be sent in a header.
    #[error("jira.email cannot be used in an HTTP header")]
    BadCredentials,
}

impl Error {
    /// Whether trying again later could help (never: these are configuration problems).
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// One page as Jira answered it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Endpoint path and query used, stable across runs
    /// (`/rest/agile/1.0/board/5/issue?startAt=100&maxResults=100&fields=..&jql=..`).
    pub key: String,
    /// The body as received.
    pub body: bytes::Bytes,
}

/// Why a request or listing did not produce an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchFailure {
    /// Endpoint path without query (`/rest/agile/1.0/board/5/sprint`).
    pub endpoint: String,
    /// HTTP status of the last answer, when there was one.
    pub http_status: Option<u16>,
    /// What went wrong; holds no secret and no body content beyond Jira's error messages.
    pub message: String,
}

impl std::fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.http_status {
            Some(s) => write!(f, "{} (HTTP {s}): {}", self.endpoint, self.message),
            None => write!(f, "{}: {}", self.endpoint, self.message),
        }
    }
}

impl std::error::Error for FetchFailure {}

impl FetchFailure {
    /// Whether the next run may succeed (transport errors, 429, 5xx, incomplete listings);
    /// 4xx other than 429 need an operator or are the board's permanent state.
    pub fn is_retryable(&self) -> bool {
        match self.http_status {
            None => true,
            Some(s) => s == 429 || s >= 500 || s == 200,
        }
    }
}

/// A paged listing: all pages in order, or why it is not complete.
#[derive(Debug, Clone, PartialEq)]
pub enum Listing {
    /// Every page answered 200 and paging ended by the rules.
    Complete(Vec<Page>),
    /// Not an answer: the rows of this scope must stay as they were.
    Failed(FetchFailure),
}

/// What the sync needs from `/board/{id}/configuration`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoardConfig {
    /// `filter.id` (sent as a string).
    pub filter_id: Option<i64>,
    /// `subQuery.query` (kanban boards).
    pub sub_query: Option<String>,
    /// `columnConfig` as Jira sent it.
    pub column_config: Option<serde_json::Value>,
    /// `estimation.type`.
    pub estimation_type: Option<String>,
    /// `estimation.field.fieldId` (scrum boards).
    pub estimation_field_id: Option<String>,
    /// `estimation.field.displayName`.
    pub estimation_field_name: Option<String>,
    /// `ranking.rankCustomFieldId`.
    pub rank_custom_field_id: Option<i64>,
}

/// The fields requested from `/board/{id}/issue`, from the board's last known configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IssueFields {
    /// The board's estimation field (`customfield_10002`, `timeoriginalestimate`), if any.
    pub estimation_field_id: Option<String>,
    /// The board's rank custom field number, if known.
    pub rank_custom_field_id: Option<i64>,
}

/// Agile and platform fields every board-issue request names.
const BASE_ISSUE_FIELDS: [&str; 7] = [
    "closedSprints",
    "flagged",
    "parent",
    "project",
    "sprint",
    "status",
    "updated",
];

impl IssueFields {
    /// From a board configuration (or none when it was never readable).
    pub fn from_config(cfg: Option<&BoardConfig>) -> IssueFields {
        IssueFields {
            estimation_field_id: cfg.and_then(|c| c.estimation_field_id.clone()),
            rank_custom_field_id: cfg.and_then(|c| c.rank_custom_field_id),
        }
    }

    /// The rank field's name (`customfield_10019`).
    pub fn rank_field(&self) -> Option<String> {
        self.rank_custom_field_id
            .map(|id| format!("customfield_{id}"))
    }

    /// The `fields=` value, in a stable order: the base fields, then the estimation field,
    /// then the rank field (each once).
    pub fn fields_param(&self) -> String {
        let mut fields: Vec<String> = BASE_ISSUE_FIELDS.iter().map(|f| f.to_string()).collect();
        let extra = [self.estimation_field_id.clone(), self.rank_field()];
        for f in extra.into_iter().flatten() {
            let f = f.trim().to_string();
            if !f.is_empty() && !fields.contains(&f) {
                fields.push(f);
            }
        }
        fields.join(",")
    }
}

/// One line of `check`'s report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    /// What was checked (`jira credentials`, `BOARD`, `SPRINT`, ...).
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found, or what to fix.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_param_is_stable_and_names_board_fields() {
        let f = IssueFields {
            estimation_field_id: Some("customfield_10002".into()),
            rank_custom_field_id: Some(10019),
        };
        assert_eq!(
            f.fields_param(),
            "closedSprints,flagged,parent,project,sprint,status,updated,\
             customfield_10002,customfield_10019"
        );
        assert_eq!(
            IssueFields::default().fields_param(),
            "closedSprints,flagged,parent,project,sprint,status,updated"
        );
        let dup = IssueFields {
            estimation_field_id: Some("customfield_10019".into()),
            rank_custom_field_id: Some(10019),
        };
        assert!(dup.fields_param().ends_with("updated,customfield_10019"));
    }
}
