"""Energy asset KPIs of one window: wires a queried :class:`EnergySeries` into the pure KPIs of
``rules.kpi`` (pv, wind, battery, factory and line energy) with the asset's master data (pure).

Counters get a physical plausibility bound of ``RATE_MARGIN`` × rated power, so a corrupted
reading cannot add a day's energy in one poll.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from seamline.contracts.messages import Quality
from seamline.rules.coverage import Coverage, ObservationPolicy, observed_spans
from seamline.rules.kpi.battery import battery_kpi, energy_from_power
from seamline.rules.kpi.counter import CounterIncrements, counter_increments
from seamline.rules.kpi.factory_energy import line_energy_kpi
from seamline.rules.kpi.pv import performance_ratio_kpi, pv_availability_kpi, pv_energy_kpi
from seamline.rules.kpi.result import KpiResult
from seamline.rules.kpi.wind import (
    PowerCurve,
    lost_production_kpi,
    power_curve_from_windpowerlib,
    wind_availability_kpi,
    wind_energy_kpi,
)
from seamline.rules.master_data import EnergyAsset, MasterData
from seamline.rules.source import (
    BATTERY_CHARGE_WH,
    BATTERY_DISCHARGE_WH,
    BATTERY_POWER_W,
    BATTERY_SOC_PCT,
    MET_POA_W_M2,
    METER_EXPORT_WH,
    METER_IMPORT_WH,
    PV_ENERGY_WH,
    PV_STATE,
    WIND_ENERGY_WH,
    WIND_SPEED_M_S,
    WIND_STATUS,
    EnergySeries,
)
from seamline.rules.spans import SpanSet
from seamline.rules.windows import Window

# Inverters briefly exceed nameplate (cold modules, reactive headroom); 1.5x still rejects glitches.
RATE_MARGIN = 1.5


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergySettings:
    # A polled sample vouches for at most this long (2-4 polls of the usual 30-60 s).
    max_hold_s: float = 120.0
    # Irradiance / SoC samples further apart than this are not interpolated across.
    max_gap_s: float = 600.0
    coverage_threshold: float = 0.8


def energy_observed(series: EnergySeries, offline: SpanSet, settings: EnergySettings) -> SpanSet:
    """Observed time of a polled asset; replayed (historical) samples ignore gateway offline time."""
    policy = ObservationPolicy(max_hold_s=settings.max_hold_s)
    obs = series.observations()
    live = [o for o in obs if o.quality is not Quality.HISTORICAL]
    replayed = [o for o in obs if o.quality is Quality.HISTORICAL]
    return observed_spans(live, policy, offline=offline).union(observed_spans(replayed, policy))


def counter(series: EnergySeries, name: str, asset: EnergyAsset) -> CounterIncrements:
    rate = asset.rated_power_kw * 1000.0 / 3600.0 * RATE_MARGIN if asset.rated_power_kw else None
    return counter_increments(series.readings(name), rollover_at=asset.counter_rollover_wh, max_rate_per_s=rate)


def energy_kwh(inc: CounterIncrements, observed: SpanSet, window: Window) -> float:
    """kWh of counter increments in ``window``: a counter saw every kWh between two readings, so
    polling gaps (``observed`` is not used) lose nothing."""
    return inc.amount_in(SpanSet((window.span,))) / 1000.0


def pv_kpis(series: EnergySeries, asset: EnergyAsset, window: Window, *, observed: SpanSet,
            met: EnergySeries | None, met_observed: SpanSet, s: EnergySettings) -> list[KpiResult]:
    kwp = asset.kwp or 1.0
    inc = counter(series, PV_ENERGY_WH, asset)
    out = [pv_energy_kpi(inc, window, kwp=kwp, observed=observed, coverage_threshold=s.coverage_threshold)]
    if met is not None:
        poa = met.points(MET_POA_W_M2)
        out.append(performance_ratio_kpi(inc, poa, window, kwp=kwp, observed_inverter=observed,
                                         observed_met=met_observed, max_gap_s=s.max_gap_s,
                                         coverage_threshold=s.coverage_threshold))
        out.append(pv_availability_kpi(series.codes(PV_STATE), poa, window, observed=observed,
                                       max_hold_s=s.max_hold_s, coverage_threshold=s.coverage_threshold))
    return out


@lru_cache(maxsize=64)
def _library_curve(turbine_type: str, hub_height_m: float) -> PowerCurve:
    return power_curve_from_windpowerlib(turbine_type, hub_height_m)


def power_curve(asset: EnergyAsset) -> PowerCurve:
    if asset.power_curve:
        return PowerCurve.from_table(asset.power_curve)
    return _library_curve(str(asset.turbine_type), float(asset.hub_height_m or 0.0))


def wind_kpis(series: EnergySeries, asset: EnergyAsset, master: MasterData, window: Window, *,
              observed: SpanSet, s: EnergySettings) -> list[KpiResult]:
    inc = counter(series, WIND_ENERGY_WH, asset)
    out = [wind_energy_kpi(inc, window, rated_power_kw=asset.rated_power_kw or 1.0, observed=observed,
                           coverage_threshold=s.coverage_threshold)]
    if asset.availability_contract is not None:
        contract = master.contract(asset.availability_contract)
        status = series.codes(WIND_STATUS)
        out.append(wind_availability_kpi(status, contract, window, observed=observed, max_hold_s=s.max_hold_s,
                                         coverage_threshold=s.coverage_threshold))
        out.append(lost_production_kpi(series.points(WIND_SPEED_M_S), status, inc, power_curve(asset), contract,
                                       window, observed=observed, max_hold_s=s.max_hold_s,
                                       coverage_threshold=s.coverage_threshold))
    return out


@dataclass(frozen=True, slots=True)
class FeederMeter:
    """A battery's feeder meter (master data ``feeder_meter``) with what the window holds of it:
    ``series`` None when it sent nothing; ``observed`` its observed time (see :func:`energy_observed`)."""

    asset: EnergyAsset
    series: EnergySeries | None
    observed: SpanSet


def feeder_counters(feeder: FeederMeter, battery: EnergyAsset) -> tuple[CounterIncrements, CounterIncrements]:
    """(charge, discharge) Wh increments of a battery from its feeder meter's import / export
    counters, rollover as configured on the meter; the plausibility bound is the meter's rated
    power, else the battery's."""
    rated_kw = feeder.asset.rated_power_kw or battery.rated_power_kw
    rate = rated_kw * 1000.0 / 3600.0 * RATE_MARGIN if rated_kw else None
    out = []
    for name in (METER_IMPORT_WH, METER_EXPORT_WH):
        readings = feeder.series.readings(name) if feeder.series is not None else []
        out.append(counter_increments(readings, rollover_at=feeder.asset.counter_rollover_wh, max_rate_per_s=rate))
    return out[0], out[1]


def battery_kpis(series: EnergySeries, asset: EnergyAsset, window: Window, *, observed: SpanSet,
                 s: EnergySettings, feeder: FeederMeter | None = None) -> list[KpiResult]:
    """Energies from the feeder meter when the battery has one (charge = its import counter,
    discharge = its export counter, Wh), else from the battery's own lifetime counters, else
    integrated from its power samples.

    With a feeder meter the KPI is observed when the meter is: its counters carry the energies,
    which are most of the KPI; SoC values come from the battery's samples inside that time.
    """
    if feeder is not None:
        charge, discharge = feeder_counters(feeder, asset)
        observed = feeder.observed
    else:
        charge, discharge = counter(series, BATTERY_CHARGE_WH, asset), counter(series, BATTERY_DISCHARGE_WH, asset)
        if not charge.increments and not discharge.increments:
            charge, discharge = energy_from_power(series.points(BATTERY_POWER_W), max_gap_s=s.max_hold_s)
    return [battery_kpi(charge, discharge, series.points(BATTERY_SOC_PCT), window,
                        capacity_kwh=asset.capacity_kwh or 1.0, observed=observed, max_gap_s=s.max_gap_s,
                        coverage_threshold=s.coverage_threshold)]


FULL_COVERAGE = Coverage(1.0, 1.0)


@dataclass(frozen=True, slots=True)
class SiteEnergyParts:
    """kWh per role at one site over the window, and the weakest coverage among them."""

    grid_import_kwh: float = 0.0
    grid_export_kwh: float = 0.0
    generation_kwh: float = 0.0
    battery_charge_kwh: float = 0.0
    battery_discharge_kwh: float = 0.0
    coverage: Coverage = FULL_COVERAGE
    meters: int = 0


def weakest(coverages: Sequence[Coverage]) -> Coverage:
    return min(coverages, key=lambda c: c.fraction) if coverages else Coverage(0.0, 1.0)


def energy_kpi_total(result: KpiResult) -> float:
    """``energy_kwh`` of a pv/wind energy result (0 when not measured)."""
    return result["energy_kwh"] or 0.0


@dataclass(frozen=True, slots=True)
class SubMeter:
    """One sub-meter of a line (master data ``line``) with its data in the window (``series``
    None when it sent nothing) and its observed time."""

    asset: EnergyAsset
    series: EnergySeries | None
    observed: SpanSet


def line_energy(meters: Sequence[SubMeter], pieces: int, window: Window, *, s: EnergySettings) -> KpiResult:
    """A line's consumption from its sub-meters' import counters (kWh; the counters saw every kWh
    between two readings, like a site meter's) and its kWh per good piece. Coverage is the
    weakest sub-meter's observed share of the window."""
    win = SpanSet((window.span,))
    kwh = 0.0
    covs = []
    for m in meters:
        if m.series is not None:
            kwh += counter(m.series, METER_IMPORT_WH, m.asset).amount_in(win) / 1000.0
        covs.append(Coverage(m.observed.intersect(win).total_s, window.duration_s))
    return line_energy_kpi(kwh, pieces, window, coverage=weakest(covs), coverage_threshold=s.coverage_threshold)
