"""The HTML report: content, escaping, and rendering in headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modeleval.scoring import ScoringConfig, score_results
from tests.support.browser import inspect_page
from tests.support.judges import FAST_JUDGE, ScriptedJudge, gsb_predictions


@pytest.fixture
async def report_dir(tmp_path: Path) -> Path:
    preds = gsb_predictions()
    # Text that must be escaped, and CJK text that must survive intact (item 9 fails its
    # judge calls, so it is among the worst items shown).
    preds["cand"][8]["input"] = "<script>console.error('injected')</script> 北京是哪国的首都？"
    preds["cand"][1]["output"] = "答案 <img src=x onerror=alert(1)> q=0"
    config = ScoringConfig.model_validate(
        {
            "evalMode": "rule,model,manual",
            "baseline": "base",
            "autoModelEvalConfig": {**FAST_JUDGE, "client": {"maxErrorRatio": 0.2}},
            "manualEvalConfig": {"evalDimension": [{"dimension": "流畅度"}]},
            "worstItems": 5,
        }
    )
    judge = ScriptedJudge(fail={"FAIL9": 10_000}, position_bias="BIAS")
    await score_results(config, preds, tmp_path, judge, title="评测报告 <demo>")
    return tmp_path


def test_report_content_is_escaped_and_complete(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text("utf-8")
    summary = json.loads((report_dir / "summary.json").read_text("utf-8"))
    assert "<script" not in html.lower()  # user text is escaped, the page has no scripts
    assert "&lt;script&gt;console.error(&#39;injected&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "北京是哪国的首都？" in html and "评测报告 &lt;demo&gt;" in html
    assert f"{summary['totalScore']:.2f}" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    assert "流畅度" in html and "satisfaction" in html
    assert html.count('id="worst-items"') == 1
    # Failed items per judged metric (item 9's judge calls fail), and the GSB flips.
    assert '<table id="failures">' in html and 'id="over-budget"' not in html
    assert "judge call failed: ConnectionError (1)" in html
    assert f'<td class="num">{summary["gsb"]["flipped"]}</td>' in html


async def test_report_says_which_metric_is_over_budget(tmp_path: Path) -> None:
    config = ScoringConfig.model_validate(
        {"evalMode": "rule,model", "baseline": "base", "autoModelEvalConfig": FAST_JUDGE}
    )
    judge = ScriptedJudge(fail={"FAIL9": 10_000})  # 1 of 9 pairs: 11% > 10%
    summary = await score_results(config, gsb_predictions(), tmp_path, judge)
    html = (tmp_path / "report.html").read_text("utf-8")
    assert [f["metric"] for f in summary.over_budget] == ["gsb"]
    assert "Over the error budget: gsb. The task failed" in html
    assert 'id="total-score">—<' in html


async def test_report_renders_in_headless_chromium(report_dir: Path) -> None:
    summary = json.loads((report_dir / "summary.json").read_text("utf-8"))
    page = await inspect_page(
        report_dir / "report.html",
        {
            "title": "document.title",
            "svgs": "document.querySelectorAll('svg.chart').length",
            "hist": "document.querySelectorAll('svg[id^=chart-hist-]').length",
            "comparisonBars": "document.querySelectorAll('#chart-comparison rect').length",
            "gsbBars": "[...document.querySelectorAll('#chart-gsb rect')]"
            ".map(r => Math.round(r.getBBox().width))",
            "worstRows": "document.querySelectorAll('#worst-items tr').length",
            "total": "document.getElementById('total-score').textContent",
            "svgWidth": "document.getElementById('chart-comparison').getBBox().width",
        },
    )
    assert page.loaded
    assert page.console_errors == [] and page.exceptions == []
    assert all(url.startswith("file://") for url in page.requests), page.requests
    assert page.values["title"] == "评测报告 <demo>"
    metrics = [m for m in summary["metrics"] if m != "gsb"]
    assert page.values["hist"] == len(metrics) == 5  # accuracy, rougeL, bleu, editDistance, judge
    assert page.values["svgs"] == len(metrics) + 2  # + comparison + GSB
    assert page.values["comparisonBars"] == 2 * len(metrics)
    good, same, bad = (summary["gsb"][k] for k in ("good", "same", "bad"))
    widths = page.values["gsbBars"]
    # Item 2's candidate answer was made worse (q=0) above: G=3, S=2, B=3.
    assert (good, same, bad) == (3, 2, 3)
    assert len(widths) == 3
    for width, count in zip(widths, (good, same, bad), strict=True):
        assert width / sum(widths) == pytest.approx(count / (good + same + bad), abs=0.01)
    assert page.values["worstRows"] == 1 + 5
    assert page.values["total"] == f"{summary['totalScore']:.2f}"
    assert page.values["svgWidth"] > 100


async def test_browser_check_detects_errors_and_network(tmp_path: Path) -> None:
    # The checker itself must be able to fail: a page with a console error, an exception
    # and a remote image.
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<html><body><img src='http://127.0.0.1:9/x.png'>"
        "<script>console.error('boom'); undefinedFunction();</script></body></html>",
        encoding="utf-8",
    )
    page = await inspect_page(bad, {"n": "1 + 1"})
    assert any("boom" in e for e in page.console_errors)
    assert page.exceptions
    assert "http://127.0.0.1:9/x.png" in page.requests
    assert page.values == {"n": 2}
