"""The HTML report of a performance task: per-level table, latency and throughput plots.

Input is what the runner's performance phase records (``performance.json``: for each model,
``PerformanceLevel`` entries in camelCase). Rendered with the scoring report's Jinja2
environment (autoescaping on) and chart geometry (inline SVG): no scripts, nothing loaded
from the network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modeleval.redact import mask
from modeleval.scoring.charts import Chart, line_chart
from modeleval.scoring.report import TEMPLATES

TEMPLATE = "perf_report.html.j2"
REPORT_FILE = "report.html"

DEFINITION = (
    "totalScore of a performance task is the output tokens/s of the first model at the "
    "concurrency level with the most output tokens/s among the levels whose end-to-end p90 "
    "latency met spec.performance.latencyBudgetMs (among all levels with a successful "
    "request when no budget is set); none when no level qualifies."
)

Levels = Mapping[str, Sequence[Mapping[str, Any]]]
"""Model name -> its levels, each a ``PerformanceLevel`` (status.performance.levels[])."""


@dataclass(frozen=True, slots=True)
class PerfReport:
    task: str
    models: Levels
    total_score: float | None
    best: Mapping[str, int | None] = field(default_factory=dict)
    """Each model's chosen level (its ``parallel``), None when no level qualified."""
    latency_budget_ms: float | None = None


def _categories(models: Levels) -> list[float]:
    return sorted({float(level["parallel"]) for levels in models.values() for level in levels})


def _series(levels: Sequence[Mapping[str, Any]], key: str, stat: str | None) -> dict[float, Any]:
    """{parallel: value} of one field (``stat`` picks p50/p90/... inside a latency dict)."""
    out: dict[float, Any] = {}
    for level in levels:
        value = level.get(key)
        if stat is not None:
            value = (value or {}).get(stat)
        out[float(level["parallel"])] = value
    return out


def latency_chart(report: PerfReport) -> Chart:
    """TTFT p50 and end-to-end p50/p90 (ms) per model against concurrency."""
    data: dict[str, dict[float, Any]] = {}
    for model, levels in report.models.items():
        data[f"{model} TTFT p50"] = _series(levels, "ttftMs", "p50")
        data[f"{model} e2e p50"] = _series(levels, "latencyMs", "p50")
        data[f"{model} e2e p90"] = _series(levels, "latencyMs", "p90")
    categories = _categories(report.models)
    budget = report.latency_budget_ms
    return line_chart(
        "Latency vs concurrency (parallel)",
        categories,
        data,
        left_unit="ms",
        reference=("p90 budget (ms)", budget) if budget is not None else None,
    )


def throughput_chart(report: PerfReport) -> Chart:
    """Requests/s (left axis) and output tokens/s (right axis) per model against concurrency."""
    requests = {
        f"{m} req/s": _series(lv, "requestsPerSecond", None) for m, lv in report.models.items()
    }
    tokens = {
        f"{m} output tokens/s": _series(lv, "outputTokensPerSecond", None)
        for m, lv in report.models.items()
    }
    return line_chart(
        "Throughput vs concurrency (parallel)",
        _categories(report.models),
        requests,
        right=tokens,
        left_unit="req/s",
        right_unit="tokens/s",
    )


def render_perf_report(report: PerfReport) -> str:
    """The report as one HTML string."""
    return TEMPLATES.get_template(TEMPLATE).render(
        title=f"Performance: {report.task}",
        report=report,
        definition=DEFINITION,
        charts={"latency": latency_chart(report), "throughput": throughput_chart(report)},
    )


def write_perf_report(path: Path, report: PerfReport) -> None:
    path.write_text(mask(render_perf_report(report)), encoding="utf-8")
