"""A small floor for a simulated hour against a real Mosquitto; a paho subscriber checks delivery."""

from __future__ import annotations

import threading
import time
from collections import Counter

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from seamline.contracts.messages import SewingMachineData, StateChangeMessage, parse_data
from seamline.contracts.topic import Topic
from seamline.firmware_stubs.clock import SimClock
from seamline.firmware_stubs.sewing.floor import FloorSpec, run_floor
from seamline.firmware_stubs.sewing.publisher import MqttPublisher
from seamline.localstack import MosquittoProcess

pytestmark = pytest.mark.integration

T0 = 1_740_960_000_000  # 2025-03-03 08:00 Asia/Shanghai


class Collector:
    def __init__(self, url_port: int) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="fw-test-sub")
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("seamline/v1/#", qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", url_port)
        self.client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((msg.topic, msg.payload))

    def wait_for(self, n: int, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= n:
                    return
            time.sleep(0.05)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_floor_hour_every_seq_once_per_machine(mosquitto: MosquittoProcess) -> None:
    sub = Collector(mosquitto.port)
    try:
        assert sub.subscribed.wait(10)
        spec = FloorSpec(factories=2, lines=1, machines=3, start_ms=T0, end_ms=T0 + 3_600_000, seed=42,
                         speed=3600.0, shift=None)
        pub = MqttPublisher(mosquitto.url, client_id="fw-test-pub")
        pub.connect()
        try:
            report = run_floor(spec, publisher=pub, clock=SimClock(T0, spec.speed))
        finally:
            pub.close()
        sub.wait_for(report.messages)
        with sub.lock:
            got = list(sub.messages)
    finally:
        sub.stop()
    assert pub.published == report.messages == len(got)
    seqs: dict[str, Counter[int]] = {}
    states = 0
    for topic, payload in got:
        t = Topic.parse(topic)
        key = f"{t.enterprise}/{t.site}/{t.area}/{t.asset}"
        if t.kind.value == "data":
            msg = parse_data(payload)
            assert isinstance(msg, SewingMachineData)
            seqs.setdefault(key, Counter()).update(s.seq for s in msg.samples)
        else:
            st = StateChangeMessage.model_validate_json(payload)
            seqs.setdefault(key, Counter())[st.seq] += 1
            states += 1
    assert len(seqs) == 6
    for node in report.nodes:
        expected = node.sim.sampler.count + len(node.sim.andon)
        counts = seqs[node.node.addr.key]
        assert sorted(counts) == list(range(expected)), node.node.addr.key
        assert set(counts.values()) == {1}
    assert states == sum(len(n.sim.andon) for n in report.nodes)
