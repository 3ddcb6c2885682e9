"""The cluster-wide LP over capacity pools: an upper bound on the on-time minutes of any plan.

Columns ``x[i, p]`` = standard minutes of order ``i`` made in pool ``p`` (one column per order and
pool where the order has at least one eligible line)::

    maximise   Σ x[i, p]
    subject to Σ_p x[i, p] ≤ S_i                                  (order demand, std-min)
               Σ_{i: due_i ≤ t} x[i, p] ≤ cum_p(t)   for every due day t used in pool p
               0 ≤ x[i, p] ≤ Σ_{eligible lines j of i in p} cum_j(due_i)

It is a relaxation of the real problem (pieces are divisible, factory minimums and "one factory
only" are dropped, a pool's capacity is shared although an order may be eligible on only some
of its lines), so its optimum is an upper bound on the on-time minutes of *any* plan: the bound
the planner reports its gap against. With every order's demand in one row and every pool's
nested cutoffs in others, it is exact when work is divisible and every order may use every line
of its pools (no MOQ, no minimums; see ``matching.pools``).

Size on the 2 000-order benchmark: ~55k columns, ~3k rows, ~4 s with dual simplex (the pruned
order-line LP had 85k columns plus binaries and did not finish in 30 s).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from matching.network import FloatArray, IntArray, Network
from matching.pools import Pools


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolQuotas:
    """The LP's answer: minutes per (order, pool) column. ``bound_std_min`` is None unless the LP
    was solved to optimality (a time-limited iterate bounds nothing)."""

    order: IntArray  # per column: order index
    pool: IntArray  # per column: pool index
    std_min: FloatArray  # per column: standard minutes the LP gives the order in the pool
    bound_std_min: float | None
    status: str
    columns: int
    rows: int
    seconds: float


def solve_pools(
    net: Network, pools: Pools, *, time_limit_s: float, clock: Callable[[], float] = time.monotonic
) -> PoolQuotas:
    """Solve the pool LP (HiGHS dual simplex) within ``time_limit_s`` seconds."""
    started = clock()
    n_p, n_k = pools.n, net.cum.shape[1]
    key = net.arc_order * max(n_p, 1) + pools.of_line[net.arc_line] if net.n_arcs else np.zeros(0, np.int64)
    cols, col_of_arc = np.unique(key, return_inverse=True)
    c_order = cols // max(n_p, 1)
    c_pool = cols % max(n_p, 1)
    n = int(cols.size)
    if n == 0:
        empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        return PoolQuotas(order=empty_i, pool=empty_i, std_min=empty_f, bound_std_min=0.0, status="optimal",
                          columns=0, rows=0, seconds=max(clock() - started, 0.0))
    demand = net.demand_std_min()
    c_due = net.due_k[c_order]
    eligible = np.bincount(col_of_arc, weights=net.cum[net.arc_line, net.due_k[net.arc_order]], minlength=n)
    upper = np.minimum(eligible, demand[c_order])
    a, b = _rows(c_order, c_pool, c_due, demand, pools.cum, n_k)
    res = linprog(
        -np.ones(n),
        A_ub=a,
        b_ub=b,
        bounds=np.column_stack([np.zeros(n), upper]),
        method="highs-ds",
        options={"time_limit": max(time_limit_s, 0.1), "presolve": True},
    )
    ok = res.x is not None and res.status in (0, 1)
    x = np.clip(np.asarray(res.x, dtype=np.float64), 0.0, upper) if ok else np.zeros(n)
    status = {0: "optimal", 1: "time_limit"}.get(int(res.status), f"failed_{int(res.status)}")
    return PoolQuotas(
        order=c_order,
        pool=c_pool,
        std_min=x,
        bound_std_min=-float(res.fun) if res.status == 0 else None,
        status=status,
        columns=n,
        rows=int(a.shape[0]),
        seconds=max(clock() - started, 0.0),
    )


def _rows(
    c_order: IntArray, c_pool: IntArray, c_due: IntArray, demand: FloatArray, pool_cum: FloatArray, n_k: int
) -> tuple[sparse.csr_matrix, FloatArray]:
    """Order rows, then the nested cutoff rows of each pool (a column is in every row of its pool
    whose cutoff day is at or after its due day)."""
    n = c_order.size
    uniq_orders, o_row = np.unique(c_order, return_inverse=True)
    keys, row_of_col = np.unique(c_pool * n_k + c_due, return_inverse=True)
    row_pool = keys // n_k
    last_of_pool = np.searchsorted(row_pool, row_pool, side="right")  # one past the pool's last row
    counts = last_of_pool[row_of_col] - row_of_col
    total = int(counts.sum())
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    rows = np.concatenate([o_row, uniq_orders.size + np.repeat(row_of_col, counts) + offsets])
    cols = np.concatenate([np.arange(n), np.repeat(np.arange(n), counts)])
    n_rows = uniq_orders.size + keys.size
    a = sparse.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n_rows, n))
    b = np.concatenate([demand[uniq_orders], pool_cum[row_pool, keys % n_k]])
    return a, b
