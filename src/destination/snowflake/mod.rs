//! Snowflake destination: our own client for Snowflake's v1 REST protocol (DESIGN.md section 7).
//!
//! - [`client`]: login (KEY_PAIR JWT or managed OAuth token), statements, polling of long
//!   queries, re-login on session expiry, retries with the same request id.
//! - [`result`]: JSON and Arrow IPC result sets decoded into rows of text cells.
//! - [`put`]: `PUT` to the internal stage; the client uploads the file itself.
//! - [`check`]: what `check` verifies in the destination, with TEMPORARY objects only.
//! - [`sql`]: quoted identifiers and the DDL, `COPY INTO` and `MERGE` text.
//!
//! Invariants: no secret (key, JWT, session token, presigned URL) and no SQL data is ever logged
//! or put into an error; every identifier in generated SQL is quoted and fully qualified.

mod auth;
pub mod check;
pub mod client;
mod error;
#[cfg(test)]
mod key_pair_tests;
pub mod load;
pub mod put;
pub mod result;
pub mod sql;
#[cfg(test)]
mod stage_tests;
pub mod testkit;
#[cfg(test)]
mod tests;

pub use client::{ClientOptions, SnowflakeClient};
pub use error::{Error, Result};
pub use put::UploadLimits;
pub use result::{ColumnMeta, QueryResult};
