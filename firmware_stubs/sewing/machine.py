"""One simulated sewing machine as a pure library: profile in, samples + andon + truth out.

No MQTT, no clock. Deterministic: the same (profile, window, seed, shift) give identical output.

**Definition of the true state** (used by every component that compares against the truth):

- ``running`` while the needle is sewing (inside a burst);
- ``idle`` while the machine is powered and not sewing: handling gaps between bursts, waiting
  for work (``no_work``), style changeovers (``changeover``), tea breaks (``break``);
- ``off`` while unpowered: outside shifts (``off_shift``) and at lunch (``lunch``);
- ``down`` during a breakdown (``breakdown.needle`` / ``breakdown.thread`` / ``breakdown.motor``),
  from the andon press to the repair, whatever the motor does (powered for needle and thread
  problems, unpowered for motor faults).

Current physics: off ≈ 0 A (noise ``off_noise_a``), idle ≈ ``idle_current_a`` (servo standby),
running = idle + (``run_current_a`` − idle) × speed / ``nominal_speed_spm``, plus noise ``noise_a``.
Samples carry the RMS over their 1-second window, computed from the sub-second timeline.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from seamline.contracts.messages import MachineState
from seamline.firmware_stubs.seeding import stable_seed
from seamline.firmware_stubs.sewing.operator import Segment, Timeline, build_timeline
from seamline.firmware_stubs.sewing.sampling import TimelineSampler
from seamline.firmware_stubs.sewing.shift import ShiftPattern, always_working, with_no_work


def _default_breakdown_reasons() -> tuple[tuple[str, float], ...]:
    # Thread breaks and needle problems dominate; motor/servo faults are rarer but long.
    return (("breakdown.needle", 0.35), ("breakdown.thread", 0.45), ("breakdown.motor", 0.2))


@dataclass(frozen=True, slots=True, kw_only=True)
class MachineProfile:
    """One machine and its operator. Currents in A, speeds in stitches/minute, SAM in minutes."""

    machine_id: str = "m001"
    idle_current_a: float = 0.45
    run_current_a: float = 3.2  # at nominal_speed_spm
    noise_a: float = 0.05  # sensor noise (1 sd) while powered
    off_noise_a: float = 0.02  # CT noise floor (1 sd) while unpowered
    nominal_speed_spm: float = 4500.0
    min_speed_spm: float = 4000.0  # lockstitch bursts: 4000..5500 spm
    max_speed_spm: float = 5500.0
    sam_min: float = 12.0  # standard minutes per piece (bundle ticket)
    efficiency: float = 0.5  # operator pace while working: cycle = SAM / efficiency
    sew_fraction: float = 0.35  # share of a cycle the needle runs; the rest is handling
    burst_mean_s: float = 6.0
    cycle_cv: float = 0.15  # scatter of cycle times (lognormal sigma)
    breakdown_rate_per_h: float = 0.15  # per hour of working time
    breakdown_mean_min: float = 15.0
    breakdown_reasons: tuple[tuple[str, float], ...] = field(default_factory=_default_breakdown_reasons)
    unpowered_breakdowns: frozenset[str] = frozenset({"breakdown.motor"})
    changeover_rate_per_h: float = 0.05
    changeover_mean_min: float = 20.0
    no_work_rate_per_h: float = 0.3
    no_work_mean_min: float = 4.0
    learning_start: float = 0.6  # efficiency factor right after a changeover
    learning_tau_pieces: float = 3.0  # pieces for the learning penalty to fall by 1/e

    def __post_init__(self) -> None:
        positive = ("run_current_a", "nominal_speed_spm", "min_speed_spm", "sam_min", "efficiency",
                    "burst_mean_s", "breakdown_mean_min", "changeover_mean_min", "no_work_mean_min",
                    "learning_tau_pieces")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"MachineProfile.{name} must be > 0, got {getattr(self, name)}")
        for name in ("idle_current_a", "noise_a", "off_noise_a", "cycle_cv", "breakdown_rate_per_h",
                     "changeover_rate_per_h", "no_work_rate_per_h"):
            if getattr(self, name) < 0:
                raise ValueError(f"MachineProfile.{name} must be >= 0, got {getattr(self, name)}")
        if not self.idle_current_a < self.run_current_a:
            raise ValueError("idle_current_a must be below run_current_a")
        if not self.min_speed_spm <= self.max_speed_spm:
            raise ValueError("min_speed_spm must not exceed max_speed_spm")
        if not 0 < self.sew_fraction < 1 or not 0 < self.learning_start <= 1:
            raise ValueError("sew_fraction must be in (0, 1) and learning_start in (0, 1]")
        if not self.breakdown_reasons or any(w <= 0 for _, w in self.breakdown_reasons):
            raise ValueError("breakdown_reasons needs at least one (reason, weight > 0)")

    def current_a(self, state: MachineState, powered: bool, speed_spm: float) -> float:
        """True (noise-free) motor current in A."""
        if not powered:
            return 0.0
        if state is MachineState.RUNNING:
            span = self.run_current_a - self.idle_current_a
            return self.idle_current_a + span * speed_spm / self.nominal_speed_spm
        return self.idle_current_a


@dataclass(frozen=True, slots=True)
class RawSample:
    """One node sample covering ``[ts_ms, ts_ms + period)``; counters as of the window's end."""

    ts_ms: int
    seq: int
    current_a: float
    speed_spm: float
    stitches_total: int
    pieces_total: int


@dataclass(frozen=True, slots=True)
class TruthSegment:
    start_ms: int
    end_ms: int
    state: MachineState
    reason: str


@dataclass(frozen=True, slots=True)
class AndonEvent:
    """An andon press: ``down`` + breakdown reason, or ``idle`` + ``repaired``."""

    ts_ms: int
    seq: int
    state: MachineState
    reason: str
    previous: MachineState | None = None
    previous_duration_s: float | None = None


@dataclass(frozen=True, slots=True)
class MachineRun:
    samples: list[RawSample]
    andon: list[AndonEvent]
    truth: list[TruthSegment]
    pieces_good: int
    stitches: int

    def time_in_state_s(self, start_ms: int, end_ms: int) -> dict[MachineState, float]:
        """True seconds per state within ``[start_ms, end_ms)`` (every state present, maybe 0)."""
        out = dict.fromkeys(MachineState, 0.0)
        for seg in self.truth:
            overlap = min(seg.end_ms, end_ms) - max(seg.start_ms, start_ms)
            if overlap > 0:
                out[seg.state] += overlap / 1000.0
        return out


@dataclass(frozen=True, slots=True)
class MachineSimulation:
    """A simulated machine before its samples are materialised (stream them with ``sampler``)."""

    profile: MachineProfile
    timeline: Timeline
    truth: list[TruthSegment]
    andon: list[AndonEvent]
    sampler: TimelineSampler


def prepare_machine(
    *,
    profile: MachineProfile,
    start_ms: int,
    end_ms: int,
    seed: int,
    sample_period_s: float = 1.0,
    shift: ShiftPattern | None = None,
    no_work: Sequence[tuple[int, int]] = (),
) -> MachineSimulation:
    """Truth and andon now, samples on demand. ``shift=None`` means the whole window is working
    time; working time inside the ``no_work`` spans (UTC ms) has no work: powered and idle."""
    period_ms = round(sample_period_s * 1000)
    if period_ms <= 0 or end_ms - start_ms < period_ms:
        raise ValueError(f"window {start_ms}..{end_ms} ms must hold at least one {period_ms} ms sample")
    blocks = shift.blocks(start_ms, end_ms) if shift else always_working(start_ms, end_ms)
    if no_work:
        blocks = with_no_work(blocks, no_work)
    timeline = build_timeline(profile, blocks, random.Random(stable_seed(seed, profile.machine_id, "operator")))
    segs = timeline.segments
    presses = [a for a in timeline.andon if a.ts_ms < end_ms]
    sampler = TimelineSampler(
        seg_start_ms=np.array([s.start_ms for s in segs], dtype=np.int64),
        seg_end_ms=np.array([s.end_ms for s in segs], dtype=np.int64),
        level_a=np.array([profile.current_a(s.state, s.powered, s.speed_spm) for s in segs]),
        speed_spm=np.array([s.speed_spm for s in segs]),
        powered=np.array([s.powered for s in segs], dtype=np.bool_),
        pieces_ms=np.array(timeline.pieces_ms, dtype=np.int64),
        andon_ts_ms=np.array([a.ts_ms for a in presses], dtype=np.int64),
        period_ms=period_ms,
        noise_a=profile.noise_a,
        off_noise_a=profile.off_noise_a,
        noise_seed=stable_seed(seed, profile.machine_id, "noise"),
    )
    andon = [
        AndonEvent(a.ts_ms, sampler.andon_seq(a.ts_ms, i), a.state, a.reason, a.previous, a.previous_duration_s)
        for i, a in enumerate(presses)
    ]
    truth = [TruthSegment(s.start_ms, s.end_ms, s.state, s.reason) for s in _merge_states(segs)]
    return MachineSimulation(profile, timeline, truth, andon, sampler)


def _merge_states(segs: tuple[Segment, ...]) -> list[TruthSegment]:
    """Truth granularity is (state, reason): burst speeds are not part of it."""
    out: list[TruthSegment] = []
    for s in segs:
        start, end, state, reason = s.start_ms, s.end_ms, s.state, s.reason
        if out and out[-1].end_ms == start and (out[-1].state, out[-1].reason) == (state, reason):
            out[-1] = TruthSegment(out[-1].start_ms, end, state, reason)
        else:
            out.append(TruthSegment(start, end, state, reason))
    return out


def simulate_machine(
    *,
    profile: MachineProfile,
    start_ms: int,
    end_ms: int,
    seed: int,
    sample_period_s: float = 1.0,
    shift: ShiftPattern | None = None,
) -> MachineRun:
    """Simulate ``[start_ms, end_ms)`` (UTC epoch ms) of one machine; samples every ``sample_period_s``.

    ``shift=None`` treats the whole window as working time; pass ``ShiftPattern()`` for a factory
    day (off outside shifts and at lunch, idle at tea breaks). Counters start at 0 at ``start_ms``
    (node boot); seq starts at 0 and is shared by samples and andon events in timestamp order.
    """
    sim = prepare_machine(
        profile=profile, start_ms=start_ms, end_ms=end_ms, seed=seed, sample_period_s=sample_period_s, shift=shift
    )
    samples: list[RawSample] = []
    for k0, k1 in sim.sampler.blocks():
        b = sim.sampler.block(k0, k1)
        samples.extend(
            map(RawSample, b.ts_ms.tolist(), b.seq.tolist(), b.current_a.tolist(), b.speed_spm.tolist(),
                b.stitches_total.tolist(), b.pieces_total.tolist())
        )
    pieces = sum(1 for t in sim.timeline.pieces_ms if t < end_ms)
    stitches = samples[-1].stitches_total if samples else 0
    return MachineRun(samples=samples, andon=sim.andon, truth=sim.truth, pieces_good=pieces, stitches=stitches)
