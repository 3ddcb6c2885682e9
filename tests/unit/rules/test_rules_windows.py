from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from seamline.rules.windows import (
    Window,
    WindowSize,
    aligned_windows,
    merge,
    recent_windows,
    split,
    split_aligned,
    window_containing,
)

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_daily_window_is_local_midnight_to_midnight() -> None:
    w = window_containing(utc(2026, 3, 2, 17, 0), WindowSize.DAY, SH)  # 01:00 local on 3 March
    assert w.start == utc(2026, 3, 2, 16) and w.end == utc(2026, 3, 3, 16)
    w2 = window_containing(utc(2026, 3, 2, 15, 59, 59), WindowSize.DAY, SH)
    assert w2.start == utc(2026, 3, 1, 16)


def test_five_minute_and_hour_alignment() -> None:
    t = utc(2026, 3, 2, 3, 7, 31)
    assert window_containing(t, WindowSize.FIVE_MINUTES, SH) == Window(utc(2026, 3, 2, 3, 5), utc(2026, 3, 2, 3, 10))
    assert window_containing(t, WindowSize.HOUR, SH) == Window(utc(2026, 3, 2, 3), utc(2026, 3, 2, 4))
    # half-hour zone: hourly windows align to local hours, i.e. :30 UTC
    kol = window_containing(t, WindowSize.HOUR, ZoneInfo("Asia/Kolkata"))
    assert kol.start == utc(2026, 3, 2, 2, 30)


def test_dst_days_are_23_and_25_hours() -> None:
    spring = window_containing(utc(2026, 3, 8, 12), WindowSize.DAY, NY)
    autumn = window_containing(utc(2026, 11, 1, 12), WindowSize.DAY, NY)
    assert spring.duration_s == 23 * 3600
    assert autumn.duration_s == 25 * 3600
    hours = aligned_windows(autumn.start, autumn.end, WindowSize.HOUR, NY)
    assert len(hours) == 25 and all(h.duration_s == 3600 for h in hours)


def test_aligned_windows_tile_range() -> None:
    ws = aligned_windows(utc(2026, 3, 2, 0, 2), utc(2026, 3, 2, 0, 21), WindowSize.FIVE_MINUTES, SH)
    assert [w.start.minute for w in ws] == [0, 5, 10, 15, 20]
    assert all(a.end == b.start for a, b in itertools.pairwise(ws))


def test_recent_windows() -> None:
    ws = recent_windows(utc(2026, 3, 2, 10, 30), WindowSize.HOUR, SH, 3)
    assert [w.start.hour for w in ws] == [7, 8, 9, 10]
    assert ws[-1].contains(utc(2026, 3, 2, 10, 30))
    with pytest.raises(ValueError):
        recent_windows(utc(2026, 3, 2), WindowSize.HOUR, SH, -1)


def test_split_and_merge() -> None:
    w = Window(utc(2026, 1, 1), utc(2026, 1, 2))
    a, b = split(w, utc(2026, 1, 1, 6))
    assert a.duration_s + b.duration_s == w.duration_s
    assert merge([b, a]) == [w]
    later = Window(utc(2026, 1, 1, 7), utc(2026, 1, 1, 8))
    assert merge([later, a]) == [a, later]
    with pytest.raises(ValueError):
        split(w, w.start)
    parts = split_aligned(Window(utc(2026, 1, 1, 0, 30), utc(2026, 1, 1, 3, 15)), WindowSize.HOUR, SH)
    assert [p.duration_s for p in parts] == [1800, 3600, 3600, 900]


def test_window_validation() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Window(datetime(2026, 1, 1), datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="after start"):
        Window(utc(2026, 1, 2), utc(2026, 1, 1))
    w = Window(datetime(2026, 1, 1, 8, tzinfo=SH), datetime(2026, 1, 1, 9, tzinfo=SH))
    assert w.start == utc(2026, 1, 1, 0) and w.start.tzinfo is UTC
    assert w.end - w.start == timedelta(hours=1)


def test_windows_ending_in_counts_aligned_ends_in_the_half_open_interval() -> None:
    from seamline.rules.windows import windows_ending_in

    tz = ZoneInfo("Asia/Shanghai")
    t0 = datetime(2026, 5, 4, 0, 0, tzinfo=UTC)  # 08:00 local: a 5m and 1h boundary
    assert windows_ending_in(t0, t0, WindowSize.FIVE_MINUTES, tz) == 0
    assert windows_ending_in(t0, t0 + timedelta(minutes=5), WindowSize.FIVE_MINUTES, tz) == 1  # end included
    assert windows_ending_in(t0 - timedelta(seconds=1), t0, WindowSize.FIVE_MINUTES, tz) == 1  # start excluded
    assert windows_ending_in(t0, t0 + timedelta(hours=2, minutes=4), WindowSize.FIVE_MINUTES, tz) == 24
    assert windows_ending_in(t0, t0 + timedelta(days=2), WindowSize.DAY, tz) == 2  # local midnights 16:00Z
    assert windows_ending_in(t0, t0 + timedelta(days=30), WindowSize.FIVE_MINUTES, tz, cap=100) == 100
