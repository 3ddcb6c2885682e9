"""The steps every candidate plan ends with: an (order, factory) share that rounding left below
its minimum dropped (:func:`enforce_minimums`), then every piece still unplaced offered greedily to
what is still free (:func:`top_up`); and how many unconstrained orders a plan leaves short."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seamline.matching.greedy import greedy_fill
from seamline.matching.network import Network
from seamline.matching.schedule import PIECE_TOLERANCE, Booking, booked_per_line_day
from seamline.matching.search_state import group_minimums, minutes_by_order, short_orders
from seamline.matching.twophase import constrained_orders


def enforce_minimums(net: Network, bookings: list[Booking]) -> list[Booking]:
    """Drop an order's share at a factory that rounding left below the factory minimum."""
    minimum = group_minimums(net)
    got: dict[tuple[int, int], float] = {}
    for b in bookings:
        key = (b.order, int(net.line_factory[b.line]))
        got[key] = got.get(key, 0.0) + b.pieces * net.orders[b.order].sam_min
    short = {k for k, m in got.items() if m + PIECE_TOLERANCE * net.orders[k[0]].sam_min < minimum.get(k, 0.0)}
    return [b for b in bookings if (b.order, int(net.line_factory[b.line])) not in short]


def top_up(net: Network, bookings: Sequence[Booking]) -> list[Booking]:
    """Whole pieces the rounding released, placed greedily into what is still free."""
    residual = np.maximum(net.cap - booked_per_line_day(bookings, net.cap.shape), 0.0)
    left = {i: o.quantity for i, o in enumerate(net.orders)}
    used: dict[int, set[int]] = {}
    for b in bookings:
        left[b.order] -= b.pieces
        used.setdefault(b.order, set()).add(int(net.line_factory[b.line]))
    extra, _ = greedy_fill(net, residual=residual, remaining_pieces=left, used_factories=used)
    return extra


def unconstrained_short(net: Network, bookings: Sequence[Booking]) -> int:
    """How many splittable orders without their own minimum book less than their demand (by more
    than a piece's tolerance), for the plan's status."""
    return int((~constrained_orders(net) & short_orders(net, minutes_by_order(bookings, len(net.orders)))).sum())
