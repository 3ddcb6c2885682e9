"""The neighbourhood search with the cluster step beside it, in a second thread.

The planner is single-threaded and the machine has two cores; CP-SAT's solve releases the GIL.
So from the start of the search:

1. the cluster (``matching.cluster.pick_cluster``: the short orders with big minimums and few
   factories, with every order booked on those factories' lines) is solved by CP-SAT, from its
   current bookings, in a thread (``ClusterThread``);
2. meanwhile the neighbourhood search improves every *other* order on a network without the
   cluster's orders, where each line the cluster may use keeps only the minutes the other orders
   book there now (per day): the search may move those bookings but never takes more of such a
   line, so whatever the cluster books fits beside it;
3. ``tail_s`` before the deadline (or once CP-SAT is done) the cluster's result is taken if it
   books more on-time minutes than the cluster's bookings did and the merged bookings fit every
   line-day; else the cluster keeps its bookings;
4. the search goes on over every order until the deadline.

Deadlines are on the caller's clock; the thread's on the wall clock (``time.monotonic``), so the
planner should be given a wall clock here: a CPU clock counts both threads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from seamline.matching.cluster import ClusterThread, better_bookings, pick_cluster
from seamline.matching.neighbourhood import Search, SearchOptions, improve
from seamline.matching.network import BoolArray, FloatArray, IntArray, Network, select_arcs
from seamline.matching.schedule import PIECE_TOLERANCE, Booking, booked_per_line_day
from seamline.matching.search_state import SearchState, std_min_of

log = logging.getLogger(__name__)


def improve_beside_cluster(net: Network, wide: Network, bookings: list[Booking], orders: IntArray, *,
                           deadline_s: float, opts: SearchOptions,
                           clock: Callable[[], float] = time.monotonic) -> Search:
    """``neighbourhood.improve`` of ``orders`` until ``deadline_s`` (``clock()`` seconds), with
    the cluster step in a second thread until ``opts.cluster_tail_s`` before it. ``net``: the
    network the neighbourhoods are drawn from; ``wide``: the one their arcs are chosen from. With
    ``opts.cluster_after_s`` the search runs alone that long first, and the cluster is picked from
    its bookings then."""
    if opts.cluster_after_s <= 0:
        return _beside(net, wide, bookings, orders, deadline_s=deadline_s, opts=opts, clock=clock)
    warm = _improve(net, wide, bookings, orders, min(deadline_s, clock() + opts.cluster_after_s), opts, clock)
    rest = _beside(net, wide, warm.bookings, orders, deadline_s=deadline_s, opts=opts, clock=clock)
    return Search(bookings=rest.bookings, steps=warm.steps + rest.steps, improved=warm.improved + rest.improved,
                  gained_std_min=std_min_of(rest.bookings) - std_min_of(bookings), cluster=rest.cluster)


def _beside(net: Network, wide: Network, bookings: list[Booking], orders: IntArray, *, deadline_s: float,
            opts: SearchOptions, clock: Callable[[], float]) -> Search:
    problem = pick_cluster(wide, SearchState.of(wide, bookings), orders, opts.cluster_factories)
    join_s = deadline_s - opts.cluster_tail_s
    if problem is None or clock() >= join_s:
        return _improve(net, wide, bookings, orders, deadline_s, opts, clock)
    runner = ClusterThread(problem, until_wall_s=time.monotonic() + (join_s - clock()))
    runner.start()
    in_cluster = np.zeros(len(net.orders), dtype=np.bool_)
    in_cluster[problem.released] = True
    theirs = [b for b in bookings if in_cluster[b.order]]
    mine = [b for b in bookings if not in_cluster[b.order]]
    cap = _cap_beside(net.cap, booked_per_line_day(mine, net.cap.shape), problem.lines())
    try:
        first = _improve(_restricted(net, cap, in_cluster), _restricted(wide, cap, in_cluster), mine,
                         orders[~in_cluster[orders]], join_s, opts, clock, stop=runner.done)
    except BaseException:
        runner.stop()
        raise
    better = better_bookings(problem, runner.result())
    merged = first.bookings + (theirs if better is None else better)
    outcome = "not better" if better is None else f"+{std_min_of(better) - problem.old_std_min:.0f}"
    if better is not None and not fits(net.cap, merged):  # not expected: the capacity was split above
        merged, outcome = first.bookings + theirs, "did not fit"
    log.debug("cluster: %d orders, %d lines, %d columns (%d binary), booked %.0f std-min: %s; search beside it "
              "%d steps +%.0f std-min until %.1f s", problem.released.size, problem.lines().size,
              problem.model.n_x + problem.model.n_y, problem.model.n_y, problem.old_std_min, outcome, first.steps,
              first.gained_std_min, clock())
    second = _improve(net, wide, merged, orders, deadline_s, opts, clock)
    return Search(bookings=second.bookings, steps=first.steps + second.steps,
                  improved=first.improved + second.improved,
                  gained_std_min=std_min_of(second.bookings) - std_min_of(bookings), cluster=outcome)


def fits(cap: FloatArray, bookings: list[Booking]) -> bool:
    """Every line-day books at most its free standard minutes (up to round-off)."""
    booked = booked_per_line_day(bookings, cap.shape)
    return bool((booked <= cap + PIECE_TOLERANCE * np.maximum(cap, 1.0)).all())


def _cap_beside(cap: FloatArray, others: FloatArray, lines: IntArray) -> FloatArray:
    """Free std-min per [line, day] for the search beside the cluster: on the cluster's lines only
    what the other orders book there now."""
    out = cap.copy()
    out[lines] = np.minimum(cap[lines], others[lines])
    return out


def _restricted(net: Network, cap: FloatArray, in_cluster: BoolArray) -> Network:
    """``net`` on ``cap`` without the cluster's orders' arcs."""
    return select_arcs(replace(net, cap=cap, cum=np.cumsum(cap, axis=1)), ~in_cluster[net.arc_order])


def _improve(net: Network, wide: Network, bookings: list[Booking], orders: IntArray, deadline_s: float,
             opts: SearchOptions, clock: Callable[[], float], stop: Callable[[], bool] | None = None) -> Search:
    return improve(net, bookings, orders, deadline_s=deadline_s, clock=clock, max_orders=opts.max_orders, wide=wide,
                   factories_per_order=opts.factories_per_order, stop=stop, seed=opts.seed)
