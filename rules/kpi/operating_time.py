"""Operating time (the OEE "run time"): planned ∩ observed time minus ``down``, minus ``off``,
minus *stops* — idle periods at least ``stop_threshold_s`` long (no work, changeover, waiting).
Shorter idle gaps between sewing bursts (the operator handling the bundle) are part of the cycle
and count as operating. An idle period is classified by its whole length (from its event to the
next event, outside the window and unobserved time included) and then cut to the time asked for.
Stops are judged on the machine's state events; time before its first known event falls back to
the aggregates (:func:`machine_operating_time`). Seconds in, seconds out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from seamline.contracts.messages import MachineState
from seamline.rules.kpi.sewing import Aggregate
from seamline.rules.kpi.state_time import StateEvent, seconds_within, time_ordered
from seamline.rules.spans import Pair, Span, SpanSet, intersect_pairs, merge_sorted, total_pairs_s

# Garment practice: an idle period shorter than a few minutes is the operator handling the
# bundle (part of the cycle, paid for by the SAM's allowances); 5 min is the usual cut between
# that and "the workstation was stopped". Configurable as ``kpi.stop_threshold_s``.
DEFAULT_STOP_THRESHOLD_S = 300.0

# Idle reasons that say nothing about why the machine stood (the edge's debounced idle has none).
_UNKNOWN_IDLE_REASONS = frozenset({"none", ""})


def stop_key(reason: str) -> str:
    """Downtime key of a stop: ``stop`` when its reason is unknown, else ``stop.<reason>``."""
    return "stop" if reason in _UNKNOWN_IDLE_REASONS else f"stop.{reason}"


@dataclass(frozen=True, slots=True)
class OperatingTime:
    """Seconds of ``within`` (planned ∩ observed) by OEE category; they add up to ``within_s``.

    ``unknown_s`` is time no state interval covers (no event known before it)."""

    within_s: float
    operating_s: float
    stop_s: float
    down_s: float
    off_s: float
    unknown_s: float
    stop_by_reason_s: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class WholeRuns:
    """A machine's state over time from its events, UTC epoch s ``(start_s, end_s)`` pairs: each
    event's state holds until the next event (the last one until a given time), not cut to
    observed time — an idle period keeps its whole length, which decides whether it is a stop.
    ``covered`` is all of it, ``down`` and ``off`` their time, ``idle`` the idle runs (touching
    idle intervals merged) with their first known reason."""

    covered: tuple[Pair, ...]
    down: tuple[Pair, ...]
    off: tuple[Pair, ...]
    idle: tuple[tuple[float, float, str], ...]


def whole_runs(events: Iterable[StateEvent], *, until_s: float) -> WholeRuns:
    """:class:`WholeRuns` of ``events``, the last event's state until ``until_s`` (never before
    its own time), in one pass without building an interval per event (the hot path: ~350 events
    per machine-hour)."""
    ordered, starts = time_ordered(events)
    if not ordered:
        return WholeRuns((), (), (), ())
    ends = starts[1:]
    ends.append(max(until_s, starts[-1]))
    covered: list[Pair] = []
    down: list[Pair] = []
    off: list[Pair] = []
    idle: list[tuple[float, float, str]] = []
    cov_start = cov_end = starts[0]  # the covered run being extended (one run unless events repeat)
    for ev, start, end in zip(ordered, starts, ends, strict=True):
        if not end > start:
            continue
        if covered and start <= cov_end:  # every merge here is SpanSet.of's, on sorted input
            cov_end = max(cov_end, end)
        else:
            if covered:
                covered[-1] = (cov_start, cov_end)
            covered.append((start, end))
            cov_start, cov_end = start, end
        state = ev.state
        if state is MachineState.RUNNING:
            continue
        if state is MachineState.IDLE:
            if idle and start <= idle[-1][1]:
                s, e, reason = idle[-1]
                idle[-1] = (s, max(e, end), reason if reason not in _UNKNOWN_IDLE_REASONS else ev.reason)
            else:
                idle.append((start, end, ev.reason))
            continue
        runs = down if state is MachineState.DOWN else off
        if runs and start <= runs[-1][1]:
            runs[-1] = (runs[-1][0], max(runs[-1][1], end))
        else:
            runs.append((start, end))
    if covered:
        covered[-1] = (cov_start, cov_end)
    return WholeRuns(tuple(covered), tuple(down), tuple(off), tuple(idle))


def operating_time(runs: WholeRuns, within: SpanSet, *, stop_threshold_s: float) -> OperatingTime:
    """Operating time = ``within`` minus down, off and stops (idle runs ≥ ``stop_threshold_s``,
    judged by their whole length and then cut to ``within``), in s."""
    if stop_threshold_s < 0:
        raise ValueError(f"stop_threshold_s must be >= 0, got {stop_threshold_s}")
    w = within.pairs
    covered_s = total_pairs_s(intersect_pairs(runs.covered, w))
    down = total_pairs_s(intersect_pairs(runs.down, w))
    off = total_pairs_s(intersect_pairs(runs.off, w))
    by_reason: dict[str, float] = {}
    stop_pairs: list[Pair] = []
    for start, end, reason in runs.idle:
        if not end - start >= stop_threshold_s:
            continue
        seconds = within.overlap_s(Span(start, end))
        if seconds > 0:
            key = stop_key(reason)
            by_reason[key] = by_reason.get(key, 0.0) + seconds
            stop_pairs.append((start, end))
    stop = total_pairs_s(intersect_pairs(merge_sorted(stop_pairs), w))
    operating = max(0.0, covered_s - down - off - stop)
    return OperatingTime(within_s=within.total_s, operating_s=operating, stop_s=stop, down_s=down, off_s=off,
                         unknown_s=within.total_s - covered_s, stop_by_reason_s=tuple(sorted(by_reason.items())))


def machine_operating_time(
    aggregates: Sequence[Aggregate],
    events: Sequence[StateEvent],
    within: SpanSet,
    *,
    known_until_s: float,
    stop_threshold_s: float,
) -> OperatingTime:
    """:func:`operating_time` of ``within`` from the state events, the last one known until
    ``known_until_s``; time before the first event is filled from the aggregates (off and down
    as they say, the rest operating: no stop is known there)."""
    runs = whole_runs(events, until_s=known_until_s)
    op = operating_time(runs, within, stop_threshold_s=stop_threshold_s)
    if op.unknown_s <= 0:
        return op
    unknown = within.subtract(SpanSet(tuple(Span(start, end) for start, end in runs.covered)))
    agg = seconds_within(aggregates, unknown)
    off, down = min(agg.off_s, unknown.total_s), min(agg.down_s, max(0.0, unknown.total_s - agg.off_s))
    return OperatingTime(within_s=op.within_s, operating_s=op.operating_s + unknown.total_s - off - down,
                         stop_s=op.stop_s, down_s=op.down_s + down, off_s=op.off_s + off, unknown_s=0.0,
                         stop_by_reason_s=op.stop_by_reason_s)
