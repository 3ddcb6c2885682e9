"""Jittered, capped exponential backoff."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.backoff import Backoff, backoff_delay_s


def fixed(value: float) -> random.Random:
    class Fixed(random.Random):
        def random(self) -> float:
            return value

    return Fixed()


@pytest.mark.parametrize(
    ("attempt", "r", "expected"),
    [
        (0, 0.0, 0.25),  # step 0.5 -> [0.25, 0.5]
        (0, 0.5, 0.375),
        (1, 0.0, 0.5),  # step 1.0
        (3, 0.0, 2.0),  # step 4.0
        (3, 0.75, 3.5),
        (6, 0.0, 15.0),  # step 32 capped to 30
        (6, 0.5, 22.5),
        (1000, 0.0, 15.0),  # far past the cap: no overflow
    ],
)
def test_delay_exact_values(attempt: int, r: float, expected: float) -> None:
    assert backoff_delay_s(attempt, initial_s=0.5, max_s=30.0, random=lambda: r) == pytest.approx(expected)


@given(
    attempt=st.integers(min_value=0, max_value=10_000),
    initial=st.floats(min_value=0.001, max_value=10.0),
    factor=st.floats(min_value=1.0, max_value=1000.0),
    r=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
def test_delay_within_half_and_full_step(attempt: int, initial: float, factor: float, r: float) -> None:
    max_s = initial * factor
    step = min(max_s, initial * 2.0 ** min(attempt, 62))
    d = backoff_delay_s(attempt, initial_s=initial, max_s=max_s, random=lambda: r)
    assert step / 2 - 1e-9 <= d <= step + 1e-9
    assert d <= max_s + 1e-9


def test_jitter_spreads_a_fleet() -> None:
    rng = random.Random(7)
    delays = [backoff_delay_s(4, initial_s=0.5, max_s=30.0, random=rng.random) for _ in range(1000)]
    assert min(delays) >= 4.0 and max(delays) <= 8.0
    assert len({round(d, 3) for d in delays}) > 500  # not lock-step


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"attempt": -1, "initial_s": 0.5, "max_s": 1.0}, "attempt"),
        ({"attempt": 0, "initial_s": 0.0, "max_s": 1.0}, "initial_s"),
        ({"attempt": 0, "initial_s": 2.0, "max_s": 1.0}, "initial_s"),
    ],
)
def test_bad_arguments(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        backoff_delay_s(random=lambda: 0.0, **kwargs)  # type: ignore[arg-type]


def test_bad_random_source() -> None:
    with pytest.raises(ValueError, match="random source"):
        backoff_delay_s(0, initial_s=1.0, max_s=2.0, random=lambda: 1.0)


def test_backoff_counts_and_resets() -> None:
    b = Backoff(initial_s=1.0, max_s=8.0, random=fixed(0.0).random)
    assert [b.next_delay_s() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert b.attempt == 6
    b.reset()
    assert b.attempt == 0
    assert b.next_delay_s() == 0.5


def test_backoff_validates_at_construction() -> None:
    with pytest.raises(ValueError):
        Backoff(initial_s=5.0, max_s=1.0, random=random.random)
