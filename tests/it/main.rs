//! One integration test binary: real HTTP over 127.0.0.1 to the Jira simulator, real Parquet,
//! real processes for the command line.

mod util;

mod cli;
mod end_to_end;
mod parquet_tools;
mod snowflake;
mod snowflake_crash;
mod snowflake_load;
