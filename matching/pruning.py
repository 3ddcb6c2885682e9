"""Candidate pruning: keep a few lines per order so large instances stay tractable.

Per order, among its eligible lines, keep the union of
- the cheapest by preference cost (the brief's top-K): at least ``k_cost``, and as many as it
  takes for their free minutes before the due day to cover ``cover`` × the order's demand (a
  20 000-piece order needs dozens of small lines, a 500-piece one two),
- the ``k_capacity`` with the most free minutes before the due day (so big orders can be met),
- ``k_spread`` picked by a seeded shuffle (orders of one category would otherwise all pick the
  same best lines and leave the rest of the cluster's capacity unreachable),
- every arc in ``must_keep`` — the greedy baseline's arcs, so the pruned problem still contains
  the baseline's allocation and the optimum can never be worse than it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seamline.matching.network import BoolArray, IntArray, Network, select_arcs


@dataclass(frozen=True, slots=True, kw_only=True)
class PruneOptions:
    # 8-16 candidates per order is where the benchmark's on-time minutes stop improving while the
    # LP stays a few seconds at 2 000 orders; 0 disables that criterion.
    k_cost: int = 8
    cover: float = 2.0
    k_capacity: int = 6
    k_spread: int = 8
    seed: int = 0

    @property
    def disabled(self) -> bool:
        return self.k_cost <= 0 and self.k_capacity <= 0 and self.k_spread <= 0


def prune(net: Network, *, options: PruneOptions, must_keep: set[tuple[int, int]] | None = None) -> Network:
    """``net`` with at most ``k_cost + k_capacity + k_spread`` arcs per order plus ``must_keep``."""
    if options.disabled or net.n_arcs == 0:
        return net
    keep = np.zeros(net.n_arcs, dtype=np.bool_)
    rng = np.random.default_rng(options.seed)
    order_sorted = np.argsort(net.arc_order, kind="stable")
    bounds = np.searchsorted(net.arc_order[order_sorted], np.arange(len(net.orders) + 1))
    for i in range(len(net.orders)):
        idx: IntArray = order_sorted[bounds[i] : bounds[i + 1]]
        total = options.k_cost + options.k_capacity + options.k_spread
        if idx.size <= total:
            keep[idx] = True
            continue
        cap_before_due = net.cum[net.arc_line[idx], net.due_k[i]]
        by_cost = idx[np.argsort(net.arc_pref[idx], kind="stable")]
        covered = np.cumsum(net.cum[net.arc_line[by_cost], net.due_k[i]])
        enough = int(np.searchsorted(covered, options.cover * net.orders[i].std_min)) + 1
        keep[by_cost[: max(options.k_cost, enough)]] = True
        _take_smallest(keep, idx, -cap_before_due, options.k_capacity)
        if options.k_spread > 0:
            keep[rng.choice(idx, size=min(options.k_spread, idx.size), replace=False)] = True
    if must_keep:
        n_lines = max(len(net.lines), 1)
        wanted = np.array([i * n_lines + j for i, j in must_keep], dtype=np.int64)
        keep |= np.isin(net.arc_order * n_lines + net.arc_line, wanted)
    return select_arcs(net, keep)


def _take_smallest(keep: BoolArray, idx: IntArray, score: np.ndarray, k: int) -> None:
    if k <= 0:
        return
    k = min(k, idx.size)
    part = np.argpartition(score, k - 1)[:k]
    keep[idx[part]] = True
