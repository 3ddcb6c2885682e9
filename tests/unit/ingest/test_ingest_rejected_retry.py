"""Automatic retries of db_rejected lines: first after initial_s, doubling to max_s, capped in attempts;
deleted only once written."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from seamline.ingest.metrics import IngestMetrics
from seamline.ingest.quarantine import SOURCE_DB, QuarantineEntry, QuarantineStore
from seamline.ingest.rejected_retry import RejectedRetrier, RetrySettings
from seamline.storage.write_errors import PartialWriteError
from seamline.storage.write_policy import WritePolicy


class RefusingInflux:
    """Refuses every line (named, as InfluxDB's 400 does) while ``refusing``; stores otherwise."""

    def __init__(self) -> None:
        self.refusing = True
        self.stored: list[str] = []

    def write(self, lines: Sequence[str]) -> None:
        if self.refusing:
            raise PartialWriteError("400", bad_lines=[(i, "field type conflict") for i in range(len(lines))],
                                    unmapped=[])
        self.stored.extend(lines)

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _setup(tmp_path: Path) -> tuple[QuarantineStore, RefusingInflux, Clock, RejectedRetrier]:
    store = QuarantineStore(tmp_path / "q.sqlite", max_rows=100)
    store.add([QuarantineEntry(received_ms=1_000_000, source=SOURCE_DB, topic="t", reason="db_rejected",
                               detail="field type conflict", payload=b"m,asset=a f=1 1")])
    influx, clock = RefusingInflux(), Clock()
    retrier = RejectedRetrier(store=store, policy=WritePolicy(), writer=influx, metrics=IngestMetrics(),
                              settings=RetrySettings(initial_s=60, max_s=240, max_attempts=3, check_every_s=1),
                              clock=clock)
    return store, influx, clock, retrier


def test_not_before_initial_s_then_backoff_doubles_to_the_cap_and_stops(tmp_path: Path) -> None:
    store, influx, clock, retrier = _setup(tmp_path)
    stop = threading.Event()
    assert retrier.run_due(stop) == 0 and store.list()[0].attempts == 0  # only 0 s old: scheduled at +60 s
    clock.now += 60
    assert retrier.run_due(stop) == 0 and store.list()[0].attempts == 1
    assert [retrier.delay_s(a) for a in (0, 1, 2, 3, 4)] == [60, 120, 240, 240, 240]
    clock.now += 119
    retrier.run_due(stop)
    assert store.list()[0].attempts == 1  # not due yet
    clock.now += 1
    retrier.run_due(stop)
    clock.now += 240
    retrier.run_due(stop)
    assert store.list()[0].attempts == 3
    influx.refusing = False
    clock.now += 10_000
    assert retrier.run_due(stop) == 0 and len(store) == 1  # capped: a person replays it now
    store.close()


def test_a_line_taken_again_is_written_and_then_deleted(tmp_path: Path) -> None:
    store, influx, clock, retrier = _setup(tmp_path)
    clock.now += 60
    influx.refusing = False
    assert retrier.maybe_run(threading.Event()) == 1
    assert influx.stored == ["m,asset=a f=1 1"] and len(store) == 0
    assert retrier.maybe_run(threading.Event()) == 0  # within check_every_s: no query at all
    store.close()
