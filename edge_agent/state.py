"""Machine state (off / idle / running / down) from 1 s motor-current samples. Pure: no I/O, no clock.

A sample at ``ts_ms`` covers ``[ts_ms, ts_ms + sample_period)`` of device time (the node's RMS over
that window). Two outputs, on purpose different:

* **Time slices** — exact accounting. Every sample interval is split into running and idle parts.
  A burst covering part of the second shows as a current between the idle and the running level;
  RMS² is linear in the running fraction, so ``f = (I² − I_idle²) / (I_run² − I_idle²)`` with
  ``I_run`` taken from the neighbouring sample inside the same burst (bursts differ in speed).
  When the node also reports needle speed, ``f = speed / neighbour's speed`` is used instead
  (exact: speed is a window mean). A powered interval that is not running is idle (handling gaps
  between bursts included), an unpowered one off, and while the andon says *down* it is down.
* **State-change events** — debounced, for people and alerts: *running* starts with the first
  running slice (a lone blip shorter than ``min_running_s`` is none), *idle* only after
  ``idle_after_s`` without running, *off* after ``off_after_s`` unpowered, each stamped with the
  time the new state began. An andon ``down`` forces *down* (with its reason) until repaired.

A burst is decided when it has ended (its inner samples tell the burst's full level, which its
edge samples are measured against), so the tracker holds the samples of at most one burst
(``MAX_HELD_SAMPLES``); they are part of the serialisable state.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from seamline.contracts.kinds import MachineState

# Both neighbours running and at least this fraction estimated: a full second (the shortfall
# is sensor noise, not a gap; a real handling gap is >= 0.5 s).
INTERIOR_FULL_FRACTION = 0.9
# Below this fraction a burst edge is noise.
EDGE_MIN_FRACTION = 0.02
# A burst is decided when it ends; one longer than this many samples is decided in parts, so
# memory and the delay of aggregates stay bounded (2 min is far beyond a sewing burst).
MAX_HELD_SAMPLES = 120


@dataclass(frozen=True, slots=True, kw_only=True)
class Thresholds:
    """Per machine type; currents in A, durations in s (see ``edge_agent.config.MachineTypeSettings``)."""

    off_below_a: float = 0.05
    idle_current_a: float = 0.45
    run_current_a: float = 3.2
    running_above_a: float = 0.8
    hysteresis_a: float = 0.1
    min_running_s: float = 0.3
    idle_after_s: float = 3.0
    off_after_s: float = 2.0
    max_gap_s: float = 5.0
    outage_gap_s: float = 300.0
    repair_inferred_after_s: float = 60.0
    sample_period_s: float = 1.0
    stop_threshold_s: float = 300.0  # the aggregates' idle split (edge_agent.stop_split)


@dataclass(frozen=True, slots=True)
class Slice:
    """``[start_ms, end_ms)`` of device time spent in ``state``."""

    start_ms: int
    end_ms: int
    state: MachineState

    @property
    def duration_s(self) -> float:
        return (self.end_ms - self.start_ms) / 1000.0


@dataclass(frozen=True, slots=True)
class StateChange:
    """The machine entered ``state`` at ``ts_ms`` (device time, UTC ms)."""

    ts_ms: int
    state: MachineState
    previous: MachineState | None
    previous_duration_s: float | None
    reason: str = "none"


@dataclass(frozen=True, slots=True)
class Step:
    slices: tuple[Slice, ...] = ()
    changes: tuple[StateChange, ...] = ()


@dataclass(slots=True)
class _Reading:
    start_ms: int
    end_ms: int
    current_a: float  # 0.0 when unpowered
    speed_spm: float | None
    core: bool  # clearly running (above the running threshold)


def run_fraction(current_a: float, idle_a: float, run_a: float) -> float:
    """Running fraction of an RMS window between idle and run current, in [0, 1]."""
    if run_a <= idle_a:
        return 1.0 if current_a >= run_a else 0.0
    return min(1.0, max(0.0, (current_a**2 - idle_a**2) / (run_a**2 - idle_a**2)))


class StateTracker:
    """Feed samples and andon events of ONE machine in device-time order; collect slices and events."""

    def __init__(self, thresholds: Thresholds) -> None:
        self.t = thresholds
        # Undecided readings: at most one non-running lead, then the running samples of a burst.
        self._held: list[_Reading] = []
        self._last_start_ms: int | None = None
        self._last_end_ms: int | None = None
        self._powered = False  # hysteresis memory of the off threshold
        self._ref_spm: float | None = None  # learned full-burst speed (from bursts >= 3 samples)
        self._ref_a = thresholds.run_current_a  # learned full-burst current
        self._marks: list[tuple[int, bool, str]] = []  # andon (ts_ms, down?, reason) not yet applied
        self._down = False  # andon breakdown active at the end of the last slice
        self._down_running_ms = 0  # sewing seen during the current breakdown
        self._state: MachineState | None = None  # the event state
        self._since_ms: int | None = None
        self._candidate: MachineState | None = None
        self._candidate_since_ms = 0

    @property
    def state(self) -> MachineState | None:
        return self._state

    def events_pending_since_ms(self) -> int | None:
        """Device time from which a state change may still be stamped (an idle/off candidate
        waiting for ``idle_after_s``/``off_after_s``), ``None`` when events are final up to the
        decided slices."""
        return self._candidate_since_ms if self._candidate is not None else None

    # -- inputs -------------------------------------------------------------------------------

    def on_sample(self, ts_ms: int, current_a: float | None, speed_spm: float | None = None) -> Step:
        """A sample covering ``[ts_ms, ts_ms + period)``; ``None`` current is missing data."""
        if self._last_start_ms is not None and ts_ms <= self._last_start_ms:
            return Step()  # duplicate or out of order: that device time is accounted
        last_end = self._last_end_ms
        gap = last_end is None or ts_ms - last_end > self.t.max_gap_s * 1000
        start_ms = ts_ms if gap or last_end is None else min(ts_ms, last_end)
        end_ms = ts_ms + round(self.t.sample_period_s * 1000)
        self._last_start_ms, self._last_end_ms = ts_ms, end_ms
        if current_a is None:
            self._last_end_ms = None  # the next sample starts after missing data
            return self._decide(self._held)
        out = self._decide(self._held) if gap else Step()
        self._powered = current_a >= self.t.off_below_a + (0.0 if self._powered else self.t.hysteresis_a)
        current = current_a if self._powered else 0.0
        in_burst = bool(self._held and self._held[-1].core)
        core = current >= self.t.running_above_a - (self.t.hysteresis_a if in_burst else 0.0)
        r = _Reading(start_ms, end_ms, current, speed_spm if self._powered else None, core)
        if core:
            self._held.append(r)
            if len(self._held) > MAX_HELD_SAMPLES:  # a very long burst: decide its older part
                return self._join(out, self._decide(self._held[:-2], keep=self._held[-2:]))
            return out
        if in_burst:  # the burst ended: r is its trailing edge
            return self._join(out, self._decide([*self._held, r]))
        step = self._decide(self._held)
        self._held = [r]  # maybe the lead of the next burst
        return self._join(out, step)

    def on_andon(self, ts_ms: int, state: MachineState, reason: str) -> Step:
        """Operator's breakdown button: ``down`` with a reason, anything else ends the breakdown.
        Applied at its device time within the samples; its events come with their slices."""
        self._marks.append((ts_ms, state == MachineState.DOWN, reason))
        decided_until = None if self._held else self._last_end_ms
        if decided_until is None or ts_ms >= decided_until:
            return Step()  # applied when the slices around ts_ms are decided
        return Step(changes=tuple(self._apply_marks(until_ms=decided_until)))  # late: apply now

    def flush(self) -> Step:
        """Decide every held sample now (end of stream); the next sample starts afresh."""
        step = self._decide(self._held)
        self._last_end_ms = None
        return Step(step.slices, step.changes + tuple(self._apply_marks(until_ms=None)))

    @staticmethod
    def _join(a: Step, b: Step) -> Step:
        return Step(a.slices + b.slices, a.changes + b.changes)

    # -- deciding a burst ---------------------------------------------------------------------

    def _decide(self, group: list[_Reading], *, keep: list[_Reading] | None = None) -> Step:
        """Turn ``group`` (contiguous readings) into slices and events; hold ``keep`` afterwards."""
        self._held = list(keep or [])
        if not group:
            return Step()
        fractions = self._fractions(group, open_end=keep is not None)
        slices: list[Slice] = []
        changes: list[StateChange] = []
        for i, (r, f) in enumerate(zip(group, fractions, strict=True)):
            before = i > 0 and fractions[i - 1] > 0
            after = (i + 1 < len(group) and fractions[i + 1] > 0) or (keep is not None and i == len(group) - 1)
            for s in self._base_slices(r, f, before=before, after=after):
                for piece in self._overlay(s, changes):
                    slices.append(piece)
                    changes += self._feed_events(piece)
        return Step(tuple(slices), tuple(changes))

    def _fractions(self, group: list[_Reading], *, open_end: bool) -> list[float]:
        """Running fraction of each reading of a burst group, from its level relative to the burst's."""
        core = [i for i, r in enumerate(group) if r.core]
        if not core:
            return [0.0] * len(group)
        use_speed = all(r.speed_spm is not None for r in group)
        levels = [(r.speed_spm or 0.0) if use_speed else r.current_a for r in group]
        interior = [levels[i] for i in core[1:-1]] if not open_end else [levels[i] for i in core[1:]]
        if interior:
            ref = sorted(interior)[len(interior) // 2]
            if use_speed:
                self._ref_spm = ref
            else:
                self._ref_a = ref
        else:
            learned = self._ref_spm if use_speed else self._ref_a
            ref = max([*levels, learned or 0.0])
        out = []
        for i, (r, level) in enumerate(zip(group, levels, strict=True)):
            ref_i = max(ref, level)
            if use_speed:
                f = level / ref_i if ref_i > 0 else 0.0
            else:
                f = run_fraction(level, self.t.idle_current_a, ref_i)
            if r.core and core[0] < i < core[-1] and f >= INTERIOR_FULL_FRACTION:
                f = 1.0
            out.append(f if f >= EDGE_MIN_FRACTION else 0.0)
        period_s = self.t.sample_period_s
        if not open_end and len(core) == 1 and sum(out) * period_s < self.t.min_running_s:
            return [0.0] * len(group)  # a lone blip, shorter than a real burst
        return out

    def _base_slices(self, r: _Reading, f: float, *, before: bool, after: bool) -> list[Slice]:
        if r.current_a <= 0.0:
            return [Slice(r.start_ms, r.end_ms, MachineState.OFF)]
        dur = r.end_ms - r.start_ms
        run = round(dur * f)
        if run <= 0:
            return [Slice(r.start_ms, r.end_ms, MachineState.IDLE)]
        if run >= dur:
            return [Slice(r.start_ms, r.end_ms, MachineState.RUNNING)]
        # Where in the window the burst was: next to the running neighbour(s).
        first = run if before and not after else 0 if after and not before else run // 2
        out = [
            Slice(r.start_ms, r.start_ms + first, MachineState.RUNNING),
            Slice(r.start_ms + first, r.end_ms - (run - first), MachineState.IDLE),
            Slice(r.end_ms - (run - first), r.end_ms, MachineState.RUNNING),
        ]
        if not (before or after):  # a lone burst: centred
            mid = r.start_ms + (dur - run) // 2
            out = [Slice(r.start_ms, mid, MachineState.IDLE), Slice(mid, mid + run, MachineState.RUNNING),
                   Slice(mid + run, r.end_ms, MachineState.IDLE)]
        return [s for s in out if s.end_ms > s.start_ms]

    # -- andon and events ---------------------------------------------------------------------

    def _overlay(self, s: Slice, changes: list[StateChange]) -> list[Slice]:
        """Split ``s`` at pending andon marks; parts during a breakdown become DOWN. A machine that
        sews for ``repair_inferred_after_s`` during a breakdown has been repaired even if the
        "repaired" press never arrived (lost in a Wi-Fi drop-out): the breakdown ends there, with
        reason ``repaired.inferred`` — a mechanic's few test stitches stay inside the breakdown."""
        out: list[Slice] = []
        t = s.start_ms
        while t < s.end_ms:
            changes += self._apply_marks(until_ms=t + 1)
            nxt = min([m[0] for m in self._marks if m[0] > t] + [s.end_ms])
            if self._down and s.state == MachineState.RUNNING:
                self._down_running_ms += nxt - t
                if self._down_running_ms >= self.t.repair_inferred_after_s * 1000:
                    self._down = False
                    changes += self._enter(MachineState.IDLE, t, "repaired.inferred")
            out.append(Slice(t, nxt, MachineState.DOWN if self._down else s.state))
            t = nxt
        return out

    def _apply_marks(self, *, until_ms: int | None) -> list[StateChange]:
        changes: list[StateChange] = []
        while self._marks and (until_ms is None or self._marks[0][0] < until_ms):
            ts, down, reason = self._marks.pop(0)
            self._candidate = None
            if down:
                self._down, self._down_running_ms = True, 0
                changes += self._enter(MachineState.DOWN, ts, reason)
            elif self._down:
                self._down = False
                changes += self._enter(MachineState.IDLE, ts, reason)
        return changes

    def _enter(self, state: MachineState, at_ms: int, reason: str = "none") -> list[StateChange]:
        if self._state == state:
            return []
        prev, since = self._state, self._since_ms
        duration = None if since is None else max(0.0, (at_ms - since) / 1000.0)
        self._state, self._since_ms = state, at_ms
        return [StateChange(at_ms, state, prev, duration, reason)]

    def _feed_events(self, s: Slice) -> list[StateChange]:
        if s.state == MachineState.DOWN or self._state == MachineState.DOWN:
            return []  # only the andon ends a breakdown
        if s.state == MachineState.RUNNING:
            self._candidate = None
            return self._enter(MachineState.RUNNING, s.start_ms)
        if s.state == self._state:
            self._candidate = None
            return []
        if s.state == MachineState.IDLE and self._state in (None, MachineState.OFF):
            self._candidate = None
            return self._enter(MachineState.IDLE, s.start_ms)
        if s.state != self._candidate:
            self._candidate, self._candidate_since_ms = s.state, s.start_ms
        wait_s = self.t.off_after_s if s.state == MachineState.OFF else self.t.idle_after_s
        if self._state is None or (s.end_ms - self._candidate_since_ms) >= wait_s * 1000:
            state, since = s.state, self._candidate_since_ms
            self._candidate = None
            return self._enter(state, since)
        return []

    # -- checkpoint ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state, for the agent's checkpoint."""
        return {
            "held": [asdict(r) for r in self._held],
            "last_start_ms": self._last_start_ms,
            "last_end_ms": self._last_end_ms,
            "powered": self._powered,
            "ref_spm": self._ref_spm,
            "ref_a": self._ref_a,
            "marks": [list(m) for m in self._marks],
            "down": self._down,
            "down_running_ms": self._down_running_ms,
            "state": self._state.value if self._state else None,
            "since_ms": self._since_ms,
            "candidate": self._candidate.value if self._candidate else None,
            "candidate_since_ms": self._candidate_since_ms,
        }

    @classmethod
    def from_dict(cls, thresholds: Thresholds, d: dict[str, Any]) -> StateTracker:
        t = cls(thresholds)
        t._held = [_Reading(**r) for r in d.get("held", [])]
        t._last_start_ms = d.get("last_start_ms")
        t._last_end_ms = d.get("last_end_ms")
        t._powered = bool(d.get("powered"))
        t._ref_spm = d.get("ref_spm")
        t._ref_a = float(d.get("ref_a") or thresholds.run_current_a)
        t._marks = [(int(ts), bool(down), str(reason)) for ts, down, reason in d.get("marks", [])]
        t._down = bool(d.get("down"))
        t._down_running_ms = int(d.get("down_running_ms") or 0)
        t._state = MachineState(d["state"]) if d.get("state") else None
        t._since_ms = d.get("since_ms")
        t._candidate = MachineState(d["candidate"]) if d.get("candidate") else None
        t._candidate_since_ms = int(d.get("candidate_since_ms") or 0)
        return t
