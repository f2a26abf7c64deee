#!/usr/bin/env bash
# Build the project's image (the repository's Dockerfile) on a machine that reaches no
# container registry, only PyPI and Debian's archive:
#
#   scripts/build-image.sh [TAG]          # default TAG: modeleval:dev
#
#   1. a container engine (scripts/ensure-docker.sh: docker.io + dockerd)
#   2. the base image modeleval-base:bookworm-<key>: debootstrap minbase with the Python the
#      official python:3.11-slim-bookworm base has (3.11; python3-venv, pip, ca-certificates,
#      python-is-python3 for `python`), slimmed like debian:bookworm-slim, `docker import`ed
#      with PATH/LANG/CMD. Reused while its key (package list + recipe) is unchanged;
#      REBUILD_BASE=1 refreshes it (Debian point releases).
#   3. wheels of every dependency (pinned by constraints.txt) and of setuptools (the build
#      backend), built on the host with Python 3.11 into a cache, then copied into the build
#      context's wheelhouse/ offline (the build container cannot verify TLS to the index here:
#      the egress proxy's CA is only on the host).
#   4. `docker build` of the image's context with --build-arg PYTHON_IMAGE=<base>
#      PIP_NO_INDEX=1 PIP_FIND_LINKS=/wheelhouse, legacy builder (BuildKit would fetch the
#      `# syntax=` frontend from Docker Hub).
# Each step is skipped when its result exists: a re-run with nothing changed takes seconds.
# Prints `image=TAG size=BYTES seconds=S` last. The release build is the plain
# `docker build -t IMAGE .` on the pinned official base.
#
# Environment: MODELEVAL_BUILD_CACHE (default /var/cache/modeleval-build as root, else
# ~/.cache/modeleval-build), HOST_PYTHON (a CPython 3.11; default .venv/bin/python or python3),
# REBUILD_BASE=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
TAG=${1:-modeleval:dev}
if [ "$(id -u)" = 0 ]; then default_cache=/var/cache/modeleval-build
else default_cache=${XDG_CACHE_HOME:-$HOME/.cache}/modeleval-build; fi
CACHE=${MODELEVAL_BUILD_CACHE:-$default_cache}
if [ -z "${HOST_PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then HOST_PYTHON=.venv/bin/python; else HOST_PYTHON=python3; fi
fi

SUITE=bookworm
BASE_PACKAGES=python3,python3-venv,python3-pip,ca-certificates,python-is-python3
BASE_RECIPE=1   # bump when make_base changes
BASE_KEY=$(printf '%s\n' "$SUITE" minbase "$BASE_PACKAGES" "$BASE_RECIPE" | sha256sum | cut -c1-12)
BASE_IMAGE=modeleval-base:$SUITE-$BASE_KEY
export DOCKER_BUILDKIT=0

log() { printf '[build-image %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
TMPDIRS=()
cleanup() { if ((${#TMPDIRS[@]})); then rm -rf "${TMPDIRS[@]}"; fi; }
trap cleanup EXIT

make_base() {
  local rootfs
  rootfs=$(mktemp -d /var/tmp/modeleval-rootfs.XXXXXX)
  TMPDIRS+=("$rootfs")
  mkdir -p "$CACHE/debs"
  log "debootstrap $SUITE minbase + $BASE_PACKAGES"
  if ! debootstrap --variant=minbase --include="$BASE_PACKAGES" --cache-dir="$CACHE/debs" \
      "$SUITE" "$rootfs" >"$CACHE/debootstrap.log" 2>&1; then
    tail -20 "$CACHE/debootstrap.log" >&2
    exit 1
  fi
  # Slim it as debian:bookworm-slim is: no apt lists or caches, docs, man pages or locales,
  # and a dpkg config that keeps them out of later installs. Host files go (docker adds its own).
  (
    cd "$rootfs"
    rm -rf var/lib/apt/lists/* var/cache/apt/*.bin var/cache/apt/archives/*.deb \
      var/cache/debconf/*-old var/lib/dpkg/*-old var/log/* \
      usr/share/doc/* usr/share/man/* usr/share/info/* etc/resolv.conf etc/hostname
    find usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    : >etc/machine-id
    printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
      'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
      'path-exclude /usr/share/locale/*' 'path-include /usr/share/locale/locale.alias' \
      >etc/dpkg/dpkg.cfg.d/slim
  )
  # `docker import` sets no config: give it what the official image has (the Dockerfile's
  # `ENV PATH=/opt/modeleval/bin:$PATH` needs a PATH to extend).
  tar -C "$rootfs" --numeric-owner -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' \
    --message "debootstrap $SUITE minbase + $BASE_PACKAGES (recipe $BASE_RECIPE)" \
    - "$BASE_IMAGE" >/dev/null
}

make_context() {
  local ctx=$1
  # The files the image is built from, as they are in the working tree (.dockerignore decides
  # the rest inside docker build).
  git -C "$repo" ls-files -z -co --exclude-standard -- \
      Dockerfile .dockerignore pyproject.toml README.md constraints.txt operator \
    | tar -C "$repo" --null -T - -c | tar -C "$ctx" -x
}

make_wheelhouse() {
  local ctx=$1 reqs
  "$HOST_PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
    || { log "HOST_PYTHON=$HOST_PYTHON is not Python 3.11 (the base's)"; exit 1; }
  mkdir -p "$CACHE/wheels" "$ctx/wheelhouse"
  reqs=$ctx/requirements.txt   # left out of the image by .dockerignore
  "$HOST_PYTHON" - "$ctx/pyproject.toml" >"$reqs" <<'EOF'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    project = tomllib.load(f)["project"]
# The same requirements as the Dockerfile's: the dependencies and the console's extra.
print("\n".join(project["dependencies"] + project["optional-dependencies"]["console"]))
print("setuptools>=77")
EOF
  local pipwheel=("$HOST_PYTHON" -m pip wheel -q --disable-pip-version-check
                  -c "$ctx/constraints.txt" -r "$reqs")
  if ! "${pipwheel[@]}" --no-index --find-links "$CACHE/wheels" -w "$ctx/wheelhouse" \
      >/dev/null 2>&1; then
    log "wheel cache incomplete: pip wheel from the index into $CACHE/wheels"
    "${pipwheel[@]}" -w "$CACHE/wheels" 2> >(grep -v '^WARNING: Location' >&2)
    "${pipwheel[@]}" --no-index --find-links "$CACHE/wheels" -w "$ctx/wheelhouse"
  fi
}

main() {
  local t0=$SECONDS ctx old size build_log
  bash scripts/ensure-docker.sh
  if [ -n "${REBUILD_BASE:-}" ] || ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || { log "debootstrap is not installed"; exit 1; }
    make_base
    log "base $BASE_IMAGE built ($((SECONDS - t0)) s)"
  fi
  ctx=$(mktemp -d /var/tmp/modeleval-context.XXXXXX)
  TMPDIRS+=("$ctx")
  make_context "$ctx"
  make_wheelhouse "$ctx"
  build_log=$CACHE/build-${TAG//[:\/]/_}.log
  old=$(docker image inspect -f '{{.Id}}' "$TAG" 2>/dev/null || true)
  # --force-rm: the legacy builder otherwise keeps the container of a failed RUN.
  if ! docker build --force-rm -t "$TAG" \
      --build-arg PYTHON_IMAGE="$BASE_IMAGE" \
      --build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=/wheelhouse \
      "$ctx" >"$build_log" 2>&1; then
    tail -30 "$build_log" >&2
    log "docker build failed (log: $build_log)"
    exit 1
  fi
  # The image TAG named before is untagged now: drop it unless something still uses it.
  if [ -n "$old" ] && [ "$old" != "$(docker image inspect -f '{{.Id}}' "$TAG")" ]; then
    docker rmi "$old" >/dev/null 2>&1 || true
  fi
  size=$(docker image inspect -f '{{.Size}}' "$TAG")
  echo "image=$TAG size=$size seconds=$((SECONDS - t0))"
}

main "$@"
