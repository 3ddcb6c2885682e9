"""The report's charts as inline SVG, written here: no plotting library and nothing the page has to
fetch. Pure functions from view values to a :class:`Chart` — the SVG markup and the same figures
as a :class:`Table`, which the page puts right after the chart (the accessible alternative, and
what a reader copies numbers from).

Every SVG has ``role="img"``, a ``<title>`` in both languages and a ``<desc>``; data marks carry
the class ``mark`` (the browser test counts them). Labels in both languages are ``<tspan>``s the
page's language switch shows or hides. Coordinates are in a 360-unit-wide viewBox that the page
scales to the screen width (a phone is ~360-430 CSS px wide).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from seamline.report.cluster_model import HistogramBin
from seamline.report.hourly import HourSlot
from seamline.report.i18n import Text, reason_text, text
from seamline.report.pareto import ParetoBar
from seamline.report.platform_view import CapacityDayView

Cell = str | Text
W = 360  # viewBox width
PAD_L, PAD_R, PAD_T = 44, 40, 22


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    headers: tuple[Text, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Chart:
    id: str
    title: Text
    svg: str  # "" when there is nothing to draw
    table: Table
    marks: int  # data marks drawn

    @property
    def empty(self) -> bool:
        return self.marks == 0


def pct(v: float | None, digits: int = 0) -> str:
    return "–" if v is None else f"{100 * v:.{digits}f} %"


def num(v: float | None, digits: int = 0) -> str:
    if v is None:
        return "–"
    return f"{v:,.{digits}f}".replace(",", " ")  # a thin separator reads in both languages


def nice_max(v: float, ticks: int = 4) -> tuple[float, float]:
    """(axis maximum, tick step) for values up to ``v``: steps of 1, 2, 2.5 or 5 × 10^k."""
    if v <= 1e-9:  # nothing (or dust) to show: a 0..1 axis
        return 1.0, 0.25
    raw = v / ticks
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return step * math.ceil(v / step), step


def _e(s: str) -> str:
    return escape(s, quote=True)


def label(x: float, y: float, t: Cell, *, anchor: str = "middle", cls: str = "lbl", rotate: float | None = None) -> str:
    """A text label; a :class:`Text` becomes one tspan per language."""
    rot = f' transform="rotate({rotate:g} {x:.1f} {y:.1f})"' if rotate is not None else ""
    head = f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{cls}"{rot}>'
    if isinstance(t, Text) and t.zh != t.en:
        return f'{head}<tspan class="zh">{_e(t.zh)}</tspan><tspan class="en">{_e(t.en)}</tspan></text>'
    return f"{head}{_e(t.zh if isinstance(t, Text) else t)}</text>"


def _svg(chart_id: str, title: Text, desc: str, height: float, body: list[str]) -> str:
    return (f'<svg class="chart" id="{chart_id}" role="img" viewBox="0 0 {W} {height:.0f}" '
            f'aria-labelledby="{chart_id}-t {chart_id}-d" preserveAspectRatio="xMidYMid meet">'
            f'<title id="{chart_id}-t">{_e(title.zh)} / {_e(title.en)}</title><desc id="{chart_id}-d">{_e(desc)}</desc>'
            + "".join(body) + "</svg>")


def _rect(x: float, y: float, w: float, h: float, cls: str, tip: str) -> str:
    return (f'<rect class="mark {cls}" x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.5):.1f}" height="{max(h, 0.5):.1f}">'
            f"<title>{_e(tip)}</title></rect>")


def _y_axis(top: float, bottom: float, vmax: float, step: float, fmt: str = "{:g}") -> list[str]:
    out = []
    v = 0.0
    while v <= vmax + 1e-9:
        y = bottom - (bottom - top) * v / vmax
        out.append(f'<line class="grid" x1="{PAD_L}" y1="{y:.1f}" x2="{W - PAD_R}" y2="{y:.1f}"/>')
        out.append(label(PAD_L - 4, y + 3, fmt.format(v), anchor="end", cls="tick"))
        v += step
    return out


def _legend(items: Sequence[tuple[str, Text]], y: float = 12) -> list[str]:
    out: list[str] = []
    x = float(PAD_L)
    for cls, t in items:
        out.append(f'<rect class="key {cls}" x="{x:.1f}" y="{y - 8:g}" width="10" height="10"/>')
        out.append(label(x + 14, y + 1, t, anchor="start", cls="tick"))
        x += 14 + 9 * max(len(t.en), 2 * len(t.zh)) * 0.62 + 12
    return out


def kpi_bars(chart_id: str, rows: Sequence[tuple[str, float | None, float | None, float | None]]) -> Chart:
    """Per line (label, utilization, line efficiency, OEE), fractions: grouped horizontal bars on a
    0-100 % scale."""
    kinds = (("b-util", text("utilization")), ("b-eff", text("efficiency")), ("b-oee", text("oee")))
    bar_h, gap, top = 11, 14, 28
    height = top + len(rows) * (3 * bar_h + gap) + 18
    left, right = 64, W - 40
    body = _legend(kinds)
    marks = 0
    for i, (name, *values) in enumerate(rows):
        y0 = top + i * (3 * bar_h + gap)
        body.append(label(left - 6, y0 + 1.5 * bar_h + 4, name, anchor="end"))
        for k, ((cls, kind), v) in enumerate(zip(kinds, values, strict=True)):
            if v is None:
                continue
            y = y0 + k * bar_h
            w = (right - left) * min(max(v, 0.0), 1.0)
            body.append(_rect(left, y, w, bar_h - 2, cls, f"{name} {kind.en} {pct(v, 1)}"))
            body.append(label(left + w + 3, y + bar_h - 3, pct(v), anchor="start", cls="tick"))
            marks += 1
    for frac in (0.0, 0.5, 1.0):
        x = left + (right - left) * frac
        body.append(f'<line class="grid" x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 16}"/>')
        body.append(label(x, height - 4, pct(frac), cls="tick"))
    title = text("line_kpis_chart")
    table = Table(headers=(text("line"), text("utilization"), text("efficiency"), text("oee")),
                  rows=tuple((n, pct(u, 1), pct(e, 1), pct(o, 1)) for n, u, e, o in rows))
    return Chart(id=chart_id, title=title, svg=_svg(chart_id, title, "grouped bars, 0-100 %", height, body) if marks
                 else "", table=table, marks=marks)


def _columns(n: int) -> tuple[float, float]:
    """(x of the first column's left edge, column pitch) for ``n`` columns in the plot area."""
    pitch = (W - PAD_L - PAD_R) / max(n, 1)
    return PAD_L, pitch


def pareto_chart(chart_id: str, title: Text, bars: Sequence[ParetoBar]) -> Chart:
    """Down minutes per reason, largest first (left axis), and the cumulative share as a line with
    points (right axis, 0-100 %)."""
    height, bottom = 250.0, 170.0
    vmax, step = nice_max(max((b.minutes for b in bars), default=0.0))
    x0, pitch = _columns(len(bars))
    body = _y_axis(PAD_T, bottom, vmax, step)
    for frac in (0.5, 1.0):
        y = bottom - (bottom - PAD_T) * frac
        body.append(label(W - PAD_R + 4, y + 3, pct(frac), anchor="start", cls="tick"))
    points = []
    for i, b in enumerate(bars):
        x = x0 + i * pitch
        h = (bottom - PAD_T) * b.minutes / vmax
        name = reason_text(b.reason)
        body.append(_rect(x + pitch * 0.15, bottom - h, pitch * 0.7, h, "b-down", f"{name.en}: {b.minutes:.1f} min"))
        body.append(label(x + pitch / 2, bottom + 10, name, anchor="end", cls="tick", rotate=-40))
        points.append((x + pitch / 2, bottom - (bottom - PAD_T) * b.cumulative))
    if points:
        path = "M" + " L".join(f"{x:.1f} {y:.1f}" for x, y in points)
        body.append(f'<path class="mark cum" d="{path}" fill="none"/>')
        body += [f'<circle class="mark cum-dot" cx="{x:.1f}" cy="{y:.1f}" r="3"/>' for x, y in points]
    table = Table(headers=(text("reason"), text("minutes"), text("share"), text("cumulative")),
                  rows=tuple((reason_text(b.reason), num(b.minutes, 1), pct(b.share, 1), pct(b.cumulative, 1))
                             for b in bars))
    marks = len(bars) + (len(points) + 1 if points else 0)
    svg = _svg(chart_id, title, "Pareto: bars = minutes, line = cumulative share", height, body) if bars else ""
    return Chart(id=chart_id, title=title, svg=svg, table=table, marks=marks if bars else 0)


def hourly_chart(chart_id: str, title: Text, slots: Sequence[HourSlot]) -> Chart:
    """Good pieces per local hour as bars, the hour's target as a step line."""
    height, bottom = 210.0, 180.0
    top_value = max([*(s.output or 0.0 for s in slots), *(s.target or 0.0 for s in slots)], default=0.0)
    vmax, step = nice_max(top_value)
    x0, pitch = _columns(len(slots))
    body = [*_legend((("b-out", text("output")), ("l-target", text("target")))), *_y_axis(PAD_T, bottom, vmax, step)]
    marks, steps = 0, []
    for i, s in enumerate(slots):
        x = x0 + i * pitch
        hour = f"{s.start:%H}"
        if s.output is not None:
            h = (bottom - PAD_T) * s.output / vmax
            body.append(_rect(x + pitch * 0.15, bottom - h, pitch * 0.7, h, "b-out", f"{hour}:00 {s.output:.0f}"))
            marks += 1
        if s.target is not None:
            y = bottom - (bottom - PAD_T) * s.target / vmax
            steps.append(f"M{x:.1f} {y:.1f} H{x + pitch:.1f}")
        body.append(label(x + pitch / 2, bottom + 12, hour, cls="tick"))
    if steps:
        body.append(f'<path class="mark target" d="{" ".join(steps)}" fill="none"/>')
        marks += 1
    table = Table(headers=(text("hour"), text("output"), text("target"), text("coverage")),
                  rows=tuple((f"{s.start:%H}:00", num(s.output), num(s.target, 1), pct(s.coverage))
                             for s in slots))
    svg = _svg(chart_id, title, "bars = good pieces per hour, line = target", height, body) if marks else ""
    return Chart(id=chart_id, title=title, svg=svg, table=table, marks=marks)


def capacity_chart(chart_id: str, days: Sequence[CapacityDayView]) -> Chart:
    """Standard minutes per day ahead: booked and free stacked (their sum is what is available)."""
    height, bottom = 230.0, 180.0
    vmax, step = nice_max(max((d.booked_std_min + d.free_std_min for d in days), default=0.0))
    x0, pitch = _columns(len(days))
    body = [*_legend((("b-booked", text("booked")), ("b-free", text("free")))),
            *_y_axis(PAD_T, bottom, vmax, step, fmt="{:,.0f}")]
    for i, d in enumerate(days):
        x = x0 + i * pitch
        hb = (bottom - PAD_T) * d.booked_std_min / vmax
        hf = (bottom - PAD_T) * d.free_std_min / vmax
        day, bx, bw = f"{d.day:%m-%d}", x + pitch * 0.12, pitch * 0.76
        body.append(_rect(bx, bottom - hb, bw, hb, "b-booked", f"{day} {d.booked_std_min:.0f}"))
        body.append(_rect(bx, bottom - hb - hf, bw, hf, "b-free", f"{day} {d.free_std_min:.0f}"))
        body.append(label(x + pitch / 2, bottom + 8, day, anchor="end", cls="tick", rotate=-50))
    title = text("capacity_chart")
    table = Table(headers=(text("day"), text("available"), text("booked"), text("free")),
                  rows=tuple((d.day.isoformat(), num(d.available_std_min), num(d.booked_std_min), num(d.free_std_min))
                             for d in days))
    svg = _svg(chart_id, title, "stacked bars: booked and free standard minutes per day", height, body) if days else ""
    return Chart(id=chart_id, title=title, svg=svg, table=table, marks=2 * len(days))


def histogram_chart(chart_id: str, bins: Sequence[HistogramBin]) -> Chart:
    """How many enterprises fall in each OEE band."""
    height, bottom = 210.0, 180.0
    vmax, step = nice_max(max((b.count for b in bins), default=0), ticks=4)
    step = max(step, 1.0)
    x0, pitch = _columns(len(bins))
    body = _y_axis(PAD_T, bottom, vmax, step)
    marks = 0
    for i, b in enumerate(bins):
        x = x0 + i * pitch
        band = f"{100 * b.low:.0f}–{100 * b.high:.0f} %"
        if b.count:
            h = (bottom - PAD_T) * b.count / vmax
            body.append(_rect(x + pitch * 0.1, bottom - h, pitch * 0.8, h, "b-oee", f"{band}: {b.count}"))
            marks += 1
        body.append(label(x + pitch / 2, bottom + 12, f"{100 * b.low:.0f}", cls="tick"))
    title = text("oee_histogram")
    table = Table(headers=(text("oee_band"), text("count")),
                  rows=tuple((f"{100 * b.low:.0f}–{100 * b.high:.0f} %", str(b.count)) for b in bins))
    svg = _svg(chart_id, title, "histogram of enterprise OEE in 10 % bands", height, body) if marks else ""
    return Chart(id=chart_id, title=title, svg=svg, table=table, marks=marks)
