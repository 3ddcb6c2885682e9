from __future__ import annotations

import itertools
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from seamline.firmware_stubs.sewing.shift import BlockKind, ShiftPattern

SH = ZoneInfo("Asia/Shanghai")


def ms(y: int, mo: int, d: int, h: int, mi: int = 0) -> int:
    return int(datetime(y, mo, d, h, mi, tzinfo=SH).timestamp() * 1000)


def test_default_day_blocks() -> None:
    # Monday 2025-03-03, 07:00 .. 18:00 local
    blocks = ShiftPattern().blocks(ms(2025, 3, 3, 7), ms(2025, 3, 3, 18))
    got = [(b.start_ms, b.end_ms, b.kind) for b in blocks]
    assert got == [
        (ms(2025, 3, 3, 7), ms(2025, 3, 3, 8), BlockKind.OFF_SHIFT),
        (ms(2025, 3, 3, 8), ms(2025, 3, 3, 10), BlockKind.WORK),
        (ms(2025, 3, 3, 10), ms(2025, 3, 3, 10, 15), BlockKind.BREAK),
        (ms(2025, 3, 3, 10, 15), ms(2025, 3, 3, 12), BlockKind.WORK),
        (ms(2025, 3, 3, 12), ms(2025, 3, 3, 13), BlockKind.LUNCH),
        (ms(2025, 3, 3, 13), ms(2025, 3, 3, 15), BlockKind.WORK),
        (ms(2025, 3, 3, 15), ms(2025, 3, 3, 15, 15), BlockKind.BREAK),
        (ms(2025, 3, 3, 15, 15), ms(2025, 3, 3, 17), BlockKind.WORK),
        (ms(2025, 3, 3, 17), ms(2025, 3, 3, 18), BlockKind.OFF_SHIFT),
    ]


def test_window_starting_at_lunch_is_lunch_and_sunday_is_off() -> None:
    blocks = ShiftPattern().blocks(ms(2025, 3, 8, 12, 30), ms(2025, 3, 10, 8, 30))  # Sat 12:30 .. Mon 08:30
    kinds = [b.kind for b in blocks]
    assert kinds[0] is BlockKind.LUNCH
    sunday = ms(2025, 3, 9, 12)
    assert [b.kind for b in blocks if b.start_ms <= sunday < b.end_ms] == [BlockKind.OFF_SHIFT]
    assert blocks[-1].kind is BlockKind.WORK and blocks[-1].start_ms == ms(2025, 3, 10, 8)


def test_blocks_tile_multi_day_window() -> None:
    start, end = ms(2025, 3, 1, 3, 7), ms(2025, 3, 12, 21, 45)
    blocks = ShiftPattern().blocks(start, end)
    assert blocks[0].start_ms == start and blocks[-1].end_ms == end
    for a, b in itertools.pairwise(blocks):
        assert a.end_ms == b.start_ms and a.start_ms < a.end_ms


@pytest.mark.parametrize(
    "kwargs",
    [
        {"work": ((time(12), time(8)),)},
        {"work": ((time(8), time(12)), (time(11), time(13)))},
        {"breaks": ((time(12, 30), time(12, 45)),)},
        {"tz": "Mars/Olympus"},
        {"workdays": frozenset({7})},
    ],
)
def test_invalid_patterns_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises((ValueError, KeyError)):  # ZoneInfoNotFoundError is a KeyError
        ShiftPattern(**kwargs)  # type: ignore[arg-type]
