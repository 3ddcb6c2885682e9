"""Oracle for the sewing KPIs: straightforward (slow) versions of what the production fast paths
compute, kept only to check them. Nothing in ``rules`` imports this.

Each function builds one interval or span per state event or aggregate (per-event SpanSets,
sort-then-merge of Span objects, bisect lookups) — the code the fast paths in
:mod:`rules.kpi.state_time`, :mod:`rules.kpi.operating_time` and :mod:`rules.machine_kpi`
replaced. Tests compare with ``==`` (not approx) where the production code promises the same sums
in the same order. Seconds in, seconds out.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from seamline.contracts.messages import MachineState, Quality
from seamline.rules.kpi.operating_time import OperatingTime, stop_key
from seamline.rules.kpi.sewing import Aggregate
from seamline.rules.kpi.state_time import StateEvent, StateSeconds
from seamline.rules.spans import Span, SpanSet

_UNKNOWN_IDLE_REASONS = frozenset({"none", ""})


@dataclass(frozen=True, slots=True)
class StateInterval:
    start_s: float
    end_s: float
    state: MachineState
    reason: str

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


# ---------------------------------------------------------------- spans

def normalise(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Sorted, merged (touching too), empty spans dropped: what SpanSet.of keeps."""
    out: list[Span] = []
    for span in sorted(s for s in spans if s.end_s > s.start_s):
        if out and span.start_s <= out[-1].end_s:
            out[-1] = Span(out[-1].start_s, max(out[-1].end_s, span.end_s))
        else:
            out.append(span)
    return tuple(out)


def intersect(a_set: SpanSet, b_set: SpanSet) -> SpanSet:
    out: list[Span] = []
    i = j = 0
    a, b = a_set.spans, b_set.spans
    while i < len(a) and j < len(b):
        start, end = max(a[i].start_s, b[j].start_s), min(a[i].end_s, b[j].end_s)
        if end > start:
            out.append(Span(start, end))
        if a[i].end_s < b[j].end_s:
            i += 1
        else:
            j += 1
    return SpanSet(tuple(out))


# ---------------------------------------------------------------- state time

def state_intervals(events: Iterable[StateEvent], observed: SpanSet) -> list[StateInterval]:
    """Each event's state from its time to the next event, cut to ``observed`` time."""
    ordered = sorted(events, key=lambda e: e.ts_s)
    out: list[StateInterval] = []
    for i, ev in enumerate(ordered):
        end_s = ordered[i + 1].ts_s if i + 1 < len(ordered) else float("inf")
        if end_s <= ev.ts_s:
            continue
        for part in intersect(observed, SpanSet((Span(ev.ts_s, end_s),))):
            out.append(StateInterval(part.start_s, part.end_s, ev.state, ev.reason))
    return out


def state_spans(intervals: Iterable[StateInterval], state: MachineState | None = None) -> SpanSet:
    return SpanSet.of(Span(i.start_s, i.end_s) for i in intervals if state is None or i.state is state)


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


def seconds_within(aggregates: Sequence[Aggregate], spans: SpanSet) -> StateSeconds:
    """Seconds per state inside ``spans``, each aggregate prorated by its overlap (bisect lookup)."""
    run = idle = off = down = 0.0
    for a in aggregates:
        if a.quality is Quality.STALE or a.period_s <= 0:
            continue
        span = Span(a.ts_s, a.ts_s + a.period_s)
        total, i = 0.0, bisect_right(spans.spans, span.start_s, key=lambda s: s.end_s)
        while i < len(spans.spans) and spans.spans[i].start_s < span.end_s:
            total += spans.spans[i].overlap_s(span)
            i += 1
        share = total / a.period_s
        if share > 0:
            run, idle = run + a.run_s * share, idle + a.idle_s * share
            off, down = off + a.off_s * share, down + a.down_s * share
    return StateSeconds(run, idle, off, down)


def observed(aggregates: Iterable[Aggregate], offline: SpanSet) -> SpanSet:
    """What the aggregates vouch for: each non-stale one its period ``[ts, ts + period)``, a live
    (``good``) one minus the gateway's offline time, a replayed (``historical``) one all of it."""
    spans: list[Span] = []
    for a in aggregates:
        if a.quality is Quality.STALE or a.period_s <= 0:
            continue
        own = SpanSet.single(a.ts_s, a.ts_s + a.period_s)
        spans += (own if a.quality is Quality.HISTORICAL else own.subtract(offline)).spans
    return SpanSet.of(spans)


# ---------------------------------------------------------------- operating time

def whole_intervals(events: Iterable[StateEvent], *, until_s: float) -> list[StateInterval]:
    """Each event's state to the next event, the last one until ``until_s``; not cut to observed time."""
    ordered = sorted(events, key=lambda e: e.ts_s)
    out: list[StateInterval] = []
    for i, ev in enumerate(ordered):
        end_s = ordered[i + 1].ts_s if i + 1 < len(ordered) else max(until_s, ev.ts_s)
        if end_s > ev.ts_s:
            out.append(StateInterval(ev.ts_s, end_s, ev.state, ev.reason))
    return out


def stops(intervals: Sequence[StateInterval], *, stop_threshold_s: float) -> list[StateInterval]:
    """Idle periods at least ``stop_threshold_s`` long, touching idle intervals merged first; a
    merged stop carries its first known reason."""
    merged: list[StateInterval] = []
    for i in sorted((i for i in intervals if i.state is MachineState.IDLE), key=lambda i: i.start_s):
        last = merged[-1] if merged else None
        if last is not None and i.start_s <= last.end_s:
            reason = last.reason if last.reason not in _UNKNOWN_IDLE_REASONS else i.reason
            merged[-1] = StateInterval(last.start_s, max(last.end_s, i.end_s), MachineState.IDLE, reason)
        else:
            merged.append(i)
    return [m for m in merged if m.duration_s >= stop_threshold_s]


def operating_time(intervals: Sequence[StateInterval], within: SpanSet, *, stop_threshold_s: float
                   ) -> OperatingTime:
    """Operating time = ``within`` minus down, off and stops, from whole intervals."""
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


def machine_operating_time(aggregates: Sequence[Aggregate], events: Sequence[StateEvent], within: SpanSet,
                           *, known_until_s: float, stop_threshold_s: float) -> OperatingTime:
    """Operating time from the whole intervals, time before the first event from the aggregates."""
    whole = whole_intervals(events, until_s=known_until_s)
    op = operating_time(whole, within, stop_threshold_s=stop_threshold_s)
    if op.unknown_s <= 0:
        return op
    unknown = within.subtract(SpanSet(normalise(Span(i.start_s, i.end_s) for i in whole)))
    agg = seconds_within(aggregates, unknown)
    off, down = min(agg.off_s, unknown.total_s), min(agg.down_s, max(0.0, unknown.total_s - agg.off_s))
    return OperatingTime(within_s=op.within_s, operating_s=op.operating_s + unknown.total_s - off - down,
                         stop_s=op.stop_s, down_s=op.down_s + down, off_s=op.off_s + off, unknown_s=0.0,
                         stop_by_reason_s=op.stop_by_reason_s)
