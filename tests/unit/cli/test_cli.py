"""The `modeleval` command line: crds, validate, run."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from modeleval.cli import main
from tests.support.paths import REPO
from tests.support.tasks import local_task


def test_crds_prints_both_generated_crds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crds"]) == 0
    docs = list(yaml.safe_load_all(capsys.readouterr().out))
    assert {d["metadata"]["name"] for d in docs} == {
        "evaltasks.modeleval.io",
        "modelevalservicegroups.modeleval.io",
    }
    for doc in docs:
        on_disk = yaml.safe_load(
            (REPO / "crds" / f"{doc['spec']['names']['plural']}.yaml").read_text()
        )
        assert doc == on_disk


def test_validate_accepts_the_samples(capsys: pytest.CaptureFixture[str]) -> None:
    samples = sorted((REPO / "manifests" / "samples").glob("*.yaml"))
    args = [arg for path in samples for arg in ("-f", str(path))]
    assert main(["validate", *args]) == 0
    assert capsys.readouterr().out.count(": valid") >= 7


def test_validate_names_the_bad_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "modeleval.io/v1alpha1",
                "kind": "EvalTask",
                "metadata": {"name": "x"},
                "spec": {
                    "models": [{"name": "m", "endpoint": {"url": "http://h/v1"}}],
                    "dataset": {"inline": [{"input": "q"}]},
                    "inference": {"client": {"parallel": 0}},
                },
            }
        )
    )
    assert main(["validate", "-f", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "spec.inference.client.parallel" in err


def test_run_explains_a_service_group_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = local_task("http://unused/v1")
    task["spec"]["models"] = [{"name": "g", "serviceGroupRef": {"name": "qwen"}}]  # type: ignore[index]
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(task, allow_unicode=True))
    assert main(["run", "-f", str(path), "--out", str(tmp_path / "o"), "-q"]) == 1
    assert "--url g=" in capsys.readouterr().err
