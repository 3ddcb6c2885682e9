"""Cluster: the virtual group at a glance — how well each factory runs, what capacity is free in
the next 14 days, what the latest plan allocated and what it could not, and each factory's energy."""

from __future__ import annotations

from grafana_foundation_sdk.builders import barchart, bargauge, heatmap, table, timeseries
from grafana_foundation_sdk.builders.dashboard import Dashboard, DashboardLink, Row

from seamline.contracts.assets import AssetKind
from seamline.dashboards import kinds
from seamline.dashboards.frame import UIDS, frame
from seamline.dashboards.influxql import Agg, Column, DaysAhead, DaysBack, Fill, Statement, TagIs, VarMatch
from seamline.dashboards.panels import dress, drill_link, hide_time, merge, target
from seamline.dashboards.settings import DashboardSettings
from seamline.dashboards.variables import ENTERPRISE, WINDOW, hierarchy, window_variable
from seamline.storage.schema import (
    CAPACITY,
    GRADE,
    KPI_FACTORY_ENERGY,
    KPI_LINE,
    PLAN_ORDERS,
    Field,
    Tag,
    telemetry,
)

__all__ = ["CAPACITY_DAYS", "build"]

# Grades are stamped at their period's start; a year and a quarter back shows the latest annual grade.
GRADE_DAYS = 460

# The horizon the capacity feed publishes and buyers book against (days, from today).
CAPACITY_DAYS = 14

_ENT = VarMatch(Tag.ENTERPRISE, ENTERPRISE)
_WIN = TagIs(Tag.WINDOW, f"${WINDOW}")


def _per_factory(s: DashboardSettings, field: str, title: str, what: str) -> heatmap.Panel:
    st = Statement(measurement=KPI_LINE, rp=s.kpi_rp, where=(_ENT, _WIN), tags=(Tag.ENTERPRISE,),
                   columns=(Column(field=field, agg=Agg.MEAN, alias=field, scale=100),))
    p = kinds.heat().links([drill_link("Factory", UIDS["factory"], variables=[ENTERPRISE, WINDOW])])
    return dress(p, s, title=title, unit="percent", w=12, h=9,
                 description=f"{what} per factory (rows) over time, %: the mean over the factory's lines of "
                             "the chosen KPI window. Empty cells: no KPI point (no data or no planned time).",
                 targets=[target(st, s, alias="$tag_enterprise")])


def _factories(s: DashboardSettings) -> table.Panel:
    cols = (Column(field=Field.LINE_EFFICIENCY, agg=Agg.MEAN, alias="efficiency_pct", scale=100),
            Column(field="oee", agg=Agg.MEAN, alias="oee_pct", scale=100),
            Column(field="utilization", agg=Agg.MEAN, alias="utilization_pct", scale=100),
            Column(field=Field.COVERAGE, agg=Agg.MIN, alias="coverage_min_pct", scale=100))
    st = Statement(measurement=KPI_LINE, rp=s.kpi_rp, columns=cols, where=(_ENT, _WIN), interval=None,
                   tags=(Tag.ENTERPRISE,))
    link = DashboardLink("Factory ${__data.fields.enterprise}").url(
        f"/d/{UIDS['factory']}?var-enterprise=${{__data.fields.enterprise}}&${{__url_time_range}}")
    p = kinds.grid().transformations([merge(), hide_time()]).data_links([link])
    return dress(p, s, title="Factories: efficiency, OEE, utilization, coverage", w=12, h=9, unit="percent",
                 description="Mean line efficiency, OEE and utilization over the time range (%), and the lowest "
                             "data coverage of any line (%): below ~80 % the figures rest on little data. "
                             "Click a factory to open it.",
                 targets=[target(st, s, table=True)])


def _capacity(s: DashboardSettings) -> list[barchart.Panel | bargauge.Panel]:
    ahead = DaysAhead(CAPACITY_DAYS)
    days = Statement(measurement=CAPACITY, rp=s.kpi_rp, where=(_ENT,), interval="1d", fill=Fill.ZERO, window=ahead,
                     tz=s.timezone, columns=(Column(field=Field.FREE_STD_MIN, agg=Agg.SUM, alias="free_std_min"),
                                             Column(field="booked_std_min", agg=Agg.SUM, alias="booked_std_min")))
    by_factory = Statement(measurement=CAPACITY, rp=s.kpi_rp, where=(_ENT,), interval=None, window=ahead,
                           tags=(Tag.ENTERPRISE,),
                           columns=(Column(field=Field.FREE_STD_MIN, agg=Agg.SUM, alias="free_std_min"),))
    chart = dress(kinds.bars("time", stacked=True), s, title="Capacity, next 14 days", w=12, h=8,
                  unit="short", targets=[target(days, s)],
                  description="Standard minutes per local day over the selected factories' lines, from the "
                              "capacity feed's latest run: free (available minus booked) and booked by the plan.")
    gauge = dress(kinds.gauge(), s, title="Free capacity per factory, next 14 days", w=12, h=8, unit="short",
                  targets=[target(by_factory, s, alias="$tag_enterprise")],
                  description="Free standard minutes each factory can still sell over the next 14 days.")
    return [chart, gauge]


def _plan(s: DashboardSettings) -> list[table.Panel | timeseries.Panel]:
    latest = Statement(measurement=PLAN_ORDERS, rp=s.kpi_rp, interval=None, tags=(Tag.STATUS, Tag.REASON),
                       columns=(Column(field="orders", agg=Agg.LAST, alias="orders"),
                                Column(field="pieces", agg=Agg.LAST, alias="pieces"),
                                Column(field="pieces_allocated", agg=Agg.LAST, alias="pieces_allocated"),
                                Column(field="order_ids", agg=Agg.LAST, alias="order_ids")))
    unmet = Statement(measurement=PLAN_ORDERS, rp=s.kpi_rp, where=(TagIs(Tag.STATUS, "unmet"),), tags=(Tag.REASON,),
                      fill=Fill.NONE, columns=(Column(field="orders", agg=Agg.LAST, alias="orders"),))
    return [
        dress(kinds.grid().transformations([merge(), hide_time()]), s, title="Orders of the latest plan", w=12,
              h=8, targets=[target(latest, s, table=True)],
              description="The latest matching plan in the time range: orders allocated in full, in part, and "
                          "unmet with the reason (no eligible factory, not enough capacity before the due date, "
                          "...), with their pieces and the first order ids."),
        dress(kinds.series(bars_style=True), s, title="Unmet orders by reason", w=12, h=8,
              targets=[target(unmet, s, alias="$tag_reason")],
              description="Orders each plan could not place, by reason, plan by plan."),
    ]


def _energy(s: DashboardSettings) -> list[timeseries.Panel | table.Panel]:
    def per_factory(field: str, scale: float | None) -> Statement:
        return Statement(measurement=KPI_FACTORY_ENERGY, rp=s.kpi_rp, where=(_ENT, _WIN), tags=(Tag.ENTERPRISE,),
                         columns=(Column(field=field, agg=Agg.MEAN, alias=field, scale=scale),))

    return [
        dress(kinds.series(), s, title="Energy per piece", w=9, h=8, unit="kwatth",
              targets=[target(per_factory("kwh_per_piece", None), s, alias="$tag_enterprise")],
              description="kWh the factory's metered load used per good piece in each KPI window."),
        dress(kinds.series(), s, title="Green share", w=9, h=8, unit="percent",
              targets=[target(per_factory("green_share", 100), s, alias="$tag_enterprise")],
              description="Share of the factory's consumption covered by on-site PV, wind and battery, %."),
        _grades(s),
    ]


def _grades(s: DashboardSettings) -> table.Panel:
    """The latest per-mu grade of each enterprise and period (`seamline grade` writes them)."""
    cols = (Column(field=Field.GRADE, agg=Agg.LAST, alias="grade"),
            Column(field=Field.SCORE, agg=Agg.LAST, alias="score"),
            Column(field=Field.RANK, agg=Agg.LAST, alias="rank"),
            Column(field=Field.ESTIMATED, agg=Agg.LAST, alias="estimated"),
            Column(field=GRADE.field("advice"), agg=Agg.LAST, alias="advice"))
    st = Statement(measurement=GRADE, rp=s.kpi_rp, columns=cols, where=(_ENT,), interval=None,
                   tags=(Tag.ENTERPRISE, Tag.PERIOD), window=DaysBack(GRADE_DAYS))
    return dress(kinds.grid().transformations([merge(), hide_time()]), s, title="Per-mu grades", w=6, h=8,
                 targets=[target(st, s, table=True)],
                 description="Each enterprise's per-mu grade (A-D), score and rank in the county's method, per "
                             "period; estimated = energy nowcast from telemetry between finance reports. "
                             "Advice: what would move it up a grade.")


def build(s: DashboardSettings) -> Dashboard:
    ent = hierarchy([telemetry(AssetKind.SEWING_MACHINE)], s.raw_rp, area_as="Line", upto=ENTERPRISE)
    d = frame("cluster", "seamline · Cluster", "The virtual group: factories' performance, free capacity, "
              "the latest order plan and energy.", s, variables=[*ent, window_variable(KPI_LINE, s)],
              time_from="now-7d")
    d = d.with_row(Row("Performance per factory"))
    for p in (_per_factory(s, "utilization", "Utilization per factory", "Machine utilization"),
              _per_factory(s, Field.LINE_EFFICIENCY, "Line efficiency per factory", "Line efficiency"),
              _factories(s)):
        d = d.with_panel(p)
    d = d.with_row(Row("Capacity and orders"))
    for q in (*_capacity(s), *_plan(s)):
        d = d.with_panel(q)
    d = d.with_row(Row("Energy"))
    for e in _energy(s):
        d = d.with_panel(e)
    return d

