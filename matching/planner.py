"""Plan: orders + measured line capacity + profiles -> allocation plan. Pure apart from the clock
used for HiGHS' time limits and the reported solve seconds (both injectable).

Objective (``matching.objective``): most on-time standard minutes, then fewest factory splits,
then best factories. Plans are built in the same run and the one with the most on-time standard
minutes wins (ties: flow, flow2, exact, greedy, contention):

- **flow** (the optimiser at every size): min-cost flow over *every* eligible (order, line) arc,
  days exact through line-day chains (``matching.flow``, OR-tools) — the true optimum without
  minimums, in integer tenths of a standard minute -> the few orders whose factory shares break
  a minimum or a whole order re-planned by the LP/MILP on the capacity the others leave
  (``matching.repair``) -> earliest-due-date days -> whole pieces -> drop any factory share that
  rounding pushed below its minimum -> greedy top-up of released minutes;
- **flow2** (``matching.twophase``): non-splittable and order-minimum orders placed whole first
  (greedy, in the order of a flow's shares: the flow of every order on small networks, of these
  orders alone at cluster size), improved by the neighbourhood search (``matching.neighbourhood``:
  a few competing orders at a time re-planned by the exact MILP until ``search_deadline_s`` or
  earlier, so that the plan ends within ``time_budget_s``), then every other piece greedily;
  while the plan is younger than ``two_phase_deadline_s`` and its budget has room, also one flow
  round on what phase A left, dropping every (order, factory) share below its minimum -> the same
  minimum / top-up steps, and the better of the two is kept. It wins at 200 and 2 000 orders
  (bench seed 7); the single flow + repair runs only while the flow network has at most
  ``repair_max_arcs`` arcs, and the contention greedy only while the flow network is not pruned;
- **exact**, only while the pruned network has at most ``exact_max_arcs`` arcs: top-K pruning
  (greedy's arcs kept) -> LP/MILP per connected component in whole pieces (minimums and split
  penalty inside) -> the same days / minimum / top-up steps;
- **greedy**: the earliest-due-date baseline (``matching.greedy``), best lines first — the
  "never below greedy" guard and the benchmark's reference;
- **contention**: the same greedy, least-contested lines first (``matching.contention``).

The maximum flow of the same network with every minimum dropped bounds the on-time minutes of
any plan; ``bound_gap = (bound − plan) / bound`` says how far the plan is from optimal at most.
The status is ``optimal`` only for a plan proven optimal (see ``plan_orders``), else ``feasible``.
Every remainder gets a reason (``matching.reasons``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from seamline.matching.capacity import LineCapacity
from seamline.matching.contention import contention_rank
from seamline.matching.finish import enforce_minimums, top_up, unconstrained_short
from seamline.matching.flow import FlowResult, max_on_time_std_min, solve_flow
from seamline.matching.greedy import greedy_fill
from seamline.matching.models import (
    Allocation,
    AllocationPlan,
    Order,
    ProfileBook,
    RowError,
    SolveStats,
    Unallocated,
)
from seamline.matching.neighbourhood import Search, SearchOptions
from seamline.matching.network import Network, build_network
from seamline.matching.objective import PreferenceWeights
from seamline.matching.pruning import PruneOptions, prune
from seamline.matching.reasons import unallocated
from seamline.matching.repair import repair_minimums
from seamline.matching.schedule import PIECE_TOLERANCE, Booking, edd_minutes, to_bookings
from seamline.matching.solver import SolveOptions, solve
from seamline.matching.twophase import SearchDeadline, phase_a, phase_b

# Above this many pruned arcs the per-arc LP/MILP is skipped: the 200-order benchmark (~6k arcs)
# solves in about a second, the 2 000-order one (~85k arcs) did not finish its LP in 30 s.
DEFAULT_EXACT_MAX_ARCS = 20_000
# Above this many eligible arcs the flow runs on the pruned network instead (the bound stays the
# full network's max flow, ~1 s): at 2 000 orders the full 3.6 M-arc min-cost flow takes ~13-15 s
# and with its repair pushed the benchmark to 35 s; the pruned one (~115 k arcs) takes ~4.5 s.
DEFAULT_FLOW_MAX_ARCS = 1_000_000
# Phase B rounds. Once phase A's orders are improved by the neighbourhood search, more rounds
# cost plan quality (bench seed 7, 200 orders: gap 0.12 % with 1 or 2 rounds, 0.27 % with 4,
# 0.61 % with 12: every round forbids the (order, factory) pairs that broke a minimum for good,
# while one round leaves them to the greedy top-up); at 2 000 orders one round is all there is
# time for.
DEFAULT_TWO_PHASE_ROUNDS = 1
# No phase B flow round begins after this many seconds of the plan (the benchmark's target is 30 s). At
# 2 000 orders (seed 7) 1 round gave 219.586 M and 3 rounds 219.587 M: the greedy top-up re-places
# what the dropped shares released, so extra rounds are not worth ~3 s each there. Since 2026-12-06
# the greedy comes first and the flow path runs beside it only before this deadline (and within the
# time budget, ``FLOW_B_COST``): at 2 000 orders the search runs past it, and the greedy meets every
# unconstrained order after phase A (seeds 7, 11, 13); from one phase A (seed 11) both ways ended
# 0.765 % below the bound, and the steps after the search took 1.9-2.0 s instead of ~4 s (phase
# B's flow 1.8 s, its schedule 0.4 s), which the search now gets (``twophase.SEARCH_TAIL_FACTOR``).
DEFAULT_TWO_PHASE_DEADLINE_S = 12.0
# Phase B's flow path (its flow, schedule, a second top-up) and the bookings after it, in units of
# the greedy phase B just measured (the minimums check and the top-up). At 2 000 orders (seed 11,
# 2026-12-06): 1.80 + 0.39 + 0.07 + 1.06 s against 1.30 s (2.5x), the bookings 0.6 s more.
FLOW_B_COST = 4.0
# The neighbourhood search of the two-phase plan stops at most this many seconds after the plan
# started, and earlier when the time budget below asks for it.
DEFAULT_SEARCH_DEADLINE_S = 27.0
# The plan's time budget (issue 15: 30 s at the large size): the search stops early enough that the
# steps after it end within it (``twophase.SearchDeadline``). Measured at 2 000 orders, CPU seconds
# (2026-12-05, a host running ``sum(range(10**6))`` in 17 ms): before the search 5.3-5.9 s, after it
# 6.0-6.7 s (1.13x); with the fixed 23 s deadline the plan took 29.7-31.0 s on that host, 27.8 s on
# a host ~1.4x faster and 32.8 s on one ~1.5x slower. Since 2026-12-06 (bound in a thread, greedy
# phase B) 2.9-3.1 s before the search and 1.9-2.0 s after it on an 11.7 ms host.
DEFAULT_TIME_BUDGET_S = 30.0
# Seconds an exact solve always gets, even with a tiny time limit.
MIN_EXACT_SECONDS = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchOptions:
    solve: SolveOptions = field(default_factory=SolveOptions)
    prune: PruneOptions = field(default_factory=PruneOptions)
    weights: PreferenceWeights = field(default_factory=PreferenceWeights)
    exact_max_arcs: int = DEFAULT_EXACT_MAX_ARCS
    flow_max_arcs: int = DEFAULT_FLOW_MAX_ARCS
    # False: skip the flow candidate (the previous planner; kept for comparisons and tests)
    use_flow: bool = True
    # HiGHS seconds for the flow's minimum repair: at 2 000 orders it re-plans ~1 600 orders'
    # remainders, and the flow itself already takes ~13 s of the benchmark's 30 s target.
    repair_time_limit_s: float = 5.0
    # The single flow + repair candidate runs only up to this many flow arcs (it loses to the
    # two-phase one beyond the small benchmark and its repair MILP costs seconds).
    repair_max_arcs: int = DEFAULT_EXACT_MAX_ARCS
    # Two-phase candidate (``matching.twophase``): phase B flow rounds at most, and the seconds
    # since the plan started after which no new round begins.
    two_phase_rounds: int = DEFAULT_TWO_PHASE_ROUNDS
    two_phase_deadline_s: float = DEFAULT_TWO_PHASE_DEADLINE_S
    # Seconds since the plan started until which phase A's neighbourhood search may run
    # (``matching.neighbourhood``); None: no search.
    search_deadline_s: float | None = DEFAULT_SEARCH_DEADLINE_S
    # Seconds the plan aims to take in all; the search stops early enough for it (None: only the
    # search deadline counts).
    time_budget_s: float | None = DEFAULT_TIME_BUDGET_S
    # Orders per neighbourhood and factories per released order (``SearchOptions``; factories 0:
    # only the pruned network's lines, as before issue 15's second round).
    search: SearchOptions = field(default_factory=SearchOptions)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanResult:
    """The plan plus the greedy baseline's on-time minutes from the same run (for benchmarks)."""

    plan: AllocationPlan
    baseline_std_min: float


@dataclass(frozen=True, slots=True, kw_only=True)
class _Candidate:
    bookings: list[Booking]
    method: str
    status: str
    components: int = 0
    variables: int = 0
    binaries: int = 0
    constraints: int = 0
    mip_gap: float | None = None
    objective: float = 0.0
    # The solver proved these bookings optimal over the whole network: exact MILP in whole pieces,
    # every component optimal, no arc pruned, and the plan books exactly the MILP's minutes.
    proven: bool = False


def plan_orders(
    orders: Sequence[Order],
    lines: Sequence[LineCapacity],
    book: ProfileBook,
    *,
    options: MatchOptions | None = None,
    errors: Sequence[RowError] = (),
    invalid: Sequence[Unallocated] = (),
    clock: Callable[[], float] = time.monotonic,
) -> PlanResult:
    """Allocate ``orders`` (already validated) to ``lines``; ``invalid`` are carried into the plan.

    HiGHS gets ``options.solve.time_limit_s`` seconds for the exact solve and at most
    ``options.repair_time_limit_s`` for the flow's minimum repair (each at least
    ``MIN_EXACT_SECONDS``); the flow itself has no time limit (OR-tools' network algorithms do not
    take one) but is polynomial."""
    opts = options or MatchOptions()
    started = clock()
    net = build_network(orders, lines, book, opts.weights)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="matching-bound") as pool:
        # the bound is only reported: its max flow (~1 s at cluster size, OR-tools without the GIL
        # for most of it) runs beside the baseline greedy and the search instead of before them
        bound_job = pool.submit(max_on_time_std_min, net)
        baseline, best = _plan(net, opts, clock, started=started)
        bound = bound_job.result()
    on_time = _std_min(best.bookings)
    # The status and gaps describe the returned plan: "optimal" only when the solver proved these
    # very bookings optimal or they reach the bound (max flow without minimums); otherwise
    # "feasible" with the candidate's own status in brackets, and no MIP gap.
    at_bound = bound - on_time <= PIECE_TOLERANCE * max(bound, 1.0)
    stats = SolveStats(
        method=best.method,
        status="optimal" if best.proven or at_bound else f"feasible ({best.status})",
        components=best.components,
        variables=best.variables,
        binaries=best.binaries,
        constraints=best.constraints,
        mip_gap=best.mip_gap if best.proven else (0.0 if at_bound else None),
        bound_std_min=bound,
        bound_gap=max(bound - on_time, 0.0) / max(bound, 1.0),
        seconds=max(clock() - started, 0.0),
        objective=best.objective,
    )
    plan = AllocationPlan(
        allocations=_allocations(net, best.bookings),
        unallocated=[*invalid, *unallocated(net, best.bookings)],
        errors=list(errors),
        stats=stats,
    )
    return PlanResult(plan=plan, baseline_std_min=_std_min(baseline))


def _plan(net: Network, opts: MatchOptions, clock: Callable[[], float], *, started: float
          ) -> tuple[list[Booking], _Candidate]:
    """The greedy baseline and the best candidate plan (see the module docstring)."""
    quantities = {i: o.quantity for i, o in enumerate(net.orders)}
    baseline, _ = greedy_fill(net, residual=net.cap, remaining_pieces=quantities)
    # first of equals wins: flow and exact also optimise splits and preferences, then the
    # baseline (best lines first), then contention
    candidates = [_Candidate(bookings=list(baseline), method="greedy", status="baseline")]
    if not opts.use_flow or net.n_arcs <= opts.flow_max_arcs:
        # at cluster size (pruned flow) the two-phase plan beats it by ~1 % and it costs ~3 s
        contended, _ = greedy_fill(net, residual=net.cap, remaining_pieces=quantities,
                                   arc_rank=contention_rank(net))
        candidates.append(_Candidate(bookings=contended, method="contention", status="least_contested_first"))
    greedy_arcs = {(b.order, b.line) for b in baseline}
    pruned = prune(net, options=opts.prune, must_keep=greedy_arcs)
    if pruned.n_arcs <= opts.exact_max_arcs:
        budget = max(opts.solve.time_limit_s, MIN_EXACT_SECONDS)
        candidates.insert(0, _exact(net, pruned, replace(opts.solve, time_limit_s=budget), clock))
    if opts.use_flow:
        flow_net = net if net.n_arcs <= opts.flow_max_arcs else pruned
        candidates[:0] = _flow_candidates(net, flow_net, opts, clock, started=started)
    return baseline, _best(candidates)


def _flow_candidates(
    net: Network, flow_net: Network, opts: MatchOptions, clock: Callable[[], float], *, started: float
) -> list[_Candidate]:
    """The single flow + repair candidate (small networks only: one min-cost flow of
    ``flow_net``, ``net`` or its pruned copy) and the two-phase one (guided by the flow of its
    constrained orders alone, see ``matching.twophase``)."""
    if flow_net.n_arcs > opts.repair_max_arcs:
        return [_two_phase(net, flow_net, None, opts, clock, started=started)]
    # small networks: the flow of every order is cheap; as guide it measured better at 200
    # orders (gap 0.16-0.19 % vs 0.61 % with the constrained orders' own flow)
    flow = solve_flow(flow_net, clock=clock)
    return [_repaired(net, flow_net, flow, opts, clock), _two_phase(net, flow_net, flow, opts, clock, started=started)]


def _two_phase(
    net: Network, flow_net: Network, guide: FlowResult | None, opts: MatchOptions, clock: Callable[[], float],
    *, started: float,
) -> _Candidate:
    """Phase A (``twophase.phase_a``), then every other piece greedily; then, while the plan is
    younger than ``two_phase_deadline_s`` and its time budget has room for it (``_flow_b_fits``),
    also phase B's flow rounds (``twophase.phase_b``) on what phase A left, and the better of the two
    is kept (the flow's on equal minutes)."""
    search = None if opts.search_deadline_s is None else SearchDeadline(
        started_s=started, cap_s=started + opts.search_deadline_s, budget_s=opts.time_budget_s)
    a = phase_a(flow_net, guide, search_until_s=search, clock=clock, search_net=net, search=opts.search)
    status = f"A:{a.constrained_orders}" + _search_status(a.search)
    greedy_started = clock()
    greedy = enforce_minimums(flow_net, a.bookings)
    greedy += top_up(net, greedy)
    short = unconstrained_short(net, greedy)
    greedy_b = _Candidate(bookings=greedy, method="flow2", status=status + f",B:greedy,{short}s")
    if not _flow_b_fits(opts, clock(), started=started, greedy_s=clock() - greedy_started):
        return greedy_b
    b = phase_b(flow_net, a.bookings, max_rounds=opts.two_phase_rounds,
                deadline_s=started + opts.two_phase_deadline_s, clock=clock)
    bookings = enforce_minimums(flow_net, a.bookings + b.bookings)
    bookings += top_up(net, bookings)
    flowed = _Candidate(
        bookings=bookings,
        method="flow2",
        status=status + f",B:{b.rounds}r,{b.violating_orders}v",
        variables=b.flow.arcs,
        constraints=b.flow.nodes,
        objective=b.flow.on_time_std_min,
    )
    return _best([flowed, greedy_b])


def _flow_b_fits(opts: MatchOptions, now: float, *, started: float, greedy_s: float) -> bool:
    """Phase B's flow may begin: the plan is younger than ``two_phase_deadline_s`` and, with a
    time budget, ``FLOW_B_COST`` × the greedy phase B's seconds still fit in it."""
    if now >= started + opts.two_phase_deadline_s:
        return False
    return opts.time_budget_s is None or now + FLOW_B_COST * greedy_s <= started + opts.time_budget_s


def _search_status(search: Search | None) -> str:
    if search is None:
        return ""
    cluster = f",cluster:{search.cluster}" if search.cluster else ""
    return f"+lns{search.improved}/{search.steps}{cluster}"


def _repaired(
    net: Network, flow_net: Network, flow: FlowResult, opts: MatchOptions, clock: Callable[[], float]
) -> _Candidate:
    """The flow's minimums repaired, whole pieces, topped up greedily. Arc indices of
    ``flow_net`` are used throughout until the top-up."""
    budget = max(min(opts.solve.time_limit_s, opts.repair_time_limit_s), MIN_EXACT_SECONDS)
    fixed = repair_minimums(
        flow_net, flow.x_std_min, prune_options=opts.prune,
        solve_options=replace(opts.solve, time_limit_s=budget), clock=clock,
    )
    bookings = enforce_minimums(flow_net, fixed.bookings)
    bookings += top_up(net, bookings)
    sol = fixed.solution
    method = "flow" if sol is None else f"flow+{sol.method}"
    status = f"flow:{flow.status}" + ("" if sol is None else f",repair({fixed.violating_orders} orders):{sol.status}")
    return _Candidate(
        bookings=bookings,
        method=method,
        status=status,
        components=0 if sol is None else sol.components,
        variables=flow.arcs + (0 if sol is None else sol.variables),
        binaries=0 if sol is None else sol.binaries,
        constraints=flow.nodes + (0 if sol is None else sol.constraints),
        mip_gap=None if sol is None else sol.mip_gap,
        objective=flow.on_time_std_min - flow.pref_cost / (2.0 * len(net.orders) + 2.0),
    )


def _exact(net: Network, pruned: Network, options: SolveOptions, clock: Callable[[], float]) -> _Candidate:
    sol = solve(pruned, options, clock=clock)
    solved = enforce_minimums(pruned, to_bookings(pruned, edd_minutes(pruned, sol.x_std_min)))
    bookings = solved + top_up(net, solved)
    model_std_min = float(sol.x_std_min.sum())
    proven = (
        options.whole_pieces
        and sol.status == "optimal"
        and pruned.n_arcs == net.n_arcs
        and abs(_std_min(bookings) - model_std_min) <= PIECE_TOLERANCE * max(model_std_min, 1.0)
    )
    return _Candidate(
        bookings=bookings,
        method=sol.method,
        status=sol.status,
        components=sol.components,
        variables=sol.variables,
        binaries=sol.binaries,
        constraints=sol.constraints,
        mip_gap=sol.mip_gap,
        objective=sol.objective,
        proven=proven,
    )


def _best(candidates: Sequence[_Candidate]) -> _Candidate:
    """The candidate with the most on-time std-min; an earlier one wins unless a later one beats
    it by more than round-off, or equals it and is proven optimal (its status is then true)."""
    best = candidates[0]
    for c in candidates[1:]:
        diff = _std_min(c.bookings) - _std_min(best.bookings)
        if diff > PIECE_TOLERANCE or (c.proven and not best.proven and diff >= -PIECE_TOLERANCE):
            best = c
    return best


def _std_min(bookings: Sequence[Booking]) -> float:
    return float(sum(b.std_min for b in bookings))


def _allocations(net: Network, bookings: Sequence[Booking]) -> list[Allocation]:
    merged: dict[tuple[int, int, int], tuple[int, float]] = {}
    for b in bookings:
        p, m = merged.get((b.order, b.line, b.day), (0, 0.0))
        merged[(b.order, b.line, b.day)] = (p + b.pieces, m + b.std_min)
    out = []
    for (i, j, k), (pieces, std_min) in merged.items():
        key = net.lines[j].key
        out.append(
            Allocation(
                order_id=net.orders[i].order_id,
                enterprise=key.enterprise,
                site=key.site,
                line=key.line,
                day=net.days[k],
                pieces=pieces,
                std_min=round(std_min, 6),
            )
        )
    out.sort(key=lambda a: (a.order_id, a.enterprise, a.site, a.line, a.day))
    return out
