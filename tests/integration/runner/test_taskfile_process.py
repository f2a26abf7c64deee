"""A planned task.json loads in a fresh process without pydantic or the API models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from modeleval.api import EvalTask
from modeleval.builders.runplan import build_run_plan
from tests.support.tasks import task


def test_the_runner_uses_the_operator_plan_without_the_api_models(tmp_path: Path) -> None:
    """A planned task.json is read without importing pydantic (checked in a fresh process)."""
    spec = {
        "models": [{"name": "m", "endpoint": {"url": "http://h/v1"}}],
        "dataset": {"pvc": {"claimName": "d", "path": "qa.jsonl"}},
        "results": {"type": "S3", "s3": {"url": "s3://bucket/prefix"}},
    }
    doc = task(spec)
    doc["plan"] = build_run_plan(EvalTask.model_validate(doc), None)
    path = tmp_path / "task.json"
    path.write_text(json.dumps(doc))
    code = (
        "import sys\n"
        "from modeleval.runner.taskfile import load_task\n"
        "import modeleval.runner.phases, modeleval.runner.infer\n"
        f"loaded = load_task({str(path)!r}, results_dir='/r', env={{}})\n"
        "print(loaded.config.models[0].url, loaded.remote.bucket, loaded.config.dataset.path)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('pydantic', 'modeleval.api'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["http://h/v1 bucket /mnt/dataset/qa.jsonl", "[]"]
