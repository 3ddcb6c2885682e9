"""Fault cases through the shim in front of the real InfluxDB: the write policy with both writers
must end with every line stored exactly once or rejected with a reason. Waits go to a recording
sleeper (simulated time), except where a real timeout or a real outage is the point."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from seamline.localstack import InfluxdProcess
from seamline.storage.write_policy import PointWriter, WritePolicy, WritePolicyConfig
from seamline.storage.writer_v1 import InfluxV1Writer
from seamline.storage.writer_v2 import InfluxV2Writer
from tests.support.influx_shim import InfluxShim

pytestmark = pytest.mark.integration

LINES = [f"fault,asset=a{i % 7} f={i}.5,n={i}i {1_700_000_000_000 + i}" for i in range(200)]


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float, stop: threading.Event) -> bool:
        self.waits.append(seconds)
        return stop.is_set()


class Accepted:
    """Wraps a writer and records the lines of every call that succeeded."""

    def __init__(self, inner: PointWriter) -> None:
        self.inner = inner
        self.lines: list[str] = []

    def write(self, lines: Sequence[str]) -> None:
        self.inner.write(lines)
        self.lines.extend(lines)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def shim(influxd: InfluxdProcess) -> Iterator[InfluxShim]:
    with InfluxShim(upstream_url=influxd.url) as s:
        yield s


def writer(kind: str, shim: InfluxShim, db: str, timeout_s: float = 5.0) -> PointWriter:
    if kind == "v1":
        return InfluxV1Writer(url=shim.url, database=db, timeout_s=timeout_s)
    return InfluxV2Writer(url=shim.url, org="o", bucket=db, token=SecretStr("u:p"), timeout_s=timeout_s)


def stored(influxd: InfluxdProcess, db: str) -> int:
    res: Any = influxd.query('SELECT count(f) FROM "fault"', db=db)
    s = res["results"][0].get("series", [])
    return int(s[0]["values"][0][1]) if s else 0


def policy(sleep: RecordingSleep) -> WritePolicy:
    return WritePolicy(WritePolicyConfig(initial_backoff_s=0.5, max_backoff_s=4.0), sleep=sleep, rng=random.Random(3))


@pytest.mark.parametrize("kind", ["v1", "v2"])
def test_429_and_503_retry_after_is_honoured(
    kind: str, shim: InfluxShim, influxd: InfluxdProcess, influx_db: str
) -> None:
    shim.plan.fail_next(1, 429, retry_after_s=2)
    shim.plan.fail_next(1, 503, retry_after_s=7)
    sleep = RecordingSleep()
    out = policy(sleep).write_durably(writer(kind, shim, influx_db), LINES, stop=threading.Event())
    assert sleep.waits == [2.0, 7.0]
    assert (out.written, out.rejected, out.attempts, out.retries) == (200, [], 3, 2)
    assert shim.count("write:429") == 1 and shim.count("write:503") == 1 and shim.count("write:204") == 1
    assert stored(influxd, influx_db) == 200


@pytest.mark.parametrize("kind", ["v1", "v2"])
def test_500_then_success_backs_off_with_jitter(
    kind: str, shim: InfluxShim, influxd: InfluxdProcess, influx_db: str
) -> None:
    shim.plan.fail_next(3, 500)
    sleep = RecordingSleep()
    out = policy(sleep).write_durably(writer(kind, shim, influx_db), LINES, stop=threading.Event())
    assert out.written == 200 and out.retries == 3
    assert len(sleep.waits) == 3
    for wait, cap in zip(sleep.waits, [0.5, 1.0, 2.0], strict=True):
        assert cap / 2 <= wait <= cap
    assert stored(influxd, influx_db) == 200


@pytest.mark.parametrize("kind", ["v1", "v2"])
def test_413_splits_and_writes_every_line_exactly_once(
    kind: str, shim: InfluxShim, influxd: InfluxdProcess, influx_db: str
) -> None:
    shim.plan.max_body_bytes(2_000)  # ~45 lines per request fit
    w = Accepted(writer(kind, shim, influx_db))
    p = policy(RecordingSleep())
    out = p.write_durably(w, LINES, stop=threading.Event())
    assert out.written == 200 and out.rejected == []
    assert sorted(w.lines) == sorted(LINES)  # exactly once each
    assert shim.count("write:413") == p.counters.splits_413 >= 3
    assert stored(influxd, influx_db) == 200


@pytest.mark.parametrize("kind", ["v1", "v2"])
def test_400_for_some_lines_rejects_exactly_those_and_stores_the_rest(
    kind: str, shim: InfluxShim, influxd: InfluxdProcess, influx_db: str
) -> None:
    bad = {LINES[5], LINES[99], LINES[150]}
    shim.plan.reject_lines(lambda ln: ln in bad)
    out = policy(RecordingSleep()).write_durably(writer(kind, shim, influx_db), LINES, stop=threading.Event())
    assert sorted(ln for ln, _ in out.rejected) == sorted(bad)
    assert {r for _, r in out.rejected} == {"unable to parse: rejected by influx_shim"}
    assert out.written == 197 and stored(influxd, influx_db) == 197


@pytest.mark.parametrize("kind", ["v1", "v2"])
def test_dropped_connections_are_retried(
    kind: str, shim: InfluxShim, influxd: InfluxdProcess, influx_db: str
) -> None:
    shim.plan.drop_next(2)
    sleep = RecordingSleep()
    out = policy(sleep).write_durably(writer(kind, shim, influx_db), LINES, stop=threading.Event())
    assert out.written == 200 and out.retries == 2 and len(sleep.waits) == 2
    assert shim.count("dropped") == 2 and stored(influxd, influx_db) == 200


def test_slow_answer_times_out_and_is_retried(shim: InfluxShim, influxd: InfluxdProcess, influx_db: str) -> None:
    shim.plan.delay_next(1, 1.0)
    out = policy(RecordingSleep()).write_durably(
        writer("v1", shim, influx_db, timeout_s=0.3), LINES, stop=threading.Event()
    )
    assert out.written == 200 and out.retries == 1
    assert stored(influxd, influx_db) == 200


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failure_keeps_the_batch(
    status: int, shim: InfluxShim, influxd: InfluxdProcess, influx_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    shim.plan.fail_next(3, status)
    sleep = RecordingSleep()
    out = policy(sleep).write_durably(writer("v2", shim, influx_db), LINES, stop=threading.Event())
    assert out.written == 200 and out.rejected == [] and len(sleep.waits) == 3
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 3 and all(f"HTTP {status}" in e for e in errors)
    assert not any("u:p" in e for e in errors)
    assert stored(influxd, influx_db) == 200


def test_listener_down_then_up_loses_nothing(shim: InfluxShim, influxd: InfluxdProcess, influx_db: str) -> None:
    shim.stop()
    restarted: list[int] = []

    class RestartOnThirdWait(RecordingSleep):
        def __call__(self, seconds: float, stop: threading.Event) -> bool:
            if len(self.waits) == 2:
                shim.start()
                restarted.append(1)
            return super().__call__(seconds, stop)

    sleep = RestartOnThirdWait()
    out = policy(sleep).write_durably(writer("v1", shim, influx_db), LINES, stop=threading.Event())
    assert restarted == [1] and len(sleep.waits) == 3
    assert out.written == 200 and out.retries == 3 and stored(influxd, influx_db) == 200


def test_influxd_stopped_for_a_while_loses_nothing(tmp_path: Path) -> None:
    server = InfluxdProcess(workdir=tmp_path / "influxd-outage")
    server.start()
    try:
        server.query('CREATE DATABASE "outage"')
        w = InfluxV1Writer(url=server.url, database="outage", timeout_s=2)
        w.write(LINES[:100])
        server.stop()
        waits: list[float] = []

        def sleep(seconds: float, stop: threading.Event) -> bool:
            waits.append(seconds)
            if len(waits) == 3:  # the server has been down for three attempts: bring it back
                server.start()
            return stop.is_set()

        p = WritePolicy(WritePolicyConfig(initial_backoff_s=0.1, max_backoff_s=0.5), sleep=sleep)
        out = p.write_durably(w, LINES[100:], stop=threading.Event())
        w.close()
        assert out.written == 100 and len(waits) == 3 and p.counters.retryable_errors == 3
        assert stored(server, "outage") == 200
    finally:
        server.stop()
