#!/usr/bin/env bash
# Installs the test tools into .venv at the repository root (idempotent: exits at once when
# the pinned versions are already there):
# - fakesnow 0.12.1, the Snowflake-protocol server the destination tests start on 127.0.0.1;
#   the connector pin matters: fakesnow 0.12.1 breaks with snowflake-connector-python after 4.8.1
# - pyarrow and duckdb, to check that our Parquet files open in other tools
set -euo pipefail

FAKESNOW_VERSION="0.12.1"
CONNECTOR_VERSION="4.8.1"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"

installed() {
    [ -x "$venv/bin/fakesnow" ] || return 1
    "$venv/bin/python" - "$FAKESNOW_VERSION" "$CONNECTOR_VERSION" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    ok = version("fakesnow") == sys.argv[1] and \
        version("snowflake-connector-python") == sys.argv[2]
    import pyarrow, duckdb, fakesnow.server  # noqa: F401
except (PackageNotFoundError, ImportError):
    ok = False
sys.exit(0 if ok else 1)
PY
}

if installed; then
    echo "test tools already installed in $venv"
    exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi

"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "fakesnow[server]==$FAKESNOW_VERSION" \
    "snowflake-connector-python==$CONNECTOR_VERSION" \
    pyarrow duckdb

installed || { echo "test tool installation failed" >&2; exit 1; }
echo "test tools installed in $venv"
