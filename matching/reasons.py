"""Why part of an order is not in the plan: every remainder gets a reason and a detail a person
can act on (DOMAIN: unmet demand is reported, never silently dropped).

"No free capacity" is said only when it is true of the plan: a line has *room* for one more piece
of order ``i`` when, for every cutoff day ``t`` from the order's due day on, its free minutes up to
``t`` minus the minutes booked for orders due by ``t`` leave at least one SAM (Horn's condition:
exactly when earliest-due-date scheduling could add the piece). Where such room is left on a line
the order may use, the remainder is ``not_placed_by_planner`` (the plan is a heuristic's, not
proven optimal), or ``below_minimum_quantity`` when only a factory minimum stands in the way; where
it is left only on lines the order's green requirement excludes, ``green_requirement``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seamline.matching.models import Order, Unallocated, UnallocatedReason
from seamline.matching.network import FloatArray, IntArray, Network, arcs_by_order
from seamline.matching.schedule import PIECE_TOLERANCE, Booking


def room_from_due(net: Network, bookings: Sequence[Booking]) -> FloatArray:
    """[line, day d]: the most standard minutes work due on day ``d`` could still get on the line
    without moving anything booked (min over cutoffs t >= d of free-up-to-t minus booked-due-by-t)."""
    due_load = np.zeros(net.cap.shape)
    for b in bookings:
        due_load[b.line, net.due_k[b.order]] += b.std_min
    slack = net.cum - np.cumsum(due_load, axis=1)
    return np.asarray(np.minimum.accumulate(slack[:, ::-1], axis=1)[:, ::-1], dtype=np.float64)


def unallocated(net: Network, bookings: Sequence[Booking]) -> list[Unallocated]:
    """One entry per order with pieces left after ``bookings``, with its reason."""
    placed = dict.fromkeys(range(len(net.orders)), 0)
    used: dict[int, set[int]] = {}
    for b in bookings:
        placed[b.order] += b.pieces
        used.setdefault(b.order, set()).add(int(net.line_factory[b.line]))
    room = room_from_due(net, bookings)
    arcs_of = arcs_by_order(net)
    empty: IntArray = np.zeros(0, dtype=np.int64)
    out = []
    for i, order in enumerate(net.orders):
        left = order.quantity - placed[i]
        if left <= 0:
            continue
        reason, detail = _reason(net, i, left, arcs_of.get(i, empty), room, used.get(i, set()))
        out.append(
            Unallocated(
                order_id=order.order_id, pieces=left, std_min=left * order.sam_min, reason=reason, detail=detail
            )
        )
    return out


def _requirement(order: Order) -> str:
    parts = []
    if order.green_share_min is not None:
        parts.append(f"green share >= {100 * order.green_share_min:g} %")
    if order.co2e_max_per_piece is not None:
        parts.append(f"<= {order.co2e_max_per_piece:g} kg CO2e per piece")
    return " and ".join(parts)


def _reason(
    net: Network, i: int, left: int, arcs: IntArray, room: FloatArray, used: set[int]
) -> tuple[UnallocatedReason, str]:
    order = net.orders[i]
    if not net.has_category[i]:
        return UnallocatedReason.NO_ELIGIBLE_FACTORY, f"no factory makes category {order.category!r}"
    if not net.has_green_line[i]:
        return UnallocatedReason.GREEN_REQUIREMENT, (
            f"no line making {order.category!r} has {_requirement(order)} (unknown figures do not count)"
        )
    if not net.minimum_le_quantity[i]:
        return UnallocatedReason.BELOW_MINIMUM_QUANTITY, (
            f"{order.quantity} pieces is below the minimum of every factory making {order.category!r}"
        )
    due = int(net.due_k[i])
    if due < 0:
        return UnallocatedReason.INSUFFICIENT_CAPACITY_BEFORE_DUE, f"no capacity reported on or before {order.due}"
    piece = order.sam_min * (1 - PIECE_TOLERANCE)
    lines = net.arc_line[arcs]
    has_room = room[lines, due] >= piece
    if has_room.any():
        found = _room_reason(net, i, left, arcs[has_room], room, used)
        if found is not None:
            return found
    if order.has_green_requirement:
        cat = np.array([order.category in c for c in net.line_categories], dtype=np.bool_)
        excluded = np.flatnonzero(cat & ~net.green_ok(i, np.arange(len(net.lines))))
        with_room = int((room[excluded, due] >= piece).sum())
        if with_room:
            return UnallocatedReason.GREEN_REQUIREMENT, (
                f"lines with {_requirement(order)} are full on or before {order.due}; "
                f"{with_room} lines with free capacity do not meet it"
            )
    what = "no single factory has room for all of it" if not order.splittable else "no free capacity"
    return UnallocatedReason.INSUFFICIENT_CAPACITY_BEFORE_DUE, f"{what} on or before {order.due}"


def _room_reason(
    net: Network, i: int, left: int, arcs: IntArray, room: FloatArray, used: set[int]
) -> tuple[UnallocatedReason, str] | None:
    """The reason when lines the order may use still have room (``arcs``), or None when that room
    cannot take it after all (a whole order that no single factory has room for)."""
    order = net.orders[i]
    due = int(net.due_k[i])
    factories = net.line_factory[net.arc_line[arcs]]
    if not order.splittable:
        fac_room = np.bincount(factories, weights=room[net.arc_line[arcs], due], minlength=len(net.factories))
        if not (fac_room >= order.std_min * (1 - PIECE_TOLERANCE)).any():
            return None
        return UnallocatedReason.NOT_PLACED_BY_PLANNER, (
            f"a factory still has room for all of it on or before {order.due}; the plan is not proven optimal"
        )
    line_room = room[net.arc_line[arcs], due]
    fac_room = np.bincount(factories, weights=line_room, minlength=len(net.factories))
    is_used = np.isin(factories, np.fromiter(used, dtype=np.int64, count=len(used)))
    minimum = net.arc_min_std_min[arcs]
    fits = (minimum <= left * order.sam_min + PIECE_TOLERANCE) & (
        fac_room[factories] >= minimum * (1 - PIECE_TOLERANCE)
    )
    blocked = ~is_used & ~fits
    if blocked.all():
        return UnallocatedReason.BELOW_MINIMUM_QUANTITY, (
            f"remaining {left} pieces are below the minimum of every factory with free capacity"
        )
    return UnallocatedReason.NOT_PLACED_BY_PLANNER, (
        f"{int((~blocked).sum())} eligible lines still have room on or before {order.due}; "
        "the plan is not proven optimal"
    )
