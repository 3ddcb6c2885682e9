"""Where capacity comes from: a JSON file, an HTTP endpoint, or retained MQTT messages.

Each returns validated ``CapacityMessage`` objects; invalid ones are counted and described,
never silently used.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import ValidationError

from seamline.contracts.messages import CapacityMessage
from seamline.contracts.topic import MessageKind, Topic, TopicError, subscription
from seamline.errors import UsageError

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
        raise UsageError(f"capacity {source}: expected a list of capacity messages")
    feed = Feed()
    for n, raw in enumerate(data, start=1):
        try:
            feed.messages.append(CapacityMessage.model_validate(raw))
        except ValidationError as exc:
            first = exc.errors()[0]
            feed.rejected.append(f"{source}[{n}]: {'.'.join(map(str, first['loc']))}: {first['msg']}")
    return feed


def from_file(path: Path) -> Feed:
    try:
        return parse_capacity_json(json.loads(path.read_text(encoding="utf-8")), source=str(path))
    except OSError as exc:
        raise UsageError(f"capacity {path}: cannot read: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise UsageError(f"capacity {path}: not valid JSON: {exc}") from exc


def from_http(url: str, *, timeout_s: float = 10.0) -> Feed:
    with urllib.request.urlopen(url, timeout=timeout_s) as resp:
        body = resp.read(MAX_HTTP_BYTES + 1)
    if len(body) > MAX_HTTP_BYTES:
        raise UsageError(f"capacity {url}: response larger than {MAX_HTTP_BYTES} bytes")
    return parse_capacity_json(json.loads(body), source=url)


def from_mqtt(
    broker_url: str,
    *,
    enterprise: str = "+",
    quiet_s: float = 0.5,
    timeout_s: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
) -> Feed:
    """Collect retained capacity messages: subscribe, and stop once no new message arrived for
    ``quiet_s`` (retained messages come in a burst right after SUBACK) or after ``timeout_s``."""
    parsed = urlparse(broker_url)
    if parsed.scheme not in ("mqtt", "tcp") or not parsed.hostname:
        raise UsageError(f"--broker {broker_url!r}: expected mqtt://host:port")
    feed = Feed()
    lock = threading.Lock()
    last = [clock()]
    subscribed = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with lock:
            last[0] = clock()
            if len(feed.messages) + len(feed.rejected) >= MAX_CAPACITY_MESSAGES:
                return
            try:
                Topic.parse(msg.topic)
                feed.messages.append(CapacityMessage.model_validate_json(msg.payload))
            except (TopicError, ValidationError) as exc:
                feed.rejected.append(f"{msg.topic}: {str(exc).splitlines()[0]}")

    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="")
    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    client.connect(parsed.hostname, parsed.port or 1883, keepalive=30)
    client.loop_start()
    try:
        client.subscribe(subscription(enterprise=enterprise, kind=MessageKind.CAPACITY), qos=1)
        start = clock()
        subscribed.wait(timeout=timeout_s)
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
    return feed
