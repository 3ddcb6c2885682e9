"""The factory report's view model: what the page shows, computed from the typed inputs and master
data. Pure (no I/O, no clock): ``factory_report(master, enterprise, inputs)``.

Per line: the day's KPIs (``kpi_line`` ``1d``) with coverage and its shifts, downtime by reason as a
Pareto, hourly output against the planned pace. Per site: energy per piece and green share. Then
free capacity for the 14 days from the day the report is made, the orders the latest plan put on
the factory, the unmet orders in its categories, the alerts — and notes saying what the data cannot
tell (low coverage, a source that was not read).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from seamline.report.hourly import HourSlot, hourly_slots
from seamline.report.i18n import Text, note
from seamline.report.inputs import (
    AlertRecord,
    AlertsInput,
    DayKpis,
    LineFigures,
    LinePoint,
    PlanInput,
    PlatformState,
    ReportInputs,
    SiteEnergy,
)
from seamline.report.kpi_source import DAY, HOUR, SHIFT
from seamline.report.pareto import ParetoBar, pareto
from seamline.report.platform_view import CapacityView, OrdersView, capacity_view, orders_view
from seamline.rules.master_data import Enterprise, Line, MasterData
from seamline.rules.shift_calendar import ShiftCalendar


@dataclass(frozen=True, slots=True, kw_only=True)
class LineView:
    site: str
    line: str
    style: str | None
    sam_min: float | None  # standard minutes per piece of the running style
    day: LineFigures | None  # the 1d point; None when the rules engine wrote none
    shifts: tuple[tuple[str, LineFigures], ...]
    pareto: tuple[ParetoBar, ...]
    hours: tuple[HourSlot, ...]

    @property
    def output(self) -> float | None:
        """Good pieces of the day (the 1d point, else the sum of the hours)."""
        if self.day is not None and self.day.good_pieces is not None:
            return self.day.good_pieces
        got = [h.output for h in self.hours if h.output is not None]
        return sum(got) if got else None

    @property
    def target(self) -> float | None:
        got = [h.target for h in self.hours if h.target is not None]
        return sum(got) if got else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Totals:
    """The factory's day at a glance. Ratios are means over the lines that have them."""

    output: float | None
    target: float | None
    utilization: float | None
    efficiency: float | None
    oee: float | None
    coverage: float | None  # the lowest line coverage
    kwh_per_piece: float | None
    green_share: float | None
    alerts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FactoryReport:
    enterprise: str
    name: str
    timezone: str
    day: date
    generated_at: datetime  # local
    totals: Totals
    lines: tuple[LineView, ...]
    energy: tuple[SiteEnergy, ...]
    capacity: CapacityView
    orders: OrdersView
    alerts: tuple[AlertRecord, ...]
    notes: tuple[Text, ...]
    coverage_threshold: float  # below it a figure is marked low


def mean(values: Iterable[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return sum(got) / len(got) if got else None


def _sum(values: Iterable[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return sum(got) if got else None


def energy_totals(sites: Sequence[SiteEnergy], output: float | None) -> tuple[float | None, float | None]:
    """(kWh per piece, green share) of the whole factory: one site's own figures, several sites'
    consumption over the factory's output and consumption-weighted green share."""
    if len(sites) == 1:
        return sites[0].kwh_per_piece, sites[0].green_share
    kwh = _sum(s.consumption_kwh for s in sites)
    per_piece = kwh / output if kwh is not None and output else None
    weighted = [(s.green_share, s.consumption_kwh) for s in sites if s.green_share is not None and s.consumption_kwh]
    total = sum(w for _, w in weighted if w)
    green = sum(g * (w or 0.0) for g, w in weighted) / total if total > 0 else None
    return per_piece, green


def local_alerts(alerts: Iterable[AlertRecord], tz: ZoneInfo) -> tuple[AlertRecord, ...]:
    """The alerts with their times in ``tz``, as the page shows them."""
    return tuple(replace(a, starts_at=a.starts_at.astimezone(tz),
                         ends_at=a.ends_at.astimezone(tz) if a.ends_at is not None else None) for a in alerts)


def _lines_of(ent: Enterprise, points: Sequence[LinePoint]) -> list[tuple[str, str, Line | None]]:
    """Master data's lines, then any line the KPI points name that master data does not."""
    known = [(site.id, line.id, line) for site in ent.sites for line in site.lines]
    seen = {(s, ln) for s, ln, _ in known}
    extra = sorted({(p.site, p.line) for p in points} - seen)
    return [*known, *((s, ln, None) for s, ln in extra)]


def _line_view(master: MasterData, cal: ShiftCalendar, day: date, site: str, line_id: str, line: Line | None,
               kpis: DayKpis) -> LineView:
    mine = [p for p in kpis.lines if p.site == site and p.line == line_id]
    day_point = next((p.figures for p in mine if p.window == DAY), None)
    shifts = tuple((p.shift or "?", p.figures) for p in sorted(mine, key=lambda p: p.start_ms) if p.window == SHIFT)
    hours = {p.start_ms: p.figures for p in mine if p.window == HOUR}
    style = master.style(line.style) if line is not None and line.style is not None else None
    down: dict[str, float] = defaultdict(float)
    for d in kpis.downtime:
        if d.site == site and d.line == line_id:
            down[d.reason] += d.down_min
    slots = hourly_slots(day, cal, line, style.sam_min if style else None, hours) if line is not None else ()
    return LineView(site=site, line=line_id, style=style.id if style else None,
                    sam_min=style.sam_min if style else None, day=day_point, shifts=shifts, pareto=pareto(down),
                    hours=slots)


def _line_notes(views: Sequence[LineView], threshold: float) -> list[Text]:
    out = []
    for v in views:
        name = f"{v.site}/{v.line}"
        if v.day is None and v.shifts:
            out.append(note("no_day_window", line=name))
        figures = v.day or (v.shifts[0][1] if v.shifts else None)
        if figures is not None and figures.coverage < threshold:
            out.append(note("low_coverage", line=name, coverage=f"{100 * figures.coverage:.0f} %"))
        if v.hours and all(h.output is None for h in v.hours) and (v.day is not None or v.shifts):
            out.append(note("no_hourly", line=name))
        if v.sam_min is None:
            out.append(note("no_style", line=name))
    return out


def source_notes(platform: PlatformState, plan: PlanInput, alerts: AlertsInput, orders: OrdersView) -> list[Text]:
    """What the page cannot show because a source was missing, unreadable or partial."""
    out = []
    if platform.problem is not None:
        out.append(note("platform_problem", source=platform.source, problem=platform.problem))
    if platform.rejected:
        out.append(note("platform_rejected", n=len(platform.rejected)))
    if plan.source is None:
        out.append(note("no_plan"))
    elif plan.problem is not None:
        out.append(note("plan_problem", source=plan.source, problem=plan.problem))
    if orders.plans_disagree:
        out.append(note("plan_mismatch", summary=orders.summary_plan, allocations=", ".join(orders.allocation_plans)))
    if alerts.source is None:
        out.append(note("no_alert_source"))
    elif alerts.problem is not None:
        out.append(note("alerts_problem", source=alerts.source, problem=alerts.problem))
    elif alerts.scope == "current":
        out.append(note("alerts_current", source=alerts.source))
    return out


def factory_report(master: MasterData, enterprise: str, inputs: ReportInputs) -> FactoryReport:
    """The report of ``enterprise`` (a master-data id) for ``inputs.day``."""
    ent = master.enterprise(enterprise)
    cal = ShiftCalendar.for_enterprise(master, ent)
    kpis = inputs.kpis.for_enterprise(enterprise)
    platform = inputs.platform.for_enterprise(enterprise)
    alerts = inputs.alerts.for_enterprise(enterprise)
    views = tuple(_line_view(master, cal, inputs.day, s, ln, line, kpis) for s, ln, line in _lines_of(ent, kpis.lines))
    categories = {c for site in ent.sites for line in site.lines for c in line.categories}
    categories |= {c for m in platform.capacity for c in m.categories}
    orders = orders_view(platform.allocations, inputs.plan.summary, categories=categories)
    generated = inputs.generated_at.astimezone(ent.tz)
    output = _sum(v.output for v in views)
    per_piece, green = energy_totals(kpis.energy, output)
    day_figures = [v.day for v in views if v.day is not None]
    totals = Totals(output=output, target=_sum(v.target for v in views),
                    utilization=mean(f.utilization for f in day_figures),
                    efficiency=mean(f.line_efficiency for f in day_figures), oee=mean(f.oee for f in day_figures),
                    coverage=min((f.coverage for f in day_figures), default=None), kwh_per_piece=per_piece,
                    green_share=green, alerts=len(alerts.alerts))
    notes = [] if kpis.lines else [note("no_kpis")]
    notes += _line_notes(views, master.kpi.coverage_threshold)
    if not platform.capacity and platform.problem is None:
        notes.append(note("no_capacity"))
    notes += source_notes(platform, inputs.plan, alerts, orders)
    return FactoryReport(enterprise=ent.id, name=ent.name, timezone=ent.timezone, day=inputs.day,
                         generated_at=generated, totals=totals, lines=views, energy=kpis.energy,
                         capacity=capacity_view(platform.capacity, from_day=generated.date(), tz=ent.tz),
                         orders=orders, alerts=local_alerts(alerts.alerts, ent.tz), notes=tuple(notes),
                         coverage_threshold=master.kpi.coverage_threshold)
