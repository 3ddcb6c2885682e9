"""edge_agent.state: hand-written sample sequences with exact slices and events."""

from __future__ import annotations

import itertools
import math

import pytest

from seamline.contracts.messages import MachineState
from seamline.edge_agent.state import Slice, StateChange, StateTracker, Step, Thresholds, run_fraction

OFF, IDLE, RUN, DOWN = MachineState.OFF, MachineState.IDLE, MachineState.RUNNING, MachineState.DOWN
T0 = 1_767_225_600_000
TH = Thresholds()  # idle 0.45 A, run 3.2 A


def rms(fraction: float, run_a: float = 3.2, idle_a: float = 0.45) -> float:
    """The 1 s RMS current of a window that is ``fraction`` running."""
    return math.sqrt(fraction * run_a**2 + (1 - fraction) * idle_a**2)


def feed(currents: list[float | None], *, tracker: StateTracker | None = None, flush: bool = True) -> Step:
    t = tracker or StateTracker(TH)
    slices: list[Slice] = []
    changes: list[StateChange] = []
    for k, c in enumerate(currents):
        step = t.on_sample(T0 + k * 1000, c)
        slices += step.slices
        changes += step.changes
    if flush:
        step = t.flush()
        slices += step.slices
        changes += step.changes
    return Step(tuple(slices), tuple(changes))


def totals(slices: tuple[Slice, ...]) -> dict[MachineState, float]:
    out = dict.fromkeys(MachineState, 0.0)
    for s in slices:
        out[s.state] += s.duration_s
    return {k: round(v, 3) for k, v in out.items()}


def test_run_fraction_is_linear_in_rms_squared() -> None:
    assert run_fraction(0.45, 0.45, 3.2) == 0.0
    assert run_fraction(3.2, 0.45, 3.2) == 1.0
    assert run_fraction(rms(0.25), 0.45, 3.2) == pytest.approx(0.25)
    assert run_fraction(5.0, 0.45, 3.2) == 1.0
    assert run_fraction(0.1, 0.45, 3.2) == 0.0


def test_one_burst_exact_slices_and_events() -> None:
    currents = [0.0, 0.0] + [0.45] * 5 + [rms(0.25), 3.2, 3.2, 3.2, rms(0.5)] + [0.45] * 5 + [0.0] * 3
    step = feed(currents)
    assert totals(step.slices) == {OFF: 5.0, IDLE: 11.25, RUN: 3.75, DOWN: 0.0}
    running = [s for s in step.slices if s.state == RUN]
    assert (running[0].start_ms - T0, running[-1].end_ms - T0) == (7750, 11500)
    assert step.changes == (
        StateChange(T0, OFF, None, None),
        StateChange(T0 + 2000, IDLE, OFF, 2.0),
        StateChange(T0 + 7750, RUN, IDLE, 5.75),
        StateChange(T0 + 11500, IDLE, RUN, 3.75),
        StateChange(T0 + 17000, OFF, IDLE, 5.5),
    )


def test_slices_tile_the_sampled_time_without_overlap() -> None:
    currents = [0.45, rms(0.4), 3.0, rms(0.7), 0.45, rms(0.9), 3.3, 3.3, 0.45, 0.0]
    step = feed(currents)
    assert step.slices[0].start_ms == T0
    assert step.slices[-1].end_ms == T0 + 10_000
    for a, b in itertools.pairwise(step.slices):
        assert a.end_ms == b.start_ms


def test_short_handling_gap_keeps_running_event_but_counts_idle_time() -> None:
    # Two bursts separated by 1.5 s of handling: shorter than idle_after_s, so no idle event,
    # but the 1.5 s are idle time.
    currents = [0.45, 3.2, 3.2, rms(0.5), 0.45, rms(0.0), 3.2, 3.2, 0.45, 0.45, 0.45, 0.45, 0.45]
    currents[5] = 0.45
    step = feed(currents)
    assert totals(step.slices)[RUN] == 4.5
    assert [c.state for c in step.changes] == [IDLE, RUN, IDLE]
    assert step.changes[2].ts_ms == T0 + 8000


def test_lone_blip_below_min_running_is_idle() -> None:
    step = feed([0.45, 0.45, rms(0.1), 0.45, 0.45])  # 0.1 s < min_running_s 0.3
    assert totals(step.slices) == {OFF: 0.0, IDLE: 5.0, RUN: 0.0, DOWN: 0.0}
    assert [c.state for c in step.changes] == [IDLE]


def test_lone_burst_within_one_second_counts() -> None:
    step = feed([0.45, 0.45, rms(0.6), 0.45, 0.45, 0.45, 0.45, 0.45])
    assert totals(step.slices)[RUN] == 0.6
    assert [c.state for c in step.changes] == [IDLE, RUN, IDLE]


def test_off_threshold_has_hysteresis() -> None:
    # CT noise around the off threshold does not power the machine on.
    step = feed([0.0, 0.06, 0.03, 0.12, 0.0])
    assert totals(step.slices)[OFF] == 5.0
    assert [c.state for c in step.changes] == [OFF]


def test_gap_longer_than_max_gap_is_missing_not_off() -> None:
    t = StateTracker(TH)
    slices: list[Slice] = []
    for ts in (0, 1000, 2000, 60_000, 61_000):
        slices += t.on_sample(T0 + ts, 0.45).slices
    slices += t.flush().slices
    assert totals(tuple(slices)) == {OFF: 0.0, IDLE: 5.0, RUN: 0.0, DOWN: 0.0}


def test_missing_current_is_not_accounted() -> None:
    step = feed([0.45, None, 0.45])
    assert totals(step.slices)[IDLE] == 2.0


def test_duplicate_and_old_samples_are_ignored() -> None:
    t = StateTracker(TH)
    t.on_sample(T0 + 1000, 0.45)
    assert t.on_sample(T0 + 1000, 3.2) == Step()
    assert t.on_sample(T0, 3.2) == Step()


def test_andon_forces_down_with_reason_until_repaired() -> None:
    t = StateTracker(TH)
    slices: list[Slice] = []
    changes: list[StateChange] = []
    for k in range(12):
        if k == 3:
            step = t.on_andon(T0 + 3500, DOWN, "breakdown.thread")
            slices += step.slices
            changes += step.changes
        if k == 8:
            step = t.on_andon(T0 + 8200, IDLE, "repaired")
            slices += step.slices
            changes += step.changes
        current = 3.2 if k in (5, 6) else 0.45  # a test run during the breakdown is still down
        step = t.on_sample(T0 + k * 1000, current)
        slices += step.slices
        changes += step.changes
    step = t.flush()
    slices += step.slices
    changes += step.changes
    assert totals(tuple(slices)) == {OFF: 0.0, IDLE: 7.3, RUN: 0.0, DOWN: 4.7}
    assert changes == [
        StateChange(T0, IDLE, None, None),
        StateChange(T0 + 3500, DOWN, IDLE, 3.5, "breakdown.thread"),
        StateChange(T0 + 8200, IDLE, DOWN, 4.7, "repaired"),
    ]


def test_unpowered_breakdown_is_down_not_off() -> None:
    t = StateTracker(TH)
    changes: list[StateChange] = []
    slices: list[Slice] = []
    for k in range(6):
        if k == 2:
            changes += t.on_andon(T0 + 2000, DOWN, "breakdown.motor").changes
        step = t.on_sample(T0 + k * 1000, 0.45 if k < 2 else 0.0)
        slices += step.slices
        changes += step.changes
    step = t.flush()
    assert totals(tuple(slices) + step.slices)[DOWN] == 4.0
    assert [c.state for c in changes + list(step.changes)] == [IDLE, DOWN]


def test_speed_gives_the_fraction_when_present() -> None:
    t = StateTracker(TH)
    slices: list[Slice] = []
    # current says nothing precise (noisy), speed says 30 % / full / full / full / 60 %
    readings = [(0.45, 0.0), (1.9, 1500.0), (3.0, 5000.0), (3.1, 5000.0), (3.0, 5000.0), (2.5, 3000.0),
                (0.45, 0.0)]
    for k, (c, v) in enumerate(readings):
        slices += t.on_sample(T0 + k * 1000, c, v).slices
    slices += t.flush().slices
    assert totals(tuple(slices))[RUN] == 3.9


def test_checkpoint_roundtrip_mid_burst_gives_identical_result() -> None:
    currents = [0.45, 0.45, rms(0.3), 3.2, 3.1, 3.3, rms(0.2), 0.45, 0.45, 0.45, 0.45, 0.0, 0.0, 0.0]
    whole = feed(currents)
    for cut in range(1, len(currents)):
        first = StateTracker(TH)
        a = feed(currents[:cut], tracker=first, flush=False)
        restored = StateTracker.from_dict(TH, first.to_dict())
        b_slices: list[Slice] = []
        b_changes: list[StateChange] = []
        for k in range(cut, len(currents)):
            step = restored.on_sample(T0 + k * 1000, currents[k])
            b_slices += step.slices
            b_changes += step.changes
        step = restored.flush()
        assert a.slices + tuple(b_slices) + step.slices == whole.slices, cut
        assert a.changes + tuple(b_changes) + step.changes == whole.changes, cut
