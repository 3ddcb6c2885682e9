"""From standard minutes per (order, line) to whole pieces per day.

1. **Earliest-due-date fill** per line: orders by due day take the earliest free minutes. With the
   solver's cumulative cutoff rows satisfied this never runs past a due day (Horn's condition).
2. **Rounding to whole pieces** per (order, line): ``pieces = floor(minutes / SAM)`` (plus a
   1e-6 tolerance for solver round-off), never more than the order's quantity. Minutes beyond
   ``pieces × SAM`` are released, latest day first, so booked minutes never exceed what the
   solver booked and therefore never exceed a day's free capacity.
3. **Completion days**: a piece is counted on the day its cumulative booked minutes reach a
   multiple of SAM (work in progress carries over a day boundary, as on a real line). So the
   pieces completed by the end of any day never need more minutes than were booked up to it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from seamline.matching.network import FloatArray, Network

# Solver round-off: HiGHS' feasibility tolerance is 1e-7 (relative); 1e-6 pieces is far above
# it and far below anything that matters.
PIECE_TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class Booking:
    """``pieces`` of order ``order`` completed on line ``line`` on horizon day ``day``;
    ``std_min`` booked that day (may be > 0 with 0 pieces: a piece in progress)."""

    order: int
    line: int
    day: int
    pieces: int
    std_min: float


def edd_minutes(net: Network, x_std_min: FloatArray) -> dict[tuple[int, int], FloatArray]:
    """Per (order, line) with positive minutes: minutes per horizon day, earliest-due first."""
    out: dict[tuple[int, int], FloatArray] = {}
    active = np.flatnonzero(x_std_min > PIECE_TOLERANCE)
    if active.size == 0:
        return out
    by_line = sorted(
        active.tolist(),
        key=lambda a: (int(net.arc_line[a]), int(net.due_k[net.arc_order[a]]), int(net.arc_order[a])),
    )
    free = net.cap.copy()
    for a in by_line:
        j, i = int(net.arc_line[a]), int(net.arc_order[a])
        need = float(x_std_min[a])
        row = np.zeros(net.cap.shape[1])
        for k in range(int(net.due_k[i]) + 1):
            if need <= 0:
                break
            take = min(need, free[j, k])
            if take > 0:
                row[k] = take
                free[j, k] -= take
                need -= take
        prev = out.get((i, j))
        out[(i, j)] = row if prev is None else prev + row
    return out


def whole_pieces(per_day: list[float], *, sam_min: float, max_pieces: int) -> tuple[int, list[float], list[int]]:
    """Round one (order, line)'s minutes per day to whole pieces.

    Returns (pieces, booked std-min per day, pieces completed per day); see the module docstring.
    Plain Python floats: called ~10⁵ times at 2 000 orders on 14-day rows, where numpy scalar
    arithmetic cost seconds."""
    total = math.fsum(per_day)
    pieces = min(max_pieces, math.floor(total / sam_min + PIECE_TOLERANCE))
    keep = pieces * sam_min
    booked: list[float] = []
    completed: list[int] = []
    done_min = 0.0
    before = 0
    last = len(per_day) - 1
    for k, m in enumerate(per_day):
        take = min(m, max(keep - done_min, 0.0))
        booked.append(take)
        done_min += take
        if take > 0:
            last = k
        upto = min(pieces, math.floor(done_min / sam_min + PIECE_TOLERANCE))
        completed.append(upto - before)
        before = upto
    if before < pieces:  # round-off left the last piece a hair short: it completes on the last day used
        completed[last] += pieces - before
    return pieces, booked, completed


def bookings_of(order: int, line: int, per_day: list[float], *, sam_min: float, max_pieces: int
                ) -> tuple[int, list[Booking]]:
    """Whole pieces of one (order, line) from its minutes per day (:func:`whole_pieces`) and
    its bookings: one per day with minutes booked or pieces completed."""
    # only the days with minutes: a day without any books nothing and completes nothing in
    # whole_pieces, and a greedy or flow row has a few such days of up to 14 (~2x faster)
    days = [k for k, m in enumerate(per_day) if m != 0]
    pieces, booked, completed = whole_pieces([per_day[k] for k in days], sam_min=sam_min, max_pieces=max_pieces)
    return pieces, [Booking(order=order, line=line, day=k, pieces=c, std_min=b)
                    for k, b, c in zip(days, booked, completed, strict=True) if b > 0 or c > 0]


def to_bookings(net: Network, per_arc_days: dict[tuple[int, int], FloatArray]) -> list[Booking]:
    """Whole-piece bookings of all (order, line) pairs; pieces per order never exceed its quantity."""
    out: list[Booking] = []
    left = {i: o.quantity for i, o in enumerate(net.orders)}
    for (i, j), minutes in sorted(per_arc_days.items()):
        pieces, booked = bookings_of(i, j, minutes.tolist(), sam_min=net.orders[i].sam_min, max_pieces=left[i])
        left[i] -= pieces
        out.extend(booked)
    return out


def booked_per_line_day(bookings: Sequence[Booking], shape: tuple[int, int]) -> FloatArray:
    """Standard minutes booked per [line, horizon day]."""
    used = np.zeros(shape)
    for b in bookings:
        used[b.line, b.day] += b.std_min
    return used
