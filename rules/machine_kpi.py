"""Sewing machine and line KPIs of one window (pure): what :mod:`rules.engine` calls.

:func:`machine_totals` obtains one machine's :class:`~rules.kpi.sewing.MachineTotals` (seconds per
state, operating and stop time, pieces, downtime by reason) from its 60 s edge aggregates and its
``machine_state`` events; :func:`machine_kpi` turns them into the machine's KPI and
:func:`line_kpis` sums its machines' totals into line efficiency and OEE (the formulas:
:mod:`rules.kpi.sewing`). Only how the totals are obtained depends on the telemetry's shape.

Time in state comes from the aggregates' ``run_s/idle_s/off_s/down_s``, each aggregate weighted
by the share of its period inside the span asked for (exact whenever planned-time boundaries fall
on period boundaries, which they do for shift times given in whole minutes). The events (all of
the window, the last one before it and those up to the source's look-ahead after it) give
breakdown reasons and counts, and the idle periods from which stops and operating time follow
(:mod:`rules.kpi.operating_time`).

Observed time is what the aggregates cover minus gateway-offline time. Aggregates with quality
``historical`` were replayed from the edge spool after an outage: they are real data, so the
offline intervals of the gateway are *not* subtracted from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from seamline.contracts.messages import Quality
from seamline.rules.coverage import Coverage, ObservationPolicy, observed_spans
from seamline.rules.kpi.operating_time import DEFAULT_STOP_THRESHOLD_S, machine_operating_time
from seamline.rules.kpi.result import Flag, KpiResult, build
from seamline.rules.kpi.sewing import (
    Aggregate,
    LineTotals,
    MachineTotals,
    line_efficiency_kpi,
    line_oee_kpi,
    line_output_kpi,
    machine_time_kpi,
)
from seamline.rules.kpi.state_time import (
    StateEvent,
    breakdowns_starting_in,
    down_by_reason_s,
    in_time_order,
    pieces_within,
    seconds_within,
)
from seamline.rules.spans import Span, SpanSet
from seamline.rules.windows import Window

_AGG_POLICY = ObservationPolicy()


def aggregate_observed(aggregates: Sequence[Aggregate], offline: SpanSet) -> SpanSet:
    """Time the aggregates cover, minus ``offline`` for live (non-historical) ones."""
    live = [a.observation() for a in aggregates if a.quality is Quality.GOOD]
    replayed = [a.observation() for a in aggregates if a.quality is Quality.HISTORICAL]
    return observed_spans(live, _AGG_POLICY, offline=offline).union(observed_spans(replayed, _AGG_POLICY))


def caught_up(aggregates: Sequence[Aggregate], window: Window) -> list[Aggregate]:
    """Aggregates of the window (by period midpoint) whose counter caught up across a data gap."""
    return [a for a in aggregates if a.quality is not Quality.STALE and a.pieces_unobserved
            and window.start_s <= a.ts_s + a.period_s / 2 < window.end_s]


def machine_totals(
    aggregates: Sequence[Aggregate],
    events: Sequence[StateEvent],
    window: Window,
    *,
    planned: SpanSet,
    observed: SpanSet,
    stop_threshold_s: float,
) -> MachineTotals:
    """One machine's totals in ``window``; ``observed`` is all the time its data covers
    (:func:`aggregate_observed`), also beyond the window: its end is how long the last state
    event is known to have lasted."""
    events = in_time_order(events)  # once: every pass below checks the order in O(n) and keeps it
    win = SpanSet((window.span,))
    obs = observed.intersect(win)
    planned_w = planned.intersect(win)
    planned_obs = planned_w.intersect(obs)
    in_window = seconds_within(aggregates, obs)
    known_until = observed.spans[-1].end_s if observed else window.end_s
    op = machine_operating_time(aggregates, events, planned_obs, known_until_s=known_until,
                                stop_threshold_s=stop_threshold_s)
    downtime = down_by_reason_s(events, obs, win)
    downtime.update(op.stop_by_reason_s)
    good, rejects = pieces_within(aggregates, obs)
    unobserved = sum(a.pieces_unobserved for a in caught_up(aggregates, window))
    return MachineTotals(
        window_s=window.duration_s, observed_s=obs.total_s, planned_s=planned_w.total_s,
        planned_observed_s=planned_obs.total_s, run_s=in_window.run_s, idle_s=in_window.idle_s,
        off_s=in_window.off_s, down_s=in_window.down_s, run_planned_s=seconds_within(aggregates, planned_obs).run_s,
        operating_s=op.operating_s, stop_s=op.stop_s, breakdowns=breakdowns_starting_in(events, window),
        good_pieces=good, rejects=rejects, unobserved_pieces=unobserved, downtime_s=tuple(downtime.items()))


@dataclass(frozen=True, slots=True)
class MachineWindow:
    """One machine's KPI, its totals, and the spans its line needs (UTC epoch s)."""

    result: KpiResult
    totals: MachineTotals
    observed: SpanSet  # observed time of the window
    bridged: SpanSet = field(default_factory=SpanSet)  # data gaps the counters caught up across

    @property
    def downtime_s(self) -> dict[str, float]:
        """Breakdown reasons and ``stop[.<reason>]`` -> seconds in the window."""
        return dict(self.totals.downtime_s)

    @property
    def good_pieces(self) -> int:
        return self.totals.good_pieces


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
    """The machine's KPI of ``window`` (:func:`rules.kpi.sewing.machine_time_kpi` of its
    :func:`machine_totals`). ``events`` are the machine's ``machine_state`` events; aggregates and
    events after the window only tell how long an idle period open at its end lasted."""
    seen = aggregate_observed(aggregates, offline)
    totals = machine_totals(aggregates, events, window, planned=planned, observed=seen,
                            stop_threshold_s=stop_threshold_s)
    result = machine_time_kpi(totals, window, coverage_threshold=coverage_threshold)
    bridged = SpanSet.of([Span(a.ts_s - a.unobserved_s, a.ts_s) for a in caught_up(aggregates, window)
                          if a.unobserved_s > 0])
    return MachineWindow(result, totals, seen.intersect(SpanSet((window.span,))), bridged)


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
    """Line efficiency (all pieces the output machines' counters saw, over planned time they
    were observed or bridged) and OEE over all machines (:func:`rules.kpi.sewing.line_oee_kpi`);
    a line without a style gets good pieces and utilization. OEE coverage = Σ planned-observed /
    (machines × planned)."""
    planned_w = planned.intersect(SpanSet((window.span,)))
    totals = LineTotals.of([m.totals for m in machines], [m.totals for m in outputs])
    n = max(line.machine_total, len(machines))
    cov = Coverage(observed_s=totals.planned_observed_s, basis_s=n * planned_w.total_s)
    out: list[KpiResult] = []
    if line.sam_min is not None:
        observed_out = SpanSet.of([sp for m in outputs for sp in m.observed.spans])
        bridged = SpanSet.of([sp for m in outputs for sp in m.bridged.spans])
        out.append(line_efficiency_kpi(window, good_pieces=totals.good_pieces, sam_min=line.sam_min,
                                       operators=line.operators, planned=planned, observed=observed_out,
                                       coverage_threshold=coverage_threshold,
                                       unobserved_pieces=totals.unobserved_pieces, bridged=bridged))
        out.append(line_oee_kpi(totals, window, sam_min=line.sam_min, coverage=cov,
                                coverage_threshold=coverage_threshold))
    else:
        out.append(line_output_kpi(totals, window, coverage=cov, coverage_threshold=coverage_threshold))
    if not planned_w:
        out = [build(r.kpi, r.window, r.coverage, r.values, r.flags | {Flag.NO_PLANNED_TIME},
                     coverage_threshold=coverage_threshold) for r in out]
    return out
