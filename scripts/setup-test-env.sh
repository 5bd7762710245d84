#!/usr/bin/env bash
# Installs the test dependencies into ./.venv (idempotent):
# - fakesnow 0.12.1, a Snowflake-protocol server (pinned connector: newer versions break it)
# - pyarrow and duckdb, to check that our Parquet files open in other tools
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
want="fakesnow==0.12.1 snowflake-connector-python==4.8.1 pyarrow duckdb"
if ! .venv/bin/python -c "import fakesnow, pyarrow, duckdb" 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check $want
fi
.venv/bin/python -c "import fakesnow, pyarrow, duckdb; print('test env ready: fakesnow', fakesnow.__version__ if hasattr(fakesnow, '__version__') else '', 'pyarrow', pyarrow.__version__, 'duckdb', duckdb.__version__)"
