"""The golden files are what the reference harnesses produce today (slow; needs their venvs).

Regenerates every golden file with lm-evaluation-harness and EvalScope themselves into a
temporary folder and compares it with the committed one. The harnesses' venvs are built by
``python tests/reference/venvs.py`` (PyPI, ~3 minutes on 2 cores, ~2 GB) and cached under
``.tools/reference/``; without them this test is skipped with that command as the reason,
unless ``MODELEVAL_REFERENCE_VENVS=build`` asks it to build them first. The fast tier
(``tests/unit/benchmarks``) compares our implementation with the committed files on every run.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.reference import venvs
from tests.support.benchmarks import GOLDEN
from tests.support.paths import REPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

SCRIPTS = {"lmeval": "lmeval_golden.py", "evalscope": "evalscope_golden.py"}


@pytest.mark.parametrize("harness", sorted(SCRIPTS))
def test_the_harness_still_produces_the_committed_golden_files(
    harness: str, tmp_path: Path
) -> None:
    if not venvs.is_built(harness):
        if os.environ.get("MODELEVAL_REFERENCE_VENVS") != "build":
            pytest.skip(
                f"the {harness} reference venv is not built: python tests/reference/venvs.py "
                f"{harness} (or MODELEVAL_REFERENCE_VENVS=build)"
            )
        venvs.ensure(harness)
    script = REPO / "tests" / "reference" / SCRIPTS[harness]
    done = subprocess.run(
        [str(venvs.python_of(harness)), str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=1500,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    committed = sorted(p.name for p in (GOLDEN / harness).glob("*.json"))
    assert sorted(p.name for p in tmp_path.glob("*.json")) == committed
    for name in committed:
        fresh = json.loads((tmp_path / name).read_text("utf-8"))
        assert fresh == json.loads((GOLDEN / harness / name).read_text("utf-8")), name
