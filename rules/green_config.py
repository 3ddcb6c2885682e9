"""Master data ``green:``: how the park's generation is attributed to the factories and which grid
emission factor prices the rest (see docs/energy-model.md, "Green energy attributed to factories").

* ``sources``: the sites whose delivery to the grid is the pool (the park: its own-connection
  generators plus its grid meter's export less its import, hour by hour);
* ``consumers``: per factory site, a VPPA share of every hour's pool (fractions summing to at most
  1) and/or certificates bought per month (``YYYY-MM: kWh``). A metered site not listed gets no
  attributed green energy but still its grid kWh and CO2e;
* ``emission_factor``: kg CO2e per grid kWh, with its publisher and year.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")

# The Ministry of Ecology and Environment's national grid average for 2022, 0.5703 t CO2/MWh
# (环办气候函〔2023〕43号, February 2023; quoted from memory, not verified here). MEE and the
# National Bureau of Statistics publish later national and provincial factors (e.g. the 2022
# factors announced 2024-12-20): set the one your reporting uses.
DEFAULT_FACTOR_KG_PER_KWH = 0.5703
DEFAULT_FACTOR_SOURCE = "MEE national grid average emission factor for 2022 (环办气候函〔2023〕43号)"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EmissionFactor(_Model):
    kg_co2e_per_kwh: float = Field(default=DEFAULT_FACTOR_KG_PER_KWH, gt=0, le=2.0,
                                   description="kg CO2e per kWh taken from the grid (= t/MWh)")
    source: str = Field(default=DEFAULT_FACTOR_SOURCE, min_length=1, max_length=200)
    year: int = Field(default=2022, ge=2000, le=2100, description="The year the factor describes")


class SiteRef(_Model):
    enterprise: Id
    site: Id

    @property
    def key(self) -> tuple[str, str]:
        return (self.enterprise, self.site)


class Consumer(SiteRef):
    vppa_share: float = Field(default=0.0, ge=0, le=1, description="Fraction of every hour's pool")
    certificates_kwh: dict[str, float] = Field(default_factory=dict, description="YYYY-MM -> kWh bought")

    @field_validator("certificates_kwh")
    @classmethod
    def _months(cls, value: dict[str, float]) -> dict[str, float]:
        bad = sorted(m for m in value if not _MONTH.match(m))
        if bad:
            raise ValueError(f"months must be YYYY-MM, got {bad}")
        negative = sorted(m for m, kwh in value.items() if kwh < 0)
        if negative:
            raise ValueError(f"certificates must be >= 0 kWh, not in {negative}")
        return value


class GreenAttribution(_Model):
    sources: list[SiteRef] = Field(min_length=1, max_length=100)
    consumers: list[Consumer] = Field(default_factory=list, max_length=100_000)
    emission_factor: EmissionFactor = EmissionFactor()

    @model_validator(mode="after")
    def _consistent(self) -> GreenAttribution:
        keys = [c.key for c in self.consumers]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f"consumers listed twice: {dup}")
        both = sorted({c.key for c in self.consumers} & {s.key for s in self.sources})
        if both:
            raise ValueError(f"sites both source and consumer: {both}")
        total = sum(c.vppa_share for c in self.consumers)
        if total > 1 + 1e-9:
            raise ValueError(f"vppa_share of all consumers sums to {total:.4f}, more than the whole pool")
        return self

    def consumer(self, enterprise: str, site: str) -> Consumer | None:
        return next((c for c in self.consumers if c.key == (enterprise, site)), None)

    @property
    def source_keys(self) -> frozenset[tuple[str, str]]:
        return frozenset(s.key for s in self.sources)

    @property
    def has_certificates(self) -> bool:
        return any(c.certificates_kwh for c in self.consumers)
