"""Charts drawn on the server as SVG: no script, no library, no CDN, readable without JavaScript,
and printable. Each chart is an ``<svg role="img">`` with a title and a description; the
page puts the same figures in a table beside it for screen readers and exact values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Series:
    """One line: values between 0 and 1 (None where a day has no figure)."""

    label: str
    values: Sequence[float | None]
    css_class: str


def _ticks(count: int, wanted: int = 6) -> list[int]:
    if count <= wanted:
        return list(range(count))
    step = (count - 1) / (wanted - 1)
    return sorted({round(i * step) for i in range(wanted)})


def line_chart(
    days: Sequence[date],
    series: Sequence[Series],
    *,
    title: str,
    description: str,
    width: int = 720,
    height: int = 240,
    ticks: int = 6,
    ident: str = "c",
    css_class: str = "",
) -> Markup:
    """A line chart of rates (0–100 %) over ``days``: a line through consecutive days with a
    figure, a dot on each day (on the last and on isolated days only, beyond a month)."""
    left, right, top, bottom = 44, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(days)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - max(0.0, min(1.0, v)))

    parts = [
        f'<svg class="chart {escape(css_class)}" viewBox="0 0 {width} {height}" role="img"'
        f' aria-labelledby="{ident}-title {ident}-desc" preserveAspectRatio="xMidYMid meet"'
        ' xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{escape(title)}</title><desc id="{ident}-desc">{escape(description)}</desc>',
    ]
    for pct in (0, 25, 50, 75, 100):
        gy = y(pct / 100)
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{gy:.1f}" y2="{gy:.1f}"/>')
        parts.append(f'<text class="axis" x="{left - 6}" y="{gy + 4:.1f}" text-anchor="end">{pct}%</text>')
    shown = _ticks(n, ticks)
    for i in shown:
        anchor = "middle" if len(shown) == 1 else "start" if i == 0 else "end" if i == n - 1 else "middle"
        parts.append(
            f'<text class="axis" x="{x(i):.1f}" y="{height - 8}" text-anchor="{anchor}">{days[i]:%m-%d}</text>'
        )
    for line in series:
        runs: list[list[tuple[float, float]]] = [[]]
        for i, value in enumerate(line.values):
            if value is None:
                if runs[-1]:
                    runs.append([])
                continue
            runs[-1].append((x(i), y(value)))
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{px:.1f},{py:.1f}" for px, py in run)
                parts.append(f'<polyline class="line {line.css_class}" points="{points}"/>')
        values = list(line.values)
        for i, value in enumerate(values):
            isolated = (i == 0 or values[i - 1] is None) and (i == n - 1 or values[i + 1] is None)
            if value is not None and (n <= 31 or i == n - 1 or isolated):
                parts.append(
                    f'<circle class="dot {line.css_class}" cx="{x(i):.1f}" cy="{y(value):.1f}" r="3">'
                    f"<title>{escape(line.label)} {days[i].isoformat()}: {value * 100:.1f}%</title></circle>"
                )
    parts.append("</svg>")
    return Markup("".join(parts))


def bar(value: float | None, css_class: str = "") -> Markup:
    """A small horizontal bar (0–100 %) for a table cell; decorative, the number is beside it."""
    width = 0.0 if value is None else max(0.0, min(1.0, value)) * 100
    return Markup(
        f'<svg class="minibar {escape(css_class)}" viewBox="0 0 100 8" preserveAspectRatio="none"'
        f' aria-hidden="true" focusable="false"><rect class="track" width="100" height="8"/>'
        f'<rect class="fill" width="{width:.1f}" height="8"/></svg>'
    )
