"""Piecewise-constant power and its exact running energy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.firmware_stubs.energy.power_profile import PowerProfile

H = 3_600_000


def test_overlapping_intervals_add_up_and_energy_is_exact() -> None:
    p = PowerProfile.from_intervals(0, 4 * H, [0, H, 3 * H], [2 * H, 3 * H, 9 * H], [100.0, 50.0, 10.0])
    assert [p.power_w_at(t) for t in (0, H, 2 * H, 3 * H + 1)] == [100.0, 150.0, 50.0, 10.0]
    assert p.energy_between_wh(0, 4 * H) == pytest.approx(100 * 2 + 50 * 2 + 10)
    assert p.energy_between_wh(H // 2, H + H // 2) == pytest.approx(50 + 75)  # half an hour at 100, half at 150


def test_power_is_held_outside_the_span() -> None:
    p = PowerProfile.from_intervals(H, 2 * H, [H], [2 * H], [600.0])
    assert p.energy_wh(H) == 0.0
    assert p.energy_between_wh(2 * H, 3 * H) == pytest.approx(600.0)  # the last step's power, held
    assert p.energy_between_wh(0, H) == pytest.approx(600.0)
    with pytest.raises(ValueError):
        PowerProfile.from_intervals(H, H, [], [], [])


intervals = st.lists(st.tuples(st.integers(0, 10 * H), st.integers(1, 3 * H), st.floats(0, 5000)), max_size=30)


def oracle_wh(ivs: list[tuple[int, int, float]], a: int, b: int) -> float:
    """Energy of the intervals inside [a, b) by plain overlap arithmetic (the test's oracle)."""
    return sum(w * max(0, min(s + d, b, 10 * H) - max(s, a)) / H for s, d, w in ivs)


@given(intervals, st.integers(0, 10 * H), st.integers(0, 10 * H))
def test_energy_equals_the_overlap_oracle(ivs: list[tuple[int, int, float]], x: int, y: int) -> None:
    a, b = sorted((x, y))
    p = PowerProfile.from_intervals(0, 10 * H, [s for s, _, _ in ivs], [s + d for s, d, _ in ivs],
                                    [w for _, _, w in ivs])
    assert p.energy_between_wh(a, b) == pytest.approx(oracle_wh(ivs, a, b), abs=1e-6)


@given(intervals, intervals, st.integers(0, 10 * H))
def test_the_sum_of_profiles_draws_their_summed_energy(i1: list[tuple[int, int, float]],
                                                       i2: list[tuple[int, int, float]], t: int) -> None:
    def make(ivs: list[tuple[int, int, float]]) -> PowerProfile:
        return PowerProfile.from_intervals(0, 10 * H, [s for s, _, _ in ivs], [s + d for s, d, _ in ivs],
                                           [w for _, _, w in ivs])
    p1, p2 = make(i1), make(i2)
    total = PowerProfile.sum([p1, p2])
    assert total.energy_wh(t) == pytest.approx(p1.energy_wh(t) + p2.energy_wh(t), abs=1e-6)
    assert total.power_w_at(t) == pytest.approx(p1.power_w_at(t) + p2.power_w_at(t), abs=1e-6)
    ts = np.array([0, t, 10 * H], dtype=np.int64)
    assert total.energy_at_many(ts) == pytest.approx(p1.energy_at_many(ts) + p2.energy_at_many(ts), abs=1e-6)
