"""A sewing machine's known state timeline turned into what the edge sends: 60 s aggregates
(seconds per state in each period, stamped at the period start) and ``machine_state`` events (one
per segment, at its start). Tests build consistent KPI inputs from it; times are UTC epoch s."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from seamline.contracts.messages import MachineState, Quality
from seamline.rules.kpi.sewing import Aggregate
from seamline.rules.kpi.state_time import StateEvent


@dataclass(frozen=True, slots=True)
class Segment:
    """The machine is in ``state`` during ``[start_s, end_s)``."""

    start_s: float
    end_s: float
    state: MachineState
    reason: str = "none"


def segments(start_s: float, steps: Iterable[tuple[float, MachineState, str]]) -> list[Segment]:
    """Back-to-back segments from ``start_s``, one per ``(duration_s, state, reason)``."""
    out: list[Segment] = []
    t = start_s
    for duration_s, state, reason in steps:
        out.append(Segment(t, t + duration_s, state, reason))
        t += duration_s
    return out


def state_at(timeline: Sequence[Segment], t_s: float) -> Segment | None:
    return next((s for s in timeline if s.start_s <= t_s < s.end_s), None)


def events_of(timeline: Iterable[Segment]) -> list[StateEvent]:
    return [StateEvent(s.start_s, s.state, s.reason) for s in timeline]


def aggregates_of(timeline: Sequence[Segment], start_s: float, end_s: float, *, period_s: float = 60.0,
                  pieces: Sequence[int] = (), rejects: Sequence[int] = (),
                  quality: Sequence[Quality] = ()) -> list[Aggregate]:
    """One aggregate per period from ``start_s`` while it starts before ``end_s``: the seconds of
    each state in it; ``pieces``/``rejects``/``quality`` per period (0 / 0 / good past their end)."""
    out: list[Aggregate] = []
    k = 0
    while start_s + k * period_s < end_s:
        a, b = start_s + k * period_s, start_s + (k + 1) * period_s
        secs = dict.fromkeys(MachineState, 0.0)
        for seg in timeline:
            secs[seg.state] += max(0.0, min(seg.end_s, b) - max(seg.start_s, a))
        out.append(Aggregate(
            ts_s=a, period_s=period_s, run_s=secs[MachineState.RUNNING], idle_s=secs[MachineState.IDLE],
            off_s=secs[MachineState.OFF], down_s=secs[MachineState.DOWN],
            pieces=pieces[k] if k < len(pieces) else 0, rejects=rejects[k] if k < len(rejects) else 0,
            quality=quality[k] if k < len(quality) else Quality.GOOD))
        k += 1
    return out


def drop_gap(aggregates: Sequence[Aggregate], gap_start_s: float, gap_end_s: float) -> list[Aggregate]:
    """The aggregates without those starting in ``[gap_start_s, gap_end_s)``; the first one after
    the gap reports the lost pieces as ``pieces_unobserved`` over the gap (the edge's counter
    catching up across an outage)."""
    lost = [a for a in aggregates if gap_start_s <= a.ts_s < gap_end_s]
    out: list[Aggregate] = []
    caught = False
    for a in aggregates:
        if gap_start_s <= a.ts_s < gap_end_s:
            continue
        if lost and not caught and a.ts_s >= gap_end_s:
            a = replace(a, pieces_unobserved=sum(x.pieces for x in lost), unobserved_s=a.ts_s - lost[0].ts_s)
            caught = True
        out.append(a)
    return out
