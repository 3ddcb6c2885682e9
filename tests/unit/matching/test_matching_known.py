"""Small instances with their optimal answers written out."""

from __future__ import annotations

from datetime import date, timedelta

from seamline.matching.bookings import booked_minutes
from seamline.matching.capacity import LineCapacity, LineKey
from seamline.matching.models import FactoryProfile, Order, ProfileBook, UnallocatedReason
from seamline.matching.planner import plan_orders
from seamline.matching.schedule import whole_pieces

D0 = date(2030, 1, 7)


def line(ent: str, cats: set[str], free: list[float], *, eff: float = 0.5, name: str = "l1") -> LineCapacity:
    return LineCapacity(
        key=LineKey(enterprise=ent, site="s", line=name),
        categories=frozenset(cats),
        days=tuple(D0 + timedelta(days=k) for k in range(len(free))),
        free_std_min=tuple(free),
        efficiency=eff,
    )


def order(oid: str, cat: str, sam: float, qty: int, due_day: int, **kw: object) -> Order:
    return Order(order_id=oid, buyer="b", category=cat, sam_min=sam, quantity=qty,
                 due=D0 + timedelta(days=due_day), **kw)  # type: ignore[arg-type]


def pieces_by(plan_allocs: list, oid: str) -> dict[tuple[str, int], int]:
    out: dict[tuple[str, int], int] = {}
    for a in plan_allocs:
        if a.order_id == oid:
            k = (a.enterprise, (a.day - D0).days)
            out[k] = out.get(k, 0) + a.pieces
    return out


def test_optimiser_beats_greedy_on_category_conflict() -> None:
    # f_good makes x and y and is preferred; f_x makes only x. Greedy (EDD, best first) puts A on
    # f_good and B has nowhere to go; the optimum moves A to f_x: 100 + 100 std-min on time.
    lines = [line("f_good", {"x", "y"}, [100.0], eff=0.8), line("f_x", {"x"}, [100.0], eff=0.4)]
    orders = [order("A", "x", 10, 10, 0), order("B", "y", 10, 10, 0)]
    res = plan_orders(orders, lines, ProfileBook())
    assert res.baseline_std_min == 100.0
    assert res.plan.on_time_std_min() == 200.0
    assert pieces_by(res.plan.allocations, "A") == {("f_x", 0): 10}
    assert pieces_by(res.plan.allocations, "B") == {("f_good", 0): 10}
    assert res.plan.unallocated == []


def test_due_dates_respected_and_capacity_shared_edd() -> None:
    # One line, 100 std-min/day for 2 days. A (due day 0) 60 min, B (due day 1) 120 min.
    # Optimal: all 180 on time; A entirely on day 0; B 40 on day 0 + 80 on day 1.
    res = plan_orders([order("A", "x", 10, 6, 0), order("B", "x", 10, 12, 1)],
                      [line("f", {"x"}, [100.0, 100.0])], ProfileBook())
    assert res.plan.on_time_std_min() == 180.0
    assert pieces_by(res.plan.allocations, "A") == {("f", 0): 6}
    assert pieces_by(res.plan.allocations, "B") == {("f", 0): 4, ("f", 1): 8}
    assert booked_minutes(res.plan) == {("f", "l1", D0): 100.0, ("f", "l1", D0 + timedelta(days=1)): 80.0}


def test_insufficient_capacity_reports_remainder() -> None:
    res = plan_orders([order("A", "x", 10, 15, 0)], [line("f", {"x"}, [100.0, 500.0])], ProfileBook())
    assert res.plan.on_time_std_min() == 100.0
    [u] = res.plan.unallocated
    assert (u.order_id, u.pieces, u.std_min) == ("A", 5, 50.0)
    assert u.reason == UnallocatedReason.INSUFFICIENT_CAPACITY_BEFORE_DUE


def test_no_eligible_factory() -> None:
    res = plan_orders([order("A", "z", 10, 5, 0)], [line("f", {"x"}, [100.0])], ProfileBook())
    assert res.plan.allocations == []
    [u] = res.plan.unallocated
    assert (u.pieces, u.reason) == (5, UnallocatedReason.NO_ELIGIBLE_FACTORY)


def test_below_factory_moq() -> None:
    book = ProfileBook(profiles={"f": FactoryProfile(enterprise="f", moq_pieces=50)})
    res = plan_orders([order("A", "x", 1, 20, 0)], [line("f", {"x"}, [100.0])], book)
    [u] = res.plan.unallocated
    assert (u.pieces, u.reason) == (20, UnallocatedReason.BELOW_MINIMUM_QUANTITY)


def test_order_minimum_per_factory_avoids_small_shares() -> None:
    # Two factories with 60 free minutes each; the order needs 100 with a minimum of 50 pieces
    # (SAM 1) per factory: 50+50 is allowed (100 on time). With minimum 70 only one factory can
    # be used: 60 on time and 40 pieces left.
    lines = [line("f1", {"x"}, [60.0]), line("f2", {"x"}, [60.0])]
    ok = plan_orders([order("A", "x", 1, 100, 0, min_qty_per_factory=50)], lines, ProfileBook())
    assert ok.plan.on_time_std_min() == 100.0
    assert sorted(pieces_by(ok.plan.allocations, "A").values()) == [50, 50]
    tight = plan_orders([order("A", "x", 1, 100, 0, min_qty_per_factory=70)], lines, ProfileBook())
    assert tight.plan.on_time_std_min() == 0.0
    [u] = tight.plan.unallocated
    assert u.reason == UnallocatedReason.INSUFFICIENT_CAPACITY_BEFORE_DUE


def test_non_splittable_goes_whole_to_one_factory_or_not_at_all() -> None:
    lines = [line("f1", {"x"}, [60.0]), line("f2", {"x"}, [60.0]), line("f3", {"x"}, [90.0])]
    res = plan_orders([order("W", "x", 10, 8, 0, splittable=False)], lines, ProfileBook())
    assert pieces_by(res.plan.allocations, "W") == {("f3", 0): 8}
    none = plan_orders([order("W", "x", 10, 10, 0, splittable=False)], lines, ProfileBook())
    assert none.plan.allocations == []
    assert [u.pieces for u in none.plan.unallocated] == [10]


def test_whole_pieces_rounding_never_exceeds_booked_minutes() -> None:
    # 20 + 20 minutes of a 7-minute garment: 5 whole pieces = 35 min; 5 minutes are released
    # from the last day. Completions: 2 by end of day 0 (14 <= 20), 3 more on day 1.
    pieces, booked, completed = whole_pieces([20.0, 20.0], sam_min=7.0, max_pieces=100)
    assert pieces == 5
    assert booked == [20.0, 15.0]
    assert completed == [2, 3]
    capped, booked2, completed2 = whole_pieces([20.0, 20.0], sam_min=7.0, max_pieces=3)
    assert (capped, booked2, completed2) == (3, [20.0, 1.0], [2, 1])


def test_plan_rounding_keeps_each_day_within_capacity() -> None:
    res = plan_orders([order("A", "x", 7, 10, 1)], [line("f", {"x"}, [20.0, 20.0])], ProfileBook())
    per_day = booked_minutes(res.plan)
    assert all(m <= 20.0 + 1e-9 for m in per_day.values())
    assert sum(a.pieces for a in res.plan.allocations) == 5
    assert res.plan.unallocated[0].pieces == 5
