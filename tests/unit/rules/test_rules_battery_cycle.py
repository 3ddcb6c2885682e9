"""The balanced cycle inside a battery KPI window: the longest stretch between two equal SoC
readings with a real swing between them, and the round trip over it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.contracts.messages import Quality
from seamline.rules.kpi.battery import CYCLE_SEARCH_MAX_POINTS, balanced_cycle, battery_kpi
from seamline.rules.kpi.counter import Reading, counter_increments
from seamline.rules.kpi.integration import Point
from seamline.rules.spans import SpanSet
from seamline.rules.windows import Window

TZ = ZoneInfo("Asia/Shanghai")
W = Window(datetime(2026, 5, 6, 8, tzinfo=TZ), datetime(2026, 5, 6, 16, tzinfo=TZ))
T0 = W.start_s
ALL = SpanSet((W.span,))


def soc(values: list[float], step_s: float = 1800.0) -> list[Point]:
    return [Point(T0 + i * step_s, v) for i, v in enumerate(values)]


def test_the_longest_stretch_between_equal_socs_with_a_swing() -> None:
    pts = soc([90, 80, 70, 80, 90, 95, 90, 60, 40])
    a, b = balanced_cycle(pts) or (None, None)
    assert (a, b) == (pts[0], pts[6])  # 90 -> 70 -> 95 -> 90: 3 h; 95..95 would be shorter


def test_no_cycle_when_the_soc_only_falls_or_rests() -> None:
    assert balanced_cycle(soc([90, 80, 70, 60])) is None
    assert balanced_cycle(soc([50, 50.5, 50, 50.2])) is None  # at rest: no swing beyond 2 %
    assert balanced_cycle([]) is None


@given(st.lists(st.floats(10, 95), min_size=2, max_size=40))
def test_a_found_cycle_has_equal_ends_and_a_swing(values: list[float]) -> None:
    found = balanced_cycle(soc(values))
    if found is None:
        return
    a, b = found
    assert a.ts_s < b.ts_s and abs(a.value - b.value) <= 1.0
    inside = [p.value for p in soc(values) if a.ts_s <= p.ts_s <= b.ts_s]
    assert max(inside) - min(inside) > 2.0


def test_long_series_are_thinned_but_keep_their_ends() -> None:
    n = 3 * CYCLE_SEARCH_MAX_POINTS
    pts = [Point(T0 + i * 10.0, 50 + 40 * abs((i % 600) - 300) / 300) for i in range(n)]  # saw tooth 90..50..90
    a, b = balanced_cycle(pts) or (None, None)
    assert a is not None and b is not None and b.ts_s - a.ts_s > 0.6 * (n * 10)


def test_the_cycle_round_trip_is_the_battery_s_while_the_shift_s_is_skewed_by_the_soc() -> None:
    # 100 kWh battery: 08-10 discharge 40 kWh (SoC 90 -> 50 %), 10-12 charge 50 kWh back to 90 %
    # (a round trip of 0.8 over 08-12), 12-16 discharge 30 kWh more (SoC 90 -> 57 %)
    hours = [0, 2, 4, 8]
    charge = counter_increments([Reading(T0 + h * 3600, v) for h, v in zip(hours, [0, 0, 50_000, 50_000],
                                                                            strict=True)])
    dis = counter_increments([Reading(T0 + h * 3600, v) for h, v in zip(hours, [0, 40_000, 40_000, 70_000],
                                                                         strict=True)])
    socs = [Point(T0 + h * 3600, v, Quality.GOOD) for h, v in zip(hours, [90, 50, 90, 57], strict=True)]
    k = battery_kpi(charge, dis, socs, W, capacity_kwh=100, observed=ALL, max_gap_s=4 * 3600, coverage_threshold=0.8)
    assert k["cycle_round_trip_efficiency"] == pytest.approx(0.8)
    assert k["cycle_h"] == pytest.approx(4.0)
    assert k["round_trip_efficiency"] == pytest.approx((70 - 33) / 50)  # SoC-corrected over the shift
