"""The cluster load generator against a real Mosquitto: what it says it sent per asset is exactly
what a subscriber receives — every seq 0..n-1 of every asset, contract-valid — and births and
statuses go out on each gateway's own topics."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from bench.cluster_load import main
from seamline.ingest.validate import Accepted, TimeWindow, validate
from seamline.localstack import MosquittoProcess

pytestmark = pytest.mark.integration


def test_generator_sends_every_seq_of_every_asset(mosquitto: MosquittoProcess, tmp_path: Path) -> None:
    seqs: dict[tuple[str, ...], list[int]] = defaultdict(list)
    kinds: dict[str, int] = defaultdict(int)
    rejected: list[str] = []
    lock = threading.Lock()
    window = TimeWindow(max_past_ms=3_600_000, max_future_ms=600_000)

    def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        result = validate(msg.topic, bytes(msg.payload), now_ms=int(time.time() * 1000), window=window,
                          max_payload_bytes=256 * 1024)
        level = msg.topic.split("/")
        with lock:
            kinds[level[6]] += 1
            if not isinstance(result, Accepted):
                rejected.append(f"{msg.topic}: {result}")
                return
            m = result.message
            for seq in [s.seq for s in m.samples] if level[6] == "data" else [getattr(m, "seq", None)]:  # type: ignore[union-attr]
                if seq is not None:
                    seqs[tuple(level[2:6])].append(seq)

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="watch", protocol=mqtt.MQTTv311)
    sub.on_message = on_message
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_a: subscribed.set()
    sub.connect("127.0.0.1", mosquitto.port)
    sub.subscribe("seamline/v1/#", qos=1)
    sub.loop_start()
    assert subscribed.wait(10)
    summary = tmp_path / "load.json"
    try:
        assert main(["--port", str(mosquitto.port), "--fraction", "0.001", "--duration", "4", "--clients", "3",
                     "--seeds", "1", "--summary", str(summary)]) == 0
        g = json.loads(summary.read_text())
        want = {tuple(a[:4]): a[5] for a in g["assets"] if a[5] > 0}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with lock:
                if sum(len(v) for v in seqs.values()) >= sum(want.values()):
                    break
            time.sleep(0.1)
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert rejected == []
    assert g["acked"] == g["sent_total"] and g["gateways"] == 9  # 8 factories + the park
    assert {k: sorted(v) for k, v in seqs.items()} == {k: list(range(n)) for k, n in want.items()}
    assert kinds["birth"] == kinds["status"] == g["births"] >= 9
    assert g["sent"]["modbus"] > 0 and g["sent"]["state"] > 0
