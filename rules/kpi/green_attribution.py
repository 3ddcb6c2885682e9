"""Green energy attributed to factories hour by hour (pure).

A district park (PV, wind, storage) sells its output to the factories around it, either as shares
of a virtual power purchase agreement (VPPA: a fixed fraction of every hour's generation) or as
certificates bought per month (kWh). What counts is the match **hour by hour** against each
factory's metered consumption: a factory cannot use the noon surplus of its share to cover its
night shift. Per clock hour ``h`` and consuming site::

    need_h        = consumption_h − onsite_green_h          (its own generation is used first)
    vppa_h        = min(share × pool_h, need_h)              (its VPPA share of the park's delivery)
    certificate_h = min(remaining, need_h − vppa_h)          (certificates, in hour order, until used up)
    grid_h        = need_h − vppa_h − certificate_h
    green_h       = onsite_green_h + vppa_h + certificate_h

``remaining`` is the month's certificates less what earlier hours of the month used (the caller
passes what hours before the first one used). A share's generation beyond the factory's need is
**surplus** (counted at the park, given to nobody); the part of the pool no share covers is
**unassigned**. Certificates are not tied to a generation hour: that is how they are sold, and why
they are the weaker claim — a month's certificates cover whatever hours come first.

All energies kWh, ≥ 0; shares are fractions summing to at most 1 (checked by the config).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from seamline.rules.coverage import Coverage
from seamline.rules.kpi.result import Flag, KpiResult, KpiValue, build, ratio
from seamline.rules.windows import Window

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class SiteHours:
    """One consuming site's energy per clock hour (kWh): total consumption and the part its own
    behind-the-meter generation covered."""

    consumption_kwh: tuple[float, ...]
    onsite_green_kwh: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.consumption_kwh) != len(self.onsite_green_kwh):
            raise ValueError("consumption and on-site green need one value per hour each")
        for c, g in zip(self.consumption_kwh, self.onsite_green_kwh, strict=True):
            if c < 0 or g < 0 or g > c + 1e-9:
                raise ValueError(f"need 0 <= on-site green ({g}) <= consumption ({c})")


@dataclass(frozen=True, slots=True)
class Contract:
    """What a site bought: ``vppa_share`` of every hour's pool, and certificates per month
    (``YYYY-MM`` -> kWh); ``used_before_kwh`` of the first hour's month went to earlier hours."""

    vppa_share: float = 0.0
    certificates_kwh: Mapping[str, float] = field(default_factory=dict)
    used_before_kwh: float = 0.0


@dataclass(frozen=True, slots=True)
class Matched:
    """A site's hours after matching (kWh per hour)."""

    consumption_kwh: tuple[float, ...]
    onsite_green_kwh: tuple[float, ...]
    vppa_kwh: tuple[float, ...]
    certificate_kwh: tuple[float, ...]
    grid_kwh: tuple[float, ...]

    @property
    def green_kwh(self) -> float:
        return sum(self.onsite_green_kwh) + sum(self.vppa_kwh) + sum(self.certificate_kwh)

    @property
    def green_share(self) -> float | None:
        """Green kWh / consumed kWh over all hours (None without consumption)."""
        total = sum(self.consumption_kwh)
        return self.green_kwh / total if total > 0 else None


@dataclass(frozen=True, slots=True)
class SourceTotals:
    """The park's side over all hours (kWh): delivered pool, taken by VPPAs, shares' surplus,
    no one's share."""

    delivered_kwh: float
    attributed_kwh: float
    surplus_kwh: float
    unassigned_kwh: float


def _certificate_budget(months: Sequence[str], contract: Contract) -> dict[str, float]:
    """kWh left per month at the first hour: the first month less what earlier hours used."""
    out: dict[str, float] = {}
    for i, month in enumerate(months):
        if month not in out:
            bought = contract.certificates_kwh.get(month, 0.0)
            out[month] = max(0.0, bought - (contract.used_before_kwh if i == 0 else 0.0))
    return out


def _match_site(months: Sequence[str], pool: Sequence[float], hours: SiteHours, contract: Contract) -> Matched:
    left = _certificate_budget(months, contract)
    vppa, cert, grid = [], [], []
    for h, month in enumerate(months):
        need = hours.consumption_kwh[h] - hours.onsite_green_kwh[h]
        v = min(contract.vppa_share * pool[h], need)
        c = min(left[month], need - v)
        left[month] -= c
        vppa.append(v)
        cert.append(c)
        grid.append(max(0.0, need - v - c))
    return Matched(hours.consumption_kwh, hours.onsite_green_kwh, tuple(vppa), tuple(cert), tuple(grid))


def match_hours(months: Sequence[str], pool_kwh: Sequence[float], sites: Mapping[K, SiteHours],
                contracts: Mapping[K, Contract]) -> tuple[dict[K, Matched], SourceTotals]:
    """Match every site's hours against the park's delivered ``pool_kwh`` per hour; ``months[h]``
    is hour h's month (``YYYY-MM``, local) for the certificates. A site without a contract gets
    only its on-site green."""
    if len(months) != len(pool_kwh) or any(len(s.consumption_kwh) != len(months) for s in sites.values()):
        raise ValueError("months, pool and every site need one value per hour")
    if any(p < 0 for p in pool_kwh):
        raise ValueError("the pool is delivered energy: >= 0 every hour")
    shares = sum(c.vppa_share for k, c in contracts.items() if k in sites)
    if shares > 1 + 1e-9:
        raise ValueError(f"VPPA shares sum to {shares:.6f} > 1")
    matched = {k: _match_site(months, pool_kwh, s, contracts.get(k, Contract())) for k, s in sites.items()}
    delivered = sum(pool_kwh)
    attributed = sum(sum(m.vppa_kwh) for m in matched.values())
    entitled = shares * delivered
    return matched, SourceTotals(delivered, attributed, max(0.0, entitled - attributed),
                                 max(0.0, (1.0 - shares) * delivered))


def green_energy_kpi(matched: Matched, window: Window, *, kg_co2e_per_kwh: float, coverage: Coverage,
                     coverage_threshold: float, source_observed: bool = True) -> KpiResult:
    """A consuming site's green energy over ``window`` (the sum of its matched hours) and the CO2e
    of its grid kWh (market-based: green kWh count as zero), kg."""
    grid = sum(matched.grid_kwh)
    share, clipped = ratio("green_share", matched.green_kwh, sum(matched.consumption_kwh))
    values = (
        KpiValue("consumption_kwh", "kWh", sum(matched.consumption_kwh)),
        KpiValue("onsite_green_kwh", "kWh", sum(matched.onsite_green_kwh)),
        KpiValue("vppa_kwh", "kWh", sum(matched.vppa_kwh)),
        KpiValue("certificate_kwh", "kWh", sum(matched.certificate_kwh)),
        KpiValue("green_kwh", "kWh", matched.green_kwh),
        KpiValue("grid_kwh", "kWh", grid),
        share,
        KpiValue("co2e_kg", "kg", grid * kg_co2e_per_kwh),
        KpiValue("hours", "h", float(len(matched.grid_kwh))),
    )
    flags = ([Flag.CLIPPED] if clipped else []) + ([] if source_observed else [Flag.NO_SOURCE_DATA])
    return build("green_energy", window, coverage, values, flags, coverage_threshold=coverage_threshold)


def green_source_kpi(totals: SourceTotals, hours: int, window: Window, *, coverage: Coverage,
                     coverage_threshold: float) -> KpiResult:
    """The park's side of the window: delivered, attributed, surplus and unassigned kWh."""
    values = (
        KpiValue("delivered_kwh", "kWh", totals.delivered_kwh),
        KpiValue("attributed_kwh", "kWh", totals.attributed_kwh),
        KpiValue("surplus_kwh", "kWh", totals.surplus_kwh),
        KpiValue("unassigned_kwh", "kWh", totals.unassigned_kwh),
        KpiValue("hours", "h", float(hours)),
    )
    return build("green_source", window, coverage, values, coverage_threshold=coverage_threshold)

