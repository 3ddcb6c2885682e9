"""A county's grading method as configuration (YAML): indicators with value expressions over the
inputs and the metered energy, benchmarks, weights and caps per variant (e.g. small plots under
3 mu score fewer indicators), bonus and penalty items, and the grading rule — score thresholds or
shares of the ranked enterprises. See grading/README.md and grading/samples/.

Names an expression may read: every numeric column of the inputs file (after ``columns`` renamed
the county's headers), and ``energy_kwh`` (metered electricity of the period, kWh) and
``energy_tce`` (``energy_kwh`` × ``electricity_kgce_per_kwh`` / 1000 + ``other_energy_tce``).
Flows (``flows``) are annualised before any expression sees them, so benchmarks are per year
whatever the period graded.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from seamline.configfile import ConfigFileError, read_yaml_mapping, validation_problems
from seamline.errors import UsageError
from seamline.grading.expression import Expression, ExpressionError

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
Label = Annotated[str, Field(min_length=1, max_length=64)]
# GB/T 2589-2020 (综合能耗计算通则), annex A: electricity at its calorific equivalent (当量值),
# 3 600 kJ/kWh over 29 307 kJ/kgce. Counties that count electricity at its equal value (等价值,
# the coal a power plant burns per kWh supplied, about 0.30 kgce/kWh, published yearly) set that.
EQUIVALENT_KGCE_PER_KWH = 0.1229
# Names the energy side provides (see the module doc).
ENERGY_KWH, ENERGY_TCE, OTHER_ENERGY_TCE = "energy_kwh", "energy_tce", "other_energy_tce"
LAND_MU = "land_mu"
DEFAULT_FLOWS = ("tax_10k_yuan", "sales_10k_yuan", "value_added_10k_yuan", "rd_10k_yuan", "water_t", "cod_t",
                 OTHER_ENERGY_TCE, ENERGY_KWH, ENERGY_TCE)


class MethodError(UsageError):
    """Invalid method file; the message names file, key and expectation."""


class Direction(enum.StrEnum):
    HIGHER = "higher"  # score = value / benchmark × weight (tax per mu)
    LOWER = "lower"  # score = benchmark / value × weight (energy per value added)


class WhenMissing(enum.StrEnum):
    ZERO = "zero"  # an indicator that cannot be computed scores 0
    AVERAGE = "average"  # it scores the average of the enterprises graded with it that have one


class RuleKind(enum.StrEnum):
    THRESHOLDS = "thresholds"  # grade by total score
    SHARES = "shares"  # grade by rank: the best share of the ranked enterprises get the best grade ...


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _expression(text: str) -> str:
    try:
        Expression(text)
    except ExpressionError as exc:
        raise ValueError(str(exc)) from None
    return text


class Indicator(_Model):
    id: Id
    label: Label = Field(description="Its name as the county publishes it, e.g. 亩均税收")
    unit: str = Field(default="", max_length=32, description="Unit of value and benchmark, e.g. 万元/亩")
    expr: str = Field(description="Value expression over the inputs, e.g. tax_10k_yuan / land_mu")
    benchmark: float = Field(gt=0, description="Value that scores the full weight")
    direction: Direction = Direction.HIGHER
    when_missing: WhenMissing = WhenMissing.ZERO

    _check_expr = field_validator("expr")(_expression)


class Scored(_Model):
    """An indicator as one variant scores it."""

    indicator: Id
    weight: float = Field(ge=0, le=1000, description="Points at the benchmark")
    benchmark: float | None = Field(default=None, gt=0, description="Overrides the indicator's benchmark")
    cap: float | None = Field(default=None, ge=0, description="Most points this indicator can score (none: no cap)")


class Variant(_Model):
    id: Id
    label: Label
    when: str | None = Field(default=None, description="Applies when this is true, e.g. land_mu < 3; none: always")
    indicators: list[Scored] = Field(min_length=1, max_length=50)

    @field_validator("when")
    @classmethod
    def _when(cls, v: str | None) -> str | None:
        return None if v is None else _expression(v)


class Adjustment(_Model):
    """A bonus or penalty item: ``expr`` × ``points_per_unit``, clamped to [min_points, max_points]."""

    id: Id
    label: Label
    expr: str = Field(description="e.g. high_tech (0/1 column) or safety_incidents")
    points_per_unit: float
    min_points: float | None = None
    max_points: float | None = None

    _check_expr = field_validator("expr")(_expression)


class GradingRule(_Model):
    kind: RuleKind
    grades: list[Label] = Field(min_length=2, max_length=10, description="Best first, e.g. [A, B, C, D]")
    thresholds: dict[str, float] = Field(default_factory=dict, description="thresholds: lowest total per grade")
    shares: dict[str, float] = Field(default_factory=dict, description="shares: fraction of the ranked per grade")
    rank_within_variant: bool = Field(default=True, description="Rank each variant's enterprises among themselves")

    @model_validator(mode="after")
    def _complete(self) -> GradingRule:
        better = self.grades[:-1]  # the last grade takes the rest
        given = self.thresholds if self.kind is RuleKind.THRESHOLDS else self.shares
        other = self.shares if self.kind is RuleKind.THRESHOLDS else self.thresholds
        if other:
            raise ValueError(f"a {self.kind.value} rule takes {self.kind.value}, not the other kind")
        if sorted(given) != sorted(better):
            raise ValueError(f"{self.kind.value} needed for exactly {better} (the last grade takes the rest)")
        if self.kind is RuleKind.THRESHOLDS:
            values = [given[g] for g in better]
            if values != sorted(values, reverse=True) or len(set(values)) != len(values):
                raise ValueError("thresholds must fall strictly from the best grade down")
        elif any(v < 0 for v in given.values()) or sum(given.values()) > 1 + 1e-9:
            raise ValueError("shares must be >= 0 and sum to at most 1")
        return self


class Method(_Model):
    version: int = Field(default=1, ge=1, le=1)
    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.\-]*$")
    name: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=2000, description="Where the method is published, and how sure")
    columns: dict[str, Id] = Field(default_factory=dict, description="County header -> input name")
    flows: list[Id] = Field(default_factory=lambda: list(DEFAULT_FLOWS), description="Annualised inputs")
    signed_inputs: list[Id] = Field(default_factory=lambda: ["value_added_10k_yuan"],
                                    description="Inputs that may be negative (a loss-making year)")
    electricity_kgce_per_kwh: float = Field(default=EQUIVALENT_KGCE_PER_KWH, gt=0, le=1.0)
    indicators: list[Indicator] = Field(min_length=1, max_length=50)
    variants: list[Variant] = Field(min_length=1, max_length=10)
    adjustments: list[Adjustment] = Field(default_factory=list, max_length=50)
    grading: GradingRule
    next_grade_steps: int = Field(default=3, ge=0, le=20, description="Ways up a grade listed per enterprise")

    @model_validator(mode="after")
    def _references(self) -> Method:
        ids = [i.id for i in self.indicators]
        if len(set(ids)) != len(ids):
            raise ValueError(f"indicator ids must be unique: {ids}")
        if len({v.id for v in self.variants}) != len(self.variants):
            raise ValueError("variant ids must be unique")
        for v in self.variants:
            unknown = sorted({s.indicator for s in v.indicators} - set(ids))
            if unknown:
                raise ValueError(f"variant {v.id!r} scores unknown indicators {unknown}")
        if self.variants[-1].when is not None or any(v.when is None for v in self.variants[:-1]):
            raise ValueError("only the last variant, and it must, apply without `when` (the default)")
        lower = {i.id for i in self.indicators if i.direction is Direction.LOWER}
        uncapped = sorted({s.indicator for v in self.variants for s in v.indicators if s.indicator in lower
                           and s.cap is None})
        if uncapped:
            raise ValueError(f"lower-is-better indicators need a cap (a value of 0 would score infinitely): {uncapped}")
        return self

    def indicator(self, indicator_id: str) -> Indicator:
        return next(i for i in self.indicators if i.id == indicator_id)

    @property
    def variables(self) -> frozenset[str]:
        """Every input name the method's expressions read."""
        texts = [i.expr for i in self.indicators] + [a.expr for a in self.adjustments]
        texts += [v.when for v in self.variants if v.when is not None]
        return frozenset(n for t in texts for n in Expression(t).names)


def parse_method(raw: Any, *, source: str = "<method>") -> Method:
    try:
        return Method.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{source}: {p}" for p in validation_problems(exc)]
        raise MethodError("invalid grading method:\n  " + "\n  ".join(lines)) from None


def load_method(path: Path) -> Method:
    try:
        raw = read_yaml_mapping(path, expected="a grading method (id, indicators, variants, grading)")
    except ConfigFileError as exc:
        raise MethodError(str(exc)) from None
    return parse_method(raw, source=str(path))
