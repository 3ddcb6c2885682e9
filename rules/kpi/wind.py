"""Wind-turbine KPIs: energy, capacity factor, time-based availability (IEC 61400-26), expected
energy from the power curve and lost production.

Availability maps each status code through the contract (:class:`AvailabilityContract`) to an
information category; ``available`` categories count as available, ``excluded`` ones (by default
information-unavailable and force majeure) leave the ratio, the rest count as unavailable.
Unobserved time is information-unavailable. Expected power follows the turbine's power curve
(linear between points, 0 outside it) at the measured wind speed, held sample to sample.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from seamline.rules.coverage import coverage_of
from seamline.rules.kpi.counter import CounterIncrements, counter_flags
from seamline.rules.kpi.integration import Point, step_spans
from seamline.rules.kpi.result import Flag, KpiResult, KpiValue, build, ratio
from seamline.rules.master_data import AvailabilityCategory, AvailabilityContract, PowerCurvePoint
from seamline.rules.spans import Span, SpanSet
from seamline.rules.windows import Window


@dataclass(frozen=True, slots=True)
class PowerCurve:
    """Power (kW) against hub-height wind speed (m/s), speeds strictly increasing."""

    wind_speed_m_s: tuple[float, ...]
    power_kw: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.wind_speed_m_s) != len(self.power_kw) or len(self.power_kw) < 2:
            raise ValueError("a power curve needs at least two (speed, power) points of equal count")
        if any(b <= a for a, b in pairwise(self.wind_speed_m_s)):
            raise ValueError("power curve speeds must be strictly increasing")

    def power_at_kw(self, wind_speed_m_s: float) -> float:
        """Linear interpolation; 0 below the first and above the last point (cut-in / cut-out)."""
        return float(np.interp(wind_speed_m_s, self.wind_speed_m_s, self.power_kw, left=0.0, right=0.0))

    @classmethod
    def from_table(cls, points: Sequence[PowerCurvePoint]) -> PowerCurve:
        return cls(tuple(p.wind_speed_m_s for p in points), tuple(p.power_kw for p in points))


def power_curve_from_windpowerlib(turbine_type: str, hub_height_m: float) -> PowerCurve:
    """The power curve windpowerlib ships for ``turbine_type`` (reads its bundled data file)."""
    from windpowerlib.wind_turbine import WindTurbine  # heavy import, only when asked

    turbine = WindTurbine(turbine_type=turbine_type, hub_height=hub_height_m)
    curve = turbine.power_curve
    if curve is None:
        raise ValueError(f"windpowerlib has no power curve for {turbine_type!r}")
    return PowerCurve(
        tuple(float(v) for v in curve["wind_speed"]), tuple(float(w) / 1000.0 for w in curve["value"])
    )


def category_spans(
    status: Iterable[tuple[float, int]],
    contract: AvailabilityContract,
    window: Window,
    *,
    observed: SpanSet,
    max_hold_s: float,
) -> dict[AvailabilityCategory, SpanSet]:
    """Time per information category inside ``window``; unobserved time → information_unavailable."""
    win = SpanSet((window.span,))
    obs = observed.intersect(win)
    out: dict[AvailabilityCategory, SpanSet] = {}
    for code, spans in step_spans(status, obs, max_hold_s=max_hold_s).items():
        cat = contract.status_map.get(code, contract.unmapped)
        out[cat] = out.get(cat, SpanSet()).union(spans)
    known = SpanSet()
    for spans in out.values():
        known = known.union(spans)
    missing = win.subtract(known)
    unavailable_info = AvailabilityCategory.INFORMATION_UNAVAILABLE
    out[unavailable_info] = out.get(unavailable_info, SpanSet()).union(missing)
    return {k: v for k, v in out.items() if v}


def _join(spans: Iterable[SpanSet]) -> SpanSet:
    out = SpanSet()
    for s in spans:
        out = out.union(s)
    return out


def wind_availability_kpi(
    status: Iterable[tuple[float, int]],
    contract: AvailabilityContract,
    window: Window,
    *,
    observed: SpanSet,
    max_hold_s: float,
    coverage_threshold: float,
) -> KpiResult:
    """Availability = available / (available + unavailable) time; excluded categories left out."""
    cats = category_spans(status, contract, window, observed=observed, max_hold_s=max_hold_s)
    available = _join(v for k, v in cats.items() if k in contract.available)
    unavailable = _join(v for k, v in cats.items() if k not in contract.available and k not in contract.excluded)
    avail, _ = ratio("availability", available.total_s, available.total_s + unavailable.total_s)
    values = [avail, KpiValue("available_h", "h", available.total_s / 3600),
              KpiValue("unavailable_h", "h", unavailable.total_s / 3600)]
    values += [KpiValue(f"category_h.{k.value}", "h", v.total_s / 3600) for k, v in sorted(cats.items())]
    win = SpanSet((window.span,))
    return build("wind_availability", window, coverage_of(observed, win), values,
                 coverage_threshold=coverage_threshold)


def wind_energy_kpi(
    energy_wh: CounterIncrements,
    window: Window,
    *,
    rated_power_kw: float,
    observed: SpanSet,
    coverage_threshold: float,
) -> KpiResult:
    """Energy (kWh, from the counter: the whole window, observed or not) and capacity factor =
    energy / (rated kW × window hours)."""
    win = SpanSet((window.span,))
    obs = observed.intersect(win)
    energy_kwh = energy_wh.amount_in(win) / 1000.0
    cf, clipped = ratio("capacity_factor", energy_kwh, rated_power_kw * win.total_s / 3600)
    flags = counter_flags(energy_wh) + ([Flag.CLIPPED] if clipped else [])
    return build("wind_energy", window, coverage_of(obs, win), (KpiValue("energy_kwh", "kWh", energy_kwh), cf),
                 flags, coverage_threshold=coverage_threshold)


def expected_energy_kwh(wind_m_s: Iterable[Point], curve: PowerCurve, spans: SpanSet, *, max_hold_s: float) -> float:
    """Σ curve power at each sampled wind speed × the time it held inside ``spans`` (kWh)."""
    points = sorted(wind_m_s, key=lambda p: p.ts_s)
    total_kws = 0.0
    for i, p in enumerate(points):
        end = p.ts_s + max_hold_s
        if i + 1 < len(points):
            end = min(end, points[i + 1].ts_s)
        if end > p.ts_s:
            total_kws += curve.power_at_kw(p.value) * spans.overlap_s(Span(p.ts_s, end))
    return total_kws / 3600.0


def lost_production_kpi(
    wind_m_s: Iterable[Point],
    status: Iterable[tuple[float, int]],
    energy_wh: CounterIncrements,
    curve: PowerCurve,
    contract: AvailabilityContract,
    window: Window,
    *,
    observed: SpanSet,
    max_hold_s: float,
    coverage_threshold: float,
) -> KpiResult:
    """Expected energy from the power curve over observed time, actual energy, and lost production
    = expected energy during *unavailable* categories (not excluded, not available)."""
    wind = list(wind_m_s)
    cats = category_spans(status, contract, window, observed=observed, max_hold_s=max_hold_s)
    unavailable = _join(v for k, v in cats.items() if k not in contract.available and k not in contract.excluded)
    win = SpanSet((window.span,))
    obs = observed.intersect(win)
    expected = expected_energy_kwh(wind, curve, obs, max_hold_s=max_hold_s)
    actual = energy_wh.amount_in(obs) / 1000.0
    lost = expected_energy_kwh(wind, curve, unavailable, max_hold_s=max_hold_s)
    values = (
        KpiValue("expected_energy_kwh", "kWh", expected),
        KpiValue("actual_energy_kwh", "kWh", actual),
        KpiValue("lost_energy_kwh", "kWh", lost),
        KpiValue("energy_ratio", "fraction", actual / expected if expected > 0 else None),
    )
    return build("wind_lost_production", window, coverage_of(obs, win), values, counter_flags(energy_wh),
                 coverage_threshold=coverage_threshold)
