"""Green attribution in the rules engine, on a faithful fake source (the window's series as the
InfluxDB source decodes them), with numbers worked by hand.

Window 08:00-10:00 (two clock hours). Counters rise linearly (readings every 60 s):

* park: turbine wt1 (own grid connection) 1 000 kWh in hour 1, 0 in hour 2; its grid meter imports
  50 kWh each hour → it delivers 950 and 0 (an hour it draws from the grid delivers nothing);
* f1, VPPA 1 %: grid meter 10 kWh/h; sub-meters l1 4 kWh/h, l2 2 kWh/h; l1 makes 120 pieces, l2 30.
  Hour 1: min(9.5, 10) = 9.5 green; hour 2: 0 → green 9.5 of 20 (47.5 %), grid 10.5 kWh,
  10.5 × 0.5703 = 5.98815 kg CO2e. l1 carries 8 / 12 of it: 3.9921 kg, 0.0332675 kg/piece;
  l2 4 / 12: 1.99605 kg, 0.066535 kg/piece;
* f2, no contract, one line without sub-meter (60 pieces): grid 5 kWh/h → 10 kWh, 5.703 kg,
  split by pieces (the only line): 0.09505 kg/piece;
* f3, certificates 8 kWh for the month, 3 used by earlier hours (the ledger): uses 4 kWh/h →
  certificates 4 then 1, grid 3 → 62.5 % green.
Park: delivered 950, attributed 9.5, f1's share surplus 0, no one's share 99 % × 950 = 940.5.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from seamline.contracts.messages import Quality
from seamline.rules.engine import WindowReport, compute_window
from seamline.rules.kpi.sewing import Aggregate
from seamline.rules.master_data import parse_master_data
from seamline.rules.source import AssetKey, EnergySeries, MachineSeries, PolledSample, WindowData
from seamline.rules.windows import Window
from seamline.storage.schema import KPI_GREEN_ENERGY, KPI_LINE_CARBON, measurement

TZ = ZoneInfo("Asia/Shanghai")
T8 = datetime(2026, 9, 16, 8, tzinfo=TZ)
WIN = Window(T8, T8 + timedelta(hours=2))


def _meter(asset: str, area: str, line: str | None = None) -> dict[str, Any]:
    return {"id": asset, "kind": "meter", "area": area, **({"line": line} if line else {})}


def _line(line: str, machine: str) -> dict[str, Any]:
    return {"id": line, "operators": 1, "categories": ["t"], "machines": [machine]}


MASTER = {
    "calendars": [{"id": "c", "shifts": [{"name": "day", "start": "08:00", "end": "17:00", "days": ["wed"]}]}],
    "enterprises": [
        {"id": "park", "name": "P", "calendar": "c", "sites": [{"id": "s1", "energy_assets": [
            {"id": "wt1", "kind": "wind_turbine", "area": "farm", "rated_power_kw": 2000, "behind_meter": False,
             "power_curve": [{"wind_speed_m_s": 3, "power_kw": 0}, {"wind_speed_m_s": 12, "power_kw": 2000}]},
            _meter("meter1", "grid")]}]},
        {"id": "f1", "name": "F1", "calendar": "c", "sites": [{
            "id": "s1", "lines": [_line("l1", "m1"), _line("l2", "m2")],
            "energy_assets": [_meter("meter1", "grid"), _meter("l1m", "floor", "l1"), _meter("l2m", "floor", "l2")]}]},
        {"id": "f2", "name": "F2", "calendar": "c", "sites": [{"id": "s1", "lines": [_line("l1", "m3")],
                                                              "energy_assets": [_meter("meter1", "grid")]}]},
        {"id": "f3", "name": "F3", "calendar": "c", "sites": [{"id": "s1", "lines": [_line("l1", "m4")],
                                                              "energy_assets": [_meter("meter1", "grid")]}]},
    ],
    "green": {"sources": [{"enterprise": "park", "site": "s1"}],
              "consumers": [{"enterprise": "f1", "site": "s1", "vppa_share": 0.01},
                            {"enterprise": "f3", "site": "s1", "certificates_kwh": {"2026-09": 8}}]},
}


def _counter(key: AssetKey, kind: str, field: str, kwh_per_h: Sequence[float], **zero: float) -> EnergySeries:
    """Readings every 60 s from 2 min before the window to 2 min after; the rate of each hour."""
    samples, value, t = [], 0.0, WIN.start_s - 120
    while t <= WIN.end_s + 120:
        samples.append(PolledSample(t, None, Quality.GOOD, {field: value * 1000, **zero}))
        hour = min(max(int((t - WIN.start_s) // 3600), 0), len(kwh_per_h) - 1)
        value += kwh_per_h[hour] / 60
        t += 60
    return EnergySeries(key, kind, tuple(samples))


def _meter_series(ent: str, asset: str, area: str, kwh_per_h: Sequence[float]) -> EnergySeries:
    return _counter(AssetKey(ent, "s1", area, asset), "meter", "import_energy_wh", kwh_per_h, export_energy_wh=0.0)


def _machine(ent: str, line: str, machine: str, pieces: int) -> MachineSeries:
    """``pieces`` spread over 100 one-minute aggregates well inside the window."""
    aggs = tuple(Aggregate(ts_s=WIN.start_s + 60 * (k + 5), period_s=60.0, run_s=60.0,
                           pieces=pieces // 100 + (1 if k < pieces % 100 else 0)) for k in range(100))
    return MachineSeries(AssetKey(ent, "s1", line, machine), aggs)


class FakeSource:
    statements = 0

    def __init__(self) -> None:
        series = [
            _counter(AssetKey("park", "s1", "farm", "wt1"), "wind_turbine", "energy_wh", (1000, 0)),
            _meter_series("park", "meter1", "grid", (50, 50)),
            _meter_series("f1", "meter1", "grid", (10, 10)), _meter_series("f1", "l1m", "floor", (4, 4)),
            _meter_series("f1", "l2m", "floor", (2, 2)), _meter_series("f2", "meter1", "grid", (5, 5)),
            _meter_series("f3", "meter1", "grid", (4, 4)),
        ]
        machines = [_machine("f1", "l1", "m1", 120), _machine("f1", "l2", "m2", 30), _machine("f2", "l1", "m3", 60),
                    _machine("f3", "l1", "m4", 10)]
        self.energy = {s.key: s for s in series}
        self.machines = {m.key: m for m in machines}

    def fetch(self, enterprises: Sequence[str], window: Window, *, energy_kinds: Any) -> WindowData:
        ents = set(enterprises)
        return WindowData(window=window, machines={k: v for k, v in self.machines.items() if k.enterprise in ents},
                          energy={k: v for k, v in self.energy.items() if k.enterprise in ents})


class FakeLedger:
    """Certificates used before the window, as the stored hourly points would say."""

    def __init__(self, used: Mapping[tuple[str, str], float]) -> None:
        self.used = used
        self.asked: list[tuple[list[tuple[str, str]], datetime, datetime]] = []

    def used_kwh(self, sites: Sequence[tuple[str, str]], since: datetime,
                 until: datetime) -> Mapping[tuple[str, str], float]:
        self.asked.append((list(sites), since, until))
        return {k: v for k, v in self.used.items() if k in sites}


def _report(ledger: FakeLedger | None = None, master: Any = None) -> WindowReport:
    return compute_window(FakeSource(), master or parse_master_data(MASTER), WIN, label="custom", green_ledger=ledger)


def test_green_energy_per_site_matched_hour_by_hour() -> None:
    ledger = FakeLedger({("f3", "s1"): 3.0})
    report = _report(ledger)
    f1 = report.one(KPI_GREEN_ENERGY, enterprise="f1")
    assert f1.get("consumption_kwh") == pytest.approx(20.0)
    assert f1.get("vppa_kwh") == pytest.approx(9.5) and f1.get("grid_kwh") == pytest.approx(10.5)
    assert f1.get("green_share") == pytest.approx(0.475) and f1.get("co2e_kg") == pytest.approx(5.98815)
    assert f1.get("hours") == 2.0
    f2 = report.one(KPI_GREEN_ENERGY, enterprise="f2")
    assert f2.get("green_share") == 0.0 and f2.get("co2e_kg") == pytest.approx(5.703)
    f3 = report.one(KPI_GREEN_ENERGY, enterprise="f3")
    assert f3.get("certificate_kwh") == pytest.approx(5.0) and f3.get("grid_kwh") == pytest.approx(3.0)
    assert ledger.asked == [([("f3", "s1")], datetime(2026, 9, 1, tzinfo=TZ), WIN.start)]
    park = report.one(KPI_GREEN_ENERGY, enterprise="park")
    assert park.get("delivered_kwh") == pytest.approx(950.0) and park.get("attributed_kwh") == pytest.approx(9.5)
    assert park.get("surplus_kwh") == pytest.approx(0.0) and park.get("unassigned_kwh") == pytest.approx(940.5)
    assert park.get("consumption_kwh") is None
    for p in report.points:  # every name is the schema's
        measurement(p.measurement).check(tags=[k for k, _ in p.tags], fields=[k for k, _ in p.fields])


def test_carbon_per_piece_per_line() -> None:
    report = _report(FakeLedger({}))
    l1 = report.one(KPI_LINE_CARBON, enterprise="f1", line="l1")
    l2 = report.one(KPI_LINE_CARBON, enterprise="f1", line="l2")
    assert l1.get("energy_share") == pytest.approx(2 / 3) and l1.get("pieces") == 120.0
    assert l1.get("co2e_kg_per_piece") == pytest.approx(3.9921 / 120)
    assert l2.get("co2e_kg_per_piece") == pytest.approx(1.99605 / 30)
    assert l1.get("flags") == "" and l1.get("green_share") == pytest.approx(0.475)
    f2 = report.one(KPI_LINE_CARBON, enterprise="f2", line="l1")
    assert f2.get("co2e_kg_per_piece") == pytest.approx(5.703 / 60) and f2.get("flags") == "split_by_pieces"


def test_without_a_ledger_certificates_start_at_the_window_and_say_so() -> None:
    report = _report(None)
    f3 = report.one(KPI_GREEN_ENERGY, enterprise="f3")
    assert f3.get("certificate_kwh") == pytest.approx(8.0)  # nothing known of earlier hours
    assert any("certificates of 1 sites counted from the window start" in w for w in report.warnings)


def test_no_green_points_without_the_park_in_the_computation() -> None:
    """A window computed for one enterprise alone (the shift tasks) has no pool to match."""
    master = parse_master_data(MASTER)
    one = master.model_copy(update={"enterprises": [master.enterprise("f1")]})
    report = _report(FakeLedger({}), one)
    assert report.find(KPI_GREEN_ENERGY) == [] and report.find(KPI_LINE_CARBON) == []
    assert report.find("kpi_factory_energy", enterprise="f1")  # the rest as before


def test_master_data_refuses_unknown_sites_and_shares_over_one() -> None:
    from seamline.rules.master_data import MasterDataError

    bad = {**MASTER, "green": {"sources": [{"enterprise": "park", "site": "s9"}]}}
    with pytest.raises(MasterDataError, match=r"green.sources\[0\]: no site 's9' of enterprise 'park'"):
        parse_master_data(bad)
    over = {**MASTER, "green": {"sources": [{"enterprise": "park", "site": "s1"}], "consumers": [
        {"enterprise": "f1", "site": "s1", "vppa_share": 0.6}, {"enterprise": "f2", "site": "s1", "vppa_share": 0.5}]}}
    with pytest.raises(MasterDataError, match=r"sums to 1\.1000"):
        parse_master_data(over)
    both = {**MASTER, "green": {"sources": [{"enterprise": "park", "site": "s1"}], "consumers": [
        {"enterprise": "park", "site": "s1", "vppa_share": 0.1}]}}
    with pytest.raises(MasterDataError, match="both source and consumer"):
        parse_master_data(both)
    months = {**MASTER, "green": {"sources": [{"enterprise": "park", "site": "s1"}], "consumers": [
        {"enterprise": "f1", "site": "s1", "certificates_kwh": {"2026-9": 5}}]}}
    with pytest.raises(MasterDataError, match="YYYY-MM"):
        parse_master_data(months)
