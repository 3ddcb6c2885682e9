"""``matching.neighbourhood``: sub-MILPs that choose each released order's factories afresh among
every eligible one (the cluster-size search used only the pruned network's lines before)."""

from __future__ import annotations

from datetime import date

import numpy as np

from seamline.matching.capacity import LineCapacity, LineKey
from seamline.matching.models import Order, ProfileBook
from seamline.matching.neighbourhood import _Candidates, _Index, _State, improve
from seamline.matching.network import build_network, select_arcs
from seamline.matching.objective import PreferenceWeights
from seamline.matching.schedule import Booking, booked_per_line_day

D0 = date(2030, 1, 7)


def _line(ent: str, free: float) -> LineCapacity:
    return LineCapacity(key=LineKey(enterprise=ent, site="s", line="l"), categories=frozenset({"x"}),
                        days=(D0,), free_std_min=(free,), efficiency=0.5)


def _order(oid: str, qty: int, *, minimum: int = 0, splittable: bool = True) -> Order:
    return Order(order_id=oid, buyer="b", category="x", sam_min=1.0, quantity=qty, due=D0,
                 min_qty_per_factory=minimum, splittable=splittable)


def _clock() -> float:
    return 0.0  # the deadline below is never reached: the search stops when nothing is short


def test_wide_search_reaches_a_factory_the_pruned_lines_miss() -> None:
    # two whole orders of 80 and two factories of 100: pruning kept only f0 for both, so A holds
    # f0 and B has nowhere to go; with every eligible line B (or A) moves to f1
    net = build_network([_order("A", 80, splittable=False), _order("B", 80, splittable=False)],
                        [_line("f0", 100.0), _line("f1", 100.0)], ProfileBook(), PreferenceWeights())
    pruned = select_arcs(net, net.arc_line == 0)
    placed = [Booking(order=0, line=0, day=0, pieces=80, std_min=80.0)]
    orders = np.array([0, 1])
    narrow = improve(pruned, placed, orders, deadline_s=1.0, clock=_clock, max_orders=2)
    wide = improve(pruned, placed, orders, deadline_s=1.0, clock=_clock, max_orders=2, wide=net,
                   factories_per_order=1)
    assert sum(b.pieces for b in narrow.bookings) == 80
    got: dict[int, set[int]] = {}
    for b in wide.bookings:
        got.setdefault(b.order, set()).add(b.line)
    assert sum(b.pieces for b in wide.bookings) == 160 and wide.improved == 1
    assert got[0] != got[1] and all(len(v) == 1 for v in got.values())
    assert (booked_per_line_day(wide.bookings, net.cap.shape) <= net.cap + 1e-9).all()


def test_candidates_keep_factories_in_use_and_the_roomiest_that_take_the_minimum() -> None:
    # A (100 pieces, at least 50 per factory) is booked at f3; C holds 120 of f1's 150, so f1 has
    # 30 left, below A's minimum; with 2 factories per order A may use f3 (in use), f0 and f2
    frees = [200.0, 150.0, 120.0, 100.0]
    net = build_network([_order("A", 100, minimum=50), _order("C", 120)],
                        [_line(f"f{k}", free) for k, free in enumerate(frees)], ProfileBook(), PreferenceWeights())
    state = _State.of(net, [Booking(order=0, line=3, day=0, pieces=60, std_min=60.0),
                            Booking(order=1, line=1, day=0, pieces=120, std_min=120.0)])
    cand = _Candidates(net, _Index.of(net.arc_order, 2), 2)
    free = net.cap - state.booked + booked_per_line_day(state.by_order[0], net.cap.shape)
    arcs = cand.arcs(np.array([0]), np.cumsum(free, axis=1), state)
    assert sorted(net.arc_line[arcs].tolist()) == [0, 2, 3]
    every = _Candidates(net, _Index.of(net.arc_order, 2), 0).arcs(np.array([0]), np.cumsum(free, axis=1), state)
    assert sorted(net.arc_line[every].tolist()) == [0, 1, 2, 3]
