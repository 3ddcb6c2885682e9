"""A tighter upper bound on the on-time minutes: HiGHS' dual bound of the MILP with the minimums.

The planner's bound (``matching.flow.max_on_time_std_min``) is the maximum flow with every factory
minimum and "one factory only" dropped. Where those rules bind it is loose: bench seed 11, 20
orders × 60 factories, max flow 1 347 672 std-min, the MILP with the minimums proven optimal at
1 336 214 (0.85 % lower; the loss is in two early orders that cannot reach the MOQs of the
factories they share). This module bounds the same on-time minutes with the minimums kept:

    maximise Σ x_a (std-min, continuous)  subject to  demand, nested line cutoffs,
    (order, factory) 0 or >= minimum, non-splittable at one factory (binaries)

i.e. ``matching.formulation`` without preference, split penalty or whole pieces. Every plan is a
feasible point (whole pieces are a restriction of continuous minutes), so the optimum, and HiGHS'
*dual* bound at any time limit, bounds any plan; the lesser of it and the max flow is returned.

It is a benchmark's instrument, not the planner's: at 200 orders the dual bound is still within
0.001 % of the max flow after 90 s (the LP relaxation of "0 or >= minimum" is the flow itself and
branching has not moved it); at 2 000 orders the model of the constrained orders alone (~800 k
columns, ~355 k binaries) took 16 s to presolve and gave no bound in the ~50 s it was given.

For those sizes :func:`constrained_bound` keeps the binaries only where the flow is loosest (the
constrained orders with few eligible factories) and bounds the other orders by their own max flow;
HiGHS' cuts at the root move it below the max flow within a few minutes (bench seed 11, 2 000
orders: see matching/README.md).

Capacity-priced Lagrangian relaxation gives no more: each order's own "0 or >= minimum" /
"one factory" set has the flow's relaxation as its convex hull, so its dual equals the max flow
(checked: from the min-cut prices its subgradient stays there).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from seamline.matching.flow import max_on_time_std_min
from seamline.matching.formulation import build
from seamline.matching.network import BoolArray, IntArray, Network, select_arcs
from seamline.matching.twophase import constrained_orders


@dataclass(frozen=True, slots=True, kw_only=True)
class MilpBound:
    bound_std_min: float  # min(max flow, MILP dual bound)
    max_flow_std_min: float
    milp_dual_std_min: float | None  # None: HiGHS returned no bound in time
    milp_status: str
    seconds: float


def milp_bound(net: Network, *, time_limit_s: float) -> MilpBound:
    """The least of the max flow and HiGHS' dual bound of the minimum-keeping MILP after at most
    ``time_limit_s`` seconds (wall; HiGHS' own limit)."""
    started = time.monotonic()
    flow = max_on_time_std_min(net)
    if net.n_arcs == 0:
        return MilpBound(bound_std_min=flow, max_flow_std_min=flow, milp_dual_std_min=None,
                         milp_status="empty", seconds=0.0)
    milp_dual, status = _dual_bound(net, binary_orders=None, time_limit_s=time_limit_s)
    bound = flow if milp_dual is None else min(flow, milp_dual)
    return MilpBound(bound_std_min=bound, max_flow_std_min=flow, milp_dual_std_min=milp_dual,
                     milp_status=status, seconds=time.monotonic() - started)


def factories_per_order(net: Network) -> IntArray:
    """Per order: how many factories it has an arc to."""
    pairs = np.unique(np.stack([net.arc_order, net.line_factory[net.arc_line]]), axis=1)
    return np.bincount(pairs[0], minlength=len(net.orders)).astype(np.int64)


def constrained_bound(net: Network, *, time_limit_s: float, max_factories: int) -> MilpBound:
    """A bound for networks too large for :func:`milp_bound` (the cluster benchmark's 3.6 M arcs).

    Split the orders into the constrained ones C (own minimum or not splittable) and the others O.
    Any plan's bookings of C are a plan of C alone, and its bookings of O a flow of O alone, so

        on-time minutes ≤ (dual bound of C alone's MILP) + (max flow of O alone)

    and the MILP of C alone may relax more: here only the (order, factory) binaries of the
    constrained orders with at most ``max_factories`` eligible factories stay binary — the orders
    whose few big factories they contend for are where the flow is loose — and every other binary
    is continuous in [0, 1], which only enlarges the feasible set. The lesser of that and the max
    flow of the whole network is returned. ``milp_dual_std_min`` is the whole sum (C's dual bound
    plus O's max flow).
    """
    started = time.monotonic()
    flow = max_on_time_std_min(net)
    cons = constrained_orders(net)
    in_c = cons[net.arc_order]
    if not in_c.any():
        return MilpBound(bound_std_min=flow, max_flow_std_min=flow, milp_dual_std_min=None,
                         milp_status="no constrained order", seconds=time.monotonic() - started)
    others = max_on_time_std_min(select_arcs(net, ~in_c))
    few = cons & (factories_per_order(net) <= max_factories)
    c_dual, status = _dual_bound(select_arcs(net, in_c), binary_orders=few, time_limit_s=time_limit_s)
    total = None if c_dual is None else c_dual + others
    bound = flow if total is None else min(flow, total)
    return MilpBound(bound_std_min=bound, max_flow_std_min=flow, milp_dual_std_min=total,
                     milp_status=status, seconds=time.monotonic() - started)


def _dual_bound(net: Network, *, binary_orders: BoolArray | None, time_limit_s: float) -> tuple[float | None, str]:
    """HiGHS' dual bound of the on-time minutes with the minimums kept, continuous minutes on every
    arc; the (order, factory) binaries of ``binary_orders`` (None: of every order) stay binary, the
    rest are relaxed to [0, 1]. None when HiGHS has no finite bound in time."""
    plain = replace(net, arc_pref=np.zeros(net.n_arcs))
    model = build(plain, np.arange(net.n_arcs), split_penalty_std_min=0.0, whole_pieces=False)
    if binary_orders is None:
        y_binary = np.ones(model.n_y, dtype=np.bool_)
    else:
        y_order = np.full(model.n_y, -1, dtype=np.int64)
        grouped = model.group_of >= 0
        y_order[model.group_of[grouped]] = net.arc_order[np.flatnonzero(grouped)]
        y_binary = binary_orders[y_order] & (y_order >= 0)
    # continuous minutes on every arc (a relaxation of whole pieces)
    integer = np.r_[np.zeros(model.n_x, dtype=np.int64), y_binary.astype(np.int64)]
    x_ub = np.minimum(net.demand_std_min()[net.arc_order], net.cum[net.arc_line, net.due_k[net.arc_order]])
    col_ub = np.r_[x_ub / model.scale, np.ones(model.n_y)]
    res = milp(model.c, constraints=LinearConstraint(model.a, model.lb, model.ub), integrality=integer,
               bounds=Bounds(np.zeros(col_ub.size), col_ub),
               options={"time_limit": max(time_limit_s, 0.1), "mip_rel_gap": 1e-6, "presolve": True})
    dual = getattr(res, "mip_dual_bound", None)
    status = {0: "optimal", 1: "time_limit"}.get(int(res.status), f"status_{res.status}")
    if dual is None or not np.isfinite(dual):
        return None, status
    # HiGHS minimises -minutes: its dual bound is a lower bound on that, so -dual bounds the minutes.
    # HiGHS' feasibility tolerance (1e-6 per row) could let the LP claim a hair more than exists;
    # the bound is rounded up by that much per row so it stays a bound.
    return -float(dual) + 1e-6 * model.a.shape[0], status
