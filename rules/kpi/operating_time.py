"""Operating time (the OEE "run time"): planned ∩ observed time minus ``down``, minus ``off``,
minus *stops* — idle periods at least ``stop_threshold_s`` long (no work, changeover, waiting).
Shorter idle gaps between sewing bursts (the operator handling the bundle) are part of the cycle
and count as operating. An idle period is classified by its whole length (from its event to the
next event, outside the window and unobserved time included) and then cut to the time asked for.
Seconds in, seconds out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from seamline.contracts.messages import MachineState
from seamline.rules.kpi.state_time import StateEvent, StateInterval, in_time_order, state_spans, time_ordered
from seamline.rules.spans import Pair, Span, SpanSet, intersect_pairs, merge_sorted, total_pairs_s

# Garment practice: an idle period shorter than a few minutes is the operator handling the
# bundle (part of the cycle, paid for by the SAM's allowances); 5 min is the usual cut between
# that and "the workstation was stopped". Configurable as ``kpi.stop_threshold_s``.
DEFAULT_STOP_THRESHOLD_S = 300.0


def whole_intervals(events: Iterable[StateEvent], *, until_s: float) -> list[StateInterval]:
    """Each event's state from its time to the next event, the last one until ``until_s`` (UTC
    epoch s; never before its own time). Not cut to observed time: an idle period keeps its
    whole length, which is what decides whether it is a stop."""
    ordered = sorted(events, key=lambda e: e.ts_s)
    out: list[StateInterval] = []
    for i, ev in enumerate(ordered):
        end_s = ordered[i + 1].ts_s if i + 1 < len(ordered) else max(until_s, ev.ts_s)
        if end_s > ev.ts_s:
            out.append(StateInterval(ev.ts_s, end_s, ev.state, ev.reason))
    return out


# Idle reasons that say nothing about why the machine stood (the edge's debounced idle has none).
_UNKNOWN_IDLE_REASONS = frozenset({"none", ""})


def stops(intervals: Sequence[StateInterval], *, stop_threshold_s: float) -> list[StateInterval]:
    """Idle periods at least ``stop_threshold_s`` long (s): touching idle intervals are merged
    first; a merged stop carries its first known reason (else ``none``)."""
    merged: list[StateInterval] = []
    for i in sorted((i for i in intervals if i.state is MachineState.IDLE), key=lambda i: i.start_s):
        last = merged[-1] if merged else None
        if last is not None and i.start_s <= last.end_s:
            reason = last.reason if last.reason not in _UNKNOWN_IDLE_REASONS else i.reason
            merged[-1] = StateInterval(last.start_s, max(last.end_s, i.end_s), MachineState.IDLE, reason)
        else:
            merged.append(i)
    return [m for m in merged if m.duration_s >= stop_threshold_s]


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


def operating_time(
    intervals: Sequence[StateInterval], within: SpanSet, *, stop_threshold_s: float
) -> OperatingTime:
    """Operating time = ``within`` minus down, off and stops (idle ≥ ``stop_threshold_s``), in s.

    ``intervals`` should be whole (see :func:`whole_intervals`) so a stop is recognised by its
    full length even where ``within`` sees only part of it."""
    if stop_threshold_s < 0:
        raise ValueError(f"stop_threshold_s must be >= 0, got {stop_threshold_s}")
    covered = state_spans(intervals).intersect(within)
    down = state_spans(intervals, MachineState.DOWN).intersect(within).total_s
    off = state_spans(intervals, MachineState.OFF).intersect(within).total_s
    by_reason: dict[str, float] = {}
    stop_spans: list[Span] = []
    for st in stops(intervals, stop_threshold_s=stop_threshold_s):
        seconds = within.overlap_s(Span(st.start_s, st.end_s))
        if seconds > 0:
            key = stop_key(st.reason)
            by_reason[key] = by_reason.get(key, 0.0) + seconds
            stop_spans.append(Span(st.start_s, st.end_s))
    stop = SpanSet.of(stop_spans).intersect(within).total_s
    operating = max(0.0, covered.total_s - down - off - stop)
    return OperatingTime(within_s=within.total_s, operating_s=operating, stop_s=stop, down_s=down, off_s=off,
                         unknown_s=within.total_s - covered.total_s, stop_by_reason_s=tuple(sorted(by_reason.items())))


@dataclass(frozen=True, slots=True)
class WholeRuns:
    """The whole intervals of a machine's events (:func:`whole_intervals`) as unions, UTC epoch s
    ``(start_s, end_s)`` pairs: all of them (``covered``), ``down`` and ``off`` time, and the idle
    runs with their merged reason (touching idle intervals merged as :func:`stops` does)."""

    covered: tuple[Pair, ...]
    down: tuple[Pair, ...]
    off: tuple[Pair, ...]
    idle: tuple[tuple[float, float, str], ...]


def whole_runs(events: Iterable[StateEvent], *, until_s: float) -> WholeRuns:
    """:func:`whole_intervals` folded into :class:`WholeRuns` in one pass, without building an
    interval per event (the hot path: ~350 events per machine-hour)."""
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


def operating_time_of_runs(runs: WholeRuns, within: SpanSet, *, stop_threshold_s: float) -> OperatingTime:
    """:func:`operating_time` of ``within`` from :func:`whole_runs` — the same value, exactly."""
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


def down_by_reason_s(events: Iterable[StateEvent], observed: SpanSet, within: SpanSet) -> dict[str, float]:
    """Seconds in ``down`` per reason inside ``within``, of the state intervals cut to ``observed``
    — :func:`downtime_by_reason_s` of :func:`state_intervals`, without building every interval."""
    ordered = in_time_order(events)
    obs = observed.pairs
    parts: dict[str, list[Pair]] = {}
    j, n_obs, last = 0, len(obs), len(ordered) - 1
    for i, ev in enumerate(ordered):
        if ev.state is not MachineState.DOWN:
            continue
        start = ev.ts_s
        end = ordered[i + 1].ts_s if i < last else float("inf")
        if not end > start:
            continue
        while j < n_obs and obs[j][1] <= start:
            j += 1
        k = j
        while k < n_obs and obs[k][0] < end:
            parts.setdefault(ev.reason, []).append((max(obs[k][0], start), min(obs[k][1], end)))
            k += 1
    out: dict[str, float] = {}
    for reason in sorted(parts):
        seconds = total_pairs_s(intersect_pairs(merge_sorted(parts[reason]), within.pairs))
        if seconds > 0:
            out[reason] = seconds
    return out
