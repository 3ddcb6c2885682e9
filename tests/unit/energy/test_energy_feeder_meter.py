"""The meter on a battery's AC feeder: its counters follow what the battery really charged and
discharged, whatever order and instants the devices of the park are read at."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seamline.firmware_stubs.energy.cluster_sites import park_load, park_site
from seamline.firmware_stubs.energy.devices import INITIAL_COUNTER_WH, Battery
from seamline.firmware_stubs.energy.feeder import FLOW_HISTORY_MAX, FeederFlow, FlowHistory
from seamline.firmware_stubs.energy.load_config import load_energy_sim_config
from seamline.firmware_stubs.energy.meter import Meter
from seamline.firmware_stubs.energy.site import Site, build_site
from seamline.firmware_stubs.sewing.shift import ShiftPattern

DAY_MS = 1_750_435_200_000  # 2025-06-21 00:00 +08:00
HOUR_MS = 3_600_000


def _dispatched_park(*, pv: int, meter: int, seed: int, step_s: float = 1.0) -> Site:
    """The packaged config's park (its own load, TOU dispatch) with one battery and its feeder meter."""
    cfg = load_energy_sim_config()
    load = park_load(cfg, ShiftPattern(), DAY_MS, DAY_MS + 24 * HOUR_MS)
    site = park_site(cfg, load, pv=pv, battery=1, meter=meter, wind=0, seed=seed, battery_meters=True)
    for dev in site.devices:
        dev.step_s = step_s
    return site


def test_build_site_adds_one_feeder_meter_per_battery() -> None:
    site = build_site(pv=1, battery=2, meter=1, wind=0, seed=1, battery_meters=True)
    assert [m.name for m in site.feeder_meters] == ["bat1m", "bat2m"]
    assert [m.name for m in site.meters] == ["meter1"]  # the grid connection stays alone
    assert site.feeder_meter_of(site.batteries[1]) is site.feeder_meters[1]
    assert [d.name for d in site.devices] == ["pv1", "met1", "bat1", "bat2", "meter1", "bat1m", "bat2m"]
    assert build_site(pv=1, battery=2, meter=1, wind=0, seed=1).feeder_meters == []


def _battery_totals(b: Battery, ts_ms: int) -> tuple[float, float]:
    f = b.feeder_at(ts_ms)
    return f.import_wh, f.export_wh


def _run_park(seed: int, *, hours: float, step_s: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """Read the park's devices in a random order at random lagging instants (as pollers and the
    truth recorder do); returns (meter import/export Wh, battery charged/discharged Wh) since 06:00."""
    site = _dispatched_park(pv=2, meter=1, seed=seed, step_s=step_s)
    bat, feeder, grid = site.batteries[0], site.feeder_meters[0], site.meters[0]
    rng = random.Random(seed)
    t = DAY_MS + 6 * HOUR_MS
    feeder.advance_to(t)
    bat0 = _battery_totals(bat, t)
    end = t + round(hours * HOUR_MS)
    while t < end:
        t += rng.randint(1_000, 90_000)
        for dev in rng.sample([bat, feeder, grid, *site.pv], 5):
            dev.advance_to(t - rng.randint(0, 40_000))
    feeder.advance_to(end)
    bat1 = _battery_totals(bat, end)
    meter = (feeder.imported.total_wh, feeder.exported.total_wh)
    return meter, (bat1[0] - bat0[0], bat1[1] - bat0[1])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_feeder_counters_match_the_battery_truth_within_a_tenth_of_a_percent(seed: int) -> None:
    (imp, exp), (charged, discharged) = _run_park(seed, hours=12, step_s=20.0)
    assert discharged > 10_000 and charged > 100  # both directions really happened (peaks / valleys)
    assert imp == pytest.approx(charged, rel=1e-3)
    assert exp == pytest.approx(discharged, rel=1e-3)


def test_register_image_counters_are_the_offset_plus_the_battery_energy() -> None:
    site = _dispatched_park(pv=1, meter=0, seed=5)
    bat, feeder = site.batteries[0], site.feeder_meters[0]
    feeder.advance_to(DAY_MS + 7 * HOUR_MS)
    start = bat.feeder_at(DAY_MS + 7 * HOUR_MS)
    for k in range(7, 7200, 7):
        feeder.advance_to(DAY_MS + 7 * HOUR_MS + k * 1000)
    t = feeder.truth()
    bat_now = bat.feeder_at(feeder.t_ms or 0)
    assert bat_now.export_wh - start.export_wh > 1000  # the morning peak's discharge
    assert t["import_energy_wh"] == float(int(INITIAL_COUNTER_WH + bat_now.import_wh - start.import_wh))
    assert t["export_energy_wh"] == float(int(INITIAL_COUNTER_WH + bat_now.export_wh - start.export_wh))
    assert t["power_w"] == -bat.power_w()  # grid side: + import when the battery charges


def test_flow_history_interpolates_inside_a_step_and_holds_past_the_last() -> None:
    h = FlowHistory()
    assert h.at(5) == FeederFlow(0.0, 0.0, 0.0)
    h.record(1_000, FeederFlow(0.0, 10.0, 0.0))
    h.record(4_000, FeederFlow(-3_600.0, 13.0, 0.0))  # 3 s charging 3.6 kW = 3 Wh
    h.record(5_000, FeederFlow(7_200.0, 13.0, 2.0))  # 1 s discharging 7.2 kW = 2 Wh
    assert h.at(2_000) == FeederFlow(-3_600.0, 11.0, 0.0)
    assert h.at(4_500) == FeederFlow(7_200.0, 13.0, 1.0)
    assert h.at(9_000) == FeederFlow(7_200.0, 13.0, 2.0)
    assert h.at(500) == FeederFlow(0.0, 10.0, 0.0) and h.misses == 0  # before the battery existed: no miss


def test_feeder_flow_is_exact_inside_a_battery_step() -> None:
    bat = Battery(name="b", step_s=60.0, demand_w=lambda _t: 36_000.0)  # 36 kW discharge
    bat.advance_to(0)
    bat.advance_to(60_000)  # one 60 s step: 600 Wh out
    mid = bat.feeder_at(15_000)
    assert (mid.power_w, mid.import_wh) == (-36_000.0, 0.0)
    assert mid.export_wh == pytest.approx(150.0)
    assert bat.feeder_at(60_000).export_wh == pytest.approx(600.0)


def test_a_meter_lagging_beyond_the_history_loses_no_energy() -> None:
    bat = Battery(name="b", step_s=1.0, demand_w=lambda _t: -7_200.0)  # 7.2 kW charge
    meter = Meter(name="bm", feeder=bat.feeder_at, step_s=1.0)
    meter.advance_to(0)
    bat.advance_to(2 * FLOW_HISTORY_MAX * 1000)  # the battery runs far ahead of its meter
    meter.advance_to(2 * FLOW_HISTORY_MAX * 1000)
    assert bat.flows.misses > 0
    assert meter.imported.total_wh == pytest.approx(bat.feeder_at(2 * FLOW_HISTORY_MAX * 1000).import_wh)
    assert meter.exported.total_wh == 0.0


@given(st.lists(st.tuples(st.integers(1, 120_000), st.booleans()), min_size=1, max_size=60),
       st.floats(-100_000, 100_000))
@settings(max_examples=100, deadline=None)
def test_counters_never_fall_and_equal_the_feeder_energy(reads: list[tuple[int, bool]], demand_w: float) -> None:
    bat = Battery(name="b", step_s=10.0, demand_w=lambda _t: demand_w)
    meter = Meter(name="bm", feeder=bat.feeder_at, step_s=10.0)
    meter.advance_to(0)
    t, last = 0, (0.0, 0.0)
    for dt, battery_first in reads:
        t += dt
        if battery_first:
            bat.advance_to(t)
        meter.advance_to(t)
        now = (meter.imported.total_wh, meter.exported.total_wh)
        assert now[0] >= last[0] and now[1] >= last[1]
        last = now
    f: FeederFlow = bat.feeder_at(t)
    assert last[0] == pytest.approx(f.import_wh, abs=1e-6)
    assert last[1] == pytest.approx(f.export_wh, abs=1e-6)
