"""Kept judge verdicts: a second scoring asks nothing, a changed answer is asked again, and a
judge phase of three shards gives the scores of one unsharded scoring with every call once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modeleval.runner.judge_phase import run_judge_phase
from modeleval.runner.score import run_score_phase
from modeleval.runner.shards import Shard
from modeleval.scoring import ScoringConfig
from modeleval.scoring.engine import score_prediction_files
from modeleval.scoring.judgments import judgment_files
from tests.support.judges import FAST_JUDGE, ScriptedJudge, gsb_predictions


def config() -> ScoringConfig:
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


def write_predictions(results: Path, rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    folder = results / "predictions"
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for model, items in rows.items():
        path = folder / f"{model}.jsonl"
        lines = [json.dumps({**row, "index": n}, ensure_ascii=False) for n, row in enumerate(items)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files[model] = [path]
    return files


def outputs(out: Path) -> tuple[str, str]:
    return (out / "scores.jsonl").read_text(), (out / "summary.json").read_text()


async def test_kept_verdicts_are_not_asked_again(tmp_path: Path) -> None:
    files = write_predictions(tmp_path, gsb_predictions())
    keep = tmp_path / "judgments" / "score.jsonl"
    first = ScriptedJudge(fail={"FAIL9": 99})
    await score_prediction_files(config(), files, tmp_path / "a", first, keep_judgments=keep)
    assert first.prompts
    second = ScriptedJudge()  # would not fail item 9: a kept failure must stay a failure
    await score_prediction_files(
        config(), files, tmp_path / "b", second, judgments=judgment_files(tmp_path)
    )
    assert second.prompts == []
    assert outputs(tmp_path / "a") == outputs(tmp_path / "b")
    changed = gsb_predictions()
    changed["cand"][0]["output"] = "cand 1 q=4"  # item 1's candidate answer changed
    files = write_predictions(tmp_path / "c", changed)
    third = ScriptedJudge(fail={"FAIL9": 99})
    await score_prediction_files(
        config(), files, tmp_path / "c", third, judgments=judgment_files(tmp_path)
    )
    assert len(third.prompts) == 1 + 2  # its judge score and its pair, both ways


def task(results: Path) -> dict[str, Any]:
    endpoint = {"url": "http://judge.invalid/v1", "model": "m"}
    scoring = {
        "modes": ["rule", "model"],
        "rule": {"scoreModes": ["accuracy"]},
        "judge": {
            "endpoint": endpoint,
            "promptParam": {"metric": "q", "steps": "s", "maxScore": 5},
        },
        "pairwise": {"enabled": True},
    }
    return {
        "metadata": {"name": "t", "namespace": "ns"},
        "spec": {
            "models": [
                {"name": "cand", "endpoint": endpoint},
                {"name": "base", "endpoint": endpoint, "isBaseline": True},
            ],
            "scoring": scoring,
        },
    }


async def test_three_judge_shards_then_scoring_equal_one_scoring(tmp_path: Path) -> None:
    rows = gsb_predictions()
    one, three = tmp_path / "one", tmp_path / "three"
    write_predictions(one, rows)
    write_predictions(three, rows)
    direct = ScriptedJudge()
    await run_score_phase(task(one), one, env={}, judge_client=direct)
    shards = [ScriptedJudge() for _ in range(3)]
    for k, judge in enumerate(shards):
        await run_judge_phase(task(three), three, env={}, shard=Shard(k, 3), judge_client=judge)
    merge = ScriptedJudge()
    await run_score_phase(task(three), three, env={}, judge_client=merge)
    assert merge.prompts == []  # every verdict came from the shards
    assert sorted(p for j in shards for p in j.prompts) == sorted(direct.prompts)
    assert all(j.prompts for j in shards)
    assert outputs(one) == outputs(three)
    names = sorted(p.name for p in judgment_files(three))
    assert names == ["00000-of-00003.jsonl", "00001-of-00003.jsonl", "00002-of-00003.jsonl"]
    again = ScriptedJudge()  # a retried shard asks nothing it already asked
    await run_judge_phase(task(three), three, env={}, shard=Shard(1, 3), judge_client=again)
    assert again.prompts == []
