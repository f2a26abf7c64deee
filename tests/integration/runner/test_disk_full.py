"""Disk full while checkpointing: a clear error naming the file, and a correct resume.

In-process, the predictions file is swapped for one that takes a fixed number of bytes and
then fails like a full disk (ENOSPC), leaving a torn last line. As a process, the runner gets
a file-size limit (RLIMIT_FSIZE: EFBIG, the same code path) and must exit 1 with the message
in its termination log and no traceback; the run after it answers every item.
"""

from __future__ import annotations

import asyncio
import errno
import io
import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from modeleval.runner.checkpoint import CheckpointError, CheckpointWriter, load_finished
from modeleval.runner.infer import run_inference
from modeleval_testkit.mockserver import MockModelServer
from tests.support.runner import make_config, make_items, read_jsonl


class FullDisk(io.StringIO):
    """A text file that accepts ``room`` characters, then writes part of one and fails."""

    def __init__(self, path: Path, room: int) -> None:
        super().__init__()
        self.target = path.open("a", encoding="utf-8")
        self.room = room

    def write(self, text: str) -> int:
        if len(text) > self.room:
            self.target.write(text[: self.room])  # a torn line, as a full disk leaves it
            self.target.flush()
            self.room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(text)
        return self.target.write(text)

    def flush(self) -> None:
        self.target.flush()

    def fileno(self) -> int:
        return self.target.fileno()

    def close(self) -> None:
        self.target.close()


async def test_a_full_disk_stops_the_run_with_the_file_named_and_resume_is_correct(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await MockModelServer(latency_s=0.005).start()
    path = tmp_path / "predictions" / "m1.jsonl"

    def full_open(self: CheckpointWriter) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = FullDisk(self.path, room=1500)  # type: ignore[assignment]

    try:
        config = make_config(server.url, tmp_path, parallel=4)
        with monkeypatch.context() as patch:
            patch.setattr(CheckpointWriter, "open", full_open)
            with pytest.raises(CheckpointError) as failed:
                await run_inference(config, make_items(60), sink=None, stop=asyncio.Event())
        assert str(failed.value).startswith(
            f"{path}: cannot write the checkpoint: No space left on device;"
        )
        kept = load_finished(path)  # the torn last line is cut off, nothing else is lost
        assert 0 < len(kept) < 60
        summary = await run_inference(config, make_items(60), sink=None, stop=asyncio.Event())
        assert summary.failed == 0
        answered = {row["id"] for row in read_jsonl(path) if row["error"] is None}
        assert answered == {f"q{i}" for i in range(60)}
    finally:
        await server.stop()


def _small_files() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))


def test_the_runner_process_exits_1_with_the_reason_and_no_traceback(tmp_path: Path) -> None:
    with MockModelServer(latency_s=0.005).running() as server:
        task = {
            "apiVersion": "modeleval.io/v1alpha1",
            "kind": "EvalTask",
            "metadata": {"name": "t", "namespace": "ns"},
            "spec": {
                "models": [{"name": "m1", "endpoint": {"url": server.url}}],
                "dataset": {"inline": [{"id": f"q{i}", "input": f"q {i}"} for i in range(80)]},
                "inference": {"client": {"parallel": 4}},
            },
        }
        (tmp_path / "task.json").write_text(json.dumps(task))
        env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        env.update(
            MODELEVAL_TASK_FILE=str(tmp_path / "task.json"),
            MODELEVAL_RESULTS_DIR=str(tmp_path / "results"),
            MODELEVAL_TERMINATION_LOG=str(tmp_path / "termination-log"),
            HOME=str(tmp_path),
        )
        argv = [sys.executable, "-m", "modeleval.runner", "infer"]
        limited: Any = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=60, preexec_fn=_small_files
        )
        assert limited.returncode == 1, limited.stderr
        assert "Traceback" not in limited.stdout + limited.stderr
        message = (tmp_path / "termination-log").read_text()
        assert message.startswith(
            f"{tmp_path / 'results' / 'predictions' / 'm1.jsonl'}: cannot write the checkpoint: "
            "File too large;"
        ), message
        resumed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        assert resumed.returncode == 0, resumed.stderr
    rows = read_jsonl(tmp_path / "results" / "predictions" / "m1.jsonl")
    assert {r["id"] for r in rows if r["error"] is None} == {f"q{i}" for i in range(80)}
