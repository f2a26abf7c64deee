"""score_results end to end: rule + judge + GSB + manual, outputs and totalScore."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modeleval.scoring import ScoringConfig, ScoringConfigError, load_predictions_dir, score_results
from modeleval.scoring.aggregate import DEFINITION
from modeleval.scoring.verdicts import CAUSE_NO_SCORE, CAUSE_NO_VERDICT
from tests.support.judges import FAST_JUDGE, ScriptedJudge, gsb_predictions, pred


def config(max_error_ratio: float = 0.5, **extra: Any) -> ScoringConfig:
    """Judge + GSB; a generous error budget unless a test is about the budget."""
    return ScoringConfig.model_validate(
        {
            "evalMode": "rule,model",
            "baseline": "base",
            "autoModelEvalConfig": {
                "promptParam": {"metric": "质量", "steps": "比较", "maxScore": 5},
                "client": {"maxErrorRatio": max_error_ratio},
                **FAST_JUDGE,
            },
            **extra,
        }
    )


async def test_gsb_counts_swap_and_isolated_failures(tmp_path: Path) -> None:
    judge = ScriptedJudge(fail={"FAIL9": 10_000}, position_bias="BIAS")
    summary = await score_results(config(), gsb_predictions(), tmp_path, judge_client=judge)

    assert summary.gsb == {
        "candidate": "cand",
        "baseline": "base",
        "good": 4,
        "same": 2,
        "bad": 2,
        "failed": 1,
        "flipped": 1,  # item 8: the biased judge chose position A in both orders
        "net": 0.25,
    }
    # Every judged pair was seen in both orders.
    orders = judge.pair_orders()
    for i in (1, 2, 3, 4, 5, 6, 7, 8):
        cand = next(a for a, _ in orders if a.startswith(f"cand {i} "))
        base = next(b for _, b in orders if b.startswith(f"base {i} "))
        assert (cand, base) in orders and (base, cand) in orders
    assert not any(a.startswith("cand 10") or b.startswith("cand 10") for a, b in orders)

    # The failing item is marked, excluded from the judge mean, and nothing else is affected.
    lines = [json.loads(x) for x in (tmp_path / "scores.jsonl").read_text("utf-8").splitlines()]
    by_id = {x["id"]: x for x in lines}
    assert by_id["9"]["models"]["cand"]["judge"]["score"] is None
    assert "injected failure" in by_id["9"]["models"]["cand"]["judge"]["error"]
    assert by_id["9"]["gsb"]["result"] is None and by_id["9"]["gsb"]["error"]
    assert by_id["9"]["models"]["base"]["judge"]["score"] == 1.0
    assert by_id["1"]["gsb"]["verdicts"] == {"candidateFirst": "A", "baselineFirst": "B"}
    assert by_id["1"]["gsb"]["result"] == "good"
    assert by_id["8"]["gsb"]["result"] == "same" and by_id["8"]["gsb"]["flipped"] is True
    assert by_id["9"]["gsb"]["cause"] == "judge call failed: ConnectionError"
    assert by_id["9"]["models"]["cand"]["judge"]["cause"] == "judge call failed: ConnectionError"
    assert by_id["10"]["models"]["base"]["error"] == "inference failed: HTTP 500"
    assert by_id["10"]["gsb"]["result"] is None

    cand = summary.per_model["cand"]
    # cand judge scores: items 1-4 → 5, 5-6 → 1, 7 → 3, 8 → 5, 10 → 5 (9 failed): mean 35/9.
    assert cand["metrics"]["judge"] == pytest.approx(35 / 9 / 5 * 100, abs=1e-3)
    assert cand["counts"]["judgeFailed"] == 1 and cand["counts"]["scored"]["judge"] == 9
    base = summary.per_model["base"]
    assert base["counts"]["inferenceFailed"] == 1 and base["counts"]["scored"]["judge"] == 9
    assert summary.counts == {"items": 10, "models": 2, "judgeFailed": 1, "inferenceFailed": 1}
    # Per judged metric: items judged (answers the models gave), failed, most common cause.
    cause = "judge call failed: ConnectionError"
    assert summary.failures == [
        {"metric": "judge", "total": 19, "failed": 1, "maxErrorRatio": 0.5,
         "overBudget": False, "cause": cause, "causeItems": 1},
        {"metric": "gsb", "total": 9, "failed": 1, "maxErrorRatio": 0.5,
         "overBudget": False, "cause": cause, "causeItems": 1},
    ]  # fmt: skip
    assert summary.total_score is not None


async def test_gsb_only_counts_in_total_when_weighted(tmp_path: Path) -> None:
    preds = gsb_predictions()
    judge = ScriptedJudge(fail={"FAIL9": 10_000}, position_bias="BIAS")
    plain = await score_results(config(evalMode="model"), preds, tmp_path / "a", judge)
    assert "gsb" not in plain.metrics
    judge = ScriptedJudge(fail={"FAIL9": 10_000}, position_bias="BIAS")
    weighted = await score_results(
        config(evalMode="model", weights={"gsb": 1}), preds, tmp_path / "b", judge
    )
    assert weighted.metrics["gsb"] == pytest.approx((0.25 + 1) / 2 * 100)
    expected = (plain.metrics["judge"] + weighted.metrics["gsb"]) / 2
    assert weighted.total_score == pytest.approx(expected, abs=1e-3)


async def test_rule_only_total_score_definition(tmp_path: Path) -> None:
    preds = {
        "m": [
            pred(1, "北京", target="北京"),
            pred(2, "上海", target="北京"),
            pred(3, None, error="timeout", target="北京"),
        ]
    }
    cfg = ScoringConfig.model_validate(
        {
            "evalMode": "rule",
            "autoRuleEvalConfig": {"similarityMetrics": ["rougeL", "editDistance"]},
        }
    )
    summary = await score_results(cfg, preds, tmp_path)
    # Item 3 failed inference: excluded. accuracy (1+0)/2, rougeL (1+0)/2, edit (1+0)/2.
    assert summary.metrics == {"accuracy": 50.0, "rougeL": 50.0, "editDistance": 50.0}
    # accuracy weight 1, the two similarity metrics 0.5 each.
    assert summary.weights == {"accuracy": 1.0, "rougeL": 0.5, "editDistance": 0.5}
    assert summary.total_score == 50.0
    assert summary.per_model["m"]["counts"]["inferenceFailed"] == 1
    assert summary.manual is None and not summary.manual_pending
    data = json.loads((tmp_path / "summary.json").read_text("utf-8"))
    assert data["totalScore"] == 50.0 and data["definition"] == DEFINITION
    assert data["gsb"] is None and data["evalMode"] == ["rule"]


async def test_custom_weights(tmp_path: Path) -> None:
    preds = {"m": [pred(1, "北京", target="北京"), pred(2, "上海", target="北京")]}
    cfg = ScoringConfig.model_validate(
        {
            "evalMode": "rule,model",
            "autoRuleEvalConfig": {"scoreModes": ["accuracy"]},
            "autoModelEvalConfig": FAST_JUDGE,
            "weights": {"accuracy": 3, "judge": 1},
        }
    )
    judge = ScriptedJudge()  # answers carry no q=N: judge scores 0
    summary = await score_results(cfg, preds, tmp_path, judge)
    assert summary.metrics == {"accuracy": 50.0, "judge": 0.0}
    assert summary.total_score == pytest.approx((3 * 50 + 0) / 4)


async def test_manual_dimensions_recorded(tmp_path: Path) -> None:
    cfg = ScoringConfig.model_validate(
        {
            "evalMode": "rule,manual",
            "manualEvalConfig": {
                "evalDimension": [
                    {"dimension": "流畅度", "description": "是否通顺"},
                    {"dimension": "satisfaction", "description": "满意"},
                ]
            },
        }
    )
    summary = await score_results(cfg, {"m": [pred(1, "x")]}, tmp_path)
    assert summary.manual_pending
    assert summary.manual == {
        "dimensions": [
            {"dimension": "satisfaction", "description": "满意"},
            {"dimension": "流畅度", "description": "是否通顺"},
        ],
        "pending": True,
    }


async def test_judge_mode_without_client_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ScoringConfigError, match="no judge client"):
        await score_results(config(baseline=None), {"m": [pred(1, "x")]}, tmp_path)


async def test_gsb_needs_two_models_and_a_known_baseline(tmp_path: Path) -> None:
    judge = ScriptedJudge()
    with pytest.raises(ScoringConfigError, match="exactly two"):
        await score_results(config(), {"base": [pred(1, "x")]}, tmp_path, judge)
    with pytest.raises(ScoringConfigError, match="not one of the models"):
        await score_results(config(baseline="zzz"), gsb_predictions(), tmp_path, judge)


async def test_progress_and_predictions_dir(tmp_path: Path) -> None:
    pdir = tmp_path / "predictions"
    pdir.mkdir()
    rows = gsb_predictions()
    for model, items in rows.items():
        lines = [json.dumps(r, ensure_ascii=False) for r in items]
        (pdir / f"{model}.jsonl").write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    loaded = load_predictions_dir(pdir)
    assert sorted(loaded) == ["base", "cand"] and len(loaded["cand"]) == 10
    seen: list[tuple[int, int]] = []
    judge = ScriptedJudge()
    await score_results(
        config(),
        loaded,
        tmp_path / "out",
        judge,
        progress=lambda done, total: seen.append((done, total)),
    )
    # 10 + 9 single-answer judgements and 9 pairs.
    assert seen[-1] == (28, 28) and len(seen) == 28
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "scores.jsonl",
        "summary.json",
        "report.html",
    }


def test_config_reads_qianfan_fields() -> None:
    cfg = ScoringConfig.model_validate(
        {
            "evalMode": "rule,model",
            "autoRuleEvalConfig": {
                "scoreModes": ["similarity"],
                "stopWordList": ["的"],
                "stopWordsPath": "/etc/stop.txt",
            },
            "autoModelEvalConfig": {
                "apiName": "judge-7b",
                "promptParam": {"metric": "m", "steps": "s", "maxScore": 10},
            },
            "unknownField": 1,
        }
    )
    assert cfg.eval_mode == ["rule", "model"]
    assert cfg.rule.score_modes == ["similarity"] and cfg.rule.stop_words_path == "/etc/stop.txt"
    assert (cfg.judge.api_name, cfg.judge.metric, cfg.judge.steps, cfg.judge.max_score) == (
        "judge-7b",
        "m",
        "s",
        10,
    )
    assert (
        ScoringConfig.model_validate({"evalMode": ["manual"]}).manual.eval_dimension[0].dimension
        == "satisfaction"
    )
    with pytest.raises(ValueError, match="at most 4"):
        ScoringConfig.model_validate(
            {"manualEvalConfig": {"evalDimension": [{"dimension": f"d{i}"} for i in range(5)]}}
        )


async def test_no_items_and_all_failed(tmp_path: Path) -> None:
    empty = await score_results(ScoringConfig(), {"m": []}, tmp_path / "empty")
    assert empty.total_score is None and empty.metrics == {} and empty.counts["items"] == 0
    failed = await score_results(
        ScoringConfig(), {"m": [pred(1, None, error="HTTP 503")]}, tmp_path / "failed"
    )
    assert failed.total_score is None
    assert failed.per_model["m"]["counts"]["inferenceFailed"] == 1
    html = (tmp_path / "failed" / "report.html").read_text("utf-8")
    assert "inference failed: HTTP 503" in html


async def test_gsb_without_judge_mode_and_single_order(tmp_path: Path) -> None:
    judge = ScriptedJudge()
    cfg = config(evalMode="rule", pairwise={"enabled": True, "swapPositions": False})
    summary = await score_results(cfg, gsb_predictions(), tmp_path, judge)
    assert "judge" not in summary.metrics  # only GSB asked the judge
    orders = judge.pair_orders()
    assert all(a.startswith("cand") for a, _ in orders) and len(orders) == 9
    assert summary.gsb is not None
    # One order per item: 1-4, 8, 9 Good; 5, 6 Bad; 7 (equal) Same; 10 has no baseline answer.
    assert (summary.gsb["good"], summary.gsb["same"], summary.gsb["bad"]) == (6, 1, 2)


def judged_items(count: int, garbage: set[int]) -> dict[str, list[dict[str, Any]]]:
    """``count`` items answered with quality 4; the judge talks garbage about those listed."""
    return {
        "m": [
            pred(i, f"answer {i} q=4" + (" GARBAGE" if i in garbage else ""), target="x")
            for i in range(count)
        ]
    }


def judge_config(**judge: Any) -> ScoringConfig:
    return ScoringConfig.model_validate(
        {
            "evalMode": "rule,model",
            "autoRuleEvalConfig": {"scoreModes": ["accuracy"]},
            "autoModelEvalConfig": {**FAST_JUDGE, **judge},
        }
    )


async def test_a_judge_that_never_gives_a_verdict_leaves_no_total_score(tmp_path: Path) -> None:
    """The issue's case: every judge reply is text without a verdict. The judge metric is over
    the default budget (10%), so there is no totalScore made of the rule metrics alone."""
    judge = ScriptedJudge(garbage="GARBAGE")
    summary = await score_results(judge_config(), judged_items(16, set(range(16))), tmp_path, judge)
    assert summary.failures == [
        {"metric": "judge", "total": 16, "failed": 16, "maxErrorRatio": 0.1,
         "overBudget": True, "cause": CAUSE_NO_SCORE, "causeItems": 16},
    ]  # fmt: skip
    assert summary.over_budget == summary.failures
    assert summary.total_score is None
    assert summary.per_model["m"]["totalScore"] is None
    assert summary.metrics == {"accuracy": 0.0}  # what could be computed is still reported
    written = json.loads((tmp_path / "summary.json").read_text("utf-8"))
    assert written["failures"] == summary.failures and written["totalScore"] is None
    patch = summary.status_patch()
    assert patch["totalScore"] is None and patch["scores"]["failures"] == summary.failures


@pytest.mark.parametrize(
    ("max_error_ratio", "over_budget"),
    [(0.05, True), (0.1, False), (0.15, False)],  # exactly at the ratio is allowed
)
async def test_two_of_twenty_failed_against_the_budget(
    tmp_path: Path, max_error_ratio: float, over_budget: bool
) -> None:
    judge = ScriptedJudge(garbage="GARBAGE")
    cfg = judge_config(client={"maxErrorRatio": max_error_ratio})
    summary = await score_results(cfg, judged_items(20, {3, 11}), tmp_path, judge)
    (failures,) = summary.failures
    assert (failures["failed"], failures["total"], failures["overBudget"]) == (2, 20, over_budget)
    assert (summary.total_score is None) == over_budget
    if not over_budget:  # the failed items are left out of the judge mean only
        assert summary.metrics["judge"] == pytest.approx(80.0)
        assert summary.per_model["m"]["counts"]["scored"]["judge"] == 18


def test_max_error_ratio_is_read_from_the_judge_client_settings() -> None:
    spec = {"scoring": {"modes": ["model"], "judge": {"client": {"maxErrorRatio": 0.25}}}}
    assert ScoringConfig.from_task_spec(spec).judge.max_error_ratio == 0.25
    assert ScoringConfig.from_task_spec({"scoring": {}}).judge.max_error_ratio == 0.1


async def test_gsb_counts_with_a_consistent_a_biased_a_tying_and_a_garbage_judge(
    tmp_path: Path,
) -> None:
    """Exact G/S/B/failed/flipped for each kind of judge behaviour, one item each kind+."""
    cand = [pred(i, f"cand {i} q=5") for i in range(3)]  # consistently better: Good
    base = [pred(i, f"base {i} q=1") for i in range(3)]
    cand += [pred(3, "cand 3 q=1")]  # consistently worse: Bad
    base += [pred(3, "base 3 q=5")]
    cand += [pred(i, f"cand {i} BIAS q=5") for i in (4, 5)]  # always [[A]]: Same, flipped
    base += [pred(i, f"base {i} q=1") for i in (4, 5)]
    cand += [pred(6, "cand 6 q=3")]  # [[C]] in both orders: Same, not flipped
    base += [pred(6, "base 6 q=3")]
    cand += [pred(7, "cand 7 GARBAGE q=5")]  # "the same, equally good", no label: failed
    base += [pred(7, "base 7 q=1")]
    judge = ScriptedJudge(position_bias="BIAS", garbage="GARBAGE")
    cfg = config(evalMode="model", max_error_ratio=0.2)
    summary = await score_results(cfg, {"cand": cand, "base": base}, tmp_path, judge)
    assert summary.gsb is not None
    gsb = {k: summary.gsb[k] for k in ("good", "same", "bad", "failed", "flipped")}
    assert gsb == {"good": 3, "same": 3, "bad": 1, "failed": 1, "flipped": 2}
    assert summary.gsb["net"] == pytest.approx((3 - 1) / 7)
    assert summary.failures[-1]["metric"] == "gsb"
    assert summary.failures[-1]["cause"] == CAUSE_NO_VERDICT
    status = summary.status_patch()["gsb"]
    assert (status["same"], status["flipped"], status["failed"]) == (3, 2, 1)


async def test_rule_only_writes_empty_failures(tmp_path: Path) -> None:
    summary = await score_results(ScoringConfig(), {"m": [pred(1, "x")]}, tmp_path)
    assert summary.failures == [] and summary.status_patch()["scores"]["failures"] == []


async def test_the_judge_client_settings_decide_concurrency_retries_and_budget(
    tmp_path: Path,
) -> None:
    """spec.scoring.judge.client: parallel judge calls in flight at once, maxRetries more
    attempts of a failed call, maxErrorRatio the share of failed items the metric may have."""
    spec = {
        "scoring": {
            "modes": ["model"],
            "judge": {
                "client": {"parallel": 3, "maxRetries": 1, "maxErrorRatio": 0.5},
                "retryBackoffSeconds": 0,
            },
        }
    }
    config = ScoringConfig.from_task_spec(spec)
    judge = ScriptedJudge(delay=0.01, fail={"answer 1 ": 1, "answer 2 ": 5})
    preds = {"m": [pred(i, f"answer {i} q=4", target="x") for i in range(12)]}
    summary = await score_results(config, preds, tmp_path, judge)
    assert judge.max_in_flight == 3  # parallel
    assert len(judge.prompts) == 12 + 1 + 1  # item 1 retried once and scored; item 2 gave up
    [failures] = summary.failures
    assert (failures["failed"], failures["total"]) == (1, 12)
    assert (failures["maxErrorRatio"], failures["overBudget"]) == (0.5, False)
    assert summary.metrics["judge"] == pytest.approx(80.0)


async def test_the_status_patch_carries_scores_counts_and_gsb(tmp_path: Path) -> None:
    """status.scores (metrics, perModel[] model/totalScore/metrics, scored, excluded,
    definition, failures) and status.gsb (candidate, baseline, good, same, bad, failed,
    flipped, netScore) as the score phase patches them."""
    judge = ScriptedJudge(fail={"FAIL9": 10_000}, position_bias="BIAS")
    summary = await score_results(config(), gsb_predictions(), tmp_path, judge_client=judge)
    patch = summary.status_patch()
    scores = patch["scores"]
    assert patch["totalScore"] == summary.total_score is not None
    assert scores["metrics"] == summary.metrics and set(scores["metrics"]) >= {"judge"}
    assert [(m["model"], m["totalScore"]) for m in scores["perModel"]] == [
        ("cand", summary.per_model["cand"]["totalScore"]),
        ("base", summary.per_model["base"]["totalScore"]),
    ]
    assert scores["perModel"][0]["metrics"] == summary.per_model["cand"]["metrics"]
    answered = sum(m["counts"]["answered"] for m in summary.per_model.values())
    assert (scores["scored"], scores["excluded"]) == (answered, 2)  # 1 judge + 1 inference
    assert scores["definition"] == summary.definition and "judge" in scores["definition"]
    assert scores["failures"] == summary.failures
    assert patch["gsb"] == {
        "candidate": "cand",
        "baseline": "base",
        "good": 4,
        "same": 2,
        "bad": 2,
        "failed": 1,
        "flipped": 1,
        "netScore": 0.25,
    }


async def test_an_existing_result_sets_model_id_is_shown_beside_its_name(tmp_path: Path) -> None:
    """spec.existingResults[].modelId (Qianfan's model id of a result set) is written beside
    the set's name: summary.json perModel.<name>.modelId, status.scores.perModel[].modelId and
    the report's metrics table; a set without one gets none."""
    from modeleval.api.evaltask_status import EvalTaskStatus

    spec = {
        "existingResults": [
            {"name": "run-a", "modelId": "amv-6j6is3sp166h", "source": {"inline": []}},
            {"name": "run-b", "source": {"inline": []}},
        ],
        "scoring": {"modes": ["rule"]},
    }
    cfg = ScoringConfig.from_task_spec(spec)
    assert cfg.model_ids == {"run-a": "amv-6j6is3sp166h"}
    preds = {name: [pred(1, "北京", target="北京")] for name in ("run-a", "run-b")}
    summary = await score_results(cfg, preds, tmp_path)

    data = json.loads((tmp_path / "summary.json").read_text("utf-8"))
    assert data["perModel"]["run-a"]["modelId"] == "amv-6j6is3sp166h"
    assert "modelId" not in data["perModel"]["run-b"]
    per_model = summary.status_patch()["scores"]["perModel"]
    assert [m.get("modelId") for m in per_model] == ["amv-6j6is3sp166h", None]
    status = EvalTaskStatus.model_validate(summary.status_patch())  # the CRD declares it
    assert status.scores is not None and status.scores.per_model is not None
    assert status.scores.per_model[0].model_id == "amv-6j6is3sp166h"
    report = (tmp_path / "report.html").read_text("utf-8")
    assert 'run-a <span class="model-id">(model amv-6j6is3sp166h)</span>' in report
    assert report.count("model-id") == 1

    from modeleval.runner.manual import summary_from_dict
    from modeleval.scoring.manual import apply_manual

    annotated = apply_manual(
        data,
        dimensions=[{"dimension": "满意度", "description": ""}],
        means={"run-a": {"满意度": 80.0}},
        counts={"run-a": {"满意度": 1}},
        weights={},
        annotated_items=1,
        items=1,
    )  # the manual phase keeps it
    [after, _] = summary_from_dict(annotated).status_patch()["scores"]["perModel"]
    assert after["modelId"] == "amv-6j6is3sp166h"
