"""A machine's state over time from its state-change events: ordered events, intervals of each
state over observed time (a state holds from its event until the next event, never across
unobserved time, so a gateway outage never turns into downtime), time in state, downtime by
reason, breakdowns. Seconds in, seconds out."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from seamline.contracts.messages import MachineState
from seamline.rules.spans import Span, SpanSet
from seamline.rules.windows import Window


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


def time_ordered(events: Iterable[StateEvent]) -> tuple[Sequence[StateEvent], list[float]]:
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


def state_spans(intervals: Iterable[StateInterval], state: MachineState | None = None) -> SpanSet:
    return SpanSet.of(Span(i.start_s, i.end_s) for i in intervals if state is None or i.state is state)


def seconds_in_state(intervals: Sequence[StateInterval], within: SpanSet) -> dict[MachineState, float]:
    """Seconds per state inside ``within``."""
    return {s: state_spans(intervals, s).intersect(within).total_s for s in MachineState}


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
