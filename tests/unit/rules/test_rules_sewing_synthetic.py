"""rules.synthetic: machine_state events as the edge agent emits them, and the truth's operating time."""

from __future__ import annotations

import pytest

from seamline.contracts.messages import MachineState
from seamline.edge_agent.state import Thresholds
from seamline.firmware_stubs.sewing.machine import TruthSegment
from tests.support.synthetic import EDGE_IDLE_AFTER_MS, EDGE_OFF_AFTER_MS, MachineTruth, edge_events, state_runs

R, IDLE, D, OFF = MachineState.RUNNING, MachineState.IDLE, MachineState.DOWN, MachineState.OFF


def seg(a_s: float, b_s: float, state: MachineState, reason: str) -> TruthSegment:
    return TruthSegment(int(a_s * 1000), int(b_s * 1000), state, reason)


TRUTH = (
    seg(0, 60, OFF, "off_shift"),
    seg(60, 70, IDLE, "handling"),  # powered on: idle at once
    seg(70, 76, R, "sewing"),
    seg(76, 78, IDLE, "handling"),  # 2 s gap: no event (debounce 3 s)
    seg(78, 84, R, "sewing"),
    seg(84, 90, IDLE, "handling"),  # 6 s gap: idle event at 84 ...
    seg(90, 400, IDLE, "no_work"),  # ... merged with the no-work wait: one 316 s idle run
    seg(400, 410, R, "sewing"),
    seg(410, 700, D, "breakdown.motor"),
    seg(700, 701, IDLE, "handling"),  # repaired: idle at once (andon), then sewing
    seg(701, 710, R, "sewing"),
    seg(710, 711, IDLE, "handling"),  # 1 s before lunch: absorbed
    seg(711, 1000, OFF, "lunch"),
)


def test_debounce_constants_follow_the_edge_agent() -> None:
    t = Thresholds()
    assert (t.idle_after_s * 1000, t.off_after_s * 1000) == (EDGE_IDLE_AFTER_MS, EDGE_OFF_AFTER_MS)


def test_edge_events_are_debounced_like_the_edge_agent() -> None:
    got = [(e.ts_ms, e.state, e.previous, e.reason) for e in edge_events(TRUTH)]
    assert got == [
        (0, OFF, None, "none"),
        (60_000, IDLE, OFF, "none"),
        (70_000, R, IDLE, "none"),
        (84_000, IDLE, R, "no_work"),
        (400_000, R, IDLE, "none"),
        (410_000, D, R, "breakdown.motor"),
        (700_000, IDLE, D, "repaired"),
        (701_000, R, IDLE, "none"),
        (711_000, OFF, R, "none"),
    ]
    assert [e.previous_duration_s for e in edge_events(TRUTH)][3:5] == [14.0, 316.0]


def test_events_at_the_same_millisecond_are_nudged_apart() -> None:
    truth = (seg(0, 10, R, "sewing"), seg(10, 20, D, "breakdown.needle"), seg(20, 30, R, "sewing"))
    assert [e.ts_ms for e in edge_events(truth)] == [0, 10_000, 20_000, 20_001]  # repaired, then running


def test_state_runs_merge_idle_across_reasons() -> None:
    runs = state_runs(TRUTH)
    idle = [(r.start_ms, r.end_ms, r.reason) for r in runs if r.state is IDLE]
    assert idle == [(60_000, 70_000, "none"), (76_000, 78_000, "none"), (84_000, 400_000, "no_work"),
                    (700_000, 701_000, "none"), (710_000, 711_000, "none")]


def test_truth_operating_time_by_the_stop_threshold() -> None:
    truth = MachineTruth(TRUTH, ())
    planned = [(0, 1_000_000)]
    # operating = sewing 6+6+10+9 + short idle 10+2+1+1; stop = the 316 s run; down 290; off 60+289
    assert truth.operating_seconds(planned, stop_threshold_s=300) == pytest.approx(31 + 14)
    assert truth.stop_seconds(planned, stop_threshold_s=300) == pytest.approx(316)
    assert truth.operating_seconds(planned, stop_threshold_s=317) == pytest.approx(31 + 14 + 316)
    assert truth.stop_runs(300) == [(84_000, 400_000)]
    assert truth.stop_seconds([(0, 100_000)], stop_threshold_s=300) == pytest.approx(16)  # part of a whole stop
