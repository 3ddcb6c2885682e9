"""The cluster step: the orders with big minimums and few factories, re-planned together by CP-SAT.

Measured (bench seed 11, 2 000 orders): the rest of the gap after the neighbourhood search is ~20
orders with their own minimum of 140-180 k std-min and at most 16 eligible factories, which small
neighbourhoods rarely manage to pack. Released together with every order booked on those
factories' lines (47 orders), one exact sub-MILP gained +0.70 M std-min in 28 CPU s; CP-SAT with
the current bookings as a hint +0.33 M in 20 s (``matching.cpsat``: HiGHS through scipy takes no
start solution). Run in the search's own thread those seconds cost the small neighbourhoods
their CPU (``cluster_step``, off by default); run in a second thread beside the search
(``ClusterThread``, ``matching.concurrent_search``) they use the machine's other core: CP-SAT's
solve releases the GIL (checked: a Python loop kept 94 % of its rate beside a 2 s solve on a
machine with a free core).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from seamline.matching.cpsat import solve_hinted
from seamline.matching.formulation import Model, build
from seamline.matching.network import FloatArray, IntArray, Network
from seamline.matching.schedule import PIECE_TOLERANCE, Booking, edd_minutes, to_bookings
from seamline.matching.search_state import (
    Candidates,
    Index,
    SearchState,
    respects_minimums,
    short_orders,
    std_min_of,
    sub_network,
)

# Orders with their own minimum and at most this many eligible factories seed the cluster (bench
# seed 11, 2 000 orders: 18 such orders, minimums up to ~180 k std-min).
SCARCE_FACTORIES = 16
# Factories per released order in the cluster's model: 30 gained +0.70 M std-min with HiGHS in
# 28 s (seed 11, 47 orders); the search's small neighbourhoods use 5.
CLUSTER_FACTORIES = 30


@dataclass(frozen=True, slots=True)
class ClusterProblem:
    """The released orders' candidate arcs (``sub``: capacity = what every other booking leaves),
    their whole-pieces model, the current bookings as a hint, and what those book (std-min)."""

    released: IntArray
    sub: Network
    model: Model
    hint: FloatArray
    old_std_min: float
    booked_lines: IntArray  # lines the released orders are booked on now

    def lines(self) -> IntArray:
        """Every line the cluster may book or now books on."""
        return np.union1d(np.unique(self.sub.arc_line), self.booked_lines).astype(np.int64)


def pick_cluster(wide: Network, state: SearchState, orders: IntArray,
                 factories_per_order: int = CLUSTER_FACTORIES) -> ClusterProblem | None:
    """Every short order of ``orders`` with its own minimum and at most ``SCARCE_FACTORIES``
    eligible factories (in ``wide``), with every order booked on those factories' lines; None if
    no order is that scarce."""
    n_f = len(wide.factories)
    by_order = Index.of(wide.arc_order, len(wide.orders))
    groups = np.unique(wide.arc_order * n_f + wide.line_factory[wide.arc_line])
    n_fac = np.bincount(groups // n_f, minlength=len(wide.orders))
    short = short_orders(wide, state.got)
    scarce = [i for i in orders.tolist() if wide.orders[i].min_qty_per_factory > 0 and 0 < n_fac[i] <= SCARCE_FACTORIES
              and short[i]]
    if not scarce:
        return None
    lines = set(wide.arc_line[by_order.arcs(np.array(scarce, dtype=np.int64))].tolist())
    near = {i for i, bs in state.by_order.items() if any(b.line in lines for b in bs)}
    released = np.array(sorted(set(scarce) | near), dtype=np.int64)
    sub = sub_network(Candidates(wide, by_order, factories_per_order), state, released)
    model = build(sub, np.arange(sub.n_arcs), split_penalty_std_min=0.0, whole_pieces=True)
    booked = np.array(sorted({b.line for i in released.tolist() for b in state.by_order.get(i, [])}), dtype=np.int64)
    return ClusterProblem(released=released, sub=sub, model=model, hint=_hint(sub, model, state, released),
                          old_std_min=float(state.got[released].sum()), booked_lines=booked)


def better_bookings(problem: ClusterProblem, values: FloatArray | None) -> list[Booking] | None:
    """The bookings of a solution of ``problem.model``, if it books more than the released orders
    did and respects every minimum; else None."""
    if values is None:
        return None
    sub = problem.sub
    again = to_bookings(sub, edd_minutes(sub, problem.model.x_std_min(values)))
    if std_min_of(again) <= problem.old_std_min + PIECE_TOLERANCE or not respects_minimums(sub, again):
        return None
    return again


def cluster_step(wide: Network, state: SearchState, orders: IntArray,
                 budget_s: float) -> tuple[IntArray, list[Booking] | None]:
    """The cluster step in the caller's thread: CP-SAT for ``budget_s`` seconds from the current
    bookings. Returns the released orders and their better bookings (None if not better)."""
    problem = pick_cluster(wide, state, orders)
    if problem is None:
        return np.zeros(0, dtype=np.int64), None
    return problem.released, better_bookings(problem, solve_hinted(problem.model, problem.hint, budget_s))


class ClusterThread:
    """CP-SAT on a ``ClusterProblem`` in a thread of its own until ``until_wall_s``
    (``time.monotonic()`` seconds) at most; ``result()`` waits for it and returns its values. An
    exception in the thread is raised again by ``result()``."""

    def __init__(self, problem: ClusterProblem, *, until_wall_s: float) -> None:
        self.problem = problem
        self._until = until_wall_s
        self._solver = cp_model.CpSolver()
        self._stopped = threading.Event()
        self._values: FloatArray | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="matching-cluster", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def done(self) -> bool:
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            budget = self._until - time.monotonic()
            if budget > 0 and not self._stopped.is_set():
                self._values = solve_hinted(self.problem.model, self.problem.hint, budget, solver=self._solver)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def result(self) -> FloatArray | None:
        """Column values of the best solution found (None: none): waits for the solve until
        ``until_wall_s`` at most, then stops it."""
        self._thread.join(timeout=max(self._until - time.monotonic(), 0.0))
        self.stop()
        if self._error is not None:
            raise self._error
        return self._values

    def stop(self) -> None:
        """Stop the solve now (if it runs) and wait for the thread."""
        self._stopped.set()
        self._solver.stop_search()
        self._thread.join()


def _hint(sub: Network, model: Model, state: SearchState, released: IntArray) -> FloatArray:
    """The released orders' current bookings as column values of ``model`` (pieces per arc, and
    1 for every (order, factory) group with pieces)."""
    arc_of = {(int(i), int(j)): a for a, (i, j) in enumerate(zip(sub.arc_order, sub.arc_line, strict=True))}
    hint = np.zeros(model.n_x + model.n_y)
    for i in released.tolist():
        for b in state.by_order.get(i, []):
            a = arc_of.get((b.order, b.line))
            if a is not None:
                hint[a] += b.pieces
    used = model.group_of[(hint[: model.n_x] > 0) & (model.group_of >= 0)]
    hint[model.n_x + used] = 1.0
    return hint
