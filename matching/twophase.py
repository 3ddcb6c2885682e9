"""Two-phase flow plan: whole orders first, then min-cost flow rounds that give up minimum-breaking
factory shares, so the flow's thin spreading never has to be repaired after the fact.

The single flow (``matching.flow``) ignores minimums, spreads orders thinly, and the repair of
~150 of 200 (or ~1 600 of 2 000) violating orders ends below the least-contested greedy. Here:

1. **Phase A — constrained orders**: non-splittable orders and orders with their own per-factory
   minimum are placed whole-pieces by the greedy (earliest due date first, and largest indivisible
   chunk first: the start booking more is kept, :func:`phase_a_start`), each trying its lines by
   the share the unconstrained flow gave them (largest first), then least-contested lines —
   the flow says *where* they fit, the greedy makes them respect "one factory" and minimums;
2. **Phase B — the rest**, on the capacity phase A leaves (:func:`phase_b`; the planner runs it
   beside its greedy top-up while the plan is young and keeps the better): min-cost flow; every (order, factory)
   share in (0, minimum) — MOQs of the factories — loses its arcs, and the flow is solved again,
   at most ``max_rounds`` rounds (the flow's value barely moves, the violations shrink: bench
   seed 7, 200 orders: 118 violating orders -> 4 after 12 rounds);
3. shares still violating after the last round are dropped, the rest is scheduled
   earliest-due-date in whole pieces (``matching.schedule``); the planner then drops shares that
   rounding pushed below a minimum and tops up greedily.

Every booking respects line-day free minutes (phase B's capacity is what phase A left, rounded
down to flow units), due days (the flow's line-day chain) and minimums (checked afterwards by
the planner as for every candidate).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from seamline.matching.concurrent_search import improve_beside_cluster
from seamline.matching.contention import contention_rank
from seamline.matching.flow import FlowResult, solve_flow
from seamline.matching.greedy import edd_sequence, greedy_fill, largest_chunk_sequence
from seamline.matching.neighbourhood import Search, SearchOptions, improve
from seamline.matching.network import BoolArray, FloatArray, Network, select_arcs
from seamline.matching.parallel_search import improve_in_threads
from seamline.matching.repair import group_minimum_std_min, violating_groups
from seamline.matching.schedule import Booking, booked_per_line_day, edd_minutes, to_bookings
from seamline.matching.search_state import std_min_of

# Flow rounds of phase B: each costs one min-cost flow (~0.1 s at 200 orders, ~3 s at 2 000 on
# the pruned network). Seed 7, 2 000 orders: violating orders 907 -> 498 -> 400 -> 354 over 4.
# The planner passes its own (``MatchOptions.two_phase_rounds``) and a deadline.
DEFAULT_MAX_ROUNDS = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class TwoPhase:
    """Bookings of phase A and B (indices of the network passed in) and what it took."""

    bookings: list[Booking]
    constrained_orders: int  # orders placed in phase A
    rounds: int  # flow solves in phase B
    violating_orders: int  # orders with a share still dropped after the last round
    flow: FlowResult  # phase B's last flow
    search: Search | None = None  # phase A's neighbourhood search, if it ran


# Phase A's greedy start: earliest due first, and largest indivisible chunk first (a whole order's
# demand, else its per-factory minimum: first-fit decreasing). Measured (large, 12 s of one search
# thread from each start, search seeds 0 and 1, 2026-12-06, an 11.7 ms host), the constrained
# orders' std-min after the search: seed 11 EDD 31.68 / 31.67 M, largest chunk 31.96 / 31.90 M;
# seed 13 28.94 / 28.83 against 29.20 / 29.48 M; seed 7 29.90 / 29.79 against 30.01 / 30.05 M.
# Their greedy starts: 28.80 / 26.45 / 27.66 M against 29.73 / 27.29 / 27.91 M (0.03 s each).
START_SEQUENCES: tuple[Callable[[Network], list[int]], ...] = (edd_sequence, largest_chunk_sequence)

# The steps after the search against the steps before it, at 2 000 orders. Until 2026-12-06 the
# tail was phase B's min-cost flow, the schedule, the top-up and the allocations (1.13-1.85x the
# steps before, which included the bound's max flow), and the factor 1.8. Since then the bound runs
# in a thread beside them, phase B is the greedy where it meets every unconstrained order (the flow
# only where it does not, and only early in the plan: ``planner._two_phase``), and the tail measured
# 0.64 / 0.65 / 0.67x the steps before it (seeds 11 / 7 / 13, wall seconds, two search threads, an
# 11.7 ms host: 1.93-2.03 s after 2.99-3.12 s): 1.0 leaves half as much again for a noisier host.
SEARCH_TAIL_FACTOR = 1.0
SEARCH_TAIL_MARGIN_S = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchDeadline:
    """When phase A's search stops (``clock()`` seconds): at ``cap_s`` at the latest and, with a
    ``budget_s``, early enough that the steps after it still end within ``started_s + budget_s``.
    Those steps (phase B's flow, the schedule, the top-up, the bookings) scale with the machine like
    the steps before the search, so their time is estimated as ``tail_factor`` × the seconds the
    plan took until the search started, plus ``margin_s``."""

    started_s: float
    cap_s: float
    budget_s: float | None = None
    tail_factor: float = SEARCH_TAIL_FACTOR
    margin_s: float = SEARCH_TAIL_MARGIN_S

    def at(self, now: float) -> float:
        """The search's deadline, for a search starting at ``now``."""
        if self.budget_s is None:
            return self.cap_s
        tail = self.tail_factor * max(now - self.started_s, 0.0) + self.margin_s
        return min(self.cap_s, self.started_s + self.budget_s - tail)


def constrained_orders(net: Network) -> BoolArray:
    """Per order: non-splittable or with its own per-factory minimum (placed in phase A)."""
    return np.array([(not o.splittable) or o.min_qty_per_factory > 0 for o in net.orders], dtype=np.bool_)


def flow_guided_rank(net: Network, x_std_min: FloatArray) -> FloatArray:
    """Per arc: lines the flow used first, by decreasing share of the order's demand (in [-1, 0)),
    then every other line by contention rank (>= 1)."""
    demand = np.maximum(net.demand_std_min()[net.arc_order], 1e-9)
    return np.asarray(np.where(x_std_min > 0, -x_std_min / demand, contention_rank(net) + 1.0), dtype=np.float64)


def constrained_guide(net: Network, clock: Callable[[], float] = time.monotonic) -> FloatArray:
    """Per arc: the std-min a min-cost flow of the constrained orders *alone* (minimums dropped)
    gives it; 0 on every other order's arc. At 2 000 orders this flow takes ~0.8 s where the flow
    of every order took ~6 s, and it ranks phase A's lines as well: phase A runs before the
    unconstrained orders take any capacity."""
    whole = constrained_orders(net)
    x = np.zeros(net.n_arcs)
    sel = whole[net.arc_order]
    if sel.any():
        x[sel] = solve_flow(select_arcs(net, sel), clock=clock).x_std_min
    return x


def phase_a_start(net: Network, pieces: dict[int, int], rank: FloatArray) -> tuple[list[Booking], FloatArray]:
    """Phase A's greedy placement (``pieces`` per order on the lines ``rank`` prefers) in each of
    :data:`START_SEQUENCES`; the one booking the most standard minutes (the first of equals)."""
    starts = [greedy_fill(net, residual=net.cap, remaining_pieces=pieces, arc_rank=rank, sequence=sequence(net))
              for sequence in START_SEQUENCES]
    return max(starts, key=lambda start: std_min_of(start[0]))


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseA:
    """Phase A's bookings (whole pieces, the constrained orders only) and its search, if it ran."""

    bookings: list[Booking]
    constrained_orders: int
    search: Search | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseB:
    """Phase B's bookings (the other orders, on what phase A left) and its flow rounds."""

    bookings: list[Booking]
    rounds: int
    violating_orders: int
    flow: FlowResult


def phase_a(
    net: Network,
    guide: FlowResult | None,
    *,
    search_until_s: float | SearchDeadline | None = None,
    clock: Callable[[], float] = time.monotonic,
    search_net: Network | None = None,
    search: SearchOptions | None = None,
) -> PhaseA:
    """The constrained orders placed whole (:func:`phase_a_start`, lines ranked by ``guide``'s
    shares; None: :func:`constrained_guide`), then improved by the neighbourhood search until
    ``clock()`` passes ``search_until_s`` (a :class:`SearchDeadline`: the time it gives when the
    search starts; None: no search) on the arcs of ``search_net`` (None: ``net``'s)."""
    whole = constrained_orders(net)
    first = {i: (o.quantity if whole[i] else 0) for i, o in enumerate(net.orders)}
    guide_x = constrained_guide(net, clock) if guide is None else guide.x_std_min
    placed, _ = phase_a_start(net, first, flow_guided_rank(net, guide_x))
    searched = None
    if search_until_s is not None and whole.any():
        until = search_until_s.at(clock()) if isinstance(search_until_s, SearchDeadline) else search_until_s
        searched = _search(net, search_net or net, placed, whole, search or SearchOptions(), until, clock)
        placed = searched.bookings
    return PhaseA(bookings=placed, constrained_orders=int(whole.sum()), search=searched)


def phase_b(
    net: Network,
    placed: list[Booking],
    *,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    deadline_s: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> PhaseB:
    """The unconstrained orders by min-cost flow on the capacity ``placed`` leaves; rounds stop
    after ``max_rounds`` flows, or earlier once ``clock()`` has passed ``deadline_s`` (a round
    always completes; at least one runs)."""
    if max_rounds < 1:
        raise ValueError(f"max_rounds must be >= 1, got {max_rounds}")
    whole = constrained_orders(net)
    free = np.maximum(net.cap - booked_per_line_day(placed, net.cap.shape), 0.0)
    sub = select_arcs(replace(net, cap=free, cum=np.cumsum(free, axis=1)), ~whole[net.arc_order])
    rounds = 0
    while True:
        flow = solve_flow(sub, clock=clock)
        rounds += 1
        bad = violating_groups(sub, flow.x_std_min)
        active = bad & (flow.x_std_min > 0)
        done = not active.any() or rounds >= max_rounds or (deadline_s is not None and clock() >= deadline_s)
        if done:
            break
        sub = select_arcs(sub, _keep_groups(sub, active))
    x = np.where(bad, 0.0, flow.x_std_min)
    return PhaseB(bookings=to_bookings(sub, edd_minutes(sub, x)), rounds=rounds,
                  violating_orders=int(np.unique(sub.arc_order[active]).size), flow=flow)


def two_phase(
    net: Network,
    guide: FlowResult | None,
    *,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    deadline_s: float | None = None,
    search_until_s: float | SearchDeadline | None = None,
    clock: Callable[[], float] = time.monotonic,
    search_net: Network | None = None,
    search: SearchOptions | None = None,
) -> TwoPhase:
    """Plan ``net`` in two phases: :func:`phase_a` (``guide``: an unconstrained flow of ``net``
    whose shares rank phase A's lines; ``search_until_s``, ``search_net``, ``search``: its
    search), then :func:`phase_b` (``max_rounds``, ``deadline_s``) on what phase A left."""
    if max_rounds < 1:
        raise ValueError(f"max_rounds must be >= 1, got {max_rounds}")
    a = phase_a(net, guide, search_until_s=search_until_s, clock=clock, search_net=search_net, search=search)
    b = phase_b(net, a.bookings, max_rounds=max_rounds, deadline_s=deadline_s, clock=clock)
    return TwoPhase(
        bookings=a.bookings + b.bookings,
        constrained_orders=a.constrained_orders,
        rounds=b.rounds,
        violating_orders=b.violating_orders,
        flow=b.flow,
        search=a.search,
    )


def _search(net: Network, wide: Network, placed: list[Booking], whole: BoolArray, opts: SearchOptions,
            until_s: float, clock: Callable[[], float]) -> Search:
    """Phase A's neighbourhood search; its sub-MILPs pick each released order's lines among every
    arc of ``wide`` (``opts.factories_per_order`` > 0) or among ``net``'s arcs; with
    ``opts.cluster_thread`` the cluster step runs beside it (``matching.concurrent_search``)."""
    in_wide = constrained_orders(wide)[wide.arc_order]
    mine, orders = select_arcs(net, whole[net.arc_order]), np.flatnonzero(whole)
    if opts.factories_per_order > 0 and opts.cluster_thread:
        return improve_beside_cluster(mine, select_arcs(wide, in_wide), placed, orders, deadline_s=until_s,
                                      opts=opts, clock=clock)
    if opts.threads > 1:
        return improve_in_threads(mine, placed, orders, deadline_s=until_s, threads=opts.threads, clock=clock,
                                  max_orders=opts.max_orders, factories_per_order=opts.factories_per_order,
                                  wide=select_arcs(wide, in_wide) if opts.factories_per_order > 0 else None,
                                  seed=opts.seed).search
    return improve(mine, placed, orders, deadline_s=until_s, clock=clock, max_orders=opts.max_orders,
                   wide=select_arcs(wide, in_wide) if opts.factories_per_order > 0 else None,
                   factories_per_order=opts.factories_per_order, cluster_s=opts.cluster_s, seed=opts.seed)


def _keep_groups(net: Network, active: BoolArray) -> BoolArray:
    """Per arc: false for every arc of an (order, factory) group with an arc in ``active``."""
    group_of, minimum = group_minimum_std_min(net)
    hit = np.zeros(minimum.size, dtype=np.bool_)
    hit[group_of[active]] = True
    return np.asarray(~hit[group_of], dtype=np.bool_)
