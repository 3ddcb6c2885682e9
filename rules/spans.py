"""Sets of time spans in UTC epoch seconds: the arithmetic every coverage and KPI rule shares.

A :class:`Span` is half-open ``[start_s, end_s)``. A :class:`SpanSet` keeps its spans sorted,
disjoint and non-touching, so totals never double count and set operations are exact.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
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


def _normalise(spans: Iterable[Span]) -> tuple[Span, ...]:
    ordered = sorted(s for s in spans if s.end_s > s.start_s)
    out: list[Span] = []
    for span in ordered:
        if out and span.start_s <= out[-1].end_s:
            last = out[-1]
            out[-1] = Span(last.start_s, max(last.end_s, span.end_s))
        else:
            out.append(span)
    return tuple(out)


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

    def intersect(self, other: SpanSet) -> SpanSet:
        out: list[Span] = []
        i = j = 0
        a, b = self.spans, other.spans
        while i < len(a) and j < len(b):
            start = max(a[i].start_s, b[j].start_s)
            end = min(a[i].end_s, b[j].end_s)
            if end > start:
                out.append(Span(start, end))
            if a[i].end_s < b[j].end_s:
                i += 1
            else:
                j += 1
        return SpanSet(tuple(out))

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
