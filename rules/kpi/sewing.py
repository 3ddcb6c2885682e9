"""Sewing-machine and line KPIs: time in state, downtime by reason, utilization, operating time,
stops, MTBF/MTTR, pieces, earned minutes, line efficiency and OEE.

Times are seconds in, minutes out (``*_min``); SAM is standard minutes per piece. Only observed
time counts (see :mod:`rules.coverage`): a state holds from its event until the next event but
never across unobserved time, so a gateway outage can never turn into downtime. Ratios use the
planned time that was observed (``planned ∩ observed``) as denominator.

**Operating time** (the OEE "run time") is planned ∩ observed time minus ``down``, minus ``off``,
minus *stops*: idle periods at least ``stop_threshold_s`` long (no work, changeover, waiting).
Shorter idle gaps between sewing bursts (the operator handling the bundle) are part of the
cycle and count as operating. An idle period is classified by its whole length (from its event
to the next event, outside the window and unobserved time included) and then cut to the time
asked for. Needle time (``running``) is a different KPI: machine utilization.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from seamline.contracts.messages import MachineState, Quality
from seamline.rules.coverage import Observation, Stamp, aggregate_span, coverage_of
from seamline.rules.kpi.operating_time import DEFAULT_STOP_THRESHOLD_S, operating_time, whole_intervals
from seamline.rules.kpi.result import Flag, KpiResult, KpiValue, build, ratio
from seamline.rules.kpi.state_time import (
    StateEvent,
    breakdowns_starting_in,
    downtime_by_reason_s,
    seconds_in_state,
    state_intervals,
    state_spans,
)
from seamline.rules.spans import SpanSet
from seamline.rules.windows import Window


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One edge aggregate (``SewingMachineMetrics`` with ``period_s``): seconds per state, pieces."""

    ts_s: float
    period_s: float
    run_s: float = 0.0
    idle_s: float = 0.0
    off_s: float = 0.0
    down_s: float = 0.0
    pieces: int = 0
    rejects: int = 0
    quality: Quality = Quality.GOOD
    # pieces the counter says were made during a data gap before this aggregate (real output,
    # unobserved time): line efficiency counts them, OEE performance (over observed time) not
    pieces_unobserved: int = 0
    unobserved_s: float = 0.0  # length of the data gap those pieces were made in (ends at ts_s)

    def observation(self) -> Observation:
        return Observation(ts_s=self.ts_s, quality=self.quality, period_s=self.period_s)


def machine_time_kpi(
    events: Sequence[StateEvent],
    window: Window,
    *,
    planned: SpanSet,
    observed: SpanSet,
    coverage_threshold: float,
    stop_threshold_s: float = DEFAULT_STOP_THRESHOLD_S,
) -> KpiResult:
    """Run/idle/off/down minutes in the window, downtime by reason, utilization, operating and
    stop minutes, availability, MTBF and MTTR.

    utilization = run time in (planned ∩ observed) / (planned ∩ observed) — always in [0, 1];
    running outside planned time is reported as ``overtime_run_min``. Operating and stop minutes
    and availability = operating / (planned ∩ observed) follow :func:`operating_time`; stops also
    appear as ``down_min.stop[.<reason>]``. MTBF = run minutes in the window / breakdowns
    starting in it; MTTR = down minutes / breakdowns (``None`` and ``no_events`` without
    breakdowns). Coverage basis: planned time (the window if none planned).
    """
    win = SpanSet((window.span,))
    planned_w = planned.intersect(win)
    basis = planned_w if planned_w else win
    obs_w = observed.intersect(win)
    intervals = state_intervals(events, obs_w)
    in_window = seconds_in_state(intervals, win)
    planned_obs = planned_w.intersect(obs_w)
    run_planned = state_spans(intervals, MachineState.RUNNING).intersect(planned_obs).total_s
    util, _ = ratio("utilization", run_planned, planned_obs.total_s)
    op = operating_time(whole_intervals(events, until_s=window.end_s), planned_obs, stop_threshold_s=stop_threshold_s)
    avail, _ = ratio("availability", op.operating_s, planned_obs.total_s)
    failures = breakdowns_starting_in(events, window)
    run_min, down_min = in_window[MachineState.RUNNING] / 60, in_window[MachineState.DOWN] / 60
    values = [KpiValue(f"{s.value}_min", "min", in_window[s] / 60) for s in MachineState]
    values += [
        KpiValue("unobserved_min", "min", (window.duration_s - obs_w.total_s) / 60),
        KpiValue("planned_min", "min", planned_w.total_s / 60),
        KpiValue("planned_observed_min", "min", planned_obs.total_s / 60),
        KpiValue("overtime_run_min", "min", in_window[MachineState.RUNNING] / 60 - run_planned / 60),
        util,
        KpiValue("operating_min", "min", op.operating_s / 60),
        KpiValue("stop_min", "min", op.stop_s / 60),
        avail,
        KpiValue("breakdowns", "count", float(failures)),
        KpiValue("mtbf_min", "min", run_min / failures if failures else None),
        KpiValue("mttr_min", "min", down_min / failures if failures else None),
    ]
    values += [KpiValue(f"down_min.{r}", "min", s / 60) for r, s in downtime_by_reason_s(intervals, win).items()]
    values += [KpiValue(f"down_min.{r}", "min", s / 60) for r, s in op.stop_by_reason_s]
    flags = [] if failures else [Flag.NO_EVENTS]
    if not planned_w:
        flags.append(Flag.NO_PLANNED_TIME)
    return build("machine_time", window, coverage_of(obs_w, basis), values, flags,
                 coverage_threshold=coverage_threshold)


def _midpoint_in(agg: Aggregate, window: Window, stamp: Stamp) -> bool:
    span = aggregate_span(agg.observation(), stamp)
    return window.contains_s((span.start_s + span.end_s) / 2)


@dataclass(frozen=True, slots=True)
class AggregateTotals:
    """Sums over the aggregates whose period midpoint falls in the window (so windows split at
    any point add up exactly). Stale aggregates are left out."""

    run_s: float
    idle_s: float
    off_s: float
    down_s: float
    good_pieces: int
    rejects: int

    @property
    def total_pieces(self) -> int:
        return self.good_pieces + self.rejects


def aggregate_totals(
    aggregates: Iterable[Aggregate], window: Window, stamp: Stamp = Stamp.PERIOD_START
) -> AggregateTotals:
    chosen = [a for a in aggregates if a.quality is not Quality.STALE and _midpoint_in(a, window, stamp)]
    return AggregateTotals(
        run_s=sum(a.run_s for a in chosen),
        idle_s=sum(a.idle_s for a in chosen),
        off_s=sum(a.off_s for a in chosen),
        down_s=sum(a.down_s for a in chosen),
        good_pieces=sum(a.pieces for a in chosen),
        rejects=sum(a.rejects for a in chosen),
    )


def earned_minutes(good_pieces: float, sam_min: float) -> float:
    """Earned standard minutes = good pieces × SAM (standard minutes per piece)."""
    return good_pieces * sam_min


def line_efficiency(good_pieces: float, sam_min: float, operators: int, minutes_worked: float) -> float | None:
    """Earned minutes / (operators × minutes worked), a fraction (not clipped: >1 is possible
    when SAMs are loose). ``None`` when nobody worked."""
    available = operators * minutes_worked
    if available <= 0:
        return None
    return earned_minutes(good_pieces, sam_min) / available


def line_efficiency_kpi(
    window: Window,
    *,
    good_pieces: int,
    sam_min: float,
    operators: int,
    planned: SpanSet,
    observed: SpanSet,
    coverage_threshold: float,
    unobserved_pieces: int | None = None,
    bridged: SpanSet | None = None,
) -> KpiResult:
    """Line efficiency = earned minutes / (operators × minutes worked), minutes worked = planned ∩
    (observed ∪ ``bridged``).

    ``bridged``: data gaps across which the machines' counters caught up (``unobserved_pieces``
    were made in them): their pieces and their minutes both count, so a gateway outage lowers the
    coverage, not the efficiency. Time with no data and no counter after it counts neither way —
    missing data shrinks both, never the ratio. ``coverage`` is the observed share only."""
    win = SpanSet((window.span,))
    planned_w = planned.intersect(win)
    worked_min = planned_w.intersect(observed.union(bridged or SpanSet())).total_s / 60
    good_pieces += unobserved_pieces or 0
    eff = line_efficiency(good_pieces, sam_min, operators, worked_min)
    values = (
        KpiValue("good_pieces", "pieces", float(good_pieces)),
        KpiValue("unobserved_pieces", "pieces", None if unobserved_pieces is None else float(unobserved_pieces)),
        KpiValue("earned_min", "std_min", earned_minutes(good_pieces, sam_min)),
        KpiValue("minutes_worked", "min", worked_min),
        KpiValue("line_efficiency", "fraction", eff, eff),
    )
    flags = [] if planned_w else [Flag.NO_PLANNED_TIME]
    return build("line_efficiency", window, coverage_of(observed.intersect(win), planned_w), values, flags,
                 coverage_threshold=coverage_threshold)


@dataclass(frozen=True, slots=True)
class Oee:
    availability: KpiValue
    performance: KpiValue
    quality: KpiValue
    oee: KpiValue
    clipped: bool


def oee(*, operating_s: float, planned_s: float, total_pieces: int, good_pieces: int, sam_min: float) -> Oee:
    """OEE = availability × performance × quality, each clipped to [0, 1] (raw kept, ``clipped``
    says whether any factor was).

    availability = operating time / planned time (both s, see :func:`operating_time`);
    performance = total pieces × SAM (std min) / operating time — the operators' pace against the
    standard, typically 0.4–0.8; quality = good / total pieces. A factor whose denominator is 0
    is ``None``, and so is OEE.
    """
    avail, c1 = ratio("availability", operating_s, planned_s)
    perf, c2 = ratio("performance", total_pieces * sam_min * 60.0, operating_s)
    qual, c3 = ratio("quality", good_pieces, total_pieces)
    if avail.value is None or perf.value is None or qual.value is None:
        product = raw = None
    else:
        product = avail.value * perf.value * qual.value
        raw = (avail.raw or 0.0) * (perf.raw or 0.0) * (qual.raw or 0.0)
    return Oee(avail, perf, qual, KpiValue("oee", "fraction", product, raw), c1 or c2 or c3)


def oee_kpi(
    window: Window,
    *,
    operating_s: float,
    total_pieces: int,
    good_pieces: int,
    sam_min: float,
    planned: SpanSet,
    observed: SpanSet,
    coverage_threshold: float,
) -> KpiResult:
    """OEE with planned time = planned ∩ observed in the window; ``operating_s`` is operating
    time in that same observed planned time (:func:`operating_time`), pieces from observed periods."""
    win = SpanSet((window.span,))
    planned_w = planned.intersect(win)
    planned_obs_s = planned_w.intersect(observed).total_s
    result = oee(operating_s=operating_s, planned_s=planned_obs_s, total_pieces=total_pieces,
                 good_pieces=good_pieces, sam_min=sam_min)
    flags = [Flag.CLIPPED] if result.clipped else []
    if not planned_w:
        flags.append(Flag.NO_PLANNED_TIME)
    values = (result.availability, result.performance, result.quality, result.oee)
    return build("oee", window, coverage_of(observed.intersect(win), planned_w), values, flags,
                 coverage_threshold=coverage_threshold)
