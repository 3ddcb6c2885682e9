"""Capacity and allocations as the platform left them: the retained ``CapacityMessage`` (rules
capacity feed) and ``AllocationMessage`` (``seamline match --publish``) of every line, read from
the broker with a bounded read (``seamline.matching.retained``: the burst after SUBACK, ended by
``quiet_s`` of silence, at most ``timeout_s``, at most ``max_messages`` topics).

``fold_platform`` is pure: each payload validated with its contract model, and refused when its
enterprise, site or line differs from its topic (every refusal is one line in ``rejected``).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import SecretStr, ValidationError

from seamline.backoff import Backoff
from seamline.contracts.messages import AllocationMessage, CapacityMessage
from seamline.contracts.topic import LINE_ASSET, MessageKind, Topic, TopicError, subscription
from seamline.matching.retained import BrokerUnavailableError, collect_retained
from seamline.mqtt_identity import MqttIdentity
from seamline.report.inputs import PlatformState

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerSettings:
    """Where the retained topics are and how long a read may take (seconds)."""

    url: str  # mqtt://host:port
    client_id: str = ""
    username: str | None = None
    password: SecretStr | None = None
    identity: MqttIdentity | None = None  # TLS and identity (the rules config's mqtt block); wins over username
    quiet_s: float = 0.5  # the retained burst is over after this long without a new message
    timeout_s: float = 10.0
    max_messages: int = 100_000  # topics per read; one per line
    attempts: int = 3  # a broker that does not answer is tried this often, with backoff between
    backoff_s: float = 1.0
    max_backoff_s: float = 8.0


def _line_of(topic: str) -> tuple[str, str, str] | None:
    try:
        t = Topic.parse(topic)
    except TopicError:
        return None
    return (t.enterprise, t.site, t.area) if t.asset == LINE_ASSET else None


M = TypeVar("M", CapacityMessage, AllocationMessage)


def _validated(model: type[M], retained: Mapping[str, bytes], rejected: list[str]) -> list[M]:
    out: list[M] = []
    for topic, payload in sorted(retained.items()):
        try:
            msg = model.model_validate_json(payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            rejected.append(f"{topic}: {'.'.join(map(str, first['loc']))}: {first['msg']}")
            continue
        if _line_of(topic) != (msg.enterprise, msg.site, msg.line):
            rejected.append(f"{topic}: payload is for {msg.enterprise}/{msg.site}/{msg.line}")
            continue
        out.append(msg)
    return out


def fold_platform(capacity: Mapping[str, bytes], allocations: Mapping[str, bytes], *, source: str,
                  overflow: int = 0) -> PlatformState:
    """The valid capacity and allocation messages of the retained payloads, by topic."""
    rejected: list[str] = []
    cap = _validated(CapacityMessage, capacity, rejected)
    alloc = _validated(AllocationMessage, allocations, rejected)
    return PlatformState(source=source, capacity=tuple(cap), allocations=tuple(alloc), rejected=tuple(rejected),
                         overflow=overflow)


Collect = Callable[..., tuple[dict[str, bytes], int]]


@dataclass(frozen=True, slots=True, kw_only=True)
class RetainedPlatformReader:
    """Reads the retained capacity and allocation topics of one enterprise (or all: ``None``). A
    broker that cannot be reached is retried ``attempts`` times with jittered, capped backoff; then
    the state says so (``problem``) and the report shows it instead of failing."""

    settings: BrokerSettings
    collect: Collect = collect_retained
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def read(self, enterprise: str | None) -> PlatformState:
        s = self.settings
        backoff = Backoff(initial_s=s.backoff_s, max_s=s.max_backoff_s, random=self.rng.random)
        for attempt in range(1, s.attempts + 1):
            try:
                return self._read_once(enterprise)
            except BrokerUnavailableError as exc:
                if attempt == s.attempts:
                    log.warning("report: retained topics not read after %d attempts: %s", attempt, exc)
                    return PlatformState(source=s.url, problem=str(exc))
                delay = backoff.next_delay_s()
                log.warning("report: %s; retrying in %.1f s", exc, delay)
                self.sleep(delay)
        raise AssertionError("unreachable")  # attempts >= 1

    def _read_once(self, enterprise: str | None) -> PlatformState:
        s = self.settings
        got: dict[MessageKind, dict[str, bytes]] = {}
        overflow = 0
        for kind in (MessageKind.CAPACITY, MessageKind.ALLOCATION):
            topic_filter = subscription(enterprise=enterprise or "+", asset=LINE_ASSET, kind=kind)
            got[kind], dropped = self.collect(
                s.url, topic_filter, max_messages=s.max_messages, quiet_s=s.quiet_s, timeout_s=s.timeout_s,
                client_id=f"{s.client_id}-{kind.value}" if s.client_id else "",
                **({"identity": s.identity} if s.identity is not None else
                   {"username": s.username, "password": s.password}))
            overflow += dropped
        return fold_platform(got[MessageKind.CAPACITY], got[MessageKind.ALLOCATION], source=s.url, overflow=overflow)

