"""Plan: orders + measured line capacity + profiles -> allocation plan. Pure apart from the clock
used for HiGHS' time limit and the reported solve seconds (both injectable).

Steps: eligible network -> greedy EDD baseline (its arcs are kept by pruning) -> top-K pruning ->
LP/MILP per connected component -> earliest-due-date days -> whole pieces -> drop any factory
share that rounding pushed below its minimum -> greedy top-up of whole pieces into the residual
capacity -> reasons for every remainder. If a time-limited MILP ends with fewer on-time minutes
than the baseline, the baseline plan is returned (status says so): never worse than greedy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from matching.capacity import LineCapacity
from matching.greedy import greedy_fill
from matching.models import (
    Allocation,
    AllocationPlan,
    Order,
    ProfileBook,
    RowError,
    SolveStats,
    Unallocated,
    UnallocatedReason,
)
from matching.network import IntArray, Network, arcs_by_order, build_network
from matching.objective import PreferenceWeights
from matching.pruning import PruneOptions, prune
from matching.schedule import PIECE_TOLERANCE, Booking, booked_per_line_day, edd_minutes, to_bookings
from matching.solver import SolveOptions, solve


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchOptions:
    solve: SolveOptions = field(default_factory=SolveOptions)
    prune: PruneOptions = field(default_factory=PruneOptions)
    weights: PreferenceWeights = field(default_factory=PreferenceWeights)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanResult:
    """The plan plus the greedy baseline's on-time minutes from the same run (for benchmarks)."""

    plan: AllocationPlan
    baseline_std_min: float


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
    """Allocate ``orders`` (already validated) to ``lines``; ``invalid`` are carried into the plan."""
    opts = options or MatchOptions()
    started = clock()
    net = build_network(orders, lines, book, opts.weights)
    quantities = {i: o.quantity for i, o in enumerate(net.orders)}
    baseline, _ = greedy_fill(net, residual=net.cap, remaining_pieces=quantities)
    pruned = prune(net, options=opts.prune, must_keep={(b.order, b.line) for b in baseline})
    sol = solve(pruned, opts.solve, clock=clock)
    bookings = _enforce_minimums(pruned, to_bookings(pruned, edd_minutes(pruned, sol.x_std_min)))
    bookings += _top_up(net, bookings)
    status = sol.status
    if _std_min(bookings) + PIECE_TOLERANCE < _std_min(baseline):
        bookings, status = list(baseline), status + ",greedy_fallback"
    stats = SolveStats(
        method=sol.method,
        status=status,
        components=sol.components,
        variables=sol.variables,
        binaries=sol.binaries,
        constraints=sol.constraints,
        mip_gap=sol.mip_gap,
        seconds=max(clock() - started, 0.0),
        objective=sol.objective,
    )
    plan = AllocationPlan(
        allocations=_allocations(net, bookings),
        unallocated=[*invalid, *_unallocated(net, bookings)],
        errors=list(errors),
        stats=stats,
    )
    return PlanResult(plan=plan, baseline_std_min=_std_min(baseline))


def _std_min(bookings: Sequence[Booking]) -> float:
    return float(sum(b.std_min for b in bookings))


def _enforce_minimums(net: Network, bookings: list[Booking]) -> list[Booking]:
    """Drop an order's share at a factory that rounding left below the factory minimum."""
    minimum: dict[tuple[int, int], float] = {}
    for a in range(net.n_arcs):
        key = (int(net.arc_order[a]), int(net.line_factory[net.arc_line[a]]))
        minimum[key] = max(minimum.get(key, 0.0), float(net.arc_min_std_min[a]))
    got: dict[tuple[int, int], float] = {}
    for b in bookings:
        key = (b.order, int(net.line_factory[b.line]))
        got[key] = got.get(key, 0.0) + b.pieces * net.orders[b.order].sam_min
    short = {k for k, m in got.items() if m + PIECE_TOLERANCE * net.orders[k[0]].sam_min < minimum.get(k, 0.0)}
    return [b for b in bookings if (b.order, int(net.line_factory[b.line])) not in short]


def _top_up(net: Network, bookings: Sequence[Booking]) -> list[Booking]:
    """Whole pieces the rounding released, placed greedily into what is still free."""
    residual = np.maximum(net.cap - booked_per_line_day(bookings, net.cap.shape), 0.0)
    left = {i: o.quantity for i, o in enumerate(net.orders)}
    used: dict[int, set[int]] = {}
    for b in bookings:
        left[b.order] -= b.pieces
        used.setdefault(b.order, set()).add(int(net.line_factory[b.line]))
    extra, _ = greedy_fill(net, residual=residual, remaining_pieces=left, used_factories=used)
    return extra


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


def _unallocated(net: Network, bookings: Sequence[Booking]) -> list[Unallocated]:
    placed = dict.fromkeys(range(len(net.orders)), 0)
    used: dict[int, set[int]] = {}
    for b in bookings:
        placed[b.order] += b.pieces
        used.setdefault(b.order, set()).add(int(net.line_factory[b.line]))
    residual_cum = np.cumsum(np.maximum(net.cap - booked_per_line_day(bookings, net.cap.shape), 0.0), axis=1)
    arcs_of = arcs_by_order(net)
    empty: IntArray = np.zeros(0, dtype=np.int64)
    out = []
    for i, order in enumerate(net.orders):
        left = order.quantity - placed[i]
        if left <= 0:
            continue
        reason, detail = _reason(net, i, left, arcs_of.get(i, empty), residual_cum, used.get(i, set()))
        out.append(
            Unallocated(
                order_id=order.order_id, pieces=left, std_min=left * order.sam_min, reason=reason, detail=detail
            )
        )
    return out


def _reason(
    net: Network, i: int, left: int, arcs: IntArray, residual_cum: np.ndarray, used: set[int]
) -> tuple[UnallocatedReason, str]:
    order = net.orders[i]
    if not net.has_category[i]:
        return UnallocatedReason.NO_ELIGIBLE_FACTORY, f"no factory makes category {order.category!r}"
    if not net.minimum_le_quantity[i]:
        return UnallocatedReason.BELOW_MINIMUM_QUANTITY, (
            f"{order.quantity} pieces is below the minimum of every factory making {order.category!r}"
        )
    if net.due_k[i] < 0:
        return UnallocatedReason.INSUFFICIENT_CAPACITY_BEFORE_DUE, f"no capacity reported on or before {order.due}"
    lines = net.arc_line[arcs]
    has_room = residual_cum[lines, net.due_k[i]] >= order.sam_min * (1 - PIECE_TOLERANCE)
    if has_room.any() and order.splittable:
        blocked = [
            a for a, room in zip(arcs, has_room, strict=True)
            if room and int(net.line_factory[net.arc_line[a]]) not in used
            and net.arc_min_std_min[a] > left * order.sam_min
        ]
        if len(blocked) == int(has_room.sum()):
            return UnallocatedReason.BELOW_MINIMUM_QUANTITY, (
                f"remaining {left} pieces are below the minimum of every factory with free capacity"
            )
    what = "a single factory with room for all of it" if not order.splittable else "free capacity"
    return UnallocatedReason.INSUFFICIENT_CAPACITY_BEFORE_DUE, f"no {what} on or before {order.due}"
