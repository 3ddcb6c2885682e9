"""A plan's outcome -> ``plan_orders`` points in RP ``kpi`` (``seamline match --influx-config``),
so dashboards can show what the latest plan allocated and what it could not, with the reason.

One point per (status, reason) at the plan's time, every combination written even when empty
(zeros), so "the last point of each series" is always the latest plan. Status: ``allocated``
(every piece placed), ``partial`` (some), ``unmet`` (none); reason: the unallocated remainder's
reason, ``none`` for allocated orders. ``order_ids``: the first ids, comma-separated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from seamline.matching.models import AllocationPlan, Order, UnallocatedReason
from seamline.storage.line_protocol import encode_line
from seamline.storage.schema import PLAN_ORDERS, Tag

__all__ = ["ALLOCATED", "NO_REASON", "PARTIAL", "UNMET", "plan_lines"]

ALLOCATED, PARTIAL, UNMET = "allocated", "partial", "unmet"
NO_REASON = "none"
# Ids kept per point: enough to look one up, bounded so a 2 000-order plan stays a small point.
MAX_IDS = 50
_FIELDS = PLAN_ORDERS.fields_of("orders", "pieces", "pieces_allocated", "std_min_allocated", "order_ids", "plan_id")


@dataclass(slots=True)
class _Group:
    ids: list[str] = field(default_factory=list)
    pieces: int = 0
    allocated: int = 0
    std_min: float = 0.0


def _groups(plan: AllocationPlan, orders: Sequence[Order]) -> dict[tuple[str, str], _Group]:
    keys = [(ALLOCATED, NO_REASON)] + [(s, r.value) for s in (PARTIAL, UNMET) for r in UnallocatedReason]
    out = {k: _Group() for k in keys}
    placed: dict[str, int] = {}
    minutes: dict[str, float] = {}
    for a in plan.allocations:
        placed[a.order_id] = placed.get(a.order_id, 0) + a.pieces
        minutes[a.order_id] = minutes.get(a.order_id, 0.0) + a.std_min
    left = {u.order_id: u.reason.value for u in plan.unallocated}
    for o in sorted(orders, key=lambda o: o.order_id):
        got = placed.get(o.order_id, 0)
        key = (ALLOCATED, NO_REASON) if o.order_id not in left else (PARTIAL if got else UNMET, left[o.order_id])
        g = out[key]
        g.ids.append(o.order_id)
        g.pieces += o.quantity
        g.allocated += got
        g.std_min += minutes.get(o.order_id, 0.0)
    return out


def plan_lines(plan: AllocationPlan, orders: Sequence[Order], *, plan_id: str, ts_ms: int) -> list[str]:
    """Line protocol for ``plan`` over ``orders`` (the valid orders it was made from), at ``ts_ms``."""
    lines = []
    for (status, reason), g in sorted(_groups(plan, orders).items()):
        ids = ",".join(g.ids[:MAX_IDS]) + (",..." if len(g.ids) > MAX_IDS else "")
        values = (float(len(g.ids)), float(g.pieces), float(g.allocated), round(g.std_min, 3), ids, plan_id)
        lines.append(encode_line(PLAN_ORDERS.name, {Tag.STATUS: status, Tag.REASON: reason},
                                 dict(zip(_FIELDS, values, strict=True)), ts_ms))
    return lines
