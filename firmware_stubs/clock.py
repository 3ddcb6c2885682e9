"""Simulated time for the firmware stubs: epoch milliseconds that run ``speed`` times faster than
the wall clock, or as fast as possible (``speed=0``).

The clock owns no thread. ``sleep_until`` blocks the caller (with the injected ``sleep``) until the
simulated instant is reached; with ``speed=0`` it only advances the virtual time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# Never sleep longer than this in one call, so a caller interrupted by a signal reacts quickly
# and a wrongly huge target does not hang a process for hours without a chance to stop.
MAX_SLEEP_CHUNK_S = 1.0


class SimClock:
    """``now_ms()`` = ``start_ms`` + elapsed wall time × ``speed`` (ms); ``speed=0`` = virtual time."""

    def __init__(
        self,
        start_ms: int,
        speed: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        anchor_s: float | None = None,
    ) -> None:
        """``anchor_s``: the ``monotonic()`` reading at which simulated time is ``start_ms``
        (default: now). Processes that share ``monotonic=time.time`` and one anchor agree on
        the simulated time."""
        if speed < 0:
            raise ValueError(f"speed must be >= 0 (0 = as fast as possible), got {speed}")
        self.start_ms = int(start_ms)
        self.speed = float(speed)
        self._monotonic = monotonic
        self._sleep = sleep
        self._t0_s = monotonic() if anchor_s is None else float(anchor_s)
        self._virtual_ms = self.start_ms  # only used when speed == 0

    @property
    def as_fast_as_possible(self) -> bool:
        return self.speed == 0.0

    def now_ms(self) -> int:
        """Current simulated time, UTC epoch milliseconds."""
        if self.as_fast_as_possible:
            return self._virtual_ms
        return self.start_ms + int((self._monotonic() - self._t0_s) * self.speed * 1000.0)

    def sleep_until(self, sim_ms: int) -> None:
        """Block until simulated time ``sim_ms`` (ms); returns at once if it has passed."""
        if self.as_fast_as_possible:
            self._virtual_ms = max(self._virtual_ms, int(sim_ms))
            return
        while True:
            wall_s = (sim_ms - self.now_ms()) / 1000.0 / self.speed
            if wall_s <= 0:
                return
            self._sleep(min(wall_s, MAX_SLEEP_CHUNK_S))
