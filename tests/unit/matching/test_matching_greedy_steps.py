"""The greedy's inner steps on their own: ``consume`` books what ``whole_pieces`` makes of the
minutes it takes, a factory's lines are tried in rank order, the arcs of an order come back in
arc order, and the network's per-order demand is computed once and cannot be changed."""

from __future__ import annotations

import random
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seamline.matching.capacity import LineCapacity, LineKey
from seamline.matching.greedy import consume, greedy_fill, open_arcs
from seamline.matching.models import FactoryProfile, Order, ProfileBook
from seamline.matching.network import Network, arcs_by_order, build_network, select_arcs, stable_order
from seamline.matching.objective import PreferenceWeights
from seamline.matching.schedule import Booking, whole_pieces
from seamline.matching.search_state import group_minimums

D0 = date(2030, 1, 7)


@settings(max_examples=300, deadline=None)
@given(
    row=st.lists(st.floats(min_value=0.0, max_value=500.0, allow_nan=False), min_size=1, max_size=14),
    sam=st.floats(min_value=0.5, max_value=60.0),
    share=st.floats(min_value=0.0, max_value=1.0),
    due_back=st.integers(min_value=0, max_value=13),
)
def test_consume_books_the_whole_pieces_of_the_minutes_it_takes(
    row: list[float], sam: float, share: float, due_back: int
) -> None:
    due = max(len(row) - 1 - due_back, 0)
    free = np.array([row])
    fits = int(np.floor(free[0, : due + 1].sum() / sam + 1e-6))
    pieces = int(fits * share)
    if pieces <= 0:
        return
    before = free.copy()
    out = consume(free, 3, 0, due, pieces, sam)
    taken = before[0] - free[0]
    assert (taken >= 0).all() and (taken[due + 1 :] == 0).all()
    assert sum(b.pieces for b in out) == pieces
    # the same rounding as every other path: whole_pieces of the minutes taken per day
    got, booked, completed = whole_pieces(taken.tolist(), sam_min=sam, max_pieces=pieces)
    assert got == pieces
    expected = [Booking(order=3, line=0, day=k, pieces=c, std_min=b)
                for k, (b, c) in enumerate(zip(booked, completed, strict=True)) if b > 0 or c > 0]
    # (free before - free after) differs from the minutes taken by a subtraction's round-off
    assert [(b.order, b.line, b.day, b.pieces) for b in out] == [(b.order, b.line, b.day, b.pieces) for b in expected]
    assert [b.std_min for b in out] == pytest.approx([b.std_min for b in expected], rel=1e-12, abs=1e-9)


def test_consume_worked_example() -> None:
    # 5 pieces of SAM 7 = 35 std-min from [20, 20, 20]: 20 on day 0 (2 pieces, 6 in progress),
    # 15 on day 1 (3 more), nothing on day 2
    free = np.array([[20.0, 20.0, 20.0]])
    out = consume(free, 0, 0, 2, 5, 7.0)
    assert [(b.day, b.pieces, b.std_min) for b in out] == [(0, 2, 20.0), (1, 3, 15.0)]
    assert free.tolist() == [[0.0, 5.0, 20.0]]


def test_lines_of_a_factory_are_tried_in_rank_order() -> None:
    # one factory with three lines of 10 std-min; the order needs 15: the two best-ranked lines
    lines = [
        LineCapacity(key=LineKey(enterprise="f", site="s", line=f"l{j}"), categories=frozenset({"x"}),
                     days=(D0,), free_std_min=(10.0,), efficiency=0.5)
        for j in range(3)
    ]
    orders = [Order(order_id="A", buyer="b", category="x", sam_min=1.0, quantity=15, due=D0)]
    net = build_network(orders, lines, ProfileBook(), PreferenceWeights())
    for rank, expected in (([2.0, 0.0, 1.0], [(1, 10), (2, 5)]), ([0.0, 2.0, 1.0], [(0, 10), (2, 5)])):
        bookings, _ = greedy_fill(net, residual=net.cap, remaining_pieces={0: 15}, arc_rank=np.array(rank))
        assert [(b.line, b.pieces) for b in bookings] == expected


def test_factories_are_tried_by_their_best_ranked_line() -> None:
    # f0's lines rank 3 and 1, f1's rank 2: f0 first (its best line ranks 1), there line 1 first
    lines = [
        LineCapacity(key=LineKey(enterprise=e, site="s", line=ln), categories=frozenset({"x"}),
                     days=(D0, D0 + timedelta(days=1)), free_std_min=(4.0, 4.0), efficiency=0.5)
        for e, ln in (("f0", "a"), ("f0", "b"), ("f1", "c"))
    ]
    orders = [Order(order_id="A", buyer="b", category="x", sam_min=2.0, quantity=10, due=D0 + timedelta(days=1))]
    net = build_network(orders, lines, ProfileBook(), PreferenceWeights())
    bookings, _ = greedy_fill(net, residual=net.cap, remaining_pieces={0: 10}, arc_rank=np.array([3.0, 1.0, 2.0]))
    assert [(b.line, b.pieces) for b in bookings] == [(1, 2), (1, 2), (0, 2), (0, 2), (2, 2)]


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.integers(min_value=0, max_value=6), max_size=40), presorted=st.booleans())
def test_stable_order_is_the_stable_argsort(keys: list[int], presorted: bool) -> None:
    a = np.array(sorted(keys) if presorted else keys, dtype=np.int64)
    assert stable_order(a).tolist() == np.argsort(a, kind="stable").tolist()


def _two_orders() -> tuple[list[Order], list[LineCapacity]]:
    lines = [
        LineCapacity(key=LineKey(enterprise=f"f{j}", site="s", line="l"), categories=frozenset({"x"}),
                     days=(D0,), free_std_min=(100.0,), efficiency=0.5)
        for j in range(3)
    ]
    orders = [Order(order_id=f"o{i}", buyer="b", category="x", sam_min=2.5 + i, quantity=10 * (i + 1), due=D0)
              for i in range(2)]
    return orders, lines


def test_arcs_by_order_keeps_arc_order_within_an_order() -> None:
    orders, lines = _two_orders()
    net = build_network(orders, lines, ProfileBook(), PreferenceWeights())
    got = arcs_by_order(net)
    assert {i: a.tolist() for i, a in got.items()} == {0: [0, 1, 2], 1: [3, 4, 5]}
    sub = select_arcs(net, np.array([True, False, True, False, True, True]))
    assert {i: a.tolist() for i, a in arcs_by_order(sub).items()} == {0: [0, 1], 1: [2, 3]}


def test_demand_is_computed_once_and_read_only() -> None:
    orders, lines = _two_orders()
    net = build_network(orders, lines, ProfileBook(), PreferenceWeights())
    assert net.demand_std_min().tolist() == [25.0, 70.0]  # 10 × 2.5, 20 × 3.5
    sub = select_arcs(net, np.zeros(net.n_arcs, dtype=np.bool_))
    assert sub.demand_std_min() is net.demand_std_min()
    with pytest.raises(ValueError):
        net.demand_std_min()[0] = 1.0


def _random_network(seed: int) -> Network:
    """Up to 6 factories' lines with random free minutes, orders with minimums and due days."""
    rng = random.Random(seed)
    n_d = rng.randint(1, 4)
    lines = [
        LineCapacity(key=LineKey(enterprise=f"f{rng.randint(0, 5)}", site="s", line=f"l{j}"),
                     categories=frozenset({"x"}), days=tuple(D0 + timedelta(days=k) for k in range(n_d)),
                     free_std_min=tuple(float(rng.choice([0, 0, 3, 10, 40])) for _ in range(n_d)), efficiency=0.5)
        for j in range(rng.randint(1, 8))
    ]
    book = ProfileBook(profiles={f"f{f}": FactoryProfile(enterprise=f"f{f}", moq_pieces=rng.choice([0, 3, 8]))
                                 for f in range(6)})
    orders = [Order(order_id=f"o{i}", buyer="b", category="x", sam_min=rng.choice([1.0, 2.5, 7.0]),
                    quantity=rng.randint(1, 30), due=D0 + timedelta(days=rng.randint(0, n_d)),
                    min_qty_per_factory=rng.choice([0, 0, 5]), splittable=rng.random() > 0.2)
              for i in range(rng.randint(1, 6))]
    return build_network(orders, lines, book, PreferenceWeights())


@pytest.mark.parametrize("seed", range(60))
def test_open_arcs_are_the_arcs_a_piece_still_fits_on(seed: int) -> None:
    net = _random_network(seed)
    rng = random.Random(seed)
    free = net.cap * np.array([[rng.choice([0.0, 0.5, 1.0]) for _ in range(net.cap.shape[1])]
                               for _ in range(net.cap.shape[0])]).reshape(net.cap.shape)
    left = {i: rng.choice([0, 1, 5]) for i in range(len(net.orders))}
    cum = np.cumsum(free, axis=1)
    oracle: dict[int, list[int]] = {}
    for a in range(net.n_arcs):  # the plain loop: pieces left, a due day, a piece's minutes free by it
        i, due = int(net.arc_order[a]), int(net.due_k[net.arc_order[a]])
        if left[i] > 0 and due >= 0 and cum[net.arc_line[a], due] / net.orders[i].sam_min + 1e-6 >= 1:
            oracle.setdefault(i, []).append(a)
    assert {i: a.tolist() for i, a in open_arcs(net, cum, left).items()} == oracle


@pytest.mark.parametrize("seed", range(60))
def test_group_minimums_are_the_largest_minimum_of_each_order_and_factory(seed: int) -> None:
    net = _random_network(seed)
    oracle: dict[tuple[int, int], float] = {}
    for a in range(net.n_arcs):
        key = (int(net.arc_order[a]), int(net.line_factory[net.arc_line[a]]))
        oracle[key] = max(oracle.get(key, 0.0), float(net.arc_min_std_min[a]))
    assert group_minimums(net) == oracle


def test_the_random_networks_are_not_vacuous() -> None:
    nets = [_random_network(seed) for seed in range(60)]
    assert sum(n.n_arcs for n in nets) > 300
    assert sum(int((n.arc_min_std_min > 0).sum()) for n in nets) > 50  # minimums in play
    assert sum(len(group_minimums(n)) < n.n_arcs for n in nets) > 10  # factories with several lines
