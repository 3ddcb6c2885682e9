from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.rules.spans import Span, SpanSet


def test_normalise_merges_overlapping_and_touching_and_drops_empty() -> None:
    s = SpanSet.of([Span(5, 7), Span(0, 2), Span(2, 3), Span(6, 9), Span(4, 4)])
    assert s.spans == (Span(0, 3), Span(5, 9))
    assert s.total_s == 7


def test_intersect_subtract_union() -> None:
    a = SpanSet.of([Span(0, 10), Span(20, 30)])
    b = SpanSet.of([Span(5, 25)])
    assert a.intersect(b).spans == (Span(5, 10), Span(20, 25))
    assert a.subtract(b).spans == (Span(0, 5), Span(25, 30))
    assert a.union(b).spans == (Span(0, 30),)
    assert b.subtract(a).spans == (Span(10, 20),)


def test_subtract_with_many_holes() -> None:
    a = SpanSet.single(0, 100)
    holes = SpanSet.of([Span(10, 20), Span(30, 40), Span(95, 200), Span(-5, 1)])
    assert a.subtract(holes).spans == (Span(1, 10), Span(20, 30), Span(40, 95))


def test_overlap_and_contains() -> None:
    a = SpanSet.of([Span(0, 10), Span(20, 30)])
    assert a.overlap_s(Span(5, 25)) == 10
    assert a.overlap_s(Span(10, 20)) == 0
    assert a.contains(0) and a.contains(29.9)
    assert not a.contains(10) and not a.contains(30) and not a.contains(-1)


def test_span_rejects_reversed() -> None:
    with pytest.raises(ValueError):
        Span(2, 1)


spans = st.lists(
    st.tuples(st.integers(0, 1000), st.integers(0, 200)).map(lambda t: Span(t[0], t[0] + t[1])), max_size=12
)


@given(spans, spans)
def test_inclusion_exclusion(a_list: list[Span], b_list: list[Span]) -> None:
    a, b = SpanSet.of(a_list), SpanSet.of(b_list)
    assert a.union(b).total_s == a.total_s + b.total_s - a.intersect(b).total_s
    assert a.subtract(b).total_s == a.total_s - a.intersect(b).total_s
    for s in a_list:
        assert a.overlap_s(s) == s.duration_s
