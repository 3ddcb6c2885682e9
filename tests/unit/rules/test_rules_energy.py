from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.contracts.messages import Quality
from seamline.rules.coverage import Coverage
from seamline.rules.kpi.battery import battery_kpi, equivalent_full_cycles, round_trip_efficiency
from seamline.rules.kpi.counter import Reading, counter_increments
from seamline.rules.kpi.factory_energy import SiteEnergy, factory_energy_kpi, kwh_per_piece
from seamline.rules.kpi.integration import Point
from seamline.rules.kpi.pv import performance_ratio_kpi, poa_irradiation_kwh_m2, pv_availability_kpi, pv_energy_kpi
from seamline.rules.kpi.result import Flag
from seamline.rules.spans import Span, SpanSet
from seamline.rules.windows import Window, split

T0 = 1_767_225_600.0
H = 3600.0
W = Window.from_epoch_s(T0, T0 + 2 * H)
ALL = SpanSet.single(T0, T0 + 2 * H)


def readings(values: list[float], step_s: float = 600) -> list[Reading]:
    return [Reading(T0 + i * step_s, v) for i, v in enumerate(values)]


def test_counter_reset_and_rollover() -> None:
    inc = counter_increments(readings([100, 200, 50, 80]))  # reboot to 0 before 50
    assert [i.delta for i in inc.increments] == [100, 50, 30] and inc.resets == 1
    wrap = counter_increments(readings([995, 999, 3]), rollover_at=1000)
    assert [i.delta for i in wrap.increments] == [4, 4] and wrap.rollovers == 1 and wrap.resets == 0
    # far from the top a drop is a reset even with a rollover configured
    assert counter_increments(readings([500, 3]), rollover_at=1000).resets == 1


def test_counter_drops_implausible_and_skips_stale() -> None:
    rs = [Reading(T0, 0), Reading(T0 + 10, 999, Quality.STALE), Reading(T0 + 20, 100), Reading(T0 + 30, 10_000)]
    inc = counter_increments(rs, max_rate_per_s=50)  # 50 Wh/s max
    assert [i.delta for i in inc.increments] == [100] and inc.implausible == 1


def test_a_reading_stamped_off_its_value_loses_no_energy() -> None:
    # 10 Wh/s, at most 15 Wh/s: the reading stamped T0+20 holds the value of T0+30 (a delayed reply),
    # so 10..20 looks twice as steep and 20..30 flat; together they are plausible and kept as one
    rs = [Reading(T0 + t, v) for t, v in ((0, 0), (10, 100), (20, 300), (30, 300), (40, 400))]
    inc = counter_increments(rs, max_rate_per_s=15)
    assert sum(i.delta for i in inc.increments) == 400 and (inc.merged, inc.implausible) == (1, 0)
    assert [(i.start_s - T0, i.end_s - T0) for i in inc.increments] == [(0, 10), (10, 30), (30, 40)]
    # a glitch that reverts is no such pair: the drop after it is a reset, and both are refused
    glitch = [Reading(T0 + t, v) for t, v in ((0, 0), (10, 100), (20, 90_000), (30, 300), (40, 400))]
    inc = counter_increments(glitch, max_rate_per_s=15)
    assert [i.delta for i in inc.increments] == [100, 100] and inc.merged == 0 and inc.implausible == 2


def test_a_reading_stamped_late_loses_no_energy() -> None:
    # 10 Wh/s, at most 15 Wh/s: the reading stamped T0+30 holds the value of T0+20 (its time taken
    # after a stalled reply), so 20..30 looks flat and 30..40 twice as steep: too steep with the next
    # one (350 in 20 s), so joined with the one before
    rs = [Reading(T0 + t, v) for t, v in ((0, 0), (10, 100), (20, 200), (30, 200), (40, 400), (50, 550))]
    inc = counter_increments(rs, max_rate_per_s=15)
    assert sum(i.delta for i in inc.increments) == 550 and (inc.merged, inc.implausible) == (1, 0)
    assert [(i.start_s - T0, i.end_s - T0) for i in inc.increments] == [(0, 10), (10, 20), (20, 40), (40, 50)]
    # the cluster e2e's turbine (800 kW, x1.5): 0.31 then 2.07 x rated, 0.83 x rated together
    rate = 800_000 / 3600 * 1.5
    e2e = [Reading(T0 + t, v) for t, v in ((0.0, 2_039_150), (136.533, 2_048_702), (193.348, 2_074_867),
                                           (212.689, 2_077_829))]
    inc = counter_increments(e2e, max_rate_per_s=rate)
    assert sum(i.delta for i in inc.increments) == 2_077_829 - 2_039_150 and (inc.merged, inc.implausible) == (1, 0)
    # not across a reset: the steep step after a reboot stays refused
    reboot = [Reading(T0 + t, v) for t, v in ((0, 5_000), (10, 40), (20, 400))]
    inc = counter_increments(reboot, max_rate_per_s=15)
    assert [i.delta for i in inc.increments] == [40] and (inc.merged, inc.implausible, inc.resets) == (0, 1, 1)
    # nor a step too steep for any neighbour: a glitch in the middle of steady production
    spike = [Reading(T0 + t, v) for t, v in ((0, 0), (10, 100), (20, 1_000), (30, 1_100))]
    inc = counter_increments(spike, max_rate_per_s=15)
    assert [i.delta for i in inc.increments] == [100, 100] and (inc.merged, inc.implausible) == (0, 1)


def test_counter_amount_prorated_into_spans() -> None:
    inc = counter_increments(readings([0, 600], step_s=600))
    assert inc.amount_in(SpanSet.single(T0, T0 + 150)) == pytest.approx(150)


def test_pv_energy_and_specific_yield() -> None:
    # 60 kWp, counter rises 45 kWh in 2 h -> 0.75 kWh/kWp
    inc = counter_increments(readings([1_000_000 + 3750 * i for i in range(13)]))
    k = pv_energy_kpi(inc, W, kwp=60, observed=ALL, coverage_threshold=0.8)
    assert k["energy_kwh"] == pytest.approx(45)
    assert k["specific_yield_kwh_kwp"] == pytest.approx(0.75)


def test_performance_ratio_worked_example() -> None:
    # Constant 800 W/m² for 2 h -> H = 1.6 kWh/m², Yr = 1.6 h. 60 kWp made 76.8 kWh -> Yf = 1.28 -> PR 0.8
    irr = [Point(T0 + i * 60, 800) for i in range(121)]
    inc = counter_increments(readings([76_800 / 12 * i for i in range(13)]))
    k = performance_ratio_kpi(inc, irr, W, kwp=60, observed_inverter=ALL, observed_met=ALL, max_gap_s=300,
                              coverage_threshold=0.8)
    assert k["reference_yield_h"] == pytest.approx(1.6)
    assert k["final_yield_kwh_kwp"] == pytest.approx(1.28)
    assert k["performance_ratio"] == pytest.approx(0.8)


def test_pr_uses_only_time_seen_by_both_devices() -> None:
    irr = [Point(T0 + i * 60, 800) for i in range(121)]
    inc = counter_increments(readings([76_800 / 12 * i for i in range(13)]))
    met_half = SpanSet.single(T0, T0 + H)
    k = performance_ratio_kpi(inc, irr, W, kwp=60, observed_inverter=ALL, observed_met=met_half, max_gap_s=300,
                              coverage_threshold=0.8)
    assert k["performance_ratio"] == pytest.approx(0.8)
    assert k.coverage.fraction == 0.5 and Flag.LOW_COVERAGE in k.flags


def test_irradiation_clips_negative_and_skips_gaps() -> None:
    pts = [Point(T0, -5), Point(T0 + 60, -5), Point(T0 + 1000, 500), Point(T0 + 1060, 500)]
    assert poa_irradiation_kwh_m2(pts, ALL, max_gap_s=120) == pytest.approx(500 * 60 / 3.6e6)


def test_pv_availability() -> None:
    irr = [Point(T0 + i * 600, 600 if i < 6 else 10) for i in range(12)]  # sun for the first hour
    states = [(T0, 4), (T0 + 1800, 7), (T0 + 2400, 4)]  # fault 30..40 min
    k = pv_availability_kpi(states, irr, W, observed=ALL, max_hold_s=7200, coverage_threshold=0.8)
    assert k["sun_up_h"] == pytest.approx(1.0)
    assert k["availability"] == pytest.approx(50 / 60)


def test_battery_worked_example() -> None:
    # 100 kWh battery; charged 50 kWh, discharged 45 kWh, SoC 50 % -> 50 %: RTE 0.9, 0.475 cycles
    charge = counter_increments(readings([0, 25_000, 50_000, 50_000], step_s=2400))
    dis = counter_increments(readings([0, 0, 20_000, 45_000], step_s=2400))
    soc = [Point(T0 + i * 1200, v) for i, v in enumerate([50, 62, 75, 70, 60, 50, 50])]
    k = battery_kpi(charge, dis, soc, W, capacity_kwh=100, observed=ALL, max_gap_s=3600, coverage_threshold=0.8)
    assert k["charge_kwh"] == pytest.approx(50) and k["discharge_kwh"] == pytest.approx(45)
    assert k["round_trip_efficiency"] == pytest.approx(0.9)
    assert k["equivalent_full_cycles"] == pytest.approx(0.475)
    assert k["soc_min_pct"] == 50 and k["soc_max_pct"] == 75
    assert Flag.SOC_CORRECTED not in k.flags


def test_battery_soc_correction() -> None:
    # SoC ended 10 points higher on 100 kWh: 10 kWh still stored -> (40 + 10) / 55
    assert round_trip_efficiency(55, 40, soc_start_pct=40, soc_end_pct=50, capacity_kwh=100) == pytest.approx(50 / 55)
    assert round_trip_efficiency(0, 10, soc_start_pct=50, soc_end_pct=50, capacity_kwh=100) is None
    assert equivalent_full_cycles(200, 180, 100) == pytest.approx(1.9)


def test_factory_energy_worked_example() -> None:
    # import 300, export 20, PV 120, battery in 30 / out 25 -> consumption 395 kWh; green (120-20)/395
    e = SiteEnergy(grid_import_kwh=300, grid_export_kwh=20, generation_kwh=120, battery_charge_kwh=30,
                   battery_discharge_kwh=25)
    assert e.consumption_kwh == pytest.approx(395)
    k = factory_energy_kpi(e, 790, W, coverage=Coverage(7200, 7200), coverage_threshold=0.8)
    assert k["kwh_per_piece"] == pytest.approx(0.5)
    assert k["green_share"] == pytest.approx(100 / 395)
    assert kwh_per_piece(10, 0) is None
    with pytest.raises(ValueError):
        SiteEnergy(grid_import_kwh=-1)


@given(st.lists(st.floats(0, 5000), min_size=2, max_size=30), st.integers(1, 7199),
       st.lists(st.tuples(st.integers(0, 7200), st.integers(1, 1200)), max_size=4))
def test_energy_split_recombine(steps: list[float], cut: int, gaps: list[tuple[int, int]]) -> None:
    values = [sum(steps[: i + 1]) for i in range(len(steps))]
    inc = counter_increments(readings(values, step_s=7200 / (len(values) - 1)))
    observed = ALL.subtract(SpanSet.of(Span(T0 + s, T0 + s + d) for s, d in gaps))
    a, b = split(W, datetime.fromtimestamp(T0 + cut, UTC))
    ea = pv_energy_kpi(inc, a, kwp=10, observed=observed, coverage_threshold=0.8)["energy_kwh"]
    eb = pv_energy_kpi(inc, b, kwp=10, observed=observed, coverage_threshold=0.8)["energy_kwh"]
    ew = pv_energy_kpi(inc, W, kwp=10, observed=observed, coverage_threshold=0.8)["energy_kwh"]
    assert ea + eb == pytest.approx(ew, abs=1e-6)  # type: ignore[operator]


def test_pv_energy_across_a_polling_gap_is_all_counted_coverage_is_not() -> None:
    # readings every 10 min except a 40 min gap (the poller stalled): the counter still saw the
    # 20 kWh made meanwhile; coverage (observed: first and last 40 min) says 2/3 was observed
    values = [0, 5_000, 10_000, 15_000, 20_000, 40_000, 45_000, 50_000, 55_000, 60_000]
    times = [0, 600, 1200, 1800, 2400, 4800, 5400, 6000, 6600, 7200]
    inc = counter_increments([Reading(T0 + t, v) for t, v in zip(times, values, strict=True)])
    observed = SpanSet.of([Span(T0, T0 + 2400), Span(T0 + 4800, T0 + 7200)])
    k = pv_energy_kpi(inc, W, kwp=60, observed=observed, coverage_threshold=0.8)
    assert k["energy_kwh"] == pytest.approx(60.0)
    assert k.coverage.fraction == pytest.approx(4800 / 7200)
    assert Flag.LOW_COVERAGE in k.flags
