"""KPI windows: aligned in the enterprise's local time, recent ones to recompute, split and merge.

A :class:`Window` is a half-open UTC interval ``[start, end)`` held as aware datetimes. Alignment
(5-minute, hourly, daily) is done on the *local* wall clock of a :class:`zoneinfo.ZoneInfo`, never
on the server's zone, so a "day" in Asia/Shanghai is 16:00Z..16:00Z whatever ``TZ`` says. Across a
DST change a local day is 23 or 25 hours long; 5-minute and hourly windows stay 5 and 60 minutes
(they are aligned in local time, and every offset in use is a whole number of quarter hours).
Per-shift windows come from :mod:`rules.shift_calendar`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from seamline.rules.spans import Span


class WindowSize(enum.StrEnum):
    FIVE_MINUTES = "5m"
    HOUR = "1h"
    DAY = "1d"


_STEP_S = {WindowSize.FIVE_MINUTES: 300, WindowSize.HOUR: 3600}
# "The last few windows": a bound so a bad argument cannot make a scheduler loop for ever.
MAX_RECENT_WINDOWS = 10_000


@dataclass(frozen=True, slots=True)
class Window:
    """Half-open interval ``[start, end)``; both ends timezone-aware (stored in UTC)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name, value in (("start", self.start), ("end", self.end)):
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"window {name} must be timezone-aware, got naive {value!r}")
        if not self.end > self.start:
            raise ValueError(f"window end {self.end} must be after start {self.start}")
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))

    @classmethod
    def from_epoch_s(cls, start_s: float, end_s: float) -> Window:
        return cls(datetime.fromtimestamp(start_s, UTC), datetime.fromtimestamp(end_s, UTC))

    @property
    def start_s(self) -> float:
        return self.start.timestamp()

    @property
    def end_s(self) -> float:
        return self.end.timestamp()

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def span(self) -> Span:
        return Span(self.start_s, self.end_s)

    def contains(self, t: datetime) -> bool:
        return self.start <= t < self.end

    def contains_s(self, t_s: float) -> bool:
        """Whether UTC epoch second ``t_s`` lies in ``[start, end)``."""
        return self.start_s <= t_s < self.end_s


def _local_floor(t: datetime, size: WindowSize, tz: ZoneInfo) -> datetime:
    local = t.astimezone(tz)
    if size is WindowSize.DAY:
        return datetime(local.year, local.month, local.day, tzinfo=tz)
    step_min = _STEP_S[size] // 60
    minute = (local.minute // step_min) * step_min if size is WindowSize.FIVE_MINUTES else 0
    return local.replace(minute=minute, second=0, microsecond=0)


def _next_start(start: datetime, size: WindowSize, tz: ZoneInfo) -> datetime:
    if size is WindowSize.DAY:
        local = start.astimezone(tz)
        day = local.date() + timedelta(days=1)
        return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    # Sub-day windows advance in absolute time so a repeated local hour is not skipped.
    return (start.astimezone(UTC) + timedelta(seconds=_STEP_S[size])).astimezone(UTC)


def window_containing(t: datetime, size: WindowSize, tz: ZoneInfo) -> Window:
    """The aligned window of ``size`` (in local time of ``tz``) that contains instant ``t``."""
    if t.tzinfo is None:
        raise ValueError("t must be timezone-aware")
    start = _local_floor(t, size, tz).astimezone(UTC)
    if start > t:  # local midnight fell in a DST gap and resolved after t
        start = _local_floor(t - timedelta(hours=1), size, tz).astimezone(UTC)
    return Window(start, _next_start(start, size, tz))


def aligned_windows(start: datetime, end: datetime, size: WindowSize, tz: ZoneInfo) -> list[Window]:
    """Aligned windows of ``size`` overlapping ``[start, end)``, in order (first/last may stick out)."""
    if not end > start:
        return []
    out: list[Window] = []
    current = window_containing(start, size, tz)
    while current.start < end:
        out.append(current)
        if len(out) > MAX_RECENT_WINDOWS:
            raise ValueError(f"more than {MAX_RECENT_WINDOWS} windows of {size} in [{start}, {end})")
        current = Window(current.end, _next_start(current.end, size, tz))
    return out


def recent_windows(now: datetime, size: WindowSize, tz: ZoneInfo, count: int) -> list[Window]:
    """The ``count`` most recent *closed* windows before ``now`` plus the open one containing
    ``now``, oldest first. Late data lands in these; a scheduler recomputes them each tick."""
    if not 0 <= count <= MAX_RECENT_WINDOWS:
        raise ValueError(f"count must be in 0..{MAX_RECENT_WINDOWS}, got {count}")
    current = window_containing(now, size, tz)
    out = [current]
    for _ in range(count):
        out.append(window_containing(out[-1].start - timedelta(microseconds=1), size, tz))
    return list(reversed(out))


def split(window: Window, at: datetime) -> tuple[Window, Window]:
    """Two windows ``[start, at)`` and ``[at, end)``; ``at`` must lie strictly inside."""
    if not window.start < at < window.end:
        raise ValueError(f"split point {at} not strictly inside {window}")
    return Window(window.start, at), Window(at, window.end)


def split_aligned(window: Window, size: WindowSize, tz: ZoneInfo) -> list[Window]:
    """``window`` cut at every aligned boundary of ``size``; the pieces tile it exactly."""
    out: list[Window] = []
    for aligned in aligned_windows(window.start, window.end, size, tz):
        start, end = max(aligned.start, window.start), min(aligned.end, window.end)
        out.append(Window(start, end))
    return out


def merge(windows: Iterable[Window]) -> list[Window]:
    """Union of windows: overlapping or touching windows merged, sorted by start."""
    out: list[Window] = []
    for w in sorted(windows, key=lambda w: w.start):
        if out and w.start <= out[-1].end:
            if w.end > out[-1].end:
                out[-1] = Window(out[-1].start, w.end)
        else:
            out.append(w)
    return out


def windows_ending_in(after: datetime, until: datetime, size: WindowSize, tz: ZoneInfo, *,
                      cap: int = MAX_RECENT_WINDOWS) -> int:
    """How many aligned windows of ``size`` end in ``(after, until]``, at most ``cap``: the windows a
    scheduler that last covered ``after`` owes by ``until`` (windows late, when ``until`` is now less
    the time a tick may take)."""
    if not until > after:
        return 0
    current = window_containing(after, size, tz)
    n = 0
    while current.end <= until and n < cap:
        n += 1
        current = Window(current.end, _next_start(current.end, size, tz))
    return n
