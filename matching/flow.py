"""The matching network as a min-cost flow (OR-tools ``SimpleMinCostFlow``), without minimums.

DOMAIN: "without minimums it is a min-cost flow (orders → factory-days → sink, capacities in
standard minutes)". Nodes and arcs, flow in integer units of ``1 / FLOW_UNITS_PER_STD_MIN``
standard minutes::

    source ──S_i──▶ order i ──(i, j) arc, cost pref_j──▶ (line j, latest free day ≤ due day of i)
    (line j, day k) ──unbounded──▶ (line j, previous free day)   work due by k may be done earlier
    (line j, day k) ──cap[j, k]──▶ sink                          free std-min of that line-day

(a node only for line-days with a flow unit free, on lines some arc reaches)

An order's unmet remainder is its supply left at the source (no "unmet" arc is needed): the
solve is OR-tools' *maximum flow with minimum cost*, which first maximises the flow — exactly
the on-time minutes, level 1 of ``matching.objective`` — then minimises preference cost among
those maxima (level 3), with no weight to tune between the two. Splits (level 2) and minimums
need binaries and are left to ``matching.repair``.

The chain arcs are how days stay exact without an arc per (order, line, day): flow entering at
the due day's node may move to any earlier day of the same line, so an order reaches every
day on or before its due day and no later one (a line's load respects Horn's condition, and
earliest-due-date filling in ``matching.schedule`` then yields the per-day plan).

Because every factory minimum and "one factory only" rule is dropped, the maximum flow is an
upper bound on the on-time minutes of any plan (for the bound, demand and capacities are rounded
*up* to flow units; for the plan, down, so it never books more than a line-day's free minutes).
On the 8 000-factory benchmark the full network has ~3.6 M
order-line arcs and up to ~135 k line-day nodes; max flow takes ~0.5-1.5 s, max flow with min cost
~13-15 s on one core.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import max_flow, min_cost_flow

from seamline.matching.network import FloatArray, IntArray, Network

# Integer flow units per standard minute. Free minutes arrive with one decimal (capacity
# messages round to 0.1 std-min), so 10 loses nothing there; 2·10⁸ std-min of demand at the
# cluster benchmark is 2·10⁹ units, far inside int64.
FLOW_UNITS_PER_STD_MIN = 10
# Integer cost units per unit of preference cost (which is in [0, 1]): 0.001 resolution is
# finer than any measured efficiency or quality figure; finer (or coarser: 10, 100) made the
# 2 000-order solve no faster and no better.
PREF_COST_RESOLUTION = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowResult:
    """Standard minutes per arc of the network, on-time total, and what the solve cost."""

    x_std_min: FloatArray  # [arc]
    on_time_std_min: float
    pref_cost: float  # Σ pref_a · x_a, std-min-weighted preference cost
    status: str
    nodes: int
    arcs: int
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class _Graph:
    tails: IntArray
    heads: IntArray
    caps: IntArray
    costs: IntArray
    first_line_arc: int  # index of the first order-line arc; they follow in the network's order
    source: int
    sink: int
    nodes: int
    supply: int


def _units(std_min: FloatArray, *, up: bool) -> IntArray:
    """Standard minutes -> integer flow units, rounded up or down (1e-6 absorbs float noise)."""
    scaled = std_min * FLOW_UNITS_PER_STD_MIN
    return np.asarray(np.ceil(scaled - 1e-6) if up else np.floor(scaled + 1e-6), dtype=np.int64)


def _graph(net: Network, *, relax: bool) -> _Graph:
    """``relax``: round demand and capacities *up* to flow units (for the bound), else down (for
    a plan that must never exceed a line-day's free minutes).

    Only line-days with capacity on lines some arc reaches get a node (phase B of the cluster
    plan: 7 520 of 9 594 lines, 18 % of their days full); an arc enters its line at the latest such
    day up to its order's due day and the chain links a line's nodes in day order — the same
    reachable days as a node per line-day, with ~35 % fewer nodes there. An arc whose line has no
    free day up to the due day goes to the sink with capacity 0."""
    n_o = len(net.orders)
    n_l, n_k = net.cap.shape
    source, sink = 0, 1
    order_node = 2 + np.arange(n_o, dtype=np.int64)
    a_order, a_line = net.arc_order, net.arc_line
    reached = np.zeros(n_o, dtype=np.bool_)
    reached[a_order] = True
    demand = np.where(reached, _units(net.demand_std_min(), up=relax), 0)  # no supply without an arc
    cap = _units(net.cap, up=relax)
    used_line = np.zeros(n_l, dtype=np.bool_)
    used_line[a_line] = True
    keep = (cap > 0) & used_line[:, None]
    node = np.full((n_l, n_k), -1, dtype=np.int64)
    node[keep] = 2 + n_o + np.arange(int(keep.sum()), dtype=np.int64)
    # latest kept day <= k, per [line, day] (-1: none)
    latest = np.maximum.accumulate(np.where(keep, np.arange(n_k, dtype=np.int64)[None, :], -1), axis=1)
    enter = latest[a_line, net.due_k[a_order]]
    open_arc = enter >= 0
    jj, kk = np.nonzero(keep)
    prev = np.where(kk > 0, latest[jj, np.maximum(kk - 1, 0)], -1)
    chained = prev >= 0
    unbounded = int(demand.sum()) + 1
    tails = [np.full(n_o, source), order_node[a_order], node[jj[chained], kk[chained]], node[jj, kk]]
    heads = [
        order_node,
        np.where(open_arc, node[a_line, np.maximum(enter, 0)], sink),
        node[jj[chained], prev[chained]],
        np.full(jj.size, sink),
    ]
    caps = [demand, np.where(open_arc, demand[a_order], 0), np.full(int(chained.sum()), unbounded), cap[jj, kk]]
    costs = [
        np.zeros(n_o),
        np.rint(net.arc_pref * PREF_COST_RESOLUTION),
        np.zeros(int(chained.sum())),
        np.zeros(jj.size),
    ]
    return _Graph(
        tails=np.concatenate(tails).astype(np.int64),
        heads=np.concatenate(heads).astype(np.int64),
        caps=np.concatenate(caps).astype(np.int64),
        costs=np.concatenate(costs).astype(np.int64),
        first_line_arc=n_o,
        source=source,
        sink=sink,
        nodes=2 + n_o + int(keep.sum()),
        supply=int(demand.sum()),
    )


def max_on_time_std_min(net: Network) -> float:
    """Maximum on-time standard minutes without minimums (push-relabel max flow): the upper
    bound on any plan's on-time minutes the planner reports its gap against."""
    if net.n_arcs == 0:
        return 0.0
    g = _graph(net, relax=True)
    solver = max_flow.SimpleMaxFlow()
    solver.add_arcs_with_capacity(g.tails, g.heads, g.caps)
    status = solver.solve(g.source, g.sink)
    if status != max_flow.SimpleMaxFlow.OPTIMAL:
        raise RuntimeError(f"max flow failed: {status}")
    return float(solver.optimal_flow()) / FLOW_UNITS_PER_STD_MIN


def solve_flow(net: Network, *, clock: Callable[[], float] = time.monotonic) -> FlowResult:
    """Most on-time standard minutes, then least preference cost, ignoring every minimum and
    "one factory only" rule. Exact in units of ``1 / FLOW_UNITS_PER_STD_MIN`` std-min."""
    started = clock()
    if net.n_arcs == 0:
        return FlowResult(x_std_min=np.zeros(0), on_time_std_min=0.0, pref_cost=0.0, status="optimal",
                          nodes=0, arcs=0, seconds=0.0)
    g = _graph(net, relax=False)
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(g.tails, g.heads, g.caps, g.costs)
    solver.set_node_supply(g.source, g.supply)
    solver.set_node_supply(g.sink, -g.supply)
    status = solver.solve_max_flow_with_min_cost()
    if status != min_cost_flow.SimpleMinCostFlow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status}")
    line_arcs = g.first_line_arc + np.arange(net.n_arcs, dtype=np.int64)
    x = np.asarray(solver.flows(line_arcs), dtype=np.float64) / FLOW_UNITS_PER_STD_MIN
    return FlowResult(
        x_std_min=x,
        on_time_std_min=float(x.sum()),
        pref_cost=float((x * net.arc_pref).sum()),
        status="optimal",
        nodes=g.nodes,
        arcs=int(g.tails.size),
        seconds=max(clock() - started, 0.0),
    )
