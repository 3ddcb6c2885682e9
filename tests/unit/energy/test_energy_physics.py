"""Pure physics of the energy stubs: battery conservation, PV clear-sky shape, power curve, Weibull."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seamline.firmware_stubs.energy import solar, wind
from seamline.firmware_stubs.energy.battery import ONE_WAY_EFFICIENCY, BatteryState, step_battery
from seamline.firmware_stubs.energy.counters import EnergyCounter

DAY_MS = 1_750_435_200_000  # 2025-06-21 00:00 +08:00
HOUR_MS = 3_600_000


@given(st.lists(st.floats(min_value=-50_000, max_value=50_000), min_size=1, max_size=60))
@settings(max_examples=200, deadline=None)
def test_battery_energy_is_conserved(powers_w: list[float]) -> None:
    s = BatteryState(capacity_wh=100_000.0, stored_wh=50_000.0)
    start = s.stored_wh
    for p in powers_w:
        s, _ = step_battery(s, power_w=p, dt_s=60.0)
        assert 0.0 <= s.stored_wh <= s.capacity_wh + 1e-6
    # cells gained what came in x eta and lost what went out / eta
    expected = start + s.charged_wh * ONE_WAY_EFFICIENCY - s.discharged_wh / ONE_WAY_EFFICIENCY
    assert s.stored_wh == pytest.approx(expected, abs=1e-6)


def test_battery_round_trip_efficiency_is_eta_squared() -> None:
    s = BatteryState(capacity_wh=100_000.0, stored_wh=0.0)
    s, _ = step_battery(s, power_w=-10_000.0, dt_s=3600.0)  # charge 10 kWh
    while s.stored_wh > 1e-9:
        s, _ = step_battery(s, power_w=5_000.0, dt_s=600.0)
    assert s.discharged_wh / s.charged_wh == pytest.approx(ONE_WAY_EFFICIENCY**2)


def test_battery_limits_power_at_empty_and_full() -> None:
    empty = BatteryState(capacity_wh=1000.0, stored_wh=0.0)
    _, delivered = step_battery(empty, power_w=500.0, dt_s=60.0)
    assert delivered == 0.0
    full = BatteryState(capacity_wh=1000.0, stored_wh=1000.0)
    _, taken = step_battery(full, power_w=-500.0, dt_s=60.0)
    assert taken == 0.0


def test_pv_clear_sky_is_zero_at_night_and_peaks_near_solar_noon() -> None:
    poa = [solar.clear_sky_at(DAY_MS + m * 60_000)[1] for m in range(0, 1440, 10)]
    assert poa[0] == 0.0 and poa[-1] == 0.0  # midnight and 23:50
    peak_minute = 10 * max(range(len(poa)), key=poa.__getitem__)
    # solar noon at 120.6 E in June is ~11:58 local
    assert 11 * 60 + 30 <= peak_minute <= 12 * 60 + 30
    assert 850.0 <= max(poa) <= 1100.0


def test_pv_temperature_derating_and_clipping() -> None:
    cool = solar.pv_output(poa_w_m2=1000, ghi_w_m2=900, ambient_c=0.0, dc_kwp=50.0, ac_rated_w=100_000)
    hot = solar.pv_output(poa_w_m2=1000, ghi_w_m2=900, ambient_c=40.0, dc_kwp=50.0, ac_rated_w=100_000)
    assert hot.dc_power_w == pytest.approx(cool.dc_power_w * (1 + solar.GAMMA_PER_K * 40) / 1.0, rel=0.02)
    assert hot.dc_power_w < cool.dc_power_w
    clipped = solar.pv_output(poa_w_m2=1000, ghi_w_m2=900, ambient_c=0.0, dc_kwp=50.0, ac_rated_w=30_000)
    assert clipped.ac_power_w == 30_000


def test_clouds_are_deterministic_and_bounded() -> None:
    c = solar.CloudPassages(seed=3)
    factors = [c.factor(DAY_MS + i * 10_000) for i in range(8640)]
    assert factors == [solar.CloudPassages(seed=3).factor(DAY_MS + i * 10_000) for i in range(8640)]
    assert all(1 - c.max_depth <= f <= 1.0 for f in factors)
    assert min(factors) < 0.9  # some passage happened in a day


def test_power_curve_lookups_match_windpowerlib_e48() -> None:
    pc = wind.power_curve("E48/800")
    assert pc.rated_w == pytest.approx(810_000.0, rel=0.02)
    assert pc.power_at(0.5) == 0.0
    assert pc.power_at(26.0) == 0.0  # storm stop above cut-out
    i = pc.wind_speed_m_s.index(8.0)
    assert pc.power_at(8.0) == pc.power_w[i]
    mid = (pc.power_w[i] + pc.power_w[i + 1]) / 2
    assert pc.power_at(8.5) == pytest.approx(mid)


def test_weibull_process_has_the_configured_distribution_and_memory() -> None:
    p = wind.WindSpeedProcess(seed=11, k=2.0, c_m_s=7.0, tau_s=60.0)
    speeds = [p.step(30.0) for _ in range(40_000)]
    assert statistics.fmean(speeds) == pytest.approx(wind.weibull_mean(2.0, 7.0), rel=0.05)
    median = sorted(speeds)[len(speeds) // 2]
    assert median == pytest.approx(7.0 * math.log(2) ** 0.5, rel=0.05)  # Weibull median c (ln 2)^(1/k)
    a, b = speeds[:-1], speeds[1:]
    ma, mb = statistics.fmean(a), statistics.fmean(b)
    cov = statistics.fmean((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
    rho = cov / (statistics.pstdev(a) * statistics.pstdev(b))
    assert 0.4 < rho < 0.8  # AR(1) with phi = exp(-30/60) = 0.61 on the normal scale


def test_energy_counter_rises_and_wraps_at_register_width() -> None:
    c = EnergyCounter(offset_wh=2**32 - 10.0)
    assert c.register_value == 2**32 - 10
    c = c.add(25.0)
    assert c.register_value == 15
    with pytest.raises(ValueError):
        c.add(-1.0)
