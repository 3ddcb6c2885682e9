"""Hourly output against target, per line, in the enterprise's local hours. Pure.

The target is the line's planned pace from master data, the same arithmetic as the capacity feed's
available minutes: pieces = operators × (1 − absenteeism) × planned minutes × planned efficiency /
SAM, with planned minutes = the shift calendar's minutes in that hour (breaks and holidays out) and
planned efficiency = the line's ``default_efficiency``. Output is the hour's ``kpi_line`` point
(``window=1h``): good pieces of the line's output machines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from seamline.report.inputs import LineFigures
from seamline.rules.master_data import Line
from seamline.rules.shift_calendar import ShiftCalendar, local_day_window, planned_seconds
from seamline.rules.windows import Window

HOUR_S = 3600


@dataclass(frozen=True, slots=True, kw_only=True)
class HourSlot:
    start: datetime  # local, aware
    planned_min: float  # planned production minutes in the hour
    output: float | None  # good pieces; None without an hourly point
    target: float | None  # pieces; None without a style (SAM)
    coverage: float | None


def target_pieces(planned_min: float, line: Line, sam_min: float) -> float:
    """Pieces the line should make in ``planned_min`` minutes at its planned efficiency."""
    if sam_min <= 0:
        raise ValueError(f"SAM must be > 0, got {sam_min}")
    return line.operators * (1.0 - line.absenteeism) * planned_min * line.default_efficiency / sam_min


def hourly_slots(day: date, cal: ShiftCalendar, line: Line, sam_min: float | None,
                 points: Mapping[int, LineFigures]) -> tuple[HourSlot, ...]:
    """One slot per local hour of ``day`` with planned time or an hourly point (keyed by the hour's
    start, UTC ms). A day across a DST change has 23 or 25 hours."""
    day_window = local_day_window(day, cal.tz)
    out = []
    t = day_window.start_s
    while t < day_window.end_s:
        end = min(t + HOUR_S, day_window.end_s)
        planned = planned_seconds(cal, Window.from_epoch_s(t, end)) / 60.0
        point = points.get(int(t * 1000))
        if planned > 0 or point is not None:
            out.append(HourSlot(
                start=datetime.fromtimestamp(t, UTC).astimezone(cal.tz), planned_min=planned,
                output=point.good_pieces if point is not None else None,
                target=target_pieces(planned, line, sam_min) if sam_min is not None else None,
                coverage=point.coverage if point is not None else None))
        t = end
    return tuple(out)
