"""Write a plan's outcome (``matching.plan_points``) to the InfluxDB of an ``influx:`` config
block, through the storage layer's durable write policy, within a time budget (a command must end)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from seamline.configfile import ConfigFileError, read_yaml_mapping, validation_problems
from seamline.matching.errors import InfluxConfigError
from seamline.matching.models import AllocationPlan, Order
from seamline.matching.plan_points import plan_lines
from seamline.storage.config import InfluxConfig
from seamline.storage.connect import point_writer
from seamline.storage.schema import Retention
from seamline.storage.write_policy import WriteAborted, WritePolicy

__all__ = ["RecordError", "record_plan"]

# Seconds the write may keep retrying an unavailable InfluxDB before the command gives up.
WRITE_BUDGET_S = 60.0


class RecordError(Exception):
    """InfluxDB did not take the points within the budget, or rejected some."""


def influx_config(path: Path) -> InfluxConfig:
    try:
        doc = read_yaml_mapping(path, expected="a config with an `influx:` block")
    except ConfigFileError as exc:
        raise InfluxConfigError(str(exc)) from None
    try:
        return InfluxConfig.model_validate(doc.get("influx", {}))
    except ValidationError as exc:
        raise InfluxConfigError(str(ConfigFileError(path, [f"influx.{p}" for p in validation_problems(exc)]))) from None


def record_plan(path: Path, plan: AllocationPlan, orders: Sequence[Order], *, budget_s: float = WRITE_BUDGET_S) -> int:
    """Write the plan's ``plan_orders`` points; return how many. Raises :class:`RecordError`."""
    lines = plan_lines(plan, orders, plan_id=uuid.uuid4().hex[:16], ts_ms=int(time.time() * 1000))
    writer = point_writer(influx_config(path), Retention.KPI)
    stop = threading.Event()
    timer = threading.Timer(budget_s, stop.set)
    timer.start()
    try:
        out = WritePolicy().write_durably(writer, lines, stop=stop)
    except WriteAborted as exc:
        raise RecordError(f"InfluxDB did not take the points within {budget_s:.0f} s ({exc})") from exc
    finally:
        timer.cancel()
        writer.close()
    if out.rejected:
        raise RecordError(f"InfluxDB rejected {len(out.rejected)} points: {out.rejected[0][1]}")
    return out.written
