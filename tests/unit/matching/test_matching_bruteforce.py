"""Cross-check the solver against exhaustive enumeration on tiny seeded random instances.

Every integer allocation x[order, line, day] (standard minutes, SAM 1 so minutes are pieces) is
enumerated; the best on-time minutes, and among those the lowest preference cost, must equal
what the LP / MILP finds — with and without factory minimums and non-splittable orders."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta

import numpy as np
import pytest

from seamline.matching.capacity import LineCapacity, LineKey
from seamline.matching.models import FactoryProfile, Order, ProfileBook
from seamline.matching.network import build_network
from seamline.matching.objective import PreferenceWeights
from seamline.matching.planner import plan_orders
from seamline.matching.pruning import PruneOptions, prune
from seamline.matching.solver import SolveOptions, solve

D0 = date(2030, 1, 7)


def instance(rng: random.Random, *, with_minimums: bool) -> tuple[list[Order], list[LineCapacity], ProfileBook]:
    n_o, n_l, n_d = rng.randint(2, 3), rng.randint(2, 3), rng.randint(1, 2)
    lines = [
        LineCapacity(
            key=LineKey(enterprise=f"f{j}", site="s", line="l"),
            categories=frozenset(rng.sample(["x", "y"], rng.randint(1, 2))),
            days=tuple(D0 + timedelta(days=k) for k in range(n_d)),
            free_std_min=tuple(float(rng.randint(0, 3)) for _ in range(n_d)),
            efficiency=rng.choice([0.4, 0.5, 0.6]),
        )
        for j in range(n_l)
    ]
    profiles = {}
    if with_minimums:
        profiles = {f"f{j}": FactoryProfile(enterprise=f"f{j}", moq_pieces=rng.choice([0, 0, 2])) for j in range(n_l)}
    orders = [
        Order(
            order_id=f"o{i}",
            buyer="b",
            category=rng.choice(["x", "y"]),
            sam_min=1.0,
            quantity=rng.randint(1, 3 if n_l * n_d <= 4 else 2),
            due=D0 + timedelta(days=rng.randint(0, n_d - 1)),
            min_qty_per_factory=rng.choice([0, 2]) if with_minimums else 0,
            splittable=rng.random() > 0.3 if with_minimums else True,
        )
        for i in range(n_o)
    ]
    orders = [
        o if o.min_qty_per_factory <= o.quantity else o.model_copy(update={"min_qty_per_factory": 0})
        for o in orders
    ]
    return orders, lines, ProfileBook(profiles=profiles)


def brute_force(orders: list[Order], lines: list[LineCapacity], book: ProfileBook) -> tuple[float, float]:
    """(max on-time minutes, min preference cost among those) over all integer allocations."""
    net = build_network(orders, lines, book, PreferenceWeights())
    pref = {int(net.arc_line[a]): float(net.arc_pref[a]) for a in range(net.n_arcs)}
    pref_line = [pref.get(j, 0.0) for j in range(len(lines))]
    slots_of = []
    for o in orders:
        slots = [(j, k) for j, ln in enumerate(lines) if o.category in ln.categories
                 for k, d in enumerate(ln.days) if d <= o.due]
        slots_of.append(slots)
    best = (0.0, 0.0)

    def allocations(slots: list[tuple[int, int]], qty: int):  # type: ignore[no-untyped-def]
        for combo in itertools.product(*(range(qty + 1) for _ in slots)):
            if sum(combo) <= qty:
                yield combo

    def valid(o: Order, slots: list[tuple[int, int]], combo: tuple[int, ...]) -> bool:
        per_fac: dict[int, int] = {}
        for (j, _k), v in zip(slots, combo, strict=True):
            per_fac[j] = per_fac.get(j, 0) + v
        used = {j: v for j, v in per_fac.items() if v > 0}
        for j, v in used.items():
            if v < max(o.min_qty_per_factory, book.profile(f"f{j}").moq_pieces):
                return False
        if not o.splittable and used:
            return len(used) == 1 and sum(used.values()) == o.quantity
        return True

    choices = [[c for c in allocations(s, o.quantity) if valid(o, s, c)] for o, s in zip(orders, slots_of, strict=True)]
    for combo in itertools.product(*choices):
        load: dict[tuple[int, int], int] = {}
        for slots, c in zip(slots_of, combo, strict=True):
            for s, v in zip(slots, c, strict=True):
                load[s] = load.get(s, 0) + v
        if any(v > lines[j].free_std_min[k] for (j, k), v in load.items()):
            continue
        minutes = float(sum(load.values()))
        cost = sum(pref_line[j] * v for (j, _k), v in load.items())
        if minutes > best[0] or (minutes == best[0] and cost < best[1] - 1e-12):
            best = (minutes, cost)
    return best


def solver_result(
    orders: list[Order], lines: list[LineCapacity], book: ProfileBook, split: float
) -> tuple[float, float]:
    net = build_network(orders, lines, book, PreferenceWeights())
    net = prune(net, options=PruneOptions(k_cost=0, k_capacity=0, k_spread=0))
    sol = solve(net, SolveOptions(split_penalty_std_min=split))
    return float(sol.x_std_min.sum()), float((sol.x_std_min * net.arc_pref).sum())


@pytest.mark.parametrize("seed", range(40))
def test_lp_matches_brute_force(seed: int) -> None:
    orders, lines, book = instance(random.Random(seed), with_minimums=False)
    minutes, cost = solver_result(orders, lines, book, split=0.0)
    best_minutes, best_cost = brute_force(orders, lines, book)
    assert minutes == pytest.approx(best_minutes, abs=1e-6)
    assert cost == pytest.approx(best_cost, abs=1e-6)


@pytest.mark.parametrize("seed", range(40))
def test_milp_matches_brute_force(seed: int) -> None:
    orders, lines, book = instance(random.Random(1000 + seed), with_minimums=True)
    minutes, _ = solver_result(orders, lines, book, split=0.0)
    best_minutes, _ = brute_force(orders, lines, book)
    assert minutes == pytest.approx(best_minutes, abs=1e-6)
    # and the whole-piece plan (SAM 1: rounding is exact) books the same minutes
    plan = plan_orders(orders, lines, book).plan
    assert plan.on_time_std_min() == pytest.approx(best_minutes, abs=1e-6)


def test_brute_force_finds_something_in_most_instances() -> None:
    # guard against a vacuous cross-check (all-zero instances)
    found = [brute_force(*instance(random.Random(s), with_minimums=False))[0] for s in range(40)]
    assert sum(f > 0 for f in found) >= 25
    assert np.isfinite(found).all()
