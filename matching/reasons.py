"""Why part of an order is not in the plan: every remainder gets a reason and a detail a person
can act on (DOMAIN: unmet demand is reported, never silently dropped)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seamline.matching.models import Unallocated, UnallocatedReason
from seamline.matching.network import IntArray, Network, arcs_by_order
from seamline.matching.schedule import PIECE_TOLERANCE, Booking, booked_per_line_day


def unallocated(net: Network, bookings: Sequence[Booking]) -> list[Unallocated]:
    """One entry per order with pieces left after ``bookings``, with its reason."""
    placed = dict.fromkeys(range(len(net.orders)), 0)
    used: dict[int, set[int]] = {}
    for b in bookings:
        placed[b.order] += b.pieces
        used.setdefault(b.order, set()).add(int(net.line_factory[b.line]))
    residual_cum = np.cumsum(np.maximum(net.cap - booked_per_line_day(bookings, net.cap.shape), 0.0), axis=1)
    arcs_of = arcs_by_order(net)
    empty: IntArray = np.zeros(0, dtype=np.int64)
    out = []
    for i, order in enumerate(net.orders):
        left = order.quantity - placed[i]
        if left <= 0:
            continue
        reason, detail = _reason(net, i, left, arcs_of.get(i, empty), residual_cum, used.get(i, set()))
        out.append(
            Unallocated(
                order_id=order.order_id, pieces=left, std_min=left * order.sam_min, reason=reason, detail=detail
            )
        )
    return out


def _reason(
    net: Network, i: int, left: int, arcs: IntArray, residual_cum: np.ndarray, used: set[int]
) -> tuple[UnallocatedReason, str]:
    order = net.orders[i]
    if not net.has_category[i]:
        return UnallocatedReason.NO_ELIGIBLE_FACTORY, f"no factory makes category {order.category!r}"
    if not net.minimum_le_quantity[i]:
        return UnallocatedReason.BELOW_MINIMUM_QUANTITY, (
            f"{order.quantity} pieces is below the minimum of every factory making {order.category!r}"
        )
    if net.due_k[i] < 0:
        return UnallocatedReason.INSUFFICIENT_CAPACITY_BEFORE_DUE, f"no capacity reported on or before {order.due}"
    lines = net.arc_line[arcs]
    has_room = residual_cum[lines, net.due_k[i]] >= order.sam_min * (1 - PIECE_TOLERANCE)
    if has_room.any() and order.splittable:
        blocked = [
            a for a, room in zip(arcs, has_room, strict=True)
            if room and int(net.line_factory[net.arc_line[a]]) not in used
            and net.arc_min_std_min[a] > left * order.sam_min
        ]
        if len(blocked) == int(has_room.sum()):
            return UnallocatedReason.BELOW_MINIMUM_QUANTITY, (
                f"remaining {left} pieces are below the minimum of every factory with free capacity"
            )
    what = "no single factory has room for all of it" if not order.splittable else "no free capacity"
    return UnallocatedReason.INSUFFICIENT_CAPACITY_BEFORE_DUE, f"{what} on or before {order.due}"
