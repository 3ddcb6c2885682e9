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

import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from contracts.messages import MachineState, Quality
from rules.coverage import Observation, Stamp, aggregate_span, coverage_of
from rules.kpi.result import Flag, KpiResult, KpiValue, build, ratio
from rules.spans import Pair, Span, SpanSet, intersect_pairs, merge_sorted, total_pairs_s
from rules.windows import Window


@dataclass(frozen=True, slots=True)
class StateEvent:
    """A machine entered ``state`` at UTC epoch seconds ``ts_s``."""

    ts_s: float
    state: MachineState
    reason: str = "none"


@dataclass(frozen=True, slots=True)
class StateInterval:
    start_s: float
    end_s: float
    state: MachineState
    reason: str

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


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

    def observation(self) -> Observation:
        return Observation(ts_s=self.ts_s, quality=self.quality, period_s=self.period_s)


def _time_ordered(events: Iterable[StateEvent]) -> tuple[Sequence[StateEvent], list[float]]:
    seq = events if isinstance(events, list | tuple) else list(events)
    ts = [e.ts_s for e in seq]
    if all(map(operator.le, ts, ts[1:])):
        return seq, ts
    ordered = sorted(seq, key=lambda e: e.ts_s)
    return ordered, [e.ts_s for e in ordered]


def in_time_order(events: Iterable[StateEvent]) -> Sequence[StateEvent]:
    """``events`` sorted by time (stable). Events arrive time-ordered from the source, so this
    checks that in one pass and sorts only when they are not."""
    return _time_ordered(events)[0]


def state_intervals(events: Iterable[StateEvent], observed: SpanSet) -> list[StateInterval]:
    """Each event's state from its time to the next event, cut to ``observed`` time."""
    ordered = in_time_order(events)
    obs = observed.pairs
    out: list[StateInterval] = []
    j, n_obs = 0, len(obs)
    for i, ev in enumerate(ordered):
        start_s = ev.ts_s
        end_s = ordered[i + 1].ts_s if i + 1 < len(ordered) else float("inf")
        if end_s <= start_s:
            continue
        while j < n_obs and obs[j][1] <= start_s:  # observed spans ending before this event
            j += 1
        k = j
        while k < n_obs and obs[k][0] < end_s:
            part_start, part_end = max(obs[k][0], start_s), min(obs[k][1], end_s)
            if part_end > part_start:
                out.append(StateInterval(part_start, part_end, ev.state, ev.reason))
            k += 1
    return out


def _spans(intervals: Iterable[StateInterval], state: MachineState | None = None) -> SpanSet:
    return SpanSet.of(Span(i.start_s, i.end_s) for i in intervals if state is None or i.state is state)


def seconds_in_state(intervals: Sequence[StateInterval], within: SpanSet) -> dict[MachineState, float]:
    """Seconds per state inside ``within``."""
    return {s: _spans(intervals, s).intersect(within).total_s for s in MachineState}


def downtime_by_reason_s(intervals: Sequence[StateInterval], within: SpanSet) -> dict[str, float]:
    """Seconds in ``down`` per reason code inside ``within`` (reasons with 0 s left out)."""
    out: dict[str, float] = {}
    for reason in sorted({i.reason for i in intervals if i.state is MachineState.DOWN}):
        spans = SpanSet.of(
            Span(i.start_s, i.end_s) for i in intervals if i.state is MachineState.DOWN and i.reason == reason
        )
        seconds = spans.intersect(within).total_s
        if seconds > 0:
            out[reason] = seconds
    return out


def breakdowns_starting_in(events: Iterable[StateEvent], window: Window) -> int:
    """Transitions into ``down`` from another state (or the first event) inside ``window``."""
    count = 0
    previous: MachineState | None = None
    for ev in in_time_order(events):
        if ev.state is MachineState.DOWN and previous is not MachineState.DOWN and window.contains_s(ev.ts_s):
            count += 1
        previous = ev.state
    return count


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
    covered = _spans(intervals).intersect(within)
    down = _spans(intervals, MachineState.DOWN).intersect(within).total_s
    off = _spans(intervals, MachineState.OFF).intersect(within).total_s
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
    ordered, starts = _time_ordered(events)
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
    run_planned = _spans(intervals, MachineState.RUNNING).intersect(planned_obs).total_s
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
) -> KpiResult:
    """Line efficiency over the observed planned time: pieces counted while observed, divided by
    operators × (planned ∩ observed) minutes — missing data shrinks both, never the ratio."""
    win = SpanSet((window.span,))
    planned_w = planned.intersect(win)
    worked_min = planned_w.intersect(observed).total_s / 60
    eff = line_efficiency(good_pieces, sam_min, operators, worked_min)
    values = (
        KpiValue("good_pieces", "pieces", float(good_pieces)),
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
