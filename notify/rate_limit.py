"""Per-channel send limit: at most ``messages`` sends in any window of ``per_s`` seconds.

A sliding window, not a token bucket: a full bucket of N plus a minute of refill lets 2N through
in one minute, and DingTalk answers more than 20 messages a minute with ten minutes of silence
for the robot. The window remembers the last N send times (memory N), so it is exact. Pure:
times are arguments (seconds, any monotonic-enough clock; the service uses wall-clock time so
the history survives a restart through the outbox).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable


class SlidingWindowLimit:
    def __init__(self, *, messages: int, per_s: float, history: Iterable[float] = ()) -> None:
        if messages < 1 or per_s <= 0:
            raise ValueError(f"need messages >= 1 and per_s > 0, got {messages}, {per_s}")
        self.messages = messages
        self.per_s = per_s
        self._sent: deque[float] = deque(sorted(history)[-messages:], maxlen=messages)

    def wait_s(self, now: float) -> float:
        """Seconds until one more send is allowed (0 = now)."""
        if len(self._sent) < self.messages:
            return 0.0
        return max(0.0, self._sent[0] + self.per_s - now)

    def record(self, now: float) -> None:
        """A send happened at ``now``."""
        self._sent.append(now)
