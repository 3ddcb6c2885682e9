"""Time-of-use periods, the battery's dispatch and its SoC window: one simulated day of the
park charges and discharges, and its round trip is the cells' and PCS' losses."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from seamline.firmware_stubs.energy.battery import BatteryState, step_battery
from seamline.firmware_stubs.energy.cluster_sites import park_load, park_site
from seamline.firmware_stubs.energy.dispatch import setpoint_w
from seamline.firmware_stubs.energy.load_config import (
    BatteryDispatchConfig,
    TariffConfig,
    TouPeriod,
    TouWindow,
    load_energy_sim_config,
)
from seamline.firmware_stubs.energy.tariff import period_at
from seamline.firmware_stubs.sewing.shift import ShiftPattern

TZ = ZoneInfo("Asia/Shanghai")
TARIFF = TariffConfig(name="t", windows=[
    TouWindow(start=time(9), end=time(11), period=TouPeriod.SHARP),
    TouWindow(start=time(11), end=time(13), period=TouPeriod.VALLEY),
    TouWindow(start=time(22), end=time(8), period=TouPeriod.VALLEY),  # across midnight
    TouWindow(start=time(19), end=time(21), period=TouPeriod.SHARP, months=[7, 8]),  # summer only
])
CFG = BatteryDispatchConfig(grid_charge_kw=50)


def ms(month: int, h: int, m: int = 0) -> int:
    return int(datetime(2026, month, 15, h, m, tzinfo=TZ).timestamp() * 1000)


@pytest.mark.parametrize(("month", "hour", "period"), [
    (5, 10, TouPeriod.SHARP), (5, 12, TouPeriod.VALLEY), (5, 23, TouPeriod.VALLEY), (5, 3, TouPeriod.VALLEY),
    (5, 8, TouPeriod.FLAT), (5, 20, TouPeriod.FLAT), (7, 20, TouPeriod.SHARP)])
def test_tariff_periods(month: int, hour: int, period: TouPeriod) -> None:
    assert period_at(TARIFF, ms(month, hour)) is period


def test_setpoint_by_period_load_and_pv() -> None:
    def sp(hour: int, load_kw: float, pv_kw: float) -> float:
        return setpoint_w(CFG, TARIFF, ts_ms=ms(5, hour), load_w=load_kw * 1000, pv_w=pv_kw * 1000) / 1000

    assert sp(10, 80, 30) == 50  # sharp peak: cover the net load, no more (no export)
    assert sp(10, 30, 80) == -50  # PV surplus charges, whatever the period
    assert sp(12, 80, 30) == -50  # valley: charge from the grid
    assert sp(12, 30, 100) == -70  # valley with a larger surplus: all of the surplus
    assert sp(20, 80, 30) == 0  # flat: hold


def test_the_soc_window_and_losses() -> None:
    s = BatteryState(capacity_wh=100_000, stored_wh=20_000)
    s1, p = step_battery(s, power_w=50_000, dt_s=3600, soc_min_pct=10, soc_max_pct=90)
    assert s1.stored_wh == pytest.approx(10_000) and p == pytest.approx(9_500)  # down to 10 %, 0.95 out
    s2, p = step_battery(s1, power_w=-100_000, dt_s=3600, soc_min_pct=10, soc_max_pct=90)
    assert s2.stored_wh == pytest.approx(90_000) and p == pytest.approx(-80_000 / 0.95)


def test_a_park_day_charges_and_discharges_with_the_round_trip_of_its_losses() -> None:
    cfg = load_energy_sim_config()
    start, end = ms(5, 7, 30), ms(5, 17, 30)  # 2026-05-15, a Friday
    site = park_site(cfg, park_load(cfg, ShiftPattern(), start, end), pv=2, battery=1, meter=1, wind=0, seed=7,
                     battery_meters=True)
    bat = site.batteries[0]
    t = start
    while t <= end:
        for dev in site.devices:
            dev.advance_to(t)
        t += 30_000
    s = bat.state
    assert s is not None and s.charged_wh > 20_000 and s.discharged_wh > 20_000
    assert cfg.battery.soc_min_pct - 1e-9 <= s.soc_pct <= cfg.battery.soc_max_pct + 1e-9
    stored0 = s.capacity_wh * cfg.battery.initial_soc_pct / 100
    # energy conservation at 0.95 each way: what went in, less what came out, is what is stored now
    assert s.stored_wh == pytest.approx(stored0 + 0.95 * s.charged_wh - s.discharged_wh / 0.95, rel=1e-9)
