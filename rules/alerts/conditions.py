"""Alert conditions: the small typed set of kinds a rule may use, and the one comparison they share.

Every kind turns its input into :class:`~seamline.rules.alerts.model.Reading`s (one per target:
a machine, a line, a gateway, a worker); :func:`judge` compares a reading with the threshold:

* ``op: below`` breaches when ``value < threshold`` and clears when ``value >= clear``;
  ``op: above`` breaches when ``value > threshold`` and clears when ``value <= clear``. Between the
  two the verdict is HOLD (hysteresis: a figure hovering at the threshold does not flap).
* a reading whose window is over (the shift ended) is CLEAR;
* a reading without a value, or with ``coverage`` below ``coverage_floor``, is NO_DATA: missing
  data is never a breach and never a clear.

Kinds (``kind:`` in YAML):

* ``kpi``: a field of a KPI measurement (``kpi_line.oee``...) in the current window of ``window``
  (``shift`` = the shift so far), its ``coverage`` checked against the floor;
* ``metric``: a field of a telemetry measurement (an asset kind, ``gateway`` self-telemetry) or of
  ingest's self-metrics: the newest value, or its ``increase`` over ``lookback_s`` (counters);
  a field ending in ``*`` sums a family (``quarantined_*``);
* ``state_duration``: minutes a machine has been in ``state`` (``breakdown``), or a gateway
  offline; 0 when it is not (so ``clear: 0`` clears on the first other state); the reason code is
  the reading's detail;
* ``absence``: minutes since an asset's last sample, judged only while its gateway is online (an
  offline gateway is the gateway rule's business: NO_DATA here);
* ``order_at_risk``: standard minutes booked on a line that its measured capacity cannot make by
  the booked day (the largest cumulative shortfall over the days ahead), the capacity feed's
  confidence as coverage.
"""

from __future__ import annotations

import enum
import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from seamline.rules.alerts.model import Reading, Verdict


class Op(enum.StrEnum):
    BELOW = "below"
    ABOVE = "above"


class _Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    op: Op = Op.ABOVE
    threshold: float
    clear: float | None = Field(default=None, description="Clear threshold (hysteresis); default: threshold")
    coverage_floor: float = Field(default=0.0, ge=0, le=1, description="Below this coverage: no data")
    unit: str | None = Field(default=None, max_length=16)

    @model_validator(mode="after")
    def _hysteresis(self) -> _Condition:
        c = self.clear
        wrong_side = c is not None and (c < self.threshold if self.op is Op.BELOW else c > self.threshold)
        if c is not None and wrong_side:
            side = ">=" if self.op is Op.BELOW else "<="
            raise ValueError(f"clear must be {side} threshold for op {self.op.value} (got clear {c:g}, "
                             f"threshold {self.threshold:g})")
        return self

    @property
    def clear_at(self) -> float:
        return self.threshold if self.clear is None else self.clear


SHIFT = "shift"  # the KPI window of the shift so far
KpiWindow = Literal["5m", "1h", "shift", "1d"]


class KpiCondition(_Condition):
    kind: Literal["kpi"]
    measurement: str = Field(pattern=r"^kpi_[a-z_]+$")
    field: str = Field(min_length=1, max_length=64)
    window: KpiWindow = "shift"


class MetricCondition(_Condition):
    kind: Literal["metric"]
    measurement: str = Field(min_length=1, max_length=64, description="An asset kind, or seamline_ingest")
    field: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+\*?$")
    aggregate: Literal["last", "increase"] = "last"
    lookback_s: float = Field(default=900.0, gt=0, le=7 * 86400)


class StateDurationCondition(_Condition):
    kind: Literal["state_duration"]
    subject: Literal["machine", "gateway"]
    state: str = Field(min_length=1, max_length=32, description="machine: a MachineState; gateway: offline")
    lookback_s: float = Field(default=3 * 86400.0, gt=0, le=31 * 86400)
    unit: str | None = "min"


class AbsenceCondition(_Condition):
    kind: Literal["absence"]
    asset_kinds: tuple[str, ...] = Field(min_length=1)
    lookback_s: float = Field(default=86400.0, gt=0, le=31 * 86400, description="Assets seen this recently count")
    unit: str | None = "min"


class OrderAtRiskCondition(_Condition):
    kind: Literal["order_at_risk"]
    days_ahead: int = Field(default=14, ge=1, le=366)
    unit: str | None = "std min"


Condition = Annotated[KpiCondition | MetricCondition | StateDurationCondition | AbsenceCondition
                      | OrderAtRiskCondition, Field(discriminator="kind")]


def judge(cond: _Condition, reading: Reading) -> Verdict:
    """The verdict on one reading (module docstring)."""
    if reading.over:
        return Verdict.CLEAR
    v = reading.value
    if v is None or not math.isfinite(v):
        return Verdict.NO_DATA
    if reading.coverage is not None and reading.coverage < cond.coverage_floor:
        return Verdict.NO_DATA
    if cond.op is Op.BELOW:
        if v < cond.threshold:
            return Verdict.BREACH
        return Verdict.CLEAR if v >= cond.clear_at else Verdict.HOLD
    if v > cond.threshold:
        return Verdict.BREACH
    return Verdict.CLEAR if v <= cond.clear_at else Verdict.HOLD
