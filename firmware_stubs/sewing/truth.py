"""The simulator's ground truth of one machine, accounted the way the KPIs define it: time in a
state inside given spans, operating time (running, or idle shorter than a stop), stops (idle runs at
least the stop threshold long, consecutive idle segments merged) and pieces. Pure functions over the
recorded truth timeline, independent of the pipeline, so the demo and the tests can hold the
measured KPIs against them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from seamline.contracts.messages import MachineState
from seamline.firmware_stubs.sewing.machine import TruthSegment

# Truth idle reasons that say nothing about why the machine stood (the edge cannot know them).
_NO_IDLE_REASON = frozenset({"handling", "none", ""})

@dataclass(frozen=True, slots=True)
class StateRun:
    """Consecutive truth segments of one state, ``[start_ms, end_ms)``; idle merged across reasons
    (``reason`` = the first one that is not handling, else ``none``), down split per breakdown."""

    start_ms: int
    end_ms: int
    state: MachineState
    reason: str

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


def state_runs(truth: Iterable[TruthSegment]) -> list[StateRun]:
    out: list[StateRun] = []
    for seg in truth:
        reason = "none" if seg.reason in _NO_IDLE_REASON else seg.reason
        last = out[-1] if out else None
        same = last is not None and last.end_ms == seg.start_ms and last.state is seg.state
        if same and last is not None and (seg.state is not MachineState.DOWN or last.reason == reason):
            keep = last.reason if last.reason != "none" else reason
            out[-1] = StateRun(last.start_ms, seg.end_ms, seg.state, keep)
        else:
            out.append(StateRun(seg.start_ms, seg.end_ms, seg.state, reason))
    return out


@dataclass(frozen=True, slots=True)
class MachineTruth:
    truth: tuple[TruthSegment, ...]
    pieces_ms: tuple[int, ...]

    def seconds(self, state: MachineState, spans_ms: Iterable[tuple[int, int]]) -> float:
        """True seconds in ``state`` inside the given ``[start, end)`` ms spans."""
        total = 0
        for a, b in spans_ms:
            for seg in self.truth:
                if seg.state is state:
                    total += max(0, min(seg.end_ms, b) - max(seg.start_ms, a))
        return total / 1000.0

    def _classified(self, spans_ms: Iterable[tuple[int, int]], stop_threshold_s: float) -> tuple[float, float]:
        threshold_ms = stop_threshold_s * 1000
        operating = stop = 0
        spans = list(spans_ms)
        for run in state_runs(self.truth):
            if run.state in (MachineState.DOWN, MachineState.OFF):
                continue
            inside = sum(max(0, min(run.end_ms, b) - max(run.start_ms, a)) for a, b in spans)
            if run.state is MachineState.IDLE and run.duration_ms >= threshold_ms:
                stop += inside
            else:
                operating += inside
        return operating / 1000.0, stop / 1000.0

    def operating_seconds(self, spans_ms: Iterable[tuple[int, int]], *, stop_threshold_s: float) -> float:
        """True operating seconds inside the spans: running, or idle in a run shorter than the threshold."""
        return self._classified(spans_ms, stop_threshold_s)[0]

    def stop_seconds(self, spans_ms: Iterable[tuple[int, int]], *, stop_threshold_s: float) -> float:
        """True stop seconds inside the spans: idle runs at least ``stop_threshold_s`` long."""
        return self._classified(spans_ms, stop_threshold_s)[1]

    def stop_runs(self, stop_threshold_s: float) -> list[tuple[int, int]]:
        """``[start, end)`` ms of the true stops (merged idle runs at least ``stop_threshold_s`` long)."""
        return [(r.start_ms, r.end_ms) for r in state_runs(self.truth)
                if r.state is MachineState.IDLE and r.duration_ms >= stop_threshold_s * 1000]

    def pieces(self, start_ms: int, end_ms: int) -> int:
        return sum(1 for t in self.pieces_ms if start_ms <= t < end_ms)
