"""The cluster report's view model, for the platform: every enterprise's day in one row, the
spread of OEE across enterprises, downtime by reason over the whole cluster, the cluster's free
capacity for 14 days, all allocated and unmet orders, all alerts. Pure.

Bounded for a cluster of thousands: the enterprise table lists the ``max_factories`` with the
lowest OEE (those that need a look), the order and alert tables ``max_rows``; each says how many
more there are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from seamline.report.i18n import Text, note
from seamline.report.inputs import AlertRecord, LinePoint, ReportInputs, SiteEnergy
from seamline.report.kpi_source import DAY
from seamline.report.model import energy_totals, local_alerts, mean, source_notes
from seamline.report.pareto import ParetoBar, pareto
from seamline.report.platform_view import CapacityView, OrdersView, capacity_view, orders_view
from seamline.rules.master_data import MasterData

DEFAULT_MAX_FACTORIES = 200
DEFAULT_MAX_ROWS = 500
OEE_BINS = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class FactorySummary:
    enterprise: str
    name: str
    lines: int  # lines with a day point
    output: float | None  # good pieces
    utilization: float | None  # means over its lines
    efficiency: float | None
    oee: float | None
    coverage: float | None  # the lowest line coverage
    kwh_per_piece: float | None
    green_share: float | None
    free_std_min: float  # next 14 days
    alerts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class HistogramBin:
    low: float  # OEE, 0..1, inclusive
    high: float  # exclusive (the last bin includes 1.0)
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterReport:
    day: date
    timezone: str
    generated_at: datetime  # local
    factories: tuple[FactorySummary, ...]  # listed: lowest OEE first
    factories_total: int
    histogram: tuple[HistogramBin, ...]
    pareto: tuple[ParetoBar, ...]
    capacity: CapacityView
    orders: OrdersView
    alerts: tuple[AlertRecord, ...]
    alerts_total: int
    output: float | None
    oee: float | None  # mean over all lines with a day point
    lines_low_coverage: int
    lines_reported: int
    notes: tuple[Text, ...]
    max_rows: int
    coverage_threshold: float


def oee_histogram(values: Iterable[float], *, bins: int = OEE_BINS) -> tuple[HistogramBin, ...]:
    """Counts of ``values`` (fractions, clipped to [0, 1]) in ``bins`` equal bands over [0, 1]."""
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int(v * bins)))] += 1
    return tuple(HistogramBin(low=i / bins, high=(i + 1) / bins, count=c) for i, c in enumerate(counts))


T = TypeVar("T", LinePoint, SiteEnergy, AlertRecord)


def _grouped(items: Iterable[T]) -> dict[str, list[T]]:
    out: dict[str, list[T]] = defaultdict(list)
    for x in items:
        out[x.enterprise].append(x)
    return out


def _summary(ent_id: str, name: str, days: Sequence[LinePoint], energy: Sequence[SiteEnergy], free: float,
             alerts: int) -> FactorySummary:
    figures = [p.figures for p in days]
    got = [f.good_pieces for f in figures if f.good_pieces is not None]
    output = sum(got) if got else None
    per_piece, green = energy_totals(energy, output)
    return FactorySummary(
        enterprise=ent_id, name=name, lines=len(figures), output=output,
        utilization=mean(f.utilization for f in figures), efficiency=mean(f.line_efficiency for f in figures),
        oee=mean(f.oee for f in figures), coverage=min((f.coverage for f in figures), default=None),
        kwh_per_piece=per_piece, green_share=green, free_std_min=free, alerts=alerts)


def cluster_report(master: MasterData, inputs: ReportInputs, *, max_factories: int = DEFAULT_MAX_FACTORIES,
                   max_rows: int = DEFAULT_MAX_ROWS) -> ClusterReport:
    """The cluster's day: every enterprise of ``master`` that has lines or KPI points."""
    tz = master.enterprises[0].tz
    generated = inputs.generated_at.astimezone(tz)
    days = _grouped(p for p in inputs.kpis.lines if p.window == DAY)
    energy = _grouped(inputs.kpis.energy)
    alerts = _grouped(inputs.alerts.alerts)
    free: dict[str, float] = defaultdict(float)
    cap = capacity_view(inputs.platform.capacity, from_day=generated.date(), tz=tz)
    for line in cap.lines:
        free[line.enterprise] += line.free_std_min
    summaries = [
        _summary(e.id, e.name, days.get(e.id, []), energy.get(e.id, []), free.get(e.id, 0.0), len(alerts.get(e.id, [])))
        for e in master.enterprises if any(s.lines for s in e.sites) or e.id in days]
    ranked = sorted(summaries, key=lambda f: (f.oee is None, f.oee if f.oee is not None else 0.0, f.enterprise))
    orders = orders_view(inputs.platform.allocations, inputs.plan.summary, categories=None)
    all_days = [p.figures for pts in days.values() for p in pts]
    low = sum(1 for f in all_days if f.coverage < master.kpi.coverage_threshold)
    down: dict[str, float] = defaultdict(float)
    for d in inputs.kpis.downtime:
        down[d.reason] += d.down_min
    notes = [] if inputs.kpis.lines else [note("no_kpis")]
    if len(ranked) > max_factories:
        notes.append(note("factories_cut", shown=max_factories, total=len(ranked)))
    notes += source_notes(inputs.platform, inputs.plan, inputs.alerts, orders)
    outputs = [f.output for f in summaries if f.output is not None]
    return ClusterReport(
        day=inputs.day, timezone=str(tz), generated_at=generated, factories=tuple(ranked[:max_factories]),
        factories_total=len(ranked), histogram=oee_histogram(f.oee for f in summaries if f.oee is not None),
        pareto=pareto(down), capacity=cap, orders=orders, alerts=local_alerts(inputs.alerts.alerts[:max_rows], tz),
        alerts_total=len(inputs.alerts.alerts), output=sum(outputs) if outputs else None,
        oee=mean(f.oee for f in all_days), lines_low_coverage=low, lines_reported=len(all_days),
        notes=tuple(notes), max_rows=max_rows, coverage_threshold=master.kpi.coverage_threshold)
