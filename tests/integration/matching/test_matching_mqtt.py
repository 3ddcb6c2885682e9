"""Retained capacity messages on a real Mosquitto in -> the plan's allocation and bookings out on
MQTT, retained, one of each per line, with the contract's models."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from seamline.cli import main
from seamline.contracts.messages import AllocationMessage, BookingsMessage, CapacityDay, CapacityMessage
from seamline.contracts.topic import MessageKind, Topic, subscription
from seamline.localstack import MosquittoProcess

pytestmark = pytest.mark.integration
TODAY = date(2030, 1, 7)


def client(broker: MosquittoProcess) -> mqtt.Client:
    c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="")
    c.connect("127.0.0.1", broker.port, keepalive=30)
    c.loop_start()
    return c


def publish_capacity(broker: MosquittoProcess) -> None:
    c = client(broker)
    try:
        for ent, free in (("f1", 300.0), ("f2", 500.0)):
            msg = CapacityMessage(
                enterprise=ent, site="s1", line="l1", generated_ts_ms=1_893_974_400_000, categories=["tshirt"],
                operators=10, efficiency=0.5, confidence=1.0,
                days=[CapacityDay(day=TODAY + timedelta(days=k), available_std_min=free, booked_std_min=0,
                                  free_std_min=free) for k in range(2)],
            )
            topic = Topic.line(enterprise=ent, site="s1", line="l1", kind=MessageKind.CAPACITY)
            c.publish(str(topic), msg.model_dump_json(), qos=1, retain=True).wait_for_publish(timeout=10)
    finally:
        c.disconnect()
        c.loop_stop()


def collect(broker: MosquittoProcess, kind: MessageKind, expected: int) -> dict[str, bytes]:
    """Subscribe after publication: what the broker retains for ``kind`` (bounded wait)."""
    got: dict[str, bytes] = {}
    not_retained: list[str] = []
    done = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, m: mqtt.MQTTMessage) -> None:
        if not m.retain:
            not_retained.append(m.topic)
        got[m.topic] = bytes(m.payload)
        if len(got) >= expected:
            done.set()

    c = client(broker)
    c.on_message = on_message
    c.subscribe(subscription(kind=kind), qos=1)
    try:
        assert done.wait(timeout=10), f"only {len(got)} {kind} messages arrived"
    finally:
        c.disconnect()
        c.loop_stop()
    assert not_retained == []
    return got


def test_retained_capacity_in_plan_out(mosquitto: MosquittoProcess, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    publish_capacity(mosquitto)
    orders = tmp_path / "orders.csv"
    # 1000 std-min due day 1: f2 has 2 × 500, f1 2 × 300 -> all on time, on one factory if possible
    orders.write_text("order_id,buyer,category,sam_min,quantity,due\nA,acme,tshirt,10,100,2030-01-08\n"
                      "B,acme,tshirt,10,60,2030-01-08\n")
    rc = main(["match", "--orders", str(orders), "--broker", mosquitto.url, "--publish", "--json",
               "--today", TODAY.isoformat(), "--time-limit", "5"])
    assert rc == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["unallocated"] == []
    assert sum(a["pieces"] for a in plan["allocations"]) == 160
    retained = collect(mosquitto, MessageKind.ALLOCATION, 2)
    messages = [AllocationMessage.model_validate_json(p) for p in retained.values()]
    by_ent = {m.enterprise: m for m in messages}
    assert set(by_ent) == {"f1", "f2"}
    assert sum(e.pieces for m in messages for e in m.entries) == 160
    assert sum(e.std_min for e in by_ent["f2"].entries) == pytest.approx(1000.0)
    assert all(e.buyer == "acme" and e.category == "tshirt" for m in messages for e in m.entries)
    retained = collect(mosquitto, MessageKind.BOOKINGS, 2)
    bookings = {t: BookingsMessage.model_validate_json(p) for t, p in retained.items()}
    assert set(bookings) == {"seamline/v1/f1/s1/l1/_line/bookings", "seamline/v1/f2/s1/l1/_line/bookings"}
    booked: dict[tuple[str, date], float] = defaultdict(float)
    for a in plan["allocations"]:
        booked[(a["enterprise"], date.fromisoformat(a["day"]))] += a["std_min"]
    assert {(b.enterprise, d.day): d.std_min for b in bookings.values() for d in b.days} == pytest.approx(booked)
    assert {b.plan_id for b in bookings.values()} == {m.plan_id for m in messages} and len(messages[0].plan_id) == 16


def test_retained_carbon_and_grades_feed_green_orders_and_the_grade_preference(
        mosquitto: MosquittoProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from seamline.contracts.carbon import CarbonMessage
    from seamline.contracts.grades import GradeMessage

    publish_capacity(mosquitto)  # f1 and f2, no green figures in the capacity messages
    c = client(mosquitto)
    try:
        carbon = CarbonMessage(enterprise="f1", site="s1", line="l1", generated_ts_ms=1_893_974_400_000,
                               green_share=0.8, co2e_kg_per_piece=0.05, grid_emission_factor_kg_per_kwh=0.58,
                               emission_factor_source="test", days=[])
        topic = Topic.line(enterprise="f1", site="s1", line="l1", kind=MessageKind.CARBON)
        c.publish(str(topic), carbon.model_dump_json(), qos=1, retain=True).wait_for_publish(timeout=10)
        for ent, grade, index in (("f1", "A", 0), ("f2", "D", 3)):
            msg = GradeMessage(enterprise=ent, period="2026Q3", method="m", generated_ts_ms=1_893_974_400_000,
                               grade=grade, grade_index=index, score=1.0, rank=index + 1, ranked=2,
                               variant="standard", estimated=False, indicators=[])
            topic = Topic.enterprise_level(enterprise=ent, kind=MessageKind.GRADE)
            c.publish(str(topic), msg.model_dump_json(), qos=1, retain=True).wait_for_publish(timeout=10)
    finally:
        c.disconnect()
        c.loop_stop()
    orders = tmp_path / "orders.csv"
    # G needs >= 50 % green (only f1 per the carbon feed); P fits either factory whole
    orders.write_text("order_id,buyer,category,sam_min,quantity,due,green_share_min\n"
                      "G,acme,tshirt,10,30,2030-01-08,0.5\nP,acme,tshirt,10,20,2030-01-08,\n")
    profiles = tmp_path / "profiles.yaml"  # f2 has the better record: preferred unless grades count
    profiles.write_text("factories:\n  - {enterprise: f1, quality: 0.5}\n  - {enterprise: f2, quality: 0.99}\n")
    args = ["match", "--orders", str(orders), "--broker", mosquitto.url, "--profiles", str(profiles), "--json",
            "--today", TODAY.isoformat()]

    def where(*extra: str) -> set[tuple[str, str]]:
        assert main([*args, *extra]) == 0
        plan = json.loads(capsys.readouterr().out)
        assert plan["unallocated"] == []
        return {(a["order_id"], a["enterprise"]) for a in plan["allocations"]}

    assert where() == {("G", "f1"), ("P", "f2")}
    assert where("--prefer-grades", "1") == {("G", "f1"), ("P", "f1")}
