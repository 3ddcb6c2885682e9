"""Sewing machine and line KPIs of one window from the edge's 60 s aggregates (pure).

Time in state comes from the aggregates' ``run_s/idle_s/off_s/down_s``, each aggregate weighted
by the share of its period inside the span asked for (exact whenever planned-time boundaries fall
on period boundaries, which they do for shift times given in whole minutes). Reading aggregates
instead of every state event keeps a window to ~60 rows per machine-hour; breakdown reasons,
counts, MTBF and MTTR come from the state events that open or close a ``down`` state.

Observed time is what the aggregates cover minus gateway-offline time. Aggregates with quality
``historical`` were replayed from the edge spool after an outage: they are real data, so the
offline intervals of the gateway are *not* subtracted from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from contracts.messages import MachineState, Quality
from rules.coverage import Coverage, ObservationPolicy, coverage_of, observed_spans
from rules.kpi.result import Flag, KpiResult, KpiValue, build, ratio
from rules.kpi.sewing import (
    Aggregate,
    StateEvent,
    breakdowns_starting_in,
    downtime_by_reason_s,
    line_efficiency_kpi,
    oee,
    state_intervals,
)
from rules.spans import Span, SpanSet
from rules.windows import Window

_AGG_POLICY = ObservationPolicy()


def aggregate_observed(aggregates: Sequence[Aggregate], offline: SpanSet) -> SpanSet:
    """Time the aggregates cover, minus ``offline`` for live (non-historical) ones."""
    live = [a.observation() for a in aggregates if a.quality is Quality.GOOD]
    replayed = [a.observation() for a in aggregates if a.quality is Quality.HISTORICAL]
    return observed_spans(live, _AGG_POLICY, offline=offline).union(observed_spans(replayed, _AGG_POLICY))


@dataclass(frozen=True, slots=True)
class StateSeconds:
    run_s: float = 0.0
    idle_s: float = 0.0
    off_s: float = 0.0
    down_s: float = 0.0


def seconds_within(aggregates: Sequence[Aggregate], spans: SpanSet) -> StateSeconds:
    """Seconds per state inside ``spans``, each aggregate prorated by its overlap."""
    run = idle = off = down = 0.0
    for a in aggregates:
        if a.quality is Quality.STALE or a.period_s <= 0:
            continue
        share = spans.overlap_s(Span(a.ts_s, a.ts_s + a.period_s)) / a.period_s
        if share > 0:
            run, idle = run + a.run_s * share, idle + a.idle_s * share
            off, down = off + a.off_s * share, down + a.down_s * share
    return StateSeconds(run, idle, off, down)


def pieces_within(aggregates: Sequence[Aggregate], spans: SpanSet) -> tuple[int, int]:
    """(good pieces, rejects) of the aggregates whose period midpoint lies in ``spans``."""
    good = rejects = 0
    for a in aggregates:
        if a.quality is not Quality.STALE and spans.contains(a.ts_s + a.period_s / 2):
            good, rejects = good + a.pieces, rejects + a.rejects
    return good, rejects


@dataclass(frozen=True, slots=True)
class MachineWindow:
    """One machine's KPI and the sums its line needs."""

    result: KpiResult
    downtime_s: dict[str, float]
    observed: SpanSet
    run_planned_s: float
    planned_observed_s: float
    good_pieces: int
    rejects: int


def machine_kpi(
    aggregates: Sequence[Aggregate],
    down_events: Sequence[StateEvent],
    window: Window,
    *,
    planned: SpanSet,
    offline: SpanSet,
    coverage_threshold: float,
) -> MachineWindow:
    """Minutes per state, utilization = run in (planned ∩ observed) / (planned ∩ observed),
    breakdowns, MTBF/MTTR (minutes), pieces; coverage basis = planned time (else the window)."""
    win = SpanSet((window.span,))
    obs = aggregate_observed(aggregates, offline).intersect(win)
    planned_w = planned.intersect(win)
    planned_obs = planned_w.intersect(obs)
    in_window = seconds_within(aggregates, obs)
    run_planned = seconds_within(aggregates, planned_obs).run_s
    util, _ = ratio("utilization", run_planned, planned_obs.total_s)
    intervals = [i for i in state_intervals(down_events, obs) if i.state is MachineState.DOWN]
    by_reason = downtime_by_reason_s(intervals, win)
    failures = breakdowns_starting_in(down_events, window)
    good, rejects = pieces_within(aggregates, obs)
    run_min, down_min = in_window.run_s / 60, in_window.down_s / 60
    values = [
        KpiValue("run_min", "min", run_min), KpiValue("idle_min", "min", in_window.idle_s / 60),
        KpiValue("off_min", "min", in_window.off_s / 60), KpiValue("down_min", "min", down_min),
        KpiValue("unobserved_min", "min", (window.duration_s - obs.total_s) / 60),
        KpiValue("planned_min", "min", planned_w.total_s / 60),
        KpiValue("planned_observed_min", "min", planned_obs.total_s / 60), util,
        KpiValue("breakdowns", "count", float(failures)),
        KpiValue("mtbf_min", "min", run_min / failures if failures else None),
        KpiValue("mttr_min", "min", down_min / failures if failures else None),
        KpiValue("pieces", "pieces", float(good)), KpiValue("rejects", "pieces", float(rejects)),
    ]
    flags = [] if failures else [Flag.NO_EVENTS]
    if not planned_w:
        flags.append(Flag.NO_PLANNED_TIME)
    result = build("machine_time", window, coverage_of(obs, planned_w if planned_w else win), values, flags,
                   coverage_threshold=coverage_threshold)
    return MachineWindow(result, by_reason, obs, run_planned, planned_obs.total_s, good, rejects)


@dataclass(frozen=True, slots=True, kw_only=True)
class LineInputs:
    operators: int
    sam_min: float | None
    machine_total: int  # machines the line should have (basis of its coverage)


def line_kpis(
    machines: Sequence[MachineWindow],
    outputs: Sequence[MachineWindow],
    line: LineInputs,
    window: Window,
    *,
    planned: SpanSet,
    coverage_threshold: float,
) -> list[KpiResult]:
    """Line efficiency (P's formula over the output machines' observed time) and OEE over all
    machines: availability = Σ run / Σ (planned ∩ observed), performance = pieces × SAM / Σ run,
    quality = good / all pieces. OEE coverage = Σ planned-observed / (machines × planned)."""
    win = SpanSet((window.span,))
    planned_w = planned.intersect(win)
    observed_out = SpanSet()
    for m in outputs:
        observed_out = observed_out.union(m.observed)
    good = sum(m.good_pieces for m in outputs)
    rejects = sum(m.rejects for m in outputs)
    run_s = sum(m.run_planned_s for m in machines)
    planned_obs_s = sum(m.planned_observed_s for m in machines)
    n = max(line.machine_total, len(machines))
    cov = Coverage(observed_s=planned_obs_s, basis_s=n * planned_w.total_s)
    util, _ = ratio("utilization", run_s, planned_obs_s)
    out = []
    if line.sam_min is not None:
        out.append(line_efficiency_kpi(window, good_pieces=good, sam_min=line.sam_min, operators=line.operators,
                                       planned=planned, observed=observed_out,
                                       coverage_threshold=coverage_threshold))
        o = oee(run_s=run_s, planned_s=planned_obs_s, total_pieces=good + rejects, good_pieces=good,
                sam_min=line.sam_min)
        flags = [Flag.CLIPPED] if o.clipped else []
        out.append(build("oee", window, cov, (o.availability, o.performance, o.quality, o.oee, util), flags,
                         coverage_threshold=coverage_threshold))
    else:
        values = (KpiValue("good_pieces", "pieces", float(good)), util)
        out.append(build("line_output", window, cov, values, coverage_threshold=coverage_threshold))
    if not planned_w:
        out = [build(r.kpi, r.window, r.coverage, r.values, r.flags | {Flag.NO_PLANNED_TIME},
                     coverage_threshold=coverage_threshold) for r in out]
    return out
