"""Benchmark: time to score N items (default 100,000) with ROUGE-L (char) + BLEU + accuracy.

Target: under 10 s on one core. The process pins itself to one CPU. Items are synthetic and
deterministic: half Chinese (~30 characters, scored with char-level ROUGE-L and sacrebleu's
``zh`` tokenizer), half English (~15 words, word-level ROUGE-L and ``13a``); each answer is
its target with random edits, so the metrics do real work.

    .venv/bin/python bench/scoring_throughput.py [--items 100000] [--baseline-sample 5000]
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
        help="items timed with plain sacrebleu.sentence_bleu for comparison (0 = skip)",
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
    scorer.score("预热", "预热 warm-up")  # builds translate tables, loads nothing else
    setup_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    totals = {name: 0.0 for name in scorer.metric_names}
    for answer, target in items:
        for name, value in scorer.score(answer, target).items():
            totals[name] += value
    score_s = time.perf_counter() - t0

    n = len(items)
    per_item_us = score_s / n * 1e6
    projected = per_item_us * TARGET_ITEMS / 1e6
    print(f"command     : {shlex.join([sys.executable, *sys.argv])}")
    print(f"cpus pinned : {cpus}")
    print(f"items       : {n:,} (generated in {gen_s:.2f} s)")
    print(f"metrics     : {', '.join(scorer.metric_names)}")
    print(f"setup       : {setup_s:.2f} s (tables derived from sacrebleu/unicodedata)")
    print(f"scoring     : {score_s:.2f} s, {n / score_s:,.0f} items/s, {per_item_us:.1f} us/item")
    print("means       : " + ", ".join(f"{k}={v / n * 100:.2f}" for k, v in totals.items()))
    print(
        f"100k items  : {projected:.2f} s projected; target {TARGET_SECONDS:.0f} s; "
        f"ratio to target {projected / TARGET_SECONDS:.2f} "
        f"({'MET' if projected < TARGET_SECONDS else 'NOT MET'})"
    )

    # Where the time goes: each metric alone over the same items (fresh scorer caches).
    parts = {"accuracy": ["accuracy"], "rougeL": ["similarity"], "bleu": ["similarity"]}
    split = []
    for name, modes in parts.items():
        alone = RuleScorer(
            RuleConfig(score_modes=modes, similarity_metrics=[name] if name != "accuracy" else [])
        )
        alone.score("预热", "预热 warm-up")
        t0 = time.perf_counter()
        for answer, target in items:
            alone.score(answer, target)
        split.append(f"{name} {time.perf_counter() - t0:.2f} s")
    print(f"each alone  : {', '.join(split)}")

    if args.baseline_sample:
        import sacrebleu

        sample = items[: args.baseline_sample]
        t0 = time.perf_counter()
        for i, (answer, target) in enumerate(sample):
            sacrebleu.sentence_bleu(answer, [target], tokenize="zh" if i % 2 else "13a")
        base_s = time.perf_counter() - t0
        fast = time_our_bleu(sample)
        print(
            f"BLEU only   : sacrebleu.sentence_bleu {base_s / len(sample) * 1e6:.1f} us/item vs "
            f"ours {fast:.1f} us/item (speed-up {base_s / len(sample) * 1e6 / fast:.1f}x)"
        )
    return 0


def time_our_bleu(sample: list[tuple[str, str]]) -> float:
    """Microseconds per item for our BLEU alone on fresh caches."""
    from modeleval.scoring.bleu import SentenceBleu

    bleu = SentenceBleu()
    t0 = time.perf_counter()
    for i, (answer, target) in enumerate(sample):
        bleu(answer, target, cjk=bool(i % 2))
    return (time.perf_counter() - t0) / len(sample) * 1e6


if __name__ == "__main__":
    raise SystemExit(main())
