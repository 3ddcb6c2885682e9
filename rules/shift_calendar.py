"""Planned production time from an enterprise's shift calendar, in its local time zone.

A shift belongs to the local day on which it *starts*; ``end <= start`` means it ends the next
day (a night shift). A holiday removes the shifts that start on it. Breaks are local wall-clock
times inside the shift (a break earlier than the shift start is on the next day). Local times are
turned into instants with :mod:`zoneinfo`, never the server's zone: a wall time that does not
exist (DST spring-forward gap) resolves with the offset in force before the gap (PEP 495,
``fold=0``), so a shift spanning a DST change is one hour shorter or longer in real time, which is
the time people actually worked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from seamline.rules.master_data import Enterprise, MasterData, Shift, Weekday
from seamline.rules.spans import Span, SpanSet
from seamline.rules.windows import Window

# A bound on how many local days one query may walk (10 years), so a wrong window fails fast.
MAX_DAYS_PER_QUERY = 3660


@dataclass(frozen=True, slots=True)
class ShiftInstance:
    """One occurrence of a shift: its local start day, its window and its breaks."""

    name: str
    day: date
    window: Window
    breaks: SpanSet

    @property
    def planned(self) -> SpanSet:
        """Shift time minus breaks (UTC epoch seconds)."""
        return SpanSet.of([self.window.span]).subtract(self.breaks)

    @property
    def planned_s(self) -> float:
        return self.planned.total_s


@dataclass(frozen=True, slots=True)
class ShiftCalendar:
    """A resolved calendar: weekly pattern, holidays and make-up days, in zone ``tz``."""

    tz: ZoneInfo
    shifts: tuple[Shift, ...]
    holidays: frozenset[date] = frozenset()
    workdays: Mapping[date, Weekday] = field(default_factory=dict)

    @classmethod
    def for_enterprise(cls, data: MasterData, enterprise: Enterprise) -> ShiftCalendar:
        """The enterprise's calendar with its override applied."""
        base = data.calendar(enterprise.calendar)
        shifts, holidays, workdays = tuple(base.shifts), set(base.holidays), dict(base.workdays)
        override = enterprise.calendar_override
        if override is not None:
            if override.shifts is not None:
                shifts = tuple(override.shifts)
            holidays |= set(override.holidays)
            holidays -= set(override.not_holidays)
            workdays.update(override.workdays)
        return cls(tz=enterprise.tz, shifts=shifts, holidays=frozenset(holidays), workdays=workdays)


def _instant(day: date, t: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, t, tzinfo=tz).astimezone(UTC)


def _weekday(cal: ShiftCalendar, day: date) -> Weekday | None:
    if day in cal.workdays:
        return cal.workdays[day]
    if day in cal.holidays:
        return None
    return list(Weekday)[day.weekday()]


def _instance(shift: Shift, day: date, tz: ZoneInfo) -> ShiftInstance:
    end_day = day if shift.end > shift.start else day + timedelta(days=1)
    window = Window(_instant(day, shift.start, tz), _instant(end_day, shift.end, tz))
    breaks: list[Span] = []
    for brk in shift.breaks:
        b_day = day if brk.start >= shift.start else day + timedelta(days=1)
        b_end_day = b_day if brk.end > brk.start else b_day + timedelta(days=1)
        start_s = _instant(b_day, brk.start, tz).timestamp()
        end_s = _instant(b_end_day, brk.end, tz).timestamp()
        if end_s > start_s:
            breaks.append(Span(start_s, end_s))
    return ShiftInstance(shift.name, day, window, SpanSet.of(breaks).clip(window.start_s, window.end_s))


def shifts_on(cal: ShiftCalendar, day: date) -> list[ShiftInstance]:
    """Shifts starting on local ``day`` (none on a holiday), ordered by start."""
    weekday = _weekday(cal, day)
    if weekday is None:
        return []
    found = [_instance(s, day, cal.tz) for s in cal.shifts if weekday in s.days]
    return sorted(found, key=lambda i: i.window.start)


def _local_days(cal: ShiftCalendar, start: datetime, end: datetime) -> list[date]:
    first = start.astimezone(cal.tz).date() - timedelta(days=1)  # yesterday's night shift
    last = end.astimezone(cal.tz).date()
    n = (last - first).days + 1
    if n > MAX_DAYS_PER_QUERY:
        raise ValueError(f"window spans {n} local days, more than {MAX_DAYS_PER_QUERY}")
    return [first + timedelta(days=i) for i in range(n)]


def shift_instances(cal: ShiftCalendar, window: Window) -> list[ShiftInstance]:
    """Every shift overlapping ``window``, ordered by start."""
    out = [
        inst
        for day in _local_days(cal, window.start, window.end)
        for inst in shifts_on(cal, day)
        if inst.window.start < window.end and inst.window.end > window.start
    ]
    return sorted(out, key=lambda i: i.window.start)


def planned_spans(cal: ShiftCalendar, window: Window) -> SpanSet:
    """Planned production time inside ``window``: shifts minus breaks, as UTC spans."""
    spans = SpanSet()
    for inst in shift_instances(cal, window):
        spans = spans.union(inst.planned)
    return spans.clip(window.start_s, window.end_s)


def planned_seconds(cal: ShiftCalendar, window: Window) -> float:
    """Planned production time inside ``window``, in seconds."""
    return planned_spans(cal, window).total_s


def planned_minutes_on(cal: ShiftCalendar, day: date) -> float:
    """Planned minutes of the shifts that start on local ``day`` (0 on holidays)."""
    return SpanSet.of(s for inst in shifts_on(cal, day) for s in inst.planned).total_s / 60.0


def local_day_window(day: date, tz: ZoneInfo) -> Window:
    """Local calendar ``day`` as a UTC window (23 or 25 h across a DST change)."""
    nxt = day + timedelta(days=1)
    return Window(_instant(day, time(0), tz), _instant(nxt, time(0), tz))
