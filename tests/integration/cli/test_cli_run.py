"""`modeleval run` against the mock model server: a whole local evaluation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from modeleval.cli import main
from modeleval_testkit.mockserver import MockModelServer
from modeleval_testkit.mockserver.config import ServerFlavour
from tests.support.judges import RULES
from tests.support.paths import REPO
from tests.support.tasks import local_task


def test_run_scores_a_task_locally(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = {"capital of France": "Paris", "2+2": "5", "中国的首都": "北京"}
    with MockModelServer(answers=answers).running() as server:
        task_file = tmp_path / "task.yaml"
        task = local_task(server.base_url + "/v1")
        task_file.write_text(yaml.safe_dump(task, allow_unicode=True))
        out = tmp_path / "out"
        code = main(["run", "-f", str(task_file), "--out", str(out), "--quiet"])
        assert code == 0, capsys.readouterr().err
        assert server.stats().requests == 3
    summary = json.loads(capsys.readouterr().out)
    # Two of three answers are exactly right.
    assert summary["metrics"]["accuracy"] == pytest.approx(200 / 3, abs=0.01)
    assert (out / "report.html").exists()
    assert (out / "predictions" / "mock.jsonl").read_text().count("\n") == 3


SAMPLES = REPO / "manifests" / "samples"


def test_run_finds_the_dataset_configmap_among_the_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sample task as a newcomer runs it: its ConfigMap comes from the sample file."""
    with MockModelServer(answers={}).running() as server:
        code = main(
            [
                "run",
                "-f", str(SAMPLES / "20-evaltask-rule.yaml"),
                "-f", str(SAMPLES / "00-dataset-configmap.yaml"),
                "--url", f"qwen-7b={server.base_url}/v1",
                "--out", str(tmp_path / "out"), "-q",
            ]
        )  # fmt: skip
        assert code == 0, capsys.readouterr().err
        assert server.stats().requests == 8  # spec.limits: 8 of the ConfigMap's items
    lines = (tmp_path / "out" / "predictions" / "qwen-7b.jsonl").read_text().splitlines()
    assert {json.loads(line)["id"] for line in lines} == {f"q{i}" for i in range(1, 9)}


def test_run_without_the_configmap_says_how_to_supply_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["run", "-f", str(SAMPLES / "20-evaltask-rule.yaml"), "--url", "qwen-7b=http://h/v1",
         "--out", str(tmp_path / "out"), "-q"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert "ConfigMap demo-qa-dataset (key qa.jsonl) is not among the files given with -f" in err
    assert "--dataset FILE" in err


def test_run_with_a_dataset_file_and_a_pvc_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "set.jsonl").write_text('{"id": "a", "input": "x", "target": "y"}\n')
    override = tmp_path / "other.jsonl"
    override.write_text('{"id": "b", "input": "x", "target": "y"}\n' * 1)
    task = local_task("http://placeholder/v1")
    task["spec"]["dataset"] = {"pvc": {"claimName": "data", "path": "/set.jsonl"}}  # type: ignore[index]
    task_file = tmp_path / "task.yaml"
    with MockModelServer(answers={}).running() as server:
        task["spec"]["models"][0]["endpoint"]["url"] = server.base_url + "/v1"  # type: ignore[index]
        task_file.write_text(yaml.safe_dump(task))
        missing = main(["run", "-f", str(task_file), "--out", str(tmp_path / "o1"), "-q"])
        assert missing == 1
        assert "pass --pvc data=DIR" in capsys.readouterr().err
        args = ["run", "-f", str(task_file), "-q", "--pvc", f"data={data}"]
        assert main([*args, "--out", str(tmp_path / "o2")]) == 0
        assert main([*args, "--out", str(tmp_path / "o3"), "--dataset", str(override)]) == 0
    read = lambda out: json.loads((tmp_path / out / "predictions" / "mock.jsonl").read_text())  # noqa: E731
    assert read("o2")["id"] == "a"
    assert read("o3")["id"] == "b"


def test_run_takes_secrets_from_secret_documents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "llm"},
              "stringData": {"token": "s3cret-value"}}  # fmt: skip
    with MockModelServer(answers={}).running() as server:
        task = local_task(server.base_url + "/v1")
        task["spec"]["models"][0]["endpoint"]["apiKeySecretRef"] = {"name": "llm", "key": "token"}  # type: ignore[index]
        files = tmp_path / "task.yaml"
        files.write_text(yaml.safe_dump_all([task, secret]))
        assert main(["run", "-f", str(files), "--out", str(tmp_path / "o"), "-q"]) == 0, (
            capsys.readouterr().err
        )
        assert server.stats().requests == 3
    only_task = tmp_path / "task-only.yaml"
    only_task.write_text(yaml.safe_dump(task))
    assert main(["run", "-f", str(only_task), "--out", str(tmp_path / "o2"), "-q"]) == 1
    err = capsys.readouterr().err
    assert (
        "needs Secret llm/token: add -f FILE holding the Secret, or export MODELEVAL_SECRET_" in err
    )


def test_prompt_columns_and_a_per_item_system_prompt_reach_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"id": "1", "input": "how long?", "topic": "the Nile", "sys": "be terse", "target": "x"},
        {"id": "2", "input": "how deep?", "topic": "Baikal", "sys": "", "target": "x"},
    ]
    dataset = tmp_path / "rows.jsonl"
    dataset.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    rules = [(r"(?s)^be terse\n(.*)", r"SYSTEM[be terse] USER[\1]")]
    with MockModelServer(rules=rules).running() as server:
        task = local_task(server.base_url + "/v1")
        task["spec"]["inference"]["promptTemplate"] = "About {topic} ({{braces}}): {input}"  # type: ignore[index]
        task["spec"]["dataset"] = {
            "pvc": {"claimName": "d", "path": "rows.jsonl"},
            "fields": {"system": "sys"},
        }  # type: ignore[index]
        task_file = tmp_path / "task.yaml"
        task_file.write_text(yaml.safe_dump(task))
        args = ["run", "-f", str(task_file), "--dataset", str(dataset), "-q"]
        code = main([*args, "--out", str(tmp_path / "o")])
        assert code == 0, capsys.readouterr().err
    lines = (tmp_path / "o/predictions/mock.jsonl").read_text().splitlines()
    out = {row["id"]: row["output"] for row in map(json.loads, lines)}
    assert out == {
        "1": "SYSTEM[be terse] USER[About the Nile ({braces}): how long?]",
        "2": "About Baikal ({braces}): how deep?",
    }


def test_a_template_column_missing_from_a_row_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "rows.jsonl"
    dataset.write_text('{"input": "a", "topic": "t"}\n\n{"input": "b"}\n')
    with MockModelServer().running() as server:
        task = local_task(server.base_url + "/v1")
        task["spec"]["inference"]["promptTemplate"] = "On {topic}: {input}"  # type: ignore[index]
        task_file = tmp_path / "task.yaml"
        task_file.write_text(yaml.safe_dump(task))
        args = ["run", "-f", str(task_file), "--dataset", str(dataset), "-q"]
        code = main([*args, "--out", str(tmp_path / "o")])
        assert server.stats().requests == 0  # nothing is sent for a task that cannot finish
    assert code == 1
    err = capsys.readouterr().err
    named = f"{dataset}:3: the prompt template of model mock reads {{topic}}, which this row"
    assert f"{named} does not have" in err


def test_run_of_a_performance_task_prints_the_levels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with MockModelServer(ttft_s=0.005, itl_s=0.001, output_tokens=4).running() as server:
        task = local_task(server.base_url + "/v1")
        task["spec"]["type"] = "Performance"  # type: ignore[index]
        task["spec"]["performance"] = {"parallel": [1, 2], "requestsPerLevel": 4}  # type: ignore[index]
        task_file = tmp_path / "task.yaml"
        task_file.write_text(yaml.safe_dump(task))
        assert main(["run", "-f", str(task_file), "--out", str(tmp_path / "o"), "-q"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == [
        "MODEL", "PARALLEL", "OK", "REQ/S", "OUT", "TOK/S", "TTFT", "P50", "TTFT", "P90",
        "ITL", "P50", "LATENCY", "P50", "LATENCY", "P90",
    ]  # fmt: skip
    rows = [line.split() for line in out[1:3]]
    assert [(r[0], r[1], r[2]) for r in rows] == [("mock", "1", "4/4"), ("mock", "2", "4/4")]
    assert all(float(r[5]) >= 5 for r in rows)  # TTFT p50 in ms: at least the mock's 5 ms
    assert out[3] == f"report: {(tmp_path / 'o' / 'report.html').resolve()}"


def test_an_unset_model_name_is_asked_from_the_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server pinned to one model answers 400 to any other name: the runner asks
    GET /v1/models when endpoint.model is unset (it used to send the task's model name)."""
    flavour = ServerFlavour.VLLM  # serves one model and refuses any other name
    with MockModelServer(model="Qwen/Qwen2-0.5B", flavour=flavour).running() as server:
        task = local_task(server.base_url + "/v1")
        del task["spec"]["models"][0]["endpoint"]["model"]  # type: ignore[index]
        task_file = tmp_path / "task.yaml"
        task_file.write_text(yaml.safe_dump(task))
        code = main(["run", "-f", str(task_file), "--out", str(tmp_path / "o"), "-q"])
        assert code == 0, capsys.readouterr().err
        assert server.stats().by_status["200"] == 3


def test_an_unset_model_name_and_an_unhelpful_server_name_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = local_task("http://127.0.0.1:9/v1")  # nothing listens on port 9
    del task["spec"]["models"][0]["endpoint"]["model"]  # type: ignore[index]
    task_file = tmp_path / "task.yaml"
    task_file.write_text(yaml.safe_dump(task))
    assert main(["run", "-f", str(task_file), "--out", str(tmp_path / "o"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "spec.models[0].endpoint.model is not set and http://127.0.0.1:9/v1/models" in err
    assert err.rstrip().endswith("set spec.models[0].endpoint.model")


def test_gsb_over_two_existing_result_sets_with_one_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Qianfan evalInferDatasetConfig: two result sets, one baseline, judged pairwise."""
    cand = [{"id": str(i), "input": f"q{i}", "target": "t", "output": f"cand {i} q=5"}
            for i in range(4)]  # fmt: skip
    base = [{"id": str(i), "input": f"q{i}", "target": "t", "output": f"base {i} q=2"}
            for i in range(4)]  # fmt: skip
    base[3]["output"] = "base 3 q=5"  # both q=5: the mock judge calls it a tie
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "base.jsonl").write_text("\n".join(json.dumps(r) for r in base) + "\n")
    with MockModelServer(rules=RULES).running() as judge:
        task = {
            "apiVersion": "modeleval.io/v1alpha1",
            "kind": "EvalTask",
            "metadata": {"name": "rescore"},
            "spec": {
                "existingResults": [
                    {"name": "candidate", "source": {"inline": cand}},
                    {"name": "baseline", "isBaseline": True,
                     "source": {"pvc": {"claimName": "archive", "path": "base.jsonl"}}},
                ],
                "scoring": {"modes": ["model"], "judge": {
                    "endpoint": {"url": judge.base_url + "/v1", "model": "mock-model"}}},
            },
        }  # fmt: skip
        task_file = tmp_path / "task.yaml"
        task_file.write_text(yaml.safe_dump(task))
        args = ["run", "-f", str(task_file), "--out", str(tmp_path / "o"), "-q"]
        assert main([*args, "--pvc", f"archive={archive}"]) == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out)
    gsb = summary["gsb"]
    assert (gsb["candidate"], gsb["baseline"]) == ("candidate", "baseline")
    assert (gsb["good"], gsb["same"], gsb["bad"]) == (3, 1, 0)


def with_judge(task: dict[str, Any], judge_url: str, **client: Any) -> dict[str, Any]:
    spec = task["spec"]
    spec["scoring"] = {
        "modes": ["rule", "model"],
        "judge": {
            "endpoint": {"url": judge_url, "model": "mock-model"},
            "client": {"maxRetries": 0, **client},
        },
    }
    return task


def test_run_fails_like_the_operator_when_the_judge_gives_no_verdicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The judge server echoes every prompt: the run fails with the operator's message."""
    with MockModelServer().running() as server:  # no rules: the reply is the prompt itself
        task = with_judge(local_task(server.base_url + "/v1"), server.base_url + "/v1")
        task_file = tmp_path / "task.yaml"
        task_file.write_text(yaml.safe_dump(task, allow_unicode=True))
        code = main(["run", "-f", str(task_file), "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert (
        "error: scoring failed: too many failed items: judge failed on 3 of 3 items "
        "(100.0%, allowed 10.0%), most common cause (3 items): the judge repeated the prompt"
    ) in err


def test_run_warns_when_some_judge_items_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = [("(?s)Answer\\]\\n2\\+2", "I cannot judge this."), ("(?s)Answer\\]", "Score: 4")]
    with MockModelServer(rules=rules).running() as server:
        task = with_judge(
            local_task(server.base_url + "/v1"), server.base_url + "/v1", maxErrorRatio=0.5
        )
        task_file = tmp_path / "task.yaml"
        task_file.write_text(yaml.safe_dump(task, allow_unicode=True))
        code = main(["run", "-f", str(task_file), "--out", str(tmp_path / "out"), "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["degraded"].startswith("judge failed on 1 of 3 items (33.3%, allowed 50.0%)")
    assert "warning: evaluation finished with failed items: judge failed on 1 of 3" in captured.err


def test_run_evaluates_a_benchmark_locally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`modeleval run` on a benchmark task, its mirror PVC given as a local directory."""
    from tests.support.benchmarks import HUB

    with MockModelServer().running() as server:
        task = {
            "apiVersion": "modeleval.io/v1alpha1",
            "kind": "EvalTask",
            "metadata": {"name": "arc"},
            "spec": {
                "models": [{"name": "m", "endpoint": {"url": server.url, "model": "m"}}],
                "benchmark": {
                    "name": "arc_challenge",
                    "fewShot": 2,
                    "source": {"pvc": {"claimName": "mirror", "path": HUB.name}},
                },
            },
        }
        task_file = tmp_path / "task.yaml"
        task_file.write_text(yaml.safe_dump(task))
        out = str(tmp_path / "out")
        assert main(["run", "-f", str(task_file), "--out", out, "--quiet"]) == 1
        assert "pass --pvc mirror=DIR" in capsys.readouterr().err
        pvc = f"mirror={HUB.parent}"
        code = main(["run", "-f", str(task_file), "--pvc", pvc, "--out", out, "--quiet"])
        assert code == 0, capsys.readouterr().err
        assert server.stats().requests == 9
    summary = json.loads(capsys.readouterr().out)
    assert summary["benchmark"]["metric"] == "acc_norm"
    assert summary["perModel"]["m"]["counts"] == {"items": 9, "scored": 9, "excluded": 0}
    assert summary["totalScore"] == summary["perModel"]["m"]["metrics"]["acc_norm"]
