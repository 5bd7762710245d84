#!/usr/bin/env bash
# Install the Snowflake-protocol test server (fakesnow) into .venv at the repository root.
#
# Idempotent: when the pinned versions are already installed it only checks them and exits.
# The pins matter: fakesnow 0.12.1 breaks with snowflake-connector-python releases after 4.8.1.
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
except PackageNotFoundError:
    ok = False
sys.exit(0 if ok else 1)
PY
}

if installed; then
    echo "fakesnow $FAKESNOW_VERSION already installed in $venv"
    exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi

"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "fakesnow[server]==$FAKESNOW_VERSION" \
    "snowflake-connector-python==$CONNECTOR_VERSION"

installed || { echo "fakesnow install check failed" >&2; exit 1; }
echo "fakesnow $FAKESNOW_VERSION installed in $venv"
