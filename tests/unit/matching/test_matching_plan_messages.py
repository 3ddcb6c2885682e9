"""A plan's wire messages: one allocation and one bookings message per line it knows of (empty
ones replace an earlier plan's), booked minutes summed per day, published retained with the
contract's topics, allocations first, nothing sent when a message is too large."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from seamline.contracts.messages import MAX_ALLOCATION_ENTRIES, BookingsMessage
from seamline.contracts.topic import MessageKind, Topic
from seamline.matching.bookings import PlanTooLargeError, booked_minutes, plan_messages
from seamline.matching.capacity import LineKey
from seamline.matching.models import Allocation, AllocationPlan, Order, SolveStats
from seamline.matching.publisher import PublishError, publish_plan

D1, D2 = date(2030, 1, 8), date(2030, 1, 9)
ORDERS = {
    "A": Order(order_id="A", buyer="acme", category="tshirt", sam_min=10, quantity=100, due=D2),
    "B": Order(order_id="B", buyer="zen", category="polo", sam_min=12.5, quantity=40, due=D2),
}
STATS = SolveStats(method="flow", status="ok", components=1, variables=1, binaries=0, constraints=1, seconds=0.1,
                   objective=0.0)
L1 = LineKey(enterprise="f1", site="s1", line="l1")
L2 = LineKey(enterprise="f2", site="s1", line="l1")
GONE = LineKey(enterprise="f9", site="s3", line="old")  # had bookings from an earlier plan


def alloc(oid: str, key: LineKey, day: date, pieces: int) -> Allocation:
    return Allocation(order_id=oid, enterprise=key.enterprise, site=key.site, line=key.line, day=day, pieces=pieces,
                      std_min=pieces * ORDERS[oid].sam_min)


PLAN = AllocationPlan(
    allocations=[alloc("A", L1, D1, 30), alloc("B", L1, D1, 8), alloc("A", L1, D2, 70), alloc("B", L2, D2, 32)],
    unallocated=[], stats=STATS)


def test_one_allocation_and_one_bookings_message_per_line_empty_ones_included() -> None:
    msgs = plan_messages(PLAN, ORDERS, lines={L2, GONE}, plan_id="p1", now_ms=1_893_974_400_000)
    by_line = {(m.enterprise, m.site, m.line): m for m in msgs.bookings}
    assert set(by_line) == {("f1", "s1", "l1"), ("f2", "s1", "l1"), ("f9", "s3", "old")}
    assert [(d.day, d.std_min) for d in by_line[("f1", "s1", "l1")].days] == [(D1, 300 + 100), (D2, 700)]
    assert [(d.day, d.std_min) for d in by_line[("f2", "s1", "l1")].days] == [(D2, 400)]
    assert by_line[("f9", "s3", "old")].days == []
    alloc_by_line = {(m.enterprise, m.line): m for m in msgs.allocations}
    assert alloc_by_line[("f9", "old")].entries == []
    assert {(e.order_id, e.buyer, e.category, e.pieces) for e in alloc_by_line[("f2", "l1")].entries} == {
        ("B", "zen", "polo", 32)}
    assert {m.plan_id for m in (*msgs.allocations, *msgs.bookings)} == {"p1"}


def test_bookings_add_up_to_the_plans_booked_minutes() -> None:
    msgs = plan_messages(PLAN, ORDERS, lines=set(), plan_id="p1", now_ms=1_893_974_400_000)
    from_messages = {(b.enterprise, b.line, d.day): d.std_min for b in msgs.bookings for d in b.days}
    assert from_messages == pytest.approx(booked_minutes(PLAN))
    assert sum(b.std_min for b in msgs.bookings) == pytest.approx(PLAN.on_time_std_min())


def test_a_line_too_full_for_one_message_is_refused() -> None:
    many = [alloc("A", L1, D1, 1)] * (MAX_ALLOCATION_ENTRIES + 1)
    plan = AllocationPlan(allocations=many, unallocated=[], stats=STATS)
    with pytest.raises(PlanTooLargeError, match="f1/s1/l1"):
        plan_messages(plan, ORDERS, lines=set(), plan_id="p1", now_ms=1_893_974_400_000)


class FakePublisher:
    """Keeps what a broker would retain: the last payload per topic."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bool]] = []
        self.retained: dict[str, bytes] = {}

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> None:
        self.sent.append((topic, retain))
        if retain:
            self.retained[topic] = payload


def test_published_retained_on_the_line_topics_allocations_first() -> None:
    msgs = plan_messages(PLAN, ORDERS, lines={GONE}, plan_id="p1", now_ms=1_893_974_400_000)
    pub = FakePublisher()
    topics = publish_plan(msgs, pub)
    assert all(retain for _, retain in pub.sent) and len(topics) == 6
    kinds = [Topic.parse(t).kind for t in topics]
    assert kinds == [MessageKind.ALLOCATION] * 3 + [MessageKind.BOOKINGS] * 3
    gone = str(Topic.line(enterprise="f9", site="s3", line="old", kind=MessageKind.BOOKINGS))
    assert BookingsMessage.model_validate_json(pub.retained[gone]).days == []


def test_nothing_is_sent_when_a_message_is_too_large() -> None:
    ids = [f"{k}".rjust(64, "x") for k in range(10)]  # 10 orders with 64-character ids and buyers
    orders = {i: Order(order_id=i, buyer=i, category="tshirt", sam_min=1, quantity=10**6, due=date(2031, 1, 1))
              for i in ids}
    allocs = [Allocation(order_id=i, enterprise="f1", site="s1", line="l1", day=D1 + timedelta(days=k), pieces=1,
                         std_min=1.0) for i in ids for k in range(MAX_ALLOCATION_ENTRIES // 10)]  # ~230 B each
    msgs = plan_messages(AllocationPlan(allocations=allocs, unallocated=[], stats=STATS), orders, lines={L2},
                         plan_id="p1", now_ms=1_893_974_400_000)
    pub = FakePublisher()
    with pytest.raises(PublishError, match="bytes, the broker takes at most"):
        publish_plan(msgs, pub)
    assert pub.sent == []
