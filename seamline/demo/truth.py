"""The simulator's ground truth for a KPI window, computed straight from the recorded state
timelines and piece times — independent of the pipeline, so the demo and the e2e tests can hold
the measured KPIs against it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from seamline.contracts.messages import MachineState
from seamline.firmware_stubs.sewing.floor import FloorReport
from seamline.firmware_stubs.sewing.truth import MachineTruth

# The rules engine's default: idle runs at least this long are stops (no work, changeover), not
# part of the sewing cycle (master data kpi.stop_threshold_s).
STOP_THRESHOLD_S = 300.0

Span = tuple[int, int]  # [start_ms, end_ms)


def overlap_ms(a: Span, spans: Sequence[Span]) -> int:
    return sum(max(0, min(a[1], e) - max(a[0], s)) for s, e in spans)


@dataclass(frozen=True, slots=True)
class LineTruth:
    enterprise: str
    line: str
    machines: int
    operators: int
    sam_min: float
    planned_min: float  # per machine
    run_min: float  # summed over machines, inside planned time
    operating_min: float  # summed over machines: running, or idle shorter than a stop, inside planned time
    pieces: int  # completed inside the window

    @property
    def utilization(self) -> float:
        return self.run_min / (self.machines * self.planned_min)

    @property
    def line_efficiency(self) -> float:
        return self.pieces * self.sam_min / (self.operators * self.planned_min)

    @property
    def availability(self) -> float:
        return min(1.0, self.operating_min / (self.machines * self.planned_min))

    @property
    def performance(self) -> float:
        return min(1.0, self.pieces * self.sam_min / self.operating_min) if self.operating_min else 0.0

    @property
    def oee(self) -> float:
        return self.availability * self.performance  # quality 1: the simulator has no rejects


def line_truths(floor: FloorReport, window: Span, planned: Sequence[Span]) -> list[LineTruth]:
    """Per line: run time inside planned time and pieces completed in ``window`` (UTC ms)."""
    planned_in = [(max(s, window[0]), min(e, window[1])) for s, e in planned if e > window[0] and s < window[1]]
    planned_min = sum(e - s for s, e in planned_in) / 60_000
    acc: dict[tuple[str, str], dict[str, float]] = {}
    for r in floor.nodes:
        a = r.node.addr
        row = acc.setdefault((a.enterprise, a.line),
                             {"n": 0, "run_ms": 0.0, "op_s": 0.0, "pieces": 0, "sam": r.node.profile.sam_min})
        row["n"] += 1
        truth = MachineTruth(tuple(r.sim.truth), tuple(r.sim.timeline.pieces_ms))
        row["op_s"] += truth.operating_seconds(planned_in, stop_threshold_s=STOP_THRESHOLD_S)
        row["run_ms"] += sum(overlap_ms((t.start_ms, t.end_ms), planned_in)
                             for t in r.sim.truth if t.state is MachineState.RUNNING)
        row["pieces"] += sum(1 for t in r.sim.timeline.pieces_ms if window[0] <= t < window[1])
    return [LineTruth(enterprise=e, line=ln, machines=int(v["n"]), operators=int(v["n"]), sam_min=v["sam"],
                      planned_min=planned_min, run_min=v["run_ms"] / 60_000, operating_min=v["op_s"] / 60,
                      pieces=int(v["pieces"]))
            for (e, ln), v in sorted(acc.items())]
