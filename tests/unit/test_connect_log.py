"""Failed connection attempts are logged with their cause and next retry, rate-limited."""

from __future__ import annotations

import logging

import pytest

from seamline.connect_log import ConnectFailureLog


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_first_failure_at_once_then_a_summary_per_interval_and_a_line_on_success(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    log = ConnectFailureLog(logging.getLogger("t"), "broker b:1", retry_min_s=1, retry_max_s=30, every_s=60,
                            clock=clock)
    caplog.set_level(logging.INFO, logger="t")
    for _ in range(120):  # two minutes of failures, one a second
        log.failed(ConnectionRefusedError(111, "Connection refused"))
        clock.now += 1
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0] == "cannot connect to broker b:1: ConnectionRefusedError: Connection refused; retrying in 1 s"
    assert lines[1].startswith("still cannot connect to broker b:1 after 61 attempts over 60 s")
    assert "retrying every 30 s at most" in lines[1]
    log.connected()
    assert caplog.records[-1].getMessage() == "connected to broker b:1 after 120 failed attempts over 120 s"
    assert log.failures == 0 and log.total == 120


def test_backoff_estimate_doubles_to_the_cap() -> None:
    log = ConnectFailureLog(logging.getLogger("t"), "x", retry_min_s=0.5, retry_max_s=4)
    delays = []
    for _ in range(6):
        log.failed("refused")
        delays.append(log.next_retry_s())
    assert delays == [0.5, 1, 2, 4, 4, 4]


def test_paho_hook_reads_the_exception_being_handled(caplog: pytest.LogCaptureFixture) -> None:
    log = ConnectFailureLog(logging.getLogger("t"), "x", retry_min_s=1, retry_max_s=2)
    caplog.set_level(logging.INFO, logger="t")
    try:
        raise TimeoutError("timed out")
    except OSError:
        log.paho_hook()(None, None)
    assert "TimeoutError: timed out" in caplog.records[0].getMessage()
