"""The ingest composition root: wires config -> subscriber -> intake -> batcher -> write policy ->
writer, plus quarantine and self-metrics. Also the quarantine replay used by the CLI.

Threads: paho's network thread (validates and queues), one writer thread (writes, quarantines,
acks), and the caller's thread (self-metrics timer, shutdown). SIGTERM (via ``stop``) stops intake,
flushes and acks what is queued, then disconnects; after ``shutdown_grace_s`` it gives up and
leaves the rest un-acked for the broker to redeliver.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from seamline.ingest.batcher import AckRef, Batcher, BatchLimits, Work
from seamline.ingest.config import IngestConfig
from seamline.ingest.gaps import GapTracker
from seamline.ingest.metrics import IngestMetrics
from seamline.ingest.points import message_lines, newest_ts_ms
from seamline.ingest.quarantine import SOURCE_MQTT, QuarantineEntry, QuarantineStore
from seamline.ingest.rejected_retry import RejectedRetrier, RetrySettings
from seamline.ingest.subscriber import MqttSubscriber
from seamline.ingest.validate import Accepted, Reason, TimeWindow, validate
from seamline.storage.connect import point_writer
from seamline.storage.schema import INGEST_SELF, Retention
from seamline.storage.write_policy import PointWriter, WritePolicy

log = logging.getLogger(__name__)

# How often a blocked submit re-checks for shutdown (s).
_SUBMIT_POLL_S = 0.5
# Leaving the share group on a graceful stop: the UNSUBACK comes in a round trip (s), and what the
# broker had queued for this session keeps arriving while acks free its in-flight window; a pause
# this long with nothing new means the queue is empty (a batch is written well within it).
_LEAVE_UNSUBACK_S = 3.0
_LEAVE_QUIET_S = 0.5
# Self-metrics fields besides the Prometheus counters.
(_QUEUE_FULL_WAITS, _QUARANTINE_ROWS, _QUARANTINE_BYTES, _MQTT_CONNECTS, _STALE_ACKS, _GAP_TRACKED_ASSETS,
 _WRITE_WAITED_S) = INGEST_SELF.fields_of("queue_full_waits", "quarantine_rows", "quarantine_bytes", "mqtt_connects",
                                          "stale_acks", "gap_tracked_assets", "write_waited_s")


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Intake:
    """One MQTT message -> one :class:`Work` (lines to write, or a quarantine entry). Pure apart
    from the gap tracker's state; the clock is injected."""

    def __init__(
        self,
        *,
        window: TimeWindow,
        max_payload_bytes: int,
        gaps: GapTracker | None,
        clock_ms: Callable[[], int] = wall_ms,
    ) -> None:
        self._window = window
        self._max_payload = max_payload_bytes
        self._gaps = gaps
        self._clock_ms = clock_ms

    @classmethod
    def from_config(cls, config: IngestConfig, *, with_gaps: bool = True) -> Intake:
        v = config.validation
        window = TimeWindow(max_past_ms=int(v.max_past_s * 1000), max_future_ms=int(v.max_future_s * 1000))
        gaps = GapTracker(max_assets=config.gaps.max_assets) if with_gaps and config.gaps.enabled else None
        return cls(window=window, max_payload_bytes=v.max_payload_bytes, gaps=gaps)

    @property
    def gaps(self) -> GapTracker | None:
        return self._gaps

    def work_for(
        self, topic: str, payload: bytes, *, mid: int | None = None, qos: int = 0, generation: int = 0
    ) -> Work:
        now_ms = self._clock_ms()
        result = validate(topic, payload, now_ms=now_ms, window=self._window, max_payload_bytes=self._max_payload)
        if isinstance(result, Accepted):
            try:
                lines = message_lines(result.topic, result.message, received_ms=now_ms, gaps=self._gaps)
            except ValueError as exc:  # a name line protocol cannot carry (e.g. trailing backslash)
                reason, detail = Reason.INVALID_PAYLOAD, f"cannot encode as line protocol: {exc}"
            else:
                return Work(lines=lines, topic=topic, mid=mid, qos=qos, generation=generation,
                            received_s=time.monotonic(), newest_ts_ms=newest_ts_ms(result.message))
        else:
            reason, detail = result.reason, result.detail
        entry = QuarantineEntry(
            received_ms=now_ms, source=SOURCE_MQTT, topic=topic, reason=reason.value, detail=detail, payload=payload
        )
        return Work(lines=(), topic=topic, mid=mid, qos=qos, generation=generation, quarantine=entry,
                    received_s=time.monotonic())


class Source(Protocol):
    """Where messages come from: :class:`MqttSubscriber` or ``jetstream.JetStreamSource``."""

    connects: int
    stale_acks: int
    connected: threading.Event  # set while connected to the broker or the NATS cluster

    def start(self) -> None: ...
    def ack_batch(self, acks: Sequence[AckRef]) -> None: ...
    def leave(self, timeout_s: float) -> bool: ...
    def stop(self) -> None: ...


def make_source(config: IngestConfig, on_message: Callable[[str, bytes, int, int, int], None]) -> Source:
    if config.source == "jetstream":
        from seamline.ingest.jetstream import JetStreamSource  # nats-py only where it is used

        return JetStreamSource(config.jetstream, on_message, name=f"seamline-ingest-{config.worker}")
    return MqttSubscriber(config.mqtt, on_message)


@dataclass(slots=True)
class _Running:
    batcher: Batcher
    subscriber: Source
    thread: threading.Thread
    closing: threading.Event
    abort: threading.Event


class IngestService:
    """``run(stop)`` until ``stop`` is set; returns an exit code."""

    def __init__(self, config: IngestConfig, *, writer: PointWriter | None = None,
                 policy: WritePolicy | None = None) -> None:
        self.config = config
        self.metrics = IngestMetrics()
        self._writer = writer
        self._policy = policy or WritePolicy()
        self.intake = Intake.from_config(config)
        self._running: _Running | None = None

    def run(self, stop: threading.Event) -> int:
        c = self.config
        if c.metrics.port:
            port = self.metrics.serve(port=c.metrics.port, bind=c.metrics.bind)
            log.info("metrics on http://%s:%d/metrics", c.metrics.bind, port)
        writer = self._writer or point_writer(c.influx, Retention.RAW)
        store = QuarantineStore(c.quarantine.path, max_rows=c.quarantine.max_rows, max_bytes=c.quarantine.max_bytes)
        try:
            return self._serve(stop, writer, store)
        finally:
            writer.close()
            store.close()
            self.metrics.close()

    def _serve(self, stop: threading.Event, writer: PointWriter, store: QuarantineStore) -> int:
        c = self.config
        closing, abort = threading.Event(), threading.Event()
        subscriber = make_source(c, self._on_message)
        limits = BatchLimits(max_lines=c.batch.max_lines, max_messages=c.batch_max_messages,
                             max_delay_s=c.batch.max_delay_s, queue_max_messages=c.batch.queue_max_messages)
        q = c.quarantine
        retrier = RejectedRetrier(store=store, policy=self._policy, writer=writer, metrics=self.metrics,
                                  settings=RetrySettings(initial_s=q.retry_initial_s, max_s=q.retry_max_s,
                                                         max_attempts=q.retry_max_attempts,
                                                         check_every_s=min(10.0, q.retry_initial_s))) \
            if q.retry_rejected else None
        batcher = Batcher(policy=self._policy, writer=writer, quarantine=store, acker=subscriber,
                          metrics=self.metrics, limits=limits, retrier=retrier)
        thread = threading.Thread(target=batcher.run, kwargs={"closing": closing, "abort": abort},
                                  name="ingest-writer", daemon=True)
        self._running = _Running(batcher, subscriber, thread, closing, abort)
        self.metrics.mqtt_connected.set_function(lambda: float(subscriber.connected.is_set()))
        thread.start()
        subscriber.start()
        failed = False
        while not stop.wait(c.metrics.interval_s):
            if not thread.is_alive():
                log.error("writer thread died; exiting so the supervisor restarts ingest")
                failed = True
                break
            self._submit_self_metrics(batcher, subscriber, store)
        self._shutdown()
        return 1 if failed else 0

    def _shutdown(self) -> None:
        r = self._running
        if r is None:
            return
        self._leave(r)
        r.closing.set()
        r.thread.join(self.config.shutdown_grace_s)
        if r.thread.is_alive():
            r.abort.set()
            r.thread.join(10.0)
        r.subscriber.stop()
        log.info("ingest stopped: %d messages acked, %d left for redelivery",
                 r.batcher.acked, r.batcher.unacked_on_abort)

    def _leave(self, r: _Running) -> None:
        """Leave the share group (``mqtt.leave_share_on_stop``), then keep taking in what the broker
        had already queued for this session until none came for ``_LEAVE_QUIET_S``: written and
        acked now rather than stranded in the session until this worker returns. Bounded by half of
        ``shutdown_grace_s``; the other half is for the flush."""
        c = self.config
        if c.source != "mqtt" or not c.mqtt.leave_share_on_stop:
            return
        deadline = time.monotonic() + c.shutdown_grace_s / 2
        if not r.subscriber.leave(timeout_s=min(_LEAVE_UNSUBACK_S, c.shutdown_grace_s / 4)):
            return
        seen = self._received(r)
        while time.monotonic() < deadline:
            time.sleep(_LEAVE_QUIET_S)
            now = self._received(r)
            if now == seen:
                return
            seen = now
        log.warning("messages still arriving %.1f s after leaving the share group; stopping anyway",
                    c.shutdown_grace_s / 2)

    @staticmethod
    def _received(r: _Running) -> int:
        return int(getattr(r.subscriber, "received", 0))

    def _on_message(self, topic: str, payload: bytes, mid: int, qos: int, generation: int) -> None:
        r = self._running
        if r is None or r.closing.is_set():
            return  # not acked: the broker redelivers it to the next session
        gaps = self.intake.gaps
        before = gaps.gaps if gaps is not None else 0
        work = self.intake.work_for(topic, payload, mid=mid, qos=qos, generation=generation)
        if gaps is not None and gaps.gaps > before:  # one network thread calls this: no race
            self.metrics.gaps.inc(gaps.gaps - before)
        while not r.batcher.submit(work, timeout_s=_SUBMIT_POLL_S):
            if r.closing.is_set():
                return

    def _submit_self_metrics(self, batcher: Batcher, subscriber: Source, store: QuarantineStore) -> None:
        self.metrics.sync_write_policy(self._policy.counters)
        gaps = self.intake.gaps
        extra = {
            _QUEUE_FULL_WAITS: batcher.full_waits,
            _QUARANTINE_ROWS: len(store),
            _QUARANTINE_BYTES: store.bytes,
            _MQTT_CONNECTS: subscriber.connects,
            _STALE_ACKS: subscriber.stale_acks,
            _GAP_TRACKED_ASSETS: len(gaps) if gaps else 0,
            _WRITE_WAITED_S: self._policy.counters.waited_s,
        }
        line = self.metrics.to_line(worker=self.config.worker, ts_ms=wall_ms(), extra=extra)
        batcher.submit(Work(lines=[line], topic="(self-metrics)"), timeout_s=_SUBMIT_POLL_S)


def replay_quarantine(
    config: IngestConfig, *, reason: str | None, writer: PointWriter | None = None, stop: threading.Event | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Re-validate quarantined entries (optionally of one reason) and write what passes now.

    Entries that pass are written durably and deleted; the rest stay with their current reason.
    Returns ``(replayed, still_failing)``; ``progress(n)`` hears of each chunk taken up. Gap detection
    is off: replays are out of order by nature.
    """
    stop = stop or threading.Event()
    intake = Intake.from_config(config, with_gaps=False)
    policy = WritePolicy()
    writer = writer or point_writer(config.influx, Retention.RAW)
    store = QuarantineStore(config.quarantine.path, max_rows=config.quarantine.max_rows,
                            max_bytes=config.quarantine.max_bytes)
    replayed = failing = 0
    try:
        after = 0
        while True:
            items = store.list(reason=reason, limit=1000, after_id=after)
            if not items:
                break
            after = items[-1].id
            if progress is not None:
                progress(len(items))  # entries taken up, whatever each one's outcome
            for item in items:
                if item.truncated:
                    failing += 1
                    continue
                if item.source == SOURCE_MQTT:
                    work = intake.work_for(item.topic, item.payload)
                    if work.quarantine is not None:
                        store.update_reason(item.id, reason=work.quarantine.reason, detail=work.quarantine.detail)
                        failing += 1
                        continue
                    lines = list(work.lines)
                else:
                    lines = [item.payload.decode()]
                outcome = policy.write_durably(writer, lines, stop=stop)
                if outcome.rejected:
                    store.update_reason(item.id, reason=Reason.DB_REJECTED.value, detail=outcome.rejected[0][1][:500])
                    failing += 1
                    continue
                store.delete([item.id])
                replayed += 1
    finally:
        store.close()
        writer.close()
    return replayed, failing
