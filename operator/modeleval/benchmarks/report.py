"""The files of a benchmark task's scoring: ``scores.jsonl``, ``summary.json``, ``report.html``.

The report is one self-contained page (inline CSS, no scripts, nothing fetched): overall, per
category and per subset, and the wrong answers; every text is escaped.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from modeleval.benchmarks.results import BenchmarkSummary, ItemScore

SCORES_FILE = "scores.jsonl"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"

WRONG_SHOWN = 25

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3} td.n{text-align:right;font-variant-numeric:tabular-nums}
.bar{background:#4a7bd0;height:10px;display:inline-block}
.small{color:#666;font-size:90%} pre{white-space:pre-wrap;margin:0;max-width:40em}
"""


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _bar(value: float | None) -> str:
    width = 0 if value is None else max(0.0, min(100.0, value))
    return f'<span class="bar" style="width:{width:.0f}px"></span>'


def render_report(summary: BenchmarkSummary, title: str) -> str:
    variant = summary.variant
    headline = variant.headline
    models = summary.models
    names = variant.metric_names
    out = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>{escape(summary.definition)}</p>",
        "<h2>Overall</h2><table><tr><th>model</th><th>totalScore</th>",
    ]
    out += [f"<th>{escape(n)} (micro)</th><th>{escape(n)} (macro)</th>" for n in names]
    out.append("<th>scored</th><th>excluded</th></tr>")
    for model in models:
        cells = "".join(
            f"<td class='n'>{_num(model.result.micro.get(n, 0) * 100)}</td>"
            f"<td class='n'>{_num(model.result.macro.get(n, 0) * 100)}</td>"
            for n in names
        )
        out.append(
            f"<tr><td>{escape(model.model)}</td><td class='n'>{_num(model.total_score)}</td>"
            f"{cells}<td class='n'>{model.result.items}</td>"
            f"<td class='n'>{model.excluded}</td></tr>"
        )
    out.append("</table>")
    header = "".join(f"<th>{escape(m.model)}</th>" for m in models)
    for label, attribute in (("Categories", "categories"), ("Subsets", "subsets")):
        rows: dict[str, list[float | None]] = {}
        info: dict[str, tuple[int, str]] = {}
        for index, model in enumerate(models):
            for group in getattr(model.result, attribute):
                rows.setdefault(group.name, [None] * len(models))[index] = (
                    group.scores[headline] * 100
                )
                info[group.name] = (group.items, group.category)
        if len(rows) <= 1 and attribute == "categories":
            continue
        extra = "<th>category</th>" if attribute == "subsets" else ""
        out.append(f"<h2>{label} ({escape(headline)})</h2><table><tr><th>name</th>{extra}")
        out.append(f"<th>items</th>{header}</tr>")
        for name, values in rows.items():
            items, category = info[name]
            cat = f"<td>{escape(category)}</td>" if attribute == "subsets" else ""
            cells = "".join(f"<td class='n'>{_num(v)} {_bar(v)}</td>" for v in values)
            out.append(f"<tr><td>{escape(name)}</td>{cat}<td class='n'>{items}</td>{cells}</tr>")
        out.append("</table>")
    for model in models:
        wrong = [i for i in model.items if i.error is None and i.scores.get(headline) == 0.0]
        failed = [i for i in model.items if i.error is not None]
        out.append(
            f"<h2>{escape(model.model)}: wrong answers</h2><p class='small'>{len(wrong)} wrong, "
            f"{len(failed)} excluded; the first {min(len(wrong), WRONG_SHOWN)} shown.</p>"
        )
        out.append(
            "<table><tr><th>item</th><th>question</th><th>expected</th><th>answer</th>"
            "<th>extracted</th></tr>"
        )
        for item in wrong[:WRONG_SHOWN]:
            extracted = ", ".join(f"{k}: {v}" for k, v in item.extracted.items())
            out.append(
                f"<tr><td>{escape(item.id)}</td><td><pre>{escape(item.question[:600])}</pre></td>"
                f"<td><pre>{escape(item.target[:300])}</pre></td>"
                f"<td><pre>{escape(str(item.answer)[:600])}</pre></td>"
                f"<td>{escape(extracted)}</td></tr>"
            )
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)


def write_results(out: Path, summary: BenchmarkSummary, title: str) -> None:
    """``scores.jsonl`` (one line per item, every model), ``summary.json``, ``report.html``."""
    out.mkdir(parents=True, exist_ok=True)
    ids: dict[str, ItemScore] = {}
    by_model: dict[str, dict[str, ItemScore]] = {}
    for result in summary.models:
        by_model[result.model] = {one.id: one for one in result.items}
        for one in result.items:
            ids.setdefault(one.id, one)
    with (out / SCORES_FILE).open("w", encoding="utf-8") as fh:
        for item_id, first in ids.items():
            line: dict[str, Any] = {
                "id": item_id,
                "subset": first.subset,
                "input": first.question,
                "target": first.target,
                "models": {},
            }
            for name, items in by_model.items():
                scored = items.get(item_id)
                if scored is None:
                    line["models"][name] = {"answer": None, "error": "no prediction"}
                    continue
                entry: dict[str, Any] = {"answer": scored.answer, "metrics": scored.scores}
                if scored.extracted:
                    entry["extracted"] = scored.extracted
                if scored.logprobs is not None:
                    entry["logprobs"] = scored.logprobs
                if scored.error:
                    entry["error"] = scored.error
                line["models"][name] = entry
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    (out / SUMMARY_FILE).write_text(
        json.dumps(summary.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    (out / REPORT_FILE).write_text(render_report(summary, title), encoding="utf-8")
