"""The capacity feed end to end: daily KPIs in InfluxDB -> retained MQTT messages a late
subscriber receives, and a JSON POST to a local HTTP server (first attempt refused). Then the
platform loop on the same real Mosquitto: `seamline match --publish` reads that capacity and leaves
its bookings retained, the feed reads them and publishes capacity lowered by exactly those minutes,
and a replaced plan that no longer books a line leaves that line with no bookings."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from seamline.cli import main
from seamline.contracts.messages import BookingsMessage, CapacityMessage
from seamline.contracts.topic import LINE_ASSET, MessageKind, subscription
from seamline.localstack import InfluxdProcess, MosquittoProcess
from seamline.rules.bootstrap import make_feed
from seamline.rules.config import RulesConfig, load_config
from seamline.rules.lease import NoLease
from seamline.rules.master_data import load_master_data
from seamline.storage.db_init import DbLayout, RetentionSpec, init_v1
from seamline.storage.line_protocol import encode_line
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.writer_v1 import InfluxV1Writer

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 5, 6, 12, tzinfo=TZ)
MASTER = {
    "kpi": {"efficiency_days": 5, "capacity_days": 3},
    "calendars": [{"id": "cal", "shifts": [{"name": "day", "start": "08:00", "end": "17:00",
                                            "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
                                            "breaks": [{"start": "12:00", "end": "13:00"}]}]}],
    "styles": [{"id": "tee", "category": "t_shirt", "sam_min": 6}],
    "enterprises": [{"id": "f001", "name": "F", "calendar": "cal", "sites": [{"id": "s1", "lines": [
        {"id": "line01", "operators": 4, "categories": ["t_shirt"], "machine_count": 4, "style": "tee"},
        {"id": "line02", "operators": 2, "categories": ["t_shirt", "polo"], "machine_count": 2, "style": "tee"},
    ]}]}],
}


class _Sink(http.server.BaseHTTPRequestHandler):
    bodies: ClassVar[list[Any]] = []
    refuse_next = 1

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Sink.refuse_next > 0:
            _Sink.refuse_next -= 1
            self.send_response(503)
        else:
            _Sink.bodies.append(json.loads(body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def http_sink() -> Iterator[str]:
    _Sink.bodies, _Sink.refuse_next = [], 1
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/capacity"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _retained(broker: MosquittoProcess, expect: int, kind: MessageKind = MessageKind.CAPACITY) -> dict[str, bytes]:
    """Connect *after* publication and collect retained line messages of ``kind`` (bounded wait)."""
    got: dict[str, bytes] = {}
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="late-subscriber")
    client.on_message = lambda _c, _u, msg: got.__setitem__(msg.topic, bytes(msg.payload))
    client.connect("127.0.0.1", broker.port)
    client.subscribe(subscription(asset=LINE_ASSET, kind=kind), qos=1)
    client.loop_start()
    deadline = time.monotonic() + 10
    while len(got) < expect and time.monotonic() < deadline:
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    return got


def _capacity(broker: MosquittoProcess) -> dict[str, CapacityMessage]:
    return {t: CapacityMessage.model_validate_json(p) for t, p in _retained(broker, expect=2).items()}


def _config(tmp_path: Path, influxd: InfluxdProcess, db: str, broker: MosquittoProcess, url: str) -> RulesConfig:
    (tmp_path / "master.yaml").write_text(yaml.safe_dump(MASTER))
    cfg = {"master_data": "master.yaml", "influx": {"url": influxd.url, "database": db},
           "mqtt": {"port": broker.port, "client_id": "rules-test"},
           "capacity": {"http_url": url, "http_attempts": 3}}
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(cfg))
    return load_config(tmp_path / "rules.yaml")


def _daily_kpis(influxd: InfluxdProcess, db: str) -> None:
    policies = (RetentionSpec(name="raw", duration="INF", default=True), RetentionSpec(name="kpi", duration="INF"))
    init_v1(InfluxQLClient(url=influxd.url), DbLayout(database=db, policies=policies))
    lines = []
    for back in range(1, 6):
        day = NOW.date() - timedelta(days=back)
        ts = int(datetime(day.year, day.month, day.day, tzinfo=TZ).timestamp() * 1000)
        for line, eff in (("line01", 0.5), ("line02", 0.4)):
            tags = {"enterprise": "f001", "site": "s1", "line": line, "window": "1d"}
            lines.append(encode_line("kpi_line", tags, {"line_efficiency": eff, "coverage": 1.0}, ts))
    InfluxV1Writer(url=influxd.url, database=db, retention_policy="kpi").write(lines)


def test_capacity_is_retained_and_posted(
    tmp_path: Path, influxd: InfluxdProcess, influx_db: str, mosquitto: MosquittoProcess, http_sink: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _daily_kpis(influxd, influx_db)
    cfg = _config(tmp_path, influxd, influx_db, mosquitto, http_sink)
    feed = make_feed(cfg, load_master_data(cfg.master_data), NoLease())
    waits: list[float] = []
    feed.sleep = waits.append
    report = feed.run(NOW)
    assert (report.published, report.post_attempts) == (2, 2) and len(waits) == 1  # one 503, one retry
    assert report.bookings.messages == 0
    assert "no retained bookings under seamline/v1/+/+/+/_line/bookings" in caplog.text

    got = _capacity(mosquitto)
    line01 = got["seamline/v1/f001/s1/line01/_line/capacity"]
    assert line01.efficiency == pytest.approx(0.5)
    assert line01.confidence == pytest.approx(1.0)
    assert [d.day for d in line01.days] == [date(2026, 5, 7), date(2026, 5, 8), date(2026, 5, 9)]
    assert line01.days[0].free_std_min == pytest.approx(4 * 480 * 0.5)
    assert [d.booked_std_min for d in line01.days] == [0, 0, 0]
    assert got["seamline/v1/f001/s1/line02/_line/capacity"].efficiency == pytest.approx(0.4)
    assert [m["line"] for m in _Sink.bodies[0]] == ["line01", "line02"]


def _match(tmp_path: Path, broker: MosquittoProcess, orders: str, capsys: pytest.CaptureFixture[str]) -> Any:
    """`seamline match --publish` on the broker's retained capacity; returns the plan (JSON)."""
    path = tmp_path / "orders.csv"
    path.write_text("order_id,buyer,category,sam_min,quantity,due\n" + orders)
    rc = main(["match", "--orders", str(path), "--broker", broker.url, "--publish", "--json",
               "--today", NOW.date().isoformat(), "--time-limit", "5"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "seamline match: published plan" in out.err
    return json.loads(out.out)


def _booked(plan: Any) -> dict[tuple[str, date], float]:
    out: dict[tuple[str, date], float] = defaultdict(float)
    for a in plan["allocations"]:
        out[(a["line"], date.fromisoformat(a["day"]))] += a["std_min"]
    return dict(out)


def _assert_lowered_exactly(capacity: dict[str, CapacityMessage], booked: dict[tuple[str, date], float]) -> None:
    available = {"line01": 4 * 480 * 0.5, "line02": 2 * 480 * 0.4}  # operators × minutes × measured efficiency
    for line, avail in available.items():
        for d in capacity[f"seamline/v1/f001/s1/{line}/_line/capacity"].days:
            want = booked.get((line, d.day), 0.0)
            assert d.booked_std_min == pytest.approx(want, abs=1e-6), (line, d.day)
            assert d.free_std_min == pytest.approx(max(0.0, avail - want), abs=1e-6), (line, d.day)


def test_match_bookings_lower_the_next_capacity_and_a_replaced_plan_clears_a_line(
    tmp_path: Path, influxd: InfluxdProcess, influx_db: str, mosquitto: MosquittoProcess, http_sink: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _daily_kpis(influxd, influx_db)
    cfg = _config(tmp_path, influxd, influx_db, mosquitto, http_sink)
    feed = make_feed(cfg, load_master_data(cfg.master_data), NoLease())
    feed.sleep = lambda _s: None
    feed.run(NOW)

    # 2 400 std-min of T-shirts by 8 May: more than line01 alone has (2 × 960), so both lines book
    first = _match(tmp_path, mosquitto, "A,acme,t_shirt,6,100,2026-05-07\nB,acme,t_shirt,6,300,2026-05-08\n", capsys)
    booked = _booked(first)
    assert first["unallocated"] == [] and sum(booked.values()) == pytest.approx(2400.0)
    assert {line for line, _ in booked} == {"line01", "line02"}
    report = feed.run(NOW)
    assert report.bookings.messages == 2 and report.bookings.lines_booked == 2 and len(report.bookings.plans) == 1
    _assert_lowered_exactly(_capacity(mosquitto), booked)

    # the replacing plan: only polo, which only line02 makes -> line01 must be left with no bookings
    second = _match(tmp_path, mosquitto, "P,zen,polo,10,20,2026-05-09\n", capsys)
    assert {a["line"] for a in second["allocations"]} == {"line02"}
    retained = {t: BookingsMessage.model_validate_json(p)
                for t, p in _retained(mosquitto, expect=2, kind=MessageKind.BOOKINGS).items()}
    line01 = retained["seamline/v1/f001/s1/line01/_line/bookings"]
    assert line01.days == [] and line01.plan_id == retained["seamline/v1/f001/s1/line02/_line/bookings"].plan_id
    report = feed.run(NOW)
    assert report.bookings.lines_booked == 1 and len(report.bookings.plans) == 1
    _assert_lowered_exactly(_capacity(mosquitto), _booked(second))
    assert sum(_booked(second).values()) == pytest.approx(200.0)
