"""Pydantic models inside matching: orders, factory profiles, the allocation plan.

Units: SAM and every ``*_std_min`` field are standard minutes; quantities are whole pieces;
days are the enterprise's local calendar days.

What matching publishes (``AllocationMessage``, ``BookingsMessage``) is in ``seamline.contracts``.
"""

from __future__ import annotations

import enum
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from seamline.contracts.messages import Name

# A category/order name is a short printable token; the same bound as topic levels.
CATEGORY_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Order(_Frozen):
    """A buyer's order. ``sam_min`` is standard minutes per piece; ``quantity`` whole pieces."""

    order_id: Name
    buyer: Name
    category: str = Field(pattern=CATEGORY_PATTERN)
    sam_min: float = Field(gt=0, le=10_000, description="Standard minutes per piece")
    quantity: int = Field(gt=0, le=100_000_000, description="Pieces")
    due: date = Field(description="Last local day on which pieces may be made")
    min_qty_per_factory: int = Field(default=0, ge=0, description="Pieces; 0 = no minimum")
    splittable: bool = Field(default=True, description="False: one factory makes all of it or none")
    green_share_min: float | None = Field(
        default=None, ge=0, le=1,
        description="Fraction; every line making it must have at least this green share (None: any)",
    )
    co2e_max_per_piece: float | None = Field(
        default=None, gt=0, le=10_000,
        description="kg CO2e per piece; every line making it must emit at most this (None: any)",
    )

    @property
    def has_green_requirement(self) -> bool:
        return self.green_share_min is not None or self.co2e_max_per_piece is not None

    @property
    def std_min(self) -> float:
        """Standard minutes of the whole order (quantity × SAM)."""
        return self.quantity * self.sam_min


class FactoryProfile(_Frozen):
    """What the platform knows about an enterprise beyond measured capacity.

    Defaults are deliberately neutral (mid-range history, no green surplus) so a factory without
    a profile is neither favoured nor excluded."""

    enterprise: Name
    categories: list[str] | None = Field(
        default=None, description="Categories it accepts; None = whatever its lines report"
    )
    moq_pieces: int = Field(default=0, ge=0, description="Minimum pieces it accepts of one order")
    quality: float = Field(default=0.9, ge=0, le=1, description="Measured first-pass yield, fraction")
    on_time_rate: float = Field(default=0.9, ge=0, le=1, description="Share of past orders on time")
    green_share: float = Field(
        default=0.0, ge=0, le=1, description="Share of its energy covered by on-site renewable surplus"
    )
    grade_index: int | None = Field(
        default=None, ge=0,
        description="Its per-mu grade (0 = the county method's best, A); None = not graded. From the "
        "retained grade messages of seamline grade",
    )


class ProfileBook(_Frozen):
    """Profiles plus an optional category catalogue (orders outside it are invalid)."""

    profiles: dict[str, FactoryProfile] = Field(default_factory=dict)
    categories: list[str] | None = None

    def profile(self, enterprise: str) -> FactoryProfile:
        found = self.profiles.get(enterprise)
        return found if found is not None else FactoryProfile(enterprise=enterprise)


class RowError(_Frozen):
    """A rejected input row: where (source, 1-based row) and which field."""

    source: str
    row: int = Field(ge=1, description="1-based data row (CSV: line number in the file)")
    order_id: str | None = None
    field: str
    message: str

    def __str__(self) -> str:
        who = f" order {self.order_id!r}" if self.order_id else ""
        return f"{self.source}: row {self.row}{who}: {self.field}: {self.message}"


class UnallocatedReason(enum.StrEnum):
    INVALID_ORDER = "invalid_order"
    NO_ELIGIBLE_FACTORY = "no_eligible_factory"
    INSUFFICIENT_CAPACITY_BEFORE_DUE = "insufficient_capacity_before_due"
    BELOW_MINIMUM_QUANTITY = "below_minimum_quantity"
    # the order's green share minimum or CO2e limit excludes the lines that have room
    GREEN_REQUIREMENT = "green_requirement"
    # free capacity before the due day remains where these pieces are allowed, but the plan is
    # not proven optimal (cluster size: heuristic within its time): never "no free capacity"
    NOT_PLACED_BY_PLANNER = "not_placed_by_planner"


class Allocation(_Frozen):
    """Pieces of one order completed on one line on one day, and the minutes booked there."""

    order_id: Name
    enterprise: Name
    site: Name
    line: Name
    day: date
    pieces: int = Field(ge=0, description="Whole pieces completed that day")
    std_min: float = Field(ge=0, description="Standard minutes booked that day")


class Unallocated(_Frozen):
    order_id: str
    pieces: int = Field(ge=0)
    std_min: float = Field(ge=0)
    reason: UnallocatedReason
    detail: str = ""


class SolveStats(_Frozen):
    method: str = Field(
        description="flow (OR-tools min-cost flow; flow+milp when minimums were repaired), lp, milp, "
        "contention (least-contested first) or greedy"
    )
    status: str = Field(
        description="'optimal' only when the returned plan is proven optimal (exact MILP in whole pieces over the "
        "unpruned network, or the plan reaches the bound); else 'feasible (<how the plan was made>)'"
    )
    components: int = Field(ge=0)
    variables: int = Field(ge=0)
    binaries: int = Field(ge=0)
    constraints: int = Field(ge=0)
    mip_gap: float | None = Field(
        default=None, description="Worst relative MIP gap over components, only when status is 'optimal'"
    )
    bound_std_min: float | None = Field(
        default=None, ge=0, description="Upper bound on on-time std-min of any plan (max flow, minimums dropped)"
    )
    bound_gap: float | None = Field(
        default=None, ge=0, description="(bound − on-time std-min) / bound: how far from optimal at most"
    )
    seconds: float = Field(ge=0)
    objective: float = Field(description="Weighted objective (maximised), std-min units")


class AllocationPlan(_Frozen):
    allocations: list[Allocation]
    unallocated: list[Unallocated]
    errors: list[RowError] = Field(default_factory=list)
    stats: SolveStats

    def on_time_std_min(self) -> float:
        """Standard minutes of whole pieces allocated on or before their due days."""
        return sum(a.std_min for a in self.allocations)
