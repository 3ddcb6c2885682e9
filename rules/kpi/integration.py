"""Time integrals and step functions over sampled signals, restricted to observed spans.

``integrate_trapezoid`` turns a sampled rate (W/m², W) into an amount (W·s/m², W·s): each pair
of consecutive good samples no further apart than ``max_gap_s`` contributes its trapezoid,
prorated by the share of the pair's interval inside ``spans``. ``step_spans`` holds a discrete
value (a status code) from its sample until the next sample, at most ``max_hold_s``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import TypeVar

from seamline.contracts.messages import Quality
from seamline.rules.spans import Span, SpanSet

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Point:
    """A sampled value at UTC epoch seconds ``ts_s``."""

    ts_s: float
    value: float
    quality: Quality = Quality.GOOD


def _good(points: Iterable[Point]) -> list[Point]:
    return sorted((p for p in points if p.quality is not Quality.STALE), key=lambda p: p.ts_s)


def integrate_trapezoid(
    points: Iterable[Point],
    spans: SpanSet,
    *,
    max_gap_s: float,
    transform: Callable[[float], float] = lambda v: v,
) -> float:
    """∫ value dt over ``spans`` (value-unit × seconds); ``transform`` is applied to each value
    first (e.g. clip negative night-time irradiance to 0)."""
    good = _good(points)
    total = 0.0
    for a, b in pairwise(good):
        dt = b.ts_s - a.ts_s
        if dt <= 0 or dt > max_gap_s:
            continue
        inside = spans.overlap_s(Span(a.ts_s, b.ts_s))
        total += (transform(a.value) + transform(b.value)) / 2.0 * inside
    return total


def step_spans(
    points: Iterable[tuple[float, K]],
    spans: SpanSet,
    *,
    max_hold_s: float,
) -> dict[K, SpanSet]:
    """Where each discrete value held (from its ``(ts_s, value)`` until the next sample, at most
    ``max_hold_s``), restricted to ``spans``."""
    ordered = sorted(points, key=lambda p: p[0])
    by_key: dict[K, list[Span]] = {}
    for i, (ts_s, key) in enumerate(ordered):
        end_s = ts_s + max_hold_s
        if i + 1 < len(ordered):
            end_s = min(end_s, ordered[i + 1][0])
        if end_s > ts_s:
            by_key.setdefault(key, []).append(Span(ts_s, end_s))
    return {k: SpanSet.of(v).intersect(spans) for k, v in by_key.items()}


def value_at(points: Iterable[Point], t_s: float, *, max_gap_s: float) -> float | None:
    """Linear interpolation at ``t_s`` between the good samples around it (``None`` when they are
    further apart than ``max_gap_s`` or ``t_s`` is outside the samples)."""
    good = _good(points)
    for a, b in pairwise(good):
        if a.ts_s <= t_s <= b.ts_s:
            if b.ts_s - a.ts_s > max_gap_s:
                return None
            if b.ts_s == a.ts_s:
                return b.value
            return a.value + (b.value - a.value) * (t_s - a.ts_s) / (b.ts_s - a.ts_s)
    if good and good[-1].ts_s == t_s:
        return good[-1].value
    return None
