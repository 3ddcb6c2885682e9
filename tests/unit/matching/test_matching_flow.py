"""The min-cost flow model (``matching.flow``) and the minimum repair (``matching.repair``).

The flow's optimum must equal the exhaustive optimum (and the LP's) on tiny instances without
minimums; repaired plans must never break a minimum or a line-day's free minutes."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.matching import Size, generate
from seamline.matching.capacity import LineCapacity, LineKey
from seamline.matching.flow import PREF_COST_RESOLUTION, max_on_time_std_min, solve_flow
from seamline.matching.models import FactoryProfile, Order, ProfileBook
from seamline.matching.network import build_network
from seamline.matching.objective import PreferenceWeights
from seamline.matching.planner import MatchOptions, plan_orders
from seamline.matching.pruning import PruneOptions
from seamline.matching.repair import repair_minimums, violating_groups
from seamline.matching.schedule import booked_per_line_day
from seamline.matching.solver import SolveOptions, solve
from tests.unit.matching.test_matching_bruteforce import brute_force, instance

D0 = date(2030, 1, 7)


@pytest.mark.parametrize("seed", range(40))
def test_flow_optimum_equals_brute_force_and_lp(seed: int) -> None:
    orders, lines, book = instance(random.Random(seed), with_minimums=False)
    net = build_network(orders, lines, book, PreferenceWeights())
    flow = solve_flow(net)
    best_minutes, best_cost = brute_force(orders, lines, book)
    lp = solve(net, SolveOptions(split_penalty_std_min=0.0))
    assert flow.on_time_std_min == pytest.approx(best_minutes, abs=1e-9)
    assert flow.on_time_std_min == pytest.approx(float(lp.x_std_min.sum()), abs=1e-6)
    assert max_on_time_std_min(net) == pytest.approx(best_minutes, abs=1e-9)
    # preference costs are rounded to 1/PREF_COST_RESOLUTION per std-min
    assert flow.pref_cost == pytest.approx(best_cost, abs=best_minutes / PREF_COST_RESOLUTION + 1e-9)


def test_flow_respects_due_days_through_the_line_day_chain() -> None:
    # One line, 10 std-min per day over 3 days. A due day 0 wants 30: only 10 on time. B due day 2
    # wants 15: gets day 1 and 2 (and may not use day 0, which A needs).
    line = LineCapacity(key=LineKey(enterprise="f", site="s", line="l"), categories=frozenset({"x"}),
                        days=tuple(D0 + timedelta(days=k) for k in range(3)), free_std_min=(10.0, 10.0, 10.0))
    orders = [
        Order(order_id="A", buyer="b", category="x", sam_min=1.0, quantity=30, due=D0),
        Order(order_id="B", buyer="b", category="x", sam_min=1.0, quantity=15, due=D0 + timedelta(days=2)),
    ]
    net = build_network(orders, [line], ProfileBook(), PreferenceWeights())
    flow = solve_flow(net)
    assert flow.x_std_min.tolist() == [10.0, 15.0]
    assert max_on_time_std_min(net) == 25.0


def test_full_days_get_no_node_and_work_still_reaches_earlier_days() -> None:
    # line l1: 0.04, 10, 0, 5 std-min over four days; line l2: 0, 0, 10, 10. A (due day 2, full on
    # l1) reaches l1's day 1 and l2's day 2: 20 of its 30; B (due day 0) has an arc to l1 whose
    # 0.04 std-min round down to no flow unit: 0; C (due day 3, 15 pieces) takes the days 3: 15.
    # The plan's graph has a node only for the four line-days with a flow unit free.
    days = tuple(D0 + timedelta(days=k) for k in range(4))
    lines = [LineCapacity(key=LineKey(enterprise=f"f{n}", site="s", line="l"), categories=frozenset({"x"}),
                          days=days, free_std_min=free)
             for n, free in ((1, (0.04, 10.0, 0.0, 5.0)), (2, (0.0, 0.0, 10.0, 10.0)))]
    orders = [
        Order(order_id="A", buyer="b", category="x", sam_min=1.0, quantity=30, due=days[2]),
        Order(order_id="B", buyer="b", category="x", sam_min=1.0, quantity=30, due=days[0]),
        Order(order_id="C", buyer="b", category="x", sam_min=1.0, quantity=15, due=days[3]),
    ]
    net = build_network(orders, lines, ProfileBook(), PreferenceWeights())
    flow = solve_flow(net)
    got = {(net.orders[int(i)].order_id, int(j)): x
           for i, j, x in zip(net.arc_order, net.arc_line, flow.x_std_min, strict=True)}
    assert got[("A", 0)] == 10.0 and got[("A", 1)] == 10.0
    assert got[("B", 0)] == 0.0 and ("B", 1) not in got
    assert got[("C", 0)] == 5.0 and got[("C", 1)] == 10.0
    assert flow.nodes == 2 + 3 + 4  # source, sink, three orders, four free line-days
    assert max_on_time_std_min(net) == pytest.approx(35.1)  # the bound rounds B's 0.04 up to a tenth


def test_bound_rounds_up_and_plan_rounds_down_to_tenths() -> None:
    line = LineCapacity(key=LineKey(enterprise="f", site="s", line="l"), categories=frozenset({"x"}),
                        days=(D0,), free_std_min=(10.05,))
    orders = [Order(order_id="A", buyer="b", category="x", sam_min=1.0, quantity=20, due=D0)]
    net = build_network(orders, [line], ProfileBook(), PreferenceWeights())
    assert solve_flow(net).on_time_std_min == pytest.approx(10.0)
    assert max_on_time_std_min(net) == pytest.approx(10.1)


def test_repair_replans_a_whole_order_the_flow_split() -> None:
    # W (non-splittable, 60) fits either factory alone; the flow may split it. After repair it is
    # at one factory with all 60 pieces.
    lines = [
        LineCapacity(key=LineKey(enterprise=e, site="s", line="l"), categories=frozenset({"x"}),
                     days=(D0,), free_std_min=(60.0,), efficiency=eff)
        for e, eff in (("a", 0.8), ("b", 0.4))
    ]
    orders = [
        Order(order_id="W", buyer="b", category="x", sam_min=1.0, quantity=60, due=D0, splittable=False),
        Order(order_id="S", buyer="b", category="x", sam_min=1.0, quantity=30, due=D0),
    ]
    net = build_network(orders, lines, ProfileBook(), PreferenceWeights())
    split = np.array([30.0, 30.0, 30.0, 0.0])  # arcs: (W,a), (W,b), (S,a), (S,b)
    assert net.arc_order.tolist() == [0, 0, 1, 1]
    assert violating_groups(net, split).tolist() == [True, True, False, False]
    fixed = repair_minimums(net, split, prune_options=PruneOptions(), solve_options=SolveOptions())
    assert fixed.violating_orders == 1
    w = [(b.line, b.pieces) for b in fixed.bookings if b.order == 0]
    assert w == [(1, 60)]
    assert (booked_per_line_day(fixed.bookings, net.cap.shape) <= net.cap + 1e-9).all()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), factories=st.integers(5, 60), n_orders=st.integers(2, 40))
def test_flow_plan_within_capacity_and_minimums(seed: int, factories: int, n_orders: int) -> None:
    # Larger-ish generated clusters with MOQs, order minimums and whole orders: the flow candidate
    # alone (exact solver off) must never break a minimum or a line-day's free minutes.
    inst = generate(Size("t", factories, n_orders), seed=seed)
    result = plan_orders(inst.orders, inst.lines, inst.book, options=MatchOptions(exact_max_arcs=-1))
    plan = result.plan
    assert plan.on_time_std_min() >= result.baseline_std_min - 1e-6
    assert plan.stats.bound_std_min is not None
    assert plan.on_time_std_min() <= plan.stats.bound_std_min + 1e-6
    free = {(ln.key.enterprise, ln.key.line, d): m
            for ln in inst.lines for d, m in zip(ln.days, ln.free_std_min, strict=True)}
    booked: dict[tuple[str, str, date], float] = defaultdict(float)
    per_factory: dict[tuple[str, str], int] = defaultdict(int)
    by_id = {o.order_id: o for o in inst.orders}
    for a in plan.allocations:
        booked[(a.enterprise, a.line, a.day)] += a.std_min
        per_factory[(a.order_id, a.enterprise)] += a.pieces
        assert a.day <= by_id[a.order_id].due
    assert all(m <= free[k] + 1e-6 for k, m in booked.items())
    for (oid, ent), pieces in per_factory.items():
        o = by_id[oid]
        assert pieces >= max(o.min_qty_per_factory, inst.book.profile(ent).moq_pieces)
        if not o.splittable:
            assert pieces == o.quantity


def test_repaired_flow_never_breaks_a_minimum() -> None:
    # Many MOQ factories: the raw flow spreads orders thinly; every repaired share is >= minimum.
    rng = random.Random(5)
    lines = [
        LineCapacity(key=LineKey(enterprise=f"f{j}", site="s", line="l"), categories=frozenset({"x"}),
                     days=(D0, D0 + timedelta(days=1)), free_std_min=(float(rng.randint(5, 40)),) * 2)
        for j in range(8)
    ]
    book = ProfileBook(profiles={f"f{j}": FactoryProfile(enterprise=f"f{j}", moq_pieces=rng.choice([0, 20]))
                                 for j in range(8)})
    orders = [Order(order_id=f"o{i}", buyer="b", category="x", sam_min=1.0, quantity=rng.randint(20, 80),
                    due=D0 + timedelta(days=1), min_qty_per_factory=rng.choice([0, 15])) for i in range(6)]
    net = build_network(orders, lines, book, PreferenceWeights())
    flow = solve_flow(net)
    fixed = repair_minimums(net, flow.x_std_min, prune_options=PruneOptions(), solve_options=SolveOptions())
    got: dict[tuple[int, int], int] = defaultdict(int)
    for b in fixed.bookings:
        got[(b.order, int(net.line_factory[b.line]))] += b.pieces
    for (i, f), pieces in got.items():
        if pieces:
            assert pieces >= max(orders[i].min_qty_per_factory, book.profile(net.factories[f]).moq_pieces)
    assert (booked_per_line_day(fixed.bookings, net.cap.shape) <= net.cap + 1e-9).all()
