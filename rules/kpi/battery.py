"""Battery KPIs: charge/discharge energy from counters (or integrated from power where the
battery publishes no counters), round-trip efficiency, equivalent full
cycles, SoC range.

Round-trip efficiency (RTE) is ``discharged / charged`` over a window that starts and ends at the
same SoC. When the SoC differs (more than ``SOC_TOLERANCE_PCT``) the energy still stored is
credited to the discharge side: ``RTE = (E_dis + (SoC_end − SoC_start)/100 × C_usable) / E_ch``,
flagged ``soc_corrected`` — this values the stored difference at 100 % discharge efficiency, so
it overstates RTE slightly when SoC rose and understates it when SoC fell.
Equivalent full cycles = throughput / usable capacity with throughput = (E_ch + E_dis) / 2
(one full charge plus one full discharge = one cycle).

Because a dispatched battery rarely ends a shift where it started, the KPI also finds the
longest **balanced cycle** inside the window — two observed SoC readings at most
``SOC_TOLERANCE_PCT`` apart in SoC, with charging between them — and reports the RTE over it
(``cycle_round_trip_efficiency``, the residual SoC difference corrected as above, and its length
``cycle_h``): the round trip the definition asks for, comparable with the battery's rated one.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from seamline.contracts.messages import Quality
from seamline.rules.coverage import coverage_of
from seamline.rules.kpi.counter import CounterIncrements, Increment, counter_flags
from seamline.rules.kpi.integration import Point, value_at
from seamline.rules.kpi.result import Flag, KpiResult, KpiValue, build
from seamline.rules.spans import Span, SpanSet
from seamline.rules.windows import Window

# BMS SoC readings are integers or 0.1 % steps and drift by ~1 %; below that two SoCs are "the same".
SOC_TOLERANCE_PCT = 1.0
# SoC readings searched for a balanced cycle at most (evenly thinned beyond): the search is
# quadratic in the worst case and only the cycle's ends matter.
CYCLE_SEARCH_MAX_POINTS = 600


def round_trip_efficiency(
    charge_kwh: float,
    discharge_kwh: float,
    *,
    soc_start_pct: float,
    soc_end_pct: float,
    capacity_kwh: float,
) -> float | None:
    """SoC-corrected RTE (fraction); ``None`` when nothing was charged."""
    if charge_kwh <= 0:
        return None
    stored_kwh = (soc_end_pct - soc_start_pct) / 100.0 * capacity_kwh
    return (discharge_kwh + stored_kwh) / charge_kwh


def equivalent_full_cycles(charge_kwh: float, discharge_kwh: float, capacity_kwh: float) -> float:
    """(charged + discharged) / 2 / usable capacity."""
    return (charge_kwh + discharge_kwh) / 2.0 / capacity_kwh


def battery_kpi(
    charge_wh: CounterIncrements,
    discharge_wh: CounterIncrements,
    soc_pct: Sequence[Point],
    window: Window,
    *,
    capacity_kwh: float,
    observed: SpanSet,
    max_gap_s: float,
    coverage_threshold: float,
) -> KpiResult:
    """Energies (kWh), RTE, cycles and SoC min/max/start/end (%) in ``window``. Energy increments
    count wherever they fall in the window (counters saw all of it; power integration makes no
    increment across a gap longer than its limit); SoC extremes come from observed samples."""
    win = SpanSet((window.span,))
    obs = observed.intersect(win)
    charge_kwh = charge_wh.amount_in(win) / 1000.0
    discharge_kwh = discharge_wh.amount_in(win) / 1000.0
    soc_start = value_at(soc_pct, window.start_s, max_gap_s=max_gap_s)
    soc_end = value_at(soc_pct, window.end_s, max_gap_s=max_gap_s)
    inside = [p.value for p in soc_pct if p.quality is not Quality.STALE and obs.contains(p.ts_s)]
    flags = counter_flags(charge_wh) + counter_flags(discharge_wh)
    rte: float | None = None
    if soc_start is not None and soc_end is not None:
        rte = round_trip_efficiency(charge_kwh, discharge_kwh, soc_start_pct=soc_start, soc_end_pct=soc_end,
                                    capacity_kwh=capacity_kwh)
        if abs(soc_end - soc_start) > SOC_TOLERANCE_PCT:
            flags.append(Flag.SOC_CORRECTED)
    cycle = balanced_cycle([p for p in soc_pct if p.quality is not Quality.STALE and obs.contains(p.ts_s)])
    cycle_rte = cycle_h = None
    if cycle is not None:
        a, b = cycle
        span = SpanSet((Span(a.ts_s, b.ts_s),))
        cycle_h = (b.ts_s - a.ts_s) / 3600.0
        cycle_rte = round_trip_efficiency(charge_wh.amount_in(span) / 1000.0, discharge_wh.amount_in(span) / 1000.0,
                                          soc_start_pct=a.value, soc_end_pct=b.value, capacity_kwh=capacity_kwh)
    values = (
        KpiValue("charge_kwh", "kWh", charge_kwh),
        KpiValue("discharge_kwh", "kWh", discharge_kwh),
        KpiValue("round_trip_efficiency", "fraction", rte, rte),
        KpiValue("cycle_round_trip_efficiency", "fraction", cycle_rte, cycle_rte),
        KpiValue("cycle_h", "h", cycle_h),
        KpiValue("equivalent_full_cycles", "cycles", equivalent_full_cycles(charge_kwh, discharge_kwh, capacity_kwh)),
        KpiValue("soc_min_pct", "%", min(inside) if inside else None),
        KpiValue("soc_max_pct", "%", max(inside) if inside else None),
        KpiValue("soc_start_pct", "%", soc_start),
        KpiValue("soc_end_pct", "%", soc_end),
    )
    return build("battery", window, coverage_of(obs, win), values, flags, coverage_threshold=coverage_threshold)


def balanced_cycle(soc_pct: Sequence[Point], *, tolerance_pct: float = SOC_TOLERANCE_PCT,
                   min_swing_pct: float = 2 * SOC_TOLERANCE_PCT) -> tuple[Point, Point] | None:
    """The longest stretch between two SoC readings (%) that agree within ``tolerance_pct`` and
    between which the SoC moved by more than ``min_swing_pct`` (a real cycle, not a battery at
    rest); ``None`` when there is none. Readings in time order."""
    pts = sorted(soc_pct, key=lambda p: p.ts_s)
    if len(pts) > CYCLE_SEARCH_MAX_POINTS:
        step = len(pts) / CYCLE_SEARCH_MAX_POINTS
        pts = [pts[int(i * step)] for i in range(CYCLE_SEARCH_MAX_POINTS)] + [pts[-1]]
    best: tuple[Point, Point] | None = None
    for i, a in enumerate(pts):
        if best is not None and pts[-1].ts_s - a.ts_s <= best[1].ts_s - best[0].ts_s:
            break  # no later start can give a longer cycle
        lo = hi = a.value
        swings = []  # SoC range seen from a up to each reading
        for p in pts[i + 1:]:
            lo, hi = min(lo, p.value), max(hi, p.value)
            swings.append(hi - lo)
        for j in range(len(pts) - 1, i, -1):
            b = pts[j]
            if abs(b.value - a.value) <= tolerance_pct and swings[j - i - 1] > min_swing_pct:
                if best is None or b.ts_s - a.ts_s > best[1].ts_s - best[0].ts_s:
                    best = (a, b)
                break
    return best


def energy_from_power(power_w: Sequence[Point], *, max_gap_s: float) -> tuple[CounterIncrements, CounterIncrements]:
    """(charge, discharge) energy increments in Wh from power samples (W, + discharge / − charge),
    for batteries that publish no energy counters (SunSpec 802 has none).

    Between two good samples at most ``max_gap_s`` apart the power is taken as linear (trapezoid)
    and split at the zero crossing, so a sign change does not net charge against discharge; longer
    gaps contribute nothing (unobserved, never guessed).
    """
    good = sorted((p for p in power_w if p.quality is not Quality.STALE), key=lambda p: p.ts_s)
    charge: list[Increment] = []
    discharge: list[Increment] = []
    for a, b in pairwise(good):
        dt = b.ts_s - a.ts_s
        if dt <= 0 or dt > max_gap_s:
            continue
        pos_wh, neg_wh = _trapezoid_split_wh(a.value, b.value, dt)
        if pos_wh:
            discharge.append(Increment(a.ts_s, b.ts_s, pos_wh))
        if neg_wh:
            charge.append(Increment(a.ts_s, b.ts_s, neg_wh))
    return CounterIncrements(tuple(charge)), CounterIncrements(tuple(discharge))


def _trapezoid_split_wh(p0: float, p1: float, dt_s: float) -> tuple[float, float]:
    """Positive and negative parts (both ≥ 0, Wh) of ∫ linear power from p0 to p1 over dt_s."""
    if p0 >= 0 and p1 >= 0:
        return (p0 + p1) / 2 * dt_s / 3600, 0.0
    if p0 <= 0 and p1 <= 0:
        return 0.0, -(p0 + p1) / 2 * dt_s / 3600
    t0 = dt_s * abs(p0) / (abs(p0) + abs(p1))  # zero crossing
    first = p0 / 2 * t0 / 3600
    second = p1 / 2 * (dt_s - t0) / 3600
    pos = (first if first > 0 else 0.0) + (second if second > 0 else 0.0)
    neg = (-first if first < 0 else 0.0) + (-second if second < 0 else 0.0)
    return pos, neg
