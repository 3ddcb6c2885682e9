from __future__ import annotations

import pytest

from seamline.rules.kpi.counter import Reading, counter_increments
from seamline.rules.kpi.integration import Point
from seamline.rules.kpi.wind import (
    PowerCurve,
    expected_energy_kwh,
    lost_production_kpi,
    power_curve_from_windpowerlib,
    wind_availability_kpi,
    wind_energy_kpi,
)
from seamline.rules.master_data import AvailabilityCategory as C
from seamline.rules.master_data import AvailabilityContract
from seamline.rules.spans import SpanSet
from seamline.rules.windows import Window

T0 = 1_767_225_600.0
H = 3600.0
W = Window.from_epoch_s(T0, T0 + 10 * H)
ALL = SpanSet.single(T0, T0 + 10 * H)
CONTRACT = AvailabilityContract(
    id="c",
    status_map={1: C.FULL_PERFORMANCE, 3: C.TECHNICAL_STANDBY, 9: C.FORCED_OUTAGE, 10: C.FORCE_MAJEURE},
    available=[C.FULL_PERFORMANCE, C.TECHNICAL_STANDBY],
)
CURVE = PowerCurve((3.0, 12.0, 25.0), (0.0, 2000.0, 2000.0))


def test_availability_excludes_force_majeure_and_missing_data() -> None:
    # 10 h: 5 h running, 1 h standby, 2 h forced outage, 1 h force majeure, 1 h no data
    status = [(T0, 1), (T0 + 5 * H, 3), (T0 + 6 * H, 9), (T0 + 8 * H, 10)]
    observed = SpanSet.single(T0, T0 + 9 * H)
    k = wind_availability_kpi(status, CONTRACT, W, observed=observed, max_hold_s=10 * H, coverage_threshold=0.8)
    assert k["availability"] == pytest.approx(6 / 8)
    assert k["category_h.force_majeure"] == pytest.approx(1)
    assert k["category_h.information_unavailable"] == pytest.approx(1)
    assert k.coverage.fraction == pytest.approx(0.9)


def test_contract_decides_what_is_available() -> None:
    strict = CONTRACT.model_copy(update={"available": [C.FULL_PERFORMANCE]})
    status = [(T0, 1), (T0 + 5 * H, 3)]
    k = wind_availability_kpi(status, strict, W, observed=ALL, max_hold_s=10 * H, coverage_threshold=0.8)
    assert k["availability"] == pytest.approx(0.5)


def test_energy_and_capacity_factor() -> None:
    # 2 MW for 10 h, 5 MWh produced -> CF 0.25
    inc = counter_increments([Reading(T0 + i * H, 500_000 * i) for i in range(11)])
    k = wind_energy_kpi(inc, W, rated_power_kw=2000, observed=ALL, coverage_threshold=0.8)
    assert k["energy_kwh"] == pytest.approx(5000) and k["capacity_factor"] == pytest.approx(0.25)


def test_power_curve_interpolation_and_cut_out() -> None:
    assert CURVE.power_at_kw(7.5) == pytest.approx(1000)
    assert CURVE.power_at_kw(2.0) == 0 and CURVE.power_at_kw(26) == 0
    with pytest.raises(ValueError):
        PowerCurve((3.0, 3.0), (0.0, 1.0))


def test_expected_and_lost_energy() -> None:
    wind = [Point(T0 + i * H, 7.5) for i in range(10)]  # 1000 kW expected all the time
    status = [(T0, 1), (T0 + 6 * H, 9), (T0 + 8 * H, 10)]  # outage 2 h, force majeure 2 h
    inc = counter_increments([Reading(T0 + i * H, 900_000 * min(i, 6)) for i in range(11)])
    assert expected_energy_kwh(wind, CURVE, ALL, max_hold_s=H) == pytest.approx(10_000)
    k = lost_production_kpi(wind, status, inc, CURVE, CONTRACT, W, observed=ALL, max_hold_s=3 * H,
                            coverage_threshold=0.8)
    assert k["actual_energy_kwh"] == pytest.approx(5400)
    assert k["lost_energy_kwh"] == pytest.approx(2000)  # forced outage only; force majeure is excluded
    assert k["energy_ratio"] == pytest.approx(0.54)


def test_windpowerlib_curve() -> None:
    curve = power_curve_from_windpowerlib("E-82/2350", 108)
    assert curve.power_at_kw(8.0) == pytest.approx(815.0)  # windpowerlib's E-82/2350 table
    assert max(curve.power_kw) == pytest.approx(2350.0)
