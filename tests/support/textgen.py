"""Random strings mixing CJK, ASCII punctuation, entities and odd Unicode, for property tests."""

from __future__ import annotations

import random

PIECES = [
    *"今天天气很好，。！？“”《》（）、ＡＢＣ１２３",
    *"abcXYZ 0123456789.,-;:'\"&<>/\\()[]{}_~^`@#$%*+=|",
    *"\n\t…—–・アイう한국어ﬁ①€→∑",
    "&amp;",
    "&quot;",
    "&lt;",
    "<skipped>",
    "-\n",
    " - ",
    "3.14",
    "1,000",
    "e.g.",
    "U.S.",
    "𠀀",
]


def random_strings(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 40))) for _ in range(n)]
