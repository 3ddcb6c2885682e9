"""A battery's energy from the meter on its AC feeder (import = charge, export = discharge), and
that meter kept out of the site's grid balance: compute_window over an in-memory source."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from seamline.contracts.messages import Quality
from seamline.rules.energy_kpi import EnergySettings, FeederMeter, battery_kpis
from seamline.rules.engine import compute_window
from seamline.rules.master_data import EnergyAsset, MasterData, parse_master_data
from seamline.rules.source import AssetKey, EnergySeries, PolledSample, WindowData
from seamline.rules.spans import SpanSet
from seamline.rules.windows import Window

TZ = ZoneInfo("Asia/Shanghai")
T8 = datetime(2026, 5, 6, 8, tzinfo=TZ)
WIN = Window(T8, T8 + timedelta(hours=2))
START_WH = 1_234_567.0


class FakeSource:
    def __init__(self, data: WindowData) -> None:
        self.data = data
        self.statements = 0

    def fetch(self, enterprises: Sequence[str], window: Window, *, energy_kinds: Iterable[str]) -> WindowData:
        self.statements += 1
        return self.data


def _master(*, feeder: bool = True, rollover_wh: float | None = None) -> MasterData:
    meter: dict[str, Any] = {"id": "bat1m", "kind": "meter", "area": "storage"}
    if rollover_wh is not None:
        meter["counter_rollover_wh"] = rollover_wh
    battery: dict[str, Any] = {"id": "bat1", "kind": "battery", "area": "storage", "capacity_kwh": 100}
    if feeder:
        battery["feeder_meter"] = "bat1m"
    assets = [battery, meter, {"id": "meter1", "kind": "meter", "area": "grid"}]
    return parse_master_data({
        "calendars": [{"id": "c", "shifts": [{"name": "d", "start": "08:00", "end": "10:00", "days": ["wed"]}]}],
        "enterprises": [{"id": "e0", "name": "E", "calendar": "c", "sites": [{"id": "s1", "energy_assets": assets}]}]})


def _polled(asset: str, area: str, kind: str, values: Callable[[int], dict[str, float]]) -> EnergySeries:
    """One sample a minute over the 2 h window (121 samples, i = minutes from 08:00)."""
    key = AssetKey("e0", "s1", area, asset)
    return EnergySeries(key, kind, tuple(PolledSample(WIN.start_s + 60 * i, i, Quality.GOOD, values(i))
                                         for i in range(121)))


def _battery() -> EnergySeries:
    # the battery's own power samples say 60 kW discharge all along (wrong on purpose: with a feeder
    # meter they must not be integrated); SoC 50 % -> 80 % -> 56 %
    return _polled("bat1", "storage", "battery", lambda i: {
        "power_w": 60_000.0, "soc_pct": 50.0 + 0.5 * min(i, 60) - 0.4 * max(0, i - 60)})


def _feeder_meter(start_wh: float = START_WH) -> EnergySeries:
    # charging 30 kW for the first hour (500 Wh/min imported), discharging 24 kW the second (400 Wh/min exported)
    return _polled("bat1m", "storage", "meter", lambda i: {
        "import_energy_wh": start_wh + 500.0 * min(i, 60), "export_energy_wh": start_wh + 400.0 * max(0, i - 60)})


def _grid_meter() -> EnergySeries:
    return _polled("meter1", "grid", "meter", lambda i: {
        "import_energy_wh": START_WH + 1000.0 * i, "export_energy_wh": START_WH})  # 60 kW import


def _data(*series: EnergySeries) -> WindowData:
    return WindowData(WIN, energy={s.key: s for s in series})


def test_battery_energy_comes_from_its_feeder_meter_counters() -> None:
    report = compute_window(FakeSource(_data(_battery(), _feeder_meter(), _grid_meter())), _master(), WIN)
    b = report.one("kpi_battery", asset="bat1")
    assert b.get("charge_kwh") == pytest.approx(30.0)  # 60 min x 500 Wh
    assert b.get("discharge_kwh") == pytest.approx(24.0)  # 60 min x 400 Wh
    # (24 + (56 - 50) % x 100 kWh) / 30 = 1.0: SoC-corrected
    assert b.get("round_trip_efficiency") == pytest.approx(1.0)
    assert b.get("equivalent_full_cycles") == pytest.approx(27.0 / 100.0)
    assert b.get("coverage") == pytest.approx(1.0)


def test_feeder_meter_is_no_grid_connection() -> None:
    report = compute_window(FakeSource(_data(_battery(), _feeder_meter(), _grid_meter())), _master(), WIN)
    site = report.one("kpi_factory_energy", enterprise="e0")
    # grid import 120 kWh (the grid meter only); consumption = 120 - 0 + 0 + 24 - 30
    assert site.get("consumption_kwh") == pytest.approx(114.0)
    assert report.find("kpi_battery", asset="bat1m") == []


def test_without_a_feeder_meter_the_meter_is_a_grid_meter_and_power_is_integrated() -> None:
    report = compute_window(FakeSource(_data(_battery(), _feeder_meter(), _grid_meter())), _master(feeder=False), WIN)
    b = report.one("kpi_battery", asset="bat1")
    assert b.get("discharge_kwh") == pytest.approx(120.0)  # 60 kW for 2 h, from the power samples
    assert b.get("charge_kwh") == pytest.approx(0.0)
    # both meters now count as grid connections: import 120 + 30, export 24; battery 0 in, 120 out
    assert report.one("kpi_factory_energy").get("consumption_kwh") == pytest.approx(150.0 - 24.0 + 120.0)


def test_feeder_meter_counter_rollover_is_handled() -> None:
    wrap = 1_240_000.0  # the import counter wraps 2 433 Wh in (after ~5 min)
    meter = _feeder_meter()
    wrapped = tuple(PolledSample(s.ts_s, s.seq, s.quality,
                                 {**s.values, "import_energy_wh": s.values["import_energy_wh"] % wrap})
                    for s in meter.samples)
    data = _data(_battery(), EnergySeries(meter.key, meter.kind, wrapped), _grid_meter())
    b = compute_window(FakeSource(data), _master(rollover_wh=wrap), WIN).one("kpi_battery", asset="bat1")
    assert b.get("charge_kwh") == pytest.approx(30.0)
    assert b.get("discharge_kwh") == pytest.approx(24.0)
    assert "counter_rollover" in str(b.get("flags"))


def test_silent_feeder_meter_is_low_coverage_not_a_power_integral() -> None:
    report = compute_window(FakeSource(_data(_battery(), _grid_meter())), _master(), WIN)
    b = report.one("kpi_battery", asset="bat1")
    assert (b.get("charge_kwh"), b.get("discharge_kwh")) == (0.0, 0.0)
    assert b.get("coverage") == 0.0 and b.get("low_coverage") is True


def test_battery_without_samples_still_gets_its_energy_from_the_feeder_meter() -> None:
    report = compute_window(FakeSource(_data(_feeder_meter(), _grid_meter())), _master(), WIN)
    b = report.one("kpi_battery", asset="bat1")
    assert b.get("charge_kwh") == pytest.approx(30.0) and b.get("discharge_kwh") == pytest.approx(24.0)
    assert b.get("soc_start_pct") is None and b.get("round_trip_efficiency") is None


def test_feeder_counters_count_the_whole_window_and_coverage_is_the_meters() -> None:
    """A counter saw every kWh between two readings: energies count the whole window even where
    the meter was not observed; the coverage is the meter's observed share, not the battery's."""
    asset = EnergyAsset(id="bat1", kind="battery", area="storage", capacity_kwh=100, feeder_meter="bat1m")
    meter = EnergyAsset(id="bat1m", kind="meter", area="storage")
    first_hour = SpanSet.single(WIN.start_s, WIN.start_s + 3600)
    res = battery_kpis(_battery(), asset, WIN, observed=SpanSet.single(WIN.start_s, WIN.end_s),
                       s=EnergySettings(), feeder=FeederMeter(meter, _feeder_meter(), first_hour))[0]
    assert res["charge_kwh"] == pytest.approx(30.0) and res["discharge_kwh"] == pytest.approx(24.0)
    assert res.coverage.fraction == pytest.approx(0.5)
