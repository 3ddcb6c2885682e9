"""`seamline grade` on real servers: the metered energy read from the daily KPI points in a real
InfluxDB (nowcast while the quarter runs), the county's GBK file, the sample method; the grades
written as `grade` points (a second run overwrites them) and left retained on a real Mosquitto for
a subscriber that connects later; the broker down is one line and exit code 1."""

from __future__ import annotations

import io
import json
import time
from contextlib import redirect_stderr, redirect_stdout
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

import seamline.grading
from seamline.cli import main
from seamline.contracts.grades import GradeMessage
from seamline.contracts.topic import ENTERPRISE_LEVEL, MessageKind, subscription
from seamline.localstack import InfluxdProcess, MosquittoProcess
from seamline.storage.db_init import DbLayout, RetentionSpec, init_v1
from seamline.storage.line_protocol import encode_line
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.writer_v1 import InfluxV1Writer

pytestmark = pytest.mark.integration

TZ = ZoneInfo("Asia/Shanghai")
SAMPLE = Path(seamline.grading.__file__).parent / "samples" / "linhai-2014.yaml"
CAL = [{"id": "c", "shifts": [{"name": "day", "start": "08:00", "end": "17:00", "days": ["mon"]}]}]
MASTER = {"calendars": CAL, "enterprises": [
    {"id": "f1", "name": "F1", "calendar": "c", "land_area_mu": 4.0, "sites": [{"id": "s1"}]},
    {"id": "f2", "name": "F2", "calendar": "c", "land_area_mu": 2.0, "sites": [{"id": "s1"}]}]}
INPUTS = ("企业代码,评价期,企业名称,用地面积(亩),税收(万元),销售收入(万元),工业增加值(万元),年平均职工人数\n"
          "f1,2026Q3,甲,,30,600,150,40\n"  # land from the master data
          "f2,2026Q2,乙,2,4,80,20,10\n"  # last quarter's figures: estimated
          "f3,2026Q3,丙,abc,1,1,1,1\n")  # a bad row: named, left out


def _ts(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=TZ).timestamp() * 1000)


def _energy_points(influxd: InfluxdProcess, db: str) -> None:
    """f1: 10 days of July at 100 kWh a day; f2: the whole quarter at 20 kWh a day on two sites."""
    policies = (RetentionSpec(name="raw", duration="INF", default=True), RetentionSpec(name="kpi", duration="INF"))
    init_v1(InfluxQLClient(url=influxd.url), DbLayout(database=db, policies=policies))
    lines = []
    start = date(2026, 7, 1)
    for i in range(92):
        day = start + timedelta(days=i)
        if i < 10:
            lines.append(encode_line("kpi_factory_energy", {"enterprise": "f1", "site": "s1", "window": "1d"},
                                     {"consumption_kwh": 100.0, "coverage": 1.0}, _ts(day)))
            lines.append(encode_line("kpi_factory_energy", {"enterprise": "f1", "site": "s1", "window": "shift"},
                                     {"consumption_kwh": 70.0, "coverage": 1.0}, _ts(day) + 8 * 3_600_000))
        for site in ("s1", "s2"):
            lines.append(encode_line("kpi_factory_energy", {"enterprise": "f2", "site": site, "window": "1d"},
                                     {"consumption_kwh": 10.0, "coverage": 1.0}, _ts(day)))
    InfluxV1Writer(url=influxd.url, database=db, retention_policy="kpi").write(lines)


def _files(tmp_path: Path, influxd: InfluxdProcess, db: str, broker_port: int) -> dict[str, Path]:
    (tmp_path / "master.yaml").write_text(yaml.safe_dump(MASTER))
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({
        "master_data": "master.yaml", "influx": {"url": influxd.url, "database": db},
        "mqtt": {"port": broker_port, "client_id": "grade-test", "publish_timeout_s": 3}}))
    (tmp_path / "inputs.csv").write_bytes(INPUTS.encode("gbk"))
    return {"config": tmp_path / "rules.yaml", "inputs": tmp_path / "inputs.csv"}


def _grade(files: dict[str, Path], *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["grade", "--period", "2026Q3", "--inputs", str(files["inputs"]), "--method", str(SAMPLE),
                     "--config", str(files["config"]), *extra])
    return code, out.getvalue(), err.getvalue()


def _retained_grades(port: int, expect: int) -> dict[str, GradeMessage]:
    got: dict[str, bytes] = {}
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="late-platform")
    client.on_message = lambda _c, _u, msg: got.__setitem__(msg.topic, bytes(msg.payload))
    client.connect("127.0.0.1", port)
    client.subscribe(subscription(site=ENTERPRISE_LEVEL, area=ENTERPRISE_LEVEL, asset=ENTERPRISE_LEVEL,
                                  kind=MessageKind.GRADE), qos=1)
    client.loop_start()
    deadline = time.monotonic() + 10
    while len(got) < expect and time.monotonic() < deadline:
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    return {t: GradeMessage.model_validate_json(p) for t, p in got.items()}


def test_grade_reads_the_meters_writes_points_and_leaves_retained_grades(
        tmp_path: Path, influxd: InfluxdProcess, influx_db: str, mosquitto: MosquittoProcess) -> None:
    _energy_points(influxd, influx_db)
    files = _files(tmp_path, influxd, influx_db, mosquitto.port)
    code, out, err = _grade(files, "--json")
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    assert doc["row_errors"] == [f"{files['inputs']}: row 4 enterprise 'f3': land_mu: expected a number, got 'abc'"]
    assert "row 4" in err
    grades = {g["enterprise"]: g for g in doc["grades"]}
    assert set(grades) == {"f1", "f2"}
    # f1: 1 000 kWh in 10 of 92 days -> 9 200 kWh in the quarter (the shift points are not days)
    assert grades["f1"]["energy_kwh"] == pytest.approx(9200.0) and grades["f1"]["estimated"]
    assert doc["energy_sources"]["f1"] == "meters (nowcast from 10/92 days)"
    # f2: every day measured (two sites summed) but Q2's finance figures: estimated all the same
    assert grades["f2"]["energy_kwh"] == pytest.approx(92 * 20.0) and grades["f2"]["estimated"]
    assert doc["energy_sources"]["f2"] == "meters" and grades["f2"]["variant"] == "small"
    # f2 (small, 2 mu): tax 4 万元 in Q2 (91 days) is 4 × 365/91 = 16.04 万元 a year, 8.02 万元/mu -> 26.7 of 50
    f2 = {i["indicator"]: i for i in grades["f2"]["indicators"]}
    assert f2["tax_per_mu"]["value"] == pytest.approx(4 * 365 / 91 / 2)
    # tax per kWh: 16.04 万元 a year over 1 840 kWh × 365/92 a year
    assert f2["tax_per_kwh"]["value"] == pytest.approx(4 * 365 / 91 * 10_000 / (1840 * 365 / 92))
    assert doc["points_written"] == 2 and doc["published"] == 2

    rows = InfluxQLClient(url=influxd.url).query('SELECT * FROM "kpi"."grade"', db=influx_db)[0]["series"][0]
    cols = rows["columns"]
    points = [dict(zip(cols, v, strict=True)) for v in rows["values"]]
    assert {(p["enterprise"], p["period"], p["method"], p["grade"]) for p in points} == {
        ("f1", "2026Q3", "linhai-2014", grades["f1"]["grade"]), ("f2", "2026Q3", "linhai-2014", grades["f2"]["grade"])}
    assert {p["time"] for p in points} == {_ts(date(2026, 7, 1))}  # the quarter's local start (epoch ms)
    assert all(p["estimated"] is True for p in points)

    retained = _retained_grades(mosquitto.port, expect=2)
    assert set(retained) == {"seamline/v1/f1/_enterprise/_enterprise/_enterprise/grade",
                             "seamline/v1/f2/_enterprise/_enterprise/_enterprise/grade"}
    assert {m.enterprise: m.grade for m in retained.values()} == {k: g["grade"] for k, g in grades.items()}

    code, out, _ = _grade(files)  # grading again overwrites, and the table is for people
    assert code == 0 and "per-mu grades 2026Q3" in out and "nowcast from 10/92 days" in out
    again = InfluxQLClient(url=influxd.url).query('SELECT COUNT("score") FROM "kpi"."grade"', db=influx_db)
    assert again[0]["series"][0]["values"][0][1] == 2


def test_a_broker_that_is_down_is_one_line_and_exit_code_1(
        tmp_path: Path, influxd: InfluxdProcess, influx_db: str, mosquitto: MosquittoProcess) -> None:
    _energy_points(influxd, influx_db)
    files = _files(tmp_path, influxd, influx_db, mosquitto.port)
    mosquitto.stop()
    code, _, err = _grade(files)
    assert code == 1 and err.strip().splitlines()[-1].startswith("seamline grade: cannot connect to mqtt://")
    code, _, err = _grade(files, "--no-publish", "--no-write")
    assert code == 0, err
