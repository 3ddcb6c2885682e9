"""What a plan books: minutes per (enterprise, line, day) for the rules engine, the bookings
file, InfluxDB-ready records and the per-line MQTT messages."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from pathlib import Path

from seamline.matching.models import AllocationEntry, AllocationMessage, AllocationPlan, Order

MEASUREMENT = "allocation"


def booked_minutes(plan: AllocationPlan) -> dict[tuple[str, str, date], float]:
    """{(enterprise, line, day): standard minutes booked by the plan}; the rules engine subtracts
    these from free capacity."""
    out: dict[tuple[str, str, date], float] = defaultdict(float)
    for a in plan.allocations:
        out[(a.enterprise, a.line, a.day)] += a.std_min
    return dict(out)


def write_bookings(plan: AllocationPlan, path: Path) -> None:
    """The booked minutes as JSON: a list of {enterprise, line, day, std_min}."""
    rows = [
        {"enterprise": e, "line": ln, "day": d.isoformat(), "std_min": round(m, 3)}
        for (e, ln, d), m in sorted(booked_minutes(plan).items())
    ]
    path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


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


def allocation_messages(
    plan: AllocationPlan, orders: dict[str, Order], *, plan_id: str, now_ms: int
) -> list[AllocationMessage]:
    """One message per (enterprise, site, line) the plan books."""
    by_line: dict[tuple[str, str, str], list[AllocationEntry]] = defaultdict(list)
    for a in plan.allocations:
        o = orders[a.order_id]
        by_line[(a.enterprise, a.site, a.line)].append(
            AllocationEntry(
                order_id=a.order_id, buyer=o.buyer, category=o.category, day=a.day, pieces=a.pieces, std_min=a.std_min
            )
        )
    return [
        AllocationMessage(plan_id=plan_id, enterprise=e, site=s, line=ln, generated_ts_ms=now_ms, entries=entries)
        for (e, s, ln), entries in sorted(by_line.items())
    ]


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
