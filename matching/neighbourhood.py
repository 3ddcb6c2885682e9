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
(``_Candidates``), chosen afresh per neighbourhood. Measured (seed 11, 2 000
orders, the same phase A, 14 CPU s of search, machine at load 7-10): pruned lines 30.92 M std-min
of the constrained orders (max flow 33.60 M); every line, 12 factories 31.56 M (158 steps), 6:
31.71 M, 5 with 9 orders per neighbourhood 31.9-32.1 M (~340 steps), 3: 31.35 M; 60 CPU s 32.20 M.
Tried and dropped: releasing the orders booked at the seed's roomiest factories (all of them,
or every other step one factory's: slower sub-MILPs, no gain), seeds drawn by their shortfall.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from seamline.matching.cpsat import solve_hinted
from seamline.matching.formulation import Model, build
from seamline.matching.network import FloatArray, IntArray, Network, select_arcs
from seamline.matching.schedule import PIECE_TOLERANCE, Booking, booked_per_line_day, edd_minutes, to_bookings
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
# eligible line (``_Candidates``; measured in the module docstring: 3 too few, 12 too slow).
DEFAULT_FACTORIES_PER_ORDER = 5
# The cluster step (``_cluster``, off unless ``SearchOptions.cluster_s`` > 0): orders with their
# own minimum and at most this many eligible factories (bench seed 11, 2 000 orders: 18 such
# orders, minimums up to ~180 k std-min, which the small neighbourhoods rarely manage to pack),
# factories per released order, and how many times per search (at the end of the first passes
# over the short orders). Measured (seed 11, the same 327 small neighbourhoods around it, 42
# orders released after the first pass): CP-SAT 20 s wall 6.19 -> 6.52 M std-min (+0.33 M, the
# search ended at 32.17 M instead of 31.68 M); 9.5 s: +0.08 M; 4 s: nothing. Within the 30 s
# target those seconds buy more as small neighbourhoods, so it is off by default.
SCARCE_FACTORIES = 16
CLUSTER_FACTORIES = 30
CLUSTER_TIMES = 1
# Accepted moves between recomputations of the booked minutes from scratch.
RESYNC_EVERY = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchOptions:
    """``max_orders``: orders released per neighbourhood at first; ``factories_per_order``: per
    released order, the factories its sub-MILP may use, chosen afresh among *every* eligible one
    (0: only the lines of the network searched, i.e. the pruned candidates at cluster size);
    ``cluster_s``: see ``_cluster``."""

    max_orders: int = DEFAULT_MAX_ORDERS
    factories_per_order: int = DEFAULT_FACTORIES_PER_ORDER
    # seconds (wall) of the cluster step's CP-SAT solve; 0: no cluster step (needs factories_per_order > 0)
    cluster_s: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Search:
    bookings: list[Booking]
    steps: int
    improved: int
    gained_std_min: float


def _minutes_by_order(bookings: Sequence[Booking], n_orders: int) -> np.ndarray:
    out = np.zeros(n_orders)
    for b in bookings:
        out[b.order] += b.std_min
    return out


def _neighbourhood(net: Network, seed: int, order_lines: dict[int, IntArray], max_orders: int,
                   rng: np.random.Generator, by_line: _Index) -> IntArray:
    """The seed order plus orders sharing its candidate lines, random among equals."""
    lines = order_lines.get(seed, np.zeros(0, dtype=np.int64))
    sharing = np.unique(net.arc_order[by_line.arcs(lines)])
    others = sharing[sharing != seed]
    rng.shuffle(others)
    return np.concatenate([[seed], others[: max_orders - 1]]).astype(np.int64)


@dataclass(frozen=True, slots=True)
class _Index:
    """Arc indices grouped by a key (order or line), for slicing without a pass over every arc."""

    sorted_arcs: IntArray
    bounds: IntArray

    @staticmethod
    def of(keys: IntArray, n: int) -> _Index:
        srt = np.argsort(keys, kind="stable")
        return _Index(srt.astype(np.int64), np.searchsorted(keys[srt], np.arange(n + 1)).astype(np.int64))

    def arcs(self, keys: IntArray) -> IntArray:
        parts = [self.sorted_arcs[self.bounds[k] : self.bounds[k + 1]] for k in np.unique(keys)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


@dataclass(slots=True)
class _State:
    """The bookings per order and what they take per [line, day], updated move by move (a pass
    over every booking per neighbourhood cost more than its MILP at 2 000 orders)."""

    by_order: dict[int, list[Booking]]
    booked: FloatArray  # std-min per [line, day]
    got: FloatArray  # std-min per order

    @staticmethod
    def of(net: Network, bookings: Sequence[Booking]) -> _State:
        by_order: dict[int, list[Booking]] = {}
        for b in bookings:
            by_order.setdefault(b.order, []).append(b)
        booked = booked_per_line_day(bookings, net.cap.shape)
        return _State(by_order, booked, _minutes_by_order(bookings, len(net.orders)))

    def replace(self, orders: IntArray, bookings: Sequence[Booking]) -> None:
        for i in orders.tolist():
            for b in self.by_order.pop(i, []):
                self.booked[b.line, b.day] -= b.std_min
            self.got[i] = 0.0
        for b in bookings:
            self.by_order.setdefault(b.order, []).append(b)
            self.booked[b.line, b.day] += b.std_min
            self.got[b.order] += b.std_min

    def bookings(self) -> list[Booking]:
        return [b for bs in self.by_order.values() for b in bs]


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
) -> Search:
    """Improve ``bookings`` (whole pieces, indices of ``net``) of ``orders`` until ``deadline_s``
    (``clock()`` seconds). Bookings of other orders are kept and their minutes stay taken."""
    rng = np.random.default_rng(seed)
    n_o = len(net.orders)
    demand = net.demand_std_min()
    by_order = _Index.of(net.arc_order, n_o)
    by_line = _Index.of(net.arc_line, net.cap.shape[0])
    order_lines = {int(i): net.arc_line[by_order.arcs(np.array([i]))] for i in orders}
    cand = _Candidates(net, by_order, 0) if wide is None else _Candidates(
        wide, _Index.of(wide.arc_order, n_o), factories_per_order)
    state = _State.of(net, bookings)
    steps = improved = clusters = 0
    gained = 0.0
    tried: set[int] = set()
    improved_in_pass = False
    size = max_orders
    while clock() < deadline_s and orders.size:
        short = [int(i) for i in orders if state.got[i] < demand[i] - PIECE_TOLERANCE * net.orders[i].sam_min]
        fresh = [i for i in short if i not in tried]
        if not fresh:  # every short order has seeded a neighbourhood: another pass if it paid,
            if not short:  # else a pass with neighbourhoods twice as large, up to the cap
                break
            if wide is not None and cluster_s > 0 and clusters < CLUSTER_TIMES:  # the first pass ends with it
                clusters += 1
                gain = _apply(state, *_cluster(wide, state, orders, min(cluster_s, deadline_s - clock())))
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
        released = _neighbourhood(net, seed_order, order_lines, size, rng, by_line)
        budget = min(step_s, deadline_s - clock())
        if budget <= 0:
            break
        steps += 1
        gain = _apply(state, released, _resolve(cand, state, released, budget, float(state.got[released].sum()), clock))
        improved, gained, improved_in_pass = improved + (gain > 0), gained + gain, improved_in_pass or gain > 0
        if gain > 0 and improved % RESYNC_EVERY == 0:  # no drift from many float additions and subtractions
            state.booked = booked_per_line_day(state.bookings(), net.cap.shape)
    return Search(bookings=state.bookings(), steps=steps, improved=improved, gained_std_min=gained)


def _apply(state: _State, released: IntArray, better: list[Booking] | None) -> float:
    """Replace the released orders' bookings by ``better`` (if any); the std-min gained."""
    if better is None:
        return 0.0
    gain = _std(better) - float(state.got[released].sum())
    state.replace(released, better)
    return gain


def _std(bookings: Sequence[Booking]) -> float:
    return float(sum(b.std_min for b in bookings))


@dataclass(frozen=True, slots=True)
class _Candidates:
    """Where released orders may go: every arc of ``net`` (``per_order`` 0), or per order
    ``per_order`` factories: those it uses now, then those with the most free minutes before its
    due day that can still take its minimum (chosen afresh for every neighbourhood)."""

    net: Network
    by_order: _Index
    per_order: int

    def arcs(self, released: IntArray, cum: FloatArray, state: _State) -> IntArray:
        net = self.net
        arcs = self.by_order.arcs(released)
        avail = cum[net.arc_line[arcs], net.due_k[net.arc_order[arcs]]]
        arcs, avail = arcs[avail > 0], avail[avail > 0]
        if self.per_order <= 0 or arcs.size == 0:
            return arcs
        n_f = len(net.factories)
        key = net.arc_order[arcs] * n_f + net.line_factory[net.arc_line[arcs]]
        groups, inv = np.unique(key, return_inverse=True)
        g_avail = np.bincount(inv, weights=avail, minlength=groups.size)
        g_min = np.zeros(groups.size)
        np.maximum.at(g_min, inv, net.arc_min_std_min[arcs])
        used = np.array([b.order * n_f + int(net.line_factory[b.line])
                         for i in released.tolist() for b in state.by_order.get(i, [])], dtype=np.int64)
        in_use = np.isin(groups, used)
        # groups in use rank first and count: "in use + 5 more" measured worse (seed 11, 2 000 orders:
        # 0.86 % after 333 neighbourhoods, vs 0.67 % after 447; seed 7 0.23 % vs 0.19 %)
        score = np.where(in_use, np.inf, np.where(g_avail >= g_min - PIECE_TOLERANCE, g_avail, -1.0))
        g_order = groups // n_f
        srt = np.lexsort((-score, g_order))
        first = np.searchsorted(g_order[srt], g_order[srt], side="left")
        rank = np.empty(groups.size, dtype=np.int64)
        rank[srt] = np.arange(groups.size) - first
        keep = in_use | ((score >= 0) & (rank < self.per_order))
        return arcs[keep[inv]]


def _sub_network(cand: _Candidates, state: _State, released: IntArray) -> Network:
    """The released orders' candidate arcs on the capacity every other booking leaves."""
    net = cand.net
    mine = np.zeros(net.cap.shape)
    for i in released.tolist():
        for b in state.by_order.get(i, []):
            mine[b.line, b.day] += b.std_min
    free = np.maximum(net.cap - (state.booked - mine), 0.0)
    cum = np.cumsum(free, axis=1)
    keep = np.zeros(net.n_arcs, dtype=np.bool_)
    keep[cand.arcs(released, cum, state)] = True
    return select_arcs(replace(net, cap=free, cum=cum, arc_pref=np.zeros(net.n_arcs)), keep)


def _cluster(wide: Network, state: _State, orders: IntArray, budget_s: float) -> tuple[IntArray, list[Booking] | None]:
    """The cluster step: every short order with its own minimum and at most ``SCARCE_FACTORIES``
    eligible factories, with every order booked on those factories' lines, re-planned together by
    CP-SAT from the current bookings (``matching.cpsat``), ``CLUSTER_FACTORIES`` factories each.
    Returns the released orders and their better bookings (None if not better)."""
    n_f = len(wide.factories)
    by_order = _Index.of(wide.arc_order, len(wide.orders))
    groups = np.unique(wide.arc_order * n_f + wide.line_factory[wide.arc_line])
    n_fac = np.bincount(groups // n_f, minlength=len(wide.orders))
    demand = wide.demand_std_min()
    scarce = [i for i in orders.tolist() if wide.orders[i].min_qty_per_factory > 0 and 0 < n_fac[i] <= SCARCE_FACTORIES
              and state.got[i] < demand[i] - PIECE_TOLERANCE * wide.orders[i].sam_min]
    lines = set(wide.arc_line[by_order.arcs(np.array(scarce, dtype=np.int64))].tolist())
    near = {i for i, bs in state.by_order.items() if any(b.line in lines for b in bs)}
    released = np.array(sorted(set(scarce) | near), dtype=np.int64)
    if not scarce:
        return released, None
    sub = _sub_network(_Candidates(wide, by_order, CLUSTER_FACTORIES), state, released)
    model = build(sub, np.arange(sub.n_arcs), split_penalty_std_min=0.0, whole_pieces=True)
    values = solve_hinted(model, _hint(sub, model, state, released), budget_s)
    if values is None:
        return released, None
    again = to_bookings(sub, edd_minutes(sub, model.x_std_min(values)))
    old = float(state.got[released].sum())
    if _std(again) <= old + PIECE_TOLERANCE or not _respects_minimums(sub, again):
        return released, None
    return released, again


def _hint(sub: Network, model: Model, state: _State, released: IntArray) -> FloatArray:
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


def _resolve(cand: _Candidates, state: _State, released: IntArray, budget_s: float, old: float,
             clock: Callable[[], float]) -> list[Booking] | None:
    """The ``released`` orders (booking ``old`` std-min now) re-planned exactly on the capacity
    every other booking leaves, on their candidate arcs, or None if not better."""
    sub = _sub_network(cand, state, released)
    sol = solve(sub, SolveOptions(time_limit_s=budget_s, split_penalty_std_min=0.0, mip_rel_gap=SUB_MIP_GAP,
                                  fix_above_binaries=10**9), clock=clock)
    again = to_bookings(sub, edd_minutes(sub, sol.x_std_min))
    if _std(again) <= old + PIECE_TOLERANCE or not _respects_minimums(sub, again):
        return None
    return again


def _respects_minimums(net: Network, bookings: Sequence[Booking]) -> bool:
    """Every (order, factory) share is 0 or at least its minimum; whole orders all or nothing."""
    got: dict[tuple[int, int], int] = {}
    for b in bookings:
        key = (b.order, int(net.line_factory[b.line]))
        got[key] = got.get(key, 0) + b.pieces
    minimum: dict[tuple[int, int], float] = {}
    for a in range(net.n_arcs):
        key = (int(net.arc_order[a]), int(net.line_factory[net.arc_line[a]]))
        minimum[key] = max(minimum.get(key, 0.0), float(net.arc_min_std_min[a]))
    for (i, f), pieces in got.items():
        order = net.orders[i]
        if pieces and pieces * order.sam_min + PIECE_TOLERANCE * order.sam_min < minimum.get((i, f), 0.0):
            return False
    return True
