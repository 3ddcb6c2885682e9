"""Subscriber to the gateway's LOCAL broker, where the sewing nodes publish their raw samples.

A persistent session (fixed client id, ``clean_session=False``) with QoS 1 and MANUAL acks: a
message is acknowledged only after the agent committed what it derived from it to the spool, so
samples published while the agent was dead (or before its last commit) are delivered again on
restart. Message ids are per connection: an ack for a message received on an earlier
connection is not sent (the broker redelivers that message anyway).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from seamline.connect_log import ConnectFailureLog

log = logging.getLogger(__name__)

# Un-acked messages we hold in memory. The broker's own in-flight window (max_inflight_messages)
# is the real bound; this one only stops the network thread when processing falls behind.
QUEUE_MAX = 5000
# Reconnect to the local broker (same box): quick first retry, capped so a restart of
# Mosquitto is noticed within half a minute. paho adds no jitter; one client per box needs none.
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 30


@dataclass(frozen=True, slots=True)
class Inbound:
    """One local message, with what is needed to acknowledge it later."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int  # connection number it arrived on


class InboundSource(Protocol):
    """What the agent needs from the local side (the real one below, a fake in tests)."""

    def get_batch(self, *, max_messages: int, timeout_s: float) -> list[Inbound]: ...

    def ack(self, messages: Sequence[Inbound]) -> None: ...


@dataclass(slots=True)
class LocalStats:
    received: int = 0
    acked: int = 0
    ack_skipped_stale: int = 0  # received on an older connection; the broker redelivers them
    connects: int = 0


class LocalSubscriber:
    """paho 2.x client on its own network thread; :meth:`get_batch` is called from the agent thread."""

    def __init__(
        self, *, host: str, port: int, client_id: str, subscription: str, keepalive_s: int = 30
    ) -> None:
        self.host, self.port, self.subscription, self.keepalive_s = host, port, subscription, keepalive_s
        self.stats = LocalStats()
        self._queue: queue.Queue[Inbound] = queue.Queue(maxsize=QUEUE_MAX)
        self._generation = 0
        self._stopping = threading.Event()
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        self._client.reconnect_delay_set(min_delay=RECONNECT_MIN_S, max_delay=RECONNECT_MAX_S)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self.connect_log = ConnectFailureLog(log, f"local broker {host}:{port}", retry_min_s=RECONNECT_MIN_S,
                                             retry_max_s=RECONNECT_MAX_S)
        self._client.on_connect_fail = self.connect_log.paho_hook()

    @property
    def connected(self) -> bool:
        return bool(self._client.is_connected())

    def start(self) -> None:
        self._client.connect_async(self.host, self.port, keepalive=self.keepalive_s)
        self._client.loop_start()

    def stop(self) -> None:
        self._stopping.set()
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _ud: Any, flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            self.connect_log.failed(f"refused: {reason}")
            return
        self._generation += 1
        self.connect_log.connected()
        self.stats.connects += 1
        client.subscribe(self.subscription, qos=1)
        log.info(
            "connected to local broker %s:%s (session present: %s)",
            self.host, self.port, getattr(flags, "session_present", None),
        )

    def _on_message(self, _client: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        item = Inbound(msg.topic, bytes(msg.payload), msg.mid, msg.qos, self._generation)
        self.stats.received += 1
        # Blocking here pauses reading from the socket: back-pressure to the broker, whose
        # in-flight window then holds the rest. Bounded wait so stop() is never stuck.
        while not self._stopping.is_set():
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def get_batch(self, *, max_messages: int, timeout_s: float) -> list[Inbound]:
        """Up to ``max_messages`` messages: waits up to ``timeout_s`` for the first, not for more."""
        try:
            first = self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return []
        batch = [first]
        while len(batch) < max_messages:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def ack(self, messages: Sequence[Inbound]) -> None:
        """Acknowledge ``messages`` (QoS 1) that arrived on the current connection."""
        for m in messages:
            if m.qos == 0:
                continue
            if m.generation != self._generation:
                self.stats.ack_skipped_stale += 1
                continue
            self._client.ack(m.mid, m.qos)
            self.stats.acked += 1
