"""Solve the matching network: an LP (min-cost flow) or a MILP per connected component, HiGHS.

Formulation per component (``x_a`` = standard minutes on arc ``a = (order i, line j)``)::

    maximise   Σ_a (1 − eps·pref_a)·x_a − split_penalty·Σ_g y_g
    subject to Σ_{a∈i} x_a ≤ S_i                                    (order demand, std-min)
               Σ_{a∈j, due_a ≤ t} x_a ≤ cum_j(t)   for every due day t used on line j
               MILP groups g = (order, factory):  L_g·y_g ≤ Σ_{a∈g} x_a ≤ U_g·y_g
               not splittable: Σ_{a∈g} x_a = S_i·y_g,  Σ_g y_g ≤ 1

Days are not variables: by Horn's condition, divisible work with deadlines fits a line with
per-day capacities iff for every cutoff day the work due by then is at most the capacity up to
then, and earliest-due-date filling (``matching.schedule``) then finds the per-day plan. So the
days aggregate exactly into buckets between consecutive due days, cutting variables ~14×.

The LP's rows are two laminar families (order rows; nested cutoffs per line), so the matrix is
totally unimodular — with integral capacities the HiGHS vertex solution is integral in std-min,
i.e. it *is* the min-cost flow. We use HiGHS rather than a hand-written network simplex: it is
battle-tested, handles the nested rows directly and is the same engine as the MILP.

Scale: components are solved separately (time shared by size). A MILP with more than
``fix_above_binaries`` binaries is solved by relax-and-fix (LP relaxation -> keep the groups the
relaxation uses at or above their minimum, close the rest -> LP again); its gap is reported
against the relaxation's bound. If a component yields nothing in time, only its arcs that need no
binary are solved as an LP (status ``no_incumbent_lp_fallback``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse.csgraph import connected_components

from seamline.matching.formulation import Model, build, needs_no_binary
from seamline.matching.network import BoolArray, FloatArray, IntArray, Network
from seamline.matching.objective import DEFAULT_SPLIT_PENALTY_STD_MIN


@dataclass(frozen=True, slots=True, kw_only=True)
class SolveOptions:
    split_penalty_std_min: float = DEFAULT_SPLIT_PENALTY_STD_MIN
    # HiGHS stops after this many seconds in total over all components and returns its incumbent.
    time_limit_s: float = 20.0
    # Relative MIP gap to stop at. 1e-6 of ~1e8 std-min is ~100 std-min, a few pieces: tighter only
    # burns time, looser (HiGHS' default 1e-4) would leave thousands of minutes on the table.
    mip_rel_gap: float = 1e-6
    # Above this many binaries in a component, first solve the LP relaxation and fix the
    # binaries it already decides (group unused, or its minimum met): the benchmark's 2 000-order
    # instance has ~10k binaries, of which the relaxation leaves a few hundred open. Below it the
    # MILP is solved as is (exact on small instances; the brute-force tests run there).
    fix_above_binaries: int = 300
    # Integer pieces in every arc's column (``matching.formulation``): the exact path's MILP then
    # optimises the plan it returns, not continuous minutes rounded down afterwards (which left a
    # small order book 10 std-min short of the optimum while reporting "optimal, gap 0").
    whole_pieces: bool = True


# Above this many columns an LP goes to interior point (see ``_linprog``); below, dual simplex is
# faster and already returns a vertex.
IPM_ABOVE_COLUMNS = 20_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Solution:
    x_std_min: FloatArray  # per arc of the network
    method: str  # "lp", "milp", or "milp+lp" when components differ
    status: str
    components: int
    variables: int
    binaries: int
    constraints: int
    mip_gap: float | None
    objective: float


def components(net: Network) -> tuple[int, IntArray]:
    """Connected components over orders and lines; returns (count, component label per arc)."""
    n_o, n_l = len(net.orders), len(net.lines)
    n = n_o + n_l
    graph = sparse.coo_matrix(
        (np.ones(net.n_arcs), (net.arc_order, n_o + net.arc_line)), shape=(n, n)
    ).tocsr()
    count, labels = connected_components(graph, directed=False)
    return int(count), labels[net.arc_order].astype(np.int64)


def solve(net: Network, options: SolveOptions, *, clock: Callable[[], float] = time.monotonic) -> Solution:
    """Optimal (or time-limited) standard minutes per arc; see the module docstring."""
    x = np.zeros(net.n_arcs, dtype=np.float64)
    if net.n_arcs == 0:
        return Solution(x_std_min=x, method="lp", status="optimal", components=0, variables=0,
                        binaries=0, constraints=0, mip_gap=None, objective=0.0)
    _, arc_comp = components(net)
    comps, sizes = np.unique(arc_comp, return_counts=True)
    order = np.argsort(sizes, kind="stable")
    deadline = clock() + options.time_limit_s
    remaining = int(sizes.sum())
    methods: set[str] = set()
    statuses: set[str] = set()
    n_vars = n_bin = n_rows = 0
    worst_gap: float | None = None
    objective = 0.0
    for ci in order:
        arcs = np.flatnonzero(arc_comp == comps[ci])
        budget = max((deadline - clock()) * sizes[ci] / remaining, 0.5)
        remaining -= int(sizes[ci])
        model = build(net, arcs, split_penalty_std_min=options.split_penalty_std_min,
                      whole_pieces=options.whole_pieces)
        is_lp = model.n_y == 0 and not model.integer.any()
        run = _run_lp(model, budget) if is_lp else _run_milp(model, budget, options)
        if run.values is None:  # no incumbent in time: keep only the arcs that need no binary
            arcs = arcs[needs_no_binary(net, arcs)]
            model = build(net, arcs, split_penalty_std_min=0.0)
            is_lp = True
            run = _run_lp(model, max(deadline - clock(), 0.5))
            run = _Run(run.values, "no_incumbent_lp_fallback:" + run.status, None, run.objective)
        if run.values is not None:
            x[arcs] = np.clip(model.x_std_min(run.values), 0.0, None)
        methods.add("lp" if is_lp else "milp")
        statuses.add(run.status)
        n_vars += model.n_x + model.n_y
        n_bin += model.n_y
        n_rows += model.a.shape[0]
        objective += run.objective
        if run.gap is not None:
            worst_gap = run.gap if worst_gap is None else max(worst_gap, run.gap)
    return Solution(
        x_std_min=x,
        method="+".join(sorted(methods)),
        status=",".join(sorted(statuses)),
        components=int(comps.size),
        variables=n_vars,
        binaries=n_bin,
        constraints=n_rows,
        mip_gap=worst_gap,
        objective=objective,
    )


@dataclass(frozen=True, slots=True)
class _Run:
    values: FloatArray | None  # column values in the model's units
    status: str
    gap: float | None
    objective: float  # maximised, std-min units


def _run_lp(model: Model, time_limit_s: float) -> _Run:
    res = _linprog(model, np.zeros(model.n_x + model.n_y), model.col_ub, time_limit_s)
    ok = res.x is not None and res.status in (0, 1)
    return _Run(res.x if ok else None, _status(res.status), None, -float(res.fun) if ok else 0.0)


def _linprog(model: Model, lower: FloatArray, upper: FloatArray, time_limit_s: float) -> Any:
    """The model as an LP (integrality dropped). Large LPs go to HiGHS' interior point (with
    crossover to a vertex): on the 2 000-order benchmark it takes ~10 s where dual simplex,
    stalled by the near-equal costs, had not finished after 30 s."""
    is_eq = np.isfinite(model.lb) & (model.lb == model.ub)
    has_ub = np.isfinite(model.ub) & ~is_eq
    has_lb = np.isfinite(model.lb) & ~is_eq
    a_ub = sparse.vstack([model.a[has_ub], -model.a[has_lb]]).tocsr()
    b_ub = np.concatenate([model.ub[has_ub], -model.lb[has_lb]])
    return linprog(
        model.c,
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=model.a[is_eq] if is_eq.any() else None,
        b_eq=model.ub[is_eq] if is_eq.any() else None,
        bounds=np.column_stack([lower, upper]),
        method="highs-ipm" if model.n_x + model.n_y > IPM_ABOVE_COLUMNS else "highs-ds",
        options={"time_limit": max(time_limit_s, 0.1), "presolve": True},
    )


def _milp(model: Model, lower: FloatArray, upper: FloatArray, integer: BoolArray, time_limit_s: float,
          gap: float) -> Any:
    return milp(
        model.c,
        constraints=LinearConstraint(model.a, model.lb, model.ub),
        integrality=integer.astype(np.int64),
        bounds=Bounds(lower, upper),
        options={"time_limit": max(time_limit_s, 0.1), "mip_rel_gap": gap, "presolve": True},
    )


def _run_milp(model: Model, time_limit_s: float, options: SolveOptions) -> _Run:
    """Exact MILP up to ``fix_above_binaries`` binaries; above that, relax-and-fix: solve the LP
    relaxation, keep the groups it uses at or above their minimum (y = 1), close every other
    group (y = 0), and re-solve that LP. The gap is measured against the relaxation's bound."""
    if model.n_y <= options.fix_above_binaries:
        res = _milp(model, np.zeros(model.n_x + model.n_y), model.col_ub, model.integer, time_limit_s,
                    options.mip_rel_gap)
        if res.x is None:
            return _Run(None, _status(res.status), None, 0.0)
        mip_gap = getattr(res, "mip_gap", None)
        return _Run(res.x, _status(res.status), float(mip_gap) if mip_gap is not None else None, -float(res.fun))
    started = time.monotonic()
    lower = np.zeros(model.n_x + model.n_y)
    upper = model.col_ub.copy()
    relaxed = _linprog(model, lower, upper, time_limit_s * 0.6)
    if relaxed.x is None or relaxed.status != 0:
        return _Run(None, "relaxation_" + _status(relaxed.status), None, 0.0)
    bound = -float(relaxed.fun)
    x_g = model.group_std_min(relaxed.x)
    y = relaxed.x[model.n_x :]
    tol = 1e-6 * np.maximum(model.group_lower, 1.0)
    keep = np.where(model.group_whole, y >= 1 - 1e-6, x_g >= model.group_lower - tol) & (x_g > 1e-6)
    lower[model.n_x :] = np.where(keep, 1.0, 0.0)
    upper[model.n_x :] = lower[model.n_x :]
    fixed = _linprog(model, lower, upper, time_limit_s - (time.monotonic() - started))
    if fixed.x is None or fixed.status not in (0, 1):
        return _Run(None, "fixed_" + _status(fixed.status), None, 0.0)
    value = -float(fixed.fun)
    return _Run(fixed.x, "relax_fix:" + _status(fixed.status), max(bound - value, 0.0) / max(abs(bound), 1.0), value)


def _status(code: int) -> str:
    return {0: "optimal", 1: "time_limit", 2: "infeasible", 3: "unbounded", 4: "error"}.get(int(code), str(code))
