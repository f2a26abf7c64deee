"""C-Eval and CMMLU in generation mode against EvalScope's own rendering and scoring.

``tests/reference/evalscope_golden.py`` ran EvalScope 1.14.1's ``ceval`` and ``cmmlu``
adapters on the fixture mirror with scripted completions (``答案：`` in the forms its parser
accepts and rejects); our rendering, extraction and averaging (subset scores rounded to 4
places, categories and the overall score from those) must agree exactly.
"""

from __future__ import annotations

from typing import Any

import pytest

from modeleval.benchmarks import DirectoryStore, load_requests, resolve
from modeleval.benchmarks.aggregate import aggregate
from modeleval.benchmarks.metrics import generation_scores
from modeleval.benchmarks.requests import Request, RunSpec
from tests.support.benchmarks import HUB, golden, golden_names

NAMES = golden_names("evalscope")


def test_there_is_a_golden_file_per_variant() -> None:
    assert NAMES == ["ceval-generate", "cmmlu-generate"]


def spec_of(name: str, data: dict[str, Any], shots: int) -> RunSpec:
    subsets = list(dict.fromkeys(item["subset"] for item in data["items"]))
    return resolve(name.split("-")[0], mode="generate", subsets=subsets, shots=shots)


def requests_of(spec: RunSpec) -> dict[tuple[str, int], Request]:
    store = DirectoryStore(HUB, spec.benchmark.data.repo)
    return {(r.meta["subset"], int(r.id.rpartition("/")[2])): r for r in load_requests(spec, store)}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("key", ["prompt0", "prompt"])
def test_prompts_are_byte_equal(name: str, key: str) -> None:
    data = golden("evalscope", name)
    ours = requests_of(spec_of(name, data, 0 if key == "prompt0" else data["shots"]))
    assert len(ours) == len(data["items"])
    for item in data["items"]:
        request = ours[(item["subset"], item["index"])]
        assert list(request.messages) == item[key], (name, item["subset"], item["index"])
        assert request.text == item[key][0]["content"]
        assert request.target == item["target"]


def verdicts(name: str, data: dict[str, Any]) -> list[tuple[str, dict[str, float]]]:
    spec = spec_of(name, data, data["shots"])
    ours = requests_of(spec)
    out = []
    for item in data["items"]:
        meta = ours[(item["subset"], item["index"])].meta
        scores, extracted = generation_scores(
            item["output"], meta["reference"], spec.variant.generation_metrics, meta["options"]
        )
        assert extracted == {"acc": item["extracted"]}, item["output"]
        assert scores == item["metrics"], item["output"]
        out.append((item["subset"], scores))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_per_item_verdicts_are_equal(name: str) -> None:
    verdicts(name, golden("evalscope", name))


@pytest.mark.parametrize("name", NAMES)
def test_report_scores_are_equal_with_evalscope_rounding(name: str) -> None:
    data = golden("evalscope", name)
    spec = spec_of(name, data, data["shots"])
    result = aggregate(spec.benchmark, spec.variant, verdicts(name, data))
    assert {s.name: (s.category, s.items, s.scores) for s in result.subsets} == {
        name: (v["category"], v["n"], v["scores"]) for name, v in data["subsets"].items()
    }
    assert {c.name: (c.items, c.scores, c.macro) for c in result.categories} == {
        name: (v["n"], v["scores"], v["macro"]) for name, v in data["categories"].items()
    }
    assert result.micro == data["micro"]
    assert result.macro == data["macro"]
