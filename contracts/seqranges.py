"""Inclusive ``seq`` ranges ``(first, last)``: merging, subtracting, covering. Pure; shared by the
edge's retained history and the platform's confirmer (no pydantic, no I/O)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

Range = tuple[int, int]


def merge(ranges: Iterable[Range]) -> list[Range]:
    """Ascending, disjoint, adjacent ones joined: ``[(1, 3), (4, 6), (9, 9)] -> [(1, 6), (9, 9)]``."""
    out: list[Range] = []
    for first, last in sorted(ranges):
        if out and first <= out[-1][1] + 1:
            if last > out[-1][1]:
                out[-1] = (out[-1][0], last)
        else:
            out.append((first, last))
    return out


def from_values(values: Iterable[int]) -> list[Range]:
    """The ranges covering exactly these seq values."""
    return merge((v, v) for v in values)


def subtract(ranges: Iterable[Range], minus: Iterable[Range]) -> list[Range]:
    """What of ``ranges`` is not in ``minus``."""
    holes = merge(minus)
    out: list[Range] = []
    for first, last in merge(ranges):
        cur = first
        for h_first, h_last in holes:
            if h_last < cur or h_first > last:
                continue
            if h_first > cur:
                out.append((cur, h_first - 1))
            cur = max(cur, h_last + 1)
            if cur > last:
                break
        if cur <= last:
            out.append((cur, last))
    return out


def gaps(ranges: Iterable[Range]) -> list[Range]:
    """The holes between stored ranges (not before the first nor after the last)."""
    merged = merge(ranges)
    return [(a[1] + 1, b[0] - 1) for a, b in itertools.pairwise(merged)]


def count(ranges: Iterable[Range]) -> int:
    return sum(last - first + 1 for first, last in merge(ranges))


def covers(ranges: Iterable[Range], first: int, last: int) -> bool:
    """Whether ``[first, last]`` lies wholly inside one of the (merged) ``ranges``."""
    return any(a <= first and last <= b for a, b in merge(ranges))
