"""The two-phase flow plan (``matching.twophase``): whole orders first, then flow rounds that
give up minimum-breaking shares. Its bookings must never exceed a line-day's free minutes or a
due day, constrained orders go whole to one factory, and it never beats the exhaustive optimum."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.matching import Size, generate
from seamline.matching.capacity import LineCapacity, LineKey
from seamline.matching.flow import solve_flow
from seamline.matching.models import FactoryProfile, Order, ProfileBook
from seamline.matching.network import build_network
from seamline.matching.objective import PreferenceWeights
from seamline.matching.planner import MatchOptions, plan_orders
from seamline.matching.schedule import booked_per_line_day
from seamline.matching.twophase import SearchDeadline, constrained_orders, flow_guided_rank, two_phase
from tests.unit.matching.test_matching_bruteforce import brute_force, instance

D0 = date(2030, 1, 7)


def _line(ent: str, free: float, days: int = 1) -> LineCapacity:
    return LineCapacity(key=LineKey(enterprise=ent, site="s", line="l"), categories=frozenset({"x"}),
                        days=tuple(D0 + timedelta(days=k) for k in range(days)), free_std_min=(free,) * days)


def test_moq_share_is_forbidden_and_the_flow_goes_elsewhere() -> None:
    # f0 (MOQ 50, cheapest by efficiency) and f1 (no MOQ). A wants 30: any share at f0 breaks
    # its MOQ (30 < 50), so after round 1 f0's arcs go and round 2 puts all 30 at f1.
    lines = [
        LineCapacity(key=LineKey(enterprise="f0", site="s", line="l"), categories=frozenset({"x"}),
                     days=(D0,), free_std_min=(100.0,), efficiency=0.6),
        LineCapacity(key=LineKey(enterprise="f1", site="s", line="l"), categories=frozenset({"x"}),
                     days=(D0,), free_std_min=(100.0,), efficiency=0.4),
    ]
    book = ProfileBook(profiles={"f0": FactoryProfile(enterprise="f0", moq_pieces=50)})
    orders = [Order(order_id="A", buyer="b", category="x", sam_min=1.0, quantity=30, due=D0)]
    net = build_network(orders, lines, book, PreferenceWeights())
    # A's quantity is below f0's MOQ: the network already has no arc to f0
    assert net.arc_line.tolist() == [1]
    orders = [Order(order_id="A", buyer="b", category="x", sam_min=1.0, quantity=120, due=D0)]
    net = build_network(orders, lines, book, PreferenceWeights())
    guide = solve_flow(net)
    tp = two_phase(net, guide)
    got = {b.line: b.pieces for b in tp.bookings}
    assert sum(got.values()) == 120
    assert got.get(0, 0) == 0 or got[0] >= 50


def test_whole_order_goes_to_one_factory_in_phase_a() -> None:
    # W (non-splittable, 60) fits only f1 whole; S (splittable 50) then fills f0 and the rest.
    lines = [_line("f0", 40.0), _line("f1", 70.0)]
    orders = [
        Order(order_id="W", buyer="b", category="x", sam_min=1.0, quantity=60, due=D0, splittable=False),
        Order(order_id="S", buyer="b", category="x", sam_min=1.0, quantity=50, due=D0),
    ]
    net = build_network(orders, lines, ProfileBook(), PreferenceWeights())
    assert constrained_orders(net).tolist() == [True, False]
    tp = two_phase(net, solve_flow(net))
    per: dict[tuple[int, int], int] = defaultdict(int)
    for b in tp.bookings:
        per[(b.order, b.line)] += b.pieces
    assert per[(0, 1)] == 60 and per[(0, 0)] == 0
    assert per[(1, 0)] == 40 and per[(1, 1)] == 10
    assert tp.constrained_orders == 1 and tp.rounds == 1 and tp.violating_orders == 0


def test_flow_guided_rank_puts_flow_lines_first() -> None:
    lines = [_line("f0", 10.0), _line("f1", 10.0), _line("f2", 10.0)]
    orders = [Order(order_id="A", buyer="b", category="x", sam_min=1.0, quantity=10, due=D0)]
    net = build_network(orders, lines, ProfileBook(), PreferenceWeights())
    rank = flow_guided_rank(net, np.array([0.0, 8.0, 2.0]))
    assert np.argsort(rank).tolist() == [1, 2, 0]
    assert rank[1] == pytest.approx(-0.8) and rank[2] == pytest.approx(-0.2) and rank[0] >= 1.0


def test_rounds_must_be_positive() -> None:
    net = build_network([], [_line("f0", 10.0)], ProfileBook(), PreferenceWeights())
    with pytest.raises(ValueError, match="max_rounds"):
        two_phase(net, solve_flow(net), max_rounds=0)


@pytest.mark.parametrize("seed", range(30))
def test_two_phase_never_beats_brute_force(seed: int) -> None:
    orders, lines, book = instance(random.Random(seed), with_minimums=True)
    net = build_network(orders, lines, book, PreferenceWeights())
    tp = two_phase(net, solve_flow(net))
    best, _ = brute_force(orders, lines, book)
    plan = plan_orders(orders, lines, book, options=MatchOptions(exact_max_arcs=-1, repair_max_arcs=-1))
    assert sum(b.std_min for b in tp.bookings) <= best + 1e-9
    assert plan.plan.on_time_std_min() <= best + 1e-9
    assert plan.plan.on_time_std_min() >= plan.baseline_std_min - 1e-9


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), factories=st.integers(5, 80), n_orders=st.integers(2, 40))
def test_two_phase_bookings_within_capacity_due_days_and_whole_orders(seed: int, factories: int,
                                                                      n_orders: int) -> None:
    inst = generate(Size("t", factories, n_orders), seed=seed)
    net = build_network(inst.orders, inst.lines, inst.book, PreferenceWeights())
    tp = two_phase(net, solve_flow(net), max_rounds=3)
    assert (booked_per_line_day(tp.bookings, net.cap.shape) <= net.cap + 1e-6).all()
    factories_of: dict[int, set[int]] = defaultdict(set)
    pieces: dict[int, int] = defaultdict(int)
    for b in tp.bookings:
        assert b.day <= net.due_k[b.order]
        if b.pieces:
            factories_of[b.order].add(int(net.line_factory[b.line]))
        pieces[b.order] += b.pieces
    for i, o in enumerate(net.orders):
        assert pieces[i] <= o.quantity
        if not o.splittable and pieces[i]:
            assert len(factories_of[i]) == 1 and pieces[i] == o.quantity


def test_search_deadline_leaves_the_estimated_tail_within_the_budget() -> None:
    # plan started at 100 s; the steps before the search took 6 s: the steps after it are
    # estimated at 1.5 x 6 + 0.5 = 9.5 s, so the search stops at 100 + 30 - 9.5 = 120.5 s
    d = SearchDeadline(started_s=100.0, cap_s=127.0, budget_s=30.0, tail_factor=1.5, margin_s=0.5)
    assert d.at(106.0) == pytest.approx(120.5)
    # a machine twice as slow before the search leaves the search less: 100 + 30 - 18.5 = 111.5 s
    assert d.at(112.0) == pytest.approx(111.5)
    # a fast machine: 100 + 30 - 3.5 = 126.5 s, under the cap; a lower cap holds it
    assert d.at(102.0) == pytest.approx(126.5)
    assert replace(d, cap_s=120.0).at(102.0) == pytest.approx(120.0)
    # no budget: the cap alone
    assert SearchDeadline(started_s=100.0, cap_s=123.0).at(112.0) == pytest.approx(123.0)
    # a budget already spent gives a deadline in the past: the search does not run
    assert SearchDeadline(started_s=0.0, cap_s=27.0, budget_s=30.0).at(20.0) < 20.0


def test_two_phase_search_runs_only_when_its_deadline_leaves_time() -> None:
    inst = generate(Size("tiny", 40, 30), seed=3)
    net = build_network(inst.orders, inst.lines, inst.book, PreferenceWeights())
    assert constrained_orders(net).any()

    def ticking() -> Callable[[], float]:
        ticks = iter(range(100_000))
        return lambda: float(next(ticks))  # every call one second later

    # a budget of 0.4 s is under the 0.5 s margin alone: the deadline has passed when the search starts
    spent = two_phase(net, solve_flow(net), clock=ticking(),
                      search_until_s=SearchDeadline(started_s=0.0, cap_s=1e9, budget_s=0.4))
    assert spent.search is not None and spent.search.steps == 0
    roomy = two_phase(net, solve_flow(net), clock=ticking(),
                      search_until_s=SearchDeadline(started_s=0.0, cap_s=1e9, budget_s=1e6))
    assert roomy.search is not None and roomy.search.steps > 0


@pytest.mark.parametrize("threads", [1, 2])
def test_the_search_seed_reaches_the_search(threads: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import seamline.matching.twophase as twophase_module
    from seamline.matching.neighbourhood import SearchOptions

    inst = generate(Size("tiny", 40, 30), seed=3)
    net = build_network(inst.orders, inst.lines, inst.book, PreferenceWeights())
    seen: list[int] = []
    real = twophase_module.improve if threads == 1 else twophase_module.improve_in_threads

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(int(kwargs["seed"]))  # type: ignore[call-overload]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(twophase_module, "improve" if threads == 1 else "improve_in_threads", spy)
    runs = [two_phase(net, solve_flow(net), search_until_s=1e12, clock=iter(range(0, 10**6, 1)).__next__,
                      search=SearchOptions(seed=s, threads=threads, max_orders=3)) for s in (5, 5)]
    assert seen == [5, 5]
    if threads == 1:  # the same seed on the same clock: the same plan (two threads interleave as they may)
        assert runs[0].bookings == runs[1].bookings
