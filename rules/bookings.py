"""Booked standard minutes as the capacity feed sees them: the retained ``BookingsMessage`` of
every line on ``seamline/v1/<enterprise>/<site>/<line>/_line/bookings``, which
``seamline match --publish`` keeps there (one per line, replaced by each new plan, empty when the
plan books nothing on the line). Read from the broker before every capacity publication.

``fold_bookings`` is pure (validation and sums); ``MqttBookingsReader`` is the broker I/O.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from pydantic import SecretStr, ValidationError

from seamline.contracts.messages import BookingsMessage
from seamline.contracts.topic import LINE_ASSET, MessageKind, Topic, TopicError, subscription
from seamline.mqtt_connect import MqttConnectError, apply_identity, connect_and_wait
from seamline.mqtt_identity import MqttIdentity
from seamline.rules.capacity import BookedKey

log = logging.getLogger(__name__)

BOOKINGS_FILTER = subscription(asset=LINE_ASSET, kind=MessageKind.BOOKINGS)
LineId = tuple[str, str, str]  # (enterprise, site, line)


class BookingsUnavailableError(Exception):
    """The broker could not be reached, or did not acknowledge the subscription in time."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Bookings:
    """What the retained bookings say, and what was wrong with them (all counted)."""

    source: str  # where they were read, for log lines (e.g. mqtt://host:port)
    booked: Mapping[BookedKey, float] = field(default_factory=dict)  # standard minutes
    messages: int = 0  # valid bookings messages read (one per line, empty ones included)
    rejected: tuple[str, ...] = ()  # one line per invalid message: topic and first error
    invalid_lines: frozenset[LineId] = frozenset()  # lines whose bookings are unknown
    plans: frozenset[str] = frozenset()  # plan ids seen; more than one = a publication cut short
    overflow: int = 0  # messages beyond the reader's bound, ignored

    @property
    def lines_booked(self) -> int:
        return len({(e, s, ln) for e, s, ln, _ in self.booked})


def _line_of(topic: str) -> LineId | None:
    try:
        t = Topic.parse(topic)
    except TopicError:
        return None
    return (t.enterprise, t.site, t.area) if t.asset == LINE_ASSET else None


def fold_bookings(retained: Mapping[str, bytes], *, source: str, overflow: int = 0) -> Bookings:
    """Validate each retained payload with the contract model and sum the booked standard minutes
    per (enterprise, site, line, day). A payload that does not validate, or whose enterprise, site
    or line differs from its topic, is rejected; its line is reported in ``invalid_lines``."""
    booked: dict[BookedKey, float] = {}
    rejected: list[str] = []
    invalid: set[LineId] = set()
    plans: set[str] = set()
    messages = 0
    for topic, payload in sorted(retained.items()):
        line = _line_of(topic)
        try:
            msg = BookingsMessage.model_validate_json(payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            rejected.append(f"{topic}: {'.'.join(map(str, first['loc']))}: {first['msg']}")
            if line is not None:
                invalid.add(line)
            continue
        if line != (msg.enterprise, msg.site, msg.line):
            rejected.append(f"{topic}: payload is for {msg.enterprise}/{msg.site}/{msg.line}")
            if line is not None:
                invalid.add(line)
            continue
        messages += 1
        plans.add(msg.plan_id)
        for d in msg.days:
            key = (msg.enterprise, msg.site, msg.line, d.day)
            booked[key] = booked.get(key, 0.0) + d.std_min
    return Bookings(source=source, booked=booked, messages=messages, rejected=tuple(rejected),
                    invalid_lines=frozenset(invalid), plans=frozenset(plans), overflow=overflow)


class BookingsSource(Protocol):
    def read(self) -> Bookings:
        """The bookings now retained; raise :class:`BookingsUnavailableError` if they cannot be read."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttBookingsReader:
    """Subscribe to ``BOOKINGS_FILTER``, collect the burst of retained messages the broker sends
    after SUBACK until none arrived for ``quiet_s`` (MQTT has no end-of-retained marker) or
    ``timeout_s`` passed, disconnect, fold."""

    host: str
    port: int
    client_id: str
    username: str | None = None
    password: SecretStr | None = None
    identity: MqttIdentity | None = None  # TLS and identity; wins over username/password
    quiet_s: float = 0.5
    timeout_s: float = 10.0
    max_messages: int = 100_000
    clock: Callable[[], float] = time.monotonic

    def read(self) -> Bookings:
        got: dict[str, bytes] = {}
        overflow = [0]
        lock = threading.Lock()
        last = [self.clock()]
        subscribed = threading.Event()

        def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
            with lock:
                last[0] = self.clock()
                if not msg.payload:  # cleared while we read
                    got.pop(msg.topic, None)
                elif msg.topic in got or len(got) < self.max_messages:
                    got[msg.topic] = bytes(msg.payload)
                else:
                    overflow[0] += 1

        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             protocol=MQTTProtocolVersion.MQTTv311)
        client.on_message = on_message
        client.on_subscribe = lambda *_a: subscribed.set()
        identity = self.identity or MqttIdentity(username=self.username,
                                                 password=self.password if self.username else None)
        try:
            apply_identity(client, identity)
            connect_and_wait(client, self.host, self.port, identity, timeout_s=self.timeout_s)
        except MqttConnectError as exc:
            raise BookingsUnavailableError(str(exc)) from None
        try:
            client.subscribe(BOOKINGS_FILTER, qos=1)
            start = self.clock()
            if not subscribed.wait(timeout=self.timeout_s):
                raise BookingsUnavailableError(f"mqtt://{self.host}:{self.port}: no SUBACK for {BOOKINGS_FILTER} "
                                               f"within {self.timeout_s} s")
            with lock:
                last[0] = self.clock()
            while self.clock() - start < self.timeout_s:
                with lock:
                    if self.clock() - last[0] >= self.quiet_s:
                        break
                time.sleep(0.05)
        finally:
            client.disconnect()
            client.loop_stop()
        with lock:
            scheme = "mqtts" if identity.uses_tls else "mqtt"
            return fold_bookings(dict(got), source=f"{scheme}://{self.host}:{self.port}", overflow=overflow[0])


def log_bookings(b: Bookings) -> None:
    """One line of what was read; a warning each for nothing read, rejects, overflow, mixed plans."""
    if b.messages == 0 and not b.rejected:
        log.warning("no retained bookings under %s on %s: capacity is not lowered by any booking",
                    BOOKINGS_FILTER, b.source)
        return
    log.info("bookings: %d messages from %s (%d lines booked, plans %s)", b.messages, b.source, b.lines_booked,
             ",".join(sorted(b.plans)) or "-")
    for line in b.rejected:
        log.warning("bookings rejected: %s", line)
    if b.overflow:
        log.warning("bookings: %d messages beyond the bound ignored", b.overflow)
    if len(b.plans) > 1:
        log.warning("bookings come from %d plans (a plan's publication was cut short?): %s", len(b.plans),
                    ",".join(sorted(b.plans)))
