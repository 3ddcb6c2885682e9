"""``matching.neighbourhood``: sub-MILPs that choose each released order's factories afresh among
every eligible one (the cluster-size search used only the pruned network's lines before), and the
cluster step for orders with big minimums and few factories, solved by CP-SAT from the current
bookings (``matching.cpsat``, checked against the exhaustive oracle)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from seamline.matching.capacity import LineCapacity, LineKey
from seamline.matching.cluster import cluster_step
from seamline.matching.cpsat import solve_hinted
from seamline.matching.formulation import build
from seamline.matching.models import Order, ProfileBook
from seamline.matching.neighbourhood import improve
from seamline.matching.network import build_network, select_arcs
from seamline.matching.objective import PreferenceWeights
from seamline.matching.schedule import Booking, booked_per_line_day, edd_minutes, to_bookings
from seamline.matching.search_state import Candidates, Index, SearchState, short_orders
from tests.support.matching_oracle import optimum_std_min
from tests.unit.matching.test_matching_oracle import SEEDS, tiny

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
                   factories_per_order=2)
    assert sum(b.pieces for b in narrow.bookings) == 80
    got: dict[int, set[int]] = {}
    for b in wide.bookings:
        got.setdefault(b.order, set()).add(b.line)
    assert sum(b.pieces for b in wide.bookings) == 160 and wide.improved == 1
    assert got[0] != got[1] and all(len(v) == 1 for v in got.values())
    assert (booked_per_line_day(wide.bookings, net.cap.shape) <= net.cap + 1e-9).all()


def test_candidates_keep_factories_in_use_and_the_roomiest_that_take_the_minimum() -> None:
    # A (100 pieces, at least 50 per factory) is booked at f3; C holds 120 of f1's 150, so f1 has
    # 30 left, below A's minimum; with 3 factories per order A may use f3 (in use first), then the
    # roomiest that take its minimum, f0 and f2; with 2, f3 and f0
    frees = [200.0, 150.0, 120.0, 100.0]
    net = build_network([_order("A", 100, minimum=50), _order("C", 120)],
                        [_line(f"f{k}", free) for k, free in enumerate(frees)], ProfileBook(), PreferenceWeights())
    state = SearchState.of(net, [Booking(order=0, line=3, day=0, pieces=60, std_min=60.0),
                            Booking(order=1, line=1, day=0, pieces=120, std_min=120.0)])
    free = net.cap - state.booked + booked_per_line_day(state.by_order[0], net.cap.shape)
    for per_order, want in ((3, [0, 2, 3]), (2, [0, 3])):
        cand = Candidates(net, Index.of(net.arc_order, 2), per_order)
        arcs = cand.arcs(np.array([0]), np.cumsum(free, axis=1), state)
        assert sorted(net.arc_line[arcs].tolist()) == want
    every = Candidates(net, Index.of(net.arc_order, 2), 0).arcs(np.array([0]), np.cumsum(free, axis=1), state)
    assert sorted(net.arc_line[every].tolist()) == [0, 1, 2, 3]


def test_cluster_step_clears_a_factory_for_an_order_with_a_big_minimum() -> None:
    # three factories of 100; A, B, C (60 each, one factory only) sit one per factory, so S (100
    # pieces, at least 100 per factory) fits nowhere: 180 booked. Released together, CP-SAT
    # (started from those bookings) gives S a factory of its own and keeps two of A, B, C: 220.
    orders = [_order("S", 100, minimum=100)] + [_order(k, 60, splittable=False) for k in "ABC"]
    net = build_network(orders, [_line(f"f{k}", 100.0) for k in range(3)], ProfileBook(), PreferenceWeights())
    state = SearchState.of(net, [Booking(order=i, line=i - 1, day=0, pieces=60, std_min=60.0) for i in (1, 2, 3)])
    released, better = cluster_step(net, state, np.arange(4), 10.0)
    assert released.tolist() == [0, 1, 2, 3]
    assert better is not None and sum(b.std_min for b in better) == 220.0
    per_line: dict[int, set[int]] = {}
    for b in better:
        per_line.setdefault(b.line, set()).add(b.order)
    assert {0} in per_line.values()  # S alone on one factory
    assert (booked_per_line_day(better, net.cap.shape) <= net.cap + 1e-9).all()


def test_cpsat_equals_the_exhaustive_optimum_on_the_oracle_instances() -> None:
    for seed in SEEDS:
        orders, lines, book = tiny(seed)
        net = build_network(orders, lines, book, PreferenceWeights())
        best = optimum_std_min(orders, lines, book)
        if net.n_arcs == 0:
            assert best == 0.0
            continue
        model = build(net, np.arange(net.n_arcs), split_penalty_std_min=0.0, whole_pieces=True)
        values = solve_hinted(model, np.zeros(model.n_x + model.n_y), 10.0)
        assert values is not None
        booked = sum(b.std_min for b in to_bookings(net, edd_minutes(net, model.x_std_min(values))))
        assert booked == pytest.approx(best, abs=1e-6), seed


def test_cpsat_needs_whole_pieces() -> None:
    net = build_network([_order("A", 5)], [_line("f0", 10.0)], ProfileBook(), PreferenceWeights())
    model = build(net, np.arange(net.n_arcs), split_penalty_std_min=0.0, whole_pieces=False)
    with pytest.raises(ValueError, match="all-integer"):
        solve_hinted(model, np.zeros(model.n_x + model.n_y), 1.0)


def test_an_order_is_short_below_its_demand_by_more_than_a_piece_tolerance() -> None:
    # demands 100 × 2.0 = 200 and 50 × 10.0 = 500 std-min; the tolerance is 1e-6 of a piece
    orders = [Order(order_id="A", buyer="b", category="x", sam_min=2.0, quantity=100, due=D0),
              Order(order_id="B", buyer="b", category="x", sam_min=10.0, quantity=50, due=D0)]
    net = build_network(orders, [_line("f0", 1000.0)], ProfileBook(), PreferenceWeights())
    assert short_orders(net, np.array([200.0, 500.0])).tolist() == [False, False]
    assert short_orders(net, np.array([200.0 - 1e-7, 498.0])).tolist() == [False, True]
    assert short_orders(net, np.array([0.0, 500.0 - 1e-4])).tolist() == [True, True]
