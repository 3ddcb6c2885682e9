"""Least-contested lines first: the ranking that makes greedy EDD leave capacity to later orders.

Greedy EDD takes each order's *best* lines first. Lines that accept several categories, or that
belong to big factories able to meet minimums, are often the best and also the only ones some
later order can use; taking them first is where greedy loses on-time minutes. Contention of a
line = the standard minutes of all orders eligible on it (an order's whole demand counts on each
of its eligible lines). Ranking lines by contention, preference cost breaking ties, makes each
order use capacity that fewer other orders need. It trades preference (level 3) for on-time
minutes (level 1), which is the objective's order of priorities.

On the benchmark (seed 7) this took greedy from 218.32 M to 218.85 M on-time std-min at 2 000
orders (pool-LP bound 222.70 M) and from 19.35 M to 19.81 M at 200 orders (bound 20.03 M).
"""

from __future__ import annotations

import numpy as np

from seamline.matching.network import FloatArray, Network


def line_contention(net: Network) -> FloatArray:
    """Per line: standard minutes of every order with an arc to it."""
    demand = net.demand_std_min()
    return np.asarray(
        np.bincount(net.arc_line, weights=demand[net.arc_order], minlength=len(net.lines)), dtype=np.float64
    )


def contention_rank(net: Network) -> FloatArray:
    """Per arc: dense rank of its line's contention plus half its preference cost (in [0, 1]), so
    contention decides and preference only breaks ties between equally contested lines."""
    _, dense = np.unique(line_contention(net), return_inverse=True)
    return np.asarray(dense[net.arc_line] + 0.5 * net.arc_pref, dtype=np.float64)
