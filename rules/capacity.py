"""Measured free capacity per enterprise and line for the days ahead, as ``CapacityMessage``.

Per local day ``d`` of the enterprise::

    available_std_min(d) = operators × planned shift minutes(d) × (1 − absenteeism) × efficiency
    free_std_min(d)      = max(0, available_std_min(d) − booked_std_min(d))

Planned shift minutes come from the calendar (shifts starting on ``d`` minus breaks; a holiday
gives 0). ``efficiency`` is the rolling line efficiency measured from daily KPIs, weighted by
each day's coverage::

    w_i = coverage_i (days without a value, or with coverage 0, carry no weight)
    efficiency = Σ w_i e_i / Σ w_i                       (capped at 1.5, the contract's maximum)
    cv         = sqrt(Σ w_i (e_i − efficiency)² / Σ w_i) / efficiency
    confidence = min(1, Σ w_i / wanted_days) / (1 + cv)

so confidence is the share of the rolling period actually observed, reduced by day-to-day
scatter. With no measurement at all the line's ``default_efficiency`` is used at confidence 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from seamline.contracts.messages import CapacityDay, CapacityMessage
from seamline.rules.master_data import Enterprise, Line, MasterData, Site
from seamline.rules.shift_calendar import ShiftCalendar, planned_minutes_on

MAX_EFFICIENCY = 1.5  # CapacityMessage.efficiency upper bound: SAMs can be loose, not that loose
MAX_DAYS_AHEAD = 366  # CapacityMessage.days max_length

BookedKey = tuple[str, str, str, date]  # (enterprise, site, line, local day); line ids are unique per site


@dataclass(frozen=True, slots=True)
class DailyEfficiency:
    """One day's measured line efficiency (fraction) and its coverage (0..1)."""

    day: date
    efficiency: float | None
    coverage: float


@dataclass(frozen=True, slots=True)
class MeasuredEfficiency:
    efficiency: float
    confidence: float
    days_used: int


def rolling_efficiency(daily: Sequence[DailyEfficiency], *, default: float, wanted_days: int) -> MeasuredEfficiency:
    """Coverage-weighted mean efficiency and its confidence (formula in the module docstring)."""
    used = [(d.coverage, d.efficiency) for d in daily if d.efficiency is not None and d.coverage > 0]
    weight = sum(w for w, _ in used)
    if weight <= 0:
        return MeasuredEfficiency(min(default, MAX_EFFICIENCY), 0.0, 0)
    mean = sum(w * e for w, e in used) / weight
    var = sum(w * (e - mean) ** 2 for w, e in used) / weight
    cv = math.sqrt(var) / mean if mean > 0 else 1.0
    confidence = min(1.0, weight / wanted_days) / (1.0 + cv)
    return MeasuredEfficiency(min(mean, MAX_EFFICIENCY), max(0.0, min(1.0, confidence)), len(used))


def days_ahead(first_day: date, n: int) -> list[date]:
    """``n`` consecutive local days starting at ``first_day``."""
    if not 0 <= n <= MAX_DAYS_AHEAD:
        raise ValueError(f"n must be in 0..{MAX_DAYS_AHEAD}, got {n}")
    return [first_day + timedelta(days=i) for i in range(n)]


def available_std_min(*, operators: int, shift_min: float, absenteeism: float, efficiency: float) -> float:
    """operators × shift minutes × (1 − absenteeism) × efficiency (standard minutes)."""
    return operators * shift_min * (1.0 - absenteeism) * efficiency


def line_capacity(
    *,
    enterprise: Enterprise,
    site: Site,
    line: Line,
    calendar: ShiftCalendar,
    days: Sequence[date],
    measured: MeasuredEfficiency,
    booked: Mapping[BookedKey, float],
    generated_ts_ms: int,
) -> CapacityMessage:
    """The capacity feed of one line for ``days``."""
    out: list[CapacityDay] = []
    for day in days:
        available = available_std_min(
            operators=line.operators,
            shift_min=planned_minutes_on(calendar, day),
            absenteeism=line.absenteeism,
            efficiency=measured.efficiency,
        )
        booked_min = max(0.0, booked.get((enterprise.id, site.id, line.id, day), 0.0))
        out.append(CapacityDay(day=day, available_std_min=available, booked_std_min=booked_min,
                               free_std_min=max(0.0, available - booked_min)))
    return CapacityMessage(
        enterprise=enterprise.id, site=site.id, line=line.id, generated_ts_ms=generated_ts_ms,
        categories=list(line.categories), operators=line.operators, efficiency=measured.efficiency,
        confidence=measured.confidence, days=out,
    )


def capacity_messages(
    data: MasterData,
    *,
    now: datetime,
    daily_efficiency: Mapping[tuple[str, str], Sequence[DailyEfficiency]],
    booked: Mapping[BookedKey, float],
) -> list[CapacityMessage]:
    """One message per line of every enterprise, for ``data.kpi.capacity_days`` local days
    starting the day after ``now`` (today is already under way), keyed (enterprise, line)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    out: list[CapacityMessage] = []
    for ent in data.enterprises:
        cal = ShiftCalendar.for_enterprise(data, ent)
        days = days_ahead(now.astimezone(ent.tz).date() + timedelta(days=1), data.kpi.capacity_days)
        for site in ent.sites:
            for line in site.lines:
                measured = rolling_efficiency(
                    daily_efficiency.get((ent.id, line.id), ()),
                    default=line.default_efficiency,
                    wanted_days=data.kpi.efficiency_days,
                )
                out.append(line_capacity(enterprise=ent, site=site, line=line, calendar=cal, days=days,
                                         measured=measured, booked=booked,
                                         generated_ts_ms=int(now.timestamp() * 1000)))
    return out


def pieces_per_day(free_std_min: float, sam_min: float) -> int:
    """Whole pieces of a style (SAM, standard minutes) that fit in ``free_std_min``."""
    return int(free_std_min // sam_min) if sam_min > 0 else 0
