"""Batch validated messages, write them durably, quarantine what must be, and only then ack.

The MQTT thread :meth:`Batcher.submit` s one :class:`Work` per message into a bounded queue; one
writer thread (:meth:`Batcher.run`) cuts batches by lines, messages or age, hands them to the write
policy (which retries until every line is written or rejected), stores quarantine entries
(SQLite, committed), and then acknowledges the batch's MQTT messages. An outage of any length
loses nothing: the writer blocks in the policy, the queue fills, acks stop, and the broker stops
sending once its in-flight window (receive maximum / max_inflight_messages) is full.
"""

from __future__ import annotations

import logging
import queue
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ingest.metrics import IngestMetrics
from ingest.quarantine import SOURCE_DB, QuarantineEntry, QuarantineStore
from ingest.validate import Reason

log = logging.getLogger(__name__)

# How long the writer waits on an empty queue before re-checking for shutdown (s).
_POLL_S = 0.1
# Retrying a failed SQLite commit (disk full, locked): jittered, capped backoff (s).
_QUARANTINE_BACKOFF_MIN_S = 0.5
_QUARANTINE_BACKOFF_MAX_S = 30.0


class PointWriter(Protocol):
    def write(self, lines: Sequence[str]) -> None: ...
    def close(self) -> None: ...


class Outcome(Protocol):
    @property
    def written(self) -> int: ...
    @property
    def rejected(self) -> list[tuple[str, str]]: ...
    @property
    def retries(self) -> int: ...


class DurableWrite(Protocol):
    """engineer W's ``WritePolicy``: returns once every line is written or rejected; raises once
    ``stop`` is set while lines are still unwritten."""

    def write_durably(self, writer: PointWriter, lines: Sequence[str], *, stop: threading.Event) -> Outcome: ...


class Acker(Protocol):
    def ack(self, mid: int, qos: int, generation: int) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Work:
    """One received MQTT message (or an internal point set when ``mid`` is None)."""

    lines: Sequence[str]
    topic: str
    mid: int | None = None
    qos: int = 0
    generation: int = 0  # connection the message came on; acks go only to that connection
    quarantine: QuarantineEntry | None = None
    received_s: float = 0.0  # monotonic clock, for in-pipeline latency


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchLimits:
    max_lines: int
    max_messages: int
    max_delay_s: float
    queue_max_messages: int


class Batcher:
    def __init__(
        self,
        *,
        policy: DurableWrite,
        writer: PointWriter,
        quarantine: QuarantineStore,
        acker: Acker,
        metrics: IngestMetrics,
        limits: BatchLimits,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policy = policy
        self._writer = writer
        self._quarantine = quarantine
        self._acker = acker
        self._metrics = metrics
        self._limits = limits
        self._clock = clock
        self._queue: queue.Queue[Work] = queue.Queue(maxsize=limits.queue_max_messages)
        self._in_flight = 0
        self._lock = threading.Lock()
        self.full_waits = 0  # submits that found the queue full and had to wait
        self.acked = 0
        self.unacked_on_abort = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def submit(self, work: Work, *, timeout_s: float | None = None) -> bool:
        """Queue ``work``; block while the queue is full (back-pressure). False after ``timeout_s``."""
        try:
            self._queue.put_nowait(work)
        except queue.Full:
            with self._lock:
                self.full_waits += 1
            try:
                self._queue.put(work, timeout=timeout_s)
            except queue.Full:
                return False
        with self._lock:
            self._in_flight += 1
        return True  # the in_flight gauge is set by the writer thread, once per batch

    def run(self, *, closing: threading.Event, abort: threading.Event) -> None:
        """The writer loop. Returns when ``closing`` is set and everything queued is written and
        acked, or when ``abort`` is set (then the current batch stays un-acked for redelivery)."""
        while True:
            batch = self._collect(closing)
            if batch is None:
                return
            try:
                self._flush(batch, abort)
            except Exception:
                if not abort.is_set():
                    raise
                self.unacked_on_abort += len(batch) + self._queue.qsize()
                log.warning("shutdown deadline: %d message(s) left un-acked for redelivery", self.unacked_on_abort)
                return

    def _collect(self, closing: threading.Event) -> list[Work] | None:
        first = self._first(closing)
        if first is None:
            return None
        batch = [first]
        lines = len(first.lines)
        deadline = self._clock() + self._limits.max_delay_s
        while lines < self._limits.max_lines and len(batch) < self._limits.max_messages:
            remaining = deadline - self._clock()
            try:
                if remaining <= 0 or closing.is_set():
                    work = self._queue.get_nowait()
                else:
                    work = self._queue.get(timeout=min(remaining, _POLL_S))
            except queue.Empty:
                if remaining <= 0 or closing.is_set():
                    break
                continue
            batch.append(work)
            lines += len(work.lines)
        self._metrics.queue_depth.set(self._queue.qsize())
        self._metrics.in_flight.set(self._in_flight)
        return batch

    def _first(self, closing: threading.Event) -> Work | None:
        while True:
            try:
                return self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                if closing.is_set() and self._queue.empty():
                    return None

    def _flush(self, batch: list[Work], abort: threading.Event) -> None:
        lines = [line for w in batch for line in w.lines]
        started = self._clock()
        rejected: list[tuple[str, str]] = []
        if lines:
            outcome = self._policy.write_durably(self._writer, lines, stop=abort)
            rejected = list(outcome.rejected)
            self._metrics.points_written.inc(outcome.written)
            self._metrics.retries.inc(outcome.retries)
        entries = [w.quarantine for w in batch if w.quarantine is not None]
        entries += _db_rejections(batch, rejected)
        self._store_quarantine(entries, abort)
        self._ack(batch)
        self._metrics.batches.inc()
        self._metrics.batch_latency.observe(self._clock() - started)

    def _store_quarantine(self, entries: list[QuarantineEntry], abort: threading.Event) -> None:
        if not entries:
            return
        delay = _QUARANTINE_BACKOFF_MIN_S
        while True:
            try:
                evicted = self._quarantine.add(entries)
                break
            except sqlite3.Error as exc:
                log.error("quarantine store failed (%s); retrying in %.1f s", exc, delay)
                if abort.wait(delay * random.uniform(0.5, 1.5)):
                    raise
                delay = min(delay * 2, _QUARANTINE_BACKOFF_MAX_S)
        for e in entries:
            self._metrics.quarantined.labels(reason=e.reason).inc()
        if evicted:
            self._metrics.quarantine_evicted.inc(evicted)
            log.warning("quarantine full: evicted the %d oldest entries", evicted)

    def _ack(self, batch: list[Work]) -> None:
        acked = 0
        for w in batch:
            if w.mid is not None:
                self._acker.ack(w.mid, w.qos, w.generation)
                acked += 1
        with self._lock:
            self._in_flight -= len(batch)
            self.acked += acked
        self._metrics.messages_acked.inc(acked)
        self._metrics.in_flight.set(self._in_flight)


def _db_rejections(batch: list[Work], rejected: list[tuple[str, str]]) -> list[QuarantineEntry]:
    """Quarantine entries for lines InfluxDB refused, with the topic of the message that carried them."""
    if not rejected:
        return []
    topic_of: dict[str, Work] = {}
    for w in batch:
        for line in w.lines:
            topic_of.setdefault(line, w)
    now_ms = int(time.time() * 1000)
    out = []
    for line, reason in rejected:
        carrier = topic_of.get(line)
        out.append(
            QuarantineEntry(
                received_ms=now_ms,
                source=SOURCE_DB,
                topic=carrier.topic if carrier else "",
                reason=Reason.DB_REJECTED.value,
                detail=reason[:500],
                payload=line.encode(),
            )
        )
    return out
