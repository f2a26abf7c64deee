"""Few-shot example selection, draw for draw as lm-evaluation-harness does it.

``first_n`` takes the first k examples of the pool for every item. ``random`` seeds one
``random.Random(seed)`` per subset and makes one ``sample(pool, k)`` per evaluated item in item
order (CPython's Mersenne Twister; the result depends only on the pool size and the draws made
before), so item i gets the (i+1)-th draw whatever ``limits`` keeps. With ``draw_extra`` it
draws k+1, drops examples equal to the item and keeps k (HellaSwag).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from modeleval.benchmarks.definitions import FewShot
from modeleval.benchmarks.records import Doc


class FewShotError(ValueError):
    """More shots were asked for than the pool holds."""


def choose_shots(
    fewshot: FewShot, k: int, pool: Sequence[Doc], docs: Sequence[Doc]
) -> list[list[Doc]]:
    """The shots of every item of ``docs`` (in order), drawn from ``pool``."""
    if k <= 0:
        return [[] for _ in docs]
    if k > len(pool):
        raise FewShotError(f"{k} shots asked for, but the few-shot pool holds {len(pool)}")
    if fewshot.sampler == "first_n":
        first = list(pool[:k])
        return [first for _ in docs]
    rnd = random.Random(fewshot.seed)
    indices = range(len(pool))
    chosen: list[list[Doc]] = []
    for doc in docs:
        if fewshot.draw_extra:
            drawn = [pool[i] for i in rnd.sample(indices, k + 1) if pool[i].row != doc.row][:k]
            if len(drawn) < k:  # duplicates of the item in the pool: draw again without them
                others = [p for p in pool if p.row != doc.row]
                drawn = rnd.sample(others, k)
        else:
            drawn = [pool[i] for i in rnd.sample(indices, k)]
        chosen.append(drawn)
    return chosen
