"""The green attribution computed from the simulator's truth: the same hour-by-hour matching
(:func:`seamline.rules.kpi.green_attribution.match_hours`) fed with what the physics produced —
each factory's load components per clock hour (exact, from the profiles its meter integrates)
and the park's delivery (the turbines' true energy plus its grid meter's true export less import)
— so the demo and the e2e tests can hold the measured green share and carbon per piece against it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from seamline.demo.energy import PARK
from seamline.demo.energy_truth import EnergyTruthRecorder
from seamline.rules.green_config import GreenAttribution
from seamline.rules.kpi.carbon import line_shares
from seamline.rules.kpi.green_attribution import Contract, Matched, SiteHours, SourceTotals, match_hours
from seamline.rules.windows import Window, WindowSize, split_aligned

SiteKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class GreenTruth:
    matched: Mapping[SiteKey, Matched]
    source: SourceTotals
    # (enterprise, line) -> kg CO2e per piece from the true line split and pieces
    line_co2e_kg_per_piece: Mapping[tuple[str, str], float | None]


def _kwh(rec: EnergyTruthRecorder, device: str, key: str, h: Window) -> float:
    wh = rec.between(device, key, int(h.start_s * 1000), int(h.end_s * 1000))
    return (wh or 0.0) / 1000.0


def _delivered(rec: EnergyTruthRecorder, hours: list[Window]) -> list[float]:
    site = rec.plant.sites[PARK]
    out = []
    for h in hours:
        wind = sum(_kwh(rec, t.name, "energy_wh", h) for t in site.turbines)
        meter = site.meters[0].name
        out.append(max(0.0, wind + _kwh(rec, meter, "export_wh", h) - _kwh(rec, meter, "import_wh", h)))
    return out


def green_truth(rec: EnergyTruthRecorder, green: GreenAttribution, window: Window, tz: ZoneInfo,
                pieces: Mapping[tuple[str, str], int]) -> GreenTruth:
    """Match the true hours of ``window`` as the rules engine matches the measured ones.
    ``pieces``: good pieces per (enterprise, line) in the window."""
    hours = split_aligned(window, WindowSize.HOUR, tz)
    months = tuple(h.start.astimezone(tz).strftime("%Y-%m") for h in hours)
    sites: dict[SiteKey, SiteHours] = {}
    for ent in rec.plant.loads:
        if ent == PARK:
            continue
        use = tuple(sum(rec.load_kwh(ent, int(h.start_s * 1000), int(h.end_s * 1000)).values()) for h in hours)
        sites[(ent, "s1")] = SiteHours(use, tuple(0.0 for _ in hours))  # the factories have no generation
    contracts = {c.key: Contract(c.vppa_share, c.certificates_kwh) for c in green.consumers}
    matched, totals = match_hours(months, _delivered(rec, hours), sites, contracts)
    per_piece: dict[tuple[str, str], float | None] = {}
    kwh: Mapping[str, float | None]
    start, end = int(window.start_s * 1000), int(window.end_s * 1000)
    factor = green.emission_factor.kg_co2e_per_kwh
    for (ent, _), m in matched.items():
        lines = sorted(rec.plant.loads[ent].lines)
        metered = bool(rec.plant.sites[ent].line_meters)  # else the engine splits by pieces, and so does this
        kwh = {ln: rec.line_kwh(ent, ln, start, end) if metered else None for ln in lines}
        shares, _ = line_shares(kwh, {ln: pieces.get((ent, ln), 0) for ln in lines})
        for ln in lines:
            n = pieces.get((ent, ln), 0)
            per_piece[(ent, ln)] = shares[ln] * sum(m.grid_kwh) * factor / n if n else None
    return GreenTruth(matched, totals, per_piece)
