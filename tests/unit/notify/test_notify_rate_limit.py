from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from seamline.notify.rate_limit import SlidingWindowLimit


def test_the_n_plus_first_send_waits_for_the_oldest_to_leave_the_window() -> None:
    limit = SlidingWindowLimit(messages=3, per_s=60)
    for t in (0.0, 1.0, 2.0):
        assert limit.wait_s(t) == 0
        limit.record(t)
    assert limit.wait_s(2.5) == 57.5
    assert limit.wait_s(60.0) == 0


def test_history_from_before_a_restart_counts() -> None:
    limit = SlidingWindowLimit(messages=2, per_s=10, history=[100.0, 95.0, 99.0])
    assert limit.wait_s(101.0) == 8.0  # the last two of the history: 99 and 100


@given(st.integers(1, 20), st.floats(0.5, 120), st.lists(st.floats(0, 1000), min_size=1, max_size=200))
def test_no_window_ever_holds_more_than_the_limit(n: int, per_s: float, wishes: list[float]) -> None:
    """Send as early as allowed after each wished time; no window of per_s holds more than n."""
    limit = SlidingWindowLimit(messages=n, per_s=per_s)
    sent: list[float] = []
    clock = 0.0
    for wish in sorted(wishes):
        clock = max(clock, wish)
        clock += limit.wait_s(clock)
        limit.record(clock)
        sent.append(clock)
    for i in range(len(sent) - n):
        assert sent[i + n] - sent[i] >= per_s - 1e-9
