"""The reference harnesses' virtual environments, cached under ``.tools/reference/``.

    python tests/reference/venvs.py [lmeval] [evalscope]     # build (once), print interpreters

lm-evaluation-harness and EvalScope need different ``datasets`` versions (5.x and 4.8.x), so
each gets its own venv, installed from PyPI with every package pinned
(``requirements-<name>.txt``, a ``pip freeze`` of a working install; neither pulls torch).
A venv is rebuilt when its requirements file changes. First build: about 1 minute for lm-eval
(~760 MB) and 2 for EvalScope (~1.2 GB) on a 2-core machine.

Regenerating the golden files (what ``tests/integration/benchmarks/test_reference_harness.py``
does into a temporary folder, and compares)::

    .tools/reference/lmeval/bin/python tests/reference/make_fixtures.py     # only if changed
    .tools/reference/lmeval/bin/python tests/reference/lmeval_golden.py
    .tools/reference/evalscope/bin/python tests/reference/evalscope_golden.py
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NAMES = ("lmeval", "evalscope")


def venv_dir(name: str) -> Path:
    base = os.environ.get("MODELEVAL_REFERENCE_DIR") or str(ROOT / ".tools" / "reference")
    return Path(base) / name


def python_of(name: str) -> Path:
    return venv_dir(name) / "bin" / "python"


def _wanted(name: str) -> str:
    return hashlib.sha256((HERE / f"requirements-{name}.txt").read_bytes()).hexdigest()


def is_built(name: str) -> bool:
    stamp = venv_dir(name) / ".modeleval-requirements"
    return python_of(name).exists() and stamp.exists() and stamp.read_text() == _wanted(name)


def ensure(name: str) -> Path:
    """Build the venv when missing or stale; its interpreter."""
    if is_built(name):
        return python_of(name)
    folder = venv_dir(name)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
    pip = [str(python_of(name)), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    requirements = HERE / f"requirements-{name}.txt"
    subprocess.run([*pip, "install", "-r", str(requirements)], check=True)
    (folder / ".modeleval-requirements").write_text(_wanted(name))
    return python_of(name)


def main(argv: list[str]) -> int:
    for name in argv or list(NAMES):
        if name not in NAMES:
            print(f"unknown harness {name!r} (known: {', '.join(NAMES)})", file=sys.stderr)
            return 2
        print(ensure(name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
