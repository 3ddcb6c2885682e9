"""The energy side of grading: each enterprise's metered electricity over the period from the rules
engine's daily ``kpi_factory_energy`` points (``consumption_kwh`` of ``window=1d``, summed over
its sites), converted to tonnes of standard coal, with a nowcast while the period runs.

Nowcast: a period not yet over, or with days the meters did not cover, is estimated from the days
measured so far — their mean kWh per day × the period's days — and marked ``estimated``. Days
are weighted alike: a period measured on working days only overstates what weekends and
holidays will add (a calendar-weighted nowcast is future work; the figure says it is estimated).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from seamline.grading.period import Period
from seamline.rules.windows import WindowSize
from seamline.storage.query import CountingClient, Select
from seamline.storage.schema import KPI_FACTORY_ENERGY, TIME, Tag

CONSUMPTION_KWH = KPI_FACTORY_ENERGY.field("consumption_kwh")


def kwh_to_tce(kwh: float, kgce_per_kwh: float) -> float:
    """Tonnes of standard coal of ``kwh`` at ``kgce_per_kwh`` (0.1229: GB/T 2589-2020's calorific
    equivalent of electricity)."""
    return kwh * kgce_per_kwh / 1000.0


@dataclass(frozen=True, slots=True)
class PeriodEnergy:
    """An enterprise's electricity over a period (kWh), from ``measured_days`` daily points."""

    kwh: float | None  # None: not one day measured
    measured_kwh: float
    measured_days: int
    period_days: int
    estimated: bool


def nowcast(daily_kwh: Mapping[date, float], period: Period) -> PeriodEnergy:
    """The period's kWh: the sum when every day of it was measured, else the measured days' mean
    × the period's days (``estimated``). Days outside the period are ignored."""
    days = {d: v for d, v in daily_kwh.items() if period.contains(d)}
    measured = sum(days.values())
    n = len(days)
    if n == 0:
        return PeriodEnergy(None, 0.0, 0, period.days, True)
    if n == period.days:
        return PeriodEnergy(measured, measured, n, period.days, False)
    return PeriodEnergy(measured / n * period.days, measured, n, period.days, True)


def read_daily_kwh(client: CountingClient, enterprises: Sequence[str], period: Period, *, rp: str,
                   tz: Mapping[str, ZoneInfo], default_tz: ZoneInfo) -> dict[str, dict[date, float]]:
    """kWh per enterprise and local day of ``period`` (its sites summed), from the daily points."""
    if not enterprises:
        return {}
    zones = [tz.get(e, default_tz) for e in enterprises]
    start = min(datetime.combine(period.start, time(0), tzinfo=z) for z in zones)
    end = max(datetime.combine(period.end, time(23, 59, 59), tzinfo=z) for z in zones)
    sel = Select(measurement=KPI_FACTORY_ENERGY, fields=(CONSUMPTION_KWH,), rp=rp,
                 enterprises=tuple(sorted(set(enterprises))), group_by=(Tag.ENTERPRISE, Tag.SITE, Tag.WINDOW),
                 start_ms=int(start.timestamp() * 1000), end_ms=int(end.timestamp() * 1000) + 1000)
    out: dict[str, dict[date, float]] = {}
    for series in client.run([sel])[0]:
        if series.tags.get(Tag.WINDOW) != WindowSize.DAY.value:
            continue
        ent = series.tags[Tag.ENTERPRISE]
        zone = tz.get(ent, default_tz)
        for r in series.rows:
            value = r.get(CONSUMPTION_KWH)
            if not isinstance(value, int | float):
                continue
            day = datetime.fromtimestamp(int(r[TIME]) / 1000, zone).date()
            if period.contains(day):
                per_day = out.setdefault(ent, {})
                per_day[day] = per_day.get(day, 0.0) + float(value)
    return out
