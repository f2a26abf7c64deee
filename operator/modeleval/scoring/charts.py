"""Chart geometry for the HTML report: plain data (rectangles, labels) the template draws as
inline SVG. No plotting library and no script: the report opens offline in any browser."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1")
REFERENCE_COLOUR = "#999999"
GSB_COLOURS = {"good": "#59a14f", "same": "#bab0ac", "bad": "#e15759"}

WIDTH = 520
HEIGHT = 220
MARGIN_LEFT = 40
MARGIN_BOTTOM = 30
MARGIN_TOP = 16
PLOT_W = WIDTH - MARGIN_LEFT - 10
PLOT_H = HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
MARGIN_RIGHT_AXIS = 50


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True, slots=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float
    title: str


@dataclass(slots=True)
class Series:
    """One polyline with a marker (and a hover title) at each point."""

    name: str
    colour: str
    points: list[Point] = field(default_factory=list)
    dashed: bool = False

    @property
    def path(self) -> str:
        """The ``points`` attribute of an SVG ``<polyline>``."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(slots=True)
class Chart:
    """One SVG: bars or line series, axis labels, legend entries (name, colour)."""

    title: str
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    gridlines: list[Label] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    plot_right: float = WIDTH - 10
    """Where gridlines end (further left when a right-hand axis is drawn)."""


def _y_axis(chart: Chart, top_value: float, unit: str = "") -> None:
    for i in range(5):
        value = top_value * i / 4
        y = MARGIN_TOP + PLOT_H - PLOT_H * i / 4
        text = f"{value:.0f}{unit}" if top_value >= 8 else f"{value:.3g}{unit}"
        chart.gridlines.append(Label(MARGIN_LEFT - 4, y, text, "end"))


def histogram(title: str, values_by_model: Mapping[str, Sequence[float]], bins: int = 10) -> Chart:
    """Distribution of 0-100 scores, one colour per model, bars side by side in each bin."""
    counts: dict[str, list[int]] = {}
    for model, values in values_by_model.items():
        c = [0] * bins
        for v in values:
            c[min(int(max(v, 0.0) / 100 * bins), bins - 1)] += 1
        counts[model] = c
    return histogram_of_counts(title, counts)


def histogram_of_counts(title: str, counts: Mapping[str, Sequence[int]]) -> Chart:
    """`histogram` from counts already binned: {model: [count per equal bin of 0-100]}."""
    chart = Chart(title=title)
    bins = max((len(c) for c in counts.values()), default=10) or 10
    top = max((n for c in counts.values() for n in c), default=0) or 1
    _y_axis(chart, top)
    bin_w = PLOT_W / bins
    bar_w = bin_w * 0.9 / max(len(counts), 1)
    for m_index, (model, c) in enumerate(counts.items()):
        colour = PALETTE[m_index % len(PALETTE)]
        chart.legend.append((model, colour))
        for b, n in enumerate(c):
            h = PLOT_H * n / top
            x = MARGIN_LEFT + b * bin_w + bin_w * 0.05 + m_index * bar_w
            lo, hi = 100 * b / bins, 100 * (b + 1) / bins
            chart.bars.append(
                Bar(
                    x, MARGIN_TOP + PLOT_H - h, bar_w, h, colour, f"{model}: {lo:.0f}-{hi:.0f}: {n}"
                )
            )
    for b in range(bins + 1):
        if b % 2 == 0:
            x = MARGIN_LEFT + b * bin_w
            chart.labels.append(Label(x, HEIGHT - 10, f"{100 * b / bins:.0f}"))
    return chart


def grouped_bars(title: str, scores: Mapping[str, Mapping[str, float]]) -> Chart:
    """Per-model comparison: one group per metric, one bar per model, scale 0-100."""
    chart = Chart(title=title)
    metrics = list(dict.fromkeys(k for s in scores.values() for k in s))
    _y_axis(chart, 100)
    group_w = PLOT_W / max(len(metrics), 1)
    bar_w = group_w * 0.8 / max(len(scores), 1)
    for m_index, (model, values) in enumerate(scores.items()):
        colour = PALETTE[m_index % len(PALETTE)]
        chart.legend.append((model, colour))
        for g, metric in enumerate(metrics):
            if metric not in values:
                continue
            v = max(0.0, min(values[metric], 100.0))
            h = PLOT_H * v / 100
            x = MARGIN_LEFT + g * group_w + group_w * 0.1 + m_index * bar_w
            title_text = f"{model} · {metric}: {values[metric]:.2f}"
            chart.bars.append(Bar(x, MARGIN_TOP + PLOT_H - h, bar_w, h, colour, title_text))
    for g, metric in enumerate(metrics):
        chart.labels.append(Label(MARGIN_LEFT + g * group_w + group_w / 2, HEIGHT - 10, metric))
    return chart


def gsb_bar(title: str, good: int, same: int, bad: int) -> Chart:
    """One horizontal bar split into Good / Same / Bad shares."""
    chart = Chart(title=title, height=90)
    total = good + same + bad
    x = float(MARGIN_LEFT)
    for name, n in (("good", good), ("same", same), ("bad", bad)):
        colour = GSB_COLOURS[name]
        chart.legend.append((f"{name.capitalize()} {n}", colour))
        w = PLOT_W * n / total if total else 0.0
        share = 100 * n / total if total else 0.0
        chart.bars.append(Bar(x, 20, w, 36, colour, f"{name}: {n} ({share:.1f}%)"))
        if w > 30:
            chart.labels.append(Label(x + w / 2, 43, f"{share:.0f}%"))
        x += w
    return chart


def nice_top(value: float, ticks: int = 4) -> float:
    """The smallest axis top >= ``value`` whose ``ticks`` steps are 1, 2, 2.5 or 5 x 10^k."""
    if value <= 0:
        return float(ticks)
    step = value / ticks
    scale = 10.0 ** math.floor(math.log10(step))
    nice = next(m for m in (1.0, 2.0, 2.5, 5.0, 10.0) if step <= m * scale * (1 + 1e-9))
    return ticks * nice * scale


def _axis_labels(chart: Chart, top: float, x: float, anchor: str, *, grid: bool) -> None:
    """Five value labels from 0 to ``top`` at ``x``; ``grid`` also draws the gridlines."""
    for i in range(5):
        y = MARGIN_TOP + PLOT_H - PLOT_H * i / 4
        label = Label(x, y, f"{top * i / 4:g}", anchor)
        if grid:
            chart.gridlines.append(label)
        else:
            chart.labels.append(Label(x, y + 4, label.text, anchor))


def line_chart(
    title: str,
    categories: Sequence[float],
    left: Mapping[str, Mapping[float, float | None]],
    *,
    right: Mapping[str, Mapping[float, float | None]] | None = None,
    left_unit: str = "",
    right_unit: str = "",
    reference: tuple[str, float] | None = None,
) -> Chart:
    """Series over evenly spaced categories (e.g. concurrency levels 1, 4, 16, 64).

    ``left`` and ``right`` map a series name to {category: value}; missing or None values are
    skipped (the line joins its neighbours). ``right`` series (dashed) use their own scale,
    labelled on the right-hand side, so quantities of different size can share one chart.
    ``reference`` (name, value) draws a grey dashed level on the left scale, e.g. a budget.
    """
    right = right or {}
    chart = Chart(title=title)
    plot_right = WIDTH - (MARGIN_RIGHT_AXIS if right else 10)
    chart.plot_right = plot_right
    width = plot_right - MARGIN_LEFT
    step = width / max(len(categories), 1)
    x_of = {c: MARGIN_LEFT + step * (i + 0.5) for i, c in enumerate(categories)}

    def top_of(data: Mapping[str, Mapping[float, float | None]], *extra: float) -> float:
        values = [v for s in data.values() for v in s.values() if v is not None]
        return nice_top(max([*values, *extra], default=0.0))

    left_top = top_of(left, *([reference[1]] if reference is not None else []))
    _axis_labels(chart, left_top, MARGIN_LEFT - 4, "end", grid=True)
    if left_unit:
        chart.labels.append(Label(MARGIN_LEFT - 4, MARGIN_TOP - 6, left_unit, "end"))
    axes: list[tuple[Mapping[str, Mapping[float, float | None]], float, bool]] = [
        (left, left_top, False)
    ]
    if right:
        right_top = top_of(right)
        axes.append((right, right_top, True))
        _axis_labels(chart, right_top, plot_right + 4, "start", grid=False)
        if right_unit:
            chart.labels.append(Label(plot_right + 4, MARGIN_TOP - 6, right_unit, "start"))
    index = 0
    for data, top, dashed in axes:
        for name, values in data.items():
            colour = PALETTE[index % len(PALETTE)]
            index += 1
            series = Series(name=name, colour=colour, dashed=dashed)
            for category in categories:
                value = values.get(category)
                if value is None:
                    continue
                y = MARGIN_TOP + PLOT_H - PLOT_H * min(max(value, 0.0), top) / top
                series.points.append(Point(x_of[category], y, f"{name} @ {category:g}: {value:g}"))
            chart.series.append(series)
            chart.legend.append((name + (" (right axis)" if dashed else ""), colour))
    if reference is not None and categories:
        name, value = reference
        y = MARGIN_TOP + PLOT_H - PLOT_H * max(value, 0.0) / left_top
        line = Series(name=name, colour=REFERENCE_COLOUR, dashed=True)
        line.points = [Point(x, y, f"{name}: {value:g}") for x in x_of.values()]
        chart.series.append(line)
        chart.legend.append((f"{name}: {value:g}", REFERENCE_COLOUR))
    for category, x in x_of.items():
        chart.labels.append(Label(x, HEIGHT - 10, f"{category:g}"))
    return chart
