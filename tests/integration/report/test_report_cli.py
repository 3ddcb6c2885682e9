"""``seamline report`` against real servers: KPI points in InfluxDB 1.x (RP ``kpi``), capacity and
the plan's allocations retained on Mosquitto (the plan made by ``seamline match --publish
--summary-out``), an alert in Alertmanager, and the page e-mailed through a notify e-mail channel
to a real SMTP server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from seamline.alertmanager.client import AlertmanagerClient
from seamline.cli import main
from seamline.contracts.messages import AllocationMessage, CapacityDay, CapacityMessage
from seamline.contracts.plan_summary import PlanSummary
from seamline.contracts.topic import MessageKind, Topic
from seamline.localstack import AlertmanagerProcess, InfluxdProcess, MosquittoProcess
from seamline.localstack.ports import free_port
from seamline.matching.retained import collect_retained
from seamline.storage.db_init import DbLayout, init_v1
from seamline.storage.line_protocol import encode_line
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.schema import KPI_DOWNTIME, KPI_FACTORY_ENERGY, KPI_LINE
from seamline.storage.writer_v1 import InfluxV1Writer
from tests.support import report_inputs as ri
from tests.support.notify_scenarios import firing, machine_annotations, machine_labels
from tests.support.report_page import audit
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration
TODAY = datetime.now(ri.TZ).date()
NO_RECEIVER = "route:\n  receiver: none\nreceivers:\n  - name: none\n"


def kpi_lines() -> list[str]:
    """f001's day: both lines' day, shift and hourly points, downtime of two machines, site energy;
    a 5-minute point (the report must not read it) and f002's day (another enterprise)."""
    out = []
    for line, oee, cov in (("line01", 0.42, 0.97), ("line02", 0.31, 0.55)):
        tags = {"enterprise": "f001", "site": "s1", "line": line}
        day = {"utilization": 0.35, "line_efficiency": 0.45, "oee": oee, "good_pieces": 240.0, "coverage": cov,
               "low_coverage": cov < 0.8, "flags": "low_coverage" if cov < 0.8 else ""}
        out.append(encode_line(KPI_LINE.name, tags | {"window": "1d"}, day, ri.local_ms(ri.DAY, 0)))
        out.append(encode_line(KPI_LINE.name, tags | {"window": "shift", "shift": "day"}, day, ri.local_ms(ri.DAY, 8)))
        out.append(encode_line(KPI_LINE.name, tags | {"window": "5m"}, day | {"oee": 0.99}, ri.local_ms(ri.DAY, 9)))
        for h in (8, 9, 10, 11, 13, 14, 15, 16):
            out.append(encode_line(KPI_LINE.name, tags | {"window": "1h"},
                                   {"good_pieces": 25.0 + h, "coverage": cov, "low_coverage": False, "flags": ""},
                                   ri.local_ms(ri.DAY, h)))
    for asset, reason, minutes in (("m1", "breakdown.needle", 12.0), ("m2", "breakdown.needle", 8.0),
                                   ("m2", "stop.no_work", 31.0)):
        out.append(encode_line(KPI_DOWNTIME.name, {"enterprise": "f001", "site": "s1", "line": "line01",
                                                   "asset": asset, "window": "1d", "reason": reason},
                               {"down_min": minutes, "coverage": 1.0, "low_coverage": False, "flags": ""},
                               ri.local_ms(ri.DAY, 0)))
    out.append(encode_line(KPI_FACTORY_ENERGY.name, {"enterprise": "f001", "site": "s1", "window": "1d"},
                           {"consumption_kwh": 210.0, "kwh_per_piece": 0.4375, "green_share": 0.31, "coverage": 0.99,
                            "low_coverage": False, "flags": ""}, ri.local_ms(ri.DAY, 0)))
    out.append(encode_line(KPI_LINE.name, {"enterprise": "f002", "site": "s1", "line": "line01", "window": "1d"},
                           {"oee": 0.61, "good_pieces": 300.0, "coverage": 1.0, "low_coverage": False, "flags": ""},
                           ri.local_ms(ri.DAY, 0)))
    return out


def publish_capacity(broker: MosquittoProcess) -> None:
    c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="")
    c.connect("127.0.0.1", broker.port, keepalive=30)
    c.loop_start()
    try:
        for ent, line in (("f001", "line01"), ("f001", "line02"), ("f002", "line01")):
            msg = CapacityMessage(
                enterprise=ent, site="s1", line=line, generated_ts_ms=int(datetime.now().timestamp() * 1000),
                categories=["t_shirt"], operators=10, efficiency=0.45, confidence=0.9,
                days=[CapacityDay(day=TODAY + timedelta(days=k), available_std_min=2400.0, booked_std_min=0.0,
                                  free_std_min=2400.0) for k in range(15)])
            topic = Topic.line(enterprise=ent, site="s1", line=line, kind=MessageKind.CAPACITY)
            c.publish(str(topic), msg.model_dump_json(), qos=1, retain=True).wait_for_publish(timeout=10)
    finally:
        c.disconnect()
        c.loop_stop()


@pytest.fixture
def platform(tmp_path: Path, influxd: InfluxdProcess, influx_db: str, mosquitto: MosquittoProcess,
             alertmanager_factory: Callable[..., AlertmanagerProcess]) -> Iterator[dict[str, Any]]:
    init_v1(InfluxQLClient(url=influxd.url), DbLayout(database=influx_db))
    InfluxV1Writer(url=influxd.url, database=influx_db, retention_policy="kpi").write(kpi_lines())
    publish_capacity(mosquitto)
    orders = tmp_path / "orders.csv"
    due = (TODAY + timedelta(days=3)).isoformat()
    orders.write_text("order_id,buyer,category,sam_min,quantity,due\n"
                      f"PO-100,buyer-a,t_shirt,12,300,{due}\nPO-900,buyer-c,down_jacket,45,300,{due}\n"
                      f"PO-901,buyer-c,t_shirt,12,200000,{(TODAY + timedelta(days=1)).isoformat()}\n")
    summary = tmp_path / "plan-summary.json"
    broker = f"mqtt://127.0.0.1:{mosquitto.port}"
    assert main(["match", "--orders", str(orders), "--broker", broker, "--publish", "--summary-out", str(summary),
                 "--today", TODAY.isoformat()]) == 0
    am = alertmanager_factory(NO_RECEIVER)
    began = datetime(ri.DAY.year, ri.DAY.month, ri.DAY.day, 9, 15, tzinfo=ri.TZ)  # still firing since that morning
    AlertmanagerClient(am.url).post_alerts([firing(machine_labels("m3"), machine_annotations("m3"), starts_at=began),
                                            firing(machine_labels("m4"), machine_annotations("m4"))])  # began today
    sink = SmtpSink()
    sink.start()
    master = tmp_path / "master.yaml"
    master.write_text(yaml.safe_dump(ri.master_doc(), allow_unicode=True))
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"master_data": str(master), "mqtt": {"host": "127.0.0.1", "port": mosquitto.port},
                                     "influx": {"url": influxd.url, "database": influx_db}}))
    notify = tmp_path / "notify.yaml"
    notify.write_text(yaml.safe_dump({
        "outbox": {"path": str(tmp_path / "outbox.sqlite")}, "routes": [{"receiver": "*", "channels": ["plant-mail"]}],
        "channels": {"plant-mail": {"type": "email", "host": "127.0.0.1", "port": sink.port, "security": "none",
                                    "from": "seamline <report@example.com>", "to": ["boss@example.com"]}}}))
    yield {"rules": rules, "summary": summary, "am": am.url, "sink": sink, "notify": notify, "tmp": tmp_path,
           "broker": broker}
    sink.stop()


def test_the_factory_report_from_real_servers_is_sent_by_mail(platform: dict[str, Any],
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = platform["tmp"] / "out" / "f001.html"
    rc = main(["report", "--day", ri.DAY.isoformat(), "--enterprise", "f001", "--config", str(platform["rules"]),
               "--out", str(out), "--alertmanager", platform["am"], "--plan-summary", str(platform["summary"]),
               "--send", "plant-mail", "--notify-config", str(platform["notify"])])
    assert rc == 0, capsys.readouterr().err
    html = out.read_text()
    a = audit(html)
    assert a.loaders == [] and a.urls == [] and a.svgs == 5  # KPIs, Pareto of line01, 2 hourly, capacity
    assert "42.0 %" in html and "31.0 %" in html and "99.0 %" not in html  # 1d points; the 5m point not read
    assert "36.5 %" in html  # the factory's OEE: mean of its lines
    assert "55 %" in html and "s1/line02 has 55 % data coverage" in html  # low coverage, said so
    assert ">20.0<" in html and ">31.0<" in html  # downtime: needle summed over m1 and m2, no work
    assert ">41<" in html  # 16:00 hourly output 25 + 16
    assert "0.438" in html and "31.0 %" in html  # energy per piece, green share
    summary = PlanSummary.model_validate_json(platform["summary"].read_bytes())
    retained, _ = collect_retained(platform["broker"], "seamline/v1/f001/+/+/_line/allocation", max_messages=10)
    placed = {e.order_id for p in retained.values() for e in AllocationMessage.model_validate_json(p).entries}
    allocated, unmet = html.split("id=\"orders\"")[1].split("本厂可做品类中未满足的订单")
    assert placed and all(f"<td>{o}</td>" in allocated for o in placed)
    assert "<td>PO-901</td>" in unmet and "down_jacket" not in html  # f001 makes t-shirts only
    assert summary.plan_id in html and "come from plan" not in html  # one plan: summary = allocations
    assert "交期前产能不足" in html
    assert "机器 m3 停机" in html and "Machine m3 is down" in html and "2026-05-06 09:15" in html
    assert "m4" not in html  # it began after the report's day
    assert "<td>4 800</td>" in html  # free std-min per day, both lines, from the retained capacity
    (mail,) = platform["sink"].wait_for(1)
    assert mail["To"] == "boss@example.com" and "生产日报" in str(mail["Subject"])
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_filename() == "f001.html" and attachment.get_content_type() == "text/html"
    assert attachment.get_payload(decode=True) == out.read_bytes() and attachment.get_content_charset() == "utf-8"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and "OEE 36.5 %" in body.get_content()


def test_the_cluster_report(platform: dict[str, Any]) -> None:
    out = platform["tmp"] / "cluster.html"
    assert main(["report", "--day", ri.DAY.isoformat(), "--cluster", "--config", str(platform["rules"]),
                 "--out", str(out), "--plan-summary", str(platform["summary"])]) == 0
    html = out.read_text()
    assert audit(html).svgs == 3 and audit(html).urls == []
    assert "f002" in html and "61.0 %" in html and "down_jacket" in html and "没有可做该品类的工厂" in html
    assert "No alert source configured" in html


def test_a_broker_that_is_down_is_named_on_the_page_and_the_page_is_written(
        platform: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    rules = platform["rules"]
    doc = yaml.safe_load(rules.read_text())
    doc["mqtt"]["port"] = free_port()
    doc["capacity"] = {"bookings_timeout_s": 0.5}
    rules.write_text(yaml.safe_dump(doc))
    out = platform["tmp"] / "f001-no-broker.html"
    assert main(["report", "--day", ri.DAY.isoformat(), "--enterprise", "f001", "--config", str(rules),
                 "--out", str(out)]) == 0
    html = out.read_text()
    assert "Capacity and allocations could not be read" in html and "42.0 %" in html
    assert "could not be read" in capsys.readouterr().err


def test_usage_errors_exit_2(platform: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    base = ["report", "--day", ri.DAY.isoformat(), "--config", str(platform["rules"]), "--out",
            str(platform["tmp"] / "x.html")]
    assert main([*base, "--enterprise", "nope"]) == 2
    assert main(base) == 2  # two enterprises: which one?
    assert main([*base, "--enterprise", "f001", "--send", "plant-mail"]) == 2  # no --notify-config
    notify = yaml.safe_load(platform["notify"].read_text())
    notify["channels"]["hook"] = {"type": "webhook", "url": "https://example.com/h"}
    platform["notify"].write_text(yaml.safe_dump(notify))
    assert main([*base, "--enterprise", "f001", "--send", "hook", "--notify-config", str(platform["notify"])]) == 2
    err = capsys.readouterr().err
    assert "is not in master data" in err and "give --enterprise" in err and "needs an e-mail channel" in err
    assert not (platform["tmp"] / "x.html").exists()


def test_day_is_a_date() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["report", "--day", "06/05/2026", "--config", "x", "--out", "y"])
    assert exc.value.code == 2


def test_a_mail_server_that_refuses_for_now_is_retried_then_given_up(tmp_path: Path) -> None:
    from seamline.notify.config import EmailChannel
    from seamline.report.delivery import DeliveryError, report_email, send

    sink = SmtpSink()
    sink.start()
    try:
        channel = EmailChannel.model_validate({"type": "email", "host": "127.0.0.1", "port": sink.port,
                                               "security": "none", "from": "r@example.com", "to": ["b@example.com"]})
        mail = report_email(channel, subject="日报", body="见附件", html="<p>页</p>".encode(), filename="r.html")
        slept: list[float] = []
        sink.refuse = True
        with pytest.raises(DeliveryError, match="not delivered after 3 attempts: email: SMTP 451"):
            send(channel, mail, attempts=3, sleep=slept.append)
        assert len(slept) == 2 and sink.messages == []
        sink.refuse = False
        send(channel, mail, attempts=3, sleep=slept.append)
        (got,) = sink.wait_for(1)
        assert got["Subject"] == "日报" and len(slept) == 2
    finally:
        sink.stop()
