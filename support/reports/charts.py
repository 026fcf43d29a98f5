"""Charts drawn on the server as SVG: the geometry of bars and lines from the figures.

No script is needed to see them; each chart sits next to a table of the same
numbers, which is what screen readers read (the SVG itself is one labelled image).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 26
MAX_LABELS = 8


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # the colour class: chart-a, chart-b, chart-line
    values: Sequence[float | None]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass
class Chart:
    title: str
    bars: list[Bar] = field(default_factory=list)
    lines: list[tuple[str, str]] = field(default_factory=list)  # (css, "x,y x,y …")
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    bottom: int = HEIGHT - BOTTOM

    @property
    def is_empty(self) -> bool:
        return not self.bars and not self.lines


def _nice_top(value: float) -> float:
    """A round number at or above `value` for the top of the axis (1, 2, 5 × 10ⁿ)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def bar_chart(
    title: str,
    labels: Sequence[str],
    bars: Sequence[Series],
    line: Series | None = None,
    top: float | None = None,
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    height: int = HEIGHT,
) -> Chart:
    """Grouped bars per label, and optionally a line over them, on one axis from 0."""
    chart = Chart(title, height=height, bottom=height - BOTTOM)
    values = [v for s in [*bars, *([line] if line else [])] for v in s.values if v is not None]
    if not labels or not values:
        return chart
    top = top or _nice_top(max(values))
    plot_h = chart.bottom - TOP
    slot = (chart.right - chart.left) / len(labels)
    width = slot * 0.8 / max(len(bars), 1)

    def y(value: float) -> float:
        return chart.bottom - plot_h * min(value, top) / top

    for i, label in enumerate(labels):
        for j, series in enumerate(bars):
            value = series.values[i]
            if value is None:
                continue
            x = chart.left + i * slot + slot * 0.1 + j * width
            chart.bars.append(
                Bar(
                    round(x, 1),
                    round(y(value), 1),
                    round(max(width - 1, 1), 1),
                    round(chart.bottom - y(value), 1),
                    series.css,
                    f"{label}: {series.name} {fmt(value)}",
                )
            )
    if line is not None:
        points = [
            f"{chart.left + (i + 0.5) * slot:.1f},{y(v):.1f}"
            for i, v in enumerate(line.values)
            if v is not None
        ]
        chart.lines.append((line.css, " ".join(points)))
    every = math.ceil(len(labels) / MAX_LABELS)
    chart.x_labels = [
        (round(chart.left + (i + 0.5) * slot, 1), label)
        for i, label in enumerate(labels)
        if i % every == 0
    ]
    chart.y_ticks = [(round(y(top * k / 2), 1), fmt(top * k / 2)) for k in range(3)]
    chart.legend = [(s.css, s.name) for s in [*bars, *([line] if line else [])]]
    return chart
