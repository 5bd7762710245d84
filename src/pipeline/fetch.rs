//! Fetch one board from Jira and turn its pages into a [`BoardChanges`] for the store,
//! consulting the page cache so that unchanged pages are not parsed.

use crate::row::Row;
use crate::schema::Table;
use crate::source::{self, BoardConfig, FetchFailure, IssueFields, JiraClient, Listing, MapError};
use crate::state::{BoardChanges, CompleteListing, PageEntry, PageRows, SeenPage, Store};

use super::report::FailedBoard;

/// What fetching one board produced.
pub(super) struct BoardFetch {
    /// Ready to commit.
    pub changes: BoardChanges,
    /// Listings that failed (their rows stay).
    pub failures: Vec<FailedBoard>,
    /// Configuration that could not be read.
    pub config_warning: Option<FailedBoard>,
    /// Pages served from the page cache.
    pub pages_cached: u64,
    /// Pages parsed.
    pub pages_parsed: u64,
}

fn failed(board_id: i64, f: FetchFailure) -> FailedBoard {
    FailedBoard {
        board_id,
        endpoint: f.endpoint,
        http_status: f.http_status,
        message: f.message,
    }
}

/// Which page mapper a listing uses.
#[derive(Clone, Copy)]
enum Kind {
    Projects,
    Sprints,
    Issues,
}

/// Fetch a board's configuration and enabled listings.
pub(super) async fn fetch_board(
    client: &JiraClient,
    store: &Store,
    board_id: i64,
    raw: &serde_json::Value,
    enabled: &[Table],
    changed_at: i64,
) -> Result<BoardFetch, crate::state::Error> {
    let mut failures = Vec::new();

    // Configuration: a failure keeps the last known values (a counted warning).
    let (config, config_record, config_warning) = match client.board_configuration(board_id).await {
        Ok(cfg) => {
            let rec = serde_json::to_vec(&cfg).unwrap_or_default();
            (Some(cfg), Some(rec), None)
        }
        Err(f) => {
            let last: Option<BoardConfig> = store
                .board_config(board_id)?
                .and_then(|b| serde_json::from_slice(&b).ok());
            (last, None, Some(failed(board_id, f)))
        }
    };
    let fields = IssueFields {
        estimation_field_id: config.as_ref().and_then(|c| c.estimation_field_id.clone()),
        rank_custom_field_id: config.as_ref().and_then(|c| c.rank_custom_field_id),
    };
    let board_row = match source::board_row(raw, config.as_ref()) {
        Ok(r) => r,
        Err(e) => {
            // The board listing itself parsed; a board object we cannot map is a failure of
            // this board only.
            failures.push(FailedBoard {
                board_id,
                endpoint: "/rest/agile/1.0/board".into(),
                http_status: Some(200),
                message: format!("malformed board: {e}"),
            });
            return Ok(BoardFetch {
                changes: BoardChanges {
                    board_id,
                    board_row: None,
                    config: None,
                    listings: Vec::new(),
                    changed_at,
                    checkpoint_note: Vec::new(),
                },
                failures,
                config_warning,
                pages_cached: 0,
                pages_parsed: 0,
            });
        }
    };

    // The listings run concurrently; the client bounds the number of requests in flight.
    let want = |t: Table| enabled.contains(&t);
    let projects = async {
        if want(Table::BoardProject) {
            Some(client.list_board_projects(board_id).await)
        } else {
            None
        }
    };
    let sprints = async {
        if want(Table::Sprint) {
            Some(client.list_board_sprints(board_id).await)
        } else {
            None
        }
    };
    let issues = async {
        if want(Table::BoardIssue) {
            Some(client.list_board_issues(board_id, &fields).await)
        } else {
            None
        }
    };
    let (projects, sprints, issues) = tokio::join!(projects, sprints, issues);

    let mut listings = Vec::new();
    let mut pages_cached = 0;
    let mut pages_parsed = 0;
    for (listing, kind, tables) in [
        (projects, Kind::Projects, vec![Table::BoardProject]),
        (sprints, Kind::Sprints, vec![Table::BoardSprint]),
        (issues, Kind::Issues, vec![Table::BoardIssue]),
    ] {
        let Some(listing) = listing else { continue };
        match listing {
            Listing::Failed(f) => failures.push(failed(board_id, f)),
            Listing::Complete(pages) => {
                let mut entries = Vec::with_capacity(pages.len());
                let mut malformed = None;
                for page in pages {
                    crate::failpoint::failpoint("before_page_diff");
                    let body_hash = xxhash_rust::xxh3::xxh3_128(&page.body);
                    if let Some(c) = store.cached_page(board_id, &page.key)? {
                        if c.body_hash == body_hash && store.contains_all(&c.keys)? {
                            pages_cached += 1;
                            entries.push(PageEntry::Cached(SeenPage { keys: c.keys }));
                            continue;
                        }
                    }
                    match map_page(kind, board_id, &page.body, &fields) {
                        Ok(rows) => {
                            pages_parsed += 1;
                            entries.push(PageEntry::Parsed(PageRows {
                                page_key: page.key,
                                body_hash,
                                rows,
                            }));
                        }
                        Err(e) => {
                            malformed = Some(FailedBoard {
                                board_id,
                                endpoint: endpoint_of(&page.key),
                                http_status: Some(200),
                                message: format!("malformed page: {e}"),
                            });
                            break;
                        }
                    }
                }
                match malformed {
                    // A page we cannot read makes the listing incomplete: nothing is deleted.
                    Some(f) => failures.push(f),
                    None => listings.push(CompleteListing {
                        tables,
                        pages: entries,
                    }),
                }
            }
        }
    }

    Ok(BoardFetch {
        changes: BoardChanges {
            board_id,
            board_row: Some(board_row),
            config: config_record,
            listings,
            changed_at,
            // Filled by the pipeline once it knows every failure of the board.
            checkpoint_note: Vec::new(),
        },
        failures,
        config_warning,
        pages_cached,
        pages_parsed,
    })
}

fn endpoint_of(page_key: &str) -> String {
    page_key.split('?').next().unwrap_or(page_key).to_string()
}

fn map_page(
    kind: Kind,
    board_id: i64,
    body: &[u8],
    fields: &IssueFields,
) -> Result<Vec<(Table, Row)>, MapError> {
    Ok(match kind {
        Kind::Projects => source::map_projects(board_id, body)?
            .into_iter()
            .map(|r| (Table::BoardProject, r))
            .collect(),
        Kind::Sprints => {
            let (sprints, links) = source::map_sprints(board_id, body)?;
            sprints
                .into_iter()
                .map(|r| (Table::Sprint, r))
                .chain(links.into_iter().map(|r| (Table::BoardSprint, r)))
                .collect()
        }
        Kind::Issues => source::map_issues(board_id, body, fields)?
            .into_iter()
            .map(|r| (Table::BoardIssue, r))
            .collect(),
    })
}
