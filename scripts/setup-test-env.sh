#!/usr/bin/env bash
# Installs the test tools (idempotent: quick when the pinned versions are already there).
# Into .venv at the repository root:
# - fakesnow 0.12.1, the Snowflake-protocol server the destination tests start on 127.0.0.1;
#   the connector pin matters: fakesnow 0.12.1 breaks with snowflake-connector-python after 4.8.1
# - pyarrow and duckdb, to check that our Parquet files open in other tools
# - moto in server mode, the S3 server the stage upload tests start on 127.0.0.1
# Into node_modules at the repository root (not saved in any package.json):
# - azurite, the Azure Blob server the stage upload tests start on 127.0.0.1
set -euo pipefail

FAKESNOW_VERSION="0.12.1"
CONNECTOR_VERSION="4.8.1"
MOTO_VERSION="5.2.5"
AZURITE_VERSION="3.37.0"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"

python_installed() {
    [ -x "$venv/bin/fakesnow" ] && [ -x "$venv/bin/moto_server" ] || return 1
    "$venv/bin/python" - "$FAKESNOW_VERSION" "$CONNECTOR_VERSION" "$MOTO_VERSION" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    ok = version("fakesnow") == sys.argv[1] and \
        version("snowflake-connector-python") == sys.argv[2] and \
        version("moto") == sys.argv[3]
    import pyarrow, duckdb, fakesnow.server, moto.server  # noqa: F401
except (PackageNotFoundError, ImportError):
    ok = False
sys.exit(0 if ok else 1)
PY
}

azurite_installed() {
    [ -x "$root/node_modules/.bin/azurite-blob" ] || return 1
    grep -q "\"version\": \"$AZURITE_VERSION\"" "$root/node_modules/azurite/package.json"
}

if python_installed; then
    echo "python test tools already installed in $venv"
else
    if [ ! -x "$venv/bin/python" ]; then
        "$python" -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "fakesnow[server]==$FAKESNOW_VERSION" \
        "snowflake-connector-python==$CONNECTOR_VERSION" \
        "moto[server]==$MOTO_VERSION" \
        pyarrow==26.0.1 duckdb==2.0.1
    python_installed || { echo "python test tool installation failed" >&2; exit 1; }
    echo "python test tools installed in $venv"
fi

if azurite_installed; then
    echo "azurite already installed in $root/node_modules"
elif ! command -v npm >/dev/null 2>&1; then
    # Locally the Azure tests then skip and say so; CI must run them, so it fails here.
    if [ "${CI:-}" = "true" ]; then
        echo "npm is missing: cannot install azurite" >&2
        exit 1
    fi
    echo "npm is missing: azurite not installed, the Azure stage tests will skip" >&2
else
    (cd "$root" && npm install --no-save --no-package-lock --no-audit --no-fund --silent \
        "azurite@$AZURITE_VERSION")
    azurite_installed || { echo "azurite installation failed" >&2; exit 1; }
    echo "azurite installed in $root/node_modules"
fi
