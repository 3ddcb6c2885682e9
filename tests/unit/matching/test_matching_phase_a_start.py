"""Phase A's greedy start (``twophase.phase_a_start``): the orders that come in indivisible chunks
placed in more than one sequence, earliest due first and largest chunk first, keeping the start
that books the most minutes. Worked numbers: a bin-packing case earliest-due-first loses."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from seamline.matching.capacity import LineCapacity, LineKey
from seamline.matching.greedy import edd_sequence, greedy_fill, largest_chunk_sequence
from seamline.matching.models import FactoryProfile, Order, ProfileBook
from seamline.matching.network import Network, build_network
from seamline.matching.objective import PreferenceWeights
from seamline.matching.search_state import std_min_of
from seamline.matching.twophase import phase_a_start

D0 = date(2030, 1, 7)


def _line(ent: str, free: float) -> LineCapacity:
    return LineCapacity(key=LineKey(enterprise=ent, site="s", line="l"), categories=frozenset({"x"}),
                        days=(D0, D0 + timedelta(days=1)), free_std_min=(free / 2, free / 2))


def _order(oid: str, qty: int, *, due_days: int = 1, whole: bool = False, min_qty: int = 0) -> Order:
    return Order(order_id=oid, buyer="b", category="x", sam_min=1.0, quantity=qty,
                 due=D0 + timedelta(days=due_days), splittable=not whole, min_qty_per_factory=min_qty)


def _bin_packing() -> Network:
    # f0 takes 100 std-min, f1 50. A (whole, 50) and B (whole, 100), due the same day: earliest
    # due first (then id) puts A on f0, the only line B fits whole on, so B gets nothing (50
    # booked); largest chunk first puts B on f0 and A on f1 (150 booked).
    lines = [_line("f0", 100.0), _line("f1", 50.0)]
    orders = [_order("A", 50, whole=True), _order("B", 100, whole=True)]
    return build_network(orders, lines, ProfileBook(), PreferenceWeights())


def test_largest_chunk_sequence_orders_by_the_minutes_placed_at_one_factory() -> None:
    # chunks: W whole 40 pcs × 3 min = 120; M min 30 pcs × 2 min = 60 (of 200 pcs);
    # N no minimum = 0; V whole 20 × 6 = 120, due earlier than W: before it on the tie
    orders = [
        Order(order_id="N", buyer="b", category="x", sam_min=5.0, quantity=500, due=D0),
        Order(order_id="M", buyer="b", category="x", sam_min=2.0, quantity=200, due=D0, min_qty_per_factory=30),
        Order(order_id="W", buyer="b", category="x", sam_min=3.0, quantity=40, due=D0 + timedelta(days=1),
              splittable=False),
        Order(order_id="V", buyer="b", category="x", sam_min=6.0, quantity=20, due=D0, splittable=False),
    ]
    net = build_network(orders, [_line("f0", 10_000.0)], ProfileBook(), PreferenceWeights())
    assert [net.orders[i].order_id for i in largest_chunk_sequence(net)] == ["V", "W", "M", "N"]
    assert [net.orders[i].order_id for i in edd_sequence(net)] == ["M", "N", "V", "W"]


def test_the_greedy_follows_the_sequence_it_is_given() -> None:
    net = _bin_packing()
    pieces = {0: 50, 1: 100}
    edd, _ = greedy_fill(net, residual=net.cap, remaining_pieces=pieces)
    big, free = greedy_fill(net, residual=net.cap, remaining_pieces=pieces, sequence=largest_chunk_sequence(net))
    assert std_min_of(edd) == 50.0
    assert {(b.order, net.lines[b.line].key.enterprise) for b in edd} == {(0, "f0")}
    assert std_min_of(big) == 150.0
    assert {(b.order, net.lines[b.line].key.enterprise) for b in big} == {(1, "f0"), (0, "f1")}
    assert float(free.sum()) == 0.0


def test_phase_a_start_keeps_the_start_that_books_most() -> None:
    net = _bin_packing()
    placed, free = phase_a_start(net, {0: 50, 1: 100}, np.zeros(net.n_arcs))
    assert std_min_of(placed) == 150.0
    assert float(free.sum()) == 0.0


def test_phase_a_start_keeps_earliest_due_where_it_books_more() -> None:
    # f0 takes 60 on day 0 only and f1 60 on day 1 only. E (min 40 per factory, 60 pcs, due day 0)
    # can use only f0; L (whole, 60, due day 1) fits f0 or f1. Largest chunk first puts L on f0
    # (its first line) and E gets nothing: 60; earliest due first gives E f0 and L f1: 120.
    lines = [
        LineCapacity(key=LineKey(enterprise="f0", site="s", line="l"), categories=frozenset({"x"}),
                     days=(D0, D0 + timedelta(days=1)), free_std_min=(60.0, 0.0)),
        LineCapacity(key=LineKey(enterprise="f1", site="s", line="l"), categories=frozenset({"x"}),
                     days=(D0, D0 + timedelta(days=1)), free_std_min=(0.0, 60.0)),
    ]
    orders = [_order("E", 60, due_days=0, min_qty=40), _order("L", 60, whole=True)]
    book = ProfileBook(profiles={"f1": FactoryProfile(enterprise="f1")})
    net = build_network(orders, lines, book, PreferenceWeights())
    pieces = {0: 60, 1: 60}
    rank = np.zeros(net.n_arcs)
    big, _ = greedy_fill(net, residual=net.cap, remaining_pieces=pieces, arc_rank=rank,
                         sequence=largest_chunk_sequence(net))
    assert std_min_of(big) == 60.0
    placed, _ = phase_a_start(net, pieces, rank)
    assert std_min_of(placed) == 120.0
    assert {(net.orders[b.order].order_id, net.lines[b.line].key.enterprise) for b in placed} == {
        ("E", "f0"), ("L", "f1")}
