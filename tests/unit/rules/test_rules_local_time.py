"""Daily totals are computed in the enterprise's local time whatever the server's TZ."""

from __future__ import annotations

import os
import time as systime
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seamline.rules.master_data import Shift, Weekday
from seamline.rules.shift_calendar import ShiftCalendar, local_day_window, planned_seconds
from seamline.rules.windows import WindowSize, window_containing

SH = ZoneInfo("Asia/Shanghai")
CAL = ShiftCalendar(tz=SH, shifts=(Shift(name="d", start=datetime(2000, 1, 1, 8).time(),
                                         end=datetime(2000, 1, 1, 17).time(), days=list(Weekday)),))


@pytest.fixture
def restore_tz() -> Iterator[None]:
    old = os.environ.get("TZ")
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    systime.tzset()


def _daily(day: date) -> tuple[float, float, float]:
    w = local_day_window(day, SH)
    return w.start_s, w.end_s, planned_seconds(CAL, w)


# The fixture only restores TZ once at the end; every example sets TZ itself.
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
       st.sampled_from(["UTC", "America/New_York", "Pacific/Kiritimati", "Europe/London"]))
def test_daily_totals_independent_of_server_tz(restore_tz: None, day: date, server_tz: str) -> None:
    os.environ["TZ"] = "Asia/Shanghai"
    systime.tzset()
    reference = _daily(day)
    os.environ["TZ"] = server_tz
    systime.tzset()
    assert _daily(day) == reference
    assert reference[2] == 9 * 3600
    start = datetime.fromtimestamp(reference[0], SH)
    assert (start.hour, start.minute, start.date()) == (0, 0, day)
    assert window_containing(start, WindowSize.DAY, SH).start_s == reference[0]
