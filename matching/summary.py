"""A plan's summary file (``seamline match --summary-out FILE``): the contract's ``PlanSummary`` —
every unmet remainder with its reason, which no line topic can carry — written atomically so a
reader (``seamline report``) never sees half a file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from seamline.contracts.plan_summary import MAX_SUMMARY_ERRORS, PlanSummary, UnmetOrder
from seamline.matching.models import AllocationPlan, Order


def plan_summary(plan: AllocationPlan, orders: Mapping[str, Order], *, plan_id: str, now_ms: int, plan_day: date,
                 published: bool, valid_orders: int) -> PlanSummary:
    """The summary of ``plan``; ``orders`` by id gives each unmet order its buyer, category and due
    day. A remainder of an order not in ``orders`` (an invalid row) keeps its id with ``?`` for those."""
    unmet = []
    for u in plan.unallocated:
        o = orders.get(u.order_id)
        unmet.append(UnmetOrder(
            order_id=(u.order_id or "?")[:64], buyer=o.buyer if o else "?", category=o.category if o else "?",
            due=o.due if o else plan_day, pieces=u.pieces, std_min=round(u.std_min, 6), reason=u.reason.value,
            detail=u.detail[:500]))
    errors = [str(e) for e in plan.errors]
    if len(errors) > MAX_SUMMARY_ERRORS:
        more = len(errors) - MAX_SUMMARY_ERRORS + 1
        errors = [*errors[:MAX_SUMMARY_ERRORS - 1], f"... and {more} more rows rejected"]
    return PlanSummary(
        plan_id=plan_id, generated_ts_ms=now_ms, plan_day=plan_day, published=published, orders=valid_orders,
        allocated_orders=len({a.order_id for a in plan.allocations}),
        allocated_std_min=round(plan.on_time_std_min(), 6), unmet=unmet, errors=errors)


def write_summary(path: Path, summary: PlanSummary) -> None:
    """Write ``summary`` as JSON to ``path`` atomically (a temporary file in the same folder, renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(summary.model_dump_json(indent=1))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
