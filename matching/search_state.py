"""What the neighbourhood search and the cluster step share: the bookings being improved, kept
per order and per [line, day] move by move (``SearchState``), where a released order may go
(``Candidates``), and the sub-network of released orders on the capacity every other booking
leaves (``sub_network``). Pure numpy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from seamline.matching.network import BoolArray, FloatArray, IntArray, Network, select_arcs, stable_order
from seamline.matching.schedule import PIECE_TOLERANCE, Booking, booked_per_line_day


def minutes_by_order(bookings: Sequence[Booking], n_orders: int) -> FloatArray:
    """Standard minutes booked per order."""
    out = np.zeros(n_orders)
    for b in bookings:
        out[b.order] += b.std_min
    return out


@dataclass(frozen=True, slots=True)
class Index:
    """Arc indices grouped by a key (order or line), for slicing without a pass over every arc."""

    sorted_arcs: IntArray
    bounds: IntArray

    @staticmethod
    def of(keys: IntArray, n: int) -> Index:
        srt = stable_order(keys)
        return Index(srt, np.searchsorted(keys[srt], np.arange(n + 1)).astype(np.int64))

    def arcs(self, keys: IntArray) -> IntArray:
        parts = [self.sorted_arcs[self.bounds[k] : self.bounds[k + 1]] for k in np.unique(keys)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


@dataclass(slots=True)
class SearchState:
    """The bookings per order and what they take per [line, day], updated move by move (a pass
    over every booking per neighbourhood cost more than its MILP at 2 000 orders)."""

    by_order: dict[int, list[Booking]]
    booked: FloatArray  # std-min per [line, day]
    got: FloatArray  # std-min per order

    @staticmethod
    def of(net: Network, bookings: Sequence[Booking]) -> SearchState:
        by_order: dict[int, list[Booking]] = {}
        for b in bookings:
            by_order.setdefault(b.order, []).append(b)
        booked = booked_per_line_day(bookings, net.cap.shape)
        return SearchState(by_order, booked, minutes_by_order(bookings, len(net.orders)))

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


def piece_tolerance(net: Network) -> FloatArray:
    """Per order: the std-min below its demand within which it counts as met (a piece's tolerance)."""
    return PIECE_TOLERANCE * np.array([o.sam_min for o in net.orders], dtype=np.float64)


def short_orders(net: Network, got: FloatArray) -> BoolArray:
    """Per order: ``got`` (std-min booked per order) is below its demand by more than
    :func:`piece_tolerance`. (The search caches both arrays per step: ``neighbourhood.SearchSpace``.)"""
    return np.asarray(got < net.demand_std_min() - piece_tolerance(net), dtype=np.bool_)


def std_min_of(bookings: Sequence[Booking]) -> float:
    """Standard minutes the bookings take in all."""
    return float(sum(b.std_min for b in bookings))


@dataclass(frozen=True, slots=True)
class Candidates:
    """Where released orders may go: every arc of ``net`` (``per_order`` 0), or per order
    ``per_order`` factories: those it uses now, then those with the most free minutes before its
    due day that can still take its minimum (chosen afresh for every neighbourhood)."""

    net: Network
    by_order: Index
    per_order: int

    def arcs(self, released: IntArray, cum: FloatArray, state: SearchState) -> IntArray:
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


def sub_network(cand: Candidates, state: SearchState, released: IntArray) -> Network:
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


def group_minimums(net: Network) -> dict[tuple[int, int], float]:
    """(order, factory) -> the largest minimum std-min of its arcs, for every pair with an arc
    (one sort instead of a Python pass over every arc: ~0.2 s on a pruned cluster-size network)."""
    if net.n_arcs == 0:
        return {}
    n_f = max(len(net.factories), 1)
    key = net.arc_order * n_f + net.line_factory[net.arc_line]
    srt = np.argsort(key, kind="stable")
    sorted_key = key[srt]
    start = np.flatnonzero(np.concatenate([[True], sorted_key[1:] != sorted_key[:-1]]))
    top = np.maximum(np.maximum.reduceat(net.arc_min_std_min[srt], start), 0.0)
    return {(k // n_f, k % n_f): m for k, m in zip(sorted_key[start].tolist(), top.tolist(), strict=True)}


def respects_minimums(net: Network, bookings: Sequence[Booking]) -> bool:
    """Every (order, factory) share is 0 or at least its minimum; whole orders all or nothing."""
    got: dict[tuple[int, int], int] = {}
    for b in bookings:
        key = (b.order, int(net.line_factory[b.line]))
        got[key] = got.get(key, 0) + b.pieces
    minimum = group_minimums(net)
    for (i, f), pieces in got.items():
        order = net.orders[i]
        if pieces and pieces * order.sam_min + PIECE_TOLERANCE * order.sam_min < minimum.get((i, f), 0.0):
            return False
    return True
