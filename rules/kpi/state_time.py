"""A machine's time in each state, and its pieces, inside given spans (UTC epoch s).

Two sources say it: the edge's 60 s aggregates (seconds per state and pieces per period; an
aggregate counts in proportion to how much of its period lies in the span asked for) and the
``machine_state`` events (a state holds from its event until the next event; cut to observed
time, so a gateway outage never turns into downtime). The events give what the aggregates do not
carry: breakdown reasons and counts. Seconds in, seconds out.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from seamline.contracts.messages import MachineState, Quality
from seamline.rules.kpi.sewing import Aggregate
from seamline.rules.spans import Pair, Span, SpanSet, intersect_pairs, merge_sorted, total_pairs_s
from seamline.rules.windows import Window


@dataclass(frozen=True, slots=True)
class StateEvent:
    """A machine entered ``state`` at UTC epoch seconds ``ts_s``."""

    ts_s: float
    state: MachineState
    reason: str = "none"


def time_ordered(events: Iterable[StateEvent]) -> tuple[Sequence[StateEvent], list[float]]:
    """``events`` sorted by time (stable), and their times."""
    seq = events if isinstance(events, list | tuple) else list(events)
    ts = [e.ts_s for e in seq]
    if all(map(operator.le, ts, ts[1:])):
        return seq, ts
    ordered = sorted(seq, key=lambda e: e.ts_s)
    return ordered, [e.ts_s for e in ordered]


def in_time_order(events: Iterable[StateEvent]) -> Sequence[StateEvent]:
    """``events`` sorted by time (stable). Events arrive time-ordered from the source, so this
    checks that in one pass and sorts only when they are not."""
    return time_ordered(events)[0]


def breakdowns_starting_in(events: Iterable[StateEvent], window: Window) -> int:
    """Transitions into ``down`` from another state (or the first event) inside ``window``."""
    count = 0
    previous: MachineState | None = None
    for ev in in_time_order(events):
        if ev.state is MachineState.DOWN and previous is not MachineState.DOWN and window.contains_s(ev.ts_s):
            count += 1
        previous = ev.state
    return count


def down_by_reason_s(events: Iterable[StateEvent], observed: SpanSet, within: SpanSet) -> dict[str, float]:
    """Seconds in ``down`` per reason inside ``within``, each down event's state held until the
    next event and cut to ``observed`` (reasons in sorted order, those with 0 s left out)."""
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
        while j < n_obs and obs[j][1] <= start:  # observed spans ending before this event
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


@dataclass(frozen=True, slots=True)
class StateSeconds:
    run_s: float = 0.0
    idle_s: float = 0.0
    off_s: float = 0.0
    down_s: float = 0.0


def seconds_within(aggregates: Sequence[Aggregate], spans: SpanSet) -> StateSeconds:
    """Seconds per state inside ``spans``, each aggregate prorated by its overlap (stale ones and
    those without a period left out)."""
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


def pieces_within(aggregates: Iterable[Aggregate], spans: SpanSet) -> tuple[int, int]:
    """(good pieces, rejects) of the aggregates whose period midpoint lies in ``spans`` (a piece
    belongs to one period, so windows split anywhere add up exactly)."""
    good = rejects = 0
    for a in aggregates:
        if a.quality is not Quality.STALE and spans.contains(a.ts_s + a.period_s / 2):
            good, rejects = good + a.pieces, rejects + a.rejects
    return good, rejects
