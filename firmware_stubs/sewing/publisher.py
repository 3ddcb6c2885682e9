"""Publishing node messages to a broker: a small Protocol and its paho-mqtt implementation.

The floor shares one MQTT connection for all its simulated nodes (hundreds of TCP sessions would
load the shared machine for no gain in what the broker sees on the topics).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from typing import Protocol
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

log = logging.getLogger(__name__)

# Un-acknowledged QoS 1 publishes we allow before waiting: bounds paho's internal queue (memory)
# while keeping the pipe full on loopback.
MAX_OUTSTANDING = 1000
# How long one publish may wait for its broker acknowledgement before we give up.
ACK_TIMEOUT_S = 30.0
CONNECT_ATTEMPTS = 5
BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 5.0


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes) -> None: ...

    def close(self) -> None: ...


class PublishError(RuntimeError):
    """The broker could not be reached or did not acknowledge in time."""


def parse_broker_url(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` → (host, port); raises ``ValueError`` with what was expected."""
    parts = urlsplit(url)
    if parts.scheme != "mqtt" or not parts.hostname:
        raise ValueError(f"broker URL {url!r}: expected mqtt://HOST:PORT")
    try:
        port = parts.port or 1883
    except ValueError as exc:
        raise ValueError(f"broker URL {url!r}: bad port") from exc
    return parts.hostname, port


class MqttPublisher:
    """QoS 1 publisher on one paho connection, with a bounded number of un-acked messages."""

    def __init__(self, url: str, *, client_id: str, rng: random.Random | None = None) -> None:
        self.host, self.port = parse_broker_url(url)
        self._rng = rng or random.Random()
        self._connected = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.max_inflight_messages_set(100)
        self._client.reconnect_delay_set(1, 30)
        # mids sent and not yet consumed, in order; acks arrive on paho's thread into ``_acked``.
        # Acks are tracked by callback rather than MQTTMessageInfo because paho keeps QoS 1
        # messages published while disconnected and resends them, yet marks their info as failed.
        self._outstanding: deque[int] = deque()
        self._acked: set[int] = set()
        self._cond = threading.Condition()
        self.published = 0
        self._closing = False

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, rc: object, props: object) -> None:
        if not getattr(rc, "is_failure", False):
            self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: object, rc: object, props: object) -> None:
        self._connected.clear()
        if self._closing:
            return
        log.warning("disconnected from mqtt://%s:%s (%s); paho reconnects", self.host, self.port, rc)

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int, rc: object, props: object) -> None:
        with self._cond:
            self._acked.add(mid)
            self._cond.notify_all()

    def connect(self, *, timeout_s: float = 10.0) -> None:
        """Connect with bounded, jittered retries; raise ``PublishError`` if the broker stays away."""
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                self._client.connect(self.host, self.port, keepalive=30)
                break
            except OSError as exc:
                if attempt == CONNECT_ATTEMPTS - 1:
                    raise PublishError(f"cannot connect to mqtt://{self.host}:{self.port}: {exc}") from exc
                time.sleep(self._rng.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt)))
        self._client.loop_start()
        if not self._connected.wait(timeout_s):
            self.close()
            raise PublishError(f"mqtt://{self.host}:{self.port} did not accept the connection in {timeout_s} s")

    def publish(self, topic: str, payload: bytes) -> None:
        while len(self._outstanding) >= MAX_OUTSTANDING:
            self._wait_oldest()
        info = self._client.publish(topic, payload, qos=1)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            raise PublishError(f"publish to {topic} failed: {mqtt.error_string(info.rc)}")
        self._outstanding.append(info.mid)

    def _wait_oldest(self) -> None:
        mid = self._outstanding.popleft()
        with self._cond:
            if not self._cond.wait_for(lambda: mid in self._acked, ACK_TIMEOUT_S):
                raise PublishError(f"broker did not acknowledge message {mid} within {ACK_TIMEOUT_S} s")
            self._acked.discard(mid)
        self.published += 1

    def flush(self) -> None:
        """Wait until every publish so far is acknowledged."""
        while self._outstanding:
            self._wait_oldest()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._closing = True
            self._client.disconnect()
            self._client.loop_stop()
