"""The gateway's repair over a real Mosquitto: the uplink receives a resend on its own topic,
republishes the kept messages with the ``seamline-replay`` user property, and publishes a lost
report for what it no longer has; a retained confirm received on connect empties the history."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from seamline.contracts.repair import LostMessage
from seamline.edge_agent.repair import Repair, RepairTopics
from seamline.edge_agent.spool import OutMessage, Priority, SqliteSpool
from seamline.edge_agent.uplink import Uplink, UplinkSettings
from seamline.localstack import MosquittoProcess

pytestmark = pytest.mark.integration

TOPICS = RepairTopics.of(enterprise="f001", site="s1", gateway_id="gw01")
DATA = "seamline/v1/f001/s1/line01/m001/data"


def data(seq: int) -> OutMessage:
    return OutMessage(DATA, orjson.dumps({"schema_version": 1, "asset_kind": "sewing_machine",
                                          "samples": [{"ts_ms": 1_764_291_600_000 + seq, "seq": seq,
                                                       "metrics": {"run_s": 1.0}}]}), Priority.AGGREGATE)


def wait(predicate: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise TimeoutError("condition not met")


def test_resend_replays_with_the_property_and_reports_lost(tmp_path: Path, mosquitto: MosquittoProcess) -> None:
    got: list[tuple[str, bytes, dict[str, str]]] = []
    lock = threading.Lock()

    def on_message(c: mqtt.Client, u: object, m: mqtt.MQTTMessage) -> None:
        props = dict(getattr(m.properties, "UserProperty", []) or [])
        with lock:
            got.append((m.topic, bytes(m.payload), props))

    observer = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="observer", protocol=mqtt.MQTTv5)
    observer.on_message = on_message
    observer.connect("127.0.0.1", mosquitto.port)
    observer.subscribe([(DATA, 1), (TOPICS.lost, 1)])
    observer.loop_start()
    spool = SqliteSpool(tmp_path / "spool.sqlite", max_bytes=1_000_000, history_retention_ms=600_000)
    repair = Repair(spool=spool, topics=TOPICS, gateway_id="gw01", now_ms=lambda: int(time.time() * 1000))
    uplink = Uplink(settings=UplinkSettings(host="127.0.0.1", port=mosquitto.port, client_id="edge-gw01"),
                    spool=spool, will=OutMessage(f"{TOPICS.lost[:-5]}/status", b"{}", Priority.STATE, True),
                    on_connect_messages=lambda: [], subscriptions=repair.subscriptions(), on_message=repair.handle)
    repair.wake = uplink.wake
    try:
        time.sleep(0.3)
        uplink.start()
        spool.commit([data(s) for s in range(1, 6)])
        uplink.wake()
        wait(lambda: spool.stats().history.messages == 5)  # type: ignore[union-attr]
        resend = orjson.dumps({"schema_version": 1, "gateway_id": "gw01", "request_id": "r1",
                               "generated_ts_ms": 1_764_291_600_000,
                               "assets": [{"area": "line01", "asset": "m001", "ranges": [{"first": 4, "last": 9}]}]})
        observer.publish(TOPICS.resend, resend, qos=1)
        wait(lambda: any(t == TOPICS.lost for t, _, _ in got) and len([g for g in got if g[2]]) == 2)
        with lock:
            replays = [orjson.loads(p)["samples"][0]["seq"] for t, p, props in got
                       if t == DATA and props.get("seamline-replay") == "1"]
            lost = LostMessage.model_validate_json(next(p for t, p, _ in got if t == TOPICS.lost))
        assert replays == [4, 5]
        assert [(r.first, r.last) for r in lost.assets[0].ranges] == [(6, 9)]
        confirm = orjson.dumps({"schema_version": 1, "gateway_id": "gw01", "generated_ts_ms": 1_764_291_600_000,
                                "window_start_ms": 1_764_291_500_000,
                                "assets": [{"area": "line01", "asset": "m001", "ranges": [{"first": 1, "last": 5}]}]})
        observer.publish(TOPICS.confirm, confirm, qos=1, retain=True)
        wait(lambda: spool.stats().history.messages == 0)  # type: ignore[union-attr]
    finally:
        uplink.stop(timeout_s=3.0)
        spool.close()
        observer.disconnect()
        observer.loop_stop()
