"""The verdict parser on 117 real judge replies from public sources vs their recorded verdicts.

Fixtures: ``fixtures/judge/{pairwise,single}.jsonl`` (sources, licences and how the recorded
values map: ``fixtures/judge/README.md``), read with the prompt each judge was given when it is
known (``fixtures/judge/prompts.json``), so the echo check runs on real replies too.

Every reply either agrees with what its source recorded, or is listed in :data:`DISAGREEMENTS`
with the outcome the parser gives and why. "Agrees" for a recorded ``none``/``null`` (the
source found no verdict) means the parser fails the item too. The figures are in
docs/results.md ("Real judge replies"); :func:`test_agreement_figures` keeps them true.

Well-formed replies (one verdict, in an accepted format) whose recorded value can be trusted
agree 100% (100 of 100). The 17 disagreements: 11 replies in formats our prompts do not ask
for (failed items by design), 2 naming two different scores (the source took the first; they
fail), and 4 whose recorded value is not to be trusted (an echo, a SUSPECT and a NEGATIVE
record, and a decimal the source's pattern missed).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from modeleval.scoring.verdicts import (
    CAUSE_ECHO,
    CAUSE_NO_SCORE,
    CAUSE_NO_VERDICT,
    CAUSE_TWO_SCORES,
    JudgeParseError,
    PromptText,
    parse_score,
    parse_verdict,
)

FIXTURES = Path(__file__).parent / "fixtures" / "judge"
PROMPTS: dict[str, dict[str, str]] = json.loads((FIXTURES / "prompts.json").read_text("utf-8"))


def load(name: str) -> list[dict[str, Any]]:
    lines = (FIXTURES / name).read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


PAIRWISE = load("pairwise.jsonl")
SINGLE = load("single.jsonl")

# Outcome of a fixture: a verdict ("A" / "B" / "tie"), a score, or ("failed", cause).
Outcome = str | float | tuple[str, str]

OTHER_FORMAT = "other format"
"""The reply answers a prompt that asked for another format; under ours it is a failed item."""
TWO_VERDICTS = "two different verdicts"
"""The reply names two different scores; the source took the first, the parser fails it."""
UNTRUSTED_RECORD = "recorded value not trusted"
"""The fixture notes mark the recorded value NEGATIVE or SUSPECT, or the source's own pattern
missed the verdict."""

DISAGREEMENTS: dict[str, tuple[Outcome, str, str]] = {
    # id: (the parser's outcome, kind, why it differs from the recorded value)
    "r4dm:3f85bf93f18343dbb17e228a214a3800-g0": (
        ("failed", CAUSE_ECHO),
        UNTRUSTED_RECORD,
        "The whole reply is the Arena-Hard prompt's example output ('My final verdict is tie: "
        "[[A=B]]'); this Qwen2 judge wrote exactly that for all 224 items. The source counted "
        "ties; the parser, given the prompt, sees a reply copied from it. (A reasoning model "
        "that writes the same sentence after a <think> block, penfever:ed30…-g0, is a tie.)",
    ),
    "open-compass:cj-rm": (
        ("failed", CAUSE_NO_VERDICT),
        OTHER_FORMAT,
        "A bare letter 'B', answering a prompt that asked for one. Our prompts ask for [[B]]; "
        "a lone letter is too easily something else (the start of a sentence, an option list).",
    ),
    "GAIR-NLP:autoj-0": (
        ("failed", CAUSE_NO_VERDICT),
        OTHER_FORMAT,
        "Auto-J's critique comparison leads with 'A: Feedback 1 is significantly better.'; "
        "a letter before a colon is not a verdict label.",
    ),
    "GAIR-NLP:autoj-2": (("failed", CAUSE_NO_VERDICT), OTHER_FORMAT, "As GAIR-NLP:autoj-0."),
    "GAIR-NLP:autoj-15": (("failed", CAUSE_NO_VERDICT), OTHER_FORMAT, "As GAIR-NLP:autoj-0."),
    "instructlab:q159-t1": (
        ("failed", CAUSE_TWO_SCORES),
        TWO_VERDICTS,
        "Two ratings: [[9]] for the answer, then [[10]] for an 'improved conversation' the "
        "judge invented. FastChat took the first match (9); a parser taking the last would "
        "say 10. Two different verdicts are not guessed between: the item fails.",
    ),
    "instructlab:q103-t1": (
        ("failed", CAUSE_TWO_SCORES),
        TWO_VERDICTS,
        "'Rating: [[8]]', then 'resulting in a rating of [[9]] or [[10]]'. FastChat took the "
        "first match (8); the reply names three scores and fails.",
    ),
    "lmarena:9d843f27e0ce45bebd79a8d04dc0b3e7": (
        9.5,
        UNTRUSTED_RECORD,
        "'Rating: [[9.5]]': the source's integer-only pattern missed the decimal and recorded "
        "null; decimals are accepted (FastChat's own runs record 8.5 and 9.5).",
    ),
    "lmarena:80d800be94144919a8f6267a5333ede8": (
        ("failed", CAUSE_NO_SCORE),
        UNTRUSTED_RECORD,
        "SUSPECT record: the text ends 'The assistant's answer: 8/10.' with no [[N]], yet the "
        "file records 1. A fraction in prose is not a verdict.",
    ),
    "GAIR-NLP:autoj-zht-34": (
        ("failed", CAUSE_NO_SCORE),
        UNTRUSTED_RECORD,
        "NEGATIVE: the translated Chinese critique lost its rating; the recorded 6.0 comes from "
        "the English original.",
    ),
    "open-compass:cj-point": (
        ("failed", CAUSE_NO_SCORE),
        OTHER_FORMAT,
        "AlignBench format: per-dimension '打分：8。' lines, '综合得分：5。' and a Python dict. "
        "Not 评分 / Score / Rating / [[N]]; a prompt that wants it read must ask for '评分: N'.",
    ),
    "baidubce:qf-essay-c7": (
        ("failed", CAUSE_NO_SCORE),
        OTHER_FORMAT,
        "Essay grading in prose: '我给这篇文章一个评分：55分（满分60分）' mid-sentence; "
        "the score is only in the text (no verdict line).",
    ),
    "baidubce:qf-essay-c13": (
        ("failed", CAUSE_NO_SCORE),
        OTHER_FORMAT,
        "Essay grading in prose with three 'final' numbers (18 per item, '= 48分（最终得分）', "
        "'最终得分为49分'): no verdict line, and no single score to read.",
    ),
    "baidubce:qf-eo-0": (
        ("failed", CAUSE_NO_SCORE),
        OTHER_FORMAT,
        "JSON with Chinese keys and the score as a string with a unit ('最终得分': '34分'); "
        'the accepted JSON form is {"score": N}.',
    ),
    "baidubce:qf-eo-2": (("failed", CAUSE_NO_SCORE), OTHER_FORMAT, "As baidubce:qf-eo-0."),
}


def prompt_name(fixture: dict[str, Any]) -> str | None:
    """The prompt the judge was given, when its text is in prompts.json."""
    noted = re.search(r"Judge prompt ([a-z0-9-]+);", fixture["note"])
    if noted:
        return noted.group(1)
    ident = fixture["id"]
    if ident.startswith(("penfever:", "r4dm:", "open-compass:cj-pair")):
        return "arena-hard-v0.1"
    if ident.startswith("lmarena:"):
        return "arena-bench-v1"
    if ident.startswith("baidubce:qf-") and not ident.startswith(("baidubce:qf-e",)):
        return "qianfan-local-judge"
    return None  # the Greek Arena-Hard prompts and Auto-J / AlpacaEval prompts are not kept


def prompt_text(name: str | None) -> PromptText | None:
    if name is None:
        return None
    prompt = PROMPTS[name]
    text = prompt["system"] + "\n\n" + prompt["template"]
    return PromptText.of(re.split(r"\{[a-z_0-9]+\}", text))


def outcome(fixture: dict[str, Any]) -> Outcome:
    prompt = prompt_text(prompt_name(fixture))
    try:
        if fixture["kind"] == "pairwise":
            return parse_verdict(fixture["reply"], prompt=prompt)
        return parse_score(fixture["reply"], float(fixture["max_score"]), prompt=prompt)[0]
    except JudgeParseError as exc:
        return ("failed", exc.cause)


def recorded(fixture: dict[str, Any]) -> str | float | None:
    if fixture["kind"] == "pairwise":
        return None if fixture["verdict"] == "none" else str(fixture["verdict"])
    return None if fixture["score"] is None else float(fixture["score"])


def agrees(got: Outcome, fixture: dict[str, Any]) -> bool:
    want = recorded(fixture)
    return isinstance(got, tuple) if want is None else got == want


ALL = PAIRWISE + SINGLE


def test_every_real_reply_agrees_or_its_disagreement_is_explained() -> None:
    """One test over all 114 (a test per reply would cost the unit tier seconds)."""
    wrong = []
    for fixture in ALL:
        got = outcome(fixture)
        if fixture["id"] in DISAGREEMENTS:
            expected, _, why = DISAGREEMENTS[fixture["id"]]
            if got != expected:
                wrong.append((fixture["id"], got, expected, why))
            elif agrees(got, fixture):
                wrong.append((fixture["id"], got, "listed as a disagreement but agrees", ""))
        elif not agrees(got, fixture):
            wrong.append((fixture["id"], got, recorded(fixture), fixture["note"]))
    assert not wrong, "\n".join(map(repr, wrong))


def test_disagreements_are_real_fixtures() -> None:
    assert set(DISAGREEMENTS) <= {f["id"] for f in ALL}


def test_agreement_figures() -> None:
    """The figures docs/results.md and the fixture README give."""
    kinds = Counter(DISAGREEMENTS[f["id"]][1] for f in ALL if f["id"] in DISAGREEMENTS)
    assert (len(PAIRWISE), len(SINGLE), len(ALL)) == (51, 63, 114)
    assert kinds == {OTHER_FORMAT: 9, TWO_VERDICTS: 2, UNTRUSTED_RECORD: 4}
    # Well-formed with a trusted record: every one agrees.
    trusted = [f for f in ALL if f["id"] not in DISAGREEMENTS]
    assert len(trusted) == 99 and all(agrees(outcome(f), f) for f in trusted)
    by_kind = Counter((f["kind"], agrees(outcome(f), f)) for f in ALL)
    assert by_kind == {("pairwise", True): 46, ("pairwise", False): 5,
                       ("single", True): 53, ("single", False): 10}  # fmt: skip
    # MT-Bench and Arena-Hard pairwise replies: every recorded verdict but the one echo.
    labelled = [f for f in PAIRWISE if f["format"] in ("mtbench", "arenahard")]
    assert len(labelled) == 47
    assert sum(1 for f in labelled if agrees(outcome(f), f)) == 46


def test_tie_words_in_real_reasoning_never_make_a_tie() -> None:
    """Many real replies call both answers "the same" or "both … good" and still give A or B
    (43 of the 470 GPT-4 pairwise replies scanned); the fixtures marked NEGATIVE-STYLE are such
    replies (six MT-Bench, two Arena-Hard). None is read as a tie."""
    styled = [f for f in PAIRWISE if "NEGATIVE-STYLE" in f["note"]]
    assert len(styled) == 8
    for fixture in styled:
        assert re.search(r"\b(same|both)\b", fixture["reply"], re.I)
        assert outcome(fixture) == fixture["verdict"] != "tie"


def test_replies_of_both_orders_give_the_recorded_gsb() -> None:
    """Item q81 is A then A in model terms consistently; q94 flips with position."""
    by_id = {f["id"]: f for f in PAIRWISE}
    assert (
        outcome(by_id["SFMI-Byeongsu:q81-t1-g1"]),
        outcome(by_id["SFMI-Byeongsu:q81-t1-g2"]),
    ) == ("B", "A")
    assert (
        outcome(by_id["SFMI-Byeongsu:q94-t1-g1"]),
        outcome(by_id["SFMI-Byeongsu:q94-t1-g2"]),
    ) == ("A", "A")
