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
import random
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from seamline.backoff import Backoff
from seamline.ingest.metrics import IngestMetrics
from seamline.ingest.quarantine import SOURCE_DB, QuarantineEntry, QuarantineStore
from seamline.ingest.rejected_retry import RejectedRetrier
from seamline.ingest.validate import Reason
from seamline.storage.write_policy import PointWriter

log = logging.getLogger(__name__)

# How long the writer waits on an empty queue before re-checking for shutdown (s).
_POLL_S = 0.1
# Retrying a failed SQLite commit (disk full, locked): jittered, capped backoff (s).
_QUARANTINE_BACKOFF_MIN_S = 0.5
_QUARANTINE_BACKOFF_MAX_S = 30.0


class Outcome(Protocol):
    @property
    def written(self) -> int: ...
    @property
    def rejected(self) -> list[tuple[str, str]]: ...
    @property
    def retries(self) -> int: ...


class DurableWrite(Protocol):
    """``seamline.storage.write_policy.WritePolicy``: returns once every line is written or rejected; raises once
    ``stop`` is set while lines are still unwritten."""

    def write_durably(self, writer: PointWriter, lines: Sequence[str], *, stop: threading.Event) -> Outcome: ...


AckRef = tuple[int, int, int]  # mid, qos, generation of one received message


class Acker(Protocol):
    def ack_batch(self, acks: Sequence[AckRef]) -> None:
        """Acknowledge a written batch's messages in one hand-over (thread-safe)."""
        ...


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
    newest_ts_ms: int | None = None  # newest device timestamp of its lines (UTC ms), for the consumer lag


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchLimits:
    max_lines: int
    max_messages: int
    max_delay_s: float
    queue_max_messages: int


class Inbox:
    """The bounded FIFO between the MQTT thread and the writer thread.

    Unlike ``queue.Queue`` (one writer wake-up per message, each a GIL hand-over and a futex call),
    the writer is woken only when it has something to do: the first message after it found the
    inbox empty, and a full batch (``max_messages`` or ``max_lines``). Everything else it collects
    when its ``max_delay_s`` timer runs out. ``take`` removes a whole batch under one lock."""

    def __init__(self, limits: BatchLimits) -> None:
        self._limits = limits
        self._items: deque[Work] = deque()
        self._lines = 0  # lines held in _items
        lock = threading.Lock()
        self._has_work = threading.Condition(lock)
        self._has_room = threading.Condition(lock)
        self.in_flight = 0  # put and not yet released by done()
        self.full_waits = 0  # puts that found the inbox full and had to wait

    def __len__(self) -> int:
        return len(self._items)

    def put(self, work: Work, *, timeout_s: float | None = None) -> bool:
        """Append ``work``; block while the inbox is full (back-pressure). False after ``timeout_s``."""
        with self._has_work:
            items = self._items
            if len(items) >= self._limits.queue_max_messages:
                self.full_waits += 1
                if not self._has_room.wait_for(lambda: len(items) < self._limits.queue_max_messages, timeout_s):
                    return False
            items.append(work)
            self._lines += len(work.lines)
            self.in_flight += 1
            if len(items) == 1 or len(items) >= self._limits.max_messages or self._lines >= self._limits.max_lines:
                self._has_work.notify()
        return True

    def take(self, closing: threading.Event, clock: Callable[[], float]) -> list[Work] | None:
        """The next batch: waits for a first message (None once ``closing`` is set and the inbox is
        empty), then until the batch is full or ``max_delay_s`` after that first message."""
        limits = self._limits
        with self._has_work:
            while not self._items:
                if closing.is_set():
                    return None
                self._has_work.wait(_POLL_S)
            deadline = clock() + limits.max_delay_s
            while len(self._items) < limits.max_messages and self._lines < limits.max_lines and not closing.is_set():
                remaining = deadline - clock()
                if remaining <= 0:
                    break
                self._has_work.wait(min(remaining, _POLL_S))
            batch: list[Work] = []
            lines = 0
            items = self._items
            while items and lines < limits.max_lines and len(batch) < limits.max_messages:
                work = items.popleft()
                batch.append(work)
                lines += len(work.lines)
            self._lines -= lines
            self._has_room.notify_all()
        return batch

    def done(self, n: int) -> int:
        """``n`` messages left the pipeline (acked or internal); returns the new in-flight count."""
        with self._has_work:
            self.in_flight -= n
            return self.in_flight


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
        retrier: RejectedRetrier | None = None,
    ) -> None:
        self._policy = policy
        self._writer = writer
        self._quarantine = quarantine
        self._acker = acker
        self._metrics = metrics
        self._limits = limits
        self._clock = clock
        self._retrier = retrier
        self._inbox = Inbox(limits)
        self.acked = 0
        self.unacked_on_abort = 0

    @property
    def in_flight(self) -> int:
        return self._inbox.in_flight

    @property
    def full_waits(self) -> int:
        """Submits that found the queue full and had to wait."""
        return self._inbox.full_waits

    def submit(self, work: Work, *, timeout_s: float | None = None) -> bool:
        """Queue ``work``; block while the queue is full (back-pressure). False after ``timeout_s``."""
        return self._inbox.put(work, timeout_s=timeout_s)  # gauges are set by the writer, once per batch

    def run(self, *, closing: threading.Event, abort: threading.Event) -> None:
        """The writer loop. Returns when ``closing`` is set and everything queued is written and
        acked, or when ``abort`` is set (then the current batch stays un-acked for redelivery)."""
        while True:
            batch = self._inbox.take(closing, self._clock)
            if batch is None:
                return
            # Counted per batch, not per message in the MQTT thread: one lock round-trip per batch.
            self._metrics.messages_in.inc(sum(1 for w in batch if w.mid is not None))
            self._metrics.queue_depth.set(len(self._inbox))
            self._metrics.in_flight.set(self._inbox.in_flight)
            try:
                self._flush(batch, abort)
                if self._retrier is not None:
                    self._retrier.maybe_run(abort)
            except Exception:
                if not abort.is_set():
                    raise
                self.unacked_on_abort += len(batch) + len(self._inbox)
                log.warning("shutdown deadline: %d message(s) left un-acked for redelivery", self.unacked_on_abort)
                return

    def _flush(self, batch: list[Work], abort: threading.Event) -> None:
        lines = [line for w in batch for line in w.lines]
        started = self._clock()
        rejected: list[tuple[str, str]] = []
        if lines:
            outcome = self._policy.write_durably(self._writer, lines, stop=abort)
            rejected = list(outcome.rejected)
            self._metrics.points_written.inc(outcome.written)
            self._metrics.written(max((w.newest_ts_ms for w in batch if w.newest_ts_ms is not None), default=None))
        entries = [w.quarantine for w in batch if w.quarantine is not None]
        entries += _db_rejections(batch, rejected)
        self._store_quarantine(entries, abort)
        self._ack(batch)
        self._metrics.batches.inc()
        self._metrics.batch_latency.observe(self._clock() - started)

    def _store_quarantine(self, entries: list[QuarantineEntry], abort: threading.Event) -> None:
        if not entries:
            return
        backoff = Backoff(initial_s=_QUARANTINE_BACKOFF_MIN_S, max_s=_QUARANTINE_BACKOFF_MAX_S, random=random.random)
        while True:
            try:
                evicted = self._quarantine.add(entries)
                break
            except sqlite3.Error as exc:
                delay = backoff.next_delay_s()
                log.error("quarantine store failed (%s); retrying in %.1f s", exc, delay)
                if abort.wait(delay):
                    raise
        for e in entries:
            self._metrics.quarantined.labels(reason=e.reason).inc()
        for reason, n in evicted.items():
            self._metrics.quarantine_evicted.labels(reason=reason).inc(n)
        if evicted:
            log.warning("quarantine full: evicted the %d oldest entries (%s)", sum(evicted.values()),
                        ", ".join(f"{r}={n}" for r, n in sorted(evicted.items())))

    def _ack(self, batch: list[Work]) -> None:
        acks = [(w.mid, w.qos, w.generation) for w in batch if w.mid is not None]
        self._acker.ack_batch(acks)  # one hand-over to the MQTT thread per batch
        self.acked += len(acks)  # written by this (the writer) thread only
        self._metrics.messages_acked.inc(len(acks))
        self._metrics.in_flight.set(self._inbox.done(len(batch)))


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
