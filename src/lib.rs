//! jira-agile-sync mirrors a Jira Cloud site's agile data into Parquet and Snowflake.
//!
//! ```text
//!  Jira Cloud ──► source ──► state (sled) ──► materialize ──► destination
//!  (reqwest,      pages,     page cache,      Parquet:         local: data/tables/*.parquet
//!   rate budget)  typed      row store, diff, journal files    snowflake: PUT to stage,
//!                 rows       outbox           + current tables  COPY INTO journal, MERGE
//! ```
//!
//! Only [`pipeline`] knows the order of the steps; the step modules pass plain data
//! ([`row::Row`], change sets, file paths) and do not import each other.
#![warn(missing_docs)]

pub mod app;
pub mod cli;
pub mod config;
pub mod destination;
pub mod failpoint;
pub mod materialize;
pub mod pipeline;
pub mod row;
pub mod schema;
pub mod simulator;
pub mod source;
pub mod state;
