"""Operator behaviour: the true sub-second state timeline of one sewing machine.

Pure and sequential: given a profile, calendar blocks and a seeded ``random.Random``, lay the
operator's work onto working time. One *piece* (bundle ticket) takes a cycle of
``SAM / efficiency`` minutes (with a learning-curve penalty after a changeover and lognormal
scatter); a share ``sew_fraction`` of the cycle the needle runs, in bursts of a few seconds, the rest
is handling between bursts. The piece is scanned at the end of its cycle.

Interruptions: breakdowns strike at any moment (Poisson, ``breakdown_rate_per_h`` of working
time), are announced on the andon box and end with a repair (andon ``idle``/``repaired``);
style changeovers and waiting for work happen between pieces. All are cut short at the end of a
working block (the repair or changeover is assumed done over lunch / overnight).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from seamline.contracts.messages import MachineState
from seamline.firmware_stubs.sewing.shift import BlockKind, CalendarBlock

if TYPE_CHECKING:
    from seamline.firmware_stubs.sewing.machine import MachineProfile

REASON_SEWING = "sewing"
REASON_HANDLING = "handling"
REASON_NO_WORK = "no_work"
REASON_CHANGEOVER = "changeover"
REASON_REPAIRED = "repaired"
# Shortest needle burst and shortest handling gap a real operator produces, ms.
MIN_BURST_MS = 300
MIN_GAP_MS = 500
# Shortest interruption worth modelling, ms (an andon press for less is a mistake).
MIN_INTERRUPTION_MS = 60_000

_CALENDAR_STATE: dict[BlockKind, tuple[MachineState, bool]] = {
    BlockKind.BREAK: (MachineState.IDLE, True),
    BlockKind.LUNCH: (MachineState.OFF, False),
    BlockKind.OFF_SHIFT: (MachineState.OFF, False),
    BlockKind.NO_WORK: (MachineState.IDLE, True),
}


@dataclass(frozen=True, slots=True)
class Segment:
    """``[start_ms, end_ms)`` of one true state; ``speed_spm`` > 0 only while running."""

    start_ms: int
    end_ms: int
    state: MachineState
    reason: str
    powered: bool
    speed_spm: float


@dataclass(frozen=True, slots=True)
class AndonPress:
    ts_ms: int
    state: MachineState
    reason: str
    previous: MachineState
    previous_duration_s: float | None


@dataclass(frozen=True, slots=True)
class Timeline:
    segments: tuple[Segment, ...]
    pieces_ms: tuple[int, ...]  # bundle-ticket scan instants
    andon: tuple[AndonPress, ...]


@dataclass(slots=True)
class _Act:
    state: MachineState
    remaining_ms: int
    speed_spm: float
    ends_piece: bool


class _Sink:
    """Collects segments, merging contiguous ones with identical attributes."""

    def __init__(self) -> None:
        self.segments: list[Segment] = []

    def emit(self, start: int, end: int, state: MachineState, reason: str, powered: bool, speed: float) -> None:
        if end <= start:
            return
        if self.segments:
            p = self.segments[-1]
            if (p.end_ms, p.state, p.reason, p.powered, p.speed_spm) == (start, state, reason, powered, speed):
                self.segments[-1] = Segment(p.start_ms, end, state, reason, powered, speed)
                return
        self.segments.append(Segment(start, end, state, reason, powered, speed))

    @property
    def last_state(self) -> MachineState:
        return self.segments[-1].state if self.segments else MachineState.OFF


def _lognormal_mean(rng: random.Random, mean: float, sigma: float) -> float:
    """A lognormal draw with the given arithmetic mean."""
    return rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)


def _split(rng: random.Random, total_ms: float, n: int, minimum_ms: int) -> list[int]:
    """``total_ms`` split into ``n`` positive parts of similar size (gamma shares)."""
    weights = [rng.gammavariate(4.0, 1.0) for _ in range(n)]
    scale = total_ms / sum(weights)
    return [max(minimum_ms, round(w * scale)) for w in weights]


class _Operator:
    def __init__(self, profile: MachineProfile, rng: random.Random) -> None:
        self.p = profile
        self.rng = rng
        self.pieces_since_changeover = 10**9  # fully practised at the start

    def efficiency_now(self) -> float:
        """Efficiency including the learning curve after the last changeover."""
        penalty = (1 - self.p.learning_start) * math.exp(-self.pieces_since_changeover / self.p.learning_tau_pieces)
        return self.p.efficiency * (1 - penalty)

    def new_piece(self) -> list[_Act]:
        p, rng = self.p, self.rng
        cycle_ms = p.sam_min * 60_000 / self.efficiency_now() * _lognormal_mean(rng, 1.0, p.cycle_cv)
        sew_share = min(0.8, max(0.1, rng.gauss(p.sew_fraction, 0.04)))
        sew_ms = cycle_ms * sew_share
        n = max(1, round(sew_ms / (p.burst_mean_s * 1000)))
        bursts = _split(rng, sew_ms, n, MIN_BURST_MS)
        gaps = _split(rng, cycle_ms - sew_ms, n, MIN_GAP_MS)
        acts: list[_Act] = []
        for i, (b, g) in enumerate(zip(bursts, gaps, strict=True)):
            speed = float(round(rng.uniform(p.min_speed_spm, p.max_speed_spm)))
            acts.append(_Act(MachineState.RUNNING, b, speed, False))
            acts.append(_Act(MachineState.IDLE, g, 0.0, i == n - 1))
        return acts

    def breakdown_reason(self) -> str:
        reasons = [r for r, _ in self.p.breakdown_reasons]
        weights = [w for _, w in self.p.breakdown_reasons]
        return self.rng.choices(reasons, weights)[0]


def build_timeline(profile: MachineProfile, blocks: list[CalendarBlock], rng: random.Random) -> Timeline:
    """The true timeline over the calendar ``blocks`` (which must tile the window)."""
    op = _Operator(profile, rng)
    sink = _Sink()
    pieces: list[int] = []
    andon: list[AndonPress] = []
    acts: list[_Act] = []
    for block in blocks:
        if block.kind is not BlockKind.WORK:
            state, powered = _CALENDAR_STATE[block.kind]
            sink.emit(block.start_ms, block.end_ms, state, block.kind.value, powered, 0.0)
            continue
        _work_block(op, block, sink, acts, pieces, andon)
    return Timeline(tuple(sink.segments), tuple(pieces), tuple(andon))


def _next_event_ms(rng: random.Random, t_ms: int, rate_per_h: float) -> float:
    return t_ms + rng.expovariate(rate_per_h) * 3_600_000 if rate_per_h > 0 else math.inf


def _work_block(
    op: _Operator,
    block: CalendarBlock,
    sink: _Sink,
    acts: list[_Act],
    pieces: list[int],
    andon: list[AndonPress],
) -> None:
    """Fill one working block. ``acts`` carries an unfinished piece over to the next block."""
    p, rng = op.p, op.rng
    t, end = block.start_ms, block.end_ms
    between_rate = p.changeover_rate_per_h + p.no_work_rate_per_h
    # Memoryless clocks: redrawing at each block start does not change their law.
    next_bd = _next_event_ms(rng, t, p.breakdown_rate_per_h)
    next_between = _next_event_ms(rng, t, between_rate)
    while t < end:
        if t >= next_bd:
            t = _breakdown(op, t, end, sink, andon)
            next_bd = _next_event_ms(rng, t, p.breakdown_rate_per_h)
            continue
        if not acts:
            if t >= next_between:
                changeover = rng.random() < p.changeover_rate_per_h / between_rate
                mean_min = p.changeover_mean_min if changeover else p.no_work_mean_min
                dur = max(MIN_INTERRUPTION_MS, round(_lognormal_mean(rng, mean_min * 60_000, 0.5)))
                reason = REASON_CHANGEOVER if changeover else REASON_NO_WORK
                stop = min(t + dur, end)
                sink.emit(t, stop, MachineState.IDLE, reason, True, 0.0)
                if changeover:
                    op.pieces_since_changeover = 0
                t = stop
                next_between = _next_event_ms(rng, t, between_rate)
                next_bd = max(next_bd, t)
                continue
            acts.extend(op.new_piece())
        act = acts[0]
        stop = int(min(t + act.remaining_ms, next_bd, end))
        stop = max(stop, t + 1)
        reason = REASON_SEWING if act.state is MachineState.RUNNING else REASON_HANDLING
        sink.emit(t, stop, act.state, reason, True, act.speed_spm)
        act.remaining_ms -= stop - t
        t = stop
        if act.remaining_ms <= 0:
            acts.pop(0)
            if act.ends_piece:
                pieces.append(t)
                op.pieces_since_changeover += 1


def _breakdown(op: _Operator, t: int, end: int, sink: _Sink, andon: list[AndonPress]) -> int:
    p, rng = op.p, op.rng
    reason = op.breakdown_reason()
    dur = max(MIN_INTERRUPTION_MS, round(_lognormal_mean(rng, p.breakdown_mean_min * 60_000, 0.6)))
    stop = min(t + dur, end)
    previous = sink.last_state
    prev_dur = (t - sink.segments[-1].start_ms) / 1000 if sink.segments else None
    andon.append(AndonPress(t, MachineState.DOWN, reason, previous, prev_dur))
    sink.emit(t, stop, MachineState.DOWN, reason, reason not in p.unpowered_breakdowns, 0.0)
    andon.append(AndonPress(stop, MachineState.IDLE, REASON_REPAIRED, MachineState.DOWN, (stop - t) / 1000))
    return stop
