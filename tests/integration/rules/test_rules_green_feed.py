"""Green attribution's storage round trips on real servers: the certificate ledger sums exactly
the month's earlier hourly points in a real InfluxDB, and `seamline rules carbon` turns the daily
carbon points into retained per-line messages on a real Mosquitto."""

from __future__ import annotations

import io
import json
import time
from contextlib import redirect_stdout
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from seamline.cli import main
from seamline.contracts.carbon import CarbonMessage
from seamline.contracts.topic import LINE_ASSET, MessageKind, subscription
from seamline.localstack import InfluxdProcess, MosquittoProcess
from seamline.rules.green_ledger import InfluxCertificateLedger
from seamline.storage.db_init import DbLayout, RetentionSpec, init_v1
from seamline.storage.line_protocol import encode_line
from seamline.storage.query import CountingClient
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.writer_v1 import InfluxV1Writer

pytestmark = pytest.mark.integration

TZ = ZoneInfo("Asia/Shanghai")
LINE = {"operators": 1, "categories": ["t"], "machine_count": 1}
MASTER = {
    "calendars": [{"id": "c", "shifts": [{"name": "day", "start": "08:00", "end": "17:00", "days": ["mon"]}]}],
    "enterprises": [
        {"id": "park", "name": "P", "calendar": "c", "sites": [{"id": "s1"}]},
        {"id": "f1", "name": "F1", "calendar": "c", "sites": [{"id": "s1", "lines": [
            {"id": "line01", **LINE}, {"id": "line02", **LINE}]}]}],
    "green": {"sources": [{"enterprise": "park", "site": "s1"}],
              "consumers": [{"enterprise": "f1", "site": "s1", "certificates_kwh": {"2026-09": 100}}]},
}


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def _write(influxd: InfluxdProcess, db: str, lines: list[str]) -> None:
    policies = (RetentionSpec(name="raw", duration="INF", default=True), RetentionSpec(name="kpi", duration="INF"))
    init_v1(InfluxQLClient(url=influxd.url), DbLayout(database=db, policies=policies))
    InfluxV1Writer(url=influxd.url, database=db, retention_policy="kpi").write(lines)


def test_the_ledger_sums_the_months_earlier_hours_only(influxd: InfluxdProcess, influx_db: str) -> None:
    tags = {"enterprise": "f1", "site": "s1", "window": "1h"}
    lines = [encode_line("kpi_green_energy", tags, {"certificate_kwh": 2.5}, _ms(datetime(2026, 9, 1, h, tzinfo=TZ)))
             for h in (8, 9, 10, 11)]
    lines.append(encode_line("kpi_green_energy", tags, {"certificate_kwh": 50.0},
                             _ms(datetime(2026, 8, 31, 23, tzinfo=TZ))))  # August's
    lines.append(encode_line("kpi_green_energy", {**tags, "window": "1d"}, {"certificate_kwh": 10.0},
                             _ms(datetime(2026, 9, 1, tzinfo=TZ))))  # the day's sum: not counted twice
    lines.append(encode_line("kpi_green_energy", tags, {"certificate_kwh": 7.0},
                             _ms(datetime(2026, 9, 1, 12, tzinfo=TZ))))  # the window itself
    _write(influxd, influx_db, lines)
    ledger = InfluxCertificateLedger(CountingClient(InfluxQLClient(url=influxd.url), database=influx_db),
                                     kpi_rp="kpi")
    used = ledger.used_kwh([("f1", "s1"), ("f9", "s1")], datetime(2026, 9, 1, tzinfo=TZ),
                           datetime(2026, 9, 1, 12, tzinfo=TZ))
    assert used == {("f1", "s1"): pytest.approx(10.0)}


def test_rules_carbon_publishes_each_lines_figures_retained(tmp_path: Path, influxd: InfluxdProcess, influx_db: str,
                                                            mosquitto: MosquittoProcess) -> None:
    """Two days. Site: 100 kWh with 40 green, then 50 with 30 → 70 / 150 = 46.7 % green.
    line01: 120 pieces 6.0 kg, then 40 pieces 2.0 kg → 8 / 160 = 0.05 kg per piece."""
    now = datetime.now(TZ)
    days = [now.date() - timedelta(days=2), now.date() - timedelta(days=1)]

    def day_ms(d: date) -> int:
        return _ms(datetime(d.year, d.month, d.day, tzinfo=TZ))

    lines = []
    for d, (use, green) in zip(days, ((100.0, 40.0), (50.0, 30.0)), strict=True):
        lines.append(encode_line("kpi_green_energy", {"enterprise": "f1", "site": "s1", "window": "1d"},
                                 {"consumption_kwh": use, "green_kwh": green}, day_ms(d)))
    for d, (pieces, kg) in zip(days, ((120.0, 6.0), (40.0, 2.0)), strict=True):
        for line, k in (("line01", 1.0), ("line02", 0.5)):
            lines.append(encode_line("kpi_line_carbon", {"enterprise": "f1", "site": "s1", "line": line,
                                                         "window": "1d"},
                                     {"pieces": pieces, "grid_kwh": kg * k / 0.5703, "co2e_kg": kg * k,
                                      "co2e_kg_per_piece": kg * k / pieces}, day_ms(d)))
    _write(influxd, influx_db, lines)
    (tmp_path / "master.yaml").write_text(yaml.safe_dump(MASTER))
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({
        "master_data": "master.yaml", "influx": {"url": influxd.url, "database": influx_db},
        "mqtt": {"port": mosquitto.port, "client_id": "carbon-test"}}))
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["rules", "carbon", "--config", str(tmp_path / "rules.yaml"), "--json"]) == 0
    msgs = {m["line"]: CarbonMessage.model_validate(m) for m in json.loads(out.getvalue())}
    assert set(msgs) == {"line01", "line02"}
    assert msgs["line01"].green_share == pytest.approx(70 / 150)
    assert msgs["line01"].co2e_kg_per_piece == pytest.approx(8 / 160)
    assert msgs["line02"].co2e_kg_per_piece == pytest.approx(4 / 160)
    assert [d.day for d in msgs["line01"].days] == days
    assert msgs["line01"].days[0].green_share == pytest.approx(0.4)
    assert msgs["line01"].grid_emission_factor_kg_per_kwh == 0.5703

    got: dict[str, bytes] = {}
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="late-matcher")
    client.on_message = lambda _c, _u, msg: got.__setitem__(msg.topic, bytes(msg.payload))
    client.connect("127.0.0.1", mosquitto.port)
    client.subscribe(subscription(asset=LINE_ASSET, kind=MessageKind.CARBON), qos=1)
    client.loop_start()
    deadline = time.monotonic() + 10
    while len(got) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    assert {t: CarbonMessage.model_validate_json(p).co2e_kg_per_piece for t, p in got.items()} == {
        "seamline/v1/f1/s1/line01/_line/carbon": pytest.approx(0.05),
        "seamline/v1/f1/s1/line02/_line/carbon": pytest.approx(0.025)}
