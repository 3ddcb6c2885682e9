from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from seamline.contracts.messages import MachineState
from seamline.firmware_stubs.sewing.machine import MachineProfile, MachineRun, simulate_machine
from seamline.firmware_stubs.sewing.shift import ShiftPattern

T0 = 1_740_960_000_000  # 2025-03-03 08:00 Asia/Shanghai (a Monday)
HOUR = 3_600_000


def run(seed: int = 1, hours: float = 2.0, **kw: object) -> MachineRun:
    profile = MachineProfile(**kw)  # type: ignore[arg-type]
    return simulate_machine(profile=profile, start_ms=T0, end_ms=T0 + int(hours * HOUR), seed=seed)


def test_same_seed_identical_different_seed_differs() -> None:
    a, b, c = run(seed=7), run(seed=7), run(seed=8)
    assert a == b
    assert a.samples != c.samples
    assert a.truth != c.truth


def test_machine_id_is_part_of_the_seed() -> None:
    assert run(machine_id="m001").samples != run(machine_id="m002").samples


def test_truth_tiles_window_without_gaps_or_overlaps() -> None:
    r = simulate_machine(profile=MachineProfile(), start_ms=T0 - HOUR, end_ms=T0 + 10 * HOUR, seed=3,
                         shift=ShiftPattern())
    assert r.truth[0].start_ms == T0 - HOUR
    assert r.truth[-1].end_ms == T0 + 10 * HOUR
    for a, b in zip(r.truth, r.truth[1:], strict=False):
        assert a.end_ms == b.start_ms
        assert a.start_ms < a.end_ms
        assert (a.state, a.reason) != (b.state, b.reason)  # merged
    total = sum(r.time_in_state_s(T0 - HOUR, T0 + 10 * HOUR).values())
    assert total == pytest.approx(11 * 3600)


def test_samples_one_per_second_and_seq_shared_with_andon() -> None:
    r = run(hours=4, breakdown_rate_per_h=2.0)
    assert len(r.samples) == 4 * 3600
    assert [s.ts_ms for s in r.samples[:3]] == [T0, T0 + 1000, T0 + 2000]
    assert len(r.andon) >= 2
    events = sorted([(s.ts_ms, 1, s.seq) for s in r.samples] + [(a.ts_ms, 0, a.seq) for a in r.andon])
    assert [seq for _, _, seq in events] == list(range(len(events)))


def test_andon_pairs_down_then_repaired_matching_truth() -> None:
    r = run(hours=8, breakdown_rate_per_h=1.0)
    downs = [s for s in r.truth if s.state is MachineState.DOWN]
    assert downs, "expected breakdowns at 1/h over 8 h"
    assert [a.state for a in r.andon] == [MachineState.DOWN, MachineState.IDLE] * len(downs)
    for seg, (press, repair) in zip(downs, zip(r.andon[::2], r.andon[1::2], strict=True), strict=True):
        assert (press.ts_ms, press.reason) == (seg.start_ms, seg.reason)
        assert seg.reason in ("breakdown.needle", "breakdown.thread", "breakdown.motor")
        assert (repair.ts_ms, repair.reason) == (seg.end_ms, "repaired")
        assert repair.previous_duration_s == pytest.approx((seg.end_ms - seg.start_ms) / 1000)


def _samples_fully_in(r: MachineRun, state: MachineState) -> np.ndarray:
    starts = np.array([g.start_ms for g in r.truth])
    cur = []
    for s in r.samples:
        g = r.truth[int(np.searchsorted(starts, s.ts_ms, side="right")) - 1]
        if g.state is state and s.ts_ms + 1000 <= g.end_ms:
            cur.append(s.current_a)
    return np.array(cur)


def test_current_levels_per_state() -> None:
    r = simulate_machine(profile=MachineProfile(), start_ms=T0 - HOUR, end_ms=T0 + 5 * HOUR, seed=11,
                         shift=ShiftPattern())
    off, idle, running = (_samples_fully_in(r, s) for s in (MachineState.OFF, MachineState.IDLE, MachineState.RUNNING))
    assert len(off) > 3000 and len(idle) > 1000 and len(running) > 1000
    assert off.max() < 0.15 and off.mean() < 0.03
    assert 0.35 < idle.mean() < 0.55 and idle.min() > 0.2
    # run current 3.2 A at 4500 spm; bursts at 4000..5500 spm -> 2.9..3.8 A
    assert running.min() > 2.7 and running.max() < 4.1 and 3.0 < running.mean() < 3.6
    assert all(s.current_a >= 0 for s in r.samples)


def test_partial_second_is_rms_mix() -> None:
    r = run(hours=1, noise_a=0.0, off_noise_a=0.0)
    profile = MachineProfile()
    runs = [s for s in r.truth if s.state is MachineState.RUNNING]
    seg = next(g for g in runs if g.start_ms % 1000 != 0 and g.end_ms - g.start_ms > 2000)
    sample = next(s for s in r.samples if s.ts_ms < seg.start_ms < s.ts_ms + 1000)
    run_frac = (sample.ts_ms + 1000 - seg.start_ms) / 1000
    i_run = profile.current_a(MachineState.RUNNING, True, sample.speed_spm / run_frac)
    expected = np.sqrt(run_frac * i_run**2 + (1 - run_frac) * profile.idle_current_a**2)
    assert sample.current_a == pytest.approx(expected, abs=0.002)


def test_counters_monotonic_and_consistent_with_speed() -> None:
    r = run(hours=2)
    st = [s.stitches_total for s in r.samples]
    pc = [s.pieces_total for s in r.samples]
    assert st == sorted(st) and pc == sorted(pc)
    assert st[-1] == r.stitches
    assert abs(sum(s.speed_spm for s in r.samples) / 60 - r.stitches) < 0.001 * r.stitches + 60
    running_s = r.time_in_state_s(T0, T0 + 2 * HOUR)[MachineState.RUNNING]
    assert 4000 * running_s / 60 <= r.stitches <= 5500 * running_s / 60


def test_pieces_match_sam_and_efficiency() -> None:
    # No interruptions: pieces/h = 60 / SAM x efficiency. SAM 2 min, eff 0.5 -> 15/h -> 120 in 8 h.
    r = run(hours=8, sam_min=2.0, efficiency=0.5, breakdown_rate_per_h=0, changeover_rate_per_h=0,
            no_work_rate_per_h=0)
    assert r.pieces_good == pytest.approx(120, rel=0.08)
    assert r.samples[-1].pieces_total == r.pieces_good
    # running share of working time is the sew fraction (0.35)
    share = r.time_in_state_s(T0, T0 + 8 * HOUR)[MachineState.RUNNING] / (8 * 3600)
    assert share == pytest.approx(0.35, abs=0.03)


def test_learning_curve_after_changeover_costs_pieces() -> None:
    base = dict(hours=8, sam_min=2.0, breakdown_rate_per_h=0, no_work_rate_per_h=0, cycle_cv=0.0)
    practised = run(changeover_rate_per_h=0, **base)  # type: ignore[arg-type]
    changing = run(changeover_rate_per_h=1.0, changeover_mean_min=1.0, learning_tau_pieces=10.0, **base)  # type: ignore[arg-type]
    co = [s for s in changing.truth if s.reason == "changeover"]
    assert co and all(s.state is MachineState.IDLE for s in co)
    co_s = sum(s.end_ms - s.start_ms for s in co) / 1000
    # Without a learning curve the changeover time alone would cost co_s / 240 s pieces.
    assert changing.pieces_good < practised.pieces_good - co_s / 240 - 3


def test_shift_calendar_states() -> None:
    r = simulate_machine(profile=MachineProfile(), start_ms=T0 - HOUR, end_ms=T0 + 10 * HOUR, seed=5,
                         shift=ShiftPattern())
    t = r.time_in_state_s
    assert t(T0 - HOUR, T0)[MachineState.OFF] == 3600  # before 08:00
    assert t(T0 + 4 * HOUR, T0 + 5 * HOUR)[MachineState.OFF] == 3600  # lunch 12:00-13:00
    assert t(T0 + 2 * HOUR, T0 + 2 * HOUR + 900_000)[MachineState.IDLE] == 900  # tea break
    assert t(T0 + 9 * HOUR, T0 + 10 * HOUR)[MachineState.OFF] == 3600  # after 17:00
    reasons = {(s.state, s.reason) for s in r.truth}
    assert (MachineState.OFF, "lunch") in reasons and (MachineState.IDLE, "break") in reasons


def test_profile_validation() -> None:
    with pytest.raises(ValueError, match="efficiency"):
        MachineProfile(efficiency=0)
    with pytest.raises(ValueError, match="idle_current_a"):
        MachineProfile(idle_current_a=5.0)
    with pytest.raises(ValueError):
        simulate_machine(profile=MachineProfile(), start_ms=T0, end_ms=T0 + 500, seed=1)
    assert dataclasses.replace(MachineProfile(), sam_min=3.0).sam_min == 3.0
