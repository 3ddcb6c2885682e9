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

from seamline.errors import UsageError
from seamline.mqtt_connect import MqttConnectError, apply_identity, connect_and_wait
from seamline.mqtt_identity import MqttIdentity
from seamline.secret_source import redact_url

# Retained messages come in one burst right after SUBACK; half a second without a new one on a
# LAN broker means the burst is over.
DEFAULT_QUIET_S = 0.5
DEFAULT_TIMEOUT_S = 10.0


class BrokerUnavailableError(Exception):
    """The broker could not be reached or did not acknowledge the subscription in time."""


def broker_address(broker_url: str) -> tuple[str, int]:
    """``mqtt://host:port`` (or ``tcp://``; ``mqtts://``/``ssl://`` for TLS) -> (host, port); port
    1883 (TLS: 8883) when omitted. A password in the URL is refused (it would sit in shell history
    and ``ps``): it comes from a file or the environment (:class:`MqttIdentity`)."""
    parsed = urlparse(broker_url)
    try:
        host, port = parsed.hostname, parsed.port
    except ValueError:
        host, port = None, None
    if parsed.scheme not in ("mqtt", "tcp", "mqtts", "ssl") or not host:
        raise UsageError(f"--broker {redact_url(broker_url)}: expected mqtt://host:port or mqtts://host:port")
    if parsed.password is not None:
        raise UsageError(f"--broker {redact_url(broker_url)}: no password in the URL; give it in a file "
                         "(--password-file) or the environment (--password-env)")
    return host, port or (8883 if url_uses_tls(broker_url) else 1883)


def url_uses_tls(broker_url: str) -> bool:
    return urlparse(broker_url).scheme in ("mqtts", "ssl")


def url_identity(broker_url: str, identity: MqttIdentity | None) -> MqttIdentity:
    """``identity`` completed by the URL: TLS for ``mqtts://``, the user name before ``@``."""
    identity = identity or MqttIdentity()
    parsed = urlparse(broker_url)
    update: dict[str, object] = {}
    if url_uses_tls(broker_url) and not identity.uses_tls:
        update["tls"] = True
    if parsed.username and not identity.username:
        update["username"] = parsed.username
    return identity.model_copy(update=update) if update else identity


def connect_client(client: mqtt.Client, broker_url: str, identity: MqttIdentity | None, *,
                   timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
    """Apply the identity and connect ``client`` synchronously (loop started); raise
    :class:`BrokerUnavailableError` in one line when the broker cannot be reached or refuses us."""
    host, port = broker_address(broker_url)
    ident = url_identity(broker_url, identity)
    try:
        apply_identity(client, ident)
        connect_and_wait(client, host, port, ident, timeout_s=timeout_s)
    except MqttConnectError as exc:
        raise BrokerUnavailableError(str(exc)) from None


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
    identity: MqttIdentity | None = None,
) -> tuple[dict[str, bytes], int]:
    """{topic: latest payload} of the retained messages under ``topic_filter``, and how many
    messages beyond ``max_messages`` topics were dropped. A message that arrives live during the
    read replaces the retained one of its topic; an empty payload (a cleared topic) removes it.
    ``identity`` (or ``username``/``password``) for a broker with TLS and an ACL (the password
    is never shown)."""
    if identity is None and username:
        identity = MqttIdentity(username=username, password=password)
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
    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    connect_client(client, broker_url, identity, timeout_s=timeout_s)
    try:
        client.subscribe(topic_filter, qos=1)
        start = clock()
        if not subscribed.wait(timeout=timeout_s):
            raise BrokerUnavailableError(f"{redact_url(broker_url)}: no SUBACK for {topic_filter} within {timeout_s} s")
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
