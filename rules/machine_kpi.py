"""Sewing machine and line KPIs of one window from the edge's 60 s aggregates (pure).

Time in state comes from the aggregates' ``run_s/idle_s/off_s/down_s``, each aggregate weighted
by the share of its period inside the span asked for (exact whenever planned-time boundaries fall
on period boundaries, which they do for shift times given in whole minutes). Reading aggregates
instead of every state event keeps a window to ~60 rows per machine-hour. The ``machine_state``
events (all of the window, the last one before it and those up to the source's look-ahead after
it) give breakdown reasons, counts, MTBF and MTTR, and the idle periods from which stops and
operating time follow (:func:`rules.kpi.sewing.operating_time`). Planned time before the first
known event (no event in the source's look-back) falls back to the aggregates: their off and down
seconds are off and down, the rest counts as operating (no stop is known there).

Observed time is what the aggregates cover minus gateway-offline time. Aggregates with quality
``historical`` were replayed from the edge spool after an outage: they are real data, so the
offline intervals of the gateway are *not* subtracted from them.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field

from seamline.contracts.messages import Quality
from seamline.rules.coverage import Coverage, ObservationPolicy, coverage_of, observed_spans
from seamline.rules.kpi.operating_time import (
    DEFAULT_STOP_THRESHOLD_S,
    OperatingTime,
    down_by_reason_s,
    operating_time_of_runs,
    whole_runs,
)
from seamline.rules.kpi.result import Flag, KpiResult, KpiValue, build, ratio
from seamline.rules.kpi.sewing import Aggregate, line_efficiency_kpi, oee
from seamline.rules.kpi.state_time import StateEvent, breakdowns_starting_in, in_time_order
from seamline.rules.spans import Span, SpanSet
from seamline.rules.windows import Window

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
    pairs = spans.pairs
    j, n = 0, len(pairs)
    ordered = all(map(operator.le, [a.ts_s for a in aggregates], [a.ts_s for a in aggregates[1:]]))
    for a in aggregates:
        if a.quality is Quality.STALE or a.period_s <= 0:
            continue
        if ordered:  # a two-pointer sweep; the same overlaps, in the same order, as overlap_s
            start, end = a.ts_s, a.ts_s + a.period_s
            while j < n and pairs[j][1] <= start:
                j += 1
            overlap, k = 0.0, j
            while k < n and pairs[k][0] < end:
                overlap += max(0.0, min(pairs[k][1], end) - max(pairs[k][0], start))
                k += 1
        else:
            overlap = spans.overlap_s(Span(a.ts_s, a.ts_s + a.period_s))
        share = overlap / a.period_s
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
    """One machine's KPI and the sums its line needs (seconds)."""

    result: KpiResult
    downtime_s: dict[str, float]  # breakdown reasons and ``stop[.<reason>]`` -> seconds in the window
    observed: SpanSet
    run_planned_s: float
    planned_observed_s: float
    good_pieces: int
    rejects: int
    operating_s: float = 0.0
    stop_s: float = 0.0
    unobserved_pieces: int = 0  # counted across data gaps inside the window
    bridged: SpanSet = field(default_factory=SpanSet)  # those gaps (the counters caught up across them)


def machine_operating_time(
    aggregates: Sequence[Aggregate],
    events: Sequence[StateEvent],
    within: SpanSet,
    *,
    known_until_s: float,
    stop_threshold_s: float,
) -> OperatingTime:
    """:func:`operating_time` of ``within`` from the state events; time before the first event is
    filled from the aggregates (off/down as they say, the rest operating)."""
    runs = whole_runs(events, until_s=known_until_s)
    op = operating_time_of_runs(runs, within, stop_threshold_s=stop_threshold_s)
    if op.unknown_s <= 0:
        return op
    unknown = within.subtract(SpanSet(tuple(Span(start, end) for start, end in runs.covered)))
    agg = seconds_within(aggregates, unknown)
    off, down = min(agg.off_s, unknown.total_s), min(agg.down_s, max(0.0, unknown.total_s - agg.off_s))
    return OperatingTime(within_s=op.within_s, operating_s=op.operating_s + unknown.total_s - off - down,
                         stop_s=op.stop_s, down_s=op.down_s + down, off_s=op.off_s + off, unknown_s=0.0,
                         stop_by_reason_s=op.stop_by_reason_s)


def machine_kpi(
    aggregates: Sequence[Aggregate],
    events: Sequence[StateEvent],
    window: Window,
    *,
    planned: SpanSet,
    offline: SpanSet,
    coverage_threshold: float,
    stop_threshold_s: float = DEFAULT_STOP_THRESHOLD_S,
) -> MachineWindow:
    """Minutes per state, utilization = run in (planned ∩ observed) / (planned ∩ observed),
    operating and stop minutes (idle periods ≥ ``stop_threshold_s`` s), availability = operating
    / (planned ∩ observed), breakdowns, MTBF/MTTR (minutes), pieces; coverage basis = planned
    time (else the window). ``events`` are the machine's ``machine_state`` events; aggregates and
    events after the window only tell how long an idle period open at its end lasted."""
    events = in_time_order(events)  # once: every pass below checks the order in O(n) and keeps it
    win = SpanSet((window.span,))
    seen = aggregate_observed(aggregates, offline)
    obs = seen.intersect(win)
    planned_w = planned.intersect(win)
    planned_obs = planned_w.intersect(obs)
    in_window = seconds_within(aggregates, obs)
    run_planned = seconds_within(aggregates, planned_obs).run_s
    util, _ = ratio("utilization", run_planned, planned_obs.total_s)
    known_until = seen.spans[-1].end_s if seen else window.end_s
    op = machine_operating_time(aggregates, events, planned_obs, known_until_s=known_until,
                                stop_threshold_s=stop_threshold_s)
    avail, _ = ratio("availability", op.operating_s, planned_obs.total_s)
    by_reason = down_by_reason_s(events, obs, win)
    by_reason.update(op.stop_by_reason_s)
    failures = breakdowns_starting_in(events, window)
    good, rejects = pieces_within(aggregates, obs)
    caught_up = [a for a in aggregates if a.quality is not Quality.STALE and a.pieces_unobserved
                 and window.start_s <= a.ts_s + a.period_s / 2 < window.end_s]
    unobserved = sum(a.pieces_unobserved for a in caught_up)
    bridged = SpanSet.of([Span(a.ts_s - a.unobserved_s, a.ts_s) for a in caught_up if a.unobserved_s > 0])
    run_min, down_min = in_window.run_s / 60, in_window.down_s / 60
    values = [
        KpiValue("run_min", "min", run_min), KpiValue("idle_min", "min", in_window.idle_s / 60),
        KpiValue("off_min", "min", in_window.off_s / 60), KpiValue("down_min", "min", down_min),
        KpiValue("unobserved_min", "min", (window.duration_s - obs.total_s) / 60),
        KpiValue("planned_min", "min", planned_w.total_s / 60),
        KpiValue("planned_observed_min", "min", planned_obs.total_s / 60), util,
        KpiValue("operating_min", "min", op.operating_s / 60), KpiValue("stop_min", "min", op.stop_s / 60), avail,
        KpiValue("breakdowns", "count", float(failures)),
        KpiValue("mtbf_min", "min", run_min / failures if failures else None),
        KpiValue("mttr_min", "min", down_min / failures if failures else None),
        KpiValue("pieces", "pieces", float(good)), KpiValue("rejects", "pieces", float(rejects)),
        KpiValue("unobserved_pieces", "pieces", float(unobserved)),
    ]
    flags = [] if failures else [Flag.NO_EVENTS]
    if not planned_w:
        flags.append(Flag.NO_PLANNED_TIME)
    result = build("machine_time", window, coverage_of(obs, planned_w if planned_w else win), values, flags,
                   coverage_threshold=coverage_threshold)
    return MachineWindow(result, by_reason, obs, run_planned, planned_obs.total_s, good, rejects,
                         op.operating_s, op.stop_s, unobserved, bridged)


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
    """Line efficiency (all pieces the output machines' counters saw, over planned time) and OEE over all
    machines: availability = Σ operating / Σ (planned ∩ observed), performance = pieces × SAM /
    Σ operating, quality = good / all pieces; utilization = Σ needle run / Σ (planned ∩ observed).
    OEE coverage = Σ planned-observed / (machines × planned)."""
    win = SpanSet((window.span,))
    planned_w = planned.intersect(win)
    observed_out = SpanSet()
    for m in outputs:
        observed_out = observed_out.union(m.observed)
    good = sum(m.good_pieces for m in outputs)
    rejects = sum(m.rejects for m in outputs)
    run_s = sum(m.run_planned_s for m in machines)
    operating_s = sum(m.operating_s for m in machines)
    stop_s = sum(m.stop_s for m in machines)
    planned_obs_s = sum(m.planned_observed_s for m in machines)
    n = max(line.machine_total, len(machines))
    cov = Coverage(observed_s=planned_obs_s, basis_s=n * planned_w.total_s)
    util, _ = ratio("utilization", run_s, planned_obs_s)
    out = []
    if line.sam_min is not None:
        out.append(line_efficiency_kpi(window, good_pieces=good, sam_min=line.sam_min, operators=line.operators,
                                       planned=planned, observed=observed_out, coverage_threshold=coverage_threshold,
                                       unobserved_pieces=sum(m.unobserved_pieces for m in outputs),
                                       bridged=SpanSet.of([sp for m in outputs for sp in m.bridged.spans])))
        o = oee(operating_s=operating_s, planned_s=planned_obs_s, total_pieces=good + rejects, good_pieces=good,
                sam_min=line.sam_min)
        flags = [Flag.CLIPPED] if o.clipped else []
        oee_values = (o.availability, o.performance, o.quality, o.oee, util,
                      KpiValue("operating_min", "min", operating_s / 60), KpiValue("stop_min", "min", stop_s / 60))
        out.append(build("oee", window, cov, oee_values, flags, coverage_threshold=coverage_threshold))
    else:
        values = (KpiValue("good_pieces", "pieces", float(good)), util)
        out.append(build("line_output", window, cov, values, coverage_threshold=coverage_threshold))
    if not planned_w:
        out = [build(r.kpi, r.window, r.coverage, r.values, r.flags | {Flag.NO_PLANNED_TIME},
                     coverage_threshold=coverage_threshold) for r in out]
    return out
