"""What a plan books: minutes per (enterprise, line, day), InfluxDB-ready records, and the plan's
wire messages — one ``AllocationMessage`` and one ``BookingsMessage`` per line (contracts)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from seamline.contracts.messages import (
    MAX_ALLOCATION_ENTRIES,
    AllocationEntry,
    AllocationMessage,
    BookedDay,
    BookingsMessage,
)
from seamline.matching.capacity import LineKey
from seamline.matching.models import AllocationPlan, Order

MEASUREMENT = "allocation"


class PlanTooLargeError(ValueError):
    """A line's allocation does not fit in one message (``MAX_ALLOCATION_ENTRIES``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanMessages:
    """What one plan publishes: per line, its allocation and its bookings (same plan id)."""

    plan_id: str
    allocations: tuple[AllocationMessage, ...]
    bookings: tuple[BookingsMessage, ...]


def booked_minutes(plan: AllocationPlan) -> dict[tuple[str, str, date], float]:
    """{(enterprise, line, day): standard minutes booked by the plan}; the rules engine subtracts
    these from free capacity."""
    out: dict[tuple[str, str, date], float] = defaultdict(float)
    for a in plan.allocations:
        out[(a.enterprise, a.line, a.day)] += a.std_min
    return dict(out)


def influx_records(plan: AllocationPlan) -> list[dict[str, object]]:
    """Line-protocol-ready points (measurement ``allocation``): tags enterprise, line, order_id;
    fields pieces (int) and std_min (float); time = the local day at 00:00 UTC, as a date."""
    return [
        {
            "measurement": MEASUREMENT,
            "tags": {"enterprise": a.enterprise, "line": a.line, "order_id": a.order_id},
            "fields": {"pieces": a.pieces, "std_min": float(a.std_min)},
            "day": a.day,
        }
        for a in plan.allocations
    ]


def plan_messages(
    plan: AllocationPlan, orders: dict[str, Order], *, lines: Iterable[LineKey], plan_id: str, now_ms: int
) -> PlanMessages:
    """One allocation and one bookings message for every line in ``lines`` and every line the plan
    books; a line the plan books nothing on gets empty ones, so they replace the retained messages
    of an earlier plan. Booked standard minutes per day are summed over the line's allocations."""
    entries: dict[LineKey, list[AllocationEntry]] = {key: [] for key in lines}
    per_day: dict[LineKey, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for a in plan.allocations:
        key = LineKey(enterprise=a.enterprise, site=a.site, line=a.line)
        o = orders[a.order_id]
        entries.setdefault(key, []).append(
            AllocationEntry(order_id=a.order_id, buyer=o.buyer, category=o.category, day=a.day, pieces=a.pieces,
                            std_min=a.std_min))
        per_day[key][a.day] += a.std_min
    allocations, bookings = [], []
    for key in sorted(entries, key=str):
        if len(entries[key]) > MAX_ALLOCATION_ENTRIES:
            raise PlanTooLargeError(f"{key}: {len(entries[key])} allocation entries, at most "
                                    f"{MAX_ALLOCATION_ENTRIES} fit in one message")
        allocations.append(AllocationMessage(plan_id=plan_id, enterprise=key.enterprise, site=key.site,
                                             line=key.line, generated_ts_ms=now_ms, entries=entries[key]))
        days = [BookedDay(day=d, std_min=round(m, 6)) for d, m in sorted(per_day[key].items())]
        bookings.append(BookingsMessage(plan_id=plan_id, enterprise=key.enterprise, site=key.site, line=key.line,
                                        generated_ts_ms=now_ms, days=days))
    return PlanMessages(plan_id=plan_id, allocations=tuple(allocations), bookings=tuple(bookings))


def render_table(plan: AllocationPlan) -> str:
    """Allocations, then every unallocated remainder with its reason, then errors and stats."""
    out = [f"{'order':<14}{'enterprise':<14}{'line':<10}{'day':<12}{'pieces':>8}{'std-min':>12}"]
    for a in plan.allocations:
        out.append(f"{a.order_id:<14}{a.enterprise:<14}{a.line:<10}{a.day.isoformat():<12}{a.pieces:>8}{a.std_min:>12.1f}")
    if plan.unallocated:
        out.append("")
        out.append(f"{'unallocated':<14}{'pieces':>8}{'std-min':>12}  reason: detail")
        for u in plan.unallocated:
            out.append(f"{u.order_id:<14}{u.pieces:>8}{u.std_min:>12.1f}  {u.reason.value}: {u.detail}")
    for e in plan.errors:
        out.append(f"error: {e}")
    s = plan.stats
    gap = "-" if s.mip_gap is None else f"{s.mip_gap:.2e}"
    bound = "-" if s.bound_std_min is None or s.bound_gap is None else (
        f"{s.bound_std_min:.1f} ({100 * s.bound_gap:.2f} % above)"
    )
    out.append(
        f"on-time std-min {plan.on_time_std_min():.1f}; upper bound {bound}; {s.method} {s.status}; gap {gap}; "
        f"{s.variables} vars ({s.binaries} binary), {s.components} components, {s.seconds:.2f} s"
    )
    return "\n".join(out)
