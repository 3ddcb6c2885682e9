"""Progress of the demo's replay: simulated minutes replayed out of the window's, followed from the
simulated clock on a thread of its own — a tqdm bar on a terminal, ~10 plain lines in a log
(:class:`seamline.progress.Progress`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from seamline.progress import Progress

# How often the bar follows the simulated clock (wall seconds): smooth enough for a person, and a
# wake-up a second costs nothing next to the replay's own threads.
FOLLOW_EVERY_S = 1.0


def replayed_min(now_ms: int, start_ms: int, end_ms: int) -> int:
    """Whole simulated minutes of ``[start_ms, end_ms)`` replayed by ``now_ms`` (UTC ms), clamped."""
    return max(0, min(now_ms, end_ms) - start_ms) // 60_000


class ReplayProgress:
    """``with ReplayProgress(now_ms=clock.now_ms, start_ms=a, end_ms=b, stream=sys.stderr): replay()``."""

    def __init__(self, *, now_ms: Callable[[], int], start_ms: int, end_ms: int, stream: TextIO,
                 every_s: float = FOLLOW_EVERY_S) -> None:
        self._now_ms, self._start_ms, self._end_ms, self._every_s = now_ms, start_ms, end_ms, every_s
        self._bar = Progress(replayed_min(end_ms, start_ms, end_ms), "replay", unit="simulated min", stream=stream)
        self._stop = threading.Event()
        self._lock = threading.Lock()  # the follower and the exit both catch up
        self._thread = threading.Thread(target=self._follow, name="demo-replay-progress", daemon=True)

    def _catch_up(self) -> None:
        with self._lock:
            done = replayed_min(self._now_ms(), self._start_ms, self._end_ms)
            if done > self._bar.done:
                self._bar.update(done - self._bar.done)

    def _follow(self) -> None:
        while not self._stop.wait(self._every_s):
            self._catch_up()

    def __enter__(self) -> ReplayProgress:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._catch_up()
        self._bar.__exit__(exc_type, exc, tb)
