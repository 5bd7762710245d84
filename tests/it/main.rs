//! One integration test binary: real HTTP over 127.0.0.1 to the Jira simulator, real Parquet,
//! real processes for the command line.

mod util;

mod bad_input;
mod change_tracking;
mod cli;
mod crash;
mod edge_cases;
mod end_to_end;
mod faults;
mod fixtures;
mod hand_written;
mod live;
mod oversized;
mod parquet_tools;
mod quirks;
mod resume;
mod secrets;
mod secrets_all;
mod signals;
mod snowflake;
mod snowflake_crash;
mod snowflake_load;
