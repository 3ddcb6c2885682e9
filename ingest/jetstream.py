"""The clustered-broker source: a NATS JetStream durable pull consumer (nats-py), beside
:class:`seamline.ingest.subscriber.MqttSubscriber` and with the same interface for the service.

* Gateways publish MQTT 3.1.1 to any node of a NATS cluster; NATS maps the topic
  ``seamline/v1/e/s/a/x/data`` to the subject ``seamline.v1.e.s.a.x.data`` and a replicated stream
  (``replicas``, default 3) captures ``seamline.v1.>``. :func:`subject_topic` maps back.
* Every worker fetches from the same durable consumer, so workers compete for messages (each
  message goes to one of them) and a worker that stops or loses its node leaves nothing stranded:
  what it had not acked is redelivered to any worker after ``ack_wait_s``.
* Explicit acks, sent only when the batcher hands over a written batch (:meth:`ack_batch`, the
  same ack-after-durable-write path as MQTT). An ack lost with a node means a redelivery, i.e. the
  same point written twice, which InfluxDB collapses (same series and timestamp).

Threads: one asyncio loop thread owns the NATS connection; fetched messages are handed to the
service's ``on_message`` on a second thread (it may block on the full queue: back-pressure) so the
loop keeps sending acks and pings meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import nats
from nats.errors import ConnectionClosedError, NoServersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from seamline.errors import InputError
from seamline.ingest.config import JetStreamConfig

log = logging.getLogger(__name__)

OnMessage = Callable[[str, bytes, int, int, int], None]  # topic, payload, mid, qos, generation
AckRef = tuple[int, int, int]  # mid, qos, generation of one received message

_STOP_TIMEOUT_S = 5.0


def subject_topic(subject: str) -> str:
    """The MQTT topic a NATS subject came from: NATS maps ``/`` to ``.`` and an MQTT ``.`` to
    ``//`` (so ``line.07`` arrives as ``line//07``)."""
    return subject.replace("//", "\0").replace(".", "/").replace("\0", ".")


def consumer_config(c: JetStreamConfig) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=c.durable, ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
        ack_wait=c.ack_wait_s, max_ack_pending=c.max_ack_pending, max_deliver=-1,
    )


def stream_config(c: JetStreamConfig) -> StreamConfig:
    return StreamConfig(name=c.stream, subjects=[c.subject], num_replicas=c.replicas,
                        storage=StorageType.FILE, max_age=c.max_age_s)


class JetStreamSource:
    """``start()``, ``ack_batch(refs)``, ``stop()``: what :class:`seamline.ingest.service.IngestService` needs."""

    def __init__(self, config: JetStreamConfig, on_message: OnMessage, *, name: str = "seamline-ingest") -> None:
        self._config = config
        try:  # TLS, user/password or credentials: never logged
            self._identity = config.connect_options()
        except ValueError as exc:  # a TLS or credentials file missing or unusable: the config's to fix
            raise InputError(f"jetstream: {exc}") from None
        self._on_message = on_message
        self._name = name
        self.connected = threading.Event()
        self.connects = 0
        self.stale_acks = 0  # acks of messages no longer pending (redelivered meanwhile): none expected
        self.received = 0
        self._pending: dict[int, Any] = {}  # mid -> nats Msg, loop thread only
        self._next_mid = 0
        self._acking: set[asyncio.Future[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._handoff = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jetstream-handoff")

    def start(self) -> None:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="jetstream", daemon=True)
        self._thread.start()
        self._ready.wait(10.0)

    def ack_batch(self, acks: Sequence[AckRef]) -> None:
        """Ack written messages (thread-safe): handed to the loop thread, which sends the acks."""
        loop = self._loop
        if acks and loop is not None and not loop.is_closed():
            mids = [mid for mid, _qos, _gen in acks]
            with contextlib.suppress(RuntimeError):  # loop closed meanwhile: not acked, redelivered
                loop.call_soon_threadsafe(self._send_acks, mids)

    def ack(self, mid: int, qos: int, generation: int) -> None:
        self.ack_batch([(mid, qos, generation)])

    def leave(self, timeout_s: float) -> bool:
        """Nothing to leave: workers pull from one durable consumer, a stopped one holds no share
        (what it fetched and did not ack is redelivered to any worker after ``ack_wait_s``)."""
        return False

    def stop(self) -> None:
        """Send the acks handed over so far, close the connection (the consumer stays)."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(_STOP_TIMEOUT_S + 5.0)
        self._handoff.shutdown(wait=False, cancel_futures=True)

    # -- the loop thread ----------------------------------------------------------------------------

    def _send_acks(self, mids: list[int]) -> None:
        for mid in mids:
            msg = self._pending.pop(mid, None)
            if msg is None:
                self.stale_acks += 1
                continue
            task = asyncio.ensure_future(msg.ack())  # a publish to the reply subject; buffered while reconnecting
            self._acking.add(task)
            task.add_done_callback(self._acking.discard)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._ready.set()
        nc = await self._connect()
        if nc is None:
            return
        try:
            await self._consume(nc)
        finally:
            try:
                await asyncio.wait_for(nc.drain(), _STOP_TIMEOUT_S)
            except Exception as exc:  # closing anyway
                log.warning("JetStream: closing the connection: %s", exc)

    async def _connect(self) -> Any:
        c = self._config
        stopping = self._stopping
        assert stopping is not None
        while not stopping.is_set():
            try:
                nc = await nats.connect(
                    servers=list(c.servers), name=self._name, allow_reconnect=True, max_reconnect_attempts=-1,
                    reconnect_time_wait=c.reconnect_wait_s, connect_timeout=2,
                    disconnected_cb=self._disconnected, reconnected_cb=self._reconnected, error_cb=self._error,
                    **self._identity,
                )
            except (TimeoutError, NoServersError, OSError, NatsTimeout) as exc:
                log.warning("JetStream: no server of %s reachable (%s); retrying", ", ".join(c.servers), exc)
                await asyncio.sleep(c.reconnect_wait_s)
                continue
            self.connects += 1
            self.connected.set()
            log.info("JetStream: connected to %s", nc.connected_url.netloc if nc.connected_url else "?")
            return nc
        return None

    async def _consume(self, nc: Any) -> None:
        c = self._config
        stopping = self._stopping
        assert stopping is not None
        js = nc.jetstream()
        sub = None
        while not stopping.is_set():
            try:
                if sub is None:
                    if c.create_stream:
                        await self._ensure_stream(js)
                    sub = await js.pull_subscribe(c.subject, durable=c.durable, stream=c.stream,
                                                  config=consumer_config(c))
                    log.info("JetStream: subscribed to %s as durable %s", c.stream, c.durable)
                msgs = await sub.fetch(c.fetch_batch, timeout=1.0)
            except NatsTimeout:
                continue
            except ConnectionClosedError:
                return
            except Exception as exc:  # node lost, leader election, stream not there yet: retry
                log.warning("JetStream: fetch from %s/%s failed (%s: %s); retrying", c.stream, c.durable,
                            type(exc).__name__, exc)
                await asyncio.sleep(c.reconnect_wait_s)
                continue
            await self._deliver(msgs)

    async def _ensure_stream(self, js: Any) -> None:
        c = self._config
        try:
            await js.stream_info(c.stream)
        except NotFoundError:
            await js.add_stream(stream_config(c))
            log.info("JetStream: created stream %s (%s, %d replicas)", c.stream, c.subject, c.replicas)

    async def _deliver(self, msgs: list[Any]) -> None:
        batch = []
        for msg in msgs:
            self._next_mid += 1
            self._pending[self._next_mid] = msg
            batch.append((subject_topic(msg.subject), bytes(msg.data), self._next_mid))
        self.received += len(batch)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._handoff, self._hand_over, batch)

    def _hand_over(self, batch: list[tuple[str, bytes, int]]) -> None:
        for topic, payload, mid in batch:
            self._on_message(topic, payload, mid, 1, 0)

    async def _disconnected(self) -> None:
        self.connected.clear()
        log.warning("JetStream: disconnected; reconnecting to another node")

    async def _reconnected(self) -> None:
        self.connects += 1
        self.connected.set()
        log.info("JetStream: reconnected")

    async def _error(self, exc: Exception) -> None:
        log.warning("JetStream: %s: %s", type(exc).__name__, exc)
