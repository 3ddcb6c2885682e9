"""What the dashboards need that only MQTT carried: the capacity feed's ``capacity_day`` points
and a plan's ``plan_orders`` points, built from the schema's names."""

from __future__ import annotations

from datetime import date

from seamline.contracts.messages import CapacityDay, CapacityMessage
from seamline.matching.models import Allocation, AllocationPlan, Order, SolveStats, Unallocated, UnallocatedReason
from seamline.matching.plan_points import plan_lines
from seamline.rules.capacity_points import capacity_points
from seamline.rules.master_data import parse_master_data
from seamline.storage.schema import CAPACITY, PLAN_ORDERS

MASTER = parse_master_data({
    "calendars": [{"id": "c", "shifts": [{"name": "day", "start": "08:00", "end": "17:00", "days": ["mon"]}]}],
    "enterprises": [{"id": "f001", "name": "F1", "timezone": "Asia/Shanghai", "calendar": "c", "sites": [
        {"id": "s1", "lines": [{"id": "line01", "operators": 10, "categories": ["tshirt"]}]}]}]})


def test_capacity_points_one_per_line_and_day_at_local_midnight() -> None:
    days = [CapacityDay(day=date(2030, 1, 7 + i), available_std_min=4000.0, booked_std_min=1000.0 * i,
                        free_std_min=4000.0 - 1000.0 * i) for i in range(3)]
    msg = CapacityMessage(enterprise="f001", site="s1", line="line01", generated_ts_ms=1_893_900_000_000,
                          categories=["tshirt"], operators=10, efficiency=0.5, confidence=0.8, days=days)
    points = capacity_points([msg], MASTER)
    assert [p.ts_ms for p in points] == [1_893_945_600_000 + i * 86_400_000 for i in range(3)]  # 00:00 +08:00
    assert {p.measurement for p in points} == {CAPACITY.name}
    assert [p.get("free_std_min") for p in points] == [4000.0, 3000.0, 2000.0]
    assert dict(points[0].tags) == {"enterprise": "f001", "site": "s1", "line": "line01"}
    assert all(CAPACITY.check(tags=dict(p.tags), fields=dict(p.fields)) is None for p in points)


def _order(oid: str, qty: int) -> Order:
    return Order(order_id=oid, buyer="b", category="tshirt", sam_min=10.0, quantity=qty, due=date(2030, 1, 20))


def test_plan_points_count_orders_by_status_and_reason_with_zeros() -> None:
    orders = [_order("PO-1", 100), _order("PO-2", 300), _order("PO-3", 50)]
    plan = AllocationPlan(
        allocations=[Allocation(order_id="PO-1", enterprise="f001", site="s1", line="line01", day=date(2030, 1, 8),
                                pieces=100, std_min=1000.0),
                     Allocation(order_id="PO-2", enterprise="f001", site="s1", line="line01", day=date(2030, 1, 9),
                                pieces=120, std_min=1200.0)],
        unallocated=[Unallocated(order_id="PO-2", pieces=180, std_min=1800.0,
                                 reason=UnallocatedReason.INSUFFICIENT_CAPACITY_BEFORE_DUE),
                     Unallocated(order_id="PO-3", pieces=50, std_min=500.0,
                                 reason=UnallocatedReason.NO_ELIGIBLE_FACTORY)],
        stats=SolveStats(method="t", status="ok", components=1, variables=1, binaries=0, constraints=1, seconds=0.0,
                         objective=0.0))
    lines = plan_lines(plan, orders, plan_id="p1", ts_ms=1_893_900_000_000)
    assert len(lines) == 1 + 2 * len(UnallocatedReason)  # every combination, zeros included
    by_key = {ln.split(" ")[0]: ln.split(" ")[1] for ln in lines}
    assert by_key["plan_orders,reason=none,status=allocated"] == (
        'orders=1.0,pieces=100.0,pieces_allocated=100.0,std_min_allocated=1000.0,order_ids="PO-1",plan_id="p1"')
    partial = by_key["plan_orders,reason=insufficient_capacity_before_due,status=partial"]
    assert 'order_ids="PO-2"' in partial and "pieces=300.0" in partial and "pieces_allocated=120.0" in partial
    assert 'order_ids="PO-3"' in by_key["plan_orders,reason=no_eligible_factory,status=unmet"]
    assert "orders=0.0" in by_key["plan_orders,reason=below_minimum_quantity,status=unmet"]
    assert all(ln.startswith(PLAN_ORDERS.name + ",") for ln in lines)
