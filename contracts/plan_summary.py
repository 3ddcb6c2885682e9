"""The plan summary ``seamline match --summary-out FILE`` writes: what a plan could not place and why.

Allocations travel per line on the retained ``allocation`` topics; an unmet order belongs to no
line (nobody makes its category, or nobody has room before its due day), so it has no line topic
to go on. The summary is a JSON file beside the plan instead, read by ``seamline report`` (the
factory report lists the unmet orders in the categories its lines make, the cluster report all of
them). Schema version 1; its JSON Schema is written by ``seamline contracts schema``.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from seamline.contracts.messages import Name, TsMs

# An order book of a few thousand orders is a big day; this many unmet entries is a runaway input.
MAX_UNMET_ORDERS = 100_000
MAX_SUMMARY_ERRORS = 1_000


class UnmetOrder(BaseModel):
    """The part of one order a plan did not place: pieces, standard minutes and the reason."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    order_id: Name
    buyer: Name
    category: Name
    due: date = Field(description="Last local day on which pieces may be made")
    pieces: int = Field(ge=0, description="Pieces not placed")
    std_min: float = Field(ge=0, description="Standard minutes not placed (pieces × SAM)")
    reason: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$",
                        description="no_eligible_factory, insufficient_capacity_before_due, below_minimum_quantity, "
                                    "invalid_order, ...")
    detail: str = Field(default="", max_length=500, description="What a person can act on (English)")


class PlanSummary(BaseModel):
    """One plan: its id (the ``plan_id`` of its allocation and bookings messages), when it was made,
    how many orders it placed, and every unmet remainder with its reason."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    schema_version: Literal[1] = 1
    plan_id: Name
    generated_ts_ms: TsMs
    plan_day: date = Field(description="The day the plan was made for (its first bookable day is the next)")
    published: bool = Field(description="True when the allocation and bookings of this plan were published")
    orders: int = Field(ge=0, description="Valid orders in the order book")
    allocated_orders: int = Field(ge=0, description="Orders with at least one piece placed")
    allocated_std_min: float = Field(ge=0, description="Standard minutes placed on or before due days")
    unmet: list[UnmetOrder] = Field(default_factory=list, max_length=MAX_UNMET_ORDERS)
    errors: list[str] = Field(default_factory=list, max_length=MAX_SUMMARY_ERRORS,
                              description="Rejected order-book rows, one line each")
