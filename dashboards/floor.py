"""Factory and Line: the sewing floor — machine states, line efficiency and OEE with the coverage
they rest on, where the downtime goes, and output per hour against the target. The Line dashboard
is the Factory dashboard narrowed to one line, with its machines listed."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, DashboardLink, Row
from grafana_foundation_sdk.builders.statetimeline import Panel as StatesPanel

from seamline.contracts.assets import AssetKind
from seamline.contracts.messages import MachineState
from seamline.dashboards import kinds
from seamline.dashboards.frame import UIDS, frame
from seamline.dashboards.influxql import Agg, Column, Fill, Statement, TagIs, VarMatch
from seamline.dashboards.panels import PanelLike, dress, drill_link, hide_time, merge, sort_desc, target
from seamline.dashboards.settings import DashboardSettings
from seamline.dashboards.variables import (
    ENTERPRISE,
    LINE,
    MACHINE,
    SITE,
    TARGET_EFFICIENCY,
    WINDOW,
    hierarchy,
    target_variable,
    window_variable,
)
from seamline.storage.schema import KPI_DOWNTIME, KPI_LINE, KPI_MACHINE, MACHINE_STATE, Field, Tag, telemetry

__all__ = ["STATE_COLOURS", "factory", "line"]

SEWING = telemetry(AssetKind.SEWING_MACHINE)
# Machine states as people on the floor read them: running green, idle yellow, down red, off grey.
STATE_COLOURS = {MachineState.RUNNING.value: "green", MachineState.IDLE.value: "yellow",
                 MachineState.DOWN.value: "red", MachineState.OFF.value: "text"}
# The state timeline reads the last state per interval: bounded points per machine, whatever the range.
_STATE_POINTS = 400


class _Scope:
    """The filters of one dashboard: a factory (enterprise, site) or one line of it."""

    def __init__(self, s: DashboardSettings, *, one_line: bool) -> None:
        self.s = s
        self.one_line = one_line
        base = (VarMatch(Tag.ENTERPRISE, ENTERPRISE), VarMatch(Tag.SITE, SITE))
        self.raw = (*base, *((VarMatch(Tag.AREA, LINE),) if one_line else ()))
        self.kpi = (*base, *((VarMatch(Tag.LINE, LINE),) if one_line else ()))
        self.window = TagIs(Tag.WINDOW, f"${WINDOW}")


def _efficiency(sc: _Scope) -> PanelLike:
    s = sc.s
    names = ["line_efficiency", "oee"] + (["availability", "performance", "quality"] if sc.one_line else [])
    cols = tuple(Column(field=KPI_LINE.field(n), agg=Agg.MEAN, alias=n, scale=100) for n in names)
    st = Statement(measurement=KPI_LINE, rp=s.kpi_rp, columns=cols, where=(*sc.kpi, sc.window), tags=(Tag.LINE,))
    cov = Statement(measurement=KPI_LINE, rp=s.kpi_rp, where=(*sc.kpi, sc.window), tags=(Tag.LINE,),
                    columns=(Column(field=Field.COVERAGE, agg=Agg.MIN, alias="coverage", scale=100),))
    return dress(kinds.series(), s, title="Line efficiency and OEE, with coverage", w=12, h=9, unit="percent",
                 targets=[target(st, s, alias="$tag_line $col"), target(cov, s, ref="B", alias="$tag_line $col")],
                 description="Per KPI window, %: line efficiency (earned standard minutes / minutes worked), OEE "
                             + ("and its factors availability x performance x quality " if sc.one_line else "")
                             + "and the coverage they rest on (share of planned machine time observed; a gateway "
                             "outage lowers coverage, never adds downtime).")


def _lines_table(sc: _Scope) -> PanelLike:
    s = sc.s
    cols = (Column(field=Field.LINE_EFFICIENCY, agg=Agg.MEAN, alias="efficiency_pct", scale=100),
            Column(field="oee", agg=Agg.MEAN, alias="oee_pct", scale=100),
            Column(field="good_pieces", agg=Agg.SUM, alias="good_pieces"),
            Column(field=Field.COVERAGE, agg=Agg.MIN, alias="coverage_min_pct", scale=100))
    st = Statement(measurement=KPI_LINE, rp=s.kpi_rp, columns=cols, where=(*sc.kpi, sc.window), interval=None,
                   tags=(Tag.LINE,))
    link = DashboardLink("Line ${__data.fields.line}").url(
        f"/d/{UIDS['line']}?${{{ENTERPRISE}:queryparam}}&${{{SITE}:queryparam}}&var-line=${{__data.fields.line}}"
        f"&${{{WINDOW}:queryparam}}&${{__url_time_range}}")
    return dress(kinds.grid().transformations([merge(), hide_time()]).data_links([link]), s, w=12, h=9,
                 title="Lines", targets=[target(st, s, table=True)],
                 description="Per line over the time range: mean efficiency and OEE (%), good pieces, lowest "
                             "coverage (%). Click a line to open it.")


def _machines_table(sc: _Scope) -> PanelLike:
    s = sc.s
    cols = (Column(field="utilization", agg=Agg.MEAN, alias="utilization_pct", scale=100),
            Column(field="availability", agg=Agg.MEAN, alias="availability_pct", scale=100),
            Column(field="pieces", agg=Agg.SUM, alias="pieces"),
            Column(field=Field.DOWN_MIN, agg=Agg.SUM, alias="down_min"),
            Column(field="breakdowns", agg=Agg.SUM, alias="breakdowns"),
            Column(field=Field.COVERAGE, agg=Agg.MIN, alias="coverage_min_pct", scale=100))
    st = Statement(measurement=KPI_MACHINE, rp=s.kpi_rp, columns=cols, where=(*sc.kpi, sc.window), interval=None,
                   tags=(Tag.ASSET,))
    link = DashboardLink("Machine ${__data.fields.asset}").url(
        f"/d/{UIDS['machine']}?${{{ENTERPRISE}:queryparam}}&${{{SITE}:queryparam}}&${{{LINE}:queryparam}}"
        "&var-machine=${__data.fields.asset}&${__url_time_range}")
    return dress(kinds.grid().transformations([merge(), hide_time()]).data_links([link]), s, w=12, h=9,
                 title="Machines", targets=[target(st, s, table=True)],
                 description="Per machine over the time range: utilization and availability (%), pieces, downtime "
                             "(min), breakdowns, lowest coverage (%). Click a machine to open it.")


def _states(sc: _Scope) -> StatesPanel:
    s = sc.s
    tags = (Tag.ASSET,) if sc.one_line else (Tag.AREA, Tag.ASSET)
    st = Statement(measurement=MACHINE_STATE, rp=s.raw_rp, where=sc.raw, tags=tags, fill=Fill.PREVIOUS,
                   columns=(Column(field=Field.STATE, agg=Agg.LAST, alias="state"),))
    p = kinds.states(STATE_COLOURS).max_data_points(_STATE_POINTS)
    return dress(p, s, title="Machine state", w=24, h=10 if sc.one_line else 14,
                 targets=[target(st, s, alias="$tag_asset" if sc.one_line else "$tag_area/$tag_asset")],
                 description="Each machine's state (running, idle, down, off) as the edge derived it, the last state "
                             "of each interval. Gaps: no data (gateway or node offline), not downtime.")


def _pareto(sc: _Scope) -> PanelLike:
    s = sc.s
    st = Statement(measurement=KPI_DOWNTIME, rp=s.kpi_rp, where=(*sc.kpi, sc.window), interval=None,
                   tags=(Tag.REASON,), columns=(Column(field=Field.DOWN_MIN, agg=Agg.SUM, alias="down_min"),))
    p = kinds.bars(Tag.REASON).transformations([merge(), hide_time(), sort_desc("down_min")])
    return dress(p, s, title="Downtime by reason (Pareto)", w=12, h=9, unit="m", targets=[target(st, s, table=True)],
                 description="Minutes lost per reason over the time range, largest first: breakdowns by cause "
                             "(needle, thread, motor, waiting for the mechanic) and stops (no work, changeover).")


def _output(sc: _Scope) -> list[PanelLike]:
    s = sc.s
    pieces = Statement(measurement=SEWING, rp=s.raw_rp, where=sc.raw, interval="1h", tags=(Tag.AREA,), fill=Fill.ZERO,
                       tz=s.timezone, columns=(Column(field="pieces", agg=Agg.SUM, alias="pieces"),))
    hourly = TagIs(Tag.WINDOW, "1h")
    earned = Statement(measurement=KPI_LINE, rp=s.kpi_rp, where=(*sc.kpi, hourly), interval="1h", tags=(Tag.LINE,),
                       fill=Fill.NONE, tz=s.timezone,
                       columns=(Column(field="earned_min", agg=Agg.SUM, alias="earned_std_min"),
                                Column(field="minutes_worked", agg=Agg.SUM, alias="target_std_min",
                                       scale=f"${TARGET_EFFICIENCY}")))
    return [
        dress(kinds.series(bars_style=True), s, title="Output per hour", w=12, h=8, unit="short",
              targets=[target(pieces, s, alias="$tag_area")],
              description="Good pieces scanned per local hour, per line (bundle-ticket scans in the edge's "
                          "60 s aggregates)."),
        dress(kinds.series(), s, title="Output per hour against target (standard minutes)", w=12, h=8, unit="m",
              targets=[target(earned, s, alias="$tag_line $col")],
              description="Per hourly KPI window: standard minutes earned (good pieces x SAM) against the target, "
                          "minutes worked x the target efficiency (the 'Target efficiency' box, a fraction). "
                          "Below target means behind the hourly plan."),
    ]


def _build(sc: _Scope, key: str, title: str, description: str) -> Dashboard:
    s = sc.s
    names = hierarchy([SEWING], s.raw_rp, area_as="Line", upto=LINE if sc.one_line else SITE)
    d = frame(key, title, description, s, variables=[*names, window_variable(KPI_LINE, s), target_variable(s)])
    d = d.with_row(Row("Lines" if not sc.one_line else "Efficiency and OEE"))
    d = d.with_panel(_efficiency(sc)).with_panel(_machines_table(sc) if sc.one_line else _lines_table(sc))
    d = d.with_row(Row("Floor"))
    d = d.with_panel(_states(sc).links([drill_link("Machine", UIDS["machine"], variables=[ENTERPRISE, SITE, LINE,
                                                                                           MACHINE])]))
    d = d.with_panel(_pareto(sc))
    for p in _output(sc):
        d = d.with_panel(p)
    return d


def factory(s: DashboardSettings) -> Dashboard:
    return _build(_Scope(s, one_line=False), "factory", "seamline · Factory",
                  "One factory: its lines' efficiency and OEE with coverage, machine states, downtime by reason, "
                  "output per hour against target.")


def line(s: DashboardSettings) -> Dashboard:
    return _build(_Scope(s, one_line=True), "line", "seamline · Line",
                  "One sewing line: efficiency and OEE with their factors and coverage, its machines, states, "
                  "downtime by reason, output per hour against target.")
