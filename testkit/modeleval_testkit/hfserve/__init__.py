"""A model server we did not write: Hugging Face ``transformers serve`` on CPU, serving a tiny
Llama made on the spot (no hub download), for tests against a real OpenAI-compatible server.

    from modeleval_testkit.hfserve import ensure_transformers_serve, serve_command

    serving = ensure_transformers_serve()          # venv + model, cached under the tools dir
    ExecutorConfig(image_commands={"*transformers-serve*": serve_command(serving), ...})

The venv holds ``torch==2.13.0+cpu`` and ``transformers[serving]==5.24.0`` (pinned in one pip
run with ``constraints.txt``: an unpinned torch resolves to a CUDA build of several GB). The
model is ``tiny_model.py``'s: it answers every chat prompt with `REPLY`. The server is pinned to
it under the name `MODEL_NAME` (it runs in the model's parent directory, and the model is named
by its relative path), so a request must name that model.

``python -m modeleval_testkit.hfserve [DIR]`` prepares it ahead of a test run and prints where.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TORCH = "torch==2.13.0+cpu"
TRANSFORMERS = "transformers[serving]==5.24.0"
MODEL_NAME = "tiny-llama"
"""The served model's name (requests must send it)."""
REPLY = "Score: 4. The answer is fine."
"""What the tiny model answers to any chat prompt (11 tokens, then end of turn)."""
HERE = Path(__file__).resolve().parent
ENV_DIR = "MODELEVAL_HFSERVE_DIR"


class ServingUnavailable(RuntimeError):
    """The serving venv could not be made (no index, no CPU torch wheel, ...)."""


@dataclass(frozen=True)
class Serving:
    """A ready venv with ``transformers serve`` and the model it serves."""

    venv: Path
    model_dir: Path

    @property
    def transformers(self) -> Path:
        return self.venv / "bin" / "transformers"


def default_dir() -> Path:
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR])
    tools = os.environ.get("MODELEVAL_TOOLS_DIR")
    if tools:
        return Path(tools).parent / "transformers-serve"
    return Path.home() / ".cache" / "modeleval-testkit" / "transformers-serve"


def _stamp(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def ensure_venv(root: Path) -> Path:
    """The serving venv under ``root``, created (or re-made when the pins change)."""
    venv = root / "venv"
    constraints = HERE / "constraints.txt"
    want = _stamp(TORCH, TRANSFORMERS, constraints.read_text())
    stamp = venv / ".modeleval-pins"
    if stamp.exists() and stamp.read_text() == want and (venv / "bin" / "transformers").exists():
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    log = root / "pip-install.log"
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
         "-c", str(constraints), TORCH, TRANSFORMERS],
        [str(venv / "bin" / "python"), "-c",
         "import sys, torch; sys.exit(torch.version.cuda is not None)"],
    ]  # fmt: skip
    with log.open("w") as out:
        for step in steps:
            if subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, check=False).returncode:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                raise ServingUnavailable(f"{' '.join(step[:4])}… failed (log {log}):\n{tail}")
    stamp.write_text(want)
    return venv


def make_tiny_model(venv: Path, root: Path) -> Path:
    """``root/models/tiny-llama``, made by ``tiny_model.py`` with the venv's Python."""
    model_dir = root / "models" / MODEL_NAME
    script = HERE / "tiny_model.py"
    want = _stamp(script.read_text(), (venv / ".modeleval-pins").read_text())
    stamp = model_dir / ".modeleval-script"
    if stamp.exists() and stamp.read_text() == want:
        return model_dir
    shutil.rmtree(model_dir, ignore_errors=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [str(venv / "bin" / "python"), str(script), str(model_dir)],
        capture_output=True, text=True, env=env, check=False, timeout=600,
    )  # fmt: skip
    if result.returncode != 0:
        output = result.stdout[-2000:] + result.stderr[-3000:]
        raise ServingUnavailable(f"tiny_model.py failed:\n{output}")
    stamp.write_text(want)
    return model_dir


def ensure_transformers_serve(root: Path | None = None) -> Serving:
    """The venv and the model, made once (about a minute and a half) and reused."""
    root = root or default_dir()
    venv = ensure_venv(root)
    return Serving(venv=venv, model_dir=make_tiny_model(venv, root))


def serve_command(serving: Serving) -> tuple[str, ...]:
    """An executor command template (``ExecutorConfig.image_commands``) that serves the model
    on the pod's port: one torch thread (a model this small is fastest so), no hub access."""
    env = shutil.which("env") or "/usr/bin/env"
    return (
        env,
        "-C",
        str(serving.model_dir.parent),
        "OMP_NUM_THREADS=1",
        "HF_HUB_OFFLINE=1",
        "HF_HUB_DISABLE_TELEMETRY=1",
        str(serving.transformers),
        "serve",
        MODEL_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--device",
        "cpu",
        "--log-level",
        "info",
    )
