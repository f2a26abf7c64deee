"""Benchmark: time to score N items (default 100,000) with ROUGE-L (char) + BLEU + accuracy.

Target: under 10 s on one core. The process pins itself to one CPU. Items are synthetic and
deterministic: half Chinese (~30 characters, scored with char-level ROUGE-L and sacrebleu's
``zh`` tokenizer), half English (~15 words, word-level ROUGE-L and ``13a``); each answer is
its target with random edits, so the metrics do real work. Every target is distinct, so no
cache helps (real tasks share targets across models).

Timed: ``RuleScorer.score_many`` over all items (BLEU batched with numpy), then each metric
alone, then on a sample ``RuleScorer.score`` item by item and plain ``sacrebleu.sentence_bleu``.
Prints items/s per metric and in total, and the ratio to the 10 s target.

    .venv/bin/python bench/scoring_throughput.py [--items 100000] [--baseline-sample 5000]

For a clean one-core figure on a shared machine, pin it to an idle core:
``taskset -c 3 .venv/bin/python bench/scoring_throughput.py``.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import sys
import time

from modeleval.scoring.config import RuleConfig
from modeleval.scoring.rules import RuleScorer

TARGET_SECONDS = 10.0
TARGET_ITEMS = 100_000

ZH = "今天天气很好我们去公园散步吧人工智能模型评测系统的准确率和召回率都很高，。"
EN = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "model",
    "evaluation",
    "measures",
    "accuracy",
    "recall",
    "precision",
    "and",
    "fluency",
    "of",
    "generated",
    "answers",
    ",",
    ".",
]


def make_items(n: int, seed: int = 20261122) -> list[tuple[str, str]]:
    """(answer, target) pairs: half Chinese, half English, answers edited from targets."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        if i % 2:
            target = [rng.choice(ZH) for _ in range(rng.randint(20, 40))]
            joiner = ""
            alphabet: list[str] | str = ZH
        else:
            target = [rng.choice(EN) for _ in range(rng.randint(10, 20))]
            joiner = " "
            alphabet = EN
        answer = list(target)
        for _ in range(rng.randint(0, max(1, len(answer) // 3))):
            pos = rng.randrange(len(answer))
            answer[pos] = rng.choice(alphabet)
        items.append((joiner.join(answer), joiner.join(target)))
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=TARGET_ITEMS)
    parser.add_argument(
        "--baseline-sample",
        type=int,
        default=5000,
        help="items also timed item by item (RuleScorer.score) and with plain "
        "sacrebleu.sentence_bleu, for comparison (0 = skip)",
    )
    args = parser.parse_args(argv)

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"

    t0 = time.perf_counter()
    items = make_items(args.items)
    gen_s = time.perf_counter() - t0

    config = RuleConfig(
        score_modes=["accuracy", "similarity"], similarity_metrics=["rougeL", "bleu"]
    )
    t0 = time.perf_counter()
    scorer = RuleScorer(config)
    scorer.score_many([("预热", "预热 warm-up")])  # builds translate tables, loads nothing else
    setup_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    results = scorer.score_many(items)
    score_s = time.perf_counter() - t0
    totals = {name: sum(r[name] for r in results) for name in scorer.metric_names}

    n = len(items)
    per_item_us = score_s / n * 1e6
    projected = per_item_us * TARGET_ITEMS / 1e6
    print(f"command     : {shlex.join([sys.executable, *sys.argv])}")
    print(f"cpus pinned : {cpus}")
    print(f"items       : {n:,} (generated in {gen_s:.2f} s)")
    print(f"metrics     : {', '.join(scorer.metric_names)} (RuleScorer.score_many)")
    print(f"setup       : {setup_s:.2f} s (tables derived from sacrebleu/unicodedata)")
    print(f"scoring     : {score_s:.2f} s, {n / score_s:,.0f} items/s, {per_item_us:.1f} us/item")
    print("means       : " + ", ".join(f"{k}={v / n * 100:.2f}" for k, v in totals.items()))
    print(
        f"100k items  : {projected:.2f} s projected; target {TARGET_SECONDS:.0f} s; "
        f"ratio to target {projected / TARGET_SECONDS:.2f} "
        f"({'MET' if projected < TARGET_SECONDS else 'NOT MET'})"
    )

    # Where the time goes: each metric alone over the same items (fresh scorer caches).
    for name in ("accuracy", "rougeL", "bleu"):
        alone = RuleScorer(
            RuleConfig(
                score_modes=["accuracy"] if name == "accuracy" else ["similarity"],
                similarity_metrics=[] if name == "accuracy" else [name],
            )
        )
        alone.score_many([("预热", "预热 warm-up")])
        t0 = time.perf_counter()
        alone.score_many(items)
        took = time.perf_counter() - t0
        print(f"{name + ' alone':<12}: {took:.2f} s, {n / took:,.0f} items/s")

    if args.baseline_sample:
        sample = items[: args.baseline_sample]
        t0 = time.perf_counter()
        for answer, target in sample:
            scorer.score(answer, target)
        one_us = (time.perf_counter() - t0) / len(sample) * 1e6
        print(
            f"item by item: RuleScorer.score {one_us:.1f} us/item "
            f"({TARGET_ITEMS * one_us / 1e6:.2f} s per 100k) vs score_many {per_item_us:.1f}"
        )
        print(time_bleu_baseline(sample))
    return 0


def time_bleu_baseline(sample: list[tuple[str, str]]) -> str:
    """Plain ``sacrebleu.sentence_bleu`` against our batched BLEU on the same sample."""
    import sacrebleu

    from modeleval.scoring.bleu import SentenceBleu

    t0 = time.perf_counter()
    for i, (answer, target) in enumerate(sample):
        sacrebleu.sentence_bleu(answer, [target], tokenize="zh" if i % 2 else "13a")
    base_us = (time.perf_counter() - t0) / len(sample) * 1e6
    bleu = SentenceBleu()
    t0 = time.perf_counter()
    bleu.score_many(
        [a for a, _ in sample], [t for _, t in sample], [bool(i % 2) for i in range(len(sample))]
    )
    ours_us = (time.perf_counter() - t0) / len(sample) * 1e6
    return (
        f"BLEU only   : sacrebleu.sentence_bleu {base_us:.1f} us/item vs "
        f"SentenceBleu.score_many {ours_us:.1f} us/item (speed-up {base_us / ours_us:.1f}x)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
