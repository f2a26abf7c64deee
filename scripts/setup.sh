#!/usr/bin/env bash
# Create .venv and install modeleval, its test kit (testkit/) and the test tools, pinned by
# constraints.txt.
# Sourced by demo.sh and test.sh; safe to run again (it only installs what is missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.modeleval-installed
want="$(cat pyproject.toml testkit/pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log=.venv/pip-install.log
  echo "installing modeleval and its test tools into .venv (log: $log)"
  if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip &&
         .venv/bin/python -m pip install --disable-pip-version-check \
           -c constraints.txt -e ".[test,console]" -e ./testkit; } >"$log" 2>&1; then
    grep -v "^WARNING: Location" "$log" | tail -40
    echo "pip install failed (full log: $log)" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
