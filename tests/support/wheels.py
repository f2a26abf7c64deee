"""Build the two distributions of the checkout as wheels (the operator and its test kit)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO


def build_wheels(dest: Path) -> dict[str, Path]:
    """``{"modeleval": wheel, "modeleval-testkit": wheel}`` built into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(dest), str(REPO), str(REPO / "testkit")],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    wheels = {}
    for wheel in dest.glob("*.whl"):
        name = wheel.name.split("-")[0].replace("_", "-")
        wheels[name] = wheel
    assert set(wheels) == {"modeleval", "modeleval-testkit"}, sorted(wheels)
    return wheels
