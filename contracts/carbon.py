"""Green share and carbon per piece of a line, published retained by the rules carbon feed on
``seamline/v1/<enterprise>/<site>/<line>/_line/carbon`` for the platform (matching reads it to honour
orders' green-share and CO2 limits). Schema version 1.

``green_share`` is the site's: consumption covered hour by hour by on-site generation, its share of
the park (VPPA) and certificates. ``co2e_kg_per_piece`` is the line's share of the site's grid kWh
times the grid emission factor, per good piece (market-based: attributed green kWh count as zero).
Both over the last ``days`` measured days (daily KPI windows).
"""

from __future__ import annotations

import itertools
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from seamline.contracts.messages import Name, TsMs, _Payload


class CarbonDay(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)
    day: date = Field(description="Local calendar day of the enterprise")
    pieces: int = Field(ge=0, description="Good pieces of the line that day")
    grid_kwh: float = Field(ge=0, description="The line's share of the site's grid kWh")
    co2e_kg: float = Field(ge=0)
    co2e_kg_per_piece: float | None = Field(ge=0, description="null without pieces")
    green_share: float | None = Field(ge=0, le=1, description="The site's green share that day")


class CarbonMessage(_Payload):
    """Retained, per enterprise, site and line."""

    enterprise: Name
    site: Name
    line: Name
    generated_ts_ms: TsMs
    green_share: float | None = Field(ge=0, le=1, description="The site's green share over the days (fraction)")
    co2e_kg_per_piece: float | None = Field(ge=0, description="kg CO2e per good piece of the line over the days")
    grid_emission_factor_kg_per_kwh: float = Field(gt=0, description="kg CO2e per grid kWh used")
    emission_factor_source: str = Field(max_length=200, description="Who published the factor, for which year")
    days: list[CarbonDay] = Field(max_length=366, description="Ascending, one entry per measured day")

    @field_validator("days")
    @classmethod
    def _ascending(cls, days: list[CarbonDay]) -> list[CarbonDay]:
        if any(b.day <= a.day for a, b in itertools.pairwise(days)):
            raise ValueError("days must be strictly ascending (one entry per day)")
        return days
