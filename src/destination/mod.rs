//! 4b. APPLY: the destinations the journal is loaded into.
//!
//! Only Snowflake lives here so far; it is reached through our own v1 REST client.

pub mod snowflake;
