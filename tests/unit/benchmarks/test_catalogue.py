"""The catalogue's data: every variant is complete, subjects are the harnesses' lists."""

from __future__ import annotations

import random

import pytest

from modeleval.benchmarks import BENCHMARKS, resolve
from modeleval.benchmarks.definitions import FewShot
from modeleval.benchmarks.fewshot import FewShotError, choose_shots
from modeleval.benchmarks.records import Doc


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_every_variant_has_its_headline_metric_and_a_reference(name: str) -> None:
    benchmark = BENCHMARKS[name]
    assert benchmark.default_mode in benchmark.variants
    for mode, variant in benchmark.variants.items():
        assert variant.mode == mode
        assert variant.headline in variant.metric_names
        assert variant.reference.startswith(("lm-eval 0.4.13", "EvalScope 1.14.1"))
    assert {s.category for s in benchmark.subsets} <= set(benchmark.categories) or not (
        benchmark.categories
    )


def test_subject_lists_are_the_harnesses() -> None:
    sizes = {name: len(b.subsets) for name, b in BENCHMARKS.items()}
    assert (sizes["mmlu"], sizes["cmmlu"], sizes["ceval"]) == (57, 67, 52)
    mmlu = {s.category for s in BENCHMARKS["mmlu"].subsets}
    assert mmlu == {"stem", "humanities", "social_sciences", "other"}
    counts = {
        c: sum(s.category == c for s in BENCHMARKS["ceval"].subsets)
        for c in ("STEM", "Social Science", "Humanities", "Other")
    }
    assert counts == {"STEM": 20, "Social Science": 10, "Humanities": 11, "Other": 11}


def test_resolve_fills_in_defaults_and_names_bad_values() -> None:
    spec = resolve("ceval", mode="generate")
    assert (spec.shots, len(spec.subsets)) == (5, 52)
    assert resolve("gsm8k_cot").shots == 8
    with pytest.raises(ValueError, match="has no subset 'astrology'"):
        resolve("mmlu", subsets=["astrology"])
    with pytest.raises(ValueError, match="no generate mode"):
        resolve("hellaswag", mode="generate")
    with pytest.raises(ValueError, match="8 fixed few-shot examples; 9 asked for"):
        resolve("gsm8k_cot", shots=9)


def docs(n: int, prefix: str = "d") -> list[Doc]:
    return [Doc("s", i, f"{prefix}{i}", row={"q": f"{prefix}{i}"}) for i in range(n)]


def test_random_shots_are_one_seeded_draw_per_item_in_order() -> None:
    pool = docs(7, "p")
    chosen = choose_shots(FewShot(0, "random"), 3, pool, docs(4))
    rnd = random.Random(1234)
    assert [[d.index for d in shots] for shots in chosen] == [
        rnd.sample(range(7), 3) for _ in range(4)
    ]


def test_drawing_one_extra_drops_the_item_itself() -> None:
    pool = docs(5, "p")
    item = pool[2]
    for shots in choose_shots(FewShot(0, "random", draw_extra=True), 4, pool, [item] * 6):
        assert len(shots) == 4 and item not in shots


def test_first_n_and_too_many_shots() -> None:
    pool = docs(5, "p")
    assert choose_shots(FewShot(0), 2, pool, docs(2)) == [pool[:2], pool[:2]]
    with pytest.raises(FewShotError, match="pool holds 5"):
        choose_shots(FewShot(0), 6, pool, docs(1))
