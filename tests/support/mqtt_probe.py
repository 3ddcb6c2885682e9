"""An MQTT 5 test client over TLS that reports what the broker answered: whether it let us in
(and why not), the PUBACK reason code of every QoS 1 publish, and the messages delivered to us.
For the security integration tests against a real Mosquitto."""

from __future__ import annotations

import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

NOT_AUTHORIZED = 0x87
NO_SUBSCRIBERS = 0x10  # accepted, nobody subscribed
ACCEPTED = (0x00, NO_SUBSCRIBERS)
BARRIER_TOPIC = "probe/barrier"


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    ca: Path  # the CA the client trusts for the server's certificate
    cert: Path | None = None
    key: Path | None = None
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_folder(cls, folder: Path, *, ca: Path | None = None) -> Credentials:
        """An identity folder of the PKI store: cert.pem, key.pem, ca.pem."""
        return cls(ca=ca or folder / "ca.pem", cert=folder / "cert.pem", key=folder / "key.pem")


@dataclass(frozen=True, slots=True)
class Outcome:
    connected: bool
    reason: str  # CONNACK reason, or the TLS / socket error that ended the attempt


@dataclass(slots=True)
class _State:
    connack: threading.Event = field(default_factory=threading.Event)
    closed: threading.Event = field(default_factory=threading.Event)
    reason: str = ""
    connected: bool = False
    pubacks: dict[int, int] = field(default_factory=dict)
    puback_event: threading.Condition = field(default_factory=threading.Condition)
    messages: list[mqtt.MQTTMessage] = field(default_factory=list)
    subacks: dict[int, list[int]] = field(default_factory=dict)


class Probe:
    """One connected (or refused) MQTT 5 client; see :func:`probe`."""

    def __init__(self, port: int, creds: Credentials, *, client_id: str | None = None) -> None:
        self.port = port
        self.state = _State()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"probe-{uuid.uuid4().hex[:8]}",
                        protocol=mqtt.MQTTv5)
        c.tls_set(ca_certs=str(creds.ca), certfile=str(creds.cert) if creds.cert else None,
                  keyfile=str(creds.key) if creds.key else None, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        if creds.username is not None:
            c.username_pw_set(creds.username, creds.password)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.on_subscribe = self._on_subscribe
        c.on_message = lambda _c, _u, m: self.state.messages.append(m)
        self.client = c

    def open(self, *, timeout_s: float = 10.0) -> Outcome:
        try:
            self.client.connect("localhost", self.port, keepalive=30)
        except (OSError, ssl.SSLError) as exc:
            return Outcome(False, f"{type(exc).__name__}: {exc}")
        self.client.loop_start()
        # A refused TLS client certificate shows up after the handshake (TLS 1.3) as a closed
        # connection without CONNACK.
        deadline = time.monotonic() + timeout_s
        while not (self.state.connack.is_set() or self.state.closed.is_set()) and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self.state.connack.is_set():
            return Outcome(False, self.state.reason or f"no CONNACK within {timeout_s} s")
        return Outcome(self.state.connected, self.state.reason)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False, timeout_s: float = 10.0) -> int:
        """Publish at QoS 1 and return the PUBACK reason code (0 accepted, 0x10 no subscribers,
        0x87 not authorised)."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        with self.state.puback_event:
            if not self.state.puback_event.wait_for(lambda: info.mid in self.state.pubacks, timeout=timeout_s):
                raise TimeoutError(f"no PUBACK for {topic} within {timeout_s} s")
            return self.state.pubacks.pop(info.mid)

    def subscribe(self, filters: Sequence[str], *, timeout_s: float = 10.0) -> list[int]:
        """Subscribe at QoS 1 and return the SUBACK reason codes."""
        rc, mid = self.client.subscribe([(f, 1) for f in filters])
        if mid is None:
            raise ConnectionError(f"SUBSCRIBE not sent: {mqtt.error_string(rc)}")
        wait_until(lambda: mid in self.state.subacks, timeout_s=timeout_s, what="SUBACK")
        return self.state.subacks.pop(mid)

    def barrier(self) -> None:
        """A QoS 1 round trip: once its PUBACK is back, every message the broker routed to this
        client before handling it has been delivered (one connection is one ordered stream). The
        PUBACK comes whether or not the topic is allowed, so any client can use it."""
        self.publish(BARRIER_TOPIC, b"")

    def topics(self) -> list[str]:
        return [m.topic for m in self.state.messages]

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        self.state.connected = not reason.is_failure
        self.state.reason = str(reason)
        self.state.connack.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        if not self.state.connack.is_set():
            self.state.reason = f"connection closed before CONNACK ({reason})"
        self.state.connected = False
        self.state.closed.set()

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, reason: ReasonCode, _p: Any) -> None:
        with self.state.puback_event:
            self.state.pubacks[mid] = reason.value
            self.state.puback_event.notify_all()

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, mid: int, reasons: list[ReasonCode], _p: Any) -> None:
        self.state.subacks[mid] = [r.value for r in reasons]


@contextmanager
def probe(port: int, creds: Credentials, *, client_id: str | None = None) -> Iterator[Probe]:
    """A connected probe (fails the test if the broker refuses it); disconnected afterwards."""
    p = Probe(port, creds, client_id=client_id)
    outcome = p.open()
    try:
        if not outcome.connected:
            raise AssertionError(f"broker refused the connection: {outcome.reason}")
        yield p
    finally:
        p.close()


def attempt(port: int, creds: Credentials, *, client_id: str | None = None) -> Outcome:
    """Connect, note the outcome, disconnect."""
    p = Probe(port, creds, client_id=client_id)
    try:
        return p.open()
    finally:
        p.close()


def wait_until(pred: Callable[[], bool], *, timeout_s: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.01)
