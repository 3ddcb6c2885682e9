"""The report's HTML: one self-contained page from a Jinja2 template (autoescaped), with its CSS,
its SVG charts and a few lines of script inline — no URL the browser would fetch.

Both languages are in the page: every phrase is a Chinese and an English span, and the page shows
one set (``data-lang`` on ``<html>``, Chinese by default). The switch button flips it in place; a
link to ``…html#en`` opens the English page. Without script the Chinese page is complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

import jinja2
from markupsafe import Markup, escape

from seamline import __version__
from seamline.report.charts import (
    Cell,
    Chart,
    capacity_chart,
    histogram_chart,
    hourly_chart,
    kpi_bars,
    num,
    pareto_chart,
    pct,
)
from seamline.report.cluster_model import ClusterReport
from seamline.report.i18n import Text, reason_text, text, unmet_text
from seamline.report.model import FactoryReport, LineView


def spans(t: Text | str) -> Markup:
    """A phrase as the page writes it: one span per language, or the bare text if they agree."""
    if isinstance(t, str):
        return escape(t)
    if t.zh == t.en:
        return escape(t.zh)
    return Markup('<span class="zh" lang="zh-CN">{}</span><span class="en" lang="en">{}</span>').format(t.zh, t.en)


def _t(key: str, **values: object) -> Markup:
    w = text(key)
    return spans(Text(w.zh.format(**values), w.en.format(**values)) if values else w)


def _plain(key: str) -> str:
    """Both languages as plain text, for places that take no markup (the window title)."""
    w = text(key)
    return f"{w.zh} / {w.en}"


def _cell(c: Cell) -> Markup:
    return spans(c)


def _when(t: datetime | None) -> str:
    return "–" if t is None else f"{t:%Y-%m-%d %H:%M}"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("seamline.report", "templates"),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(t=_t, tx=spans, cell=_cell, pair=Text, plain=_plain, version=__version__, reason=reason_text,
                       unmet_reason=unmet_text)
    env.filters.update(pct=pct, num=num, when=_when)
    return env


@dataclass(frozen=True, slots=True, kw_only=True)
class LineCharts:
    line: LineView
    pareto: Chart
    hourly: Chart


def _line_charts(i: int, v: LineView) -> LineCharts:
    name = f"{v.site}/{v.line}"
    pareto_title = Text(f"{name} {text('downtime').zh}", f"{name} {text('downtime').en}")
    hourly_title = Text(f"{name} {text('hourly').zh}", f"{name} {text('hourly').en}")
    return LineCharts(line=v, pareto=pareto_chart(f"pareto-{i}", pareto_title, v.pareto),
                      hourly=hourly_chart(f"hourly-{i}", hourly_title, v.hours))


def render_factory(report: FactoryReport) -> str:
    """The factory-day page."""
    kpis = kpi_bars("line-kpis", [(f"{v.line}", v.day.utilization, v.day.line_efficiency, v.day.oee)
                                  for v in report.lines if v.day is not None])
    return _environment().get_template("factory.html.j2").render(
        r=report, kpi_chart=kpis, lines=[_line_charts(i, v) for i, v in enumerate(report.lines)],
        capacity=capacity_chart("capacity", report.capacity.days))


def render_cluster(report: ClusterReport) -> str:
    """The cluster-day page for the platform."""
    return _environment().get_template("cluster.html.j2").render(
        r=report, histogram=histogram_chart("oee-histogram", report.histogram),
        pareto=pareto_chart("pareto-cluster", text("downtime"), report.pareto),
        capacity=capacity_chart("capacity", report.capacity.days))
