//! The Jira Agile simulator: a test instrument that serves a simulated Jira Cloud site over real
//! HTTP on 127.0.0.1 (DESIGN.md section 8).
//!
//! It owns its own site model ([`Site`]) and never uses the product's mapping code: the rows a
//! complete sync must produce ([`Site::expected_rows`]) are computed from the model alone. It is
//! deterministic from a seed ([`Site::generate`]) and scales to thousands of boards.
//!
//! It stays honest about Jira's behaviour (`JIRA-FACTS.md`):
//! - page caps (50 for boards, sprints and projects; 100 for issues) whatever `maxResults` asks,
//!   with the used size stated in the response's `maxResults` ([`Quirks`]);
//! - sprint pages without `total`, issue pages without `isLast`;
//! - items hidden from the token removed *after* the page is cut, so short or even empty pages
//!   can come before the last one;
//! - 400 "does not support sprints" on kanban and some simple boards, translated unless
//!   `Accept-Language: en` is sent;
//! - configuration answering 401/403/404 on healthy boards;
//! - both timestamp styles, absent locations, absent and empty goals, shared sprints.
//!
//! Faults for retry and completeness tests are injected with [`Faults`]; fixed bodies (recorded
//! payloads) are served with [`Simulator::set_static`].
//!
//! ```no_run
//! use jira_agile_sync::simulator::{SimAuth, Simulator, Site, SiteSpec};
//!
//! # async fn example() -> std::io::Result<()> {
//! let sim = Simulator::start(Site::generate(&SiteSpec::demo()), SimAuth::test()).await?;
//! sim.faults().rate_limit("/issue", 2, Some(1)); // two 429s with Retry-After: 1
//! // ... point the product at sim.base_url() and run a sync ...
//! sim.edit(|site| site.rename_board(1, "renamed"));
//! let expected = sim.expected_rows(); // what the five tables must now hold
//! assert!(expected.contains_key("BOARD_ISSUE"));
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod faults;
mod model;
mod server;

#[cfg(test)]
mod tests;

pub use faults::{FaultAction, FaultRule, Faults};
pub use model::{
    Board, BoardConfig, BoardKind, BoardLocation, Estimation, ExpectedRow, ExpectedTables, Issue,
    Project, Quirks, Site, SiteSpec, Sprint, SprintState, DEFAULT_RANK_FIELD,
};
pub use server::{run_standalone, SimAuth, SimOptions, Simulator};
