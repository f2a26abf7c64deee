#!/usr/bin/env bash
# Install modeleval into .venv and run the local demo: a Kubernetes API emulator, the operator,
# a local workload executor and a mock model server on this machine; the samples go from
# Queued to Succeeded and the report's path is printed. No cluster needed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
exec .venv/bin/modeleval demo "$@"
