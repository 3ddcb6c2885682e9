"""Read everything one report shows, from sources behind small interfaces (the composition root
gives the real ones, unit tests faithful fakes): KPI points, retained platform messages, the plan
summary and the alerts, for one enterprise's local day or the whole cluster's."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from seamline.report.alert_source import AlertSource
from seamline.report.inputs import DayKpis, PlanInput, PlatformState, ReportInputs
from seamline.rules.master_data import Enterprise, MasterData
from seamline.rules.shift_calendar import local_day_window


class KpiReader(Protocol):
    def read(self, enterprises: Sequence[Enterprise], day: date) -> DayKpis:
        """The KPI points of local ``day`` of each enterprise (in its own time zone)."""


class PlatformReader(Protocol):
    def read(self, enterprise: str | None) -> PlatformState:
        """Retained capacity and allocations of ``enterprise`` (``None``: every enterprise)."""


class PlanReader(Protocol):
    def read(self) -> PlanInput:
        """The latest plan summary, or why there is none."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Sources:
    kpis: KpiReader
    platform: PlatformReader
    plan: PlanReader
    alerts: AlertSource
    clock: Callable[[], datetime]  # aware "now": when the report is made


def gather(sources: Sources, master: MasterData, day: date, enterprise: str | None) -> ReportInputs:
    """The inputs of the report of ``enterprise`` (``None``: the cluster) for local ``day``. The
    alerts are read for the span covering that local day in every zone involved."""
    enterprises = [master.enterprise(enterprise)] if enterprise is not None else list(master.enterprises)
    generated = sources.clock()
    kpis = sources.kpis.read(enterprises, day)
    platform = sources.platform.read(enterprise)
    plan = sources.plan.read()
    windows = [local_day_window(day, e.tz) for e in enterprises]
    alerts = sources.alerts.read(start=min(w.start for w in windows), end=max(w.end for w in windows),
                                 enterprises=frozenset(e.id for e in enterprises))
    return ReportInputs(day=day, generated_at=generated, kpis=kpis, platform=platform, plan=plan, alerts=alerts)
