from __future__ import annotations

import pytest

from seamline.firmware_stubs.clock import MAX_SLEEP_CHUNK_S, SimClock


class FakeTime:
    """A wall clock that only moves when somebody sleeps."""

    def __init__(self) -> None:
        self.now_s = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now_s

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now_s += s


def test_speed_factor_scales_wall_time() -> None:
    t = FakeTime()
    clock = SimClock(1_000_000, 60.0, monotonic=t.monotonic, sleep=t.sleep)
    assert clock.now_ms() == 1_000_000
    t.now_s += 2.0
    assert clock.now_ms() == 1_120_000  # 2 wall s x 60 = 120 sim s


def test_sleep_until_sleeps_sim_delta_over_speed() -> None:
    t = FakeTime()
    clock = SimClock(0, 100.0, monotonic=t.monotonic, sleep=t.sleep)
    clock.sleep_until(3_600_000)  # one simulated hour = 36 wall seconds at 100x
    assert sum(t.sleeps) == pytest.approx(36.0)
    assert max(t.sleeps) <= MAX_SLEEP_CHUNK_S
    assert clock.now_ms() == 3_600_000


def test_sleep_until_past_returns_without_sleeping() -> None:
    t = FakeTime()
    clock = SimClock(5_000, 1.0, monotonic=t.monotonic, sleep=t.sleep)
    clock.sleep_until(4_000)
    assert t.sleeps == []


def test_speed_zero_is_virtual_time() -> None:
    t = FakeTime()
    clock = SimClock(1_000, 0.0, monotonic=t.monotonic, sleep=t.sleep)
    assert clock.as_fast_as_possible
    clock.sleep_until(50_000)
    assert clock.now_ms() == 50_000
    clock.sleep_until(10_000)  # never goes back
    assert clock.now_ms() == 50_000
    assert t.sleeps == []


def test_negative_speed_rejected() -> None:
    with pytest.raises(ValueError, match="speed"):
        SimClock(0, -1.0)


def test_anchored_clocks_agree_on_simulated_time() -> None:
    wall = FakeTime()  # now_s = 100.0
    a = SimClock(5_000, 10.0, monotonic=wall.monotonic, sleep=wall.sleep, anchor_s=95.0)
    wall.now_s = 102.0
    b = SimClock(5_000, 10.0, monotonic=wall.monotonic, sleep=wall.sleep, anchor_s=95.0)
    assert a.now_ms() == b.now_ms() == 5_000 + 70_000
