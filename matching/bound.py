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
from seamline.matching.network import Network


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
    plain = replace(net, arc_pref=np.zeros(net.n_arcs))
    model = build(plain, np.arange(net.n_arcs), split_penalty_std_min=0.0, whole_pieces=False)
    # continuous minutes on every arc (a relaxation of whole pieces); binaries stay binary
    integer = np.r_[np.zeros(model.n_x, dtype=np.int64), np.ones(model.n_y, dtype=np.int64)]
    x_ub = np.minimum(net.demand_std_min()[net.arc_order], net.cum[net.arc_line, net.due_k[net.arc_order]])
    col_ub = np.r_[x_ub / model.scale, np.ones(model.n_y)]
    res = milp(model.c, constraints=LinearConstraint(model.a, model.lb, model.ub), integrality=integer,
               bounds=Bounds(np.zeros(col_ub.size), col_ub),
               options={"time_limit": max(time_limit_s, 0.1), "mip_rel_gap": 1e-6, "presolve": True})
    dual = getattr(res, "mip_dual_bound", None)
    # HiGHS minimises -minutes: its dual bound is a lower bound on that, so -dual bounds the minutes
    milp_dual = None if dual is None or not np.isfinite(dual) else -float(dual)
    # HiGHS' feasibility tolerance (1e-6 per row) could let the LP claim a hair more than exists;
    # the bound is rounded up by that much per row so it stays a bound.
    if milp_dual is not None:
        milp_dual += 1e-6 * model.a.shape[0]
    bound = flow if milp_dual is None else min(flow, milp_dual)
    status = {0: "optimal", 1: "time_limit"}.get(int(res.status), f"status_{res.status}")
    return MilpBound(bound_std_min=bound, max_flow_std_min=flow, milp_dual_std_min=milp_dual,
                     milp_status=status, seconds=time.monotonic() - started)
