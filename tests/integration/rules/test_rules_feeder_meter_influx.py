"""Site energy with a battery feeder meter, against a real InfluxDB 1.x: the battery's charge and
discharge come from the meter on its feeder, and that meter stays out of the grid balance."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from seamline.localstack import InfluxdProcess
from seamline.rules.engine import compute_window
from seamline.rules.master_data import MasterData, parse_master_data
from seamline.rules.source import InfluxSource, SourceSettings
from seamline.rules.windows import Window
from seamline.storage.db_init import DbLayout, RetentionSpec, init_v1
from seamline.storage.line_protocol import encode_line
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.writer_v1 import InfluxV1Writer
from tests.support.synthetic import meter_lines, pv_lines

TZ = ZoneInfo("Asia/Shanghai")
T8 = datetime(2026, 5, 6, 8, tzinfo=TZ)  # a Wednesday
WIN = Window(T8, T8 + timedelta(hours=4))
START_MS = int((T8 - timedelta(hours=1)).timestamp() * 1000)
END_MS = int((T8 + timedelta(hours=5)).timestamp() * 1000)
TAGS = {"enterprise": "f001", "site": "s1"}


def _master() -> MasterData:
    assets = [{"id": "pv01", "kind": "pv_inverter", "area": "roof", "rated_power_kw": 50, "kwp": 60},
              {"id": "meter01", "kind": "meter", "area": "main"},
              {"id": "bat01", "kind": "battery", "area": "storage", "capacity_kwh": 200, "feeder_meter": "bat01m"},
              {"id": "bat01m", "kind": "meter", "area": "storage"}]
    return parse_master_data({
        "calendars": [{"id": "cal", "shifts": [{"name": "day", "start": "08:00", "end": "12:00", "days": ["wed"]}]}],
        "enterprises": [{"id": "f001", "name": "F", "calendar": "cal",
                         "sites": [{"id": "s1", "energy_assets": assets}]}]})


def _battery_lines() -> list[str]:
    """The battery's own samples: SoC only (SunSpec 802 has no energy counters), and a power
    reading that is wrong on purpose (60 kW discharge) so a power integral would show."""
    tags = {**TAGS, "area": "storage", "asset": "bat01"}
    return [encode_line("battery", tags, {"soc_pct": 50.0, "power_w": 60_000.0, "seq": i, "quality": "good"}, ts)
            for i, ts in enumerate(range(START_MS, END_MS, 30_000))]


def test_battery_energy_from_its_feeder_meter_and_kept_out_of_grid_import(
    influxd: InfluxdProcess, influx_db: str
) -> None:
    policies = (RetentionSpec(name="raw", duration="INF", default=True), RetentionSpec(name="kpi", duration="INF"))
    init_v1(InfluxQLClient(url=influxd.url), DbLayout(database=influx_db, policies=policies))
    lines = pv_lines({**TAGS, "area": "roof", "asset": "pv01"}, START_MS, END_MS, power_kw=30)
    lines += meter_lines({**TAGS, "area": "main", "asset": "meter01"}, START_MS, END_MS, import_kw=20)
    # the battery charges 10 kW all along: its feeder meter imports that
    lines += meter_lines({**TAGS, "area": "storage", "asset": "bat01m"}, START_MS, END_MS, import_kw=10)
    lines += _battery_lines()
    writer = InfluxV1Writer(url=influxd.url, database=influx_db, retention_policy="raw")
    writer.write(lines)
    writer.close()

    source = InfluxSource(InfluxQLClient(url=influxd.url), SourceSettings(database=influx_db))
    report = compute_window(source, _master(), WIN, label="shift")
    bat = report.one("kpi_battery", asset="bat01")
    assert bat.get("charge_kwh") == pytest.approx(10 * 4, rel=1e-6)
    assert bat.get("discharge_kwh") == 0.0
    assert bat.get("coverage") == pytest.approx(1.0) and bat.get("soc_start_pct") == 50.0
    site = report.one("kpi_factory_energy", site="s1")
    # grid 20 kW + PV 30 kW - 10 kW into the battery; counting bat01m as grid import would give 200
    assert site.get("consumption_kwh") == pytest.approx((20 + 30 - 10) * 4, rel=1e-6)
    assert site.get("green_share") == pytest.approx(120 / 160, rel=1e-6)
    assert report.find("kpi_battery", asset="bat01m") == []
