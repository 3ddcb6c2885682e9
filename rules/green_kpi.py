"""Green attribution in the rules engine: every site's energy per clock hour from its counters, the
park's delivery to the grid, matched hour by hour (:mod:`rules.kpi.green_attribution`) into one
``kpi_green_energy`` point per site and one ``kpi_line_carbon`` point per line of the window.

Per clock hour (windows are cut at local hour boundaries; a part-hour at an edge is its own hour):

* a site's consumption is its energy balance (grid import − export + behind-the-meter generation
  + battery discharge − charge), its on-site green the behind-the-meter generation it did not
  export (at most its consumption) — the figures of ``kpi_factory_energy``, hour by hour;
* a source's (the park's) delivery is its own-connection generators (``behind_meter: false``) plus
  its grid meter's export less its import, floored at 0: the park covers its own load first, and
  an hour in which it draws from the grid delivers only what its turbines sent.

The sources must be in the same computation as their consumers (same task: the ``1h``/``1d``
windows of one time zone, or the demo's window). A window computed for one enterprise alone (the
``shift`` tasks) has no source and gets no green points. Monthly certificates need what earlier
hours of the month used: :class:`CertificateLedger` reads it from the stored ``1h`` points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from seamline.rules.coverage import Coverage
from seamline.rules.energy_kpi import EnergySettings, FeederMeter, counter, energy_observed, feeder_counters
from seamline.rules.green_config import GreenAttribution
from seamline.rules.kpi.battery import energy_from_power
from seamline.rules.kpi.carbon import line_carbon_kpi, line_shares
from seamline.rules.kpi.counter import CounterIncrements
from seamline.rules.kpi.green_attribution import (
    Contract,
    SiteHours,
    green_energy_kpi,
    green_source_kpi,
    match_hours,
)
from seamline.rules.kpi_points import KpiPoint, make_point
from seamline.rules.master_data import EnergyAsset, Enterprise, Site
from seamline.rules.source import (
    BATTERY_CHARGE_WH,
    BATTERY_DISCHARGE_WH,
    BATTERY_POWER_W,
    METER_EXPORT_WH,
    METER_IMPORT_WH,
    PV_ENERGY_WH,
    WIND_ENERGY_WH,
    AssetKey,
    WindowData,
    offline_for,
)
from seamline.rules.spans import Span, SpanSet
from seamline.rules.windows import Window, WindowSize, split_aligned
from seamline.storage.schema import KPI_GREEN_ENERGY, KPI_LINE_CARBON, Tag

SiteKey = tuple[str, str]  # (enterprise, site)
GREEN_SHARE = KPI_GREEN_ENERGY.field("green_share")
GRID_KWH = KPI_GREEN_ENERGY.field("grid_kwh")
CO2E_KG = KPI_GREEN_ENERGY.field("co2e_kg")


class CertificateLedger(Protocol):
    """kWh of monthly certificates each site used in hours already computed."""

    def used_kwh(self, sites: Sequence[SiteKey], since: datetime, until: datetime) -> Mapping[SiteKey, float]: ...


@dataclass(slots=True)
class _Hourly:
    """One site's kWh per hour by role, and its sub-metered lines' kWh over the window."""

    imp: list[float]
    exp: list[float]
    onsite_gen: list[float]
    own_gen: list[float]
    charge: list[float]
    discharge: list[float]
    line_kwh: dict[str, float] = field(default_factory=dict)
    meters: int = 0

    def consumption(self) -> list[float]:
        return [max(0.0, i - e + g + d - c) for i, e, g, d, c in
                zip(self.imp, self.exp, self.onsite_gen, self.discharge, self.charge, strict=True)]

    def onsite_green(self) -> list[float]:
        return [min(max(0.0, g - e), c) for g, e, c in zip(self.onsite_gen, self.exp, self.consumption(), strict=True)]

    def delivered(self) -> list[float]:
        return [max(0.0, w + e - i) for w, e, i in zip(self.own_gen, self.exp, self.imp, strict=True)]


def _kwh(inc: CounterIncrements, hours: Sequence[Window]) -> list[float]:
    return [inc.amount_in(SpanSet((Span(h.start_s, h.end_s),))) / 1000.0 for h in hours]


def _add(into: list[float], values: list[float]) -> None:
    for i, v in enumerate(values):
        into[i] += v


def _battery(ent: Enterprise, site: Site, asset: EnergyAsset, data: WindowData,
             s: EnergySettings) -> tuple[CounterIncrements, CounterIncrements]:
    """(charge, discharge) increments as ``kpi_battery`` takes them: feeder meter, else the
    battery's counters, else its power integrated."""
    if asset.feeder_meter is not None:
        meter = next(a for a in site.energy_assets if a.id == asset.feeder_meter)
        series = data.energy.get(AssetKey(ent.id, site.id, meter.area, meter.id))
        observed = SpanSet()
        if series is not None:
            observed = energy_observed(series, offline_for(data, series.key, until_s=data.window.end_s), s)
        return feeder_counters(FeederMeter(meter, series, observed), asset)
    series = data.energy.get(AssetKey(ent.id, site.id, asset.area, asset.id))
    if series is None:
        return CounterIncrements(()), CounterIncrements(())
    charge, discharge = counter(series, BATTERY_CHARGE_WH, asset), counter(series, BATTERY_DISCHARGE_WH, asset)
    if not charge.increments and not discharge.increments:
        return energy_from_power(series.points(BATTERY_POWER_W), max_gap_s=s.max_hold_s)
    return charge, discharge


def site_hourly(ent: Enterprise, site: Site, data: WindowData, hours: Sequence[Window], s: EnergySettings) -> _Hourly:
    """The site's kWh per hour by role, read from its counters (the counters saw every kWh between
    two readings; each increment is spread over its interval, so the hours add up to the window)."""
    zero = [0.0] * len(hours)
    out = _Hourly(list(zero), list(zero), list(zero), list(zero), list(zero), list(zero))
    window = SpanSet((data.window.span,))
    for asset in site.energy_assets:
        series = data.energy.get(AssetKey(ent.id, site.id, asset.area, asset.id))
        if asset.kind == "battery":
            charge, discharge = _battery(ent, site, asset, data, s)
            _add(out.charge, _kwh(charge, hours))
            _add(out.discharge, _kwh(discharge, hours))
        elif series is None or asset.kind == "met_station" or asset.id in site.feeder_meters:
            continue
        elif asset.kind == "meter" and asset.line is not None:
            kwh = counter(series, METER_IMPORT_WH, asset).amount_in(window) / 1000.0
            out.line_kwh[asset.line] = out.line_kwh.get(asset.line, 0.0) + kwh
        elif asset.kind == "meter":
            _add(out.imp, _kwh(counter(series, METER_IMPORT_WH, asset), hours))
            _add(out.exp, _kwh(counter(series, METER_EXPORT_WH, asset), hours))
            out.meters += 1
        else:  # pv_inverter, wind_turbine
            gen = _kwh(counter(series, PV_ENERGY_WH if asset.kind == "pv_inverter" else WIND_ENERGY_WH, asset), hours)
            _add(out.onsite_gen if asset.behind_meter else out.own_gen, gen)
    return out


@dataclass(frozen=True, slots=True)
class _Collected:
    hourly: _Hourly
    coverage: Coverage
    pieces: Mapping[str, int]
    metered_lines: frozenset[str]


@dataclass(slots=True)
class GreenCollector:
    """Collects every site of one window (across the engine's batches), then matches the hours."""

    config: GreenAttribution
    window: Window
    tz: ZoneInfo
    settings: EnergySettings
    ledger: CertificateLedger | None = None
    sites: dict[SiteKey, _Collected] = field(default_factory=dict)

    @property
    def hours(self) -> list[Window]:
        return split_aligned(self.window, WindowSize.HOUR, self.tz)

    def collect(self, ent: Enterprise, site: Site, data: WindowData, *, pieces: Mapping[str, int],
                coverage: Coverage) -> None:
        """One site's hours; ``pieces``: good pieces per line, ``coverage``: the site's energy KPIs' weakest."""
        metered = frozenset(a.line for a in site.energy_assets if a.line is not None)
        self.sites[(ent.id, site.id)] = _Collected(site_hourly(ent, site, data, self.hours, self.settings), coverage,
                                                   dict(pieces), metered)

    def _used_before(self, consumers: Sequence[SiteKey], warnings: list[str]) -> dict[SiteKey, float]:
        local = self.window.start.astimezone(self.tz)
        month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        month = local.strftime("%Y-%m")
        holders = [k for k in consumers
                   if (c := self.config.consumer(*k)) is not None and c.certificates_kwh.get(month)]
        if not holders or month_start >= local:
            return {}
        if self.ledger is None:
            warnings.append(f"certificates of {len(holders)} sites counted from the window start: no ledger of the "
                            "hours before it")
            return {}
        return dict(self.ledger.used_kwh(holders, month_start, self.window.start))

    def points(self, base_tags: Mapping[str, str], *, coverage_threshold: float) -> tuple[list[KpiPoint], list[str]]:
        """The window's green and line-carbon points, and warnings."""
        sources = {k: v for k, v in self.sites.items() if k in self.config.source_keys}
        if not sources:
            return [], []
        hours = self.hours
        months = tuple(h.start.astimezone(self.tz).strftime("%Y-%m") for h in hours)
        pool = [0.0] * len(hours)
        for src in sources.values():
            _add(pool, src.hourly.delivered())
        consumers = {k: v for k, v in self.sites.items() if k not in sources and v.hourly.meters > 0}
        warnings: list[str] = []
        used = self._used_before(sorted(consumers), warnings)
        contracts: dict[SiteKey, Contract] = {}
        for k in consumers:
            c = self.config.consumer(*k)
            if c is not None:
                contracts[k] = Contract(c.vppa_share, c.certificates_kwh, used.get(k, 0.0))
        site_hours = {k: SiteHours(tuple(v.hourly.consumption()), tuple(v.hourly.onsite_green()))
                      for k, v in consumers.items()}
        matched, totals = match_hours(months, pool, site_hours, contracts)
        src_cov = min((v.coverage for v in sources.values()), key=lambda c: c.fraction)
        out = []
        for ent, site in sources:
            res = green_source_kpi(totals, len(hours), self.window, coverage=src_cov,
                                   coverage_threshold=coverage_threshold)
            out.append(make_point(KPI_GREEN_ENERGY, {**base_tags, Tag.ENTERPRISE: ent, Tag.SITE: site}, self.window,
                                  [res]))
        factor = self.config.emission_factor.kg_co2e_per_kwh
        for (ent, site), m in matched.items():
            col = consumers[(ent, site)]
            cov = min(col.coverage, src_cov, key=lambda c: c.fraction)
            res = green_energy_kpi(m, self.window, kg_co2e_per_kwh=factor, coverage=cov,
                                   coverage_threshold=coverage_threshold, source_observed=src_cov.observed_s > 0)
            tags = {**base_tags, Tag.ENTERPRISE: ent, Tag.SITE: site}
            out.append(make_point(KPI_GREEN_ENERGY, tags, self.window, [res]))
            out += self._lines(tags, col, res[GRID_KWH] or 0.0, res[CO2E_KG] or 0.0, res[GREEN_SHARE], cov,
                               coverage_threshold)
        return out, warnings

    def _lines(self, tags: Mapping[str, str], col: _Collected, grid_kwh: float, co2e_kg: float,
               green_share: float | None, coverage: Coverage, coverage_threshold: float) -> list[KpiPoint]:
        lines = sorted(col.pieces)
        kwh = {ln: col.hourly.line_kwh.get(ln) if ln in col.metered_lines else None for ln in lines}
        shares, by_pieces = line_shares(kwh, col.pieces)
        out = []
        for ln in lines:
            res = line_carbon_kpi(share=shares[ln], split_by_pieces=by_pieces, site_grid_kwh=grid_kwh,
                                  site_co2e_kg=co2e_kg, site_green_share=green_share, pieces=col.pieces[ln],
                                  window=self.window, coverage=coverage, coverage_threshold=coverage_threshold)
            out.append(make_point(KPI_LINE_CARBON, {**tags, Tag.LINE: ln}, self.window, [res]))
        return out
