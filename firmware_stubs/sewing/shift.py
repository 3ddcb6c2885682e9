"""The simulator's own shift calendar: when machines are powered and operators work.

Deliberately simple and local to the simulator (the rules engine keeps its own master data):
work periods and tea breaks as local wall-clock times in one time zone, on given weekdays.
Outside work periods the machine is off; the gap between two work periods of the same day is
``lunch``, any other gap ``off_shift``. Tea breaks fall inside work periods (machine stays powered).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class BlockKind(enum.StrEnum):
    WORK = "work"
    BREAK = "break"  # tea break: powered, operator away
    LUNCH = "lunch"  # between two work periods of one day: unpowered
    OFF_SHIFT = "off_shift"  # night, rest days: unpowered
    NO_WORK = "no_work"  # working time without work (a line waiting for cut parts): powered, idle


@dataclass(frozen=True, slots=True)
class CalendarBlock:
    """``[start_ms, end_ms)`` in UTC epoch ms of one calendar kind."""

    start_ms: int
    end_ms: int
    kind: BlockKind


def _default_work() -> tuple[tuple[time, time], ...]:
    return ((time(8, 0), time(12, 0)), (time(13, 0), time(17, 0)))


def _default_breaks() -> tuple[tuple[time, time], ...]:
    return ((time(10, 0), time(10, 15)), (time(15, 0), time(15, 15)))


@dataclass(frozen=True, slots=True, kw_only=True)
class ShiftPattern:
    """Work periods and tea breaks (local times in ``tz``) on ``workdays`` (0 = Monday)."""

    tz: str = "Asia/Shanghai"
    work: tuple[tuple[time, time], ...] = field(default_factory=_default_work)
    breaks: tuple[tuple[time, time], ...] = field(default_factory=_default_breaks)
    # Small garment firms commonly work six days a week.
    workdays: frozenset[int] = frozenset(range(6))

    def __post_init__(self) -> None:
        ZoneInfo(self.tz)  # raises on an unknown zone
        for what, spans in (("work", self.work), ("breaks", self.breaks)):
            for start, end in spans:
                if not start < end:
                    raise ValueError(f"{what} period {start}-{end}: start must be before end (same day)")
        for (_, e1), (s2, _) in zip(self.work, self.work[1:], strict=False):
            if not e1 <= s2:
                raise ValueError(f"work periods must be sorted and not overlap: {self.work}")
        for bs, be in self.breaks:
            if not any(ws <= bs and be <= we for ws, we in self.work):
                raise ValueError(f"break {bs}-{be} is not inside a work period")
        if not self.workdays <= frozenset(range(7)):
            raise ValueError(f"workdays must be 0..6 (Monday=0), got {sorted(self.workdays)}")

    def blocks(self, start_ms: int, end_ms: int) -> list[CalendarBlock]:
        """Calendar blocks tiling ``[start_ms, end_ms)`` without gaps or overlaps."""
        if end_ms <= start_ms:
            raise ValueError(f"empty window: start_ms={start_ms} end_ms={end_ms}")
        zone = ZoneInfo(self.tz)
        first = datetime.fromtimestamp(start_ms / 1000, zone).date() - timedelta(days=1)
        last = datetime.fromtimestamp(end_ms / 1000, zone).date() + timedelta(days=1)
        powered: list[tuple[int, int, BlockKind, date]] = []
        day = first
        while day <= last:
            if day.weekday() in self.workdays:
                powered.extend(self._day_spans(day, zone))
            day += timedelta(days=1)
        out: list[CalendarBlock] = []
        cursor = start_ms
        prev_day: date | None = None
        for s, e, kind, d in powered:
            s, e = max(s, start_ms), min(e, end_ms)
            if e <= s:
                if e <= start_ms:
                    prev_day = d
                continue
            if s > cursor:
                gap = BlockKind.LUNCH if prev_day == d else BlockKind.OFF_SHIFT
                out.append(CalendarBlock(cursor, s, gap))
            out.append(CalendarBlock(s, e, kind))
            cursor, prev_day = e, d
        if cursor < end_ms:
            out.append(CalendarBlock(cursor, end_ms, BlockKind.OFF_SHIFT))
        return out

    def _day_spans(self, day: date, zone: ZoneInfo) -> list[tuple[int, int, BlockKind, date]]:
        def ms(t: time) -> int:
            return int(datetime.combine(day, t, tzinfo=zone).timestamp() * 1000)

        spans: list[tuple[int, int, BlockKind, date]] = []
        for ws, we in self.work:
            cursor = ms(ws)
            for bs, be in sorted(b for b in self.breaks if ws <= b[0] and b[1] <= we):
                if ms(bs) > cursor:
                    spans.append((cursor, ms(bs), BlockKind.WORK, day))
                spans.append((ms(bs), ms(be), BlockKind.BREAK, day))
                cursor = ms(be)
            if ms(we) > cursor:
                spans.append((cursor, ms(we), BlockKind.WORK, day))
        return spans


def with_no_work(blocks: list[CalendarBlock], spans_ms: Sequence[tuple[int, int]]) -> list[CalendarBlock]:
    """``blocks`` with the working time inside ``spans_ms`` (``[start, end)`` UTC ms) turned into
    ``NO_WORK``: a line left without work keeps its machines powered and idle. Breaks, lunch and
    off-shift time stay as they are; the result still tiles the same window."""
    out: list[CalendarBlock] = []
    for b in blocks:
        if b.kind is not BlockKind.WORK:
            out.append(b)
            continue
        cursor = b.start_ms
        for s, e in sorted(spans_ms):
            s, e = max(s, cursor), min(e, b.end_ms)
            if e <= s:
                continue
            if s > cursor:
                out.append(CalendarBlock(cursor, s, BlockKind.WORK))
            out.append(CalendarBlock(s, e, BlockKind.NO_WORK))
            cursor = e
        if cursor < b.end_ms:
            out.append(CalendarBlock(cursor, b.end_ms, BlockKind.WORK))
    return out


def always_working(start_ms: int, end_ms: int) -> list[CalendarBlock]:
    """No calendar: the whole window is working time."""
    if end_ms <= start_ms:
        raise ValueError(f"empty window: start_ms={start_ms} end_ms={end_ms}")
    return [CalendarBlock(start_ms, end_ms, BlockKind.WORK)]
