"""Battery energy integrated from power samples (SunSpec 802 publishes no energy counters)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.contracts.messages import Quality
from seamline.rules.kpi.battery import energy_from_power
from seamline.rules.kpi.integration import Point
from seamline.rules.spans import Span, SpanSet

ALL = SpanSet((Span(0, 10_000),))


def test_constant_discharge_then_charge() -> None:
    # 36 kW discharge for 100 s = 1000 Wh; then 18 kW charge for 200 s = 1000 Wh
    pts = [Point(0, 36_000.0), Point(100, 36_000.0), Point(100.001, -18_000.0), Point(300.001, -18_000.0)]
    charge, discharge = energy_from_power(pts, max_gap_s=600)
    # the 1 ms ramp between the two plateaus adds 0.0033 Wh discharge and 0.0008 Wh charge
    assert discharge.amount_in(ALL) == pytest.approx(1000.0, abs=0.005)
    assert charge.amount_in(ALL) == pytest.approx(1000.0, abs=0.005)


def test_sign_change_is_split_at_the_zero_crossing() -> None:
    # linear from +3600 W to -3600 W over 20 s: 10 s discharging (avg 1800 W) = 5 Wh, same charging
    charge, discharge = energy_from_power([Point(0, 3600.0), Point(20, -3600.0)], max_gap_s=60)
    assert discharge.amount_in(ALL) == pytest.approx(5.0)
    assert charge.amount_in(ALL) == pytest.approx(5.0)


def test_gaps_and_stale_samples_contribute_nothing() -> None:
    pts = [Point(0, 1000.0), Point(1000, 1000.0), Point(1010, 1000.0, Quality.STALE), Point(1020, 1000.0)]
    charge, discharge = energy_from_power(pts, max_gap_s=600)
    # 0 -> 1000 is a gap beyond max_gap_s; 1000 -> 1020 (stale sample skipped) = 20 s x 1 kW
    assert discharge.amount_in(ALL) == pytest.approx(1000.0 * 20 / 3600)
    assert charge.amount_in(ALL) == 0.0


def test_only_the_part_inside_the_window_counts() -> None:
    _, discharge = energy_from_power([Point(0, 7200.0), Point(100, 7200.0)], max_gap_s=600)
    assert discharge.amount_in(SpanSet((Span(50, 100),))) == pytest.approx(100.0)


@given(st.lists(st.tuples(st.floats(0.5, 60), st.floats(-100_000, 100_000)), min_size=2, max_size=40))
def test_net_energy_equals_the_signed_integral(steps: list[tuple[float, float]]) -> None:
    t, pts = 0.0, []
    for dt, p in steps:
        t += dt
        pts.append(Point(t, p))
    charge, discharge = energy_from_power(pts, max_gap_s=1e9)
    window = SpanSet((Span(0, t + 1),))
    signed = sum((a.value + b.value) / 2 * (b.ts_s - a.ts_s) / 3600 for a, b in itertools.pairwise(pts))
    net = discharge.amount_in(window) - charge.amount_in(window)
    assert net == pytest.approx(signed, rel=1e-9, abs=1e-6)
    assert discharge.amount_in(window) >= 0 and charge.amount_in(window) >= 0
