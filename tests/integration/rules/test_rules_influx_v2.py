"""The rules engine on InfluxDB 2.x: a config with ``version: 2`` reads through the token-authenticated,
DBRP-mapped ``/query`` and writes KPI points through the v2 write API into the ``kpi`` bucket.

The 2.x server is the fault-injecting shim playing 2.x (token required, DBRP mappings
``<db>/raw`` and ``<db>/kpi`` as ``seamline db init`` creates them) in front of the real InfluxDB
1.x that stores and answers. The same window computed straight from 1.x is the reference.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from pydantic import SecretStr

from seamline.firmware_stubs.sewing.shift import ShiftPattern
from seamline.localstack import InfluxdProcess
from seamline.rules.bootstrap import make_service
from seamline.rules.config import RulesConfig, load_config
from seamline.rules.engine import compute_window
from seamline.rules.master_data import MasterData, load_master_data
from seamline.rules.source import InfluxSource, SourceSettings
from seamline.rules.windows import Window
from seamline.storage.db_init import DbLayout, RetentionSpec, init_v1
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.query_errors import QueryAuthError
from seamline.storage.writer_v2 import InfluxV2Writer
from tests.support.influx_shim import InfluxShim
from tests.support.synthetic import aggregate_lines, machine_tags, meter_lines, pv_lines, simulate_truth, state_lines

pytestmark = pytest.mark.integration

TZ = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 5, 6, tzinfo=TZ)  # a Wednesday
WINDOW = Window(DAY + timedelta(hours=8), DAY + timedelta(hours=10))
TOKEN = "v2-token-for-tests"
MACHINES = ("m1", "m2", "m3")

MASTER = {
    "calendars": [{"id": "cal", "shifts": [{"name": "day", "start": "08:00", "end": "17:00",
                                            "days": ["mon", "tue", "wed", "thu", "fri", "sat"]}]}],
    "styles": [{"id": "shirt", "category": "shirt", "sam_min": 12.0}],
    "enterprises": [{"id": "f001", "name": "F", "calendar": "cal", "sites": [{
        "id": "s1",
        "lines": [{"id": "line01", "operators": 3, "categories": ["shirt"], "machines": list(MACHINES),
                   "style": "shirt"}],
        "energy_assets": [{"id": "pv01", "kind": "pv_inverter", "area": "roof", "rated_power_kw": 50, "kwp": 60},
                          {"id": "meter01", "kind": "meter", "area": "main"}]}]}],
}


def _ms(h: float) -> int:
    return int((DAY + timedelta(hours=h)).timestamp() * 1000)


def _telemetry() -> list[str]:
    start, end = _ms(7), _ms(11)
    lines: list[str] = []
    for i, m in enumerate(MACHINES):
        truth = simulate_truth(m, start, end, seed=40 + i, shift=ShiftPattern())
        tags = machine_tags("f001", "s1", "line01", m)
        lines += aggregate_lines(truth, tags, start, end) + state_lines(truth, tags)
    lines += pv_lines({"enterprise": "f001", "site": "s1", "area": "roof", "asset": "pv01"}, start, end, power_kw=30)
    lines += meter_lines({"enterprise": "f001", "site": "s1", "area": "main", "asset": "meter01"}, start, end,
                         import_kw=20)
    return lines


@pytest.fixture
def v2(influxd: InfluxdProcess, influx_db: str) -> Iterator[InfluxShim]:
    """The 2.x server: token and DBRP mappings database/raw -> bucket <db>/raw, database/kpi -> <db>/kpi."""
    layout = DbLayout(database=influx_db, policies=(RetentionSpec(name="raw", duration="INF", default=True),
                                                     RetentionSpec(name="kpi", duration="INF")))
    init_v1(InfluxQLClient(url=influxd.url), layout)
    buckets = {p.bucket_name(influx_db): (influx_db, p.name) for p in layout.policies}
    with InfluxShim(upstream_url=influxd.url, token=TOKEN, buckets=buckets) as shim:
        # telemetry arrives the way a 2.x ingest writes it: v2 API, token, raw bucket
        raw = InfluxV2Writer(url=shim.url, org="seamline", bucket=f"{influx_db}/raw", token=SecretStr(TOKEN))
        raw.write(_telemetry())
        raw.close()
        yield shim


def _config(tmp_path: Path, url: str, db: str, token: str) -> RulesConfig:
    (tmp_path / "master.yaml").write_text(yaml.safe_dump(MASTER))
    doc: dict[str, Any] = {"master_data": "master.yaml", "capacity": {"enabled": False},
                           "influx": {"version": 2, "url": url, "database": db, "org": "seamline", "token": token}}
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(doc))
    return load_config(tmp_path / "rules.yaml")


def _master(tmp_path: Path) -> MasterData:
    (tmp_path / "master.yaml").write_text(yaml.safe_dump(MASTER))
    return load_master_data(tmp_path / "master.yaml")


def _kpi_rows(influxd: InfluxdProcess, db: str, measurement: str) -> list[dict[str, Any]]:
    res: Any = influxd.query(f'SELECT * FROM "kpi"."{measurement}"', db=db)
    out = []
    for s in res["results"][0].get("series", []):
        out += [dict(zip(s["columns"], v, strict=True)) for v in s["values"]]
    return out


def test_rules_reads_and_writes_through_the_v2_api(
    v2: InfluxShim, influxd: InfluxdProcess, influx_db: str, tmp_path: Path
) -> None:
    cfg = _config(tmp_path, v2.url, influx_db, TOKEN)
    master = _master(tmp_path)
    service = make_service(cfg, master=master)
    queries_before, writes_before = v2.count("query"), v2.count("write")

    report = compute_window(service.source, master, WINDOW, label="1h")
    written = service.writer.write(report.points)

    # read through the token-authenticated /query: the service's aggregate path makes three requests
    # here (sums; energy and gateways; the events of the machines whose aggregates carry no stop
    # split, all of them in this data)
    assert v2.count("query") - queries_before == 3 and v2.count("query:401") == 0
    # the same KPIs as computed straight from the 1.x server behind it
    direct = compute_window(InfluxSource(InfluxQLClient(url=influxd.url), SourceSettings(database=influx_db)),
                            master, WINDOW, label="1h")
    assert report.points == direct.points
    assert report.machines == len(MACHINES) and report.energy_assets == 2
    line = report.one("kpi_line", line="line01")
    assert 0.0 < float(line.get("availability") or 0) <= 1.0 and line.get("coverage") == pytest.approx(1.0)
    assert report.one("kpi_pv", asset="pv01").get("energy_kwh") == pytest.approx(30 * 2, rel=1e-3)

    # written through the v2 write API into the kpi bucket, and stored in RP kpi behind the mapping
    assert written == len(report.points) > 0
    assert v2.count("write") - writes_before == 1 and v2.count("write:204") >= 2 and v2.count("write:401") == 0
    stored = _kpi_rows(influxd, influx_db, "kpi_machine")
    assert sorted(r["asset"] for r in stored) == sorted(MACHINES)
    assert {r["window"] for r in stored} == {"1h"}
    assert len(_kpi_rows(influxd, influx_db, "kpi_line")) == 1


def test_a_wrong_token_is_an_auth_error_that_does_not_show_the_token(
    v2: InfluxShim, influx_db: str, tmp_path: Path
) -> None:
    cfg = _config(tmp_path, v2.url, influx_db, "not-the-token")
    master = _master(tmp_path)
    service = make_service(cfg, master=master)
    with pytest.raises(QueryAuthError) as err:
        compute_window(service.source, master, WINDOW, label="1h")
    assert err.value.status == 401 and "not-the-token" not in str(err.value)
    assert v2.count("query:401") == 1
