"""Read what a broker retains under one topic filter: subscribe, collect the burst of retained
messages the broker sends right after SUBACK, stop once nothing new arrived for ``quiet_s`` or
after ``timeout_s``. MQTT has no end-of-retained marker, so quiet time is the only signal."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import SecretStr

from seamline.matching.errors import BrokerAddressError

# Retained messages come in one burst right after SUBACK; half a second without a new one on a
# LAN broker means the burst is over.
DEFAULT_QUIET_S = 0.5
DEFAULT_TIMEOUT_S = 10.0


class BrokerUnavailableError(Exception):
    """The broker could not be reached or did not acknowledge the subscription in time."""


def broker_address(broker_url: str) -> tuple[str, int]:
    """``mqtt://host:port`` (or ``tcp://``) -> (host, port); port 1883 when omitted."""
    parsed = urlparse(broker_url)
    if parsed.scheme not in ("mqtt", "tcp") or not parsed.hostname:
        raise BrokerAddressError(f"--broker {broker_url!r}: expected mqtt://host:port")
    return parsed.hostname, parsed.port or 1883


def collect_retained(
    broker_url: str,
    topic_filter: str,
    *,
    max_messages: int,
    quiet_s: float = DEFAULT_QUIET_S,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    clock: Callable[[], float] = time.monotonic,
    client_id: str = "",
    username: str | None = None,
    password: SecretStr | None = None,
) -> tuple[dict[str, bytes], int]:
    """{topic: latest payload} of the retained messages under ``topic_filter``, and how many
    messages beyond ``max_messages`` topics were dropped. A message that arrives live during the
    read replaces the retained one of its topic; an empty payload (a cleared topic) removes it.
    ``username``/``password`` for a broker with an ACL (the password is never shown)."""
    host, port = broker_address(broker_url)
    got: dict[str, bytes] = {}
    dropped = [0]
    lock = threading.Lock()
    last = [clock()]
    subscribed = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with lock:
            last[0] = clock()
            if not msg.payload:
                got.pop(msg.topic, None)
            elif msg.topic in got or len(got) < max_messages:
                got[msg.topic] = bytes(msg.payload)
            else:
                dropped[0] += 1

    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id)
    if username:
        client.username_pw_set(username, password.get_secret_value() if password else None)
    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    try:
        client.connect(host, port, keepalive=30)
    except OSError as exc:
        raise BrokerUnavailableError(f"cannot connect to {broker_url}: {exc}") from exc
    client.loop_start()
    try:
        client.subscribe(topic_filter, qos=1)
        start = clock()
        if not subscribed.wait(timeout=timeout_s):
            raise BrokerUnavailableError(f"{broker_url}: no SUBACK for {topic_filter} within {timeout_s} s")
        with lock:
            last[0] = clock()
        while clock() - start < timeout_s:
            with lock:
                if clock() - last[0] >= quiet_s:
                    break
            time.sleep(0.05)
    finally:
        client.disconnect()
        client.loop_stop()
    return dict(got), dropped[0]
