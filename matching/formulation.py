"""The LP/MILP of one connected component, as sparse HiGHS input (see ``matching.solver``).

Columns: one per arc (std-min, or whole pieces where noted) then one binary per (order, factory)
group that needs one. An arc's column is *whole pieces* (coefficients × SAM, integer) when the
model is built with ``whole_pieces`` (the exact path: what the MILP optimises is then exactly the
plan that is returned, no rounding afterwards), and otherwise when its group has a minimum or is a
whole (non-splittable) order and spans several lines: per-line rounding could otherwise push the
group below its minimum after the solve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from seamline.matching.network import BoolArray, FloatArray, IntArray, Network
from seamline.matching.objective import preference_eps


@dataclass(frozen=True, slots=True)
class Model:
    c: FloatArray  # minimise
    a: sparse.csr_matrix
    lb: FloatArray  # row bounds
    ub: FloatArray
    col_ub: FloatArray  # column upper bounds (x in its unit, y = 1)
    integer: BoolArray  # per column
    scale: FloatArray  # std-min per unit of each x column (1, or SAM for piece columns)
    n_x: int
    n_y: int
    group_of: IntArray  # per x column: its y index, -1 if none
    group_lower: FloatArray  # per y: minimum std-min if used (0 = none)
    group_whole: BoolArray  # per y: order is not splittable

    def x_std_min(self, values: FloatArray) -> FloatArray:
        return np.asarray(values[: self.n_x], dtype=np.float64) * self.scale

    def group_std_min(self, values: FloatArray) -> FloatArray:
        sel = self.group_of >= 0
        sums = np.bincount(self.group_of[sel], weights=self.x_std_min(values)[sel], minlength=self.n_y)
        return np.asarray(sums, dtype=np.float64)


def needs_no_binary(net: Network, arcs: IntArray) -> BoolArray:
    splittable = np.array([o.splittable for o in net.orders], dtype=np.bool_)
    return np.asarray((net.arc_min_std_min[arcs] <= 0) & splittable[net.arc_order[arcs]], dtype=np.bool_)


class _Rows:
    """COO accumulator of constraint rows ``lb ≤ A·v ≤ ub``."""

    def __init__(self) -> None:
        self.rows: list[IntArray] = []
        self.cols: list[IntArray] = []
        self.vals: list[FloatArray] = []
        self.lb: list[FloatArray] = []
        self.ub: list[FloatArray] = []
        self.n = 0

    def add(self, r: IntArray, c: IntArray, v: FloatArray, lb: FloatArray, ub: FloatArray) -> None:
        self.rows.append(self.n + r)
        self.cols.append(c)
        self.vals.append(v)
        self.lb.append(lb)
        self.ub.append(ub)
        self.n += lb.size


# The split penalty never exceeds this fraction of the smallest SAM in a component: one more
# factory must never cost more than the whole piece it makes possible (a 1-std-min penalty equals
# a piece of SAM 1 and the MILP then left that piece unmade: found by the oracle cross-check).
SPLIT_PENALTY_MAX_SAM_FRACTION = 0.25


def split_cost(net: Network, orders: IntArray, split_penalty_std_min: float) -> float:
    """Objective cost of each (order, factory) binary: the configured penalty, capped below a
    quarter of the component's smallest SAM (level 2 of ``matching.objective`` stays below level 1)."""
    if orders.size == 0:
        return 0.0
    smallest = min(net.orders[int(i)].sam_min for i in orders)
    return max(min(split_penalty_std_min, SPLIT_PENALTY_MAX_SAM_FRACTION * smallest), 0.0)


def build(net: Network, arcs: IntArray, *, split_penalty_std_min: float, whole_pieces: bool = False) -> Model:
    """Objective and rows of the component made of ``arcs``; ``whole_pieces``: every arc's column
    is integer pieces."""
    a_order = net.arc_order[arcs]
    a_line = net.arc_line[arcs]
    a_due = net.due_k[a_order]
    n_x = arcs.size
    uniq_orders, o_local = np.unique(a_order, return_inverse=True)
    demand = net.demand_std_min()
    x_ub = np.minimum(demand[a_order], net.cum[a_line, a_due])
    rows = _Rows()
    ones = np.ones(n_x)
    rows.add(o_local, np.arange(n_x), ones, np.full(uniq_orders.size, -np.inf), demand[uniq_orders])
    # nested cutoff rows per line: arc a is in every row (line_a, t) with t >= due_a
    n_k = net.cum.shape[1]
    uniq_keys, row_of_arc = np.unique(a_line * n_k + a_due, return_inverse=True)
    row_line = uniq_keys // n_k
    counts = np.searchsorted(row_line, row_line, side="right")[row_of_arc] - row_of_arc
    total = int(counts.sum())
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    rows.add(
        np.repeat(row_of_arc, counts) + offsets,
        np.repeat(np.arange(n_x), counts),
        np.ones(total),
        np.full(uniq_keys.size, -np.inf),
        net.cum[row_line, uniq_keys % n_k],
    )
    c_x = -(1.0 - preference_eps(uniq_orders.size) * net.arc_pref[arcs])
    need = ~needs_no_binary(net, arcs) | (split_penalty_std_min > 0)
    group_of = np.full(n_x, -1, dtype=np.int64)
    lower = np.zeros(0)
    whole = np.zeros(0, dtype=np.bool_)
    n_y = 0
    if need.any():
        group_of, lower, whole = _binary_rows(net, arcs, need, x_ub, rows)
        n_y = lower.size
    scale = _piece_columns(net, arcs, group_of, lower, whole, every=whole_pieces)
    a = sparse.coo_matrix(
        (np.concatenate(rows.vals), (np.concatenate(rows.rows), np.concatenate(rows.cols))),
        shape=(rows.n, n_x + n_y),
    ).tocsc()
    col_scale = np.concatenate([scale, np.ones(n_y)])
    a = (a @ sparse.diags(col_scale)).tocsr()
    is_piece = np.full(n_x, True) if whole_pieces else scale != 1.0  # SAM may be exactly 1
    integer = np.concatenate([is_piece, np.ones(n_y, dtype=np.bool_)])
    col_ub = np.concatenate([np.where(is_piece, np.floor(x_ub / scale + 1e-9), x_ub), np.ones(n_y)])
    return Model(
        c=np.concatenate([c_x * scale, np.full(n_y, split_cost(net, uniq_orders, split_penalty_std_min))]),
        a=a,
        lb=np.concatenate(rows.lb),
        ub=np.concatenate(rows.ub),
        col_ub=col_ub,
        integer=integer,
        scale=scale,
        n_x=n_x,
        n_y=n_y,
        group_of=group_of,
        group_lower=lower,
        group_whole=whole,
    )


def _piece_columns(
    net: Network, arcs: IntArray, group_of: IntArray, lower: FloatArray, whole: BoolArray, *, every: bool
) -> FloatArray:
    """SAM for arcs whose column is whole pieces (``every`` arc, or multi-line groups with a
    minimum), else 1."""
    scale = np.ones(arcs.size)
    sam = np.array([o.sam_min for o in net.orders])[net.arc_order[arcs]]
    if every:
        return sam
    if lower.size == 0:
        return scale
    sel = group_of >= 0
    size = np.bincount(group_of[sel], minlength=lower.size)
    strict = (lower > 0) | whole
    piece = sel.copy()
    piece[sel] = strict[group_of[sel]] & (size[group_of[sel]] > 1)
    scale[piece] = sam[piece]
    return scale


def _binary_rows(
    net: Network, arcs: IntArray, need: BoolArray, x_ub: FloatArray, rows: _Rows
) -> tuple[IntArray, FloatArray, BoolArray]:
    """Append the linking rows; returns (group per arc or -1, minimum std-min per group, whole flags)."""
    n_x = arcs.size
    n_f = len(net.factories)
    a_order = net.arc_order[arcs]
    sel = np.flatnonzero(need)
    ugroups, g_of = np.unique(a_order[sel] * n_f + net.line_factory[net.arc_line[arcs]][sel], return_inverse=True)
    n_y = ugroups.size
    g_order = ugroups // n_f
    demand = net.demand_std_min()[g_order]
    upper = np.minimum(np.bincount(g_of, weights=x_ub[sel], minlength=n_y), demand)
    lower = np.zeros(n_y)
    np.maximum.at(lower, g_of, net.arc_min_std_min[arcs][sel])
    whole = np.array([not net.orders[i].splittable for i in g_order], dtype=np.bool_)
    y_cols = n_x + np.arange(n_y)
    # Σx − U·y ≤ 0 ; whole orders: Σx − S·y = 0
    rows.add(
        np.concatenate([g_of, np.arange(n_y)]),
        np.concatenate([sel, y_cols]),
        np.concatenate([np.ones(sel.size), -np.where(whole, demand, upper)]),
        np.where(whole, 0.0, -np.inf),
        np.zeros(n_y),
    )
    # Σx − L·y ≥ 0 where a minimum applies (whole orders are covered by the equality)
    has_min = np.flatnonzero((lower > 0) & ~whole)
    if has_min.size:
        pos = np.full(n_y, -1)
        pos[has_min] = np.arange(has_min.size)
        in_min = pos[g_of] >= 0
        rows.add(
            np.concatenate([pos[g_of][in_min], np.arange(has_min.size)]),
            np.concatenate([sel[in_min], y_cols[has_min]]),
            np.concatenate([np.ones(int(in_min.sum())), -lower[has_min]]),
            np.zeros(has_min.size),
            np.full(has_min.size, np.inf),
        )
    # whole orders: at most one factory
    whole_orders, w_of = np.unique(g_order[whole], return_inverse=True)
    if whole_orders.size:
        rows.add(w_of, y_cols[whole], np.ones(int(whole.sum())), np.full(whole_orders.size, -np.inf),
                 np.ones(whole_orders.size))
    group_of = np.full(n_x, -1, dtype=np.int64)
    group_of[sel] = g_of
    return group_of, lower, whole
