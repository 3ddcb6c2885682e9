"""ChannelWorker.step with a real outbox (SQLite in a temp dir), a fake sender and a fake clock."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from seamline.notify.config import RateLimit, Retry
from seamline.notify.delivery import ChannelWorker
from seamline.notify.metrics import Metrics
from seamline.notify.outbox import Outbox
from tests.support.notify_fakes import FakeSender, message, permanent, retryable


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


GENEROUS = RateLimit(messages=100, per_s=60)


def _worker(tmp_path: Path, *, rate: RateLimit = GENEROUS, max_age_s: float = 3600,
            rng: random.Random | None = None) -> tuple[ChannelWorker, Outbox, FakeSender, Clock, Metrics]:
    clock = Clock()
    box = Outbox(tmp_path / "o.sqlite", max_rows=100, max_bytes=10**6, dedup_window_s=0)
    sender = FakeSender()
    metrics = Metrics(["c1"])
    worker = ChannelWorker(name="c1", sender=sender, outbox=box, metrics=metrics, rate=rate,
                           retry=Retry(backoff_initial_s=2, backoff_max_s=30), max_age_s=max_age_s,
                           clock=clock, rng=rng or random.Random(1))
    return worker, box, sender, clock, metrics


def _run_until_idle(worker: ChannelWorker, clock: Clock, *, limit: int = 1000) -> None:
    for _ in range(limit):
        wait = worker.step()
        if wait >= 5.0 and worker._outbox.head("c1") is None:  # idle
            return
        clock.t += wait
    raise AssertionError("worker did not become idle")


def test_a_failing_message_is_retried_with_backoff_and_nothing_overtakes_it(tmp_path: Path) -> None:
    worker, box, sender, clock, metrics = _worker(tmp_path)
    for i in range(3):
        box.enqueue(f"k{i}", [message(f"m{i}")], now=clock.t)
    sender.fail_next = [retryable(), retryable(), retryable()]
    for _ in range(3):
        assert worker.step() == 0.0
        head = box.head("c1")
        assert head is not None and head.message.id == "m0"
        assert worker.step() > 0  # backing off: the next step only waits
        clock.t = head.next_at
    assert sender.sent == []  # m0 failed three times, m1 and m2 waited behind it
    _run_until_idle(worker, clock)
    assert sender.sent == ["m0", "m1", "m2"]
    assert metrics.failed_attempts.labels("c1", "retryable")._value.get() == 3


class _Fixed(random.Random):
    """A random source that always returns ``value`` (the jitter's draw, made known)."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.mark.parametrize(("draw", "expected"), [(0.0, [1.0, 2.0, 4.0]), (0.5, [1.5, 3.0, 6.0])])
def test_retry_waits_grow_and_honour_the_vendors_retry_after(tmp_path: Path, draw: float,
                                                             expected: list[float]) -> None:
    """Equal jitter over steps 2, 4, 8 s (initial 2 s): half the step plus the draw times half."""
    worker, box, sender, clock, _ = _worker(tmp_path, rng=_Fixed(draw))
    box.enqueue("k", [message("m0")], now=clock.t)
    delays = []
    sender.fail_next = [retryable(), retryable(), retryable(), retryable(after_s=60)]
    for _ in range(4):
        assert worker.step() == 0.0
        head = box.head("c1")
        assert head is not None
        delays.append(head.next_at - clock.t)
        clock.t = head.next_at
    assert delays[:3] == pytest.approx(expected)
    assert delays[3] == 60.0


def test_a_permanent_refusal_drops_that_message_only(tmp_path: Path) -> None:
    worker, box, sender, clock, metrics = _worker(tmp_path)
    box.enqueue("k0", [message("bad")], now=clock.t)
    box.enqueue("k1", [message("good")], now=clock.t)
    sender.fail_next = [permanent()]
    _run_until_idle(worker, clock)
    assert sender.sent == ["good"]
    assert metrics.dropped.labels("c1", "refused")._value.get() == 1


def test_messages_older_than_max_age_are_dropped_and_counted(tmp_path: Path) -> None:
    worker, box, sender, clock, metrics = _worker(tmp_path, max_age_s=100)
    box.enqueue("k0", [message("old")], now=clock.t - 101)
    box.enqueue("k1", [message("new")], now=clock.t)
    _run_until_idle(worker, clock)
    assert sender.sent == ["new"]
    assert metrics.dropped.labels("c1", "expired")._value.get() == 1


def test_the_rate_limit_spaces_sends_and_survives_a_restart(tmp_path: Path) -> None:
    worker, box, sender, clock, metrics = _worker(tmp_path, rate=RateLimit(messages=2, per_s=60))
    for i in range(3):
        box.enqueue(f"k{i}", [message(f"m{i}")], now=clock.t)
    assert worker.step() == 0.0 and worker.step() == 0.0
    assert worker.step() == 60.0  # m2 waits for m0 to leave the window
    assert metrics.rate_limited.labels("c1")._value.get() == 1
    # a new worker on the same outbox (a restart) remembers the two sends
    again = ChannelWorker(name="c1", sender=sender, outbox=box, metrics=metrics, rate=RateLimit(messages=2, per_s=60),
                          retry=Retry(), max_age_s=3600, clock=clock)
    assert again.step() == 60.0
