"""Judge verdicts kept as they come: a checkpoint for judge calls, shared between pods.

Judge calls are the slow, endpoint-bound part of scoring. Each finished call (an answer
judged, or a pair compared both ways) is appended to a JSONL file under
``$MODELEVAL_RESULTS_DIR/judgments/`` the moment it is done::

    {"index": 7, "id": "q7", "model": "cand", "digest": "…", "score": 4.0, "reason": "…",
     "error": null, "cause": null}
    {"index": 7, "id": "q7", "pair": true, "digest": "…", "gsb": {…the record's gsb entry…}}

Whoever scores next reads them back (:mod:`modeleval.scoring.ordered` puts them beside the
predictions of their item) and asks the judge only what no file answers. So the shards of a
sharded task's judge phase each judge their slice, and the score phase merges their verdicts
without a call; a retried scoring pod does not ask again what it already asked. A verdict is
used only for the exact question it answered: its ``digest`` covers the judge's settings (the
prompt, the scale, the model), the question, the reference and the answer(s); anything
changed, and the judge is asked again. A failed call is kept too (an unsharded run records it
as failed, and so must the merge: the results stay identical).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from modeleval.redact import mask
from modeleval.scoring.config import ScoringConfig
from modeleval.scoring.pairwise import PairOutcome
from modeleval.scoring.records import ItemRecord, ModelResult

JUDGMENTS_DIR = "judgments"
"""The folder of the judgment files, inside the results directory."""
SCORE_FILE = "score.jsonl"
"""The score phase's own judgment file (the judge phase's are named per shard)."""


def fingerprint(config: ScoringConfig, judge_model: str = "") -> str:
    """What makes two judge calls the same question: the judge's settings and model."""
    settings = {
        "judge": config.judge.model_dump(mode="json"),
        "pairwise": config.pairwise.model_dump(mode="json"),
        "baseline": config.baseline,
        "model": judge_model,
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def _digest(*parts: str | None) -> str:
    text = "\x00".join("" if p is None else p for p in parts)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def answer_digest(fp: str, record: ItemRecord, model: str) -> str:
    return _digest(fp, "answer", record.input, record.target, record.models[model].answer)


def pair_digest(fp: str, record: ItemRecord, pair: tuple[str, str]) -> str:
    candidate, baseline = (record.models[m].answer for m in pair)
    return _digest(fp, "pair", record.input, record.target, candidate, baseline)


def answer_line(key: int, record: ItemRecord, model: str, fp: str) -> dict[str, Any]:
    result = record.models[model]
    return {
        "index": key,
        "id": record.id,
        "model": model,
        "digest": answer_digest(fp, record, model),
        "score": result.judge_score,
        "reason": result.judge_reason,
        "error": result.judge_error,
        "cause": result.judge_cause,
    }


def pair_line(key: int, record: ItemRecord, pair: tuple[str, str], fp: str) -> dict[str, Any]:
    return {
        "index": key,
        "id": record.id,
        "pair": True,
        "digest": pair_digest(fp, record, pair),
        "gsb": record.gsb,
    }


def apply_line(
    record: ItemRecord, line: Mapping[str, Any], fp: str, pair: tuple[str, str] | None
) -> bool:
    """Put a kept verdict on ``record`` when it answers the record's question as it is now;
    whether it did."""
    if line.get("pair"):
        if pair is None or any(record.models[m].error is not None for m in pair):
            return False
        if line.get("digest") != pair_digest(fp, record, pair) or not line.get("gsb"):
            return False
        record.gsb = dict(line["gsb"])
        return True
    model = line.get("model")
    result = record.models.get(str(model)) if model is not None else None
    if result is None or result.error is not None:
        return False
    if line.get("digest") != answer_digest(fp, record, str(model)):
        return False
    score = line.get("score")
    result.judge_score = float(score) if isinstance(score, int | float) else None
    result.judge_reason = line.get("reason")
    result.judge_error = line.get("error")
    result.judge_cause = line.get("cause")
    return True


def judged(result: ModelResult) -> bool:
    """The answer has a judge verdict (or a recorded judge failure) already."""
    return result.judge_score is not None or result.judge_error is not None


def compared(record: ItemRecord) -> bool:
    """The record has a GSB comparison (or a recorded failure of one) already."""
    return bool(record.gsb) and "verdicts" in (record.gsb or {})


def pair_outcome(record: ItemRecord) -> PairOutcome:
    """The comparison kept in ``record.gsb`` as the outcome the GSB tally counts."""
    gsb = record.gsb or {}
    verdicts = gsb.get("verdicts") or {}
    reasons = [*(gsb.get("reasons") or []), "", ""]
    return PairOutcome(
        gsb=gsb.get("result"),
        verdicts=(verdicts.get("candidateFirst"), verdicts.get("baselineFirst")),
        error=gsb.get("error"),
        reasons=(str(reasons[0]), str(reasons[1])),
        cause=gsb.get("cause"),
    )


class JudgmentWriter:
    """Appends judgment lines to one file, each flushed as it is written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None
        self.written = 0

    def write(self, line: Mapping[str, Any]) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write(mask(json.dumps(line, ensure_ascii=False)) + "\n")
        self._file.flush()
        self.written += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def judgment_files(results_dir: Path) -> list[Path]:
    """Every judgment file of a task, in name order."""
    folder = results_dir / JUDGMENTS_DIR
    return sorted(p for p in folder.glob("*.jsonl") if p.is_file()) if folder.is_dir() else []
