"""What the rules' OEE needs from the state-change events, per aggregation period. Pure: no I/O.

The rules judge stops on the *event* timeline (each ``machine_state`` event's state holds until the
next event; debounced: idle only after ``idle_after_s`` without sewing), not on the time slices of
``run_s/idle_s/off_s/down_s``: an idle period (touching idle events merged) of at least
``stop_threshold_s`` is a stop, judged by its whole length. So that the rules can sum periods instead
of reading every event, each period's aggregate also carries, for that timeline:

* ``state_known_s`` (time after the first event), ``event_down_s``, ``event_off_s``, ``breakdowns``
  (changes into ``down`` from another state);
* ``stop_s``: idle seconds of the period in idle periods *known at the period's end* to last at least
  the threshold (ended that long, or still open and that long already);
* ``idle_open_s``: the length so far of the idle period still open at the period's end when it is
  shorter than the threshold (its seconds are undecided; 0 otherwise);
* ``stop_late_s``: when an idle period reaches the threshold in this period, its seconds *before*
  the period, which earlier periods left undecided (0 when it was decided before the period);
* ``idle_reason_s``: idle seconds in idle periods with a known reason (after a repair) that are
  stops or still open at the period's end (the rules file such stops under ``stop.<reason>``, so
  they read the events there; a short idle after a repair does not matter);
* ``stop_threshold_s`` the split was made at.

Every stop second of a span of whole periods is then ``Σ stop_s + Σ stop_late_s`` corrected at the
span's two ends by ``idle_open_s`` of the period before each end and ``stop_late_s`` of the periods
after it (:mod:`rules.aggregate_kpi`). Figures of a period are computed only once every event
before its end is known (the caller waits for that); changes after the end are ignored, so a
period's figures never depend on when it was emitted. Times: UTC ms in, seconds out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seamline.contracts.kinds import MachineState

# Changes kept for periods still to close (an idle period in progress keeps its first change).
# A machine makes ~350 changes an hour; this is days of them, so the bound is only ever reached
# by a broken clock, and then the oldest are dropped (counted) and the figures say less is known.
MAX_CHANGES = 20_000
_UNKNOWN_REASONS = frozenset({"none", ""})


@dataclass(frozen=True, slots=True)
class Change:
    """A state-change event as published: its (strictly increasing) time, state and reason."""

    ts_ms: int
    state: MachineState
    reason: str = "none"


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodSplit:
    """One period's figures of the event timeline, in seconds (``breakdowns`` a count)."""

    state_known_s: float = 0.0
    event_down_s: float = 0.0
    event_off_s: float = 0.0
    stop_s: float = 0.0
    stop_late_s: float = 0.0
    idle_open_s: float = 0.0
    idle_reason_s: float = 0.0
    breakdowns: int = 0

    def metrics(self, stop_threshold_s: float) -> dict[str, float | int]:
        """The contract's names (``SewingMachineMetrics``), every one present (0 included)."""
        return {"state_known_s": self.state_known_s, "event_down_s": self.event_down_s,
                "event_off_s": self.event_off_s, "stop_s": self.stop_s, "stop_late_s": self.stop_late_s,
                "idle_open_s": self.idle_open_s, "idle_reason_s": self.idle_reason_s,
                "breakdowns": self.breakdowns, "stop_threshold_s": stop_threshold_s}


def _idle_run_start(changes: list[Change], k: int) -> int:
    """Index of the first change of the idle run holding change ``k`` (touching idle merged)."""
    while k > 0 and changes[k - 1].state is MachineState.IDLE:
        k -= 1
    return k


def split_period(changes: list[Change], start_ms: int, end_ms: int, threshold_ms: int) -> PeriodSplit:
    """:class:`PeriodSplit` of ``[start_ms, end_ms)`` from time-ordered ``changes`` (those at or
    after ``end_ms`` are ignored)."""
    n = next((i for i, c in enumerate(changes) if c.ts_ms >= end_ms), len(changes))
    first = next((i for i in range(n - 1, -1, -1) if changes[i].ts_ms <= start_ms), 0)
    if n == 0:
        return PeriodSplit()
    known = down = off = stop = late = reasoned = 0
    open_ms = breakdowns = 0
    for k in range(first, n):
        c = changes[k]
        seg_start, seg_end = max(c.ts_ms, start_ms), changes[k + 1].ts_ms if k + 1 < n else end_ms
        if c.state is MachineState.DOWN and c.ts_ms >= start_ms and (k == 0 or changes[k - 1].state
                                                                      is not MachineState.DOWN):
            breakdowns += 1
        if seg_end <= seg_start:
            continue
        known += seg_end - seg_start
        if c.state is MachineState.DOWN:
            down += seg_end - seg_start
        elif c.state is MachineState.OFF:
            off += seg_end - seg_start
        elif c.state is MachineState.IDLE and (k == first or changes[k - 1].state is not MachineState.IDLE):
            i0, j, still_open = _idle_run(changes, k, n)
            s_ms, e_ms = changes[i0].ts_ms, end_ms if still_open else changes[j].ts_ms
            in_p = min(e_ms, end_ms) - max(s_ms, start_ms)
            stop_or_open = e_ms - s_ms >= threshold_ms or still_open
            if stop_or_open and any(changes[i].reason not in _UNKNOWN_REASONS for i in range(i0, j)):
                reasoned += in_p
            if e_ms - s_ms >= threshold_ms:  # a stop (as known at end_ms)
                stop += in_p
                if s_ms < start_ms and start_ms - s_ms < threshold_ms:  # undecided at start_ms
                    late += start_ms - s_ms
            elif still_open:
                open_ms = e_ms - s_ms
    return PeriodSplit(state_known_s=known / 1000, event_down_s=down / 1000, event_off_s=off / 1000,
                       stop_s=stop / 1000, stop_late_s=late / 1000, idle_open_s=open_ms / 1000,
                       idle_reason_s=reasoned / 1000, breakdowns=breakdowns)


def _idle_run(changes: list[Change], k: int, n: int) -> tuple[int, int, bool]:
    """(index of its first change, index of the change ending it, still open among the first
    ``n`` changes) of the idle run holding change ``k``."""
    j = k
    while j < n and changes[j].state is MachineState.IDLE:
        j += 1
    return _idle_run_start(changes, k), j, j >= n


class EventTimeline:
    """The published state changes of one machine, and :meth:`split` per period."""

    def __init__(self, stop_threshold_s: float) -> None:
        self.threshold_ms = round(stop_threshold_s * 1000)
        self.stop_threshold_s = stop_threshold_s
        self._changes: list[Change] = []
        self.dropped = 0  # changes dropped at MAX_CHANGES

    def add(self, ts_ms: int, state: MachineState, reason: str) -> None:
        self._changes.append(Change(ts_ms, state, reason))
        if len(self._changes) > MAX_CHANGES:
            del self._changes[0]
            self.dropped += 1

    def split(self, start_ms: int, end_ms: int) -> PeriodSplit:
        """Figures of ``[start_ms, end_ms)`` (every change before ``end_ms`` must have been added);
        changes no later period needs are forgotten."""
        out = split_period(self._changes, start_ms, end_ms, self.threshold_ms)
        self._forget_before(end_ms)
        return out

    def _forget_before(self, t_ms: int) -> None:
        last = next((i for i in range(len(self._changes) - 1, -1, -1) if self._changes[i].ts_ms <= t_ms), None)
        if last is None:
            return
        keep = _idle_run_start(self._changes, last)
        del self._changes[:max(0, keep - 1)]  # one more: whether a down change is a new breakdown

    def to_dict(self) -> dict[str, Any]:
        return {"changes": [[c.ts_ms, c.state.value, c.reason] for c in self._changes]}

    @classmethod
    def from_dict(cls, stop_threshold_s: float, d: dict[str, Any]) -> EventTimeline:
        t = cls(stop_threshold_s)
        t._changes = [Change(int(ts), MachineState(state), str(reason)) for ts, state, reason in d.get("changes", [])]
        return t
