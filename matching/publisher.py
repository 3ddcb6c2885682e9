"""Publish a plan: per line, its allocation and its bookings, retained (QoS 1), on
``Topic.line(..., kind=ALLOCATION)`` and ``Topic.line(..., kind=BOOKINGS)``.

The lines to publish for are the plan's capacity input plus every line that already has a retained
bookings message (``booked_lines``): a line the new plan books nothing on gets empty messages, so no
line keeps the bookings of a replaced plan."""

from __future__ import annotations

from typing import Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import BaseModel

from seamline.contracts.messages import MAX_PAYLOAD_BYTES
from seamline.contracts.topic import LINE_ASSET, MessageKind, Topic, TopicError, subscription
from seamline.matching.bookings import PlanMessages
from seamline.matching.capacity import LineKey
from seamline.matching.retained import BrokerUnavailableError, collect_retained, connect_client
from seamline.mqtt_identity import MqttIdentity

# Seconds to wait for the broker to acknowledge each QoS 1 publish before giving up.
PUBLISH_TIMEOUT_S = 10.0
# A cluster has thousands of lines; more retained bookings topics than this is a wildcard gone wrong.
MAX_BOOKED_LINES = 100_000


class PublishError(Exception):
    """The broker was unreachable, refused a message or did not acknowledge it in time."""


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, *, retain: bool) -> None:
        """Publish and return once the broker acknowledged (QoS 1), else raise :class:`PublishError`."""


class MqttPublisher:
    """A short-lived paho client: connect, publish, wait for PUBACKs, disconnect."""

    def __init__(self, broker_url: str, identity: MqttIdentity | None = None) -> None:
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="")
        try:
            connect_client(self._client, broker_url, identity)
        except BrokerUnavailableError as exc:
            raise PublishError(str(exc)) from None

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> None:
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        try:
            info.wait_for_publish(timeout=PUBLISH_TIMEOUT_S)
        except (RuntimeError, ValueError) as exc:
            raise PublishError(f"{topic}: {exc}") from exc
        if not info.is_published():
            raise PublishError(f"broker did not acknowledge {topic} within {PUBLISH_TIMEOUT_S} s")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def booked_lines(broker_url: str, identity: MqttIdentity | None = None) -> set[LineKey]:
    """The lines that have a retained bookings message, taken from the topic alone (an invalid
    payload is replaced all the same)."""
    topic_filter = subscription(asset=LINE_ASSET, kind=MessageKind.BOOKINGS)
    retained, _ = collect_retained(broker_url, topic_filter, max_messages=MAX_BOOKED_LINES, identity=identity)
    out = set()
    for topic in retained:
        try:
            t = Topic.parse(topic)
        except TopicError:
            continue  # not a seamline topic: nothing seamline would read
        out.add(LineKey(enterprise=t.enterprise, site=t.site, line=t.area))
    return out


def _encoded(topic: Topic, msg: BaseModel) -> tuple[str, bytes]:
    payload = msg.model_dump_json().encode()
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PublishError(f"{topic}: {len(payload)} bytes, the broker takes at most {MAX_PAYLOAD_BYTES}")
    return str(topic), payload


def publish_plan(messages: PlanMessages, publisher: Publisher) -> list[str]:
    """Publish every allocation, then every bookings message, retained; returns the topics.
    Allocations go first so that a reader of the bookings never sees minutes whose orders are not
    published yet. Nothing is sent if any message is too large for the broker."""
    out = [_encoded(Topic.line(enterprise=m.enterprise, site=m.site, line=m.line, kind=MessageKind.ALLOCATION), m)
           for m in messages.allocations]
    out += [_encoded(Topic.line(enterprise=m.enterprise, site=m.site, line=m.line, kind=MessageKind.BOOKINGS), m)
            for m in messages.bookings]
    for topic, payload in out:
        publisher.publish(topic, payload, retain=True)
    return [t for t, _ in out]
