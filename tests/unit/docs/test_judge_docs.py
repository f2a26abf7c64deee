"""The judge messages in docs/troubleshooting.md and docs/results.md are what the code emits."""

from __future__ import annotations

from modeleval.reconcile.evaltask_scores import (
    DEGRADED_PREFIX,
    MetricFailuresView,
    degraded_message,
    failed_message,
)
from modeleval.reconcile.evaltask_state import DEGRADED, ITEMS_FAILED
from modeleval.scoring import verdicts
from tests.support.paths import REPO

TROUBLESHOOTING = (REPO / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
RESULTS = (REPO / "docs" / "results.md").read_text(encoding="utf-8")


def test_every_failure_cause_is_listed() -> None:
    causes = [v for k, v in vars(verdicts).items() if k.startswith("CAUSE_")]
    causes.append(verdicts.cause_out_of_range(5))
    assert len(causes) == 7
    missing = [c for c in causes if f"`{c}`" not in TROUBLESHOOTING]
    assert not missing


def test_the_documented_messages_are_the_emitted_ones() -> None:
    echo = MetricFailuresView(
        "judge", 16, 16, 0.1, True, "the judge repeated the prompt instead of judging", 16
    )
    no_score = MetricFailuresView("judge", 2, 20, 0.15, False, verdicts.CAUSE_NO_SCORE, 2)
    assert f"`{failed_message([echo])}`" in TROUBLESHOOTING
    assert f"`{DEGRADED_PREFIX}{degraded_message([no_score])}`" in TROUBLESHOOTING
    assert f"`{DEGRADED}`" in TROUBLESHOOTING and f"`{ITEMS_FAILED}`" in TROUBLESHOOTING


def test_results_names_the_verdict_formats_and_the_rule() -> None:
    for text in ("`Score: N`", "`评分: N`", "`[[A]]`", "`[[C]]`", "`[[A>>B]]`", "`[[A=B]]`",
                 "maxErrorRatio", "`Degraded`", "`MetricFailed`", "flipped"):  # fmt: skip
        assert text in RESULTS, text
