"""Oracle for matching: the optimum of a tiny instance by exhaustive search over whole pieces,
written from the rules as a planner states them, without any of ``seamline.matching``'s network,
formulation or scheduling code. Nothing in ``matching`` imports this.

The rules: order ``i`` may put whole pieces on line ``j`` when the line makes its category, meets
its green requirement (green share >= ``green_share_min``, kg CO2e per piece <= ``co2e_max_per_piece``,
an unknown figure never meets one) and has a day on or before its due day. Per order, at most its
quantity; per (order, factory) either nothing or at least the larger of the factory's MOQ and the
order's ``min_qty_per_factory``; a non-splittable order all at one factory or nothing. A line takes
the work when, for every day ``t`` of its horizon, the standard minutes of the orders whose last
allowed day is ``<= t`` fit in its free minutes up to ``t`` (work in progress may run over a day
boundary, pieces are whole per order and line). The value is on-time standard minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from seamline.matching.capacity import LineCapacity
from seamline.matching.models import Order, ProfileBook

EPS = 1e-9


@dataclass(frozen=True, slots=True)
class _Line:
    factory: str
    cum: tuple[float, ...]  # free std-min up to and including each day


def _allowed(order: Order, line: LineCapacity) -> bool:
    if order.category not in line.categories or not any(d <= order.due for d in line.days):
        return False
    if order.green_share_min is not None and (line.green_share is None or line.green_share < order.green_share_min):
        return False
    return not (order.co2e_max_per_piece is not None
                and (line.co2e_kg_per_piece is None or line.co2e_kg_per_piece > order.co2e_max_per_piece))


def _cutoff(order: Order, line: LineCapacity) -> int:
    return max(k for k, d in enumerate(line.days) if d <= order.due)


def _order_options(order: Order, lines: Sequence[LineCapacity], js: list[int], book: ProfileBook,
                   cums: list[_Line]) -> list[tuple[int, ...]]:
    """Every piece vector over ``js`` that respects quantity, minimums, one factory and, line by
    line, the capacity up to the order's last day (a necessary condition; the joint check is later)."""
    out: list[tuple[int, ...]] = []

    def rec(k: int, acc: list[int], total: int) -> None:
        if k == len(js):
            out.append(tuple(acc))
            return
        j = js[k]
        most = int((cums[j].cum[_cutoff(order, lines[j])] + EPS) // order.sam_min)
        for p in range(min(most, order.quantity - total) + 1):
            acc.append(p)
            rec(k + 1, acc, total + p)
            acc.pop()

    rec(0, [], 0)
    valid = []
    for vec in out:
        per_factory: dict[str, int] = {}
        for j, p in zip(js, vec, strict=True):
            per_factory[cums[j].factory] = per_factory.get(cums[j].factory, 0) + p
        used = {f: p for f, p in per_factory.items() if p > 0}
        minimum_ok = all(p >= max(order.min_qty_per_factory, book.profile(f).moq_pieces) for f, p in used.items())
        whole_ok = order.splittable or not used or (len(used) == 1 and sum(used.values()) == order.quantity)
        if minimum_ok and whole_ok:
            valid.append(vec)
    return valid


def optimum_std_min(orders: Sequence[Order], lines: Sequence[LineCapacity], book: ProfileBook) -> float:
    """The most on-time standard minutes of any plan (depth-first over orders, bounded)."""
    cums = []
    for ln in lines:
        run, acc = 0.0, []
        for m in ln.free_std_min:
            run += m
            acc.append(run)
        cums.append(_Line(factory=ln.key.enterprise, cum=tuple(acc)))
    eligible = [[j for j, ln in enumerate(lines) if _allowed(o, ln)] for o in orders]
    options = [_order_options(o, lines, js, book, cums) for o, js in zip(orders, eligible, strict=True)]
    value = [[sum(vec) * o.sam_min for vec in opts] for o, opts in zip(orders, options, strict=True)]
    best_rest = [0.0] * (len(orders) + 1)
    for i in range(len(orders) - 1, -1, -1):
        best_rest[i] = best_rest[i + 1] + max(value[i], default=0.0)
    # load[j][t]: std-min of orders on line j whose last allowed day index is t
    load = [[0.0] * len(ln.days) for ln in lines]
    best = 0.0

    def fits(j: int) -> bool:
        run = 0.0
        for t, c in enumerate(cums[j].cum):
            run += load[j][t]
            if run > c + EPS:
                return False
        return True

    def rec(i: int, got: float) -> None:
        nonlocal best
        if got + best_rest[i] <= best + EPS:
            return
        if i == len(orders):
            best = max(best, got)
            return
        order = orders[i]
        for vec, v in sorted(zip(options[i], value[i], strict=True), key=lambda pv: -pv[1]):
            touched = []
            for j, p in zip(eligible[i], vec, strict=True):
                if p:
                    load[j][_cutoff(order, lines[j])] += p * order.sam_min
                    touched.append((j, p))
            if all(fits(j) for j, _ in touched):
                rec(i + 1, got + v)
            for j, p in touched:
                load[j][_cutoff(order, lines[j])] -= p * order.sam_min

    rec(0, 0.0)
    return best
