#!/usr/bin/env bash
# Make a container engine available: Debian's docker.io and debootstrap (apt-get, as root),
# then dockerd in the background unless `docker info` already works. Used by scripts/test.sh
# (CI: a fresh machine) and scripts/build-image.sh. Exit 1 when no engine can be had, with the
# reason on stderr. No registry is needed: images are built from a debootstrap base.
#
# Environment: DOCKERD_LOG (default /var/log/modeleval-dockerd.log).
set -euo pipefail

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/modeleval-dockerd.log}

say() { printf '[ensure-docker] %s\n' "$*" >&2; }

if docker info >/dev/null 2>&1 && command -v debootstrap >/dev/null; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  docker info >/dev/null 2>&1 && exit 0
  say "no usable docker engine and not root (cannot install or start one)"
  exit 1
fi
if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
  say "installing docker.io and debootstrap (apt-get)"
  if ! { apt-get update -qq &&
         DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap; } \
         >/tmp/modeleval-apt-docker.log 2>&1; then
    tail -20 /tmp/modeleval-apt-docker.log >&2
    say "apt-get could not install docker.io/debootstrap (log: /tmp/modeleval-apt-docker.log)"
    exit 1
  fi
fi
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd (log: $DOCKERD_LOG)"
  # setsid + nohup: the engine outlives this script and the shell that ran it.
  setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  for _ in $(seq 120); do
    docker info >/dev/null 2>&1 && exit 0
    sleep 0.5
  done
  tail -20 "$DOCKERD_LOG" >&2
  say "dockerd did not come up"
  exit 1
fi
