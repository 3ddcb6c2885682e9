"""The matching network: which order may use which line, with what capacity before its due day.

Pure numpy. Lines are indexed ``j``, orders ``i``, horizon days ``k``; ``cum[j, k]`` is the free
standard minutes of line ``j`` on days ``0..k``. An *arc* ``(i, j)`` exists when line ``j`` makes
the order's category (its measured categories, narrowed by its factory profile) and meets the
order's green requirement (:func:`green_ok`), the factory
accepts the order's quantity (its MOQ and the order's own per-factory minimum), the factory has
at least that minimum in free minutes before the due day, and the line has any.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from seamline.matching.capacity import LineCapacity, horizon
from seamline.matching.models import Order, ProfileBook
from seamline.matching.objective import PreferenceWeights, preference_cost, with_grade

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, kw_only=True)
class Network:
    orders: tuple[Order, ...]
    lines: tuple[LineCapacity, ...]
    days: tuple[date, ...]
    cap: FloatArray  # [line, day] free std-min
    cum: FloatArray  # [line, day] cumulative free std-min
    due_k: IntArray  # [order] index of the last horizon day <= due, -1 if none
    line_factory: IntArray  # [line] factory index
    line_categories: tuple[frozenset[str], ...]  # [line] categories it accepts (profile applied)
    factories: tuple[str, ...]  # factory index -> enterprise
    # arcs
    arc_order: IntArray
    arc_line: IntArray
    arc_pref: FloatArray  # level-3 cost in [0, 1]
    arc_min_std_min: FloatArray  # minimum std-min at the arc's factory if used (0 = none)
    # diagnostics per order, for the reasons of unallocated remainders
    has_category: BoolArray  # some line makes the category
    minimum_le_quantity: BoolArray  # some such factory's minimum is <= the order's quantity
    has_green_line: BoolArray  # some line of the category meets the order's green requirement
    line_green_share: FloatArray  # [line] fraction, NaN = unknown
    line_co2e_kg_per_piece: FloatArray  # [line] kg CO2e per piece, NaN = unknown
    order_std_min: FloatArray  # [order] demand in std-min (read-only; the search asks for it per neighbourhood)

    @property
    def n_arcs(self) -> int:
        return int(self.arc_order.size)

    def demand_std_min(self) -> FloatArray:
        return self.order_std_min

    def green_ok(self, i: int, lines: IntArray) -> BoolArray:
        """Per line of ``lines``: it meets order ``i``'s green requirement (unknown figures do not)."""
        return green_ok(self.orders[i], self.line_green_share[lines], self.line_co2e_kg_per_piece[lines])


def green_ok(order: Order, green_share: FloatArray, co2e_kg_per_piece: FloatArray) -> BoolArray:
    """Per line: its green share is at least the order's ``green_share_min`` and its kg CO2e per
    piece at most ``co2e_max_per_piece`` (each only where the order sets it). A line whose figure is
    unknown (NaN) fails a requirement on that figure: the buyer asked for evidence.

    Per line rather than blended over the order: a buyer's audit looks at each factory that made
    the goods, and a per-line rule keeps the problem a network flow (a blend would add one
    non-network row per order). 1e-9 absorbs float noise in published fractions."""
    ok = np.ones(green_share.shape, dtype=np.bool_)
    if order.green_share_min is not None:
        ok &= np.nan_to_num(green_share, nan=-1.0) >= order.green_share_min - 1e-9
    if order.co2e_max_per_piece is not None:
        ok &= np.nan_to_num(co2e_kg_per_piece, nan=np.inf) <= order.co2e_max_per_piece + 1e-9
    return ok


def _accepted_categories(line: LineCapacity, book: ProfileBook) -> frozenset[str]:
    prof = book.profile(line.key.enterprise)
    if prof.categories is None:
        return line.categories
    return line.categories & frozenset(prof.categories)


def build_network(
    orders: Sequence[Order], lines: Sequence[LineCapacity], book: ProfileBook, weights: PreferenceWeights
) -> Network:
    """All eligible arcs (not yet pruned). Cost O(orders × lines of the order's category)."""
    days = horizon(lines)
    day_index = {d: k for k, d in enumerate(days)}
    n_l, n_d = len(lines), len(days)
    cap = np.zeros((n_l, max(n_d, 1)), dtype=np.float64)
    for j, ln in enumerate(lines):
        for d, m in zip(ln.days, ln.free_std_min, strict=True):
            cap[j, day_index[d]] = m
    cum = np.cumsum(cap, axis=1)
    factories = tuple(sorted({ln.key.enterprise for ln in lines}))
    f_index = {e: f for f, e in enumerate(factories)}
    line_factory = np.array([f_index[ln.key.enterprise] for ln in lines], dtype=np.int64)
    fac_cum = np.zeros((len(factories), cum.shape[1]), dtype=np.float64)
    np.add.at(fac_cum, line_factory, cum)
    moq = np.array([book.profile(e).moq_pieces for e in factories], dtype=np.float64)
    line_pref = np.array(
        [_line_pref(ln, book, weights) for ln in lines] if lines else [], dtype=np.float64
    )
    accepted = tuple(_accepted_categories(ln, book) for ln in lines)
    by_cat: dict[str, list[int]] = {}
    for j, cats in enumerate(accepted):
        for c in cats:
            by_cat.setdefault(c, []).append(j)
    cat_lines = {c: np.array(js, dtype=np.int64) for c, js in by_cat.items()}

    day_ord = np.array([d.toordinal() for d in days], dtype=np.int64)
    due_k = np.array(
        [int(np.searchsorted(day_ord, o.due.toordinal(), side="right")) - 1 for o in orders], dtype=np.int64
    )
    arcs_o: list[IntArray] = []
    arcs_l: list[IntArray] = []
    arcs_min: list[FloatArray] = []
    has_cat = np.zeros(len(orders), dtype=np.bool_)
    has_green = np.zeros(len(orders), dtype=np.bool_)
    min_le_qty = np.zeros(len(orders), dtype=np.bool_)
    line_green = np.array([np.nan if ln.green_share is None else ln.green_share for ln in lines], dtype=np.float64)
    line_co2e = np.array(
        [np.nan if ln.co2e_kg_per_piece is None else ln.co2e_kg_per_piece for ln in lines], dtype=np.float64
    )
    for i, o in enumerate(orders):
        js = cat_lines.get(o.category)
        if js is None or js.size == 0:
            continue
        has_cat[i] = True
        if o.has_green_requirement:
            js = js[green_ok(o, line_green[js], line_co2e[js])]
            if js.size == 0:
                continue
        has_green[i] = True
        fs = line_factory[js]
        min_pieces = np.maximum(moq[fs], float(o.min_qty_per_factory))
        if not o.splittable:
            min_pieces = np.maximum(min_pieces, float(o.quantity))  # all of it, and still >= the MOQ
        min_ok = min_pieces <= o.quantity
        min_le_qty[i] = bool(min_ok.any())
        if due_k[i] < 0:
            continue
        min_std = min_pieces * o.sam_min
        fits = min_ok & (fac_cum[fs, due_k[i]] >= min_std - 1e-9)
        keep = fits & (cum[js, due_k[i]] > 0)
        arcs_o.append(np.full(int(keep.sum()), i, dtype=np.int64))
        arcs_l.append(js[keep])
        arcs_min.append(np.where(min_pieces[keep] > 0, min_std[keep], 0.0))
    arc_order = np.concatenate(arcs_o) if arcs_o else np.zeros(0, dtype=np.int64)
    arc_line = np.concatenate(arcs_l) if arcs_l else np.zeros(0, dtype=np.int64)
    return Network(
        orders=tuple(orders),
        lines=tuple(lines),
        days=days,
        cap=cap,
        cum=cum,
        due_k=due_k,
        line_factory=line_factory,
        line_categories=accepted,
        factories=factories,
        arc_order=arc_order,
        arc_line=arc_line,
        arc_pref=line_pref[arc_line] if arc_line.size else np.zeros(0, dtype=np.float64),
        arc_min_std_min=np.concatenate(arcs_min) if arcs_min else np.zeros(0, dtype=np.float64),
        has_category=has_cat,
        minimum_le_quantity=min_le_qty,
        has_green_line=has_green,
        line_green_share=line_green,
        line_co2e_kg_per_piece=line_co2e,
        order_std_min=_read_only(np.array([o.std_min for o in orders], dtype=np.float64)),
    )


def _read_only(a: FloatArray) -> FloatArray:
    a.flags.writeable = False
    return a


def _line_pref(line: LineCapacity, book: ProfileBook, weights: PreferenceWeights) -> float:
    prof = book.profile(line.key.enterprise)
    cost = preference_cost(
        efficiency=line.efficiency,
        quality=prof.quality,
        on_time_rate=prof.on_time_rate,
        green_share=prof.green_share if line.green_share is None else line.green_share,
        weights=weights,
    )
    return with_grade(cost, grade_index=prof.grade_index, weights=weights)


def select_arcs(net: Network, keep: BoolArray) -> Network:
    """The same network restricted to the arcs where ``keep`` is true."""
    return Network(
        orders=net.orders,
        lines=net.lines,
        days=net.days,
        cap=net.cap,
        cum=net.cum,
        due_k=net.due_k,
        line_factory=net.line_factory,
        line_categories=net.line_categories,
        factories=net.factories,
        arc_order=net.arc_order[keep],
        arc_line=net.arc_line[keep],
        arc_pref=net.arc_pref[keep],
        arc_min_std_min=net.arc_min_std_min[keep],
        has_category=net.has_category,
        minimum_le_quantity=net.minimum_le_quantity,
        has_green_line=net.has_green_line,
        line_green_share=net.line_green_share,
        line_co2e_kg_per_piece=net.line_co2e_kg_per_piece,
        order_std_min=net.order_std_min,
    )


def arcs_by_order(net: Network) -> dict[int, IntArray]:
    """Order index -> indices of its arcs (orders without arcs are absent)."""
    order_sorted = stable_order(net.arc_order)
    bounds = np.searchsorted(net.arc_order[order_sorted], np.arange(len(net.orders) + 1))
    return {
        i: order_sorted[bounds[i] : bounds[i + 1]] for i in range(len(net.orders)) if bounds[i + 1] > bounds[i]
    }


def stable_order(keys: IntArray) -> IntArray:
    """``np.argsort(keys, kind="stable")``, without the sort when ``keys`` is already sorted (arcs
    are built order by order, and selecting arcs keeps that: a sort of ~3.6 M arcs costs ~0.3 s)."""
    if keys.size < 2 or bool((keys[1:] >= keys[:-1]).all()):
        return np.arange(keys.size, dtype=np.int64)
    return np.argsort(keys, kind="stable").astype(np.int64)
