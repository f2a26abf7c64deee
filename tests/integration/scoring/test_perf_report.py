"""The performance task's report: chart geometry, content and escaping, the runner writing it."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from modeleval.runner.client import ClientSettings
from modeleval.runner.config import ModelRun, PerfSettings, RunConfig, RunSettings
from modeleval.runner.datasets import Item
from modeleval.runner.perf.phase import run_performance
from modeleval.scoring.charts import HEIGHT, MARGIN_TOP, PLOT_H, line_chart, nice_top
from modeleval.scoring.perf_report import PerfReport, render_perf_report, write_perf_report
from modeleval_testkit.mockserver import MockModelServer
from tests.support.browser import inspect_page

EVIL = "m<script>alert(1)</script>"


def level(parallel: int, rps: float, tps: float, e2e: float) -> dict[str, Any]:
    return {
        "parallel": parallel,
        "requests": 20,
        "succeeded": 19,
        "successRate": 0.95,
        "requestsPerSecond": rps,
        "outputTokensPerSecond": tps,
        "ttftMs": {"p50": 11.5, "p90": 17.25, "p99": 23.5, "mean": 12.0},
        "interTokenLatencyMs": {"p50": 2.5, "p90": 3.75, "p99": 4.5, "mean": 2.6},
        "latencyMs": {"p50": e2e, "p90": e2e * 1.5, "p99": e2e * 2, "mean": e2e},
    }


def sample() -> PerfReport:
    return PerfReport(
        task="perf-任务",
        models={
            EVIL: [level(1, 9.5, 38.25, 100.0), level(4, 30.75, 123.5, 400.0)],
            "base": [level(1, 8.0, 32.0, 110.0)],
        },
        total_score=123.5,
        best={EVIL: 4, "base": 1},
        latency_budget_ms=700,
    )


def test_nice_top_rounds_up_to_round_ticks() -> None:
    assert [nice_top(v) for v in (0, 1, 30.25, 121, 801)] == [4, 1, 40, 200, 1000]


def test_line_chart_places_points_on_their_own_axis() -> None:
    chart = line_chart(
        "t",
        [1, 2, 4],
        {"a": {1: 10.0, 2: None, 4: 40.0}},
        right={"b": {1: 100.0, 2: 200.0, 4: 400.0}},
        reference=("budget", 20.0),
    )
    a, b, budget = chart.series
    bottom = MARGIN_TOP + PLOT_H
    # a: top 40 on the left scale, the missing level is skipped
    assert [round(p.y, 3) for p in a.points] == [bottom - PLOT_H / 4, MARGIN_TOP]
    assert a.points[0].x < a.points[1].x and not a.dashed
    # b: own scale (top 400), dashed, so 400 is at the top too
    assert [round(p.y, 3) for p in b.points] == [
        bottom - PLOT_H / 4,
        bottom - PLOT_H / 2,
        MARGIN_TOP,
    ]
    assert b.dashed
    assert {round(p.y, 3) for p in budget.points} == {bottom - PLOT_H / 2}
    assert [lb.text for lb in chart.labels if lb.y == HEIGHT - 10] == ["1", "2", "4"]
    assert [g.text for g in chart.gridlines] == ["0", "10", "20", "30", "40"]
    assert "400" in [lb.text for lb in chart.labels if lb.anchor == "start"]


def test_report_has_table_plots_and_escapes_names() -> None:
    html = render_perf_report(sample())
    assert html.count("<svg") == 2
    assert 'id="chart-latency"' in html and 'id="chart-throughput"' in html
    assert "<script" not in html.lower()
    assert "m&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "perf-任务" in html
    total = re.search(r'id="total-score">([^<]*)<', html)
    assert total is not None and total.group(1) == "123.50"
    rows = re.findall(r"<tr( class=\"best\")?>\s*<td>([^<]*)</td>\s*<td class=\"num\">(\d+)", html)
    assert [(bool(best), parallel) for best, _, parallel in rows] == [
        (False, "1"),
        (True, "4"),
        (True, "1"),
    ]
    for value in ("95.0%", "30.75", "123.5", "11.5", "17.2", "23.5", "2.5", "3.8", "600.0"):
        assert f'<td class="num">{value}</td>' in html, value
    assert "700 ms" in html and "latencyBudgetMs" in html
    assert "https://" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


async def test_performance_phase_writes_the_report(tmp_path: Path) -> None:
    server = MockModelServer(ttft_s=0.01, itl_s=0.002, output_tokens=4)
    with server.running():
        config = RunConfig(
            task_name="perf-demo",
            namespace="ns",
            models=(
                ModelRun(
                    name="m",
                    url=server.url,
                    model="mock",
                    client=ClientSettings(parallel=2),
                ),
            ),
            dataset=None,
            settings=RunSettings(results_dir=tmp_path),
            performance=PerfSettings(levels=(1, 2), requests_per_level=4),
        )
        code = await run_performance(
            config, [Item(id="0", input="hi")], sink=None, stop=asyncio.Event()
        )
    assert code == 0
    html = (tmp_path / "report.html").read_text("utf-8")
    levels = json.loads((tmp_path / "performance.json").read_text())["models"]["m"]
    assert [lv["parallel"] for lv in levels] == [1, 2]
    assert "Performance: perf-demo" in html and html.count("<svg") == 2
    for lv in levels:
        assert f'<td class="num">{lv["outputTokensPerSecond"]:.1f}</td>' in html
        assert f'<td class="num">{lv["ttftMs"]["p50"]:.1f}</td>' in html
    assert html.count('class="best"') == 1


async def test_perf_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    write_perf_report(path, sample())
    page = await inspect_page(
        path,
        {
            "svgs": "document.querySelectorAll('svg.chart').length",
            "latencyLines": "document.querySelectorAll('#chart-latency polyline').length",
            "throughputDots": "document.querySelectorAll('#chart-throughput circle').length",
            "rows": "document.querySelectorAll('#levels tr').length",
            "plotWidth": "document.querySelector('#chart-latency polyline').getBBox().width",
            "title": "document.title",
        },
    )
    assert page.loaded
    assert page.console_errors == [] and page.exceptions == []
    assert all(url.startswith("file://") for url in page.requests), page.requests
    assert page.values["svgs"] == 2
    assert page.values["latencyLines"] == 2 * 3 + 1  # TTFT p50, e2e p50, e2e p90 + budget
    assert page.values["throughputDots"] == 2 * (2 + 1)  # req/s and tokens/s per level
    assert page.values["rows"] == 2 + 3  # two header rows, three levels
    assert page.values["plotWidth"] > 100
    assert page.values["title"] == "Performance: perf-任务"
