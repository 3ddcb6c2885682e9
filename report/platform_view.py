"""The platform's side of a report: free capacity for the days ahead, the orders the latest plan put
on the factory's lines, and the orders it could not place. Pure: messages and the plan summary in,
view values out. Units: standard minutes (``*_std_min``), pieces."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from seamline.contracts.messages import AllocationMessage, CapacityMessage
from seamline.contracts.plan_summary import PlanSummary, UnmetOrder

CAPACITY_DAYS = 14


@dataclass(frozen=True, slots=True, kw_only=True)
class CapacityDayView:
    day: date
    available_std_min: float
    booked_std_min: float
    free_std_min: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CapacityLineView:
    enterprise: str
    site: str
    line: str
    efficiency: float  # measured rolling line efficiency, 0..1.5
    confidence: float  # 0..1
    free_std_min: float  # over the days shown
    published_at: datetime  # local


@dataclass(frozen=True, slots=True, kw_only=True)
class CapacityView:
    days: tuple[CapacityDayView, ...]
    lines: tuple[CapacityLineView, ...]

    @property
    def free_std_min(self) -> float:
        return sum(d.free_std_min for d in self.days)


def capacity_view(messages: Iterable[CapacityMessage], *, from_day: date, tz: ZoneInfo,
                  days: int = CAPACITY_DAYS) -> CapacityView:
    """Per day in ``[from_day, from_day + days)``: available, booked and free standard minutes
    summed over the messages' lines (a day no message mentions is left out), and per line its
    measured efficiency and free minutes over those days."""
    last = from_day + timedelta(days=days)
    per_day: dict[date, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    lines = []
    for m in sorted(messages, key=lambda m: (m.enterprise, m.site, m.line)):
        free = 0.0
        for d in m.days:
            if from_day <= d.day < last:
                acc = per_day[d.day]
                acc[0] += d.available_std_min
                acc[1] += d.booked_std_min
                acc[2] += d.free_std_min
                free += d.free_std_min
        published = datetime.fromtimestamp(m.generated_ts_ms / 1000, UTC).astimezone(tz)
        lines.append(CapacityLineView(enterprise=m.enterprise, site=m.site, line=m.line, efficiency=m.efficiency,
                                      confidence=m.confidence, free_std_min=free, published_at=published))
    day_views = tuple(CapacityDayView(day=d, available_std_min=a, booked_std_min=b, free_std_min=f)
                      for d, (a, b, f) in sorted(per_day.items()))
    return CapacityView(days=day_views, lines=tuple(lines))


@dataclass(frozen=True, slots=True, kw_only=True)
class AllocatedOrder:
    """One order's pieces on the lines shown, over all its days."""

    order_id: str
    buyer: str
    category: str
    lines: tuple[str, ...]  # enterprise/line
    first_day: date
    last_day: date
    pieces: int
    std_min: float


@dataclass(slots=True)
class _OrderAcc:
    buyer: str
    category: str
    lines: set[str]
    days: set[date]
    pieces: int = 0
    std_min: float = 0.0


def allocated_orders(messages: Iterable[AllocationMessage]) -> tuple[AllocatedOrder, ...]:
    """The entries of the allocation messages grouped by order, earliest first day first."""
    acc: dict[str, _OrderAcc] = {}
    for m in messages:
        for e in m.entries:
            o = acc.setdefault(e.order_id, _OrderAcc(buyer=e.buyer, category=e.category, lines=set(), days=set()))
            o.lines.add(f"{m.enterprise}/{m.line}")
            o.days.add(e.day)
            o.pieces += e.pieces
            o.std_min += e.std_min
    out = [AllocatedOrder(order_id=oid, buyer=o.buyer, category=o.category, lines=tuple(sorted(o.lines)),
                          first_day=min(o.days), last_day=max(o.days), pieces=o.pieces, std_min=o.std_min)
           for oid, o in acc.items()]
    return tuple(sorted(out, key=lambda a: (a.first_day, a.order_id)))


@dataclass(frozen=True, slots=True, kw_only=True)
class OrdersView:
    allocated: tuple[AllocatedOrder, ...]
    unmet: tuple[UnmetOrder, ...]
    allocation_plans: tuple[str, ...]  # plan ids seen on the allocation messages
    summary_plan: str | None  # the plan summary's id, None without a summary

    @property
    def plans_disagree(self) -> bool:
        """The unmet orders and the allocations come from different plans."""
        return self.summary_plan is not None and bool(self.allocation_plans) and (
            set(self.allocation_plans) != {self.summary_plan})


def orders_view(allocations: Sequence[AllocationMessage], summary: PlanSummary | None, *,
                categories: Collection[str] | None) -> OrdersView:
    """Allocated orders of ``allocations``; the summary's unmet orders in ``categories`` (all of
    them when ``None``: the cluster's view), largest first."""
    unmet: tuple[UnmetOrder, ...] = ()
    if summary is not None:
        unmet = tuple(sorted((u for u in summary.unmet if categories is None or u.category in categories),
                             key=lambda u: (-u.std_min, u.order_id)))
    return OrdersView(allocated=allocated_orders(allocations), unmet=unmet,
                      allocation_plans=tuple(sorted({m.plan_id for m in allocations if m.entries})),
                      summary_plan=summary.plan_id if summary is not None else None)
