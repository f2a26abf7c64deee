"""Real parts the suite can use when the machine has them: a Docker engine with the project's
image, a ``transformers serve`` model server, Chromium (and Playwright), PostgreSQL, helm and
kubectl, hadolint.

A test that needs one calls `unavailable` with the reason it cannot be had; it is skipped, unless
``MODELEVAL_REQUIRE_REAL_PARTS=1`` (``scripts/test.sh`` sets it where it can install them: CI),
then it fails: in CI the real parts must run, never be skipped quietly.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from typing import NoReturn

import pytest

from modeleval_testkit.executor.engine import engine_available
from tests.support.paths import REPO

STRICT_ENV = "MODELEVAL_REQUIRE_REAL_PARTS"
IMAGE_ENV = "MODELEVAL_TEST_IMAGE"
BUILD_TIMEOUT_S = 1200


def strict() -> bool:
    return os.environ.get(STRICT_ENV) == "1"


def unavailable(reason: str) -> NoReturn:
    """Skip (or, with MODELEVAL_REQUIRE_REAL_PARTS=1, fail) saying why."""
    if strict():
        pytest.fail(f"{reason} ({STRICT_ENV}=1: real parts are required here)", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    size_bytes: int
    build_seconds: int


def image_tag() -> str:
    """One tag per checkout, so worktrees sharing an engine never use each other's image."""
    digest = hashlib.sha256(str(REPO).encode()).hexdigest()[:8]
    return os.environ.get(IMAGE_ENV) or f"modeleval:test-{digest}"


_BUILT: dict[str, BuiltImage] = {}


def project_image() -> BuiltImage:
    """The image of this checkout, built (or found current) once per test session."""
    tag = image_tag()
    if tag in _BUILT:
        return _BUILT[tag]
    why = engine_available()
    if why is not None and os.geteuid() != 0:
        unavailable(f"no container engine: {why}")
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "build-image.sh"), tag],
        capture_output=True,
        text=True,
        check=False,
        timeout=BUILD_TIMEOUT_S,
    )
    if result.returncode != 0:
        if engine_available() is not None:
            unavailable(f"no container engine could be started: {result.stderr[-1500:]}")
        pytest.fail(f"scripts/build-image.sh failed:\n{result.stderr[-4000:]}", pytrace=False)
    fields = dict(item.split("=", 1) for item in result.stdout.strip().splitlines()[-1].split())
    built = BuiltImage(tag, int(fields["size"]), int(fields["seconds"]))
    _BUILT[tag] = built
    return built
