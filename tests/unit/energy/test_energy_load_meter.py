"""A meter drawing a load counts exactly the load's energy, whatever its steps and reads; supply
behind it (PV, battery) is netted, a surplus exported."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.firmware_stubs.energy.devices import INITIAL_COUNTER_WH
from seamline.firmware_stubs.energy.meter import Meter
from seamline.firmware_stubs.energy.power_profile import PowerProfile

H = 3_600_000
T0 = 1_750_435_200_000
LOAD = PowerProfile.from_intervals(T0, T0 + 10 * H, [T0, T0 + H, T0 + 3 * H], [T0 + 10 * H, T0 + 2 * H, T0 + 3 * H + 7],
                                   [600.0, 4_000.0, 1e6])  # base, a shift block, a 7 ms spike of 1 MW


@given(st.lists(st.integers(1, 600_000), min_size=1, max_size=80), st.sampled_from([1.0, 20.0, 300.0]))
def test_counters_equal_the_load_energy_whatever_the_reads(gaps: list[int], step_s: float) -> None:
    m = Meter(name="m", load=LOAD, step_s=step_s)
    t = T0
    m.advance_to(t)
    for g in gaps:
        t += g
        m.advance_to(t)
    imported, exported = m.totals_wh()
    assert imported == pytest.approx(LOAD.energy_between_wh(T0, t), rel=1e-9, abs=1e-6)
    assert exported == 0.0
    assert m.truth()["import_energy_wh"] == float(int(INITIAL_COUNTER_WH + imported))


def test_supply_behind_the_meter_is_netted_and_a_surplus_exported() -> None:
    m = Meter(name="m", load=PowerProfile.constant(T0, T0 + 4 * H, 1_000.0), supply_w=lambda ts: 3_000.0, step_s=60)
    m.advance_to(T0)
    m.advance_to(T0 + H)
    assert m.totals_wh() == (0.0, pytest.approx(2_000.0))
    assert m.truth()["power_w"] == -2_000.0
