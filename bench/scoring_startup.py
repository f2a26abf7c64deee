"""Start-up of a scoring process: what a score Job pays before it scores its first item.

Writes a task.json and a 20-item predictions file, then runs ``python -m modeleval.runner
score`` as a process (what a scoring Job runs) ``--repeat`` times, alternating with the bare
interpreter (``python -c pass``) and with the process importing only asyncio, uvloop and
aiohttp (the inference runner's own floor). Prints the best wall times and the scoring
process's cost above the interpreter, for rule scoring with every metric (accuracy, ROUGE-L,
BLEU, edit similarity) and with accuracy only (no BLEU: no numpy or sacrebleu).

    python bench/scoring_startup.py [--repeat 7]

Before the Unicode tables were computed ahead of time (``modeleval.scoring.unicode_ranges``),
every scoring process looped over all 1.1 million code points (~0.1-0.45 s) first.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ITEMS = 20


def write_task(work: Path, score_modes: list[str]) -> Path:
    task = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": "startup", "namespace": "default"},
        "spec": {
            "models": [{"name": "m", "endpoint": {"url": "http://unused/v1", "model": "x"}}],
            "dataset": {"inline": [{"input": "x"}]},
            "scoring": {"modes": ["rule"], "rule": {"scoreModes": score_modes}},
        },
    }
    results = work / "-".join(score_modes)
    (results / "predictions").mkdir(parents=True)
    rows = [
        {"id": str(i), "input": f"问题 {i}", "target": f"答案 {i} is here", "output": f"答案 {i}",
         "error": None}
        for i in range(ITEMS)
    ]  # fmt: skip
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    (results / "predictions" / "m.jsonl").write_text(text, encoding="utf-8")
    path = results / "task.json"
    path.write_text(json.dumps(task), encoding="utf-8")
    return path


def timed(cmd: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {shlex.join(cmd)}\n{done.stderr[-2000:]}")
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    with tempfile.TemporaryDirectory(prefix="modeleval-startup-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(
            PYTHONPYCACHEPREFIX=str(work / "pycache"), MODELEVAL_LOG_LEVEL="WARNING",
            MODELEVAL_TERMINATION_LOG=str(work / "termination-log"),
        )  # fmt: skip
        env.pop("KUBECONFIG", None)
        env.pop("KUBERNETES_SERVICE_HOST", None)
        runs = {
            "interpreter": [sys.executable, "-c", "pass"],
            "asyncio+uvloop+aiohttp": [sys.executable, "-c", "import asyncio, uvloop, aiohttp"],
        }
        for modes in (["accuracy", "similarity"], ["accuracy"]):
            task = write_task(work, modes)
            runs[f"score phase ({'+'.join(modes)})"] = [
                sys.executable, "-m", "modeleval.runner", "score",
                "--task-file", str(task), "--results-dir", str(task.parent),
            ]  # fmt: skip
        for cmd in runs.values():  # warm-up: bytecode cache, page cache
            timed(cmd, env)
        walls: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.repeat):
            for name, cmd in runs.items():
                walls[name].append(timed(cmd, env))
        base = min(walls["interpreter"])
        for name, values in walls.items():
            best = min(values)
            print(f"  {name:<38} best {best:.3f} s  (+{best - base:.3f} s over the interpreter)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
