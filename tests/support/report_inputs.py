"""Typed report inputs with known figures, for the report's unit tests: master data of two small
factories (Asia/Shanghai, one 08:00-17:00 shift with breaks), their day's KPI points, retained
capacity and allocation messages, a plan summary and alerts — and in-memory fakes of the report's
sources that keep the real ones' promises (what they are given is what they return)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from seamline.contracts.messages import AllocationEntry, AllocationMessage, CapacityDay, CapacityMessage
from seamline.contracts.plan_summary import PlanSummary, UnmetOrder
from seamline.report.inputs import (
    AlertRecord,
    AlertsInput,
    DayKpis,
    DowntimeMinutes,
    LineFigures,
    LinePoint,
    PlanInput,
    PlatformState,
    ReportInputs,
    SiteEnergy,
)
from seamline.rules.master_data import Enterprise, MasterData, parse_master_data

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 5, 6)  # a Wednesday
NOW = datetime(2026, 5, 7, 1, 30, tzinfo=UTC)  # 09:30 the next morning, local
PLAN_ID = "plan0001"


def master_doc(enterprises: Sequence[str] = ("f001", "f002")) -> dict[str, Any]:
    def line(i: int) -> dict[str, Any]:
        return {"id": f"line0{i}", "operators": 10, "absenteeism": 0.1, "categories": ["t_shirt"],
                "machines": [f"m{j}" for j in range(1, 11)], "style": "tee", "default_efficiency": 0.5}

    return {
        "version": 1,
        "calendars": [{"id": "day", "shifts": [{"name": "day", "start": "08:00", "end": "17:00",
                                               "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
                                               "breaks": [{"start": "12:00", "end": "13:00"}]}]}],
        "styles": [{"id": "tee", "category": "t_shirt", "sam_min": 12.0}],
        "enterprises": [{"id": e, "name": f"测试工厂 {e}", "calendar": "day",
                         "sites": [{"id": "s1", "lines": [line(1), line(2)]}]} for e in enterprises],
    }


def master(enterprises: Sequence[str] = ("f001", "f002")) -> MasterData:
    return parse_master_data(master_doc(enterprises))


def local_ms(day: date, hour: int) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=TZ).timestamp() * 1000)


WORK_HOURS = (8, 9, 10, 11, 13, 14, 15, 16)


def line_points(enterprise: str, line: str, *, oee: float, coverage: float = 0.98, hours: Sequence[int] = WORK_HOURS,
                pieces_per_hour: float = 30.0) -> list[LinePoint]:
    """A day point, a shift point and hourly points of one line."""
    day = LineFigures(utilization=0.35, line_efficiency=0.45, oee=oee, availability=0.9, performance=oee / 0.9,
                      quality=1.0, good_pieces=pieces_per_hour * len(hours), coverage=coverage,
                      low_coverage=coverage < 0.8, flags=("low_coverage",) if coverage < 0.8 else ())
    out = [LinePoint(enterprise=enterprise, site="s1", line=line, window="1d", shift=None,
                     start_ms=local_ms(DAY, 0), figures=day),
           LinePoint(enterprise=enterprise, site="s1", line=line, window="shift", shift="day",
                     start_ms=local_ms(DAY, 8), figures=day)]
    out += [LinePoint(enterprise=enterprise, site="s1", line=line, window="1h", shift=None, start_ms=local_ms(DAY, h),
                      figures=LineFigures(good_pieces=pieces_per_hour, coverage=coverage)) for h in hours]
    return out


def day_kpis() -> DayKpis:
    lines = [*line_points("f001", "line01", oee=0.42), *line_points("f001", "line02", oee=0.30, coverage=0.6),
             *line_points("f002", "line01", oee=0.55)]
    down = [DowntimeMinutes(enterprise="f001", site="s1", line="line01", reason=r, down_min=m, coverage=0.98)
            for r, m in (("breakdown.needle", 30.0), ("stop.no_work", 45.0), ("breakdown.thread", 12.5),
                         ("stop", 5.0))]
    down.append(DowntimeMinutes(enterprise="f002", site="s1", line="line01", reason="breakdown.motor", down_min=20.0,
                                coverage=1.0))
    energy = [SiteEnergy(enterprise="f001", site="s1", consumption_kwh=240.0, kwh_per_piece=0.5, green_share=0.25,
                         coverage=0.99, low_coverage=False)]
    return DayKpis(lines=tuple(lines), downtime=tuple(down), energy=tuple(energy), statements=3)


def capacity(enterprise: str, line: str, *, first: date, days: int = 16, booked: float = 600.0) -> CapacityMessage:
    return CapacityMessage(
        enterprise=enterprise, site="s1", line=line, generated_ts_ms=int(NOW.timestamp() * 1000),
        categories=["t_shirt"], operators=10, efficiency=0.45, confidence=0.9,
        days=[CapacityDay(day=first + timedelta(days=i), available_std_min=2400.0,
                          booked_std_min=booked if i < 3 else 0.0, free_std_min=2400.0 - (booked if i < 3 else 0.0))
              for i in range(days)])


def allocation(enterprise: str, line: str, entries: Sequence[tuple[str, date, int]]) -> AllocationMessage:
    return AllocationMessage(
        plan_id=PLAN_ID, enterprise=enterprise, site="s1", line=line, generated_ts_ms=int(NOW.timestamp() * 1000),
        entries=[AllocationEntry(order_id=o, buyer="buyer-a", category="t_shirt", day=d, pieces=p, std_min=p * 12.0)
                 for o, d, p in entries])


def platform() -> PlatformState:
    today = NOW.astimezone(TZ).date()
    caps = tuple(capacity(e, ln, first=today) for e, ln in (("f001", "line01"), ("f001", "line02"),
                                                              ("f002", "line01")))
    allocs = (allocation("f001", "line01", [("PO-100", today + timedelta(days=1), 50),
                                            ("PO-100", today + timedelta(days=2), 30)]),
              allocation("f001", "line02", [("PO-101", today + timedelta(days=1), 40)]),
              allocation("f002", "line01", []))
    return PlatformState(source="mqtt://127.0.0.1:1883", capacity=caps, allocations=allocs)


def plan_summary() -> PlanSummary:
    today = NOW.astimezone(TZ).date()
    return PlanSummary(
        plan_id=PLAN_ID, generated_ts_ms=int(NOW.timestamp() * 1000), plan_day=today, published=True, orders=4,
        allocated_orders=2, allocated_std_min=1440.0,
        unmet=[UnmetOrder(order_id="PO-900", buyer="buyer-c", category="down_jacket", due=today + timedelta(days=9),
                          pieces=300, std_min=13500.0, reason="no_eligible_factory",
                          detail="no factory makes category 'down_jacket'"),
               UnmetOrder(order_id="PO-901", buyer="buyer-c", category="t_shirt", due=today + timedelta(days=1),
                          pieces=1000, std_min=12000.0, reason="insufficient_capacity_before_due",
                          detail="no free capacity on or before tomorrow")])


def alerts() -> AlertsInput:
    start = datetime(2026, 5, 6, 9, 15, tzinfo=TZ)
    return AlertsInput(source="http://127.0.0.1:9093", scope="current", alerts=(
        AlertRecord(alertname="machine_down", severity="critical", enterprise="f001", site="s1", area="line01",
                    asset="m3", starts_at=start, ends_at=None, state="firing", summary="机器 m3 停机",
                    summary_en="Machine m3 down", value="25", threshold="10", unit="min"),
        AlertRecord(alertname="gateway_offline", severity="warning", enterprise="f002", site="s1", starts_at=start,
                    ends_at=None, state="suppressed", summary="网关离线", summary_en="Gateway offline"),
    ))


def inputs(**overrides: Any) -> ReportInputs:
    base: dict[str, Any] = {"day": DAY, "generated_at": NOW, "kpis": day_kpis(), "platform": platform(),
                            "plan": PlanInput(source="plan-summary.json", summary=plan_summary()), "alerts": alerts()}
    return ReportInputs(**(base | overrides))


@dataclass
class FakeKpiReader:
    kpis: DayKpis
    asked: list[tuple[tuple[str, ...], date]] = field(default_factory=list)

    def read(self, enterprises: Sequence[Enterprise], day: date) -> DayKpis:
        ids = tuple(e.id for e in enterprises)
        self.asked.append((ids, day))
        return DayKpis(lines=tuple(p for p in self.kpis.lines if p.enterprise in ids),
                       downtime=tuple(d for d in self.kpis.downtime if d.enterprise in ids),
                       energy=tuple(e for e in self.kpis.energy if e.enterprise in ids), statements=3)


@dataclass
class FakePlatformReader:
    state: PlatformState
    asked: list[str | None] = field(default_factory=list)

    def read(self, enterprise: str | None) -> PlatformState:
        self.asked.append(enterprise)
        return self.state if enterprise is None else self.state.for_enterprise(enterprise)


@dataclass
class FakePlanReader:
    plan: PlanInput

    def read(self) -> PlanInput:
        return self.plan


@dataclass
class FakeAlertSource:
    given: AlertsInput
    asked: list[tuple[datetime, datetime, frozenset[str] | None]] = field(default_factory=list)

    def read(self, *, start: datetime, end: datetime, enterprises: frozenset[str] | None) -> AlertsInput:
        self.asked.append((start, end, enterprises))
        keep = tuple(a for a in self.given.alerts if (enterprises is None or a.enterprise in enterprises)
                     and a.starts_at < end and (a.ends_at is None or a.ends_at > start))
        return AlertsInput(source=self.given.source, scope=self.given.scope, alerts=keep, problem=self.given.problem)
