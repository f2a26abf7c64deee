"""The wheels, installed into a fresh virtual environment outside the checkout, run the demo.

Nothing of the checkout is on the path: the CRDs come from the installed models, the samples
and RBAC from the test kit's package data. Without the test kit, ``modeleval demo`` says which
``pip install`` brings it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO
from tests.support.wheels import build_wheels

pytestmark = [pytest.mark.slow, pytest.mark.needs_executor]


def pip(venv: Path, *args: str) -> None:
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
         "-q", "-c", str(REPO / "constraints.txt"), *args],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


def test_installed_wheels_run_the_demo_outside_the_checkout(tmp_path: Path) -> None:
    wheels = build_wheels(tmp_path / "dist")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip(venv, str(wheels["modeleval"]))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"

    def modeleval(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin" / "modeleval"), *args],
            cwd=outside, env=env, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    without_kit = modeleval("demo", "--work-dir", str(tmp_path / "nokit"))
    assert without_kit.returncode == 2
    assert "pip install 'modeleval[demo]'" in without_kit.stderr
    pip(venv, "--find-links", str(wheels["modeleval"].parent), f"{wheels['modeleval']}[demo]")
    where = "import modeleval as a, modeleval_testkit as b; print(a.__file__, b.__file__)"
    located = subprocess.run(
        [str(venv / "bin" / "python"), "-c", where],
        cwd=outside, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert str(REPO) not in located.stdout
    done = modeleval("demo", "--work-dir", str(tmp_path / "demo"), "--timeout", "240", timeout=330)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "all 2 tasks succeeded" in done.stdout
    assert len(list((tmp_path / "demo").rglob("report.html"))) == 2
