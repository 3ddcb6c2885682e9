"""Jittered, capped exponential backoff for reconnect loops.

"Equal jitter": the n-th retry waits between half and all of ``min(max_s, initial_s * 2**n)``.
Half of the step is fixed so a failing broker sees the pressure fall off exponentially; the
other half is random so that a fleet of gateways that lost the broker at the same instant
(a broker restart) does not come back in lock-step.
"""

from __future__ import annotations

from collections.abc import Callable

# 2**62 already exceeds any sane cap expressed in seconds; clamping the exponent keeps the
# arithmetic in range however long a gateway stays offline.
_MAX_EXPONENT = 62


def backoff_delay_s(attempt: int, *, initial_s: float, max_s: float, random: Callable[[], float]) -> float:
    """Seconds to wait before retry number ``attempt`` (0 = the first retry).

    ``random`` returns a float in [0, 1) (e.g. ``random.Random().random``); the result lies in
    ``[step / 2, step]`` with ``step = min(max_s, initial_s * 2**attempt)``.
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    if initial_s <= 0 or max_s < initial_s:
        raise ValueError(f"need 0 < initial_s <= max_s, got initial_s={initial_s} max_s={max_s}")
    step = min(max_s, initial_s * 2.0 ** min(attempt, _MAX_EXPONENT))
    r = random()
    if not 0.0 <= r < 1.0:
        raise ValueError(f"random source returned {r}, expected a value in [0, 1)")
    return step / 2.0 + r * step / 2.0


class Backoff:
    """The retry counter around :func:`backoff_delay_s`: ``next_delay_s()`` after each failure,
    ``reset()`` after a success."""

    def __init__(self, *, initial_s: float, max_s: float, random: Callable[[], float]) -> None:
        backoff_delay_s(0, initial_s=initial_s, max_s=max_s, random=lambda: 0.0)  # validate early
        self._initial_s = initial_s
        self._max_s = max_s
        self._random = random
        self._attempt = 0

    @property
    def attempt(self) -> int:
        """Failures since the last reset."""
        return self._attempt

    def next_delay_s(self) -> float:
        delay = backoff_delay_s(self._attempt, initial_s=self._initial_s, max_s=self._max_s, random=self._random)
        self._attempt += 1
        return delay

    def reset(self) -> None:
        self._attempt = 0
