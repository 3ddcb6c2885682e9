"""PV KPIs: AC energy, specific yield, performance ratio (IEC 61724-1), time-based availability.

Energy comes from the inverter's lifetime Wh counter (see :mod:`rules.kpi.counter`), counted
only over observed time. PR = Yf / Yr with final yield Yf = E_AC (kWh) / P0 (kWp) and reference
yield Yr = H_POA (kWh/m²) / G_ref (1 kW/m²), H_POA integrated from plane-of-array irradiance
samples (W/m², negative night offsets clipped to 0). Both yields use the same spans — time
observed by the inverter *and* the met station — so a gap in either removes that time from both.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from seamline.rules.coverage import coverage_of
from seamline.rules.kpi.counter import CounterIncrements, counter_flags
from seamline.rules.kpi.integration import Point, integrate_trapezoid, step_spans
from seamline.rules.kpi.result import Flag, KpiResult, KpiValue, build, ratio
from seamline.rules.spans import SpanSet
from seamline.rules.windows import Window

G_REF_W_M2 = 1000.0  # IEC 61724-1 reference irradiance
# SunSpec 103 St codes meaning "the inverter is able to produce": MPPT (4) and THROTTLED (5).
SUNSPEC_PRODUCING_STATES: frozenset[int] = frozenset({4, 5})
# IEC 61724-3 style availability only counts time with usable sun; 50 W/m² is the common cut-in.
SUN_UP_THRESHOLD_W_M2 = 50.0


def pv_energy_kpi(
    energy_wh: CounterIncrements,
    window: Window,
    *,
    kwp: float,
    observed: SpanSet,
    coverage_threshold: float,
) -> KpiResult:
    """AC energy (kWh) and specific yield (kWh/kWp) in ``window``. The energy counter saw every
    kWh between two readings, polled or not, so the whole window counts; ``coverage`` still says
    how much of it was observed."""
    win = SpanSet((window.span,))
    obs = observed.intersect(win)
    energy_kwh = energy_wh.amount_in(win) / 1000.0
    values = (
        KpiValue("energy_kwh", "kWh", energy_kwh),
        KpiValue("specific_yield_kwh_kwp", "kWh/kWp", energy_kwh / kwp),
    )
    return build("pv_energy", window, coverage_of(obs, win), values, counter_flags(energy_wh),
                 coverage_threshold=coverage_threshold)


def poa_irradiation_kwh_m2(irradiance_w_m2: Iterable[Point], spans: SpanSet, *, max_gap_s: float) -> float:
    """In-plane irradiation H (kWh/m²) over ``spans`` from irradiance samples (W/m²)."""
    joules_m2 = integrate_trapezoid(irradiance_w_m2, spans, max_gap_s=max_gap_s, transform=lambda g: max(0.0, g))
    return joules_m2 / 3.6e6


def performance_ratio_kpi(
    energy_wh: CounterIncrements,
    irradiance_w_m2: Iterable[Point],
    window: Window,
    *,
    kwp: float,
    observed_inverter: SpanSet,
    observed_met: SpanSet,
    max_gap_s: float,
    coverage_threshold: float,
) -> KpiResult:
    """PR = Yf / Yr over time observed by both inverter and met station (clipped to [0, 1])."""
    win = SpanSet((window.span,))
    both = observed_inverter.intersect(observed_met).intersect(win)
    yf = energy_wh.amount_in(both) / 1000.0 / kwp
    yr = poa_irradiation_kwh_m2(irradiance_w_m2, both, max_gap_s=max_gap_s) / (G_REF_W_M2 / 1000.0)
    pr, clipped = ratio("performance_ratio", yf, yr)
    values = (KpiValue("final_yield_kwh_kwp", "kWh/kWp", yf), KpiValue("reference_yield_h", "h", yr), pr)
    flags = counter_flags(energy_wh) + ([Flag.CLIPPED] if clipped else [])
    return build("pv_performance_ratio", window, coverage_of(both, win), values, flags,
                 coverage_threshold=coverage_threshold)


def pv_availability_kpi(
    states: Iterable[tuple[float, int]],
    irradiance_w_m2: Iterable[Point],
    window: Window,
    *,
    observed: SpanSet,
    max_hold_s: float,
    producing_states: Collection[int] = SUNSPEC_PRODUCING_STATES,
    sun_up_w_m2: float = SUN_UP_THRESHOLD_W_M2,
    coverage_threshold: float,
) -> KpiResult:
    """Time-based availability = time in a producing state / time with sun (irradiance ≥
    ``sun_up_w_m2``), both over observed time. Basis of coverage: the sun-up time."""
    win = SpanSet((window.span,))
    sun_points = [(p.ts_s, p.value >= sun_up_w_m2) for p in irradiance_w_m2]
    sun_up = step_spans(sun_points, win, max_hold_s=max_hold_s).get(True, SpanSet())
    obs_sun = sun_up.intersect(observed)
    by_state = step_spans(states, obs_sun, max_hold_s=max_hold_s)
    producing = SpanSet()
    for code, spans in by_state.items():
        if code in producing_states:
            producing = producing.union(spans)
    avail, _ = ratio("availability", producing.total_s, obs_sun.total_s)
    values = (
        KpiValue("sun_up_h", "h", sun_up.total_s / 3600),
        KpiValue("available_h", "h", producing.total_s / 3600),
        avail,
    )
    return build("pv_availability", window, coverage_of(observed, sun_up), values,
                 coverage_threshold=coverage_threshold)
