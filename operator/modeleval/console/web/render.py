"""Server-rendered pages: one Jinja2 environment (autoescaping always on: model answers and
dataset texts are untrusted), the filters the templates use, and chart geometry.

Pages carry no script at all (the Content-Security-Policy forbids scripts); charts are inline
SVG built by :mod:`modeleval.scoring.charts`, styled by the console's stylesheet only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from modeleval import __version__
from modeleval.console.auth import Identity
from modeleval.scoring.charts import PALETTE, Chart, grouped_bars, gsb_bar, histogram_of_counts

ENV = Environment(
    loader=PackageLoader("modeleval.console", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def fmt_score(value: Any, digits: int = 1) -> str:
    if value is None or value == "":
        return "—"
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def fmt_time(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def fmt_delta(value: Any) -> str:
    if value is None:
        return "—"
    return f"{float(value):+.1f}"


def delta_class(value: Any, tolerance: float = 0.05) -> str:
    if value is None:
        return ""
    return "up" if value > tolerance else "down" if value < -tolerance else "same"


ENV.filters.update(score=fmt_score, when=fmt_time, delta=fmt_delta, delta_class=delta_class)
ENV.globals.update(app_version=__version__, palette=PALETTE)


def page(
    request: Request,
    template: str,
    *,
    identity: Identity | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` with the caller, its CSRF token and the request."""
    csrf = ""
    if identity is not None:
        csrf = request.app.state.services.auth.csrf_token(identity)
    html = ENV.get_template(template).render(
        request=request, identity=identity, csrf=csrf, **context
    )
    return HTMLResponse(html, status_code=status)


def task_charts(summary: Mapping[str, Any] | None, charts: Mapping[str, Any] | None) -> list[Chart]:
    """The report's plots: per-model metric bars, GSB, each metric's distribution."""
    result: list[Chart] = []
    per_model = (summary or {}).get("perModel") or {}
    scores = {model: data.get("metrics") or {} for model, data in per_model.items()}
    if any(scores.values()):
        result.append(grouped_bars("Metric means per model (0-100)", scores))
    gsb = (summary or {}).get("gsb")
    if gsb:
        result.append(
            gsb_bar(
                f"GSB: {gsb.get('candidate')} vs {gsb.get('baseline')}",
                int(gsb.get("good") or 0),
                int(gsb.get("same") or 0),
                int(gsb.get("bad") or 0),
            )
        )
    for metric, counts in sorted(((charts or {}).get("histograms") or {}).items()):
        result.append(histogram_of_counts(f"{metric}: item scores (0-100)", counts))
    return result
