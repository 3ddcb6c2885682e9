"""Where capacity comes from: a JSON file, an HTTP endpoint, or retained MQTT messages; and the
same for the figures matching reads beside it: the rules carbon feed's ``CarbonMessage`` per line
(green share, kg CO2e per piece) and ``seamline grade``'s ``GradeMessage`` per enterprise.

Each returns validated messages; invalid ones are counted and described, never silently used.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

from seamline.configfile import read_document
from seamline.contracts.carbon import CarbonMessage
from seamline.contracts.grades import GradeMessage
from seamline.contracts.messages import CapacityMessage
from seamline.contracts.topic import ENTERPRISE_LEVEL, LINE_ASSET, MessageKind, Topic, TopicError, subscription
from seamline.matching.errors import CapacityInputError
from seamline.matching.retained import DEFAULT_QUIET_S, DEFAULT_TIMEOUT_S, BrokerUnavailableError, collect_retained
from seamline.mqtt_identity import MqttIdentity
from seamline.secret_source import redact_url

# A cluster has thousands of lines; more retained capacity topics than this is a misconfigured
# broker or a wildcard gone wrong, and collecting stops there.
MAX_CAPACITY_MESSAGES = 100_000
# HTTP capacity documents are a few MB at most (100 000 lines × ~1 kB would be 100 MB: refuse).
MAX_HTTP_BYTES = 64 * 1024 * 1024


@dataclass(slots=True)
class Feed:
    messages: list[CapacityMessage] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def parse_capacity_json(data: Any, *, source: str) -> Feed:
    """A list of CapacityMessage objects (or ``{"capacity": [...]}``)."""
    if isinstance(data, dict) and "capacity" in data:
        data = data["capacity"]
    if not isinstance(data, list):
        raise CapacityInputError(f"capacity {source}: expected a list of capacity messages")
    feed = Feed()
    for n, raw in enumerate(data, start=1):
        try:
            feed.messages.append(CapacityMessage.model_validate(raw))
        except ValidationError as exc:
            first = exc.errors()[0]
            feed.rejected.append(f"{source}[{n}]: {'.'.join(map(str, first['loc']))}: {first['msg']}")
    return feed


def from_file(path: Path) -> Feed:
    data = read_document(path, label="capacity", error=CapacityInputError, yaml_ok=False,
                         hint="; expected a JSON list of capacity messages")
    return parse_capacity_json(data, source=str(path))


def from_http(url: str, *, timeout_s: float = 10.0, token: SecretStr | None = None,
              context: ssl.SSLContext | None = None) -> Feed:
    """GET the capacity list at ``url``, with ``Authorization: Bearer <token>`` when given; HTTPS
    verified against ``context`` (default: the system store). A refusal is one line, no secret."""
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token is not None else {}
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout_s, context=context) as resp:
            body = resp.read(MAX_HTTP_BYTES + 1)
    except urllib.error.HTTPError as exc:
        hint = " (give --capacity-token-file or --capacity-token-env)" if exc.code == 401 else ""
        raise BrokerUnavailableError(f"capacity {redact_url(url)}: HTTP {exc.code} {exc.reason}{hint}") from None
    except (urllib.error.URLError, OSError) as exc:
        why = getattr(exc, "reason", exc)
        raise BrokerUnavailableError(f"capacity {redact_url(url)}: cannot reach it: {why}") from None
    if len(body) > MAX_HTTP_BYTES:
        raise CapacityInputError(f"capacity {redact_url(url)}: response larger than {MAX_HTTP_BYTES} bytes")
    try:
        data = json.loads(body)
    except ValueError as exc:  # not JSON (an error page, a proxy's login form), or not UTF-8 at all
        raise CapacityInputError(f"capacity {redact_url(url)}: not valid JSON: {str(exc)[:100]}") from None
    return parse_capacity_json(data, source=redact_url(url))


def from_mqtt(
    broker_url: str,
    *,
    enterprise: str = "+",
    quiet_s: float = DEFAULT_QUIET_S,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    identity: MqttIdentity | None = None,
) -> Feed:
    """The retained capacity messages on the broker (``matching.retained``), validated; a payload
    whose enterprise, site or line differs from its topic is rejected."""
    topic_filter = subscription(enterprise=enterprise, asset=LINE_ASSET, kind=MessageKind.CAPACITY)
    retained, dropped = collect_retained(broker_url, topic_filter, max_messages=MAX_CAPACITY_MESSAGES,
                                         quiet_s=quiet_s, timeout_s=timeout_s, identity=identity)
    feed = Feed()
    for topic, payload in sorted(retained.items()):
        try:
            msg = CapacityMessage.model_validate_json(payload)
            Topic.parse(topic)
        except (TopicError, ValidationError) as exc:
            feed.rejected.append(f"{topic}: {str(exc).splitlines()[0]}")
            continue
        expected = str(Topic.line(enterprise=msg.enterprise, site=msg.site, line=msg.line, kind=MessageKind.CAPACITY))
        if topic != expected:
            feed.rejected.append(f"{topic}: payload is for {expected}")
            continue
        feed.messages.append(msg)
    if dropped:
        feed.rejected.append(f"{topic_filter}: {dropped} messages beyond {MAX_CAPACITY_MESSAGES} topics ignored")
    return feed


M = TypeVar("M", bound=BaseModel)


@dataclass(slots=True)
class Side:
    """Carbon or grade messages beside the capacity, and the rejected ones described."""

    messages: list[Any] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def _validated(items: list[tuple[str, Any]], model: type[M]) -> Side:
    side = Side()
    for where, raw in items:
        try:
            msg = model.model_validate_json(raw) if isinstance(raw, bytes) else model.model_validate(raw)
            side.messages.append(msg)
        except ValidationError as exc:
            first = exc.errors()[0]
            side.rejected.append(f"{where}: {'.'.join(map(str, first['loc']))}: {first['msg']}")
    return side


def side_from_file(path: Path, model: type[M], *, key: str) -> Side:
    """A JSON list of ``model`` messages (or ``{key: [...]}``): carbon or grade messages."""
    data = read_document(path, label=key, error=CapacityInputError, yaml_ok=False)
    if isinstance(data, dict) and key in data:
        data = data[key]
    if not isinstance(data, list):
        raise CapacityInputError(f"{key} {path}: expected a list of messages")
    return _validated([(f"{path}[{n}]", raw) for n, raw in enumerate(data, start=1)], model)


def carbon_from_mqtt(broker_url: str, *, quiet_s: float = DEFAULT_QUIET_S, timeout_s: float = DEFAULT_TIMEOUT_S,
                     identity: MqttIdentity | None = None) -> Side:
    """The rules carbon feed's retained messages (one per line)."""
    topic_filter = subscription(asset=LINE_ASSET, kind=MessageKind.CARBON)
    retained, _ = collect_retained(broker_url, topic_filter, max_messages=MAX_CAPACITY_MESSAGES,
                                   quiet_s=quiet_s, timeout_s=timeout_s, identity=identity)
    return _validated(sorted(retained.items()), CarbonMessage)


def grades_from_mqtt(broker_url: str, *, quiet_s: float = DEFAULT_QUIET_S, timeout_s: float = DEFAULT_TIMEOUT_S,
                     identity: MqttIdentity | None = None) -> Side:
    """``seamline grade``'s retained messages (one per enterprise)."""
    topic_filter = subscription(site=ENTERPRISE_LEVEL, area=ENTERPRISE_LEVEL, asset=ENTERPRISE_LEVEL,
                                kind=MessageKind.GRADE)
    retained, _ = collect_retained(broker_url, topic_filter, max_messages=MAX_CAPACITY_MESSAGES,
                                   quiet_s=quiet_s, timeout_s=timeout_s, identity=identity)
    return _validated(sorted(retained.items()), GradeMessage)
