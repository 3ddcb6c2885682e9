"""The per-mu grade of an enterprise (亩均论英雄), published retained by ``seamline grade`` on
``seamline/v1/<enterprise>/_enterprise/_enterprise/_enterprise/grade``. Schema version 1.

One message per enterprise: the latest grading run's period (``period``, ``estimated`` when any
figure is a nowcast). Scores are points of the county's method (``method``); indicator values are in
the unit the method states (``unit``), annualised. ``next_grade`` lists the smallest single-indicator
changes that would reach the next better grade, others unchanged.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from seamline.contracts.messages import Name, TsMs, _Payload

# A grading period: a year (2026), a half (2026H1), a quarter (2026Q3) or a month (2026-09).
PERIOD_PATTERN = r"^[0-9]{4}(?:H[12]|Q[1-4]|-(?:0[1-9]|1[0-2]))?$"
Period = Annotated[str, Field(pattern=PERIOD_PATTERN, description="2026, 2026H1, 2026Q3 or 2026-09")]
Label = Annotated[str, Field(min_length=1, max_length=64)]
# Methods name at most a handful of indicators and adjustments; 50 leaves room without letting a
# bad config flood the broker.
MAX_ITEMS = 50


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)


class IndicatorScore(_Item):
    indicator: Name = Field(description="Indicator id of the method, e.g. tax_per_mu")
    label: Label = Field(description="Its name as the county publishes it, e.g. 亩均税收")
    unit: str = Field(max_length=32, description="Unit of value and benchmark, e.g. 万元/亩")
    value: float | None = Field(description="Annualised value; null when an input is missing or a divisor is 0")
    benchmark: float = Field(gt=0)
    weight: float = Field(ge=0, description="Points at the benchmark")
    score: float = Field(description="Points this indicator contributes (capped as the method says)")
    estimated: bool = Field(description="The value uses a nowcast or an earlier period's figures")


class AdjustmentScore(_Item):
    adjustment: Name = Field(description="Bonus or penalty item of the method")
    label: Label
    points: float = Field(description="Points added (negative: deducted)")


class GradeStep(_Item):
    """One way up: this indicator alone at ``target_value`` reaches ``to_grade``."""

    indicator: Name
    label: Label
    change_pct: float | None = Field(description="Change of the indicator's value, %; null when it is 0 now")
    target_value: float
    to_grade: Label


class GradeMessage(_Payload):
    """Retained, per enterprise, published by ``seamline grade``."""

    enterprise: Name
    period: Period
    method: Name = Field(description="The county method's id")
    generated_ts_ms: TsMs
    grade: Label = Field(description="The method's grade label (A best ... D)")
    grade_index: int = Field(ge=0, description="0 for the best grade of the method, 1 for the next, ...")
    score: float = Field(description="Total points: indicator scores plus adjustments")
    rank: int = Field(ge=1, description="Rank among the enterprises graded together (ties share a rank)")
    ranked: int = Field(ge=1, description="How many were graded together")
    variant: Name = Field(description="The method's variant applied, e.g. standard or small (under 3 mu)")
    estimated: bool = Field(description="Some figure is a nowcast (telemetry so far, or finance of an earlier period)")
    energy_kwh: float | None = Field(default=None, ge=0, description="Metered electricity of the period, kWh")
    energy_tce: float | None = Field(default=None, ge=0, description="Energy in tonnes of standard coal")
    indicators: list[IndicatorScore] = Field(max_length=MAX_ITEMS)
    adjustments: list[AdjustmentScore] = Field(default_factory=list, max_length=MAX_ITEMS)
    next_grade: list[GradeStep] = Field(default_factory=list, max_length=MAX_ITEMS)
