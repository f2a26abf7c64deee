"""Scripted model outputs for the reference runs (stdlib only: imported by both harness venvs).

Each item gets an output chosen by a seeded RNG from a pool of hard cases for its benchmark's
extraction (right and wrong letters, lower case, brackets, explanations, numbers with ``$``,
``,`` and trailing ``.``, ``答案：`` markers in the forms EvalScope accepts and rejects), or
log-likelihoods drawn from a small set of values, so ties (first index wins) and cases where
``acc`` and ``acc_norm`` disagree occur. The golden files store what was chosen, so our
tests feed the very same outputs to our scoring.
"""

from __future__ import annotations

import random

LETTERS = "ABCDE"

LOGPROB_VALUES = (-0.5, -1.0, -1.25, -2.0, -2.5, -3.0, -4.5, -7.0)


def loglikelihoods(key: str, n: int) -> list[float]:
    rng = random.Random(f"ll/{key}")
    return [rng.choice(LOGPROB_VALUES) for _ in range(n)]


def _wrong(rng: random.Random, gold: str, n: int) -> str:
    return rng.choice([x for x in LETTERS[:n] if x != gold] or [gold])


def letter_answer(key: str, gold: str, n: int, text: str) -> str:
    """mmlu_generative / arc_challenge_chat style answers (after "Answer:" / the prefix)."""
    rng = random.Random(f"letter/{key}")
    wrong = _wrong(rng, gold, n)
    pool = [
        f" {gold}",
        f" {wrong}",
        f" ({gold})",
        f" {gold.lower()}",
        f" {gold}. {text}",
        f"\n{gold}",
        f"{gold}",
        f" The answer is {gold}",
        f" {gold}\nBecause {wrong} is wrong.",
        f" {text}",
        f" [{gold}]",
        f" {gold}.",
        "",
        f"  {wrong}  ",
    ]
    return rng.choice(pool)


def number_answer(key: str, number: str, cot: bool) -> str:
    """GSM8K answers: rationales ending in the forms both filters see."""
    rng = random.Random(f"number/{key}")
    plain = number.replace(",", "")
    try:
        value = int(plain)
        other = str(value + rng.choice((1, -2, 10)))
        grouped = f"{value:,}"
    except ValueError:
        other, grouped = plain + "0", number
    pool = [
        f" First we add things up.\n#### {number}",
        f" So the total is ${plain}.00.",
        f" The total is {grouped}.\n#### {grouped}",
        f" It is {other}, no wait.\n#### {number} / 1 = {number}",
        f" The answer is {number}.",
        f" The answer is ${plain}.",
        f" The answer is {other}.",
        f" Step one gives 12. Step two gives {plain}",
        " I cannot tell.",
        f" #### -{plain}",
        f" {plain}",
        f" The answer is {grouped}.\n\nQ: next",
    ]
    if cot:
        pool += [f" Adding gives {plain}. The answer is {plain}.", f"The answer is {grouped}!"]
    return rng.choice(pool)


def chinese_answer(key: str, gold: str, n: int) -> str:
    """EvalScope C-Eval / CMMLU completions: the marker forms it accepts and rejects."""
    rng = random.Random(f"zh/{key}")
    wrong = _wrong(rng, gold, n)
    pool = [
        f"答案：{gold}",
        f"答案: {wrong}",
        f"分析如下。\n答案：**{gold}**",
        f"**答案：{gold}**",
        f"答案：({gold})",
        f"答案：【{gold}】",
        f"答案：{gold}。",
        f"答案：\\boxed{{{gold}}}",
        f"答案：${gold}$",
        f"答案：{gold}，因为{wrong}不对",
        f"答案：{wrong}\n再想想。\n答案：{gold}",
        f"答案是{gold}",
        f"ANSWER: {gold}",
        f"选{wrong}",
        f"答案：{gold.lower()}",
        "答案：E",
        f"答案：{gold}{wrong}",
        "答案：[LETTER]",
        "无法确定",
        f"答案：{gold} 和 {wrong}",
        f"答案：{gold}\n答案：[LETTER]",
        f"我认为是{wrong}。最终答案：{gold}",
    ]
    return rng.choice(pool)
