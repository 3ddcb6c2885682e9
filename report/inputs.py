"""What a report is made of, as typed values: the day's KPI points read from InfluxDB, the platform's
retained messages (capacity, allocation), the plan summary (unmet orders) and the alerts.

Everything here is data the sources (``kpi_source``, ``retained_source``, ``plan_source``,
``alert_source``) produce and the pure view model (``model``) consumes. Units: minutes (``*_min``),
kWh, fractions 0..1 for ratios; times are aware datetimes or UTC epoch ms (``*_ms``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from seamline.contracts.messages import AllocationMessage, CapacityMessage
from seamline.contracts.plan_summary import PlanSummary


@dataclass(frozen=True, slots=True, kw_only=True)
class LineFigures:
    """One ``kpi_line`` point (a day, a shift or an hour of one line). Ratios 0..1, ``None`` when the
    rules engine had nothing to compute them from; ``good_pieces`` pieces; ``coverage`` 0..1."""

    utilization: float | None = None
    line_efficiency: float | None = None
    oee: float | None = None
    availability: float | None = None
    performance: float | None = None
    quality: float | None = None
    good_pieces: float | None = None
    earned_min: float | None = None
    coverage: float = 0.0
    low_coverage: bool = False
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class LinePoint:
    """A ``kpi_line`` point with its identity: window label ``1d``/``shift``/``1h`` and start."""

    enterprise: str
    site: str
    line: str
    window: str
    shift: str | None
    start_ms: int
    figures: LineFigures


@dataclass(frozen=True, slots=True, kw_only=True)
class DowntimeMinutes:
    """Down minutes of one line for one reason over the day (summed over its machines)."""

    enterprise: str
    site: str
    line: str
    reason: str  # breakdown.<cause>, stop, stop.<idle reason>
    down_min: float
    coverage: float  # the lowest coverage of the points summed


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteEnergy:
    """One ``kpi_factory_energy`` day point: kWh consumed, kWh per good piece, green share 0..1."""

    enterprise: str
    site: str
    consumption_kwh: float | None
    kwh_per_piece: float | None
    green_share: float | None
    coverage: float
    low_coverage: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class DayKpis:
    """The KPI points of one local day for a set of enterprises (RP ``kpi``)."""

    lines: tuple[LinePoint, ...] = ()
    downtime: tuple[DowntimeMinutes, ...] = ()
    energy: tuple[SiteEnergy, ...] = ()
    statements: int = 0  # InfluxQL statements it took

    def for_enterprise(self, enterprise: str) -> DayKpis:
        return DayKpis(lines=tuple(p for p in self.lines if p.enterprise == enterprise),
                       downtime=tuple(d for d in self.downtime if d.enterprise == enterprise),
                       energy=tuple(e for e in self.energy if e.enterprise == enterprise))


@dataclass(frozen=True, slots=True, kw_only=True)
class PlatformState:
    """The retained capacity and allocation messages read from the broker, and what was wrong."""

    source: str  # e.g. mqtt://host:port, for the page's notes
    capacity: tuple[CapacityMessage, ...] = ()
    allocations: tuple[AllocationMessage, ...] = ()
    rejected: tuple[str, ...] = ()  # one line per invalid retained payload
    overflow: int = 0  # topics beyond the read's bound, ignored
    problem: str | None = None  # the broker could not be read at all

    def for_enterprise(self, enterprise: str) -> PlatformState:
        return PlatformState(source=self.source, problem=self.problem, overflow=self.overflow,
                             capacity=tuple(m for m in self.capacity if m.enterprise == enterprise),
                             allocations=tuple(m for m in self.allocations if m.enterprise == enterprise),
                             rejected=self.rejected)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanInput:
    """The plan summary file, or why there is none."""

    source: str | None  # the file it came from; None when the report was given none
    summary: PlanSummary | None = None
    problem: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRecord:
    """One alert as the report shows it. ``ends_at`` None while firing; ``state`` firing, resolved,
    suppressed (silenced or inhibited in Alertmanager)."""

    alertname: str
    severity: str
    enterprise: str
    site: str
    starts_at: datetime
    ends_at: datetime | None
    state: str
    area: str | None = None
    asset: str | None = None
    summary: str = ""
    summary_en: str = ""
    value: str | None = None
    threshold: str | None = None
    unit: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertsInput:
    """The alerts of the day and what the source can and cannot tell (``scope``: what it covers)."""

    source: str | None  # None: no alert source configured
    scope: str = "none"  # current | history | none
    alerts: tuple[AlertRecord, ...] = ()
    problem: str | None = None

    def for_enterprise(self, enterprise: str) -> AlertsInput:
        return AlertsInput(source=self.source, scope=self.scope, problem=self.problem,
                           alerts=tuple(a for a in self.alerts if a.enterprise == enterprise))


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportInputs:
    """Everything one report shows, read for local ``day``; ``generated_at`` is when it was read."""

    day: date
    generated_at: datetime
    kpis: DayKpis
    platform: PlatformState
    plan: PlanInput
    alerts: AlertsInput
