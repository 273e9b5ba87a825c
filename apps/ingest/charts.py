"""Server-rendered SVG charts of a history series: no script, no front-end build step.

Invariant: everything drawn comes from `apps.ingest.history` series (already bucketed in
SQL and in the site's timezone); every text that reaches the markup is escaped, and the SVG
uses presentation attributes only (no <style>, no script), so the page's content security
policy holds without exceptions.
"""

from __future__ import annotations

from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from apps.ingest.history import Series

WIDTH, HEIGHT = 640, 180
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 14, 26
PALETTE = ("#4c9ee8", "#3fb27f", "#f08c32", "#e5484d", "#b07ce8", "#e5b53b", "#5fc9d6", "#d66fa4")


def _scale(value: float, low: float, high: float, out_low: float, out_high: float) -> float:
    if high == low:
        return (out_low + out_high) / 2
    return out_low + (value - low) * (out_high - out_low) / (high - low)


def _label(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def line_chart(*, title: str, series: list[Series], since: datetime, until: datetime, tz) -> SafeString:
    """One chart: each series' average as a line over its min-max band, time on x."""
    drawn = [s for s in series if s.points]
    values = [v for s in drawn for p in s.points for v in (p["min"], p["max"])]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}" data-series="{len(drawn)}">',
             f"<title>{escape(title)}</title>",
             f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" height="{HEIGHT - TOP - BOTTOM}" '
             f'fill="#151b21" stroke="#2c3540"/>']
    if not drawn:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" fill="#9aa7b4" text-anchor="middle" '
                     f'font-size="13">No data in this period</text></svg>')
        return mark_safe("".join(parts))  # noqa: S308 (built from escaped text and numbers)
    low, high = min(values), max(values)
    start, end = since.timestamp(), until.timestamp()

    def x(moment: str) -> float:
        return _scale(datetime.fromisoformat(moment).timestamp(), start, end, LEFT, WIDTH - RIGHT)

    def y(value: float) -> float:
        return _scale(value, low, high, HEIGHT - BOTTOM, TOP)

    for index, entry in enumerate(drawn):
        colour = PALETTE[index % len(PALETTE)]
        band = [f"{x(p['start']):.1f},{y(p['max']):.1f}" for p in entry.points]
        band += [f"{x(p['start']):.1f},{y(p['min']):.1f}" for p in reversed(entry.points)]
        line = " ".join(f"{x(p['start']):.1f},{y(p['avg']):.1f}" for p in entry.points)
        name = escape(f"{entry.inverter} {entry.name}".strip())
        parts.append(f'<polygon points="{" ".join(band)}" fill="{colour}" fill-opacity="0.18" stroke="none"/>')
        parts.append(f'<polyline class="series" data-name="{name}" points="{line}" fill="none" stroke="{colour}" '
                     f'stroke-width="1.6"><title>{name}</title></polyline>')
    parts += _axis_labels(low, high, drawn[0].unit, since.astimezone(tz), until.astimezone(tz))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (built from escaped text and numbers)


def _axis_labels(low: float, high: float, unit: str, since: datetime, until: datetime) -> list[str]:
    """The value range and unit on y, the period's local start and end on x."""
    fmt = "%d %b %H:%M"
    muted = 'fill="#9aa7b4" font-size="11"'
    return [
        f'<text x="{LEFT - 6}" y="{TOP + 10}" {muted} text-anchor="end">{escape(_label(high))}</text>',
        f'<text x="{LEFT - 6}" y="{HEIGHT - BOTTOM}" {muted} text-anchor="end">{escape(_label(low))}</text>',
        f'<text x="{LEFT - 6}" y="{(HEIGHT - BOTTOM + TOP) / 2}" {muted} text-anchor="end">{escape(unit)}</text>',
        f'<text x="{LEFT}" y="{HEIGHT - 8}" {muted}>{escape(since.strftime(fmt))}</text>',
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 8}" {muted} text-anchor="end">{escape(until.strftime(fmt))}</text>',
    ]


def legend(series: list[Series]) -> list[dict]:
    """The colour of each drawn series, for the page's legend."""
    drawn = [s for s in series if s.points]
    return [{"name": f"{s.inverter} {s.name}".strip(), "colour": PALETTE[i % len(PALETTE)]}
            for i, s in enumerate(drawn)]
