"""``matching.parallel_search``: the neighbourhood search in two threads over disjoint
neighbourhoods. Whatever the interleaving, its bookings fit every line-day, keep every minimum and
due day, never book less than what it started from, and a result planned on minutes another
worker has taken meanwhile is dropped (``fits_beside``)."""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pytest

from bench.matching import Size, generate
from seamline.matching.capacity import LineCapacity, LineKey
from seamline.matching.models import Order, ProfileBook
from seamline.matching.network import IntArray, Network, build_network
from seamline.matching.objective import PreferenceWeights
from seamline.matching.parallel_search import fits_beside, improve_in_threads
from seamline.matching.schedule import Booking, booked_per_line_day
from seamline.matching.search_state import respects_minimums, std_min_of
from seamline.matching.twophase import constrained_orders, two_phase

D0 = date(2030, 1, 7)


def test_fits_beside_counts_what_the_move_frees_and_what_others_took() -> None:
    cap = np.array([[100.0, 50.0]])
    mine = [Booking(order=0, line=0, day=0, pieces=40, std_min=40.0)]
    # line-day (0, 0) books 90 now, 40 of them the released order's: moving to 50 there is 100, fits
    booked = np.array([[90.0, 0.0]])
    assert fits_beside(cap, booked, mine, [Booking(order=0, line=0, day=0, pieces=50, std_min=50.0)])
    # another worker took 20 more of that line-day meanwhile: 110 does not fit
    booked_later = np.array([[110.0, 0.0]])
    assert not fits_beside(cap, booked_later, mine, [Booking(order=0, line=0, day=0, pieces=50, std_min=50.0)])
    # a day the move does not touch is not checked, a new day is checked on its own
    assert fits_beside(cap, booked_later, mine, [Booking(order=0, line=0, day=1, pieces=50, std_min=50.0)])
    assert not fits_beside(cap, booked_later, mine, [Booking(order=0, line=0, day=1, pieces=51, std_min=51.0)])


def _instance(seed: int) -> tuple[Network, list[Booking], IntArray]:
    inst = generate(Size("t", 60, 40), seed=seed)
    net = build_network(inst.orders, inst.lines, inst.book, PreferenceWeights())
    start = two_phase(net, None)  # phase A's greedy and phase B, no search
    whole = constrained_orders(net)
    placed = [b for b in start.bookings if whole[b.order]]
    return net, placed, np.flatnonzero(whole)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_two_workers_keep_every_rule_and_never_lose_minutes(seed: int) -> None:
    net, placed, orders = _instance(seed)
    assert orders.size > 0
    got = improve_in_threads(net, placed, orders, deadline_s=time.monotonic() + 3.0, threads=2, max_orders=4,
                             wide=net, factories_per_order=3)
    books = got.search.bookings
    assert (booked_per_line_day(books, net.cap.shape) <= net.cap + 1e-6 * np.maximum(net.cap, 1.0)).all()
    assert respects_minimums(net, books)
    assert all(b.day <= net.due_k[b.order] for b in books)
    assert all(sum(b.pieces for b in books if b.order == i) <= net.orders[i].quantity for i in range(len(net.orders)))
    assert std_min_of(books) >= std_min_of(placed) - 1e-6
    assert std_min_of(books) == pytest.approx(std_min_of(placed) + got.search.gained_std_min, abs=1e-6)
    assert got.search.steps > 0


def test_two_workers_place_what_one_worker_places_on_a_worked_example() -> None:
    # two whole orders of 80 pieces, two factories of 100: only one fits each; placed: A at f0,
    # B nowhere. Either thread's neighbourhood moves B to f1
    lines = [LineCapacity(key=LineKey(enterprise=f"f{k}", site="s", line="l"), categories=frozenset({"x"}),
                          days=(D0,), free_std_min=(100.0,), efficiency=0.5) for k in range(2)]
    orders = [Order(order_id=o, buyer="b", category="x", sam_min=1.0, quantity=80, due=D0, splittable=False)
              for o in "AB"]
    net = build_network(orders, lines, ProfileBook(), PreferenceWeights())
    placed = [Booking(order=0, line=0, day=0, pieces=80, std_min=80.0)]
    got = improve_in_threads(net, placed, np.array([0, 1]), deadline_s=time.monotonic() + 5.0, threads=2,
                             max_orders=2, wide=net, factories_per_order=2)
    assert sum(b.pieces for b in got.search.bookings) == 160
    assert sorted({b.line for b in got.search.bookings}) == [0, 1]
