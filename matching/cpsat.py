"""A whole-pieces model of ``matching.formulation`` solved by CP-SAT from a start solution.

HiGHS through scipy takes no start solution: on a neighbourhood of ~50 orders (bench seed 11,
2 000 orders) its incumbent after a few seconds was 0.09 M std-min where the bookings it would
replace held 4.19 M, so large neighbourhoods could only be afforded with ~30 s each. CP-SAT takes
the current bookings as a hint and never returns anything worse than a feasible hint.

The model is ``formulation.build(..., whole_pieces=True)`` with every column integer, scaled to
integers in hundredths of a standard minute (SAMs have two decimals): piece columns' coefficients
are exact; a binary's coefficient in an inequality row is rounded *down* (``x − U·y ≤ 0`` only
loosens a big-M, ``x − L·y ≥ 0`` only tightens a minimum); right-hand sides round inwards (``≤``
down, ``≥`` up). So every CP-SAT solution is feasible for the float model, and the bookings made
from it respect every line-day, minimum and whole order.
"""

from __future__ import annotations

import math

import numpy as np
from ortools.sat.python import cp_model

from seamline.matching.formulation import Model
from seamline.matching.network import FloatArray

UNITS = 100  # integer units per standard minute


def solve_hinted(model: Model, hint: FloatArray, time_limit_s: float, *,
                 solver: cp_model.CpSolver | None = None) -> FloatArray | None:
    """Column values (the model's units) maximising on-time minutes (``-model.c``), starting from
    ``hint`` (column values of a feasible point), after at most ``time_limit_s`` seconds (wall) on
    one worker; None if CP-SAT found no solution (it then had no time to check the hint).
    ``solver``: the one to use, e.g. to stop it from another thread (``stop_search``)."""
    if not model.integer.all():
        raise ValueError("solve_hinted needs an all-integer model (whole_pieces=True)")
    cp = cp_model.CpModel()
    n = model.n_x + model.n_y
    ub = np.floor(model.col_ub + 1e-9).astype(np.int64)
    cols = [cp.new_int_var(0, int(ub[k]), f"v{k}") for k in range(n)]
    a = model.a.tocsr()
    for r in range(a.shape[0]):
        lo, hi = int(a.indptr[r]), int(a.indptr[r + 1])
        equal = model.lb[r] == model.ub[r]
        terms = []
        for k, val in zip(a.indices[lo:hi].tolist(), a.data[lo:hi].tolist(), strict=True):
            scaled = val * UNITS
            coef = round(scaled) if k < model.n_x or equal else math.floor(scaled + 1e-6)
            if coef:
                terms.append(coef * cols[k])
        expr = sum(terms)
        if equal:
            cp.add(expr == round(model.ub[r] * UNITS))
            continue
        if np.isfinite(model.ub[r]):
            cp.add(expr <= math.floor(model.ub[r] * UNITS + 1e-6))
        if np.isfinite(model.lb[r]):
            cp.add(expr >= math.ceil(model.lb[r] * UNITS - 1e-6))
    gain = np.rint(-model.c * UNITS).astype(np.int64)
    cp.maximize(sum(int(g) * cols[k] for k, g in enumerate(gain.tolist()) if g))
    for k, value in enumerate(np.rint(hint).astype(np.int64).tolist()):
        cp.add_hint(cols[k], min(max(value, 0), int(ub[k])))
    solver = cp_model.CpSolver() if solver is None else solver
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = max(time_limit_s, 0.1)
    status = solver.solve(cp)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return np.array([solver.value(c) for c in cols], dtype=np.float64)
