"""MQTT helpers of the demo: pre-created persistent sessions, routing node traffic to each
factory's gateway broker, a rogue client's malformed messages, and waiting for retained status."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from seamline.firmware_stubs.sewing.publisher import MqttPublisher
from seamline.mqtt_connect import apply_identity
from seamline.mqtt_identity import MqttIdentity


def precreate_session(port: int, *, client_id: str, topic_filter: str, timeout_s: float = 10.0) -> None:
    """Create a gateway's persistent local session before the gateway runs, so that what the nodes
    publish from the first second on is queued for it (as on a real gateway that has run before)."""
    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                         protocol=mqtt.MQTTv311)
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic_filter, qos=1)
    client.on_subscribe = lambda *a: done.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        if not done.wait(timeout_s):
            raise RuntimeError(f"no SUBACK from 127.0.0.1:{port} within {timeout_s} s")
    finally:
        client.disconnect()
        client.loop_stop()


class RoutingPublisher:
    """The floor's publisher: each node's messages go to its own factory's gateway broker.
    ``record``: keep every (topic, payload) sent, in order, for end-to-end checks (small runs only).
    ``outage``: (enterprise, start_ms, end_ms) of simulated time in which that factory's gateway is
    down — its nodes' messages reach nothing and are counted in ``outage_samples``."""

    def __init__(self, ports: dict[str, int], *, record: bool = False,
                 outage: tuple[str, int, int] | None = None, now_ms: Callable[[], int] | None = None) -> None:
        self.sent: list[tuple[str, bytes]] | None = [] if record else None
        self.outage, self.now_ms = outage, now_ms
        self.outage_messages = 0
        self.outage_samples = 0
        self._pubs = {ent: MqttPublisher(f"mqtt://127.0.0.1:{port}", client_id=f"nodes-{ent}")
                      for ent, port in ports.items()}
        for pub in self._pubs.values():
            pub.connect()

    def publish(self, topic: str, payload: bytes) -> None:
        enterprise = topic.split("/", 3)[2]
        if self.outage and self.now_ms and enterprise == self.outage[0] and \
                self.outage[1] <= self.now_ms() < self.outage[2]:
            self.outage_messages += 1
            if topic.endswith("/data"):  # the node's injected garbage carries no samples
                with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError):
                    self.outage_samples += len(orjson.loads(payload)["samples"])
            return
        self._pubs[enterprise].publish(topic, payload)
        if self.sent is not None:
            self.sent.append((topic, payload))

    def close(self) -> None:
        for p in self._pubs.values():
            p.close()


def rogue_messages(n: int, *, ts_ms: int) -> list[tuple[str, bytes]]:
    """``n`` malformed messages as a buggy third-party firmware would send them upstream, cycling
    through the kinds of invalid input ingest must quarantine (never crash on)."""
    good_topic = "seamline/v1/rogue/s1/line01/m001/data"
    sample = {"ts_ms": ts_ms, "seq": 1, "metrics": {"current_a": 1.0}}
    body = {"schema_version": 1, "asset_kind": "sewing_machine", "samples": [sample]}
    kinds: list[tuple[str, bytes]] = [
        (good_topic, b"{not json"),
        (good_topic, orjson.dumps({**body, "schema_version": 9})),
        (good_topic, orjson.dumps(body).replace(b"1.0", b"NaN")),
        (good_topic, orjson.dumps({**body, "samples": [{**sample, "seq": "one"}]})),
        (good_topic, orjson.dumps({**body, "samples": [{**sample, "ts_ms": ts_ms + 400 * 86_400_000}]})),
        (good_topic, orjson.dumps({**body, "asset_kind": "toaster"})),
        ("seamline/v1/rogue/s1/_line01/m001/data", orjson.dumps(body)),  # reserved level
        (good_topic, orjson.dumps({"schema_version": 1, "ts_ms": ts_ms, "seq": 1, "state": "running"})),
    ]
    return [kinds[i % len(kinds)] for i in range(n)]


def _connect(client: mqtt.Client, port: int, identity: MqttIdentity | None) -> None:
    """Plain to 127.0.0.1, or TLS with ``identity`` to ``localhost`` (the name in the broker's certificate)."""
    if identity is None:
        client.connect("127.0.0.1", port)
        return
    apply_identity(client, identity)
    client.connect("localhost", port)


def publish_all(port: int, messages: list[tuple[str, bytes]], *, timeout_s: float = 30.0,
                identity: MqttIdentity | None = None) -> int:
    """Publish at QoS 1 and wait for every PUBACK; returns how many were acknowledged."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"rogue-{uuid.uuid4().hex[:6]}")
    client.max_inflight_messages_set(100)
    connected = threading.Event()
    client.on_connect = lambda c, u, f, rc, p: connected.set()
    _connect(client, port, identity)
    client.loop_start()
    acked = 0
    try:
        if not connected.wait(timeout_s):
            raise RuntimeError(f"no CONNACK from 127.0.0.1:{port}")
        infos = [client.publish(t, p, qos=1) for t, p in messages]
        deadline = time.monotonic() + timeout_s
        for info in infos:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
            acked += int(info.is_published())
    finally:
        client.disconnect()
        client.loop_stop()
    return acked


def retained_statuses(port: int, *, timeout_s: float = 2.0, identity: MqttIdentity | None = None) -> dict[str, str]:
    """gateway id -> state of the retained gateway status messages on the broker."""
    out: dict[str, str] = {}
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"status-{uuid.uuid4().hex[:6]}")

    def on_message(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        try:
            out[msg.topic.split("/")[5]] = str(orjson.loads(msg.payload).get("state"))
        except orjson.JSONDecodeError:
            out[msg.topic.split("/")[5]] = "?"

    client.on_message = on_message
    client.on_connect = lambda c, u, f, rc, p: c.subscribe("seamline/v1/+/+/_gateway/+/status", qos=1)
    _connect(client, port, identity)
    client.loop_start()
    time.sleep(timeout_s)
    client.disconnect()
    client.loop_stop()
    return out
