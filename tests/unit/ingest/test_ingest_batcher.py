"""The batcher with a fake writer that behaves like the real one: acks only after durable writes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from seamline.ingest.batcher import Batcher, BatchLimits, Work
from seamline.ingest.metrics import IngestMetrics
from seamline.ingest.quarantine import QuarantineEntry, QuarantineStore
from seamline.storage.write_errors import PartialWriteError, RetryableWriteError
from seamline.storage.write_policy import WritePolicy, WritePolicyConfig


class FakeInflux:
    """Stores lines like InfluxDB: can be down (retryable errors), can refuse lines (400 partial,
    the valid rest is stored as 1.x does), and can be held to observe what happens meanwhile."""

    def __init__(self) -> None:
        # keyed by line: writing an equal point twice stores it once, as InfluxDB does
        self.points: dict[str, None] = {}
        self.requests = 0
        self.down_for = 0  # next N requests fail with 503
        self.refuse: set[str] = set()
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def write(self, lines: Sequence[str]) -> None:
        self.entered.set()
        assert self.gate.wait(10), "test never released the gate"
        self.requests += 1
        if self.down_for:
            self.down_for -= 1
            raise RetryableWriteError("503 service unavailable", status=503, retry_after_s=0.01)
        bad = [(i, "unable to parse") for i, line in enumerate(lines) if line in self.refuse]
        self.points.update((line, None) for line in lines if line not in self.refuse)
        if bad:
            raise PartialWriteError("partial write", bad_lines=bad, unmapped=[])

    def close(self) -> None:
        pass


class FakeAcker:
    def __init__(self, db: FakeInflux) -> None:
        self.db = db
        self.acks: list[tuple[int, int, int]] = []
        self.points_at_ack: list[int] = []

    def ack_batch(self, acks: Sequence[tuple[int, int, int]]) -> None:
        for ref in acks:
            self.acks.append(ref)
            self.points_at_ack.append(len(self.db.points))


def no_sleep(_s: float, stop: threading.Event) -> bool:
    return stop.is_set()


class Rig:
    def __init__(self, tmp_path: Path, **limits: float) -> None:
        self.db = FakeInflux()
        self.acker = FakeAcker(self.db)
        self.store = QuarantineStore(tmp_path / "q.sqlite", max_rows=100)
        self.metrics = IngestMetrics()
        defaults: dict[str, float] = {"max_lines": 5000, "max_messages": 500, "max_delay_s": 0.05,
                                      "queue_max_messages": 100}
        defaults.update(limits)
        self.policy = WritePolicy(WritePolicyConfig(initial_backoff_s=0.001, max_backoff_s=0.002), sleep=no_sleep)
        self.batcher = Batcher(
            policy=self.policy,
            writer=self.db, quarantine=self.store, acker=self.acker, metrics=self.metrics,
            limits=BatchLimits(max_lines=int(defaults["max_lines"]), max_messages=int(defaults["max_messages"]),
                               max_delay_s=defaults["max_delay_s"],
                               queue_max_messages=int(defaults["queue_max_messages"])),
        )
        self.closing, self.abort = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self.batcher.run, kwargs={"closing": self.closing, "abort": self.abort})
        self.thread.start()

    def finish(self) -> None:
        self.closing.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path)
    yield r
    r.closing.set()
    r.abort.set()
    r.db.gate.set()
    r.thread.join(10)
    r.store.close()


def msg(mid: int, n_lines: int = 1) -> Work:
    return Work(lines=[f"m,a=x f={mid}.{i} {mid}" for i in range(n_lines)], topic=f"t/{mid}", mid=mid, qos=1,
                generation=1)


def test_acks_only_after_the_write_returned(rig: Rig) -> None:
    rig.db.gate.clear()
    for mid in range(1, 4):
        assert rig.batcher.submit(msg(mid))
    assert rig.db.entered.wait(5)
    assert rig.acker.acks == []  # the write is still in progress
    assert rig.batcher.in_flight == 3
    rig.db.gate.set()
    rig.finish()
    assert rig.acker.acks == [(1, 1, 1), (2, 1, 1), (3, 1, 1)]
    assert rig.acker.points_at_ack == [3, 3, 3]  # every ack saw its point stored
    assert rig.batcher.in_flight == 0


def test_outage_loses_nothing_and_acks_once(rig: Rig) -> None:
    rig.db.down_for = 7
    for mid in range(1, 11):
        rig.batcher.submit(msg(mid, n_lines=2))
    rig.finish()
    assert len(rig.db.points) == 20
    assert sorted(m for m, _, _ in rig.acker.acks) == list(range(1, 11))
    rig.metrics.sync_write_policy(rig.policy.counters)  # the service does this every metrics interval
    snap = rig.metrics.snapshot()
    assert snap["write_retries_total"] == 7 and snap["write_errors_retryable"] == 7
    assert snap["points_written_total"] == 20
    assert snap["messages_acked_total"] == 10


def test_retries_are_counted_while_the_outage_lasts(rig: Rig) -> None:
    """Not only once the batch succeeds: a scrape during an outage sees the retries growing."""
    rig.db.down_for = 10**9
    rig.batcher.submit(msg(1))
    deadline = time.monotonic() + 5
    while rig.policy.counters.retries < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    rig.metrics.sync_write_policy(rig.policy.counters)
    snap = rig.metrics.snapshot()
    assert snap["write_retries_total"] >= 5 and snap["write_errors_retryable"] >= 5
    assert snap["points_written_total"] == 0
    rig.abort.set()
    rig.closing.set()
    rig.thread.join(10)


def test_db_rejected_lines_are_quarantined_with_their_topic_then_acked(rig: Rig) -> None:
    bad = msg(2).lines[0]
    rig.db.refuse = {bad}
    for mid in (1, 2, 3):
        rig.batcher.submit(msg(mid))
    rig.finish()
    assert len(rig.db.points) == 2
    [item] = rig.store.list()
    assert (item.reason, item.topic, item.payload, item.source) == ("db_rejected", "t/2", bad.encode(), "db")
    assert sorted(m for m, _, _ in rig.acker.acks) == [1, 2, 3]
    assert rig.metrics.snapshot()["quarantined_db_rejected"] == 1


def test_invalid_messages_are_stored_in_quarantine_before_their_ack(rig: Rig) -> None:
    entry = QuarantineEntry(received_ms=5, source="mqtt", topic="t/9", reason="bad_json", detail="x", payload=b"{")
    rig.batcher.submit(Work(lines=(), topic="t/9", mid=9, qos=1, generation=1, quarantine=entry))
    rig.batcher.submit(msg(10))
    rig.finish()
    assert [i.payload for i in rig.store.list(reason="bad_json")] == [b"{"]
    assert [m for m, _, _ in rig.acker.acks] == [9, 10]
    assert rig.metrics.snapshot()["quarantined_bad_json"] == 1


def test_abort_during_outage_acks_nothing(rig: Rig) -> None:
    rig.db.down_for = 10**9
    for mid in range(1, 6):
        rig.batcher.submit(msg(mid))
    assert rig.db.entered.wait(5)
    rig.closing.set()
    rig.abort.set()
    rig.thread.join(10)
    assert not rig.thread.is_alive()
    assert rig.acker.acks == []
    assert rig.batcher.unacked_on_abort == 5


def test_batches_are_cut_by_message_count(tmp_path: Path) -> None:
    r = Rig(tmp_path, max_messages=4, max_delay_s=5.0)
    try:
        r.db.gate.clear()
        for mid in range(1, 10):
            r.batcher.submit(msg(mid))
        r.db.gate.set()
        r.finish()
        # 9 messages, at most 4 per request: 3 requests, nothing waits for max_delay_s
        assert r.db.requests == 3
        assert len(r.db.points) == 9
    finally:
        r.store.close()


def test_batches_are_cut_by_line_count(tmp_path: Path) -> None:
    r = Rig(tmp_path, max_lines=10, max_delay_s=5.0)
    try:
        r.db.gate.clear()
        for mid in range(1, 7):
            r.batcher.submit(msg(mid, n_lines=4))  # 24 lines -> batches of 12, 12 (cut once >= 10)
        r.db.gate.set()
        r.finish()
        assert r.db.requests == 2
        assert len(r.db.points) == 24
    finally:
        r.store.close()


def test_full_queue_pushes_back(tmp_path: Path) -> None:
    r = Rig(tmp_path, queue_max_messages=2, max_messages=1)
    try:
        r.db.gate.clear()
        assert r.batcher.submit(msg(1))
        assert r.db.entered.wait(5)  # writer holds message 1
        assert r.batcher.submit(msg(2)) and r.batcher.submit(msg(3))
        assert not r.batcher.submit(msg(4), timeout_s=0.05)  # queue full: caller must wait
        assert r.batcher.full_waits == 1
        r.db.gate.set()
        assert r.batcher.submit(msg(4), timeout_s=5)
        r.finish()
        assert [m for m, _, _ in r.acker.acks] == [1, 2, 3, 4]
    finally:
        r.store.close()


def test_internal_points_without_mid_are_written_not_acked(rig: Rig) -> None:
    rig.batcher.submit(Work(lines=["seamline_ingest,worker=w x=1.0 1"], topic="(self)"))
    rig.finish()
    assert list(rig.db.points) == ["seamline_ingest,worker=w x=1.0 1"]
    assert rig.acker.acks == []


def test_consumer_lag_follows_the_newest_written_device_time(tmp_path: Path) -> None:
    """Lag = now - the newest device time durably written: it stays put while InfluxDB is down
    (nothing newer is written) and drops once the newer batch is stored."""
    r = Rig(tmp_path)
    r.metrics = metrics = IngestMetrics(clock=lambda: 1_000_000.0)
    r.batcher._metrics = metrics  # the rig's batcher, with a metrics object on a fixed clock
    try:
        assert "consumer_lag_seconds" not in metrics.snapshot()  # NaN before the first write: no field
        r.batcher.submit(Work(lines=["m,a=x f=1 1"], topic="t/1", mid=1, qos=1, newest_ts_ms=999_940_000))
        r.batcher.submit(Work(lines=["m,a=x f=2 2"], topic="t/2", mid=2, qos=1, newest_ts_ms=999_900_000))
        r.batcher.submit(Work(lines=["self f=1 3"], topic="(self-metrics)"))  # no device time
        deadline = time.monotonic() + 5
        while r.acker.acks.__len__() < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert metrics.snapshot()["consumer_lag_seconds"] == 60.0
        assert metrics.snapshot()["newest_written_timestamp_seconds"] == 999_940.0
        r.db.down_for = 10**9
        r.batcher.submit(Work(lines=["m,a=x f=3 4"], topic="t/3", mid=3, qos=1, newest_ts_ms=999_990_000))
        while r.policy.counters.retries < 3 and time.monotonic() < deadline + 5:
            time.sleep(0.01)
        assert metrics.snapshot()["consumer_lag_seconds"] == 60.0  # not written: the lag does not improve
        r.db.down_for = 0
        r.finish()
        assert metrics.snapshot()["consumer_lag_seconds"] == 10.0
    finally:
        r.abort.set()
        r.closing.set()
        r.thread.join(10)
        r.store.close()
