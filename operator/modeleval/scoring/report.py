"""The self-contained HTML report: summary tables, inline SVG charts, worst items.

Rendered with Jinja2 (autoescaping on, so answers containing ``<script>`` or CJK text are
shown as text). The page has no scripts and loads nothing from the network.
"""

from __future__ import annotations

from pathlib import Path
from statistics import fmean
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from modeleval.redact import mask
from modeleval.scoring.charts import Chart, grouped_bars, gsb_bar, histogram
from modeleval.scoring.config import ScoringConfig
from modeleval.scoring.records import ItemRecord
from modeleval.scoring.summary import Summary

TEMPLATE = "report.html.j2"
TEMPLATES = Environment(  # the report templates; perf_report renders with it too
    loader=PackageLoader("modeleval.scoring", "templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def item_score(record: ItemRecord, model: str, max_score: float) -> float | None:
    """Mean of one answer's scores on 0-100 (rule metrics and the normalised judge score)."""
    result = record.models[model]
    values = [v * 100 for v in result.metrics.values()]
    if result.judge_score is not None:
        values.append(result.judge_score / max_score * 100)
    return fmean(values) if values else None


def metric_values(
    records: list[ItemRecord], metric: str, max_score: float
) -> dict[str, list[float]]:
    """Every item's value of ``metric`` per model, on 0-100."""
    out: dict[str, list[float]] = {}
    for record in records:
        for model, result in record.models.items():
            values = out.setdefault(model, [])
            if metric == "judge":
                if result.judge_score is not None:
                    values.append(result.judge_score / max_score * 100)
            elif metric in result.metrics:
                values.append(result.metrics[metric] * 100)
    return out


def worst_items(records: list[ItemRecord], limit: int, max_score: float) -> list[dict[str, Any]]:
    """The ``limit`` lowest-scoring (item, model) answers, failures first."""
    rows: list[dict[str, Any]] = []
    for record in records:
        for model, result in record.models.items():
            score = item_score(record, model, max_score)
            error = result.error or result.judge_error
            rows.append(
                {
                    "id": record.id,
                    "model": model,
                    "score": score,
                    "input": record.input,
                    "target": record.target,
                    "answer": result.answer or "",
                    "error": error,
                    "reason": result.judge_reason or "",
                }
            )
    rows.sort(key=lambda r: (r["error"] is None, r["score"] if r["score"] is not None else -1))
    return rows[:limit]


def build_charts(
    summary: Summary, records: list[ItemRecord], config: ScoringConfig
) -> dict[str, Any]:
    max_score = config.judge.max_score
    histograms: list[Chart] = [
        histogram(f"{metric} — distribution (0-100)", metric_values(records, metric, max_score))
        for metric in summary.metrics
        if metric != "gsb"
    ]
    comparison = grouped_bars(
        "Per-model comparison (0-100)",
        {model: data["metrics"] for model, data in summary.per_model.items()},
    )
    gsb = None
    if summary.gsb is not None:
        g = summary.gsb
        gsb = gsb_bar(
            f"GSB: {g['candidate']} vs {g['baseline']} (net {g['net']:+.3f})",
            g["good"],
            g["same"],
            g["bad"],
        )
    return {"histograms": histograms, "comparison": comparison, "gsb": gsb}


def render_report(
    summary: Summary, records: list[ItemRecord], config: ScoringConfig, *, title: str
) -> str:
    """The report as one HTML string."""
    return TEMPLATES.get_template(TEMPLATE).render(
        title=title,
        summary=summary,
        charts=build_charts(summary, records, config),
        worst=worst_items(records, config.worst_items, config.judge.max_score),
    )


def write_report(
    path: Path,
    summary: Summary,
    records: list[ItemRecord],
    config: ScoringConfig,
    *,
    title: str = "modeleval report",
) -> None:
    html = render_report(summary, records, config, title=title)
    path.write_text(mask(html), encoding="utf-8")
