"""Greedy earliest-due-date allocation: the benchmark's baseline and the optimiser's top-up pass.

Orders by due day (then id); each takes whole pieces from its eligible factories, best
preference cost first (or any other per-arc rank, see ``matching.contention``), each line's
earliest free minutes first. It honours the same rules as the optimiser: only days up to the
due day, the factory minimum (MOQ / order minimum) when it starts using a factory, and a
non-splittable order only at one factory that can take all of it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from seamline.matching.models import Order
from seamline.matching.network import FloatArray, IntArray, Network, arcs_by_order
from seamline.matching.schedule import PIECE_TOLERANCE, Booking, bookings_of


def edd_sequence(net: Network) -> list[int]:
    return sorted(range(len(net.orders)), key=lambda i: (net.orders[i].due, net.orders[i].order_id))


def greedy_fill(
    net: Network,
    *,
    residual: FloatArray,
    remaining_pieces: dict[int, int],
    used_factories: dict[int, set[int]] | None = None,
    arc_rank: FloatArray | None = None,
) -> tuple[list[Booking], FloatArray]:
    """Place whole pieces into ``residual`` free std-min [line, day]; returns the new bookings and
    the residual after them (the input array is not modified). Each order tries its lines by
    ``arc_rank`` [arc] ascending, by default the preference cost."""
    rank = net.arc_pref if arc_rank is None else arc_rank
    free = residual.copy()
    cum_free = np.cumsum(free, axis=1)
    used = {i: set(fs) for i, fs in (used_factories or {}).items()}
    out: list[Booking] = []
    arcs_of = arcs_by_order(net)
    for i in edd_sequence(net):
        left = remaining_pieces.get(i, 0)
        arcs = arcs_of.get(i)
        if left <= 0 or arcs is None or net.due_k[i] < 0:
            continue
        order = net.orders[i]
        due = int(net.due_k[i])
        lines = net.arc_line[arcs]
        fits = np.floor(cum_free[lines, due] / order.sam_min + PIECE_TOLERANCE)
        ok = fits >= 1
        arcs, lines, fits = arcs[ok], lines[ok], fits[ok]
        ranked = np.argsort(rank[arcs], kind="stable")
        arcs, lines, fits = arcs[ranked], lines[ranked], fits[ranked]
        sam = order.sam_min
        for f, f_lines, minimum in _factories(net, order, arcs, lines, fits, used.get(i, set()), left):
            if left <= 0:
                break
            if left < minimum:  # what is left of the order is below this new factory's minimum
                continue
            for j in f_lines:
                p = min(left, math.floor(float(cum_free[j, due]) / sam + PIECE_TOLERANCE))
                if p <= 0:
                    continue
                out.extend(consume(free, i, j, due, p, order.sam_min))
                cum_free[j] = np.cumsum(free[j])
                left -= p
                if left <= 0:
                    break
            used.setdefault(i, set()).add(f)
    return out, free


def _factories(
    net: Network, order: Order, arcs: IntArray, lines: IntArray, fits: FloatArray, used: set[int], left: int
) -> Iterator[tuple[int, list[int], int]]:
    """Factories the order may use now, best-ranked line first, each with its lines in rank and
    the pieces it must take there (its minimum if not used yet, else 0).

    A new factory must take at least its minimum; a whole order needs one factory for all of it.
    ``left`` is checked here only as it was at the start: the caller re-checks the minimum
    against what is left when it reaches the factory."""
    fs = net.line_factory[lines]
    uniq, first, inverse = np.unique(fs, return_index=True, return_inverse=True)
    cap = np.bincount(inverse, weights=fits, minlength=uniq.size)
    min_pieces = np.zeros(uniq.size)
    np.maximum.at(min_pieces, inverse, np.ceil(net.arc_min_std_min[arcs] / order.sam_min - PIECE_TOLERANCE))
    is_used = np.isin(uniq, np.fromiter(used, dtype=np.int64, count=len(used)))
    if order.splittable:
        ok = is_used | (np.minimum(cap, left) >= np.maximum(min_pieces, 1))
    else:
        ok = ~is_used & (cap >= order.quantity) & (len(used) == 0)
    # each factory's lines in rank order: one stable sort by factory instead of a mask per factory
    by_factory = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=uniq.size))]).tolist()
    ranked_lines = lines[by_factory].tolist()
    for u in np.flatnonzero(ok)[np.argsort(first[ok], kind="stable")].tolist():
        yield int(uniq[u]), ranked_lines[starts[u] : starts[u + 1]], 0 if is_used[u] else int(min_pieces[u])
        if not order.splittable:
            return


def consume(free: FloatArray, i: int, j: int, due: int, pieces: int, sam_min: float) -> list[Booking]:
    """Take ``pieces × SAM`` minutes from line ``j``'s earliest days ≤ ``due``; updates ``free``."""
    need = pieces * sam_min
    row = free[j, : due + 1].tolist()  # Python floats: ~10⁵ calls at 2 000 orders
    taken = [0.0] * len(row)
    for k, m in enumerate(row):
        take = min(need, m)
        if take > 0:
            taken[k] = take
            row[k] = m - take
            need -= take
        if need <= PIECE_TOLERANCE * sam_min:
            break
    free[j, : due + 1] = row
    return bookings_of(i, j, taken, sam_min=sam_min, max_pieces=pieces)[1]
