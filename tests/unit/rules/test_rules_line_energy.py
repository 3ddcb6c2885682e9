"""Per-line sub-metering: a meter with ``line`` in the master data gives that line's consumption
and kWh per piece (``kpi_line_energy``) and stays out of the site's grid balance; generation with
its own grid connection (``behind_meter: false``) stays out of the site's consumption."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from seamline.contracts.messages import Quality
from seamline.rules.engine import compute_window
from seamline.rules.kpi.sewing import Aggregate
from seamline.rules.master_data import MasterData, MasterDataError, parse_master_data
from seamline.rules.source import AssetKey, EnergySeries, MachineSeries, PolledSample, WindowData
from seamline.rules.windows import Window

TZ = ZoneInfo("Asia/Shanghai")
T8 = datetime(2026, 5, 6, 8, tzinfo=TZ)  # a Wednesday: shift 08:00-10:00
WIN = Window(T8, T8 + timedelta(hours=2))


class FakeSource:
    def __init__(self, data: WindowData) -> None:
        self.data = data
        self.statements = 0

    def fetch(self, enterprises: Sequence[str], window: Window, *, energy_kinds: Iterable[str]) -> WindowData:
        self.statements += 1
        return self.data


def _doc(assets: list[dict[str, Any]]) -> dict[str, Any]:
    lines = [{"id": ln, "operators": 1, "categories": ["x"], "machines": ["m1"], "style": "st"}
             for ln in ("line01", "line02")]
    return {"calendars": [{"id": "c", "shifts": [{"name": "d", "start": "08:00", "end": "10:00", "days": ["wed"]}]}],
            "styles": [{"id": "st", "category": "x", "sam_min": 1.0}],
            "enterprises": [{"id": "e0", "name": "E", "calendar": "c",
                             "sites": [{"id": "s1", "lines": lines, "energy_assets": assets}]}]}


def _master() -> MasterData:
    return parse_master_data(_doc([
        {"id": "meter1", "kind": "meter", "area": "grid"},
        {"id": "line01m", "kind": "meter", "area": "floor", "line": "line01"},
        {"id": "line02m", "kind": "meter", "area": "floor", "line": "line02"},
        {"id": "wt1", "kind": "wind_turbine", "area": "farm", "rated_power_kw": 800, "behind_meter": False,
         "power_curve": [{"wind_speed_m_s": 3, "power_kw": 0}, {"wind_speed_m_s": 12, "power_kw": 800}]},
    ]))


def _polled(asset: str, area: str, kind: str, values: Callable[[int], dict[str, float]]) -> EnergySeries:
    """One sample a minute over the 2 h window (i = minutes from 08:00)."""
    return EnergySeries(AssetKey("e0", "s1", area, asset), kind,
                        tuple(PolledSample(WIN.start_s + 60 * i, i, Quality.GOOD, values(i)) for i in range(121)))


def _meter(asset: str, area: str, wh_per_min: float) -> EnergySeries:
    return _polled(asset, area, "meter", lambda i: {"import_energy_wh": 1e6 + wh_per_min * i,
                                                    "export_energy_wh": 1e6})


def _machine(line: str, pieces_per_min: int) -> MachineSeries:
    key = AssetKey("e0", "s1", line, "m1")
    aggs = tuple(Aggregate(ts_s=WIN.start_s + 60 * k, period_s=60.0, run_s=30.0, idle_s=30.0, off_s=0.0,
                           pieces=pieces_per_min) for k in range(120))
    return MachineSeries(key, aggs)


def _report() -> Any:
    energy = [_meter("meter1", "grid", 100.0), _meter("line01m", "floor", 20.0), _meter("line02m", "floor", 10.0),
              _polled("wt1", "farm", "wind_turbine", lambda i: {"energy_wh": 1e6 + 5000.0 * i, "status": 1.0})]
    data = WindowData(WIN, machines={m.key: m for m in (_machine("line01", 2), _machine("line02", 1))},
                      energy={e.key: e for e in energy})
    return compute_window(FakeSource(data), _master(), WIN, label="shift")


def test_each_sub_metered_line_gets_its_consumption_and_kwh_per_piece() -> None:
    report = _report()
    l1, l2 = report.one("kpi_line_energy", line="line01"), report.one("kpi_line_energy", line="line02")
    assert l1.get("consumption_kwh") == pytest.approx(2.4)  # 20 Wh a minute for 2 h
    assert l1.get("kwh_per_piece") == pytest.approx(2.4 / 240)  # 2 pieces a minute
    assert l2.get("consumption_kwh") == pytest.approx(1.2)
    assert l2.get("kwh_per_piece") == pytest.approx(1.2 / 120)
    assert l1.get("coverage") == pytest.approx(1.0) and l1.get("low_coverage") is False


def test_sub_meters_and_off_site_generation_stay_out_of_the_site_balance() -> None:
    site = _report().one("kpi_factory_energy")
    # the grid meter alone (12 kWh): not + the line meters inside it, not + the wind farm's 600 kWh
    assert site.get("consumption_kwh") == pytest.approx(12.0)
    assert site.get("kwh_per_piece") == pytest.approx(12.0 / 360)


def test_a_line_without_sub_meter_gets_no_line_energy_point() -> None:
    doc = _doc([{"id": "meter1", "kind": "meter", "area": "grid"},
                {"id": "line01m", "kind": "meter", "area": "floor", "line": "line01"}])
    data = WindowData(WIN, energy={m.key: m for m in (_meter("meter1", "grid", 100.0),)})
    report = compute_window(FakeSource(data), parse_master_data(doc), WIN)
    assert [p.tag("line") for p in report.find("kpi_line_energy")] == ["line01"]
    silent = report.one("kpi_line_energy", line="line01")  # its meter sent nothing: no data, not 0 kWh trusted
    assert silent.get("coverage") == 0.0 and silent.get("low_coverage") is True
    assert "no_data" in str(silent.get("flags"))


@pytest.mark.parametrize(("asset", "problem"), [
    ({"id": "x", "kind": "meter", "area": "floor", "line": "line09"}, "expected the id of a line of this site"),
    ({"id": "x", "kind": "pv_inverter", "area": "roof", "rated_power_kw": 5, "kwp": 6, "line": "line01"},
     "line is for (sub-)meters"),
])
def test_master_data_rejects_a_bad_line_reference(asset: dict[str, Any], problem: str) -> None:
    with pytest.raises(MasterDataError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_master_data(_doc([asset]))


def test_a_feeder_meter_cannot_also_meter_a_line() -> None:
    doc = _doc([{"id": "b1", "kind": "battery", "area": "s", "capacity_kwh": 10, "feeder_meter": "b1m"},
                {"id": "b1m", "kind": "meter", "area": "s", "line": "line01"}])
    with pytest.raises(MasterDataError, match="feeder meter cannot also meter a line"):
        parse_master_data(doc)
