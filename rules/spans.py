"""Sets of time spans in UTC epoch seconds: the arithmetic every coverage and KPI rule shares.

A :class:`Span` is half-open ``[start_s, end_s)``. A :class:`SpanSet` keeps its spans sorted,
disjoint and non-touching, so totals never double count and set operations are exact.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """Half-open time span ``[start_s, end_s)`` in UTC epoch seconds."""

    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        if not self.end_s >= self.start_s:
            raise ValueError(f"span end {self.end_s} before start {self.start_s}")

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def overlap_s(self, other: Span) -> float:
        """Seconds shared with ``other`` (0 when disjoint)."""
        return max(0.0, min(self.end_s, other.end_s) - max(self.start_s, other.start_s))


# A span as a plain ``(start_s, end_s)`` pair: the hot KPI loops (hundreds of state events per
# machine-hour) work on these and build :class:`Span` objects only for what they return.
Pair = tuple[float, float]


def merge_sorted(pairs: Iterable[Pair]) -> list[Pair]:
    """Union of ``(start_s, end_s)`` pairs given in ``(start, end)`` order: empty pairs dropped,
    overlapping and touching ones merged — exactly what :meth:`SpanSet.of` keeps, as pairs."""
    out: list[Pair] = []
    for start, end in pairs:
        if not end > start:
            continue
        if out and start <= out[-1][1]:
            last = out[-1]
            out[-1] = (last[0], max(last[1], end))
        else:
            out.append((start, end))
    return out


def intersect_pairs(a: Sequence[Pair], b: Sequence[Pair]) -> list[Pair]:
    """Intersection of two normalised (sorted, disjoint) pair lists by a two-pointer sweep."""
    out: list[Pair] = []
    i = j = 0
    na, nb = len(a), len(b)
    while i < na and j < nb:
        a_start, a_end = a[i]
        b_start, b_end = b[j]
        start = max(a_start, b_start)
        end = min(a_end, b_end)
        if end > start:
            out.append((start, end))
        if a_end < b_end:
            i += 1
        else:
            j += 1
    return out


def total_pairs_s(pairs: Iterable[Pair]) -> float:
    """Seconds covered by disjoint pairs, summed in order (the same sum as :attr:`SpanSet.total_s`)."""
    return sum(end - start for start, end in pairs)


def _normalise(spans: Iterable[Span]) -> tuple[Span, ...]:
    # Sorting (start, end) tuples orders exactly like Span's generated ordering, in C.
    merged = merge_sorted(sorted((s.start_s, s.end_s) for s in spans))
    return tuple(Span(start, end) for start, end in merged)


@dataclass(frozen=True, slots=True)
class SpanSet:
    """A normalised union of spans (sorted, disjoint, empty spans dropped)."""

    spans: tuple[Span, ...] = ()

    @classmethod
    def of(cls, spans: Iterable[Span]) -> SpanSet:
        return cls(_normalise(spans))

    @classmethod
    def single(cls, start_s: float, end_s: float) -> SpanSet:
        return cls.of([Span(start_s, end_s)])

    def __iter__(self) -> Iterator[Span]:
        return iter(self.spans)

    def __bool__(self) -> bool:
        return bool(self.spans)

    @property
    def total_s(self) -> float:
        """Total seconds covered."""
        return sum(s.duration_s for s in self.spans)

    def union(self, other: SpanSet) -> SpanSet:
        return SpanSet.of((*self.spans, *other.spans))

    @property
    def pairs(self) -> list[Pair]:
        """The spans as ``(start_s, end_s)`` pairs (normalised)."""
        return [(s.start_s, s.end_s) for s in self.spans]

    def intersect(self, other: SpanSet) -> SpanSet:
        both = intersect_pairs(self.pairs, other.pairs)
        return SpanSet(tuple(Span(start, end) for start, end in both))

    def subtract(self, other: SpanSet) -> SpanSet:
        out: list[Span] = []
        cut = other.spans
        j = 0
        for span in self.spans:
            start = span.start_s
            while j < len(cut) and cut[j].end_s <= start:
                j += 1
            k = j
            while k < len(cut) and cut[k].start_s < span.end_s:
                if cut[k].start_s > start:
                    out.append(Span(start, cut[k].start_s))
                start = max(start, cut[k].end_s)
                k += 1
            if start < span.end_s:
                out.append(Span(start, span.end_s))
        return SpanSet.of(out)

    def clip(self, start_s: float, end_s: float) -> SpanSet:
        return self.intersect(SpanSet.single(start_s, end_s))

    def overlap_s(self, span: Span) -> float:
        """Seconds of ``span`` inside this set."""
        total = 0.0
        i = bisect_right(self.spans, span.start_s, key=lambda s: s.end_s)
        while i < len(self.spans) and self.spans[i].start_s < span.end_s:
            total += self.spans[i].overlap_s(span)
            i += 1
        return total

    def contains(self, t_s: float) -> bool:
        i = bisect_right(self.spans, t_s, key=lambda s: s.end_s)
        return i < len(self.spans) and self.spans[i].start_s <= t_s
