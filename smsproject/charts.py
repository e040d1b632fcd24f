"""Line charts drawn as SVG on the server: no script and no asset from elsewhere, so a page shows its charts
on a host without internet, and what a browser draws is in the HTML it was sent."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 28  # room for the axis labels
COLOURS = ("#2f6fb0", "#d9822b", "#3a9a4a", "#b03a3a", "#7b4fb0", "#6b6b6b")


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: float
    label: str


@dataclass(frozen=True)
class Line:
    name: str
    colour: str
    points: list[Point]

    @property
    def polyline(self) -> str:
        return " ".join(f"{point.x:.1f},{point.y:.1f}" for point in self.points)


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    lines: list[Line]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    top: int = TOP
    bottom_edge: int = HEIGHT - BOTTOM


def line_chart(title: str, unit: str, labels: list[str], series: dict[str, list[float | None]]) -> Chart:
    """One line per series over ``labels`` (the x axis, evenly spaced); a ``None`` value draws no point."""
    highest = max((value for values in series.values() for value in values if value), default=0)
    top_value = 4 * max(_nice_ceiling(highest / 4), 1.0)  # four gridlines, each at a round whole number
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_width / max(len(labels) - 1, 1)

    def y_of(value: float) -> float:
        return TOP + plot_height * (1 - value / top_value)

    lines = [
        Line(
            name,
            COLOURS[index % len(COLOURS)],
            [
                Point(LEFT + position * step, y_of(value), value, labels[position])
                for position, value in enumerate(values)
                if value is not None
            ],
        )
        for index, (name, values) in enumerate(series.items())
    ]
    y_ticks = [Tick(y_of(top_value * share / 4), _number(top_value * share / 4)) for share in range(5)]
    every = max(1, len(labels) // 8)
    x_ticks = [Tick(LEFT + position * step, label) for position, label in enumerate(labels) if position % every == 0]
    return Chart(title, unit, lines, y_ticks, x_ticks)


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten that is at least ``value`` (1 for nothing)."""
    if value <= 0:
        return 1.0
    magnitude = 1.0
    while magnitude * 10 < value:
        magnitude *= 10
    while magnitude > value:
        magnitude /= 10
    return next(magnitude * factor for factor in (1, 2, 2.5, 5, 10) if magnitude * factor >= value)


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
