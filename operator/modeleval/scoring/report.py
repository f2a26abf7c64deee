"""The self-contained HTML report: summary tables, inline SVG charts, worst items.

Rendered with Jinja2 (autoescaping on, so answers containing ``<script>`` or CJK text are
shown as text). The page has no scripts and loads nothing from the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from modeleval.redact import mask
from modeleval.scoring.accumulate import ReportData, ScoreAccumulator
from modeleval.scoring.charts import Chart, grouped_bars, gsb_bar, histogram_of_counts
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


def build_charts(summary: Summary, data: ReportData, config: ScoringConfig) -> dict[str, Any]:
    histograms: list[Chart] = [
        histogram_of_counts(f"{metric} — distribution (0-100)", data.histograms.get(metric, {}))
        for metric in summary.metrics
        if metric != "gsb"
    ]
    comparison = grouped_bars(
        "Per-model comparison (0-100)",
        {model: values["metrics"] for model, values in summary.per_model.items()},
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


def render_report_data(
    summary: Summary, data: ReportData, config: ScoringConfig, *, title: str
) -> str:
    """The report as one HTML string, from the summary and the accumulated report data."""
    return TEMPLATES.get_template(TEMPLATE).render(
        title=title,
        summary=summary,
        charts=build_charts(summary, data, config),
        worst=data.worst,
    )


def write_report_data(
    path: Path,
    summary: Summary,
    data: ReportData,
    config: ScoringConfig,
    *,
    title: str = "modeleval report",
) -> None:
    path.write_text(mask(render_report_data(summary, data, config, title=title)), encoding="utf-8")


def report_data(records: list[ItemRecord], config: ScoringConfig, summary: Summary) -> ReportData:
    """Histograms and worst rows of records held in memory."""
    models = list(dict.fromkeys(m for r in records for m in r.models))
    names = [m for m in summary.metrics if m != "gsb"]
    accumulator = ScoreAccumulator(config, models, names, None)
    accumulator.add(records)
    return accumulator.report_data()


def render_report(
    summary: Summary, records: list[ItemRecord], config: ScoringConfig, *, title: str
) -> str:
    """The report as one HTML string."""
    return render_report_data(summary, report_data(records, config, summary), config, title=title)


def write_report(
    path: Path,
    summary: Summary,
    records: list[ItemRecord],
    config: ScoringConfig,
    *,
    title: str = "modeleval report",
) -> None:
    write_report_data(path, summary, report_data(records, config, summary), config, title=title)
