"""Publish allocation messages (retained, QoS 1) on ``Topic.line(..., kind=ALLOCATION)``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from seamline.contracts.topic import MessageKind, Topic
from seamline.errors import UsageError
from seamline.matching.models import AllocationMessage

# Seconds to wait for the broker to acknowledge each QoS 1 publish before giving up.
PUBLISH_TIMEOUT_S = 10.0


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, *, retain: bool) -> None: ...


class MqttPublisher:
    """A short-lived paho client: connect, publish, wait for PUBACKs, disconnect."""

    def __init__(self, broker_url: str) -> None:
        parsed = urlparse(broker_url)
        if parsed.scheme not in ("mqtt", "tcp") or not parsed.hostname:
            raise UsageError(f"--broker {broker_url!r}: expected mqtt://host:port")
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="")
        self._client.connect(parsed.hostname, parsed.port or 1883, keepalive=30)
        self._client.loop_start()

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> None:
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(timeout=PUBLISH_TIMEOUT_S)
        if not info.is_published():
            raise RuntimeError(f"broker did not acknowledge {topic} within {PUBLISH_TIMEOUT_S} s")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def publish_plan(messages: Sequence[AllocationMessage], publisher: Publisher) -> list[str]:
    """Publish each message retained on its line's allocation topic; returns the topics."""
    topics = []
    for m in messages:
        topic = str(Topic.line(enterprise=m.enterprise, site=m.site, line=m.line, kind=MessageKind.ALLOCATION))
        publisher.publish(topic, m.model_dump_json().encode(), retain=True)
        topics.append(topic)
    return topics
