"""WritePolicy against an in-memory fake InfluxDB that keeps the real server's promises: a partial
write stores the valid lines, a 413 stores nothing, equal lines are one point."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence

import pytest

from seamline.storage.write_errors import (
    AuthWriteError,
    BatchTooLargeError,
    PartialWriteError,
    PermanentWriteError,
    RetryableWriteError,
    WriteError,
)
from seamline.storage.write_policy import WriteAborted, WritePolicy, WritePolicyConfig


class FakeInflux:
    """PointWriter fake. ``script`` errors are raised by the next calls, before anything else."""

    def __init__(
        self,
        *,
        script: Sequence[WriteError] = (),
        max_lines: int | None = None,
        bad: Callable[[str], bool] | None = None,
        name_bad_lines: bool = True,
    ) -> None:
        self.stored: set[str] = set()
        self.script = list(script)
        self.max_lines = max_lines
        self.bad = bad
        self.name_bad_lines = name_bad_lines
        self.calls: list[list[str]] = []
        self.closed = False

    def write(self, lines: Sequence[str]) -> None:
        self.calls.append(list(lines))
        if self.script:
            raise self.script.pop(0)
        if self.max_lines is not None and len(lines) > self.max_lines:
            raise BatchTooLargeError("too large", status=413)
        bad = [(i, "bad: " + ln) for i, ln in enumerate(lines) if self.bad and self.bad(ln)]
        self.stored.update(ln for i, ln in enumerate(lines) if not (self.bad and self.bad(ln)))
        if bad:
            if self.name_bad_lines:
                raise PartialWriteError("400", bad_lines=bad, unmapped=[])
            raise PartialWriteError("400", bad_lines=[], unmapped=["field type conflict: ..."])

    def close(self) -> None:
        self.closed = True


class RecordingSleep:
    def __init__(self, *, stop_after: int | None = None) -> None:
        self.waits: list[float] = []
        self.stop_after = stop_after

    def __call__(self, seconds: float, stop: threading.Event) -> bool:
        self.waits.append(seconds)
        if self.stop_after is not None and len(self.waits) >= self.stop_after:
            stop.set()
        return stop.is_set()


LINES = [f"m,asset=a{i} f={i}.0 {1000 + i}" for i in range(10)]


def policy(sleep: RecordingSleep, **cfg: float) -> WritePolicy:
    return WritePolicy(WritePolicyConfig(**cfg), sleep=sleep, rng=random.Random(7))


def test_clean_write_makes_one_attempt() -> None:
    sleep, fake = RecordingSleep(), FakeInflux()
    out = policy(sleep).write_durably(fake, LINES, stop=threading.Event())
    assert (out.written, out.rejected, out.attempts, out.retries) == (10, [], 1, 0)
    assert fake.stored == set(LINES) and sleep.waits == []


def test_empty_batch_makes_no_request() -> None:
    fake = FakeInflux()
    out = policy(RecordingSleep()).write_durably(fake, [], stop=threading.Event())
    assert (out.written, out.attempts, fake.calls) == (0, 0, [])


def test_retry_after_is_honoured_and_capped() -> None:
    sleep = RecordingSleep()
    fake = FakeInflux(
        script=[
            RetryableWriteError("429", status=429, retry_after_s=3.0),
            RetryableWriteError("503", status=503, retry_after_s=500.0),
        ]
    )
    p = policy(sleep, max_retry_after_s=60.0)
    out = p.write_durably(fake, LINES, stop=threading.Event())
    assert sleep.waits == [3.0, 60.0]
    assert (out.written, out.attempts, out.retries) == (10, 3, 2)
    assert fake.stored == set(LINES)
    assert p.counters.retryable_errors == 2 and p.counters.waited_s == 63.0


def test_backoff_grows_with_jitter_up_to_the_cap() -> None:
    sleep = RecordingSleep()
    fake = FakeInflux(script=[RetryableWriteError("500", status=500) for _ in range(8)])
    out = policy(sleep, initial_backoff_s=1.0, max_backoff_s=8.0).write_durably(
        fake, LINES, stop=threading.Event()
    )
    assert out.written == 10 and out.retries == 8
    caps = [1, 2, 4, 8, 8, 8, 8, 8]
    assert len(sleep.waits) == 8
    for wait, cap in zip(sleep.waits, caps, strict=True):
        assert cap / 2 <= wait <= cap
    assert len(set(sleep.waits[3:])) > 1  # jittered, not lockstep


def test_stop_during_outage_raises_and_nothing_is_reported_written() -> None:
    sleep = RecordingSleep(stop_after=3)
    fake = FakeInflux(script=[RetryableWriteError("conn refused") for _ in range(100)])
    p = policy(sleep)
    with pytest.raises(WriteAborted) as info:
        p.write_durably(fake, LINES, stop=threading.Event())
    assert info.value.pending == 10 and info.value.written == 0
    assert len(fake.calls) == 3 and p.counters.aborted_batches == 1


def test_413_splits_in_halves_until_it_fits_and_writes_each_line_once() -> None:
    sleep = RecordingSleep()
    fake = FakeInflux(max_lines=3)
    p = policy(sleep)
    out = p.write_durably(fake, LINES, stop=threading.Event())
    assert out.written == 10 and out.rejected == []
    accepted = [ln for call in fake.calls if len(call) <= 3 for ln in call]
    assert sorted(accepted) == sorted(LINES)  # exactly once each
    assert [len(c) for c in fake.calls] == [10, 5, 2, 3, 5, 2, 3]
    assert p.counters.splits_413 == 3 and sleep.waits == []


def test_413_for_a_single_line_keeps_it_and_waits_for_the_limit_to_be_raised() -> None:
    """A server refusing every request (a body limit below one line) never gets valid lines
    quarantined: the policy backs off on the single line until stopped, nothing is rejected."""
    sleep = RecordingSleep(stop_after=4)
    fake = FakeInflux(max_lines=0)
    p = policy(sleep)
    with pytest.raises(WriteAborted) as info:
        p.write_durably(fake, LINES[:2], stop=threading.Event())
    assert info.value.written == 0 and info.value.pending == 2
    assert p.counters.lines_rejected == 0 and p.counters.server_limit_errors == 4
    assert [len(c) for c in fake.calls] == [2, 1, 1, 1, 1]


def test_413_then_the_limit_is_raised_everything_is_written() -> None:
    sleep = RecordingSleep()
    fake = FakeInflux(max_lines=0)
    fake.write = _raise_limit_after(fake, 3)  # type: ignore[method-assign]
    out = policy(sleep).write_durably(fake, LINES[:2], stop=threading.Event())
    assert out.written == 2 and out.rejected == [] and fake.stored == set(LINES[:2])


def _raise_limit_after(fake: FakeInflux, calls: int) -> Callable[[Sequence[str]], None]:
    original = FakeInflux.write

    def write(lines: Sequence[str]) -> None:
        if len(fake.calls) >= calls:
            fake.max_lines = None
        original(fake, lines)
    return write


def test_the_size_a_413_taught_is_remembered() -> None:
    fake = FakeInflux(max_lines=4)
    p = WritePolicy(WritePolicyConfig(probe_every=100), sleep=RecordingSleep(), rng=random.Random(7))
    p.write_durably(fake, LINES, stop=threading.Event())
    assert p.max_lines == 2  # 10 -> 413, then 5 -> 413: at most half of 5
    fake.calls.clear()
    out = p.write_durably(fake, LINES[:8], stop=threading.Event())
    assert [len(c) for c in fake.calls] == [2, 2, 2, 2] and out.written == 8  # no 413 learned again
    assert p.counters.splits_413 == 3


def test_a_learned_size_is_probed_upwards_after_enough_successes() -> None:
    fake = FakeInflux(max_lines=4)
    p = WritePolicy(WritePolicyConfig(probe_every=100), sleep=RecordingSleep(), rng=random.Random(7))
    p.write_durably(fake, LINES, stop=threading.Event())
    p.config = WritePolicyConfig(probe_every=2)
    fake.calls.clear()
    p.write_durably(fake, LINES[:8], stop=threading.Event())
    assert [len(c) for c in fake.calls] == [2, 2, 2, 2] and p.max_lines == 4  # two successes: probe 4
    fake.calls.clear()
    p.write_durably(fake, LINES[:8], stop=threading.Event())
    assert [len(c) for c in fake.calls] == [4, 4] and p.max_lines == 8  # two more: probe 8
    fake.max_lines = 3  # the server's limit went down: 413 again, halves, learns 2
    p.config = WritePolicyConfig(probe_every=100)
    fake.calls.clear()
    out = p.write_durably(fake, LINES[:8], stop=threading.Event())
    assert [len(c) for c in fake.calls] == [8, 4, 2, 2, 4, 2, 2] and p.max_lines == 2 and out.written == 8


def test_partial_write_rejects_exactly_the_named_lines() -> None:
    bad = {LINES[2], LINES[7]}
    fake = FakeInflux(bad=lambda ln: ln in bad)
    p = policy(RecordingSleep())
    out = p.write_durably(fake, LINES, stop=threading.Event())
    assert out.rejected == [(LINES[2], "bad: " + LINES[2]), (LINES[7], "bad: " + LINES[7])]
    assert out.written == 8 and fake.stored == set(LINES) - bad
    assert out.attempts == 2  # the rest is re-written once (idempotent)


def test_unmapped_400_bisects_down_to_the_bad_lines() -> None:
    bad = {LINES[0], LINES[5], LINES[6]}
    fake = FakeInflux(bad=lambda ln: ln in bad, name_bad_lines=False)
    p = policy(RecordingSleep())
    out = p.write_durably(fake, LINES, stop=threading.Event())
    assert sorted(ln for ln, _ in out.rejected) == sorted(bad)
    assert all(reason == "field type conflict: ..." for _, reason in out.rejected)
    assert out.written == 7 and fake.stored == set(LINES) - bad
    assert p.counters.bisections >= 2


@pytest.mark.parametrize(
    "error",
    [AuthWriteError("401", status=401), AuthWriteError("403", status=403), PermanentWriteError("404", status=404)],
)
def test_auth_and_permanent_errors_keep_the_batch_and_log_error(
    error: WriteError, caplog: pytest.LogCaptureFixture
) -> None:
    sleep = RecordingSleep()
    fake = FakeInflux(script=[error, error])
    out = policy(sleep).write_durably(fake, LINES, stop=threading.Event())
    assert out.written == 10 and out.retries == 2 and len(sleep.waits) == 2
    assert fake.stored == set(LINES)
    assert [r.levelname for r in caplog.records].count("ERROR") == 2


def test_counters_accumulate_over_batches() -> None:
    p = policy(RecordingSleep())
    fake = FakeInflux(bad=lambda ln: ln == LINES[0])
    p.write_durably(fake, LINES, stop=threading.Event())
    p.write_durably(fake, LINES[1:], stop=threading.Event())
    c = p.counters
    assert (c.batches, c.lines_written, c.lines_rejected, c.partial_writes) == (2, 18, 1, 1)


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        WritePolicyConfig(initial_backoff_s=10.0, max_backoff_s=1.0)
