"""Machine: one sewing machine (or a few) — motor current, state, stitches, pieces, time in state
and its KPIs; what a mechanic or supervisor looks at when a machine is reported down."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row

from seamline.dashboards import kinds
from seamline.dashboards.floor import SEWING, STATE_COLOURS
from seamline.dashboards.frame import frame
from seamline.dashboards.influxql import Agg, Column, Fill, Statement, TagIs, VarMatch
from seamline.dashboards.panels import PanelLike, dress, hide_time, merge, target
from seamline.dashboards.settings import DashboardSettings
from seamline.dashboards.variables import ENTERPRISE, LINE, MACHINE, SITE, WINDOW, hierarchy, window_variable
from seamline.storage.schema import KPI_MACHINE, MACHINE_STATE, Field, Tag

__all__ = ["build"]


def _where() -> tuple[VarMatch, ...]:
    return (VarMatch(Tag.ENTERPRISE, ENTERPRISE), VarMatch(Tag.SITE, SITE), VarMatch(Tag.AREA, LINE),
            VarMatch(Tag.ASSET, MACHINE))


def _raw(s: DashboardSettings, *cols: Column) -> Statement:
    return Statement(measurement=SEWING, rp=s.raw_rp, where=_where(), tags=(Tag.ASSET,), columns=cols)


def _panels(s: DashboardSettings) -> list[PanelLike]:
    current = _raw(s, Column(field="current_a", agg=Agg.MEAN, alias="current_a"),
                   Column(field="current_max_a", agg=Agg.MAX, alias="current_max_a"))
    state = Statement(measurement=MACHINE_STATE, rp=s.raw_rp, where=_where(), tags=(Tag.ASSET,), interval=None,
                      fill=None, columns=(Column(field=Field.STATE, alias="state"),))
    stitches = _raw(s, Column(field="stitches", agg=Agg.SUM, alias="stitches"))
    speed = _raw(s, Column(field="speed_spm", agg=Agg.MEAN, alias="speed_spm"))
    pieces = _raw(s, Column(field="pieces", agg=Agg.SUM, alias="pieces"),
                  Column(field="rejects", agg=Agg.SUM, alias="rejects"))
    in_state = _raw(s, *(Column(field=f, agg=Agg.SUM, alias=f) for f in ("run_s", "idle_s", "down_s", "off_s")))
    return [
        dress(kinds.series(), s, title="Motor current", w=12, h=8, unit="amp", targets=[target(current, s)],
              description="RMS motor current from the current transformer (A): mean and peak per interval. "
                          "Running is above the machine type's run threshold, idle below it."),
        dress(kinds.states(STATE_COLOURS), s, title="State", w=12, h=8,
              targets=[target(state, s, alias="$tag_asset")],
              description="Every state change the edge derived (running, idle, down with its reason, off)."),
        dress(kinds.series(bars_style=True), s, title="Stitches", w=8, h=8, unit="short",
              targets=[target(stitches, s, alias="$tag_asset")],
              description="Stitches sewn per interval (from the node's stitch counter)."),
        dress(kinds.series(bars_style=True), s, title="Pieces", w=8, h=8, unit="short",
              targets=[target(pieces, s, alias="$tag_asset $col")],
              description="Good pieces and rejects scanned per interval (bundle tickets)."),
        dress(kinds.series(), s, title="Needle speed", w=8, h=8, unit="short",
              targets=[target(speed, s, alias="$tag_asset")],
              description="Mean needle speed while sampled, stitches per minute."),
        dress(kinds.series(bars_style=True, stacked=True), s, title="Time in state", w=12, h=8, unit="s",
              targets=[target(in_state, s, alias="$tag_asset $col")],
              description="Seconds running, idle, down and off per interval, from the 60 s edge aggregates; "
                          "what is missing from the interval was not observed."),
    ]


def _kpis(s: DashboardSettings) -> PanelLike:
    where = (VarMatch(Tag.ENTERPRISE, ENTERPRISE), VarMatch(Tag.SITE, SITE), VarMatch(Tag.LINE, LINE),
             VarMatch(Tag.ASSET, MACHINE), TagIs(Tag.WINDOW, f"${WINDOW}"))
    cols = (Column(field="utilization", agg=Agg.MEAN, alias="utilization_pct", scale=100),
            Column(field="availability", agg=Agg.MEAN, alias="availability_pct", scale=100),
            Column(field="breakdowns", agg=Agg.SUM, alias="breakdowns"),
            Column(field="mtbf_min", agg=Agg.MEAN, alias="mtbf_min"),
            Column(field="mttr_min", agg=Agg.MEAN, alias="mttr_min"),
            Column(field=Field.COVERAGE, agg=Agg.MIN, alias="coverage_min_pct", scale=100))
    st = Statement(measurement=KPI_MACHINE, rp=s.kpi_rp, columns=cols, where=where, interval=None, tags=(Tag.ASSET,),
                   fill=Fill.NULL)
    return dress(kinds.grid().transformations([merge(), hide_time()]), s, title="Machine KPIs", w=12, h=8,
                 targets=[target(st, s, table=True)],
                 description="Over the time range: utilization and availability (%), breakdowns, mean time between "
                             "failures and to repair (min), lowest coverage (%).")


def build(s: DashboardSettings) -> Dashboard:
    names = hierarchy([SEWING], s.raw_rp, area_as="Line", upto=MACHINE)
    d = frame("machine", "seamline · Machine", "One sewing machine: current, state, stitches, pieces, KPIs.", s,
              variables=[*names, window_variable(KPI_MACHINE, s)], time_from="now-8h")
    d = d.with_row(Row("Machine"))
    for p in (*_panels(s), _kpis(s)):
        d = d.with_panel(p)
    return d
