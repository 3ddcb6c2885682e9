"""Clocks the energy stubs accept: anything with ``now_ms()`` (UTC epoch ms), e.g.
``firmware_stubs.clock.SimClock``; plus a manual clock for deterministic tests."""

from __future__ import annotations

import threading
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int:
        """Simulated UTC epoch milliseconds."""
        ...


class ManualClock:
    """A clock that only moves when told to (tests, deterministic ground truth)."""

    def __init__(self, *, start_ms: int) -> None:
        self._now_ms = start_ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            return self._now_ms

    def advance(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("time does not go backwards")
        with self._lock:
            self._now_ms += ms
