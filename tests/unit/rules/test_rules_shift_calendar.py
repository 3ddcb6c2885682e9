from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from seamline.rules.master_data import Break, Shift, Weekday
from seamline.rules.shift_calendar import (
    ShiftCalendar,
    local_day_window,
    planned_minutes_on,
    planned_seconds,
    planned_spans,
    shift_instances,
    shifts_on,
)
from seamline.rules.windows import Window

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
WEEK = list(Weekday)


def day_shift(days: list[Weekday] = WEEK[:5]) -> Shift:
    return Shift(name="day", start=time(8), end=time(17), days=days,
                 breaks=[Break(start=time(12), end=time(13))])


def night_shift() -> Shift:
    return Shift(name="night", start=time(22), end=time(6), days=WEEK[:5],
                 breaks=[Break(start=time(23, 30), end=time(0, 15)), Break(start=time(2), end=time(2, 30))])


def cal(tz: ZoneInfo = SH, **kw: object) -> ShiftCalendar:
    return ShiftCalendar(tz=tz, shifts=(day_shift(), night_shift()), **kw)  # type: ignore[arg-type]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_day_shift_minus_break_is_480_minutes() -> None:
    c = ShiftCalendar(tz=SH, shifts=(day_shift(),))
    assert planned_minutes_on(c, date(2026, 3, 2)) == 480  # Monday: 9 h − 1 h lunch
    assert planned_minutes_on(c, date(2026, 3, 7)) == 0  # Saturday


def test_night_shift_crossing_midnight() -> None:
    (inst,) = [i for i in shifts_on(cal(), date(2026, 3, 2)) if i.name == "night"]
    # 22:00 Mon .. 06:00 Tue Shanghai = 14:00Z .. 22:00Z; breaks 45 + 30 min
    assert inst.window == Window(utc(2026, 3, 2, 14), utc(2026, 3, 2, 22))
    assert inst.planned_s == (8 * 60 - 75) * 60
    # Planned time of Tuesday's local calendar day includes the tail of Monday's night shift.
    tue = local_day_window(date(2026, 3, 3), SH)
    expected_min = (6 * 60 - 15 - 30) + 480 + (2 * 60 - 30)  # 00:00-06:00 tail, day shift, 22:00-24:00 head
    assert planned_seconds(cal(), tue) == expected_min * 60


def test_holiday_removes_shifts_starting_that_day_only() -> None:
    c = cal(holidays=frozenset({date(2026, 3, 3)}))
    assert planned_minutes_on(c, date(2026, 3, 3)) == 0
    tue = local_day_window(date(2026, 3, 3), SH)
    assert planned_seconds(c, tue) == (6 * 60 - 45) * 60  # Monday's night shift still ends Tuesday


def test_makeup_workday() -> None:
    c = cal(workdays={date(2026, 2, 15): Weekday.MON})  # a Sunday worked as Monday
    assert planned_minutes_on(c, date(2026, 2, 15)) == 480 + 405


def test_partial_window() -> None:
    w = Window(utc(2026, 3, 2, 3, 30), utc(2026, 3, 2, 5, 30))  # 11:30-13:30 local, lunch inside
    assert planned_seconds(cal(), w) == 60 * 60
    spans = planned_spans(cal(), w)
    assert [(s.start_s, s.end_s) for s in spans] == [
        (utc(2026, 3, 2, 3, 30).timestamp(), utc(2026, 3, 2, 4).timestamp()),
        (utc(2026, 3, 2, 5).timestamp(), utc(2026, 3, 2, 5, 30).timestamp()),
    ]
    assert [i.name for i in shift_instances(cal(), w)] == ["day"]


def test_dst_zone_night_shift_is_an_hour_longer_in_autumn() -> None:
    c = ShiftCalendar(tz=NY, shifts=(Shift(name="n", start=time(22), end=time(6), days=list(Weekday)),))
    assert planned_minutes_on(c, date(2026, 10, 31)) == 9 * 60  # clocks go back on 1 Nov 02:00
    assert planned_minutes_on(c, date(2026, 3, 7)) == 7 * 60  # clocks go forward on 8 Mar 02:00
    assert planned_minutes_on(c, date(2026, 3, 10)) == 8 * 60
    day = local_day_window(date(2026, 3, 8), NY)
    assert day.duration_s == 23 * 3600


def test_from_master_data_override() -> None:
    from pathlib import Path

    from seamline.rules.master_data import load_master_data

    data = load_master_data(Path(__file__).resolve().parents[3] / "rules" / "master_data.sample.yaml")
    f002 = ShiftCalendar.for_enterprise(data, data.enterprise("f002"))
    assert planned_minutes_on(f002, date(2026, 5, 5)) == 10.5 * 60 - 60  # override: one 07:30-18:00 shift
    assert planned_minutes_on(f002, date(2026, 5, 4)) == 0  # enterprise's extra holiday
    f001 = ShiftCalendar.for_enterprise(data, data.enterprise("f001"))
    assert planned_minutes_on(f001, date(2026, 5, 4)) == 500 + 450
    assert planned_minutes_on(f001, date(2026, 10, 1)) == 0
