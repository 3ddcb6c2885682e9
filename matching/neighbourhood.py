"""Large-neighbourhood search for the orders that need binaries: release a few, solve them exactly.

Measured on the benchmark (seed 7, 2 000 orders): every unconstrained order is met in full, so
the whole gap to the bound is in the ~470 orders with a per-factory minimum or "one factory
only" (flow share 30.39 M std-min, greedy 27.0 M). A MILP over all of them (~5 000 binaries)
found almost nothing in 10 s with HiGHS, and relax-and-fix reached 18 M; over ~50 of them
(medium size) HiGHS is within 4e-5 of optimal in seconds. So the orders are improved by
*neighbourhoods*: a seed order (one with pieces unmet), the orders that compete for its
factories, at most ``max_orders`` of them (doubled after a pass without gain), are released and
re-planned by the exact MILP of ``matching.solver`` (whole pieces) on the capacity every other
booking leaves. The result is accepted only if it books more standard minutes than what was
released, so the search never makes the plan worse; the released orders' bookings are a feasible point of the sub-MILP.

**Where a released order may go** (issue 15, second round): at cluster size the network searched
is the pruned one (~19 lines per constrained order, chosen once from the *total* free minutes),
while the capacity that matters is what the other bookings leave *now*. With ``wide`` (the full
network) each sub-MILP offers every released order ``factories_per_order`` factories: those it
uses, then those with the most free minutes before its due day that can still take its minimum
(``Candidates``), chosen afresh per neighbourhood. Measured (seed 11, 2 000
orders, the same phase A, 14 CPU s of search, machine at load 7-10): pruned lines 30.92 M std-min
of the constrained orders (max flow 33.60 M); every line, 12 factories 31.56 M (158 steps), 6:
31.71 M, 5 with 9 orders per neighbourhood 31.9-32.1 M (~340 steps), 3: 31.35 M; 60 CPU s 32.20 M.
Tried and dropped: releasing the orders booked at the seed's roomiest factories (all of them,
or every other step one factory's: slower sub-MILPs, no gain), seeds drawn by their shortfall.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from seamline.matching.cluster import CLUSTER_FACTORIES, cluster_step
from seamline.matching.network import FloatArray, IntArray, Network
from seamline.matching.schedule import PIECE_TOLERANCE, Booking, booked_per_line_day, edd_minutes, to_bookings
from seamline.matching.search_state import (
    Candidates,
    Index,
    SearchState,
    piece_tolerance,
    respects_minimums,
    std_min_of,
    sub_network,
)
from seamline.matching.solver import SolveOptions, solve

# Orders released per neighbourhood. Measured at 2 000 orders on the pruned lines (seed 7, 8 CPU s
# from the same phase A, machine shared): 6 orders 159 steps +1.83 M std-min; 9: 71 steps +1.51 M;
# 12: 79 steps +1.71 M; 15: 33 steps +1.17 M; 20: 38 steps +1.33 M; 30: 24 steps +1.20 M. With
# 5 factories per order among every line (seed 11, 14 CPU s): 4 orders 31.55 M, 8: 31.71 M,
# 9: 31.90-32.08 M, 12: 31.66 M (repeats of one setting vary by ~0.2 M on the shared machine).
DEFAULT_MAX_ORDERS = 9
# After a pass over the short orders without gain the neighbourhoods double, up to this many
# orders: seed 11, 2 000 orders, from a converged 6-order search: 12 orders +0.13 M std-min in
# 4 CPU s, then 24 orders +0.18 M in 4 s (sub-MILPs of 24 orders still close in ~0.4 s).
MAX_ORDERS_CAP = 24
# Sub-MILPs maximise on-time minutes only (no preference term) to a relative gap of 1e-4: with
# the preference term and 1e-6 a 20-order neighbourhood took 0.6-2 s, without it 0.05-0.25 s.
SUB_MIP_GAP = 1e-4
# HiGHS (wall) seconds per neighbourhood at most: sub-MILPs close in 0.05-0.25 s of CPU; the cap
# is generous because a machine shared with other jobs stretches wall time several-fold.
DEFAULT_STEP_S = 2.0
# Factories per released order in a sub-MILP, those it uses first, when the search may use every
# eligible line (``Candidates``; measured in the module docstring: 3 too few, 12 too slow).
DEFAULT_FACTORIES_PER_ORDER = 5
# The cluster step in the search's own thread (``matching.cluster.cluster_step``, off unless
# ``SearchOptions.cluster_s`` > 0), this many times per search, at the end of the first pass over
# the short orders. Measured (seed 11, the same 327 small neighbourhoods around it, 42 orders
# released after the first pass): CP-SAT 20 s wall 6.19 -> 6.52 M std-min (+0.33 M, the search
# ended at 32.17 M instead of 31.68 M); 9.5 s: +0.08 M; 4 s: nothing. Within the 30 s target those
# seconds buy more as small neighbourhoods, so it is off by default.
CLUSTER_TIMES = 1
# Accepted moves between recomputations of the booked minutes from scratch.
RESYNC_EVERY = 20
# The cluster step in a thread beside the search (``matching.concurrent_search``), and the seconds
# before the search's deadline at which its result is taken, so that the search then improves
# every order together. Off by default: measured (large, seeds 7/11/13, 2026-12-05, load 5-10
# from another session's benchmark) the cluster picked from phase A's greedy has only 13-32
# orders (400-1 000 columns), CP-SAT gained +0.17 M / nothing / +0.13 M std-min on it, and the
# plans ended at 0.58 / 1.72 / 1.13 % with wall-clock deadlines against 0.32 / 0.76 / 0.52 %
# single-threaded on CPU seconds (matching/README.md).
CLUSTER_THREAD = False
CLUSTER_TAIL_S = 2.0
# Workers of the search (``matching.parallel_search``) where the machine has the CPUs for them.
# Measured (large, seeds 7 / 11 / 13, search seeds 0-4 on 11 and 13, 0-2 on 7, 2026-12-05, quiet
# box, 30 s): gap to the max flow one thread 0.20-0.24 / 0.72-0.99 (mean 0.88) / 0.44-0.57 % (mean
# 0.51); two threads 0.13-0.18 / 0.75-0.85 (mean 0.79) / 0.38-0.49 % (mean 0.45) (matching/README.md).
MAX_SEARCH_THREADS = 2


def default_search_threads() -> int:
    """Two search workers where this process may run on two CPUs, else one."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_SEARCH_THREADS, cpus))


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchOptions:
    """``max_orders``: orders released per neighbourhood at first; ``factories_per_order``: per
    released order, the factories its sub-MILP may use, chosen afresh among *every* eligible one
    (0: only the lines of the network searched, i.e. the pruned candidates at cluster size);
    ``cluster_s``: CP-SAT seconds of the cluster step in the search's thread (0: none);
    ``cluster_thread``: the cluster step in a second thread beside the search, from its start
    until ``cluster_tail_s`` before its deadline (both need ``factories_per_order`` > 0), its
    orders picked after ``cluster_after_s`` of search in this thread alone."""

    max_orders: int = DEFAULT_MAX_ORDERS
    factories_per_order: int = DEFAULT_FACTORIES_PER_ORDER
    cluster_s: float = 0.0  # seconds (wall)
    cluster_thread: bool = CLUSTER_THREAD
    cluster_tail_s: float = CLUSTER_TAIL_S  # seconds (of the planner's clock)
    cluster_factories: int = CLUSTER_FACTORIES  # per released order, in the cluster thread's model
    cluster_after_s: float = 0.0  # seconds of search (planner's clock) before the cluster thread picks its orders
    # neighbourhoods solved at once (matching.parallel_search); > 1 wants a wall clock: a CPU clock counts every thread
    threads: int = field(default_factory=default_search_threads)
    seed: int = 0  # the random choices' seed (which short order seeds a neighbourhood, which competitors join it)


@dataclass(frozen=True, slots=True, kw_only=True)
class Search:
    bookings: list[Booking]
    steps: int
    improved: int
    gained_std_min: float
    # the cluster thread's outcome: "" (none ran), "+<std-min>" (kept), "not better", "did not fit"
    cluster: str = ""


@dataclass(frozen=True, slots=True)
class SearchSpace:
    """What a search over ``orders`` of ``net`` draws on: where a released order may go
    (``cand``), which orders compete for an order's lines, and which orders are short."""

    net: Network
    orders: IntArray
    cand: Candidates
    by_line: Index
    order_lines: dict[int, IntArray]
    demand: FloatArray
    tolerance: FloatArray  # std-min below its demand at which an order counts as short (a piece's worth)

    @staticmethod
    def of(net: Network, orders: IntArray, *, wide: Network | None, factories_per_order: int) -> SearchSpace:
        n_o = len(net.orders)
        by_order = Index.of(net.arc_order, n_o)
        cand = Candidates(net, by_order, 0) if wide is None else Candidates(
            wide, Index.of(wide.arc_order, n_o), factories_per_order)
        return SearchSpace(
            net=net, orders=orders, cand=cand, by_line=Index.of(net.arc_line, net.cap.shape[0]),
            order_lines={int(i): net.arc_line[by_order.arcs(np.array([i]))] for i in orders},
            demand=net.demand_std_min(), tolerance=piece_tolerance(net))

    def short(self, state: SearchState) -> list[int]:
        """The orders of the search booking less than their demand (by more than a piece's tolerance)."""
        return [int(i) for i in self.orders if state.got[i] < self.demand[i] - self.tolerance[i]]

    def competing_orders(self, seed: int, max_orders: int, rng: np.random.Generator) -> IntArray:
        """The seed order plus orders sharing its candidate lines, random among equals."""
        lines = self.order_lines.get(seed, np.zeros(0, dtype=np.int64))
        sharing = np.unique(self.net.arc_order[self.by_line.arcs(lines)])
        others = sharing[sharing != seed]
        rng.shuffle(others)
        return np.concatenate([[seed], others[: max_orders - 1]]).astype(np.int64)


def improve(
    net: Network,
    bookings: list[Booking],
    orders: IntArray,
    *,
    deadline_s: float,
    max_orders: int = DEFAULT_MAX_ORDERS,
    step_s: float = DEFAULT_STEP_S,
    seed: int = 0,
    clock: Callable[[], float] = time.monotonic,
    wide: Network | None = None,
    factories_per_order: int = DEFAULT_FACTORIES_PER_ORDER,
    cluster_s: float = 0.0,
    stop: Callable[[], bool] | None = None,
) -> Search:
    """Improve ``bookings`` (whole pieces, indices of ``net``) of ``orders`` until ``deadline_s``
    (``clock()`` seconds) or until ``stop()`` says so. Bookings of other orders are kept and their
    minutes stay taken."""
    rng = np.random.default_rng(seed)
    space = SearchSpace.of(net, orders, wide=wide, factories_per_order=factories_per_order)
    state = SearchState.of(net, bookings)
    steps = improved = clusters = 0
    gained = 0.0
    tried: set[int] = set()
    improved_in_pass = False
    size = max_orders
    while clock() < deadline_s and orders.size and not (stop is not None and stop()):
        short = space.short(state)
        fresh = [i for i in short if i not in tried]
        if not fresh:  # every short order has seeded a neighbourhood: another pass if it paid,
            if not short:  # else a pass with neighbourhoods twice as large, up to the cap
                break
            if wide is not None and cluster_s > 0 and clusters < CLUSTER_TIMES:  # the first pass ends with it
                clusters += 1
                gain = _apply(state, *cluster_step(wide, state, orders, min(cluster_s, deadline_s - clock())))
                improved, gained, improved_in_pass = improved + (gain > 0), gained + gain, improved_in_pass or gain > 0
            if not improved_in_pass:
                if size >= MAX_ORDERS_CAP:
                    break
                size = min(2 * size, MAX_ORDERS_CAP)
            tried.clear()
            improved_in_pass = False
            continue
        seed_order = int(rng.choice(fresh))
        tried.add(seed_order)
        released = space.competing_orders(seed_order, size, rng)
        budget = min(step_s, deadline_s - clock())
        if budget <= 0:
            break
        steps += 1
        sub = sub_network(space.cand, state, released)
        gain = _apply(state, released, resolve_sub(sub, budget, float(state.got[released].sum()), clock))
        improved, gained, improved_in_pass = improved + (gain > 0), gained + gain, improved_in_pass or gain > 0
        if gain > 0 and improved % RESYNC_EVERY == 0:  # no drift from many float additions and subtractions
            state.booked = booked_per_line_day(state.bookings(), net.cap.shape)
    return Search(bookings=state.bookings(), steps=steps, improved=improved, gained_std_min=gained)


def _apply(state: SearchState, released: IntArray, better: list[Booking] | None) -> float:
    """Replace the released orders' bookings by ``better`` (if any); the std-min gained."""
    if better is None:
        return 0.0
    gain = std_min_of(better) - float(state.got[released].sum())
    state.replace(released, better)
    return gain


def resolve_sub(sub: Network, budget_s: float, old: float, clock: Callable[[], float]) -> list[Booking] | None:
    """The released orders of ``sub`` (their candidate arcs on the capacity every other booking
    leaves; booking ``old`` std-min now) re-planned exactly in whole pieces, or None if not better."""
    if budget_s <= 0:
        return None
    sol = solve(sub, SolveOptions(time_limit_s=budget_s, split_penalty_std_min=0.0, mip_rel_gap=SUB_MIP_GAP,
                                  fix_above_binaries=10**9), clock=clock)
    again = to_bookings(sub, edd_minutes(sub, sol.x_std_min))
    if std_min_of(again) <= old + PIECE_TOLERANCE or not respects_minimums(sub, again):
        return None
    return again
