"""Manual mode with a console: the manual phase runs after the console completes annotation."""

from __future__ import annotations

from typing import Any

import pytest

from modeleval.api import EvalTaskSpec, TaskState
from modeleval.reconcile.evaltask_state import JobView, Observed, Phase, next_step, plan

S = TaskState
PHASES = (Phase.INFER, Phase.MANUAL)
INFER_DONE = JobView("t-infer", complete=True)


def obs(**kw: Any) -> Observed:
    base: dict[str, Any] = {
        "task": "t",
        "state": S.RUNNING,
        "phases": PHASES,
        "manual": True,
        "jobs": {Phase.INFER: INFER_DONE},
    }
    base.update(kw)
    return Observed(**base)


def spec(**kw: Any) -> EvalTaskSpec:
    base: dict[str, Any] = {
        "models": [{"name": "m", "endpoint": {"url": "http://m/v1"}}],
        "dataset": {"inline": [{"input": "x"}]},
    }
    base.update(kw)
    return EvalTaskSpec.model_validate(base)


@pytest.mark.parametrize(
    ("kw", "phases"),
    [
        ({"scoring": {"modes": ["manual"]}}, (Phase.INFER, Phase.MANUAL)),
        ({"scoring": {"modes": ["rule", "manual"]}}, (Phase.INFER, Phase.SCORE, Phase.MANUAL)),
        ({"scoring": {"modes": ["rule"]}}, (Phase.INFER, Phase.SCORE)),
        ({"type": "Performance", "scoring": {"modes": ["manual"]}}, (Phase.PERF,)),
    ],
)
def test_a_console_adds_the_manual_phase(kw: dict[str, Any], phases: tuple[Phase, ...]) -> None:
    assert plan(spec(**kw), console=True) == phases
    assert Phase.MANUAL not in plan(spec(**kw))


@pytest.mark.parametrize("pending", [None, True])
def test_answers_ready_waits_for_the_console(pending: bool | None) -> None:
    decision = next_step(obs(manual_pending=pending))
    assert decision.state == S.RUNNING_WITH_MANUAL_BEGIN
    assert decision.create is None
    assert decision.message == (
        "inference finished; waiting for manual annotation (annotate it in the console, then "
        "mark the annotation complete)"
    )


def test_completion_starts_the_manual_job_in_metrics_calculating() -> None:
    decision = next_step(obs(state=S.RUNNING_WITH_MANUAL_BEGIN, manual_pending=False))
    assert decision.create == Phase.MANUAL
    assert decision.state == S.RUNNING_WITH_METRICS_CALCULATING
    assert "manual scoring Job t-manual created" in (decision.message or "")


def test_the_manual_job_running_then_done() -> None:
    jobs = {Phase.INFER: INFER_DONE, Phase.MANUAL: JobView("t-manual")}
    running = next_step(
        obs(state=S.RUNNING_WITH_METRICS_CALCULATING, manual_pending=False, jobs=jobs)
    )
    assert running.state == S.RUNNING_WITH_METRICS_CALCULATING and running.create is None
    jobs[Phase.MANUAL] = JobView("t-manual", complete=True)
    done = next_step(obs(state=S.RUNNING_WITH_METRICS_CALCULATING, manual_pending=False, jobs=jobs))
    assert done.state == S.SUCCEEDED


def test_a_failed_manual_job_fails_the_task() -> None:
    jobs = {Phase.INFER: INFER_DONE, Phase.MANUAL: JobView("t-manual", failed=True)}
    decision = next_step(obs(manual_pending=False, jobs=jobs))
    assert decision.state == S.FAILED
    assert "manual scoring Job t-manual failed" in (decision.message or "")


def test_stop_while_waiting_then_resume_waits_again() -> None:
    stopped = next_step(obs(state=S.RUNNING_WITH_MANUAL_BEGIN, suspend=True))
    assert stopped.state == S.STOPPED
    resumed = next_step(obs(state=S.STOPPED))
    assert resumed.state == S.RUNNING_WITH_MANUAL_BEGIN


def test_without_a_console_pending_false_still_means_succeeded() -> None:
    decision = next_step(obs(phases=(Phase.INFER,), manual_pending=False))
    assert decision.state == S.SUCCEEDED


def test_a_judged_metric_over_budget_fails_before_anyone_annotates() -> None:
    from modeleval.reconcile.evaltask_scores import MetricFailuresView

    over = MetricFailuresView("judge", failed=9, total=10, max_error_ratio=0.1, over_budget=True)
    jobs = {Phase.INFER: INFER_DONE, Phase.SCORE: JobView("t-score", complete=True)}
    phases = (Phase.INFER, Phase.SCORE, Phase.MANUAL)
    decision = next_step(obs(phases=phases, jobs=jobs, score_failures=(over,)))
    assert decision.state == S.FAILED and decision.reason == "MetricFailed"
    within = MetricFailuresView("judge", failed=1, total=10, max_error_ratio=0.5, over_budget=False)
    waiting = next_step(obs(phases=phases, jobs=jobs, score_failures=(within,)))
    assert waiting.state == S.RUNNING_WITH_MANUAL_BEGIN
    assert waiting.degraded is not None  # the Degraded condition holds while people annotate
