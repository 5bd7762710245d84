#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what the tests need (a Python virtualenv with
# the Snowflake-protocol test server and Parquet readers), then checks formatting and lints and
# runs every test. Servers the tests need are started by the tests themselves on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-test-env.sh

cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets
cargo test --doc
