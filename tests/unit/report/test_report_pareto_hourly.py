"""The pure pieces behind the per-line charts: the downtime Pareto and the hourly target."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.report.hourly import hourly_slots, target_pieces
from seamline.report.inputs import LineFigures
from seamline.report.pareto import OTHER, pareto
from seamline.rules.master_data import Line
from seamline.rules.shift_calendar import ShiftCalendar
from tests.support import report_inputs as ri


def test_pareto_orders_by_minutes_and_accumulates_to_one() -> None:
    bars = pareto({"stop": 5.0, "breakdown.needle": 30.0, "stop.no_work": 45.0, "breakdown.thread": 20.0})
    assert [b.reason for b in bars] == ["stop.no_work", "breakdown.needle", "breakdown.thread", "stop"]
    assert [round(b.share, 4) for b in bars] == [0.45, 0.3, 0.2, 0.05]
    assert [round(b.cumulative, 4) for b in bars] == [0.45, 0.75, 0.95, 1.0]


def test_pareto_drops_zero_reasons_and_folds_the_tail_into_other() -> None:
    minutes = {f"r{i}": float(10 - i) for i in range(10)} | {"zero": 0.0}
    bars = pareto(minutes, max_bars=4)
    assert [b.reason for b in bars] == ["r0", "r1", "r2", OTHER]
    assert bars[-1].minutes == pytest.approx(sum(10 - i for i in range(3, 10)))
    assert pareto({}) == () and pareto({"a": 0.0}) == ()


def test_pareto_ties_are_broken_by_reason_code() -> None:
    assert [b.reason for b in pareto({"b": 5.0, "a": 5.0})] == ["a", "b"]


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.floats(min_value=0, max_value=1e5), max_size=20),
       st.integers(min_value=2, max_value=12))
def test_pareto_properties(minutes: dict[str, float], max_bars: int) -> None:
    bars = pareto(minutes, max_bars=max_bars)
    assert len(bars) <= max_bars
    assert sum(b.minutes for b in bars) == pytest.approx(sum(m for m in minutes.values() if m > 0))
    assert all(a.minutes >= b.minutes for a, b in itertools.pairwise(bars) if OTHER not in (a.reason, b.reason))
    assert all(a.cumulative <= b.cumulative + 1e-12 for a, b in itertools.pairwise(bars))
    if bars:
        assert bars[-1].cumulative == pytest.approx(1.0)


def test_target_is_the_lines_planned_pace() -> None:
    """DOMAIN: 5 operators, 480 min at 41.67 % efficiency on a 20-minute garment = 50 pieces."""
    line = Line(id="l", operators=5, categories=["shirt"], default_efficiency=0.5 / 1.2)
    assert target_pieces(480, line, 20.0) == pytest.approx(50.0)
    absent = Line(id="l", operators=10, absenteeism=0.1, categories=["t"], default_efficiency=0.5)
    assert target_pieces(60, absent, 12.0) == pytest.approx(22.5)
    with pytest.raises(ValueError):
        target_pieces(60, absent, 0.0)


def test_hourly_slots_follow_the_shift_calendar_and_the_hourly_points() -> None:
    master = ri.master()
    ent = master.enterprise("f001")
    cal = ShiftCalendar.for_enterprise(master, ent)
    line = ent.sites[0].lines[0]
    points = {ri.local_ms(ri.DAY, 9): LineFigures(good_pieces=21.0, coverage=1.0),
              ri.local_ms(ri.DAY, 19): LineFigures(good_pieces=3.0, coverage=0.5)}  # overtime, not planned
    slots = hourly_slots(ri.DAY, cal, line, 12.0, points)
    assert [s.start.hour for s in slots] == [8, 9, 10, 11, 13, 14, 15, 16, 19]  # lunch 12-13 is not planned
    assert all(s.start.tzinfo is not None and s.start.utcoffset() == ri.TZ.utcoffset(s.start) for s in slots)
    by_hour = {s.start.hour: s for s in slots}
    assert by_hour[9].output == 21.0 and by_hour[9].target == pytest.approx(22.5)
    assert by_hour[8].output is None
    assert by_hour[19].planned_min == 0 and by_hour[19].target == 0.0 and by_hour[19].output == 3.0
    assert all(s.target is None for s in hourly_slots(ri.DAY, cal, line, None, points))


def test_a_holiday_has_no_planned_hours() -> None:
    master = ri.master()
    cal = ShiftCalendar.for_enterprise(master, master.enterprise("f001"))
    sunday = date(2026, 5, 10)
    assert hourly_slots(sunday, cal, master.enterprise("f001").sites[0].lines[0], 12.0, {}) == ()


def test_hourly_slots_on_a_dst_day_cover_the_local_hours() -> None:
    """A 23-hour local day: the slots are real hours, labelled in local time."""
    doc = ri.master_doc(("f001",))
    doc["enterprises"][0]["timezone"] = "Europe/Berlin"
    doc["calendars"][0]["shifts"][0] |= {"start": "00:00", "end": "23:59", "breaks": [],
                                         "days": ["sun"]}
    from seamline.rules.master_data import parse_master_data
    master = parse_master_data(doc)
    ent = master.enterprise("f001")
    cal = ShiftCalendar.for_enterprise(master, ent)
    slots = hourly_slots(date(2026, 3, 29), cal, ent.sites[0].lines[0], 12.0, {})
    assert len(slots) == 23
    assert [s.start.hour for s in slots[:4]] == [0, 1, 3, 4]
    assert slots[0].start == datetime(2026, 3, 29, 0, 0, tzinfo=ZoneInfo("Europe/Berlin"))
