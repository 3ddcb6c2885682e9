"""matching.plausibility: what no real line can offer is refused with a reason; the boundary
values themselves are plausible."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from seamline.contracts.messages import CapacityDay, CapacityMessage
from seamline.matching.plausibility import CALENDAR_MIN_PER_DAY, MAX_EFFICIENCY, implausibility, screen

DAY = date(2030, 1, 7)


def capacity(*, efficiency: float = 0.6, operators: int = 10, free: float = 3000.0,
             line: str = "l1") -> CapacityMessage:
    return CapacityMessage(
        enterprise="f001", site="s1", line=line, generated_ts_ms=1_893_974_400_000, categories=["tshirt"],
        operators=operators, efficiency=efficiency, confidence=1.0,
        days=[CapacityDay(day=DAY + timedelta(days=k), available_std_min=free, booked_std_min=0, free_std_min=free)
              for k in range(3)],
    )


@pytest.mark.parametrize("efficiency", [0.01, 0.6, 1.0, MAX_EFFICIENCY])
def test_plausible_efficiency(efficiency: float) -> None:
    assert implausibility(capacity(efficiency=efficiency)) is None


@pytest.mark.parametrize("efficiency", [0.0, 1.2000001, 1.5])
def test_implausible_efficiency(efficiency: float) -> None:
    why = implausibility(capacity(efficiency=efficiency))
    assert why is not None and "efficiency" in why and "(0, 1.2]" in why


def test_free_minutes_bound_is_operators_times_calendar_minutes() -> None:
    ops = 7
    assert implausibility(capacity(operators=ops, free=ops * CALENDAR_MIN_PER_DAY)) is None
    why = implausibility(capacity(operators=ops, free=ops * CALENDAR_MIN_PER_DAY + 1))
    assert why is not None and f"{ops} operators" in why
    assert implausibility(capacity(operators=0, free=1.0)) is not None


def test_screen_keeps_order_and_names_the_line() -> None:
    forged = capacity(efficiency=1.5, free=1e9, line="forged")
    good = [capacity(line="a"), capacity(line="b")]
    out = screen([good[0], forged, good[1]])
    assert [m.line for m in out.accepted] == ["a", "b"]
    assert len(out.refused) == 1 and out.refused[0].startswith("f001/s1/forged: implausible capacity ignored: ")
