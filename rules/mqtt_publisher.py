"""The one MQTT publisher of the rules service (paho-mqtt 2.x): connect, publish retained QoS 1
messages, wait for each PUBACK, disconnect. The capacity feed runs hourly, so a connection per
run is simpler and more robust than keeping one open."""

from __future__ import annotations

from types import TracebackType

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from pydantic import SecretStr

from seamline.mqtt_connect import MqttConnectError, apply_identity, connect_and_wait
from seamline.mqtt_identity import MqttIdentity


class PublishError(Exception):
    """The broker was unreachable or did not acknowledge in time."""


class MqttPublisher:
    """Use as a context manager; ``publish`` blocks until the broker's PUBACK (QoS 1)."""

    def __init__(self, *, host: str, port: int, client_id: str, username: str | None = None,
                 password: SecretStr | None = None, timeout_s: float = 10.0,
                 identity: MqttIdentity | None = None) -> None:
        """``identity`` (TLS, client certificate, user and password) wins over ``username``/``password``."""
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self.identity = identity or MqttIdentity(username=username, password=password if username else None)
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=MQTTProtocolVersion.MQTTv311)
        self.published = 0

    def __enter__(self) -> MqttPublisher:
        try:
            apply_identity(self._client, self.identity)
            connect_and_wait(self._client, self.host, self.port, self.identity, timeout_s=self.timeout_s)
        except MqttConnectError as exc:
            raise PublishError(str(exc)) from None
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool) -> None:
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        try:
            info.wait_for_publish(timeout=self.timeout_s)
        except (RuntimeError, ValueError) as exc:
            raise PublishError(f"{topic}: {exc}") from exc
        if not info.is_published():
            raise PublishError(f"{topic}: no PUBACK within {self.timeout_s} s")
        self.published += 1
