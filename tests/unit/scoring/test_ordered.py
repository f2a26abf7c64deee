"""Streaming scoring: predictions files (one or one per shard) in dataset order, spilled to
disk beyond a memory budget, exact means, and the same outputs as scoring in memory."""

from __future__ import annotations

import json
import random
import statistics
from pathlib import Path
from typing import Any

import pytest

import modeleval.scoring.ordered as ordered_module
from modeleval.scoring import ScoringConfig, ScoringConfigError, score_results
from modeleval.scoring.accumulate import ExactMean
from modeleval.scoring.engine import score_prediction_files
from modeleval.scoring.ordered import order_predictions
from modeleval.scoring.records import read_prediction_files
from tests.support.judges import FAST_JUDGE, ScriptedJudge


def line(index: int, model: str, *, error: str | None = None, quality: int = 0) -> dict[str, Any]:
    return {
        "id": f"id-{index}",
        "index": index,
        "input": f"question {index}",
        "target": f"answer {index}",
        "output": None if error else f"answer {index} q={quality or index % 5 + 1}",
        "error": error,
    }


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def judged_config() -> ScoringConfig:
    return ScoringConfig.model_validate(
        {
            "evalMode": "rule,model",
            "baseline": "base",
            "autoModelEvalConfig": {
                "promptParam": {"metric": "q", "steps": "s", "maxScore": 5},
                "client": {"maxErrorRatio": 0.5},
                **FAST_JUDGE,
            },
        }
    )


def outputs(out: Path) -> tuple[str, str, str]:
    return tuple(  # type: ignore[return-value]
        (out / name).read_text() for name in ("scores.jsonl", "summary.json", "report.html")
    )


def test_exact_mean_is_fmean() -> None:
    rng = random.Random(7)
    values = [rng.choice([1e16, 1.0, -1e16, 0.1, 33.3333333, 99.999]) for _ in range(5000)]
    mean = ExactMean()
    for value in values:
        mean.add(value)
    assert mean.mean() == statistics.fmean(values)
    assert ExactMean().mean() is None


async def test_shard_files_score_as_one_file_in_dataset_order(tmp_path: Path) -> None:
    n = 60
    rows = {m: [line(i, m, error="HTTP 500" if i % 17 == 3 else None) for i in range(n)]
            for m in ("cand", "base")}  # fmt: skip
    single = {m: [write(tmp_path / "one" / f"{m}.jsonl", list(reversed(rows[m])))] for m in rows}
    sharded = {
        m: [
            write(tmp_path / "four" / f"{m}.shards/{k:05d}-of-00004.jsonl", rows[m][k::4])
            for k in range(4)
        ]
        for m in rows
    }
    judge = ScriptedJudge()
    await score_prediction_files(judged_config(), single, tmp_path / "out1", ScriptedJudge())
    await score_prediction_files(judged_config(), sharded, tmp_path / "out4", judge)
    assert outputs(tmp_path / "out1") == outputs(tmp_path / "out4")
    ids = [json.loads(x)["id"] for x in (tmp_path / "out4/scores.jsonl").read_text().splitlines()]
    assert ids == [f"id-{i}" for i in range(n)]
    # The same as scoring those predictions in memory, in dataset order.
    in_memory = {m: rows[m] for m in ("cand", "base")}
    await score_results(judged_config(), in_memory, tmp_path / "mem", ScriptedJudge())
    assert outputs(tmp_path / "mem") == outputs(tmp_path / "out4")


async def test_spilled_to_disk_gives_the_same_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ordered_module, "BUCKET", 8)
    monkeypatch.setattr(ordered_module, "OPEN_FILES", 3)
    rows = [line(i, "m") for i in range(100)]
    rng = random.Random(1)
    rng.shuffle(rows)
    files = {"m": [write(tmp_path / "m.jsonl", rows)]}
    config = ScoringConfig()
    await score_prediction_files(config, files, tmp_path / "memory")
    spill = tmp_path / "spill"
    spill.mkdir()
    monkeypatch.setattr(ordered_module, "MEMORY_BYTES", 500)
    await score_prediction_files(config, files, tmp_path / "disk", spill_dir=spill)
    assert outputs(tmp_path / "memory") == outputs(tmp_path / "disk")
    assert list(spill.iterdir()) == []  # the spill folder is removed


def test_an_answer_beats_a_failure_and_the_later_line_wins(tmp_path: Path) -> None:
    retried = [line(0, "m", error="timeout"), line(0, "m"), line(0, "m", error="late failure")]
    second = {**line(1, "m"), "output": "first"}
    later = {**line(1, "m"), "output": "second"}
    failed_twice = [line(2, "m", error="one"), line(2, "m", error="two")]
    path = write(tmp_path / "m.jsonl", [*retried, second, later, *failed_twice])
    with order_predictions({"m": [path]}) as ordered:
        assert (ordered.records, ordered.answered) == (3, {"m": 2})
        (batch,) = list(ordered.batches())
    results = [r.models["m"] for r in batch]
    assert [r.answer for r in results] == ["answer 0 q=1", "second", None]
    assert results[2].error == "inference failed: two"
    listed = read_prediction_files([path])
    assert [(p.id, p.output, p.error) for p in listed] == [
        ("id-0", "answer 0 q=1", None),
        ("id-1", "second", None),
        ("id-2", None, "two"),
    ]


def test_lines_without_an_index_keep_their_first_appearance(tmp_path: Path) -> None:
    a = write(tmp_path / "a.jsonl", [{"id": "z", "output": "1"}, {"id": "y", "output": "2"}])
    b = write(tmp_path / "b.jsonl", [{"id": "x", "output": "3"}, {"id": "z", "output": "4"}])
    with order_predictions({"a": [a], "b": [b]}, pair=("a", "b")) as ordered:
        records = [r for batch in ordered.batches() for r in batch]
        assert ordered.both_answered == {("a", "b"): 1}
    assert [r.id for r in records] == ["z", "y", "x"]
    assert records[2].models["a"].error == "no prediction"


def test_a_damaged_line_names_its_file(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"id": "a", "index": 0, "output": "x"}\n{"id": \n')
    with pytest.raises(ValueError, match=r"m.jsonl:2: damaged predictions line"):
        order_predictions({"m": [path]})


async def test_missing_judge_is_refused_before_reading(tmp_path: Path) -> None:
    with pytest.raises(ScoringConfigError, match="no judge client"):
        await score_prediction_files(judged_config(), {"cand": [], "base": []}, tmp_path)


async def test_judge_progress_counts_every_call_of_every_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ordered_module, "BUCKET", 4)
    rows = {m: [line(i, m, error="x" if (m, i) == ("base", 2) else None) for i in range(10)]
            for m in ("cand", "base")}  # fmt: skip
    files = {m: [write(tmp_path / f"{m}.jsonl", rows[m])] for m in rows}
    seen: list[tuple[int, int]] = []
    await score_prediction_files(
        judged_config(), files, tmp_path / "out", ScriptedJudge(),
        progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    # 10 + 9 answers judged and 9 pairs compared.
    assert seen[-1] == (28, 28) and len(seen) == 28
