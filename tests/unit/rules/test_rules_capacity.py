from __future__ import annotations

import math
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from seamline.contracts.messages import CapacityMessage
from seamline.rules.capacity import (
    DailyEfficiency,
    available_std_min,
    capacity_messages,
    days_ahead,
    pieces_per_day,
    rolling_efficiency,
)
from seamline.rules.master_data import load_master_data

SAMPLE = Path(__file__).resolve().parents[3] / "rules" / "master_data.sample.yaml"


def test_available_minutes_worked_example() -> None:
    # 12 operators × 500 min × (1 − 0.08) × 0.5 = 2760 standard minutes
    assert available_std_min(operators=12, shift_min=500, absenteeism=0.08, efficiency=0.5) == pytest.approx(2760)
    assert pieces_per_day(2760, 22) == 125


def test_rolling_efficiency_weighted_by_coverage() -> None:
    daily = [DailyEfficiency(date(2026, 3, d), e, c) for d, e, c in [(1, 0.4, 1.0), (2, 0.6, 0.5), (3, None, 1.0),
                                                                      (4, 0.9, 0.0)]]
    m = rolling_efficiency(daily, default=0.5, wanted_days=2)
    mean = (0.4 * 1 + 0.6 * 0.5) / 1.5
    sd = math.sqrt((1 * (0.4 - mean) ** 2 + 0.5 * (0.6 - mean) ** 2) / 1.5)
    assert m.efficiency == pytest.approx(mean)
    assert m.confidence == pytest.approx(min(1, 1.5 / 2) / (1 + sd / mean))
    assert m.days_used == 2
    none = rolling_efficiency([], default=0.55, wanted_days=14)
    assert (none.efficiency, none.confidence, none.days_used) == (0.55, 0.0, 0)


def test_identical_days_full_coverage_give_confidence_one() -> None:
    daily = [DailyEfficiency(date(2026, 3, d), 0.45, 1.0) for d in range(1, 15)]
    m = rolling_efficiency(daily, default=0.5, wanted_days=14)
    assert m.efficiency == pytest.approx(0.45) and m.confidence == pytest.approx(1.0)


def test_capacity_messages_from_sample() -> None:
    data = load_master_data(SAMPLE)
    now = datetime(2026, 4, 30, 17, 0, tzinfo=UTC)  # 1 May 01:00 Shanghai -> feed starts 2 May
    daily = {("f001", "line01"): [DailyEfficiency(date(2026, 4, d), 0.5, 1.0) for d in range(16, 30)]}
    booked = {("f001", "s1", "line01", date(2026, 5, 4)): 1000.0, ("f001", "s1", "line01", date(2026, 5, 5)): 99_999.0,
              ("f001", "s2", "line01", date(2026, 5, 6)): 500.0}  # another site's line01: not this one
    msgs = capacity_messages(data, now=now, daily_efficiency=daily, booked=booked)
    assert [(m.enterprise, m.line) for m in msgs] == [("f001", "line01"), ("f001", "line02"), ("f002", "line01")]
    m = msgs[0]
    assert isinstance(m, CapacityMessage)
    assert m.days[0].day == date(2026, 5, 2) and len(m.days) == 14
    assert m.efficiency == pytest.approx(0.5) and m.confidence == pytest.approx(1.0)
    assert m.categories == ["shirt"] and m.generated_ts_ms == int(now.timestamp() * 1000)
    by_day = {d.day: d for d in m.days}
    mon = by_day[date(2026, 5, 4)]  # day 500 + night 450 minutes
    assert mon.available_std_min == pytest.approx(12 * 950 * 0.92 * 0.5)
    assert mon.free_std_min == pytest.approx(12 * 950 * 0.92 * 0.5 - 1000)
    assert by_day[date(2026, 5, 5)].free_std_min == 0  # overbooked floors at 0
    assert by_day[date(2026, 5, 6)].booked_std_min == 0  # booked on s2's line01, not on s1's
    assert by_day[date(2026, 5, 3)].available_std_min == 0  # Sunday
    assert by_day[date(2026, 5, 9)].available_std_min == pytest.approx(12 * 500 * 0.92 * 0.5)  # Saturday
    unmeasured = msgs[1]
    assert unmeasured.confidence == 0 and unmeasured.efficiency == 0.5
    f002 = msgs[2]
    assert {d.day: d.available_std_min for d in f002.days}[date(2026, 5, 4)] == 0  # f002's own holiday


def test_days_ahead_bounds() -> None:
    assert days_ahead(date(2026, 12, 31), 2) == [date(2026, 12, 31), date(2027, 1, 1)]
    with pytest.raises(ValueError):
        days_ahead(date(2026, 1, 1), 400)
